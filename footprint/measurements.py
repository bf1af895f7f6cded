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
    ratio = record.gpu_crosscheck_ratio
    if ratio is not None and (not math.isfinite(ratio) or ratio < 0):
        raise ValidationError(f"record {record.record_id}: gpu_crosscheck_ratio {ratio!r} is not a finite ratio >= 0")


def _column(values: list, kind: str):
    """A numpy column DuckDB can scan; object dtype keeps None as SQL NULL."""
    import numpy as np

    if kind == "float":
        values = [None if v is None else float(v) for v in values]
    elif kind == "int":
        values = [None if v is None else int(v) for v in values]
    return np.array(values, dtype=object)


_KINDS = {"gpu_j": "float", "cpu_j": "float", "ram_j": "float", "input_tokens": "int", "output_tokens": "int",
          "requests": "int", "gpu_crosscheck_ratio": "float"}


def insert_records(store: Store, records: Iterable[IntervalRecord]) -> int:
    """Insert records not already stored, with their token split, in one transaction.

    Returns how many records were new. Columnar: the records become numpy columns that DuckDB
    scans in one INSERT ... SELECT per table, whatever the count (no statement per row).
    """
    records = list(records)
    if not records:
        return 0
    for record in records:
        _check(record)
    return insert_columns(store, record_columns(records))


def record_columns(records: list[IntervalRecord]) -> "Columns":
    columns = {name: _column([getattr(r, name) for r in records], _KINDS.get(name, "")) for name in _COLUMNS}
    columns["start_ts"] = _column([r.start for r in records], "")
    columns["end_ts"] = _column([r.end for r in records], "")
    tokens = [(r.record_id, t) for r in records for t in r.tokens]
    token_columns = {
        "record_id": _column([rid for rid, _ in tokens], ""),
        "use_case": _column([t.use_case for _, t in tokens], ""),
        "model": _column([t.model for _, t in tokens], ""),
        "input_tokens": _column([t.input_tokens for _, t in tokens], "int"),
        "output_tokens": _column([t.output_tokens for _, t in tokens], "int"),
        "requests": _column([t.requests for _, t in tokens], "int"),
    }
    return Columns(columns, token_columns)


class Columns:
    """Interval records as columns of the measurements and interval_tokens tables (numpy arrays).

    Columns of `IntervalRecord`'s field names (`start_ts`, `end_ts` for start and end); a missing value
    is None in an object column, NaN in a float one (DuckDB reads both as NULL). `tokens` holds the
    interval_tokens rows (record_id, use_case, model, input_tokens, output_tokens, requests).
    """

    def __init__(self, rows: dict, tokens: dict):
        self.rows, self.tokens = rows, tokens

    def __len__(self) -> int:
        return len(self.rows["record_id"])

    def take(self, keep) -> "Columns":
        """The rows where the boolean mask `keep` holds, with their tokens."""
        import numpy as np

        if keep.all():
            return self
        rows = {name: values[keep] for name, values in self.rows.items()}
        kept_ids = set(rows["record_id"].tolist())
        token_keep = np.fromiter((rid in kept_ids for rid in self.tokens["record_id"].tolist()), bool,
                                 len(self.tokens["record_id"]))
        return Columns(rows, {name: values[token_keep] for name, values in self.tokens.items()})

    @staticmethod
    def concat(parts: list["Columns"]) -> "Columns":
        import numpy as np

        given, parts = parts, [p for p in parts if len(p)]
        if len(parts) <= 1:
            return parts[0] if parts else given[0]
        return Columns({k: np.concatenate([p.rows[k] for p in parts]) for k in parts[0].rows},
                       {k: np.concatenate([p.tokens[k] for p in parts]) for k in parts[0].tokens})


def check_columns(columns: Columns) -> None:
    """Columnar `_check`: end after start, energies finite and >= 0 (NaN: not measured)."""
    import numpy as np

    rows = columns.rows
    bad = np.flatnonzero(rows["end_ts"] < rows["start_ts"])
    if len(bad):
        i = bad[0]
        raise ValidationError(f"record {rows['record_id'][i]}: end {rows['end_ts'][i]} is before start {rows['start_ts'][i]}")
    for name in ("gpu_j", "cpu_j", "ram_j"):
        values = rows[name]
        bad = np.flatnonzero(np.isinf(values) | (values < 0))
        if len(bad):
            i = bad[0]
            raise ValidationError(f"record {rows['record_id'][i]}: {name} {values[i]!r} is not a finite energy >= 0")


def insert_columns(store: Store, columns: Columns) -> int:
    """Insert the rows not already stored (INSERT OR IGNORE on record_id), in one transaction: how many were new."""
    if not len(columns):
        return 0
    conn = store.conn
    with store.transaction():
        before = conn.execute("SELECT count(*) FROM measurements").fetchall()[0][0]
        conn.register("incoming_measurements", columns.rows)
        try:
            store.query("measurements/insert_measurements")
        finally:
            conn.unregister("incoming_measurements")
        if len(columns.tokens["record_id"]):
            conn.register("incoming_interval_tokens", columns.tokens)
            try:
                store.query("measurements/insert_interval_tokens")
            finally:
                conn.unregister("incoming_interval_tokens")
        after = conn.execute("SELECT count(*) FROM measurements").fetchall()[0][0]
    return after - before


def list_measurements(
    store: Store, use_case: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[dict]:
    """Interval records overlapping [start, end), oldest first, as dicts (contract keys of `measurements --json`)."""
    return store.rows_as_dicts(
        "measurements/select_measurements", {"use_case": use_case, "from_ts": start, "to_ts": end}
    )
