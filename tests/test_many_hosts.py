"""Many hosts: footprint's own series read back into records, and one source per host in the accounting."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from footprint.accounting import account
from footprint.cluster.collect import to_unix, write
from footprint.cluster.own import OWN_ID_PREFIX, own_records
from footprint.cluster.prometheus import parse_results
from footprint.measurements import insert_records
from footprint.periods import Period
from footprint.records import IntervalRecord, TokenCount, UseCase
from footprint.register import add_use_case

T0 = datetime(2026, 7, 1, 12, 0, 0)  # on every step grid used here
STEP = 10.0


def _counter(metric: str, labels: dict, values: list[tuple[float, float]]) -> dict:
    return {"metric": {"__name__": metric, **labels}, "values": [[t, repr(v)] for t, v in values]}


def _host_series(host: str, use_case: str, watts: float, steps: int, *, start_j: float = 0.0, out_per_s=0,
                 instance: str | None = None, gap: range = range(0)) -> list[dict]:
    """A monitor's series as a range query returns them: GPU and CPU counters at each step."""
    t0 = to_unix(T0)
    base = {"job": "footprint", "instance": instance or f"{host}:9464"}
    times = [t0 + k * STEP for k in range(steps + 1) if k not in gap]
    gpu = [(t, start_j + watts * (t - t0)) for t in times]
    cpu = [(t, 20.0 * (t - t0)) for t in times]
    series = [
        _counter("footprint_energy_joules_total", {**base, "use_case": use_case, "component": "gpu",
                                                   "method": "measured:nvml-counter", "host": host}, gpu),
        _counter("footprint_energy_joules_total", {**base, "use_case": use_case, "component": "cpu",
                                                   "method": "modelled:cpu-load-tdp", "host": host}, cpu),
    ]
    if out_per_s:
        series.append(_counter("footprint_tokens_total", {**base, "use_case": use_case, "model": "m", "kind": "output"},
                               [(t, float(out_per_s * (t - t0))) for t in times]))
    return series


def _records(results: list[dict], steps: int) -> list[IntervalRecord]:
    first = int(to_unix(T0) // STEP)
    return own_records(parse_results(results), STEP, first, first + steps, "prometheus")


def test_one_record_per_host_and_step_with_its_components_and_tokens():
    results = _host_series("h1", "chat", 300.0, 6, start_j=1e6, out_per_s=7) + _host_series("h2", "code", 100.0, 6)
    records = _records(results, 6)
    by_host = {}
    for r in records:
        by_host.setdefault(r.host, []).append(r)
    assert sorted(by_host) == ["h1", "h2"]
    h1 = by_host["h1"]
    assert len(h1) == 6 and all(r.record_id.startswith(OWN_ID_PREFIX) for r in h1)
    assert sum(r.gpu_j for r in h1) == pytest.approx(300.0 * 60)  # the counter's history before is not counted
    assert sum(r.cpu_j for r in h1) == pytest.approx(20.0 * 60)
    assert {r.use_case for r in h1} == {"chat"} and not any(r.shared for r in h1)
    assert {(r.gpu_method, r.cpu_method, r.ram_method, r.ram_j) for r in h1} == {
        ("measured:nvml-counter", "modelled:cpu-load-tdp", None, None)}
    assert sum(r.output_tokens for r in h1) == 7 * 60
    assert h1[0].tokens == (TokenCount("chat", "m", 0, 70, 0),)
    assert all(r.output_tokens is None for r in by_host["h2"])  # no token series: tokens unknown, not 0
    assert [r.end - r.start for r in h1] == [timedelta(seconds=STEP)] * 6


def test_a_restart_gap_is_spread_and_flagged_and_a_reset_counts_from_zero():
    gapped = _records(_host_series("h1", "chat", 300.0, 6, gap=range(2, 4)), 6)
    assert sum(r.gpu_j for r in gapped) == pytest.approx(300.0 * 60)
    assert sum(r.gpu_low_confidence for r in gapped) == 3  # three steps share the increase over the gap
    t0 = to_unix(T0)
    reset = [_counter("footprint_energy_joules_total", {"job": "f", "instance": "h:1", "use_case": "chat",
                                                        "component": "gpu", "method": "m", "host": "h"},
                      [(t0, 5000.0), (t0 + 10, 8000.0), (t0 + 20, 2500.0), (t0 + 30, 5500.0)])]
    assert [r.gpu_j for r in _records(reset, 3)] == [3000.0, 2500.0, 3000.0]


def test_tokens_of_another_use_case_make_the_host_shared():
    results = _host_series("h1", "chat", 300.0, 2, out_per_s=5)
    t0 = to_unix(T0)
    results.append(_counter("footprint_tokens_total", {"job": "footprint", "instance": "h1:9464", "use_case": "code",
                                                       "model": "c", "kind": "input"},
                            [(t0 + k * STEP, float(3 * k * STEP)) for k in range(3)]))
    records = _records(results, 2)
    assert all(r.shared for r in records)
    assert records[0].tokens == (TokenCount("chat", "m", 0, 50, 0), TokenCount("code", "c", 30, 0, 0))


def _use_cases(store, *slugs):
    for slug in slugs:
        add_use_case(store, UseCase(slug=slug, name=slug, team="platform", status="production", deployment="on-prem"))


def _monitor_records(host: str, use_case: str, watts: float, seconds: int) -> list[IntervalRecord]:
    return [IntervalRecord(record_id=f"{host}:1:1:{k}", use_case=use_case, host=host,
                           start=T0 + timedelta(seconds=k), end=T0 + timedelta(seconds=k + 1), source="monitor",
                           gpu_j=watts, gpu_method="measured:nvml-counter") for k in range(seconds)]


def test_collecting_again_over_overlapping_windows_adds_nothing(store):
    _use_cases(store, "chat", "code")
    results = _host_series("h1", "chat", 300.0, 12) + _host_series("h2", "code", 100.0, 12)
    first = int(to_unix(T0) // STEP)
    series = parse_results(results)
    added = [write(store, own_records(series, STEP, first + a, first + b, "prometheus"))[0]
             for a, b in ((0, 8), (4, 12), (0, 12))]
    assert added == [16, 8, 0]
    # Another step over the same time: already covered, left out (never counted twice).
    coarse = own_records(series, 2 * STEP, first // 2, first // 2 + 6, "prometheus")
    assert write(store, coarse) == (0, len(coarse))


def test_a_hosts_own_spool_records_win_over_its_prometheus_records(store):
    """Host h1's spool is drained into this database too; h2 only reaches it through Prometheus."""
    _use_cases(store, "chat", "code")
    results = _host_series("h1", "chat", 310.0, 6) + _host_series("h2", "code", 100.0, 6)
    write(store, _records(results, 6))
    period = Period("window", T0, T0 + timedelta(seconds=60))
    before = account(store, period)
    assert before.use_case("chat").measured_uj == pytest.approx((310.0 + 20.0) * 60 * 1e6)
    # The local monitor ran for the first 40 s only: there its records win; after, Prometheus' stay.
    insert_records(store, _monitor_records("h1", "chat", 300.0, 40))
    after = account(store, period)
    expected = 300.0 * 40 + (310.0 + 20.0) * 20
    assert after.use_case("chat").measured_uj == pytest.approx(expected * 1e6)
    assert after.use_case("code").measured_uj == before.use_case("code").measured_uj
    assert after.conservation.measured_uj == after.use_case("chat").measured_uj + after.use_case("code").measured_uj


def test_a_long_window_is_collected_in_chunks_with_the_same_records(store, monkeypatch):
    """Chunked collection (bounded memory) gives the records of one pass, none lost at the seams."""
    import importlib

    collect_mod = importlib.import_module("footprint.cluster.collect")  # the module, not the function

    class Client:
        def __init__(self, results):
            self.series = parse_results(results)
            self.windows = []

        def query_range(self, query, start_s, end_s, step_s):
            self.windows.append((start_s, end_s))
            if "footprint" not in query:
                return []
            return [type(s)(s.labels, tuple((t, v) for t, v in s.samples if start_s <= t <= end_s)) for s in self.series]

    _use_cases(store, "chat")
    client = Client(_host_series("h1", "chat", 300.0, 40))
    monkeypatch.setattr(collect_mod, "CHUNK_STEPS", 7)

    class Borrowed:
        def __enter__(self):
            return store

        def __exit__(self, *exc):
            return False

    t0 = to_unix(T0)
    result = collect_mod.collect(Borrowed, client, t0, t0 + 40 * STEP, STEP, collect_mod.Mapping())
    assert (result.records, result.added, result.footprint_hosts) == (40, 40, 1)
    assert result.gpu_j == pytest.approx(300.0 * 400)
    assert len(client.windows) == 3 * 6  # six chunks, three queries each
    assert collect_mod.collect(Borrowed, client, t0, t0 + 40 * STEP, STEP, collect_mod.Mapping()).added == 0


def test_the_dashboard_ships_in_the_package_and_reads_only_footprints_counters():
    import json
    import re
    from pathlib import Path

    import footprint.dashboards

    dashboard = json.loads((Path(footprint.dashboards.__file__).parent / "footprint.json").read_text())
    titles = " | ".join(p["title"] for p in dashboard["panels"])
    for word in ("Energy per use case", "Carbon per use case", "Tokens per use case", "J/token"):
        assert word in titles
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    metrics = {m for e in exprs for m in re.findall(r"\b(footprint_[a-z_]+|[a-z]+_[a-z_]+_total)\b", e)}
    assert metrics == {"footprint_energy_joules_total", "footprint_tokens_total", "footprint_intervals_total"}
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {name for e in exprs for name in re.findall(r"\$(\w+)", e)} <= variables | {"__rate_interval", "__range"}
