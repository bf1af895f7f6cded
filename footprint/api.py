"""`footprint.track`: measure a block of Python code (or each call of a function) for a use case.

    with footprint.track("contract-summary") as t:
        ...
        t.add_tokens(input=812, output=230)
    print(t.result.energy_j)

    @footprint.track("contract-summary")
    def summarise(doc): ...

Like `footprint run`, it checks the use case (opening the database briefly), records the host's
GPU/CPU/RAM energy one interval at a time (every `interval_s` on a background thread, and at the
end of the block) into the spool, and never holds the database. The next command that opens the
database ingests the records. `t.result` is a frozen `TrackResult` once the block is over.
"""

from __future__ import annotations

import threading
from contextlib import ContextDecorator
from dataclasses import dataclass
from datetime import datetime

from footprint.records import IntervalRecord


@dataclass(frozen=True)
class TrackResult:
    use_case: str
    start: datetime  # naive UTC
    end: datetime
    duration_s: float
    gpu_j: float | None  # None: not measured (no GPU / no driver)
    cpu_j: float | None
    ram_j: float | None
    gpu_method: str | None
    cpu_method: str | None
    ram_method: str | None
    input_tokens: int | None
    output_tokens: int | None
    records: tuple[str, ...]  # record ids written to the spool

    @property
    def energy_j(self) -> float:
        """GPU + CPU + RAM energy measured (what was not measured counts 0)."""
        return sum(v for v in (self.gpu_j, self.cpu_j, self.ram_j) if v is not None)


def _sum(records: list[IntervalRecord], name: str):
    values = [getattr(r, name) for r in records if getattr(r, name) is not None]
    return sum(values) if values else None


def _first(records: list[IntervalRecord], name: str):
    return next((getattr(r, name) for r in records if getattr(r, name) is not None), None)


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=3)


class track(ContextDecorator):
    """Context manager and decorator; see the module docstring."""

    def __init__(self, use_case: str, *, db: str | None = None, interval_s: float = 10.0, gpus: str | None = None,
                 validate: bool = True):
        from footprint.collectors.session import check_interval

        self.use_case = use_case
        self.db = db
        self.interval_s = check_interval(interval_s)
        self.gpus = gpus
        self.validate = validate
        self.result: TrackResult | None = None
        self._collector = None
        self._instruments = None
        self._writer = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _recreate_cm(self) -> "track":
        # As a decorator, each call is its own measurement.
        return track(self.use_case, db=self.db, interval_s=self.interval_s, gpus=self.gpus, validate=self.validate)

    def add_tokens(self, input: int = 0, output: int = 0, requests: int = 0, model: str = "") -> None:  # noqa: A002
        """Tokens this block served or consumed, counted in the current interval."""
        if self._collector is None:
            raise RuntimeError("add_tokens() outside the tracked block")
        self._collector.add_tokens(input, output, requests, model)

    def __enter__(self) -> "track":
        from footprint.collectors.session import Instruments, IntervalCollector, _wait_loop, check_use_cases
        from footprint.spool import SpoolWriter
        from footprint.store.paths import resolve_db_path

        db_path = resolve_db_path(self.db)
        self._instruments = Instruments(self.gpus, use_env=self.gpus is None)
        try:
            if self.validate:
                check_use_cases(db_path, [self.use_case], notice=_warn)
        except BaseException:
            self._instruments.close()
            raise
        self._writer = SpoolWriter(db_path)
        self._collector = IntervalCollector(use_case=self.use_case, source="track", writer=self._writer,
                                            instruments=self._instruments)
        self._collector.begin()
        self._thread = threading.Thread(target=_wait_loop, args=(self._stop, self.interval_s, self._collector),
                                        name="footprint-track", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        self._stop.set()
        self._thread.join()
        try:
            self._collector.record()
        finally:
            self._writer.close()
            self._instruments.close()
        records = self._collector.records
        self.result = TrackResult(
            use_case=self.use_case,
            start=records[0].start,
            end=records[-1].end,
            duration_s=(records[-1].end - records[0].start).total_seconds(),
            gpu_j=_sum(records, "gpu_j"),
            cpu_j=_sum(records, "cpu_j"),
            ram_j=_sum(records, "ram_j"),
            gpu_method=_first(records, "gpu_method"),
            cpu_method=_first(records, "cpu_method"),
            ram_method=_first(records, "ram_method"),
            input_tokens=_sum(records, "input_tokens"),
            output_tokens=_sum(records, "output_tokens"),
            records=tuple(r.record_id for r in records),
        )
        return False
