"""The spool: collectors append interval records to files; commands that open the database ingest them.

DuckDB allows one writing process per file, so a collector (`run`, `monitor`, `track`) never holds
the database. Each collector process writes its own *segment* in `<db>.spool/` (directory 0700,
files 0600): one JSON line per IntervalRecord, written at every `flush()` and fsynced at most every
`FSYNC_EVERY_S` (a killed collector loses nothing written; a host crash at most that much).

Segment names: `<host>_<pid>_<start-ns>_<part>.live` while written, renamed to `.done` by `close()`
(and on rotation, every `rotate_records` records, so a long-running monitor's files stay small).

`drain(store)`, called by `open_store` after migrations, reads every segment:
- *finished* segments (`.done`, or `.live` whose process is gone on this host) are ingested and
  then removed; a torn last line (the process was killed mid-write) is skipped and counted;
- complete lines of *live* segments are ingested too, so a running monitor's intervals are visible
  without stopping it; the file stays until its writer closes it or dies.
All records of one drain go to the database in one transaction. `record_id` is the primary key and
the insert ignores ids already stored, so a segment read twice (a crash between commit and unlink,
a live segment read at each open) is still counted exactly once.

Segments written on another host (a database on a shared filesystem) cannot be checked for a live
writer: they are ingested, and removed only once their writer closed them.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from footprint.records import IntervalRecord, TokenCount

SPOOL_SUFFIX = ".spool"
DEFAULT_ROTATE_RECORDS = 720  # two hours of 10 s intervals per segment file
# Lines are written at every flush (a killed process loses nothing written); fsync, which only
# matters if the host itself goes down, runs at most this often (and at rotation and close): at a 1 s
# interval an fsync per record was a quarter of the sidecar's CPU time (issue 16).
FSYNC_EVERY_S = 10.0
_SEGMENT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+)_(?P<pid>\d+)_(?P<start>\d+)_(?P<part>\d+)\.(?P<state>live|done)$")
_RECORD_FIELDS = {f.name for f in fields(IntervalRecord)}
_TOKEN_FIELDS = [f.name for f in fields(TokenCount)]


def spool_dir(db_path: str | os.PathLike) -> Path:
    """The spool directory of a database file: `<db>.spool/` beside it."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + SPOOL_SUFFIX)


def hostname() -> str:
    """The machine's name (records carry it; never a person's name)."""
    return socket.gethostname() or "localhost"


def _safe_host(host: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", host)[:64] or "host"


# --- encoding --------------------------------------------------------------------------------


def encode_record(record: IntervalRecord) -> bytes:
    data = dict(record.__dict__)  # every field (a plain dataclass: no slots); one copy, no getattr loop
    data["start"] = _naive_utc(record.start).isoformat()
    data["end"] = _naive_utc(record.end).isoformat()
    data["tokens"] = [{name: getattr(t, name) for name in _TOKEN_FIELDS} for t in record.tokens]
    return (json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def decode_record(line: bytes) -> IntervalRecord:
    """One spool line back to a record; ValueError/TypeError/KeyError when it is not one."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    kwargs = {k: v for k, v in data.items() if k in _RECORD_FIELDS}
    kwargs["start"] = _naive_utc(datetime.fromisoformat(data["start"]))
    kwargs["end"] = _naive_utc(datetime.fromisoformat(data["end"]))
    kwargs["tokens"] = tuple(TokenCount(**{k: t[k] for k in _TOKEN_FIELDS}) for t in data.get("tokens") or ())
    record = IntervalRecord(**kwargs)
    _check(record)
    return record


_TEXT = ("record_id", "host", "source")
_OPTIONAL_TEXT = ("use_case", "gpu_method", "cpu_method", "ram_method", "gpu_devices")
_FLAGS = ("gpu_low_confidence", "shared")
_COUNTS = ("input_tokens", "output_tokens", "requests")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _check(record: IntervalRecord) -> None:
    # Every type and rule the database insert relies on, checked per line: one bad line is skipped,
    # it can never make a drain (and so every command that opens the database) fail.
    for name in _TEXT:
        if not isinstance(getattr(record, name), str) or not getattr(record, name):
            raise ValueError(f"bad {name}")
    for name in _OPTIONAL_TEXT:
        if getattr(record, name) is not None and not isinstance(getattr(record, name), str):
            raise ValueError(f"bad {name}")
    for name in _FLAGS:
        if not isinstance(getattr(record, name), bool):
            raise ValueError(f"bad {name}")
    for name in _COUNTS:
        if getattr(record, name) is not None and not _is_count(getattr(record, name)):
            raise ValueError(f"bad {name}")
    if record.end < record.start:
        raise ValueError("end before start")
    for name in ("gpu_j", "cpu_j", "ram_j"):
        value = getattr(record, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise ValueError(f"bad {name}")
    ratio = record.gpu_crosscheck_ratio
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
                              or not math.isfinite(ratio) or ratio < 0):
        raise ValueError("bad gpu_crosscheck_ratio")
    if record.gpu_crosscheck_disagrees is not None and not isinstance(record.gpu_crosscheck_disagrees, bool):
        raise ValueError("bad gpu_crosscheck_disagrees")
    for token in record.tokens:
        if not (isinstance(token.use_case, str) and token.use_case and isinstance(token.model, str)
                and all(_is_count(getattr(token, n)) for n in ("input_tokens", "output_tokens", "requests"))):
            raise ValueError("bad token count")


# --- writing ---------------------------------------------------------------------------------


class SpoolWriter:
    """Appends one process's interval records to its own segment file.

    `append` buffers, `flush` writes the buffered lines with one write() (fsynced at most every
    `fsync_every_s`, and always at rotation and close), `close` flushes and marks the segment finished. Thread-safe. Record ids from `new_record_id()` are
    `host:pid:start-ns:seq`: unique across processes and hosts, stable once written.
    """

    def __init__(self, db_path: str | os.PathLike | None = None, *, rotate_records: int = DEFAULT_ROTATE_RECORDS,
                 fsync_every_s: float = FSYNC_EVERY_S):
        from footprint.store.paths import resolve_db_path

        self.db_path = resolve_db_path(db_path)
        self.dir = spool_dir(self.db_path)
        self.host = hostname()
        self.pid = os.getpid()
        self.start_ns = time.time_ns()
        self._rotate_records = max(1, rotate_records)
        self._lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._fd: int | None = None
        self._path: Path | None = None
        self._part = 0
        self._in_segment = 0
        self._seq = 0
        self._closed = False
        self.records_written = 0
        self._fsync_every_s = fsync_every_s
        self._synced_at = time.monotonic()
        self._unsynced = False

    @property
    def path(self) -> Path | None:
        """The segment file being written (None before the first flush)."""
        return self._path

    def new_record_id(self) -> str:
        with self._lock:
            self._seq += 1
            return f"{self.host}:{self.pid}:{self.start_ns}:{self._seq}"

    def append(self, record: IntervalRecord) -> None:
        line = encode_record(record)
        with self._lock:
            if self._closed:
                raise RuntimeError("spool writer is closed")
            self._buffer.append(line)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._finish_segment()
            self._closed = True

    def __enter__(self) -> "SpoolWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _flush_locked(self) -> None:
        while self._buffer:
            if self._fd is None:
                self._open_segment()
            room = self._rotate_records - self._in_segment
            chunk, self._buffer = self._buffer[:room], self._buffer[room:]
            data = b"".join(chunk)
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._unsynced = True
            if time.monotonic() - self._synced_at >= self._fsync_every_s:
                self._fsync()
            self._in_segment += len(chunk)
            self.records_written += len(chunk)
            if self._in_segment >= self._rotate_records:
                self._finish_segment()

    def _fsync(self) -> None:
        os.fsync(self._fd)
        self._synced_at = time.monotonic()
        self._unsynced = False

    def _open_segment(self) -> None:
        _ensure_dir(self.dir)
        self._part += 1
        name = f"{_safe_host(self.host)}_{self.pid}_{self.start_ns}_{self._part}.live"
        self._path = self.dir / name
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.fchmod(self._fd, 0o600)
        self._in_segment = 0
        _fsync_dir(self.dir)

    def _finish_segment(self) -> None:
        # Every line is fsynced before the rename. The rename need not be durable: after a crash a
        # `.live` segment of a dead process is ingested exactly like a `.done` one.
        if self._fd is None:
            return
        if self._unsynced:
            self._fsync()
        os.close(self._fd)
        self._fd = None
        done = self._path.with_suffix(".done")
        os.replace(self._path, done)
        self._path = done


def _ensure_dir(directory: Path) -> None:
    if not directory.exists():
        from footprint.store.paths import ensure_parent_dir

        ensure_parent_dir(directory)
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
    if directory.stat().st_uid == os.getuid() and directory.stat().st_mode & 0o077:
        os.chmod(directory, 0o700)


def _fsync_dir(directory: Path) -> None:
    # Makes the file's creation or rename durable, not only its content.
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    path: Path
    host: str
    pid: int
    start_ns: int
    finished: bool  # closed by its writer, or its writer is gone


@dataclass(frozen=True)
class DrainResult:
    segments_finished: int = 0  # ingested and removed
    segments_live: int = 0  # complete lines ingested, file kept for its running writer
    records_read: int = 0
    records_added: int = 0  # new in the database (the rest were already there)
    lines_skipped: int = 0  # torn or unreadable lines of finished segments, and bad lines


def _writer_alive(pid: int, start_ns: int) -> bool:
    """Is the process that started this segment still running? (a reused pid is a new process)."""
    import psutil

    try:
        created_s = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.Error:
        return True
    # A process created after the segment's first record cannot be its writer.
    return created_s <= start_ns / 1e9 + 1.0


def list_segments(directory: Path) -> list[Segment]:
    """Segments in a spool directory, oldest first, with whether each is finished."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    here = _safe_host(hostname())
    segments = []
    for name in names:
        match = _SEGMENT.match(name)
        if not match:
            continue
        pid, start_ns = int(match["pid"]), int(match["start"])
        if match["state"] == "done":
            finished = True
        elif match["host"] == here:
            finished = not _writer_alive(pid, start_ns)
        else:
            finished = False
        segments.append(Segment(directory / name, match["host"], pid, start_ns, finished))
    segments.sort(key=lambda s: (s.start_ns, s.path.name))
    return segments


def read_segment(segment: Segment) -> tuple[list[IntervalRecord], int]:
    """Records of one segment and how many lines were skipped (torn or bad)."""
    try:
        with open(segment.path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return [], 0
    lines = data.split(b"\n")
    tail = lines.pop()  # bytes after the last newline: a line still being written, or torn
    skipped = 1 if (tail.strip() and segment.finished) else 0
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(decode_record(line))
        except (ValueError, TypeError, KeyError):
            skipped += 1
    return records, skipped


def drain(store) -> DrainResult:
    """Ingest the spool of `store`'s database exactly once (see the module docstring).

    Segments are read by DuckDB's JSON reader straight into the store, in one transaction.
    """
    segments = [s for s in list_segments(spool_dir(store.path)) if s.path.stat().st_size > 0 or s.finished]
    if not segments:
        return DrainResult()
    files = [str(s.path) for s in segments]
    finished_files = [str(s.path) for s in segments if s.finished]
    conn = store.conn
    with store.transaction():
        before = conn.execute("SELECT count(*) FROM measurements").fetchall()[0][0]
        store.query("spool/stage", {"files": files})
        read, skipped = store.query("spool/stage_counts", {"finished": finished_files}).fetchall()[0]
        store.query("spool/insert_measurements")
        store.query("spool/insert_interval_tokens")
        after = conn.execute("SELECT count(*) FROM measurements").fetchall()[0][0]
        conn.execute("DROP TABLE spool_stage")
    removed = 0
    for segment in segments:
        if segment.finished:
            try:
                segment.path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return DrainResult(
        segments_finished=removed,
        segments_live=sum(1 for s in segments if not s.finished),
        records_read=read,
        records_added=after - before,
        lines_skipped=skipped,
    )


def spool_state(db_path: str | os.PathLike) -> dict:
    """What the spool holds, without touching the database (for `doctor`)."""
    directory = spool_dir(db_path)
    segments = list_segments(directory)
    pending = skipped = 0
    for segment in segments:
        records, bad = read_segment(segment)
        pending += len(records)
        skipped += bad
    mode = None
    if directory.exists():
        mode = oct(directory.stat().st_mode & 0o777)
    return {
        "path": str(directory),
        "exists": directory.exists(),
        "mode": mode,
        "segments_live": sum(1 for s in segments if not s.finished),
        "segments_finished": sum(1 for s in segments if s.finished),
        "records_pending": pending,
        "lines_torn": skipped,
    }
