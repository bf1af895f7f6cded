"""Writing and reading measured interval records (exactly once, keyed by record_id)."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime
from typing import Iterable

from footprint.errors import ValidationError
from footprint.records import IntervalRecord
from footprint.store import Store

_COLUMNS = [f.name for f in fields(IntervalRecord) if f.name not in ("tokens", "start", "end")]


def _check(record: IntervalRecord) -> None:
    if record.end < record.start:
        raise ValidationError(f"record {record.record_id}: end {record.end} is before start {record.start}")
    for name in ("gpu_j", "cpu_j", "ram_j"):
        value = getattr(record, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValidationError(f"record {record.record_id}: {name} {value!r} is not a finite energy >= 0")


def insert_records(store: Store, records: Iterable[IntervalRecord]) -> int:
    """Insert records not already stored, with their token split, in one transaction.

    Returns how many records were new. Columnar: one statement per table, whatever the count.
    """
    records = list(records)
    if not records:
        return 0
    for record in records:
        _check(record)
    columns = {name: [getattr(r, name) for r in records] for name in _COLUMNS}
    columns["start_ts"] = [r.start for r in records]
    columns["end_ts"] = [r.end for r in records]
    tokens = [(r.record_id, t) for r in records for t in r.tokens]
    token_columns = {
        "record_id": [rid for rid, _ in tokens],
        "use_case": [t.use_case for _, t in tokens],
        "model": [t.model for _, t in tokens],
        "input_tokens": [t.input_tokens for _, t in tokens],
        "output_tokens": [t.output_tokens for _, t in tokens],
        "requests": [t.requests for _, t in tokens],
    }
    with store.transaction() as conn:
        before = conn.execute("SELECT count(*) FROM measurements").fetchone()[0]
        store.query("measurements/insert_measurements", columns)
        if tokens:
            store.query("measurements/insert_interval_tokens", token_columns)
        after = conn.execute("SELECT count(*) FROM measurements").fetchone()[0]
    return after - before


def list_measurements(
    store: Store, use_case: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[dict]:
    """Interval records overlapping [start, end), oldest first, as dicts (contract keys of `measurements --json`)."""
    return store.rows_as_dicts(
        "measurements/select_measurements", {"use_case": use_case, "from_ts": start, "to_ts": end}
    )
