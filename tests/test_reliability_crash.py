"""Crash safety: SIGKILLed monitors lose at most the interval in progress, nothing counts twice, no torn
or corrupt spool blocks the next drain; a database held by another process loses nothing.

FOOTPRINT_TEST_KILLS sets how many monitors are killed (default 50).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from footprint import spool
from reliability_helpers import EXE, add_use_case, base_env, footprint, one_line_error, wait_until_spooled

INTERVAL_S = 0.2
KILLS = int(os.environ.get("FOOTPRINT_TEST_KILLS", "50"))
PARALLEL = 5  # monitors alive at once (each is killed at its own random moment)
# The interval in progress, plus the time to read the instruments and fsync, plus scheduling delay
# on a loaded 2-core CI machine.
LOSS_SLACK_S = 0.6


@pytest.fixture
def env(tmp_path):
    environ = base_env(tmp_path / "data" / "fp.duckdb", tmp_path / "cache")
    add_use_case(environ)
    # Warm the CPU-profile cache once, so that each monitor starts in well under a second.
    subprocess.run([sys.executable, "-m", "footprint.collectors.cpu"], env=environ, check=True, capture_output=True)
    return environ


def _spool_contents(db_path) -> tuple[dict[str, spool.IntervalRecord], int]:
    records, skipped = {}, 0
    for segment in spool.list_segments(spool.spool_dir(db_path)):
        found, bad = spool.read_segment(segment)
        skipped += bad
        for record in found:
            assert record.record_id not in records or records[record.record_id] == record
            records[record.record_id] = record
    return records, skipped


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


def _energy(record) -> float:
    return sum(v for v in (record.gpu_j, record.cpu_j, record.ram_j) if v is not None)


def _tear_last_line(path) -> bool:
    """Cut a segment inside its last line, as a SIGKILL inside write() would leave it."""
    data = path.read_bytes()
    if data.count(b"\n") < 2:
        return False
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1 + random.randint(1, 40)
    path.write_bytes(data[:cut])
    return True


def test_sigkill_monitors_at_random_moments(env, tmp_path):
    from footprint.store import open_store

    db_path = tmp_path / "data" / "fp.duckdb"
    rng = random.Random(int(os.environ.get("FOOTPRINT_TEST_SEED", "20261122")))
    killed_at: dict[int, float] = {}
    torn = drains_while_running = 0
    started = time.monotonic()
    spool_dir = spool.spool_dir(db_path)
    while len(killed_at) < KILLS:
        batch = min(PARALLEL, KILLS - len(killed_at))
        procs = [subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", str(INTERVAL_S)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(batch)]
        # Each dies at its own random moment: a fifth during start-up, the rest after their first
        # spooled interval, at a random point of a later interval (between records or while flushing).
        plan = {p.pid: (None if rng.random() < 0.8 else time.monotonic() + rng.uniform(0.0, 1.5)) for p in procs}
        alive = list(procs)
        give_up = time.monotonic() + 30
        while alive:
            now = time.monotonic()
            names = os.listdir(spool_dir) if spool_dir.exists() else []
            for proc in list(alive):
                if plan[proc.pid] is None and (any(f"_{proc.pid}_" in n for n in names) or now > give_up):
                    plan[proc.pid] = now + rng.uniform(0.0, 4 * INTERVAL_S)
                if plan[proc.pid] is not None and now >= plan[proc.pid]:
                    killed_at[proc.pid] = time.time()
                    proc.send_signal(signal.SIGKILL)
                    alive.remove(proc)
            time.sleep(0.01)
        for proc in procs:
            proc.wait(timeout=10)
        # Some segments are torn mid-line (a kill inside write()).
        for segment in spool.list_segments(spool.spool_dir(db_path)):
            if segment.finished and rng.random() < 0.2 and _tear_last_line(segment.path):
                torn += 1
        if rng.random() < 0.3:  # a drain between batches, with live monitors about
            with open_store(db_path):
                drains_while_running += 1
    # Corrupt leftovers: binary junk in a dead process's segment, a non-UTF-8 line, a foreign file.
    spool_dir.mkdir(exist_ok=True)
    (spool_dir / f"{spool._safe_host(spool.hostname())}_999999_1_1.done").write_bytes(
        os.urandom(300) + b"\n\xff\xfe{not json\n" + b'{"record_id": 5}\n')
    (spool_dir / "stray.tmp").write_bytes(b"junk")

    pending, _ = _spool_contents(db_path)
    with open_store(db_path) as store:
        drained = store.drain_result
        rows = store.execute("SELECT record_id, start_ts, end_ts, coalesce(gpu_j, 0) + coalesce(cpu_j, 0) + "
                             "coalesce(ram_j, 0) FROM measurements WHERE source = 'monitor'").fetchall()
    assert drained.lines_skipped >= 3  # the junk lines were skipped, not fatal
    assert spool.list_segments(spool_dir) == []  # every finished segment ingested and removed
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids))  # nothing counted twice
    stored = {r[0]: r for r in rows}
    assert set(pending) <= set(stored)  # everything that was spooled reached the database
    assert sum(r[3] for r in stored.values() if r[0] in pending) == pytest.approx(sum(map(_energy, pending.values())))

    # Per killed process: its records are seq 1..n, contiguous in time, and the last one ends no more
    # than one interval (+ slack) before the kill.
    by_pid: dict[int, list] = defaultdict(list)
    for record_id, start, end, _ in rows:
        host, pid, start_ns, seq = record_id.rsplit(":", 3)
        by_pid[int(pid)].append((int(seq), start, end))
    losses = []
    for pid, kill_ts in killed_at.items():
        records = sorted(by_pid.get(pid, []))
        if not records:
            continue  # killed during start-up, before its first interval ended
        assert [s for s, _, _ in records] == list(range(1, len(records) + 1)), pid
        for (_, _, end), (_, start, _) in zip(records, records[1:]):
            assert end == start, pid
        lost = (_utc(kill_ts) - records[-1][2]).total_seconds()
        losses.append(lost)
        assert lost <= INTERVAL_S + LOSS_SLACK_S, (pid, lost)
    assert len(losses) >= KILLS // 2  # most monitors were killed after recording something
    figures = {"kills": KILLS, "monitors_with_records": len(losses), "records": len(rows),
               "segments_torn": torn, "lines_skipped": drained.lines_skipped,
               "drains_while_running": drains_while_running, "max_loss_s": round(max(losses), 3),
               "seconds": round(time.monotonic() - started, 1)}
    print("\nreliability-crash " + json.dumps(figures))


def test_a_held_database_delays_commands_with_a_clear_message_and_loses_nothing(env, tmp_path):
    db_path = tmp_path / "data" / "fp.duckdb"
    footprint("measurements", env=env)  # the database exists
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db_path)!r}); "
                               "print('held', flush=True); sys.stdin.readline()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        locked = {**env, "FOOTPRINT_LOCK_TIMEOUT": "0.5"}
        monitor = subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", "0.2"], env=locked,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_spooled(env, monitor, records=3)  # a fixed sleep fails on a loaded machine
        # A command that needs the database waits for the timeout, then says why in one line.
        begin = time.monotonic()
        done = footprint("measurements", "--json", env={**env, "FOOTPRINT_LOCK_TIMEOUT": "1"})
        waited = time.monotonic() - begin
        assert done.returncode == 1
        assert one_line_error(done.stderr), done.stderr
        assert "locked" in done.stderr and "FOOTPRINT_LOCK_TIMEOUT" in done.stderr
        assert waited >= 1.0
        spooled_while_held, _ = _spool_contents(db_path)
        assert len(spooled_while_held) >= 3  # the collector kept spooling
        # A command started while the database is held, released 1 s later, waits and succeeds.
        waiting = subprocess.Popen([EXE, "measurements", "--json"], env={**env, "FOOTPRINT_LOCK_TIMEOUT": "30"},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert len(json.loads(out)) >= len(spooled_while_held)
    monitor.send_signal(signal.SIGTERM)
    _, monitor_err = monitor.communicate(timeout=30)
    assert monitor.returncode == 0, monitor_err
    assert "locked" in monitor_err and "Traceback" not in monitor_err
    spooled, _ = _spool_contents(db_path)
    done = footprint("measurements", "--json", env=env)
    assert done.returncode == 0, done.stderr
    stored = {r["record_id"] for r in json.loads(done.stdout)}
    assert set(spooled_while_held) | set(spooled) <= stored
    assert spool.list_segments(spool.spool_dir(db_path)) == []
