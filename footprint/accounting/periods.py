"""Which period a report covers by default, and the one it is compared with."""

from __future__ import annotations

from datetime import date, timedelta

from footprint.errors import NotFoundError
from footprint.periods import Period, parse_quarter, quarter_label, quarter_of
from footprint.store import Store


def _data_quarters(store: Store) -> list[str]:
    parts = ["SELECT DISTINCT CAST(start_ts AS DATE) AS d FROM measurements"]
    exists = store.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'usage' AND table_schema = 'main'"
    ).fetchone()[0]
    if exists:
        parts.append("SELECT DISTINCT CAST(ts AS DATE) FROM usage")
    query = (
        "SELECT DISTINCT year(d) AS y, quarter(d) AS q FROM (" + " UNION ".join(parts) + ") WHERE d IS NOT NULL ORDER BY y, q"
    )
    return [f"{y}-Q{q}" for y, q in store.execute(query).fetchall()]


def data_quarters(store: Store) -> list[str]:
    """Every quarter (YYYY-Qn, in order) with a measurement or a usage row."""
    return _data_quarters(store)


def default_period(store: Store, today: date | None = None) -> Period:
    """The last complete quarter (ended before today) that has measurements or usage."""
    today = today or date.today()
    complete = [label for label in _data_quarters(store) if parse_quarter(label).end <= today]
    if not complete:
        raise NotFoundError(
            f"no complete quarter with data before {today} (current quarter {quarter_label(today)}): "
            "give --quarter YYYY-Qn or --from/--to"
        )
    return parse_quarter(complete[-1])


def previous_period(period: Period) -> Period:
    """The previous quarter for a quarter; the same number of days just before, for a date range."""
    year, q = quarter_of(period.start)
    if period.label == f"{year}-Q{q}":
        return period.previous_quarter()
    days = (period.end - period.start).days
    start = period.start - timedelta(days=days)
    return Period(f"{start}..{period.start - timedelta(days=1)}", start, period.start)


def period_has_data(store: Store, period: Period) -> bool:
    """Whether any measurement or usage row falls in the period (cheap: bounds first, then a probe)."""
    from datetime import datetime

    ps = datetime(period.start.year, period.start.month, period.start.day)
    pe = datetime(period.end.year, period.end.month, period.end.day)
    if store.execute(
        "SELECT count(*) FROM (SELECT 1 FROM measurements WHERE start_ts < ? AND end_ts >= ? LIMIT 1)", [pe, ps]
    ).fetchone()[0]:
        return True
    exists = store.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'usage' AND table_schema = 'main'"
    ).fetchone()[0]
    if not exists:
        return False
    low, high = store.execute("SELECT min(ts), max(ts) FROM usage").fetchone()
    if low is None or high < ps or low >= pe:
        return False
    return bool(store.execute(
        "SELECT count(*) FROM (SELECT 1 FROM usage WHERE ts >= ? AND ts < ? LIMIT 1)", [ps, pe]).fetchone()[0])
