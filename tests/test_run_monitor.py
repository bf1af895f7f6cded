"""`footprint run` and `footprint monitor` as real processes: passthrough, signals, spool, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from footprint import spool

EXE = str(Path(sys.executable).parent / "footprint")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "footprint-cpu-cache"  # shared by the collector tests


@pytest.fixture
def env(db_path, cache_dir):
    environ = {**os.environ, "FOOTPRINT_DB": str(db_path), "FOOTPRINT_CACHE_DIR": str(cache_dir)}
    environ.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([EXE, "usecase", "add", "job", "--name", "Job", "--team", "Data", "--status", "production",
                    "--deployment", "on-prem"], env=environ, check=True, capture_output=True)
    return environ


def footprint(*args, env, **kwargs):
    return subprocess.run([EXE, *args], env=env, capture_output=True, **kwargs)


def measurements(env, *extra):
    done = footprint("measurements", "--json", *extra, env=env, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_run_passes_streams_and_exit_code_through(env):
    child = "import sys; data = sys.stdin.read(); print(data.upper()); print('to-err', file=sys.stderr); sys.exit(7)"
    done = footprint("run", "--use-case", "job", "--", sys.executable, "-c", child, env=env, input=b"hello")
    assert done.returncode == 7
    assert done.stdout == b"HELLO\n"
    assert b"to-err\n" in done.stderr
    rows = measurements(env)
    assert len(rows) == 1
    row = rows[0]
    assert row["use_case"] == "job" and row["source"] == "run" and row["host"] == spool.hostname()
    assert row["cpu_j"] > 0 and row["ram_j"] > 0
    assert row["cpu_method"] in ("measured:rapl", "modelled:cpu-load-tdp", "modelled:constant")
    assert row["ram_method"] == "modelled:ram"
    assert row["gpu_low_confidence"] is True  # well under a second
    for key in ("use_case", "start", "end", "gpu_j", "cpu_j", "ram_j", "gpu_method", "cpu_method", "ram_method",
                "input_tokens", "output_tokens", "requests", "host"):
        assert key in row
    assert "T" in row["start"]  # ISO 8601


def test_run_records_one_interval_per_interval_for_long_jobs(env):
    done = footprint("run", "--use-case", "job", "--interval", "0.4", "--", sys.executable, "-c",
                     "import time; time.sleep(1.5)", env=env)
    assert done.returncode == 0, done.stderr
    rows = measurements(env)
    assert len(rows) >= 4
    for before, after in zip(rows, rows[1:]):
        assert before["end"] == after["start"]  # contiguous intervals, nothing counted twice
    assert all(r["gpu_low_confidence"] for r in rows)  # intervals under 1 s are flagged


def test_run_restores_the_users_umask_for_the_child(env):
    done = subprocess.run(f"umask 022; exec {EXE} run --use-case job -- sh -c umask", shell=True, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0022"


def test_run_forwards_sigterm_to_the_child(env):
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
             "print('ready', flush=True)\n"
             "time.sleep(30)\n")
    proc = subprocess.Popen([EXE, "run", "--use-case", "job", "--", sys.executable, "-c", child], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
    assert len(measurements(env)) == 1


def test_run_dies_of_the_childs_signal(env):
    done = footprint("run", "--use-case", "job", "--", "sh", "-c", "kill -TERM $$", env=env)
    assert done.returncode == -signal.SIGTERM
    assert len(measurements(env)) == 1


def test_run_errors(env):
    done = footprint("run", "--use-case", "nope", "--", "true", env=env, text=True)
    assert done.returncode == 1 and "unknown use case 'nope'" in done.stderr and "Traceback" not in done.stderr
    done = footprint("run", "--use-case", "job", "--", "/no/such/command", env=env, text=True)
    assert done.returncode == 127 and "command not found" in done.stderr
    done = footprint("run", "--use-case", "job", env=env, text=True)
    assert done.returncode == 2
    done = footprint("run", "--use-case", "job", "--interval", "0", "--", "true", env=env, text=True)
    assert done.returncode == 1 and "--interval" in done.stderr


def test_monitor_stops_cleanly_on_sigterm_and_sigint(env, db_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        before = len(_spooled_ids(db_path))
        proc = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", "0.5"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Signal once it has spooled two intervals (a fixed sleep fails on a loaded machine).
        deadline = time.monotonic() + 30
        while len(_spooled_ids(db_path)) < before + 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert b"interval(s) spooled" in err
    assert not [s for s in spool.list_segments(spool.spool_dir(db_path)) if not s.finished]
    rows = [r for r in measurements(env) if r["source"] == "monitor"]
    assert len(rows) >= 4


def _spooled_ids(db_path) -> set[str]:
    ids = set()
    for segment in spool.list_segments(spool.spool_dir(db_path)):
        records, _ = spool.read_segment(segment)
        ids.update(r.record_id for r in records)
    return ids


def test_sigkilled_monitor_loses_at_most_one_interval_and_nothing_twice(env, db_path):
    """SIGKILL a real monitor several times; whatever its spool held reaches the database exactly once."""
    from footprint.store import open_store

    expected: set[str] = set()
    for round_ in range(3):
        proc = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", "0.3"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while len(_spooled_ids(db_path) - expected) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        if round_ == 1:  # open the database while it runs: its live segment is ingested, not removed
            with open_store(db_path) as store:
                assert store.drain_result.segments_live == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        expected |= _spooled_ids(db_path)
    assert len(expected) >= 9
    with open_store(db_path) as store:
        stored = [r[0] for r in store.execute("SELECT record_id FROM measurements WHERE source = 'monitor'").fetchall()]
        assert store.drain_result.segments_finished >= 1
    assert sorted(stored) == sorted(expected)  # every spooled record, once
    assert spool.list_segments(spool.spool_dir(db_path)) == []
    with open_store(db_path) as store:
        assert store.execute("SELECT count(*) FROM measurements").fetchone()[0] == len(expected)


def test_measurements_cli_filters_and_json(invoke, store):
    from datetime import datetime

    from footprint.measurements import insert_records
    from footprint.records import IntervalRecord

    insert_records(store, [
        IntervalRecord("a", "job", "h", datetime(2026, 7, 1, 10), datetime(2026, 7, 1, 10, 0, 10), "run", cpu_j=5.0),
        IntervalRecord("b", "other", "h", datetime(2026, 7, 2, 10), datetime(2026, 7, 2, 10, 0, 10), "run", gpu_j=9.0),
    ])
    store.close()
    result = invoke("measurements", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["record_id"] for r in rows] == ["a", "b"]
    assert rows[0]["start"] == "2026-07-01T10:00:00" and rows[0]["gpu_j"] is None
    assert [r["record_id"] for r in json.loads(invoke("measurements", "--json", "--use-case", "other").stdout)] == ["b"]
    assert [r["record_id"] for r in json.loads(invoke("measurements", "--json", "--from", "2026-07-02T00:00:00Z").stdout)] == ["b"]
    assert [r["record_id"] for r in json.loads(invoke("measurements", "--json", "--to", "2026-07-02").stdout)] == ["a"]
    table = invoke("measurements")
    assert table.exit_code == 0 and "2026-07-01T10:00:00" in table.stdout and "5.0" in table.stdout
    bad = invoke("measurements", "--from", "yesterday")
    assert bad.exit_code == 1


def test_run_survives_a_locked_database(env, db_path):
    """Another process holds the database: the job still runs, its record waits in the spool."""
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db_path)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        locked_env = {**env, "FOOTPRINT_LOCK_TIMEOUT": "0.5"}
        done = footprint("run", "--use-case", "job", "--", "sh", "-c", "echo ran", env=locked_env, text=True)
        assert done.returncode == 0 and done.stdout == "ran\n"
        assert "locked" in done.stderr and "use case not checked" in done.stderr
    finally:
        holder.kill()
        holder.wait()
    assert len(spool.list_segments(spool.spool_dir(db_path))) == 1
    assert len(measurements(env)) == 1
