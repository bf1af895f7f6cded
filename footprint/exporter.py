"""footprint's own Prometheus exporter: `monitor --listen HOST:PORT` serves what this host spooled.

Counters (only ever growing), one sample per label set:
    footprint_energy_joules_total{use_case, component="gpu|cpu|ram", method, host}
    footprint_tokens_total{use_case, model, kind="input|output"}
    footprint_intervals_total{use_case, host}
and two gauges that date them, so a reader can put each increase where it was measured:
    footprint_exporter_start_time_seconds{use_case, host}: unix time this run began counting (the
        start of the first interval it counted: before it, after a restart, nothing was measured);
    footprint_exporter_counted_until_seconds{use_case, host}: unix time the counters are complete to
        (the end of the last interval counted), read in the same scrape as the counters.
No label can name a person: use cases, models, components, methods and machine names only.

The spool stays the source of truth: the monitor calls `Exporter.add(record)` after each record
was flushed and fsynced to its segment, so the counters never run ahead of the spool.

Restarts: drained segments leave the spool directory, so the totals cannot be summed back from it.
Each add also rewrites a small totals file beside the segments (`<db>.spool/exporter-<use case>.json`,
written to a temporary file, fsynced, then renamed: never half-written). A restarted monitor resumes
its counters from that file, so Prometheus sees no counter reset at all and `increase()`/`rate()`
over a restart include the restart's last partial interval. Should the file be lost, the counters
restart at 0: a reset Prometheus (and `collect prometheus`) already handles. A kill between the spool's
fsync and the totals' rename leaves at most that one interval out of the counters, never in twice.
One exporting monitor per use case and database: a second one is refused (the file is locked).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from footprint.errors import ListenError, ValidationError
from footprint.records import IntervalRecord
from footprint.units import to_unix

DEFAULT_HOST = "127.0.0.1"
COMPONENTS = ("gpu", "cpu", "ram")
TOTALS_VERSION = 1


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (then 127.0.0.1: serving every interface is a choice)."""
    raw = (text or "").strip()
    host, port_text = DEFAULT_HOST, raw
    if raw.startswith("["):
        inside, bracket, rest = raw[1:].partition("]")
        if not bracket or not rest.startswith(":") or not inside:
            raise ValidationError(f"bad --listen {text!r}: expected HOST:PORT, [IPv6]:PORT or PORT")
        host, port_text = inside, rest[1:]
    elif ":" in raw:
        host, _, port_text = raw.rpartition(":")
        if ":" in host or not host:
            raise ValidationError(f"bad --listen {text!r}: expected HOST:PORT, [IPv6]:PORT or PORT")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:  # 0: a free port, shown in the notice
        raise ValidationError(f"bad --listen {text!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def totals_path(spool_directory: Path, use_case: str) -> Path:
    return spool_directory / f"exporter-{re.sub(r'[^A-Za-z0-9._-]', '-', use_case)}.json"


class Totals:
    """Running totals per label set, with their file (read at start, replaced atomically on each add)."""

    def __init__(self, path: Path):
        self.path = path
        self.energy_j: dict[tuple[str, str, str, str], float] = {}  # (use_case, component, method, host)
        self.tokens: dict[tuple[str, str, str], int] = {}  # (use_case, model, kind)
        self.intervals: dict[tuple[str, str], int] = {}  # (use_case, host)
        # this run only (never saved): (use_case, host) -> unix s of the first interval's start, the last one's end
        self.started: dict[tuple[str, str], float] = {}
        self.until: dict[tuple[str, str], float] = {}

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != TOTALS_VERSION:
                raise ValueError("unknown version")
            energy = {tuple(k): float(v) for *k, v in data["energy_j"] if len(k) == 4}
            tokens = {tuple(k): int(v) for *k, v in data["tokens"] if len(k) == 3}
            intervals = {tuple(k): int(v) for *k, v in data["intervals"] if len(k) == 2}
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError):
            return  # unreadable: start from 0, a counter reset Prometheus handles
        self.energy_j, self.tokens, self.intervals = energy, tokens, intervals

    def add(self, record: IntervalRecord) -> None:
        use_case = record.use_case or ""
        for component in COMPONENTS:
            joules = getattr(record, f"{component}_j")
            if joules is None:
                continue  # not measured: no sample, never a 0 that reads as measured
            method = getattr(record, f"{component}_method") or "unknown"
            key = (use_case, component, method, record.host)
            self.energy_j[key] = self.energy_j.get(key, 0.0) + float(joules)
        for count in record.tokens:
            for kind, value in (("input", count.input_tokens), ("output", count.output_tokens)):
                key = (count.use_case, count.model, kind)
                self.tokens[key] = self.tokens.get(key, 0) + int(value)
        key = (use_case, record.host)
        self.intervals[key] = self.intervals.get(key, 0) + 1
        start, end = to_unix(record.start), to_unix(record.end)
        self.started[key] = min(self.started.get(key, start), start)
        self.until[key] = max(self.until.get(key, end), end)

    def save(self) -> None:
        data = {
            "version": TOTALS_VERSION,
            "energy_j": [[*k, v] for k, v in sorted(self.energy_j.items())],
            "tokens": [[*k, v] for k, v in sorted(self.tokens.items())],
            "intervals": [[*k, v] for k, v in sorted(self.intervals.items())],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(data, separators=(",", ":")).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


# Prometheus text exposition format 0.0.4, the one every Prometheus scrapes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# (metric, type, help) and, in the same order, each family's label names.
_FAMILIES = (
    ("footprint_energy_joules_total", "counter", "Energy measured on this host and spooled, in joules."),
    ("footprint_tokens_total", "counter", "Tokens served, per use case and model (counts only)."),
    ("footprint_intervals_total", "counter", "Measured intervals spooled."),
    ("footprint_exporter_start_time_seconds", "gauge", "Start of the first interval this run counted (unix s)."),
    ("footprint_exporter_counted_until_seconds", "gauge", "End of the last interval counted (unix s)."),
)
_LABELS = (("use_case", "component", "method", "host"), ("use_case", "model", "kind"), ("use_case", "host"),
           ("use_case", "host"), ("use_case", "host"))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _go_float(value: float) -> str:
    """A sample value as Go writes it, exponent form from 1e6 up: prometheus_client's floatToGoString,
    restated because importing any prometheus_client module loads the whole package (65 ms, ~12 MB of
    RSS in a sidecar held under 60 MB)."""
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def render_metrics(snapshot) -> str:
    """The exposition text of a snapshot (energy, tokens, intervals, started, until), label names sorted
    on each line as prometheus_client writes them; rendered here rather than through prometheus_client's
    registry and handler, which cost a scrape ~1.9x the CPU (bench/bench_exporter.py scrape_cost)."""
    lines = []
    for (name, kind, text), names, values in zip(_FAMILIES, _LABELS, snapshot):
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        order = sorted(range(len(names)), key=names.__getitem__)
        for labels, value in sorted(values.items()):
            inner = ",".join(f'{names[i]}="{_escape(str(labels[i]))}"' for i in order)
            lines.append(f"{name}{{{inner}}} {_go_float(value)}")
    return "\n".join(lines) + "\n"


class Exporter:
    """Serves /metrics on (host, port) from the totals of the records given to `add`."""

    def __init__(self, listen: str, spool_directory: Path, use_case: str, notice: Callable[[str], None] | None = None):
        self.host, self.port = parse_listen(listen)
        self._notice = notice or (lambda message: None)
        self._lock = threading.Lock()
        self._save_failed = False
        self._directory = Path(spool_directory)
        self._totals = Totals(totals_path(self._directory, use_case))
        self._lock_fd: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Exporter":
        from footprint.spool import _ensure_dir

        self._server = _bind(self.host, self.port, self)
        self.port = self._server.server_address[1]
        _ensure_dir(self._directory)
        self._lock_fd = os.open(self._totals.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.close()
            raise ListenError(f"another monitor already exports this use case from {self._directory}") from None
        self._totals.load()
        return self

    def _serve_in_thread(self) -> None:
        # Started with the first record, not at bind time: the monitor checks its use case in a forked
        # child, which it does only while it has a single thread (see collectors.session). Until then
        # a scrape waits in the listen backlog.
        if self._thread is None and self._server is not None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.5,),
                                            name="footprint-exporter", daemon=True)
            self._thread.start()

    def add(self, record: IntervalRecord) -> None:
        """Count a record that is in the spool (called after the spool's flush). Never raises."""
        with self._lock:
            self._totals.add(record)
            try:
                self._totals.save()
            except OSError as exc:
                if not self._save_failed:
                    self._notice(f"exporter: cannot write {self._totals.path} ({exc.strerror or exc}); "
                                 "a restart will reset the counters")
                self._save_failed = True
        self._serve_in_thread()

    def snapshot(self):
        with self._lock:
            t = self._totals
            return dict(t.energy_j), dict(t.tokens), dict(t.intervals), dict(t.started), dict(t.until)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join()
                self._thread = None
            self._server.server_close()
            self._server = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


# A scrape is answered in the serving thread itself, one at a time (Prometheus scrapes a target
# serially): no thread per request. A client that connects and sends nothing holds it this long at most.
REQUEST_TIMEOUT_S = 5.0


def _bind(host: str, port: int, exporter: Exporter):
    """Bind and listen now (so a port in use fails at start), without a serving thread yet."""
    import http.server
    import socket

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S

        def do_GET(self):  # noqa: N802 - http.server's name
            # Every path answers the metrics, as prometheus_client's handler did.
            body = render_metrics(exporter.snapshot()).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass  # no access log: the monitor's stderr is for its own notices

    class Server(http.server.HTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        def handle_error(self, request, client_address):
            pass  # a scraper gone mid-answer is its own failure: no traceback on the monitor's stderr

    try:
        return Server((host, port), Handler)
    except socket.gaierror:
        exporter.close()
        raise ListenError(f"bad --listen {host}:{port}: {host!r} is not an address of this machine") from None
    except OSError as exc:
        exporter.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"cannot listen on {host}:{port}: the port is in use") from None
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@contextmanager
def exporting(listen: str | None, *, db_path, use_case: str,
              notice: Callable[[str], None] | None = None) -> Iterator[Callable[[IntervalRecord], None] | None]:
    """Serve /metrics while the block runs; yields the monitor's `on_record` hook (None when not listening)."""
    if not listen:
        yield None
        return
    from footprint.spool import spool_dir
    from footprint.store.paths import resolve_db_path

    exporter = Exporter(listen, spool_dir(resolve_db_path(db_path)), use_case, notice).start()
    if notice:
        notice(f"serving {exporter.url}")
    try:
        yield exporter.add
    finally:
        exporter.close()
