"""Interval collection: GPU + CPU + RAM (+ tokens) of this host, one record per interval, to the spool.

Used by `footprint run`, `footprint monitor` and `footprint.track`. Records measure the machine, not a
process: two collectors alive at once on one host each see the whole host (accounting splits them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from footprint.collectors.gpu import LOW_CONFIDENCE_WINDOW_S
from footprint.errors import FootprintError, ValidationError
from footprint.records import IntervalRecord, TokenCount

DEFAULT_INTERVAL_S = 10.0
MIN_INTERVAL_S = 0.1
SAMPLE_EVERY_S = 1.0  # CPU-load samples inside an interval (CodeCarbon's cubic load model is non-linear)

Notice = Callable[[str], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_interval(interval_s: float) -> float:
    if not (interval_s == interval_s) or interval_s < MIN_INTERVAL_S or interval_s > 86400:
        raise ValidationError(f"bad --interval {interval_s!r}: expected seconds between {MIN_INTERVAL_S:g} and 86400")
    return float(interval_s)


COLLECTOR_LOCK_TIMEOUT_S = 5.0


def check_use_cases(db_path, slugs, *, in_child: bool = False, notice: Notice | None = None) -> bool:
    """`validate_use_cases`, except that a database locked by another process does not stop a
    collector (records wait in the spool): it says so and returns False."""
    return start_use_case_check(db_path, slugs, in_child=in_child, notice=notice)()


def start_use_case_check(db_path, slugs, *, in_child: bool = False, notice: Notice | None = None):
    """Start checking the use cases; returns `finish()`, which waits, raises if one is unknown, and
    returns False (after a notice) when the database stayed locked.

    `in_child`: check in a forked child, so that (1) a long-running sidecar never maps DuckDB (its
    import and first connection cost ~55 MB of RSS that a closed connection does not give back) and
    (2) the caller can start measuring while the check runs. Only while this process has a single
    thread (forking a threaded process is unsafe); otherwise the check runs here, before returning.
    """
    from footprint.errors import DatabaseLockedError

    # The lock timeout is resolved where the store is opened (the child): importing footprint.store.db
    # here would map DuckDB (~15 MB) into a sidecar that never opens the database.
    timeout = _COLLECTOR_TIMEOUT
    if in_child and hasattr(os, "fork") and threading.active_count() == 1:
        wait_child = _validate_in_child(db_path, slugs, timeout)
    else:
        error = None
        try:
            validate_use_cases(db_path, slugs, lock_timeout_s=timeout)
        except DatabaseLockedError as exc:
            error = exc

        def wait_child():
            if error is not None:
                raise error

    def finish() -> bool:
        try:
            wait_child()
            return True
        except DatabaseLockedError as exc:
            if notice:
                notice(f"{exc}; use case not checked, recording to the spool anyway")
            return False

    return finish


_COLLECTOR_TIMEOUT = "collector"  # the collector's own default, resolved by validate_use_cases


def validate_use_cases(db_path, slugs, *, lock_timeout_s: float | None | str = None) -> None:
    """Open the database briefly (which also drains the spool), check the use cases, close it."""
    from footprint.register import require_use_cases
    from footprint.store import open_store

    if lock_timeout_s == _COLLECTOR_TIMEOUT:
        from footprint.store.db import ENV_LOCK_TIMEOUT

        # A collector waits less than other commands ($FOOTPRINT_LOCK_TIMEOUT, else 5 s): a job is waiting.
        lock_timeout_s = None if os.environ.get(ENV_LOCK_TIMEOUT) else COLLECTOR_LOCK_TIMEOUT_S

    with open_store(db_path, lock_timeout_s=lock_timeout_s) as store:
        require_use_cases(store, sorted(set(slugs)))


def _validate_in_child(db_path, slugs, lock_timeout_s):
    """Fork a child that runs validate_use_cases; returns a function that waits for its outcome."""
    import json

    from footprint import errors

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report the outcome through the pipe, never return into the caller
        status = 0
        try:
            os.close(read_fd)
            try:
                validate_use_cases(db_path, slugs, lock_timeout_s=lock_timeout_s)
                payload = {"ok": True}
            except FootprintError as exc:
                payload = {"ok": False, "type": type(exc).__name__, "message": str(exc)}
            except BaseException as exc:  # noqa: BLE001 - reported to the parent as a database error
                payload = {"ok": False, "type": "DatabaseError", "message": f"{type(exc).__name__}: {exc}"}
            os.write(write_fd, json.dumps(payload).encode())
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)

    def wait() -> None:
        chunks = []
        with os.fdopen(read_fd, "rb") as pipe:
            while chunk := pipe.read(65536):
                chunks.append(chunk)
        os.waitpid(pid, 0)
        try:
            payload = json.loads(b"".join(chunks))
        except ValueError:
            raise errors.DatabaseError(f"cannot check use cases in {db_path}: the checking process failed") from None
        if not payload["ok"]:
            error_type = getattr(errors, payload["type"], FootprintError)
            if not (isinstance(error_type, type) and issubclass(error_type, FootprintError)):
                error_type = FootprintError
            raise error_type(payload["message"])

    return wait


class _HeldNotices:
    """A notice callback that holds messages until `release()`, then passes them straight through."""

    def __init__(self, notice: Notice | None):
        self._notice = notice
        self._held: list[str] | None = []
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(message)
                return
        if self._notice:
            self._notice(message)

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
        for message in held:
            if self._notice:
                self._notice(message)


class Instruments:
    """The GPU devices and CodeCarbon's CPU/RAM meter, built on a thread so a job never waits for them."""

    def __init__(self, gpu_selection: str | None = None, *, use_env: bool = True, notice: Notice | None = None):
        self._gpu_selection = gpu_selection
        self._use_env = use_env
        self._notice = notice or (lambda message: None)
        self.gpus = None
        self.meter = None
        self.cpu_profile_cached: bool | None = None
        self._thread = threading.Thread(target=self._build, name="footprint-instruments", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        from footprint.collectors.cpu import CpuRamMeter, ProfileLoader
        from footprint.collectors.gpu import open_gpu_devices
        from footprint.collectors.gpu.null import NullGpuDevices

        loader = None
        try:
            loader = ProfileLoader()  # starts CodeCarbon's detection subprocess when nothing is cached
            self.cpu_profile_cached = loader.cached
        except Exception as exc:  # noqa: BLE001 - the job goes on; the record says CPU was not measured
            self._notice(f"CodeCarbon: cannot read the CPU profile ({exc}); CPU and RAM energy not measured")
        try:
            gpus = open_gpu_devices(self._gpu_selection, use_env=self._use_env)
        except Exception as exc:  # noqa: BLE001
            gpus = NullGpuDevices(f"NVML: {exc}; GPU energy is not measured")
        if gpus.notice:
            self._notice(gpus.notice)
        gpus.start()
        self.gpus = gpus
        if loader is not None:
            try:
                meter = CpuRamMeter(loader.result())
                meter.start()
                self.meter = meter
            except Exception as exc:  # noqa: BLE001
                self._notice(f"CodeCarbon: {exc}; CPU and RAM energy not measured")

    def wait(self) -> None:
        self._thread.join()

    @property
    def ready(self) -> bool:
        return not self._thread.is_alive()

    def sample(self) -> None:
        if not self.ready:
            return
        if self.meter is not None:
            self.meter.sample()
        if self.gpus is not None:
            self.gpus.sample()

    def close(self) -> None:
        self.wait()
        if self.gpus is not None:
            self.gpus.close()


def _window_mismatch(window_s: float, duration_s: float) -> bool:
    return abs(window_s - duration_s) > max(0.05, 0.05 * duration_s)


def _rescale(energy_j: float | None, window_s: float, duration_s: float) -> float | None:
    """Energy over the record's interval from energy over the instrument's window, when they differ.

    They differ only when the instruments were not ready in time (`run` starts its child before
    CodeCarbon and NVML are loaded): the window's average power then stands for the interval's.
    """
    if energy_j is None or window_s <= 0 or not _window_mismatch(window_s, duration_s):
        return energy_j
    return energy_j * duration_s / window_s


class IntervalCollector:
    """Builds one IntervalRecord per interval and writes it to the spool (flushed and fsynced)."""

    def __init__(self, *, use_case: str, source: str, writer, instruments: Instruments, scraper=None,
                 mapping: dict[str, str] | None = None, on_record: Callable[[IntervalRecord], None] | None = None):
        self.use_case = use_case
        self.on_record = on_record  # called once each record is in the spool (the exporter counts it)
        self.source = source
        self.writer = writer
        self.instruments = instruments
        self.scraper = scraper
        self.mapping = mapping or {}
        self.records: list[IntervalRecord] = []
        self._lock = threading.Lock()
        self._api_tokens: dict[str, list[int]] = {}
        self._start_wall: datetime | None = None
        self._start_mono: float | None = None

    @property
    def started_monotonic(self) -> float | None:
        return self._start_mono

    def begin(self, wall: datetime | None = None, mono: float | None = None) -> None:
        """Start the first interval now, or at (wall, mono) taken earlier (`run` starts its child first)."""
        self._start_wall = wall or utc_now()
        self._start_mono = mono if mono is not None else time.monotonic()
        if self.scraper is not None:
            self.scraper.scrape()  # baseline

    def add_tokens(self, input_tokens: int = 0, output_tokens: int = 0, requests: int = 0, model: str = "") -> None:
        for name, value in (("input", input_tokens), ("output", output_tokens), ("requests", requests)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"bad {name} token count {value!r}: expected an integer >= 0")
        with self._lock:
            slot = self._api_tokens.setdefault(model, [0, 0, 0])
            slot[0] += input_tokens
            slot[1] += output_tokens
            slot[2] += requests

    def _tokens(self) -> tuple[tuple[TokenCount, ...], int | None, int | None, int | None]:
        if self.scraper is None and not self._api_tokens:  # a plain sidecar: no token source at all
            return (), None, None, None
        from footprint.collectors.tokens import token_counts

        rows: list[TokenCount] = []
        has_requests = False
        scraped = False
        if self.scraper is not None:
            delta = self.scraper.scrape()
            if delta is not None:
                scraped = True
                has_requests = delta.has_requests
                rows.extend(token_counts(delta, self.use_case, self.mapping))
        with self._lock:
            api, self._api_tokens = self._api_tokens, {}
        for model, (inp, out, req) in sorted(api.items()):
            has_requests = has_requests or req > 0
            if inp or out or req:
                rows.append(TokenCount(self.mapping.get(model, self.use_case), model, inp, out, req))
        merged: dict[tuple[str, str], list[int]] = {}
        for row in rows:
            slot = merged.setdefault((row.use_case, row.model), [0, 0, 0])
            slot[0] += row.input_tokens
            slot[1] += row.output_tokens
            slot[2] += row.requests
        tokens = tuple(TokenCount(uc, m, *v) for (uc, m), v in sorted(merged.items()))
        if not scraped and not api:
            return (), None, None, None
        return (
            tokens,
            sum(t.input_tokens for t in tokens),
            sum(t.output_tokens for t in tokens),
            sum(t.requests for t in tokens) if has_requests else None,
        )

    def _spool(self, record: IntervalRecord) -> None:
        """The one place a finished record leaves the collector: to the spool (written each interval)."""
        self.writer.append(record)
        self.writer.flush()
        if self.on_record is not None:
            self.on_record(record)
        self.records.append(record)

    def record(self, end: tuple[datetime, float] | None = None) -> IntervalRecord:
        """Close the current interval (now, or at `end` = (wall, monotonic) taken when a job ended):
        read every instrument, append the record, flush the spool."""
        end_wall, end_mono = end if end is not None else (utc_now(), time.monotonic())
        end_wall = max(end_wall, self._start_wall)
        duration = max(0.0, end_mono - self._start_mono)
        self.instruments.wait()
        gpu = self.instruments.gpus.read()
        gpu_j = _rescale(gpu.energy_j, gpu.window_s, duration)
        late = gpu.energy_j is not None and _window_mismatch(gpu.window_s, duration)
        cpu_j = ram_j = cpu_method = ram_method = None
        if self.instruments.meter is not None:
            reading = self.instruments.meter.read()
            cpu_j = _rescale(reading.cpu_j, reading.window_s, duration)
            ram_j = _rescale(reading.ram_j, reading.window_s, duration)
            cpu_method, ram_method = reading.cpu_method, reading.ram_method
        tokens, input_tokens, output_tokens, requests = self._tokens()
        record = IntervalRecord(
            record_id=self.writer.new_record_id(),
            use_case=self.use_case,
            host=self.writer.host,
            start=self._start_wall,
            end=end_wall,
            source=self.source,
            gpu_j=gpu_j,
            cpu_j=cpu_j,
            ram_j=ram_j,
            gpu_method=gpu.method,
            cpu_method=cpu_method,
            ram_method=ram_method,
            gpu_devices=gpu.devices,
            gpu_low_confidence=duration < LOW_CONFIDENCE_WINDOW_S or gpu.low_confidence or late,
            shared=bool(self.mapping),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            requests=requests,
            tokens=tokens,
            gpu_crosscheck_ratio=gpu.crosscheck_ratio,
            gpu_crosscheck_disagrees=gpu.crosscheck_disagrees,
        )
        self._spool(record)
        self._start_wall, self._start_mono = end_wall, end_mono
        return record


def _wait_loop(done: threading.Event, interval_s: float, collector: IntervalCollector) -> None:
    """Record at every interval boundary and take CPU-load samples in between, until `done` is set."""
    start = collector.started_monotonic
    next_boundary = start + interval_s
    sample_every = min(SAMPLE_EVERY_S, interval_s)
    next_sample = start + sample_every
    while True:
        timeout = max(0.0, min(next_boundary, next_sample) - time.monotonic())
        if done.wait(timeout):
            return
        now = time.monotonic()
        if now >= next_boundary - 0.005:
            collector.record()
            while next_boundary <= now + 0.005:
                next_boundary += interval_s
            next_sample = now + sample_every
        else:
            collector.instruments.sample()
            next_sample += sample_every
            if next_sample <= now:
                next_sample = now + sample_every


def _freeze_startup_objects() -> None:
    """Move what start-up allocated (imports: CodeCarbon, psutil, NVML bindings) out of the garbage
    collector's reach: a long-running sidecar's full collections then scan only its own few objects."""
    import gc

    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class MonitorSummary:
    records: int
    spool_segment: str | None


def monitor(*, use_case: str, db_path=None, interval_s: float = DEFAULT_INTERVAL_S, metrics_url: str | None = None,
            mapping: dict[str, str] | None = None, gpus: str | None = None, stop: threading.Event,
            notice: Notice | None = None, on_record: Callable[[IntervalRecord], None] | None = None) -> MonitorSummary:
    """Record one interval every `interval_s` until `stop` is set, then record the partial interval."""
    from footprint.collectors.tokens import TokenScraper
    from footprint.spool import SpoolWriter

    interval_s = check_interval(interval_s)
    mapping = mapping or {}
    scraper = TokenScraper(metrics_url) if metrics_url else None
    # Measuring starts while the use cases are checked (in a child): a sidecar started and killed
    # soon after still keeps its first intervals. Nothing is written before the check succeeds.
    checked = start_use_case_check(db_path, [use_case, *mapping.values()], in_child=True, notice=notice)
    begin_wall, begin_mono = utc_now(), time.monotonic()
    held = _HeldNotices(notice)  # an unknown use case is the one message to show, not NVML's notice
    instruments = Instruments(gpus, use_env=gpus is None, notice=held)
    try:
        checked()
    except BaseException:
        instruments.close()
        raise
    held.release()
    writer = SpoolWriter(db_path)
    collector = IntervalCollector(use_case=use_case, source="monitor", writer=writer, instruments=instruments,
                                  scraper=scraper, mapping=mapping, on_record=on_record)
    try:
        collector.begin(begin_wall, begin_mono)
        if scraper is not None and scraper.last_error and notice:
            notice(f"metrics: cannot read {metrics_url} ({scraper.last_error}); will retry each interval")
        instruments.wait()
        _freeze_startup_objects()
        _wait_loop(stop, interval_s, collector)
        collector.record()
    finally:
        writer.close()
        instruments.close()
    return MonitorSummary(len(collector.records), str(writer.path) if writer.path else None)


class CommandError(FootprintError):
    """The command given to `footprint run` cannot be started. `exit_code` follows the shell's: 126/127."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _terminal_delivers_sigint() -> bool:
    """Is this process in a terminal's foreground group? Then Ctrl-C reached the child already."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def run_command(argv: list[str], *, use_case: str, db_path=None, interval_s: float = DEFAULT_INTERVAL_S,
                notice: Notice | None = None) -> int:
    """Run `argv` with stdin/stdout/stderr and environment untouched and record its host's energy.

    Returns the child's return code (negative: killed by that signal). SIGTERM/SIGHUP/SIGQUIT sent to
    footprint are forwarded to the child; SIGINT too, unless it came from the terminal (which
    already sent it to the child, being in the same foreground process group).
    """
    from footprint.spool import SpoolWriter
    from footprint.store.paths import previous_umask

    if not argv:
        raise ValidationError("no command given: footprint run --use-case SLUG -- CMD ARGS...")
    interval_s = check_interval(interval_s)
    # The instruments load (CodeCarbon import, NVML init) while the use case is checked.
    held = _HeldNotices(notice)
    instruments = Instruments(None, use_env=True, notice=held)
    try:
        check_use_cases(db_path, [use_case], notice=notice)
        held.release()
        writer = SpoolWriter(db_path)
        begin_wall, begin_mono = utc_now(), time.monotonic()
        proc = subprocess.Popen(argv, umask=previous_umask())
    except FileNotFoundError:
        instruments.close()
        raise CommandError(f"cannot run {argv[0]!r}: command not found", 127) from None
    except PermissionError:
        instruments.close()
        raise CommandError(f"cannot run {argv[0]!r}: permission denied", 126) from None
    except OSError as exc:
        instruments.close()
        raise CommandError(f"cannot run {argv[0]!r}: {exc.strerror}", 126) from None
    except BaseException:
        instruments.close()
        raise

    def forward(signum, _frame):
        if signum == signal.SIGINT and _terminal_delivers_sigint():
            return
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    done = threading.Event()
    ended: list[tuple[datetime, float]] = []

    def wait_child():
        proc.wait()
        ended.append((utc_now(), time.monotonic()))
        done.set()

    waiter = threading.Thread(target=wait_child, name="footprint-child-wait", daemon=True)
    waiter.start()
    try:
        collector = IntervalCollector(use_case=use_case, source="run", writer=writer, instruments=instruments)
        collector.begin(begin_wall, begin_mono)
        _wait_loop(done, interval_s, collector)
        collector.record(end=ended[0])
    finally:
        while not done.wait(0.5):  # an error above must not orphan the child's exit status
            pass
        writer.close()
        instruments.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return proc.returncode
