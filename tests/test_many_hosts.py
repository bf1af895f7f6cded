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


# --- the edge rule: growth placed on the time the monitor measured it (exporter's two gauges) ---

SCRAPE_OFFSET_S = 3.0  # each step's sample is the scrape 3 s before it


def _monitor_run(watts: float, runs: list[tuple[float, float]], interval: float = 10.0):
    """Spooled intervals (start, end, J) of a monitor counting `runs` [(start, stop)] after T0, in seconds."""
    out = []
    for begin, stop in runs:
        t = begin
        while t < stop:
            end = min(t + interval, stop)  # the last one is partial: SIGTERM flushes it
            out.append((begin, t, end, watts * (end - t)))
            t = end
    return out


def _scraped(intervals, steps: int, down: list[tuple[float, float]] = (), host="h1", use_case="chat"):
    """A range query of the monitor's series: at each step the scrape before it, none while it was down."""
    t0 = to_unix(T0)
    base = {"job": "footprint", "instance": f"{host}:9464", "use_case": use_case, "host": host}
    energy, started, until = [], [], []
    for k in range(steps + 1):
        at = k * STEP - SCRAPE_OFFSET_S
        if any(a <= at < b for a, b in down):
            continue
        counted = [iv for iv in intervals if iv[2] <= at]
        if not counted:
            continue
        run = max(iv[0] for iv in counted if iv[2] <= at)
        energy.append((t0 + k * STEP, sum(iv[3] for iv in counted)))
        started.append((t0 + k * STEP, t0 + min(iv[1] for iv in counted if iv[0] == run)))
        until.append((t0 + k * STEP, t0 + max(iv[2] for iv in counted)))
    return [
        _counter("footprint_energy_joules_total", {**base, "component": "gpu", "method": "measured:nvml-counter"},
                 energy),
        _counter("footprint_exporter_start_time_seconds", base, started),
        _counter("footprint_exporter_counted_until_seconds", base, until),
    ]


def _spooled_j(intervals, a: float, b: float) -> float:
    """The spool's energy in [a, b] s after T0, each interval prorated (the accounting's rule)."""
    return sum(j * max(0.0, min(e, b) - max(s, a)) / (e - s) for _run, s, e, j in intervals)


def test_steps_get_the_energy_measured_in_them_whatever_the_monitors_phase():
    intervals = _monitor_run(300.0, [(-36.5, 200.0)])  # intervals end at x3.5 s; scrapes at x7 s
    records = _records(_scraped(intervals, 12), 12)
    assert [r.start for r in records] == [T0 + timedelta(seconds=STEP * k) for k in range(len(records))]
    for r in records:
        a = (r.start - T0).total_seconds()
        assert r.gpu_j == pytest.approx(_spooled_j(intervals, a, a + STEP)), r.start
        assert not r.gpu_low_confidence
    # the last step waits for the samples after it: counted-until is 113.5 s at the last one (117 s's scrape)
    assert len(records) == 11


def test_a_restart_inside_a_gap_puts_its_growth_after_the_restart_only():
    # counting until 45 s, killed; restarted at 71 s (the monitor measured nothing in between)
    intervals = _monitor_run(300.0, [(-20.0, 45.0), (71.0, 200.0)])
    results = _scraped(intervals, 14, down=[(45.0, 81.0)])  # scrapes fail from the kill to the first interval
    records = _records(results, 14)
    by_step = {int((r.start - T0).total_seconds() // STEP): r for r in records}
    # The last sample before the kill is complete to 30 s, the first after it from 71 s: the growth between
    # (30-45 s and 71-81 s) goes to 71-81 s only. No record where nothing was placed, never an estimate.
    assert sorted(by_step) == [0, 1, 2, 7, 8, 9, 10, 11, 12]
    assert by_step[7].gpu_j == pytest.approx(0.9 * 300.0 * 25) and by_step[8].gpu_j > 3000.0
    assert [i for i, r in by_step.items() if r.gpu_low_confidence] == [7, 8]
    # conserved: nothing lost, nothing twice
    assert sum(r.gpu_j for r in records) == pytest.approx(_spooled_j(intervals, 0, 130))
    # away from the gap each step is what the spool holds for it
    for step in (0, 1, 2, 9, 10, 11, 12):
        assert by_step[step].gpu_j == pytest.approx(_spooled_j(intervals, step * STEP, (step + 1) * STEP))


def test_a_gap_without_restart_spreads_its_growth_over_the_gap_flagged():
    intervals = _monitor_run(300.0, [(-36.5, 200.0)])
    records = _records(_scraped(intervals, 12, down=[(25.0, 55.0)]), 12)  # three scrapes missed, no restart
    by_step = {int((r.start - T0).total_seconds() // STEP): r for r in records}
    assert sorted(by_step) == list(range(11))
    # the samples around the gap are complete to 13.5 s and 53.5 s: the growth between, spread evenly on that time
    assert [i for i, r in by_step.items() if r.gpu_low_confidence] == [1, 2, 3, 4, 5]
    for step in range(11):  # constant power: the even spread is exact
        assert by_step[step].gpu_j == pytest.approx(_spooled_j(intervals, step * STEP, (step + 1) * STEP))


def test_a_restart_at_a_window_edge_leaves_nothing_before_it_and_loses_nothing():
    intervals = _monitor_run(300.0, [(-30.0, 28.0), (52.0, 200.0)])  # down 28-52 s; a window starts at 50 s
    results = _scraped(intervals, 14, down=[(28.0, 62.0)])
    first = int(to_unix(T0) // STEP)
    series = parse_results(results)
    before = own_records(series, STEP, first, first + 5, "prometheus")
    after = own_records(series, STEP, first + 5, first + 14, "prometheus")
    everything = own_records(series, STEP, first, first + 14, "prometheus")
    assert [r.record_id for r in before + after] == [r.record_id for r in everything]
    assert sum(r.gpu_j for r in before + after) == pytest.approx(_spooled_j(intervals, 0, 130))
    # before the edge: what the samples before the kill hold (to 20 s); the growth over the restart
    # (20-28 s, then 52-62 s) lies after the restart, so after the edge: none before 52 s
    assert sum(r.gpu_j for r in before) == pytest.approx(_spooled_j(intervals, 0, 20))
    assert after[0].start == T0 + timedelta(seconds=50) and after[0].gpu_j == pytest.approx(0.8 * 300.0 * 18)


def test_a_monitor_restart_with_the_old_exporter_still_spreads_evenly():
    """No gauges (an exporter from before them): the step times stand for counted-until, as before."""
    intervals = _monitor_run(300.0, [(-20.0, 45.0), (71.0, 200.0)])
    results = _scraped(intervals, 14, down=[(45.0, 81.0)])[:1]
    records = _records(results, 14)
    assert [int((r.start - T0).total_seconds() // STEP) for r in records if r.gpu_low_confidence] == [4, 5, 6, 7, 8]
    assert sum(r.gpu_j for r in records) == pytest.approx(float(results[0]["values"][-1][1]) - 3000.0)


def test_the_columnar_write_stores_what_the_records_would(tmp_path):
    """collect writes footprint's own series as columns: the same rows and token rows as the records give."""
    import importlib

    from footprint.store import open_store

    collect_mod = importlib.import_module("footprint.cluster.collect")
    results = (_host_series("h1", "chat", 300.0, 30, out_per_s=7, gap=range(8, 11))
               + _host_series("h2", "code", 100.0, 30, instance="h2:9464"))
    series = parse_results(results)

    class Client:
        def query_range(self, query, start_s, end_s, step_s):
            if "footprint" not in query:
                return []
            return [type(s)(s.labels, tuple((t, v) for t, v in s.samples if start_s <= t <= end_s)) for s in series]

    first, t0 = int(to_unix(T0) // STEP), to_unix(T0)
    dumps = []
    for name in ("records", "columns"):
        with open_store(tmp_path / f"{name}.duckdb") as store:
            _use_cases(store, "chat", "code")
            if name == "records":
                write(store, own_records(series, STEP, first, first + 30, "prometheus"))
        if name == "columns":
            result = collect_mod.collect(lambda: open_store(tmp_path / "columns.duckdb"), Client(), t0,
                                         t0 + 30 * STEP, STEP, collect_mod.Mapping())
            assert (result.records, result.added, result.footprint_hosts) == (60, 60, 2)
            assert result.cpu_ram_j == pytest.approx(20.0 * 300 * 2)
            assert result.methods == {"measured:nvml-counter": 60}
        with open_store(tmp_path / f"{name}.duckdb") as store:
            dumps.append((store.execute("SELECT * FROM measurements ORDER BY record_id").fetchall(),
                          store.execute("SELECT * FROM interval_tokens ORDER BY ALL").fetchall()))
    assert dumps[0] == dumps[1] and len(dumps[0][0]) == 60 and dumps[0][1]
