"""Reporting periods: quarters (`2026-Q3`) and date ranges, as half-open [start, end) UTC dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from footprint.errors import ValidationError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # inclusive
    end: date  # exclusive

    def previous_quarter(self) -> "Period":
        year, q = quarter_of(self.start)
        return parse_quarter(f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}")


def parse_quarter(text: str) -> Period:
    match = _QUARTER.match((text or "").strip())
    if not match:
        raise ValidationError(f"bad period {text!r}: expected YYYY-Qn with n from 1 to 4 (e.g. 2026-Q3)")
    year, q = int(match.group(1)), int(match.group(2))
    if not 1 <= year < 9999:  # the quarter and its end must be dates
        raise ValidationError(f"bad period {text!r}: year out of range 1-9998")
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return Period(f"{year}-Q{q}", start, end)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_label(day: date) -> str:
    year, q = quarter_of(day)
    return f"{year}-Q{q}"


def parse_date(text: str, field: str = "date") -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationError(f"bad {field} {text!r}: expected YYYY-MM-DD") from None


def parse_timestamp(text: str, field: str = "time") -> datetime:
    """ISO 8601 timestamp (date alone allowed) as a naive UTC datetime, the store's convention."""
    raw = (text or "").strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise ValidationError(f"bad {field} {text!r}: expected an ISO 8601 time such as 2026-07-01T12:00:00Z") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable UTC time
            raise ValidationError(f"bad {field} {text!r}: out of the representable range") from None
    return value


def date_range(start: str, end: str) -> Period:
    first, last = parse_date(start, "--from date"), parse_date(end, "--to date")
    if last < first:
        raise ValidationError(f"bad period: --to {last} is before --from {first}")
    return Period(f"{first}..{last}", first, last + timedelta(days=1))
