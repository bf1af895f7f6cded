"""footprint's Prometheus exporter: counters from spooled records, resumed on restart, served on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from footprint.errors import ListenError, ValidationError
from footprint.exporter import Exporter, Totals, exporting, parse_listen, totals_path
from footprint.records import IntervalRecord, TokenCount

EXE = str(Path(sys.executable).parent / "footprint")
T0 = datetime(2026, 7, 1, 12, 0, 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record(n: int, gpu_j=300.0, cpu_j=20.0, ram_j=5.0, tokens=()) -> IntervalRecord:
    return IntervalRecord(
        record_id=f"h1:1:1:{n}", use_case="chat", host="h1", start=T0 + timedelta(seconds=n),
        end=T0 + timedelta(seconds=n + 1), source="monitor", gpu_j=gpu_j, cpu_j=cpu_j, ram_j=ram_j,
        gpu_method="measured:nvml-counter" if gpu_j is not None else None, cpu_method="modelled:cpu-load-tdp",
        ram_method="modelled:ram", tokens=tuple(tokens),
    )


def scrape(url: str) -> dict[str, list]:
    """Samples by name, each (labels, value)."""
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_parse_listen():
    assert parse_listen("9464") == ("127.0.0.1", 9464)
    assert parse_listen("0.0.0.0:9464") == ("0.0.0.0", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    assert parse_listen("localhost:80") == ("localhost", 80)
    for bad in ("", "host:", ":", "65536", "a:b", "1:2:3", "[::1]", "[::1]9000", "x:-1", "x: 1"):
        with pytest.raises(ValidationError, match="bad --listen"):
            parse_listen(bad)


def test_counters_follow_the_spooled_records_and_resume_after_a_restart(tmp_path):
    spool = tmp_path / "db.duckdb.spool"
    exporter = Exporter("127.0.0.1:0", spool, "chat").start()
    try:
        exporter.add(_record(0, tokens=[TokenCount("chat", "m", 40, 100, 2)]))
        exporter.add(_record(1, gpu_j=None, tokens=[TokenCount("chat", "m", 10, 20, 1), TokenCount("code", "c", 1, 2, 1)]))
        samples = scrape(exporter.url)
    finally:
        exporter.close()
    energy = {(s["component"], s["method"]): v for s, v in samples["footprint_energy_joules_total"]}
    assert energy == {("gpu", "measured:nvml-counter"): 300.0, ("cpu", "modelled:cpu-load-tdp"): 40.0,
                      ("ram", "modelled:ram"): 10.0}  # an unmeasured GPU adds no sample, not a 0
    assert {frozenset(s) for s, _ in samples["footprint_energy_joules_total"]} == {
        frozenset({"use_case", "component", "method", "host"})}
    tokens = {(s["use_case"], s["model"], s["kind"]): v for s, v in samples["footprint_tokens_total"]}
    assert tokens == {("chat", "m", "input"): 50, ("chat", "m", "output"): 120, ("code", "c", "input"): 1,
                      ("code", "c", "output"): 2}
    assert samples["footprint_intervals_total"] == [({"use_case": "chat", "host": "h1"}, 2.0)]
    assert not any(name.endswith("_created") for name in samples)

    # A new process resumes from the totals file: Prometheus sees the counters go on, not reset.
    again = Exporter("127.0.0.1:0", spool, "chat").start()
    try:
        again.add(_record(2))
        resumed = scrape(again.url)
    finally:
        again.close()
    energy = {s["component"]: v for s, v in resumed["footprint_energy_joules_total"]}
    assert energy == {"gpu": 600.0, "cpu": 60.0, "ram": 15.0}
    assert resumed["footprint_intervals_total"][0][1] == 3.0
    assert oct(totals_path(spool, "chat").stat().st_mode & 0o777) == "0o600"


def test_the_gauges_date_the_counters_and_a_restart_moves_the_start(tmp_path):
    """start_time: the first interval this run counted; counted_until: the last one's end (unix s, same scrape)."""
    from footprint.units import to_unix

    spool = tmp_path / "db.duckdb.spool"
    exporter = Exporter("127.0.0.1:0", spool, "chat").start()
    try:
        exporter.add(_record(0))
        exporter.add(_record(1))
        first = scrape(exporter.url)
    finally:
        exporter.close()
    assert first["footprint_exporter_start_time_seconds"] == [({"use_case": "chat", "host": "h1"}, to_unix(T0))]
    assert first["footprint_exporter_counted_until_seconds"] == [({"use_case": "chat", "host": "h1"}, to_unix(T0) + 2)]
    again = Exporter("127.0.0.1:0", spool, "chat").start()  # restarted: counters resume, the run starts anew
    try:
        again.add(_record(5))
        second = scrape(again.url)
    finally:
        again.close()
    assert second["footprint_exporter_start_time_seconds"][0][1] == to_unix(T0) + 5
    assert second["footprint_exporter_counted_until_seconds"][0][1] == to_unix(T0) + 6
    assert second["footprint_intervals_total"][0][1] == 3.0


def test_a_lost_or_damaged_totals_file_restarts_at_zero(tmp_path):
    spool = tmp_path / "s"
    spool.mkdir()
    totals_path(spool, "chat").write_text("{not json")
    exporter = Exporter("127.0.0.1:0", spool, "chat").start()
    try:
        exporter.add(_record(0))
        assert exporter.snapshot()[2] == {("chat", "h1"): 1}
    finally:
        exporter.close()


def test_one_exporting_monitor_per_use_case_and_port(tmp_path):
    first = Exporter("127.0.0.1:0", tmp_path / "s", "chat").start()
    try:
        with pytest.raises(ListenError, match="port is in use"):
            Exporter(f"127.0.0.1:{first.port}", tmp_path / "other", "chat").start()
        with pytest.raises(ListenError, match="already exports this use case"):
            Exporter("127.0.0.1:0", tmp_path / "s", "chat").start()
        Exporter("127.0.0.1:0", tmp_path / "s", "code").start().close()  # another use case is fine
    finally:
        first.close()
    Exporter("127.0.0.1:0", tmp_path / "s", "chat").start().close()  # the lock went with the process' exporter


def test_exporting_without_listen_serves_nothing(tmp_path):
    with exporting(None, db_path=tmp_path / "db.duckdb", use_case="chat") as hook:
        assert hook is None
    assert not (tmp_path / "db.duckdb.spool").exists()


def test_cli_rejects_bad_listen_in_one_line(invoke):
    assert invoke("usecase", "add", "chat", "--name", "C", "--team", "T", "--status", "pilot",
                  "--deployment", "on-prem").exit_code == 0
    result = invoke("monitor", "--use-case", "chat", "--listen", "127.0.0.1:notaport")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: bad --listen '127.0.0.1:notaport': the port must be a number from 0 to 65535"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = invoke("monitor", "--use-case", "chat", "--listen", str(busy.getsockname()[1]))
    assert result.exit_code == 1
    assert "the port is in use" in result.output and "Traceback" not in result.output


@pytest.fixture
def env(db_path, tmp_path_factory):
    environ = {**os.environ, "FOOTPRINT_DB": str(db_path),
               "FOOTPRINT_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "footprint-cpu-cache")}
    environ.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([EXE, "usecase", "add", "chat", "--name", "Chat", "--team", "Data", "--status", "production",
                    "--deployment", "on-prem"], env=environ, check=True, capture_output=True)
    return environ


def _wait_for(url: str, deadline_s: float = 30.0) -> dict:
    deadline = time.time() + deadline_s
    while True:
        try:
            samples = scrape(url)
            if samples.get("footprint_intervals_total"):
                return samples
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError(f"{url} served no interval within {deadline_s} s")
        time.sleep(0.2)


def test_monitor_listen_serves_what_its_spool_holds_and_resumes(env, db_path):
    """A real `monitor --listen`: the counters equal the spool's records, through a restart."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    for run in range(2):
        proc = subprocess.Popen([EXE, "monitor", "--use-case", "chat", "--interval", "0.5", "--listen", str(port)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(url)
            time.sleep(1.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert f"serving http://127.0.0.1:{port}/metrics" in err
    done = subprocess.run([EXE, "measurements", "--json"], env=env, capture_output=True, text=True, check=True)
    rows = [r for r in json.loads(done.stdout) if r["source"] == "monitor"]
    kept = Totals(totals_path(Path(str(db_path) + ".spool"), "chat"))  # what a third start resumes from
    kept.load()
    assert kept.intervals == {("chat", rows[0]["host"]): len(rows)}
    cpu = sum(v for (uc, comp, _m, _h), v in kept.energy_j.items() if comp == "cpu")
    assert cpu == pytest.approx(sum(r["cpu_j"] for r in rows), rel=1e-9)


def _client_exposition(snapshot) -> str:
    """What prometheus_client writes for the same families (the exporter's format before it rendered its own)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    energy, tokens, intervals, started, until = snapshot
    specs = [(CounterMetricFamily, "footprint_energy_joules", "Energy measured on this host and spooled, in joules.",
              ["use_case", "component", "method", "host"], energy),
             (CounterMetricFamily, "footprint_tokens", "Tokens served, per use case and model (counts only).",
              ["use_case", "model", "kind"], tokens),
             (CounterMetricFamily, "footprint_intervals", "Measured intervals spooled.", ["use_case", "host"], intervals),
             (GaugeMetricFamily, "footprint_exporter_start_time_seconds",
              "Start of the first interval this run counted (unix s).", ["use_case", "host"], started),
             (GaugeMetricFamily, "footprint_exporter_counted_until_seconds",
              "End of the last interval counted (unix s).", ["use_case", "host"], until)]

    class Collector:
        def collect(self):
            for cls, name, text, labels, values in specs:
                family = cls(name, text, labels=labels)
                for key, value in sorted(values.items()):
                    family.add_metric(list(key), value)
                yield family

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry).decode()


def test_the_exposition_is_prometheus_clients_byte_for_byte_and_escapes_labels():
    from footprint.exporter import render_metrics

    odd = 'a "quoted" back\\slash\nnewline'
    snapshot = ({("chat", "gpu", "measured:nvml-counter", "h1"): 1234.5, ("chat", "cpu", "modelled:cpu-load-tdp", "h1"): 7.0,
                 (odd, "ram", "modelled:ram", "h2"): 0.1},
                {("chat", "llama-3.1-8b", "output"): 40, ("chat", "llama-3.1-8b", "input"): 10},
                {("chat", "h1"): 3},
                {("chat", "h1"): 1796662668.692911, ("big", "h1"): 12345678.0, ("inf", "h1"): float("inf")},
                {("chat", "h1"): 1796662677.693192})
    text = render_metrics(snapshot)
    assert text == _client_exposition(snapshot)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("footprint_energy_joules_total",
                    (("component", "ram"), ("host", "h2"), ("method", "modelled:ram"), ("use_case", odd)))] == 0.1
    assert samples[("footprint_tokens_total", (("kind", "output"), ("model", "llama-3.1-8b"), ("use_case", "chat")))] == 40
    assert samples[("footprint_exporter_counted_until_seconds", (("host", "h1"), ("use_case", "chat")))] == 1796662677.693192
    assert render_metrics(({}, {}, {}, {}, {})) == _client_exposition(({}, {}, {}, {}, {}))


def test_a_silent_client_does_not_stop_the_scrapes(tmp_path, monkeypatch):
    import footprint.exporter as exporter_module

    monkeypatch.setattr(exporter_module, "REQUEST_TIMEOUT_S", 0.5)
    exporter = Exporter(f"127.0.0.1:{_free_port()}", tmp_path, "chat").start()
    try:
        exporter.add(_record(0))
        with socket.create_connection(("127.0.0.1", exporter.port)):  # connects, never sends a request
            began = time.monotonic()
            samples = scrape(exporter.url)
        assert time.monotonic() - began < 3.0
        assert samples["footprint_intervals_total"] == [({"use_case": "chat", "host": "h1"}, 1.0)]
    finally:
        exporter.close()
