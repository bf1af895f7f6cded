"""Accounting engine: splits, idle, overlaps, clipping, estimates, factors, exact conservation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from footprint.accounting import account, default_period
from footprint.errors import NotFoundError
from footprint.periods import parse_quarter
from footprint.sites import set_site
from footprint.store import open_store
from report_helpers import T0, StandInEstimator, add_uc, add_usage, insert, rec

Q3 = parse_quarter("2026-Q3")
UJ_PER_J = 1_000_000


def test_dedicated_host_gives_all_energy_to_its_use_case(store):
    add_uc(store, "job")
    insert(store, [rec("r1", T0, use_case="job", gpu=3600.0, cpu=360.0, ram=36.0)])
    acc = account(store, Q3)
    r = acc.use_case("job")
    assert r.measured_uj == 3996 * UJ_PER_J
    assert r.impacts.it_energy_kwh.value == pytest.approx(3996 / 3.6e6)
    # default PUE (Uptime 2024) and the French grid factor, both listed
    assert r.impacts.energy_kwh.value == pytest.approx(3996 / 3.6e6 * 1.56)
    keys = {f["key"] for f in acc.factors}
    assert "ref:pue_industry_avg_2024" in keys and any(k.startswith("grid:FRA") for k in keys)
    assert acc.conservation.holds and acc.conservation.idle_uj == 0


def test_shared_host_splits_by_output_plus_weighted_input_tokens(store):
    add_uc(store, "a")
    add_uc(store, "b")
    # weights: a = 90 + 100/10 = 100, b = 290 + 100/10 = 300 -> a gets 1/4
    insert(store, [rec("r1", T0, gpu=4000.0, cpu=None, ram=None, shared=True, tokens=[("a", 100, 90), ("b", 100, 290)])])
    acc = account(store, Q3)
    assert acc.use_case("a").measured_uj == 1000 * UJ_PER_J
    assert acc.use_case("b").measured_uj == 3000 * UJ_PER_J
    # another weight changes the split, and says so
    acc2 = account(store, Q3, input_weight=Fraction(0))
    assert acc2.use_case("a").measured_uj == 4000 * UJ_PER_J * 90 // 380
    assert acc2.conservation.holds


def test_shared_intervals_without_traffic_are_idle_and_allocated_on_request(store):
    add_uc(store, "a")
    add_uc(store, "b")
    insert(store, [
        rec("busy", T0, shared=True, gpu=1000.0, cpu=None, ram=None, tokens=[("a", 0, 10), ("b", 0, 30)]),
        rec("idle", T0 + timedelta(minutes=1), shared=True, gpu=400.0, cpu=None, ram=None),
    ])
    acc = account(store, Q3)
    assert acc.conservation.idle_uj == 400 * UJ_PER_J
    assert acc.idle_only.it_energy_kwh.value == pytest.approx(400 / 3.6e6)
    assert acc.totals.energy_kwh.value == pytest.approx(
        sum(u.impacts.energy_kwh.value for u in acc.use_cases) + acc.idle.energy_kwh.value)
    alloc = account(store, Q3, allocate_idle=True)
    assert alloc.conservation.idle_uj == 0 and alloc.conservation.holds
    assert alloc.use_case("a").measured_uj == 350 * UJ_PER_J  # 250 + 400/4
    assert alloc.use_case("b").idle_allocated_uj == 300 * UJ_PER_J


def test_records_without_use_case_are_unallocated_never_dropped(store):
    add_uc(store, "a")
    insert(store, [rec("u", T0, host="pod-x", gpu=720.0, cpu=None, ram=None)])
    acc = account(store, Q3)
    assert acc.conservation.unallocated_uj == 720 * UJ_PER_J
    assert acc.unallocated.it_energy_kwh.value == pytest.approx(720 / 3.6e6)
    assert acc.totals.it_energy_kwh.value == pytest.approx(720 / 3.6e6)


def test_overlapping_records_of_one_host_are_counted_once(store):
    add_uc(store, "a")
    add_uc(store, "b")
    # two collectors on the same host over the same hour see the same machine
    insert(store, [rec("c1", T0, minutes=60, use_case="a", gpu=3600.0, cpu=None, ram=None),
                   rec("c2", T0, minutes=60, use_case="b", gpu=3600.0, cpu=None, ram=None)])
    acc = account(store, Q3)
    assert acc.conservation.measured_uj == 3600 * UJ_PER_J
    assert acc.use_case("a").measured_uj == acc.use_case("b").measured_uj == 1800 * UJ_PER_J
    # a partial overlap: only the shared half hour is counted once
    insert(store, [rec("c3", T0 + timedelta(hours=2), minutes=60, host="h2", use_case="a", gpu=3600.0, cpu=None, ram=None),
                   rec("c4", T0 + timedelta(hours=2, minutes=30), minutes=60, host="h2", use_case="b", gpu=3600.0,
                       cpu=None, ram=None)])
    acc = account(store, Q3)
    assert acc.conservation.measured_uj == (3600 + 1800 + 1800 + 1800) * UJ_PER_J
    assert acc.conservation.holds


def test_records_across_the_period_edge_are_prorated(store):
    add_uc(store, "a")
    start = datetime(2026, 6, 30, 23, 30)
    insert(store, [rec("edge", start, minutes=60, use_case="a", gpu=3600.0, cpu=None, ram=None)])
    assert account(store, Q3).use_case("a").measured_uj == 1800 * UJ_PER_J
    assert account(store, parse_quarter("2026-Q2")).use_case("a").measured_uj == 1800 * UJ_PER_J


def test_usage_without_measurement_is_estimated_once_per_group(store):
    add_uc(store, "api", deployment="api", model="gpt-4o", country="IRL")
    add_uc(store, "srv")
    add_usage(store, [(T0 + timedelta(hours=h), "api", "gpt-4o", 100, 50) for h in range(5)]
              + [(T0 + timedelta(hours=1), "api", None, 10, 5)])
    # usage of a measured use case in a measured hour is already in the measurement
    insert(store, [rec("m", T0, minutes=30, use_case="srv", gpu=100.0)])
    add_usage(store, [(T0 + timedelta(minutes=10), "srv", "qwen", 1000, 1000)])
    est = StandInEstimator()
    acc = account(store, Q3, estimator=est)
    # rows without a model take the register's model: one call, with summed tokens
    assert est.calls == [dict(output_tokens=255, input_tokens=510, model="gpt-4o", country="IRL", pue=None, year=2026)]
    api = acc.use_case("api")
    assert api.impacts.energy_kwh.value == pytest.approx((0.002 * 255 + 0.0002 * 510) / 1000)
    assert api.impacts.energy_kwh.low < api.impacts.energy_kwh.value < api.impacts.energy_kwh.high
    assert api.measured_share == 0 and api.methods == ("estimated:tokens",)
    assert api.impacts.scope3_cat1_gco2e.value > 0 and api.impacts.scope2_kwh == 0
    srv = acc.use_case("srv")
    assert srv.estimates == () and srv.measured_share > 0.9


def test_usage_buckets_count_their_requests(store):
    add_uc(store, "api", deployment="api", model="gpt-4o", country="IRL")
    add_usage(store, [(T0, "api", None, 1000, 300), (T0 + timedelta(days=1), "api", None, 500, 100)], requests=25)
    (group,) = account(store, Q3, estimator=StandInEstimator()).use_case("api").estimates
    assert (group.requests, group.input_tokens, group.output_tokens) == (50, 1500, 400)


def test_estimator_refusal_is_reported_not_dropped(store):
    add_uc(store, "api", deployment="api", model="unknown-model")
    add_usage(store, [(T0, "api", None, 10, 20)])
    acc = account(store, Q3, estimator=StandInEstimator())
    (group,) = acc.use_case("api").estimates
    assert group.error and group.output_tokens == 20
    assert any("not estimated" in w for w in acc.warnings)


def test_factors_come_from_use_case_then_site_then_default(store):
    set_site(store, "dc1", pue=1.2, wue_l_per_kwh=0.5, market_gco2e_per_kwh=10.0, country="DEU")
    add_uc(store, "on-site", region="dc1", country=None)
    add_uc(store, "own-pue", region="dc1", pue=1.1, country="FRA", market_gco2e_per_kwh=5.0)
    insert(store, [rec("a", T0, use_case="on-site", gpu=3.6e6, cpu=None, ram=None, host="x"),
                   rec("b", T0, use_case="own-pue", gpu=3.6e6, cpu=None, ram=None, host="y")])
    acc = account(store, Q3)
    a, b = acc.use_case("on-site").impacts, acc.use_case("own-pue").impacts
    assert a.energy_kwh.value == pytest.approx(1.2) and b.energy_kwh.value == pytest.approx(1.1)
    assert a.gco2e_market.value == pytest.approx(12.0) and b.gco2e_market.value == pytest.approx(5.5)
    from footprint.factors import grid_factor

    assert a.gco2e.value == pytest.approx(1.2 * grid_factor("DEU", 2026).gco2e_per_kwh)
    # water: IT x on-site WUE (+ the grid's water factor where shipped: France)
    assert a.water_l.value == pytest.approx(0.5)
    assert b.water_l.value == pytest.approx(0.5 + 1.1 * 3.6737)
    assert a.embodied_gco2e.value > 0


def test_default_period_is_last_complete_quarter_with_data(store):
    add_uc(store, "a")
    with pytest.raises(NotFoundError):
        default_period(store, today=date(2026, 11, 22))
    insert(store, [rec("q2", datetime(2026, 5, 1), use_case="a"), rec("q4", datetime(2026, 10, 2), use_case="a")])
    assert default_period(store, today=date(2026, 11, 22)).label == "2026-Q2"
    insert(store, [rec("q3", datetime(2026, 8, 1), use_case="a")])
    assert default_period(store, today=date(2026, 11, 22)).label == "2026-Q3"


# --- property: conservation is exact ---------------------------------------------------------

intervals = st.lists(
    st.tuples(
        st.integers(0, 3),  # host
        st.integers(-120, 60 * 24 * 95),  # start minute from 2026-07-01 (some outside the quarter)
        st.integers(0, 180),  # duration in minutes (0: a point record)
        st.floats(0, 5e6, allow_nan=False),  # GPU J
        st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)),  # CPU J
        st.booleans(),  # shared
        st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 10_000), st.integers(0, 10_000)),
                 max_size=3, unique_by=lambda t: t[0]),
        st.sampled_from(["a", "b", None]),
    ),
    max_size=25,
)


def _expected_uj(records) -> int | None:
    """Energy inside the quarter, prorated, when no two records of a host overlap (else None)."""
    by_host: dict[str, list] = {}
    for r in records:
        for other in by_host.get(r.host, []):
            if r.start < other.end and other.start < r.end:
                return None
        by_host.setdefault(r.host, []).append(r)
    qs, qe = datetime(2026, 7, 1), datetime(2026, 10, 1)
    total = 0
    for r in records:
        parts = [round(r.gpu_j * 1e6)] + ([round(r.cpu_j * 1e6)] if r.cpu_j is not None else [])
        if r.end == r.start:
            total += sum(parts) if qs <= r.start < qe else 0
            continue
        s, e = max(r.start, qs), min(r.end, qe)
        if e > s:
            dur, part = (r.end - r.start) // timedelta(microseconds=1), (e - s) // timedelta(microseconds=1)
            total += sum(p * part // dur for p in parts)
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=intervals, allocate=st.booleans())
def test_conservation_is_exact(tmp_path_factory, data, allocate):
    path = tmp_path_factory.mktemp("prop") / "p.duckdb"
    with open_store(path) as s:
        for slug in ("a", "b", "c"):
            add_uc(s, slug)
        records = [rec(f"r{i}", T0 + timedelta(minutes=start), minutes=dur, host=f"h{host}", use_case=uc, gpu=gpu,
                       cpu=cpu, ram=None, shared=shared, tokens=toks)
                   for i, (host, start, dur, gpu, cpu, shared, toks, uc) in enumerate(data)]
        insert(s, records)
        acc = account(s, Q3, allocate_idle=allocate)
        c = acc.conservation
        assert c.measured_uj == c.allocated_uj + c.idle_uj + c.unallocated_uj
        assert c.allocated_uj == sum(u.measured_uj for u in acc.use_cases)
        expected = _expected_uj(records)
        if expected is not None:
            # prorating a record cut by the quarter's edge floors in double precision: at most 1 µJ per part
            assert abs(c.measured_uj - expected) <= 2 * len(records)
        total = acc.totals.it_energy_kwh.value
        listed = sum(u.impacts.it_energy_kwh.value for u in acc.use_cases) + acc.idle.it_energy_kwh.value
        assert listed == pytest.approx(total, rel=1e-12, abs=1e-15)


def test_period_has_data(store):
    from footprint.accounting import period_has_data

    add_uc(store, "a")
    assert not period_has_data(store, Q3)
    add_usage(store, [(datetime(2026, 8, 1), "a", "m", 1, 1)])
    assert period_has_data(store, Q3) and not period_has_data(store, parse_quarter("2026-Q2"))
    insert(store, [rec("r", datetime(2026, 6, 30, 23, 59), minutes=5, use_case="a")])
    assert period_has_data(store, parse_quarter("2026-Q2"))
