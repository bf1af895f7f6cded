"""The spool: per-process segments, exactly-once drain by open_store, torn lines, live segments."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest

from footprint import spool
from footprint.measurements import list_measurements
from footprint.records import IntervalRecord, TokenCount
from footprint.store import open_store

T0 = datetime(2026, 7, 1, 12, 0, 0)


def make_record(writer, i: int = 0, **fields) -> IntervalRecord:
    base = dict(
        record_id=writer.new_record_id(), use_case="uc", host=writer.host, start=T0 + timedelta(seconds=i),
        end=T0 + timedelta(seconds=i + 1), source="monitor", cpu_j=1.5, ram_j=20.0,
        cpu_method="modelled:cpu-load-tdp", ram_method="modelled:ram",
    )
    base.update(fields)
    return IntervalRecord(**base)


def count(store) -> int:
    return store.execute("SELECT count(*) FROM measurements").fetchone()[0]


def test_writer_files_are_owner_only_and_closed_segment_is_drained_once(db_path):
    writer = spool.SpoolWriter(db_path)
    tokens = (TokenCount("uc", "m1", 10, 5, 1), TokenCount("other", "m2", 3, 4, 2))
    writer.append(make_record(writer, 0, shared=True, tokens=tokens, input_tokens=13, output_tokens=9, requests=3))
    writer.append(make_record(writer, 1))
    writer.flush()
    live = writer.path
    assert live.suffix == ".live"
    assert stat.S_IMODE(live.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.spool_dir(db_path).stat().st_mode) == 0o700
    writer.close()
    assert writer.path.suffix == ".done" and not live.exists()

    with open_store(db_path) as store:
        assert store.drain_result.records_added == 2
        assert store.drain_result.segments_finished == 1
        assert count(store) == 2
        rows = list_measurements(store)
        split = store.execute("SELECT use_case, model, input_tokens FROM interval_tokens ORDER BY model").fetchall()
    assert rows[0]["shared"] is True and rows[0]["input_tokens"] == 13
    assert split == [("uc", "m1", 10), ("other", "m2", 3)]
    assert list(spool.spool_dir(db_path).iterdir()) == []
    with open_store(db_path) as store:  # nothing left, nothing doubled
        assert count(store) == 2 and store.drain_result.records_read == 0


def test_torn_last_line_is_skipped_and_counted(db_path):
    writer = spool.SpoolWriter(db_path)
    for i in range(3):
        writer.append(make_record(writer, i))
    writer.close()
    path = writer.path
    data = path.read_bytes()
    path.write_bytes(data + data.splitlines(keepends=True)[0][:37])  # a kill in the middle of a write
    with open_store(db_path) as store:
        assert count(store) == 3
        assert store.drain_result.lines_skipped == 1
    assert not path.exists()


def test_bad_lines_never_block_the_drain(db_path):
    directory = spool.spool_dir(db_path)
    directory.mkdir(parents=True, mode=0o700)
    writer = spool.SpoolWriter(db_path)
    good = spool.encode_record(make_record(writer, 0))
    negative = spool.encode_record(make_record(writer, 1)).replace(b'"cpu_j":1.5', b'"cpu_j":-4')
    (directory / f"{spool._safe_host(writer.host)}_1_1_1.done").write_bytes(good + b"{not json}\n" + negative + b"[]\n")
    with open_store(db_path) as store:
        assert count(store) == 1
        assert store.drain_result.lines_skipped == 3


def test_live_segment_of_a_running_writer_is_ingested_but_kept(db_path):
    writer = spool.SpoolWriter(db_path)
    writer.append(make_record(writer, 0))
    writer.flush()
    with open_store(db_path) as store:
        assert count(store) == 1
        assert store.drain_result.segments_live == 1
    assert writer.path.exists()
    writer.append(make_record(writer, 1))
    writer.close()
    with open_store(db_path) as store:
        assert count(store) == 2  # the first record, read twice, is stored once
    assert not writer.path.exists()


def test_segment_of_a_dead_process_is_finished(db_path, tmp_path):
    script = textwrap.dedent(f"""
        import os
        from datetime import datetime
        from footprint.spool import SpoolWriter
        from footprint.records import IntervalRecord
        w = SpoolWriter({str(db_path)!r})
        for i in range(4):
            w.append(IntervalRecord(record_id=w.new_record_id(), use_case="uc", host=w.host,
                start=datetime(2026, 7, 1), end=datetime(2026, 7, 1, 0, 0, i + 1), source="run", cpu_j=1.0))
            w.flush()
        os.write(w._fd, b'{{"record_id": "torn')
        os._exit(0)  # no close(): like a SIGKILL
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    segments = spool.list_segments(spool.spool_dir(db_path))
    assert len(segments) == 1 and segments[0].path.suffix == ".live" and segments[0].finished
    with open_store(db_path) as store:
        assert count(store) == 4
        assert store.drain_result.lines_skipped == 1
        assert store.drain_result.segments_finished == 1


def test_rotation_keeps_segments_small_and_ids_unique(db_path):
    writer = spool.SpoolWriter(db_path, rotate_records=3)
    other = spool.SpoolWriter(db_path)
    for i in range(7):
        writer.append(make_record(writer, i))
        writer.flush()
    other.append(make_record(other, 0))
    other.close()
    finished = [s for s in spool.list_segments(writer.dir) if s.path.suffix == ".done"]
    assert len(finished) == 3  # two rotated segments of this writer, one closed of the other
    writer.close()
    with open_store(db_path) as store:
        assert count(store) == 8
    ids = [writer.new_record_id(), other.new_record_id()]
    assert ids[0] != ids[1] and ids[0].startswith(f"{writer.host}:{os.getpid()}:")


def test_record_round_trip():
    writer = spool.SpoolWriter("/nonexistent/x.duckdb")
    record = make_record(writer, 0, gpu_j=12.25, gpu_method="measured:nvml-counter", gpu_devices="GPU-a,GPU-b",
                         gpu_low_confidence=True, tokens=(TokenCount("uc", "", 1, 2, 0),), input_tokens=1,
                         output_tokens=2, requests=None)
    line = spool.encode_record(record)
    assert line.endswith(b"\n") and json.loads(line)["start"] == "2026-07-01T12:00:00"
    assert spool.decode_record(line) == record


def test_spool_state_for_doctor(db_path):
    writer = spool.SpoolWriter(db_path)
    writer.append(make_record(writer, 0))
    writer.flush()
    state = spool.spool_state(db_path)
    assert state["segments_live"] == 1 and state["records_pending"] == 1 and state["mode"] == "0o700"
    writer.close()


@pytest.mark.parametrize("patch", [
    {"cpu_j": "12"}, {"cpu_j": True}, {"host": 5}, {"use_case": 3}, {"shared": "yes"}, {"input_tokens": -1},
    {"input_tokens": 1.5}, {"tokens": [{"use_case": "uc", "model": "m", "input_tokens": "x", "output_tokens": 1, "requests": 0}]},
    {"tokens": [{"use_case": "uc"}]}, {"start": "not a time"}, {"record_id": ""},
])
def test_wrongly_typed_lines_are_skipped(db_path, patch):
    writer = spool.SpoolWriter(db_path)
    data = json.loads(spool.encode_record(make_record(writer, 0)))
    data.update(patch)
    writer.dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    good = spool.encode_record(make_record(writer, 1))
    (writer.dir / f"{spool._safe_host(writer.host)}_1_1_1.done").write_bytes(json.dumps(data).encode() + b"\n" + good)
    with open_store(db_path) as store:
        assert count(store) == 1 and store.drain_result.lines_skipped == 1
