"""Concurrency: 4 monitors + 4 report runs (or `measurements --json` where report is not built) + an ingest
loop on one database for 20 s (FOOTPRINT_TEST_CONCURRENCY_S): every interval recorded exactly once, every
command succeeds or fails with a one-line lock message, no traceback anywhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime

from reliability_helpers import EXE, add_use_case, base_env, footprint, has_command

DURATION_S = float(os.environ.get("FOOTPRINT_TEST_CONCURRENCY_S", "20"))
INTERVAL_S = 0.5


def test_monitors_reports_and_ingest_share_one_database(tmp_path):
    env = base_env(tmp_path / "data" / "fp.duckdb", tmp_path / "cache")
    add_use_case(env)
    subprocess.run([sys.executable, "-m", "footprint.collectors.cpu"], env=env, check=True, capture_output=True)
    with_report = has_command("report")
    with_ingest = has_command("ingest")
    if with_report:
        assert footprint("demo", env=env).returncode == 0  # the reports have something to report
    reader = ["report", "--format", "json", "--from", "2000-01-01", "--to", "2100-01-01"] if with_report else \
        ["measurements", "--json"]
    env = {**env, "FOOTPRINT_LOCK_TIMEOUT": "60"}

    monitors = [subprocess.Popen([EXE, "monitor", "--use-case", "job", "--interval", str(INTERVAL_S)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION_S
    ingested_rows = [0]

    def loop(kind: str, number: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            if kind == "ingest":
                path = tmp_path / f"usage-{i}.csv"
                rows = [f"2026-07-01T{(i % 24):02d}:{j % 60:02d}:00Z,job,gpt-4o,{i * 1000 + j},{j}" for j in range(50)]
                path.write_text("timestamp,use_case,model,input_tokens,output_tokens\n" + "\n".join(rows) + "\n")
                done = footprint("ingest", str(path), env=env, timeout=120)
                if done.returncode == 0:
                    ingested_rows[0] += len(rows)
            else:
                done = footprint(*reader, env=env, timeout=120)
                if done.returncode == 0:
                    json.loads(done.stdout)  # complete, valid output
            with lock:
                outcomes.append((kind, done.returncode, done.stderr))

    threads = [threading.Thread(target=loop, args=("read", n)) for n in range(4)]
    if with_ingest:
        threads.append(threading.Thread(target=loop, args=("ingest", 0)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summaries = []
    for proc in monitors:
        proc.send_signal(signal.SIGTERM)
    for proc in monitors:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        summaries.append((proc.pid, int(re.search(r"monitor stopped: (\d+) interval", err).group(1))))

    for kind, code, err in outcomes:
        assert "Traceback" not in err, (kind, err)
        assert code == 0 or (code == 1 and re.fullmatch(r"error: [^\n]*locked[^\n]*\n", err)), (kind, code, err)
    assert sum(1 for _, code, _ in outcomes if code == 0) >= len(outcomes) // 2

    done = footprint("measurements", "--json", env=env)
    assert done.returncode == 0, done.stderr
    rows = [r for r in json.loads(done.stdout) if r["source"] == "monitor"]
    assert len({r["record_id"] for r in rows}) == len(rows)
    by_pid = defaultdict(list)
    for row in rows:
        _, pid, _, seq = row["record_id"].rsplit(":", 3)
        by_pid[int(pid)].append((int(seq), row["start"], row["end"]))
    for pid, spooled in summaries:
        records = sorted(by_pid[pid])
        assert len(records) == spooled, (pid, len(records), spooled)  # every interval, exactly once
        assert [s for s, _, _ in records] == list(range(1, spooled + 1))
        for (_, _, end), (_, start, _) in zip(records, records[1:]):
            assert end == start
        # (a monitor whose use-case check waited for the lock records that wait as one longer interval)
        covered = (datetime.fromisoformat(records[-1][2]) - datetime.fromisoformat(records[0][1])).total_seconds()
        assert covered >= DURATION_S * 0.5, (pid, covered)
    if with_ingest:
        usage = footprint("usage", "--json", "--use-case", "job", env=env)
        assert usage.returncode == 0, usage.stderr
        assert sum(r["requests"] for r in json.loads(usage.stdout)) == ingested_rows[0]
    counts = {k: sum(1 for o in outcomes if o[0] == k) for k in ("read", "ingest")}
    print("\nreliability-concurrency " + json.dumps({
        "seconds": DURATION_S, "monitors": 4, "intervals": sum(s for _, s in summaries), "reader": reader[0],
        "reads": counts["read"], "ingests": counts["ingest"], "ingested_rows": ingested_rows[0],
        "lock_timeouts": sum(1 for o in outcomes if o[1] == 1)}))
