"""From series to records: use-case mapping, token split, exactly once, --watch, and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cluster_helpers import FakePrometheusAPI
from footprint.cluster import PrometheusClient, collect, load_mapping, watch
from footprint.cluster.collect import build_records, from_unix, parse_time, step_grid, unlinked_tokens
from footprint.cluster.energy import METHOD_DCGM_COUNTER, EnergyUnit, TokenSeries
from footprint.cluster.mapping import Mapping, parse_mapping
from footprint.errors import InputFileError, ValidationError
from footprint.measurements import list_measurements
from footprint.records import UseCase
from footprint.register import add_use_case


def _gpu(uuid, node="n1", **labels):
    return EnergyUnit({"UUID": uuid, "gpu": uuid[-1], "Hostname": node, **labels}, METHOD_DCGM_COUNTER,
                      {0: (100.0, False), 1: (100.0, False)})


def _tokens(model, field, per_step, **labels):
    return TokenSeries({"model_name": model, **labels}, field, {0: per_step, 1: per_step})


T0 = 28_333_334 * 60  # on the 60 s grid

MAP = parse_mapping({"map": [
    {"match": {"model_name": "a"}, "use_case": "chat"},
    {"match": {"model_name": "b"}, "use_case": "code"},
    {"match": {"namespace": "batch"}, "use_case": "batch-job"},
]})


def test_gpu_serving_two_use_cases_is_shared_with_tokens_split_over_its_gpus():
    gpus = [_gpu("GPU-1"), _gpu("GPU-2")]
    tokens = [_tokens("a", "output_tokens", 7, node="n1"), _tokens("b", "output_tokens", 4, node="n1"),
              _tokens("a", "input_tokens", 3, node="n1")]
    records = build_records(gpus, tokens, MAP, 60, 0, 2)
    assert len(records) == 4 and all(r.shared and r.use_case is None for r in records)
    out = {}
    for r in records:
        for t in r.tokens:
            out[t.use_case] = out.get(t.use_case, 0) + t.output_tokens
    assert out == {"chat": 14, "code": 8}  # each series' tokens split over the two GPUs, exactly
    assert sum(r.output_tokens for r in records) == 22 and sum(r.input_tokens for r in records) == 6


def test_gpu_serving_one_use_case_is_dedicated_and_unlinked_gpus_follow_their_labels():
    gpus = [_gpu("GPU-1"), _gpu("GPU-2", node="n2", namespace="batch", pod="train-0"), _gpu("GPU-3", node="n3")]
    records = build_records(gpus, [_tokens("a", "output_tokens", 5, node="n1")], MAP, 60, 0, 2)
    by_host = {r.host: r for r in records if r.start == from_unix(0)}
    assert (by_host["n1/GPU-1"].use_case, by_host["n1/GPU-1"].shared) == ("chat", False)
    assert [(t.use_case, t.model, t.output_tokens) for t in by_host["n1/GPU-1"].tokens] == [("chat", "a", 5)]
    assert by_host["n2/GPU-2"].use_case == "batch-job" and by_host["n2/GPU-2"].output_tokens is None
    assert by_host["n3/GPU-3"].use_case is None  # unmapped: unallocated, kept


def test_tokens_join_gpus_by_pod_when_both_carry_one():
    gpus = [_gpu("GPU-1", namespace="llm", pod="vllm-0"), _gpu("GPU-2", namespace="llm", pod="other")]
    tokens = [_tokens("a", "output_tokens", 5, namespace="llm", pod="vllm-0", node="n1")]
    records = build_records(gpus, tokens, Mapping(()), 60, 0, 1)
    by_host = {r.host: r for r in records}
    assert by_host["n1/GPU-1"].output_tokens == 5 and by_host["n1/GPU-2"].output_tokens is None


def test_unmapped_tokens_on_a_mapped_gpu_make_it_shared_with_unallocated():
    gpus = [_gpu("GPU-1")]
    tokens = [_tokens("a", "output_tokens", 5, node="n1"), _tokens("zzz", "output_tokens", 5, node="n1")]
    (record,) = build_records(gpus, tokens, MAP, 60, 0, 1)
    assert record.shared and record.output_tokens == 10
    assert [(t.use_case, t.output_tokens) for t in record.tokens] == [("chat", 5)]


def test_token_series_on_no_gpu_are_counted():
    tokens = [_tokens("a", "output_tokens", 5, node="n1"), _tokens("a", "output_tokens", 5, node="elsewhere")]
    assert unlinked_tokens([_gpu("GPU-1")], tokens) == 1


def test_record_ids_are_series_and_step_keyed():
    first = build_records([_gpu("GPU-1")], [], MAP, 60, 0, 2)
    again = build_records([_gpu("GPU-1")], [], MAP, 60, 1, 2)
    assert again[0].record_id == first[1].record_id and first[0].record_id != first[1].record_id


def test_window_steps_lie_on_the_step_grid():
    assert step_grid(1000.0, 1020.0, 1) == (1000, 1020)
    assert step_grid(1000.5, 1019.9, 1) == (1001, 1019)
    assert step_grid(100, 250, 60) == (2, 4)
    with pytest.raises(ValidationError, match="not after"):
        step_grid(10, 10, 1)


def test_times_iso_or_unix():
    assert parse_time("1700000000") == 1_700_000_000
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000
    assert parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000
    with pytest.raises(ValidationError, match="--from"):
        parse_time("yesterday", "--from time")


def test_mapping_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text("[[map]]\nmatch = {namespace = 'x'}\n")
    with pytest.raises(InputFileError, match=r"map.toml: \[\[map\]\] #1: field use_case"):
        load_mapping(bad)
    bad.write_text("[[map]\n")
    with pytest.raises(InputFileError, match="map.toml: bad TOML"):
        load_mapping(bad)
    bad.write_text("[[mapping]]\nuse_case='x'\n")
    with pytest.raises(InputFileError, match="unknown section 'mapping'"):
        load_mapping(bad)


def test_mapping_prefers_the_workload_labels_over_the_scrape_targets():
    mapping = parse_mapping({"map": [{"match": {"namespace": "chat-prod", "container": "vllm"}, "use_case": "chat"}]})
    dcgm = {"namespace": "gpu-operator", "exported_namespace": "chat-prod", "exported_container": "vllm"}
    assert mapping.use_case_for(dcgm) == "chat"
    assert mapping.use_case_for({"namespace": "chat-prod", "container": "vllm"}) == "chat"
    assert mapping.use_case_for({"namespace": "gpu-operator", "container": "vllm"}) is None


@pytest.fixture
def api():
    fake = FakePrometheusAPI(watts=200.0, tokens_per_s=10.0)
    yield fake
    fake.close()


@pytest.fixture
def chat(store):
    add_use_case(store, UseCase(slug="chat", name="Chat", team="platform", status="production", deployment="on-prem"))
    store.close()


def test_collect_writes_exact_energy_and_tokens(api, db_path, chat):
    from footprint.store import open_store

    mapping = parse_mapping({"map": [{"match": {"model_name": "m"}, "use_case": "chat"}]})
    result = collect(lambda: open_store(db_path), PrometheusClient(api.url), T0, T0 + 3600, 60, mapping)
    assert (result.records, result.added, result.unlinked_token_series) == (60, 60, 0)
    with open_store(db_path) as store:
        rows = list_measurements(store)
    assert sum(r["gpu_j"] for r in rows) == pytest.approx(200.0 * 3600)
    assert {r["use_case"] for r in rows} == {"chat"} and sum(r["output_tokens"] for r in rows) == 36_000


def test_watch_collects_each_cycle_from_where_it_stopped(api, db_path):
    from footprint.store import open_store

    now = [float(T0)]
    cycles = []
    stop = threading.Event()

    def on_cycle(result):
        cycles.append(result)
        now[0] += 300  # five more minutes pass before the next cycle
        if len(cycles) == 3:
            stop.set()

    cursor = watch(lambda: open_store(db_path), PrometheusClient(api.url), 60, 0.01, 60, T0 - 600,
                   Mapping(()), stop, on_cycle=on_cycle, clock=lambda: now[0])
    assert [c.added for c in cycles] == [9, 5, 5]  # up to now - lag, on the 60 s grid, then 5 new steps each
    assert cursor == T0 - 60 + 600
    with open_store(db_path) as store:
        rows = list_measurements(store)
    assert len(rows) == 19 and sum(r["gpu_j"] for r in rows) == pytest.approx(200.0 * 60 * 19)


def test_watch_reports_a_failing_cycle_and_retries(api, db_path):
    from footprint.store import open_store

    errors, stop = [], threading.Event()
    api.status = 503

    def on_error(exc):
        errors.append(str(exc))
        api.status = None  # the server is back for the next cycle

    results = []
    watch(lambda: open_store(db_path), PrometheusClient(api.url), 60, 0.01, 0, T0, Mapping(()), stop,
          on_cycle=lambda r: (results.append(r), stop.set()), on_error=on_error, clock=lambda: T0 + 600.0)
    assert errors and "HTTP 503" in errors[0]
    assert results[0].added == 10


def _footprint(*args, db, timeout=30, **kw):
    exe = Path(sys.executable).with_name("footprint")
    return subprocess.run([str(exe), "--db", str(db), *args], capture_output=True, text=True, timeout=timeout, **kw)


def test_cli_errors_are_one_line(api, db_path, tmp_path):
    mapfile = tmp_path / "map.toml"
    mapfile.write_text('[[map]]\nmatch = {namespace = "x"}\nuse_case = "nope"\n')
    cases = [
        (["--url", api.url, "--from", "1700000000", "--to", "1700000600", "--config", str(mapfile)], "map.toml: unknown use case 'nope'"),
        (["--url", "http://127.0.0.1:9", "--from", "1700000000", "--to", "1700000600"], "cannot reach Prometheus"),
        (["--url", api.url, "--from", "soon", "--to", "1700000600"], "bad --from time 'soon'"),
        (["--url", api.url, "--watch", "--to", "1700000600"], "--to makes no sense with --watch"),
    ]
    for args, message in cases:
        done = _footprint("collect", "prometheus", *args, db=db_path)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.strip().startswith("error:") and message in done.stderr and "Traceback" not in done.stderr


def test_cli_watch_stops_cleanly_on_sigterm(api, db_path):
    exe = Path(sys.executable).with_name("footprint")
    start = int(time.time()) - 600
    process = subprocess.Popen(
        [str(exe), "--db", str(db_path), "collect", "prometheus", "--url", api.url, "--from", str(start),
         "--step", "60", "--watch", "--every", "300", "--lag", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 20
    while time.time() < deadline and len(api.requests) < 2:  # the first cycle's two queries
        time.sleep(0.05)
    time.sleep(1.0)  # its write
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)  # does not sit out the 300 s wait
    assert process.returncode == 0, err
    assert "stopped" in err
    first = json.loads(out.splitlines()[0])
    assert first["added"] >= 9


def test_cli_text_summary_and_future_end_clamped(api, invoke):
    now = time.time()
    result = invoke("collect", "prometheus", "--url", api.url, "--from", str(int(now) - 3600), "--to", str(int(now) + 3600))
    assert result.exit_code == 0, result.output
    assert "--to is in the future" in result.stderr
    assert "new" in result.stdout and "measured:dcgm-counter" in result.stdout
    last_end = max(float(r["end"]) for r in api.requests if "DCGM" in r["query"])
    assert last_end <= now - 60 + 1  # stopped --lag (60 s) before now (footprint's own series: up to now)
    assert max(float(r["end"]) for r in api.requests) <= now + 1


@pytest.mark.parametrize("resumed, first_since", [(False, T0), (True, T0 - 120)])
def test_a_resumed_watch_starts_a_lookahead_before_the_last_collected_step(monkeypatch, resumed, first_since):
    """Resuming (the last collected step as start) re-reads what footprint's own series may have left for
    later, as every later cycle does; a first step given (--from) is never read before."""
    from footprint.errors import FootprintError

    module = sys.modules["footprint.cluster.collect"]  # the package's `collect` names the function

    since, stop = [], threading.Event()

    def fake_collect(store_opener, client, start_s, end_s, step_s, mapping):
        since.append(start_s)
        raise FootprintError("server down")

    monkeypatch.setattr(module, "collect", fake_collect)
    watch(None, None, 60, 0.01, 0, T0, Mapping(()), stop, on_error=lambda exc: stop.set(),
          clock=lambda: T0 + 600.0, resumed=resumed)
    assert since == [first_since]
