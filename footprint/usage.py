"""Ingested usage, summed per use case and model (and per day or month)."""

from __future__ import annotations

from datetime import datetime

from footprint.errors import ValidationError
from footprint.periods import Period
from footprint.store import Store

GROUPINGS = ("day", "month", "model")


def usage_rows(store: Store, use_case: str | None = None, period: Period | None = None, by: str | None = None) -> list[dict]:
    """Rows {use_case, model, requests, input_tokens, output_tokens, cached_input_tokens,
    cache_creation_input_tokens, images} plus `day` or `month` when grouped by one.

    Always per use case and model (`by="model"` says so explicitly); the rows sum to the stored totals
    (of the period, when one is given).
    """
    if by is not None and by not in GROUPINGS:
        raise ValidationError(f"bad grouping {by!r}: expected one of {', '.join(GROUPINGS)}")
    params = {
        "use_case": use_case,
        "from_ts": datetime.combine(period.start, datetime.min.time()) if period else None,
        "to_ts": datetime.combine(period.end, datetime.min.time()) if period else None,
        "by": by if by in ("day", "month") else None,
    }
    rows = store.rows_as_dicts("usage/usage_rows", params)
    out = []
    for row in rows:
        label = row.pop("period")
        if by in ("day", "month"):
            row = {by: label, **row}
        out.append(row)
    return out
