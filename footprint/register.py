"""The use-case register and the benefits each use case claims per quarter."""

from __future__ import annotations

import math
import re
from datetime import date

from footprint.errors import DuplicateError, NotFoundError, ValidationError
from footprint.factors import validate_country
from footprint.periods import parse_quarter
from footprint.records import MAX_PUE, Benefit, DataLocation, Deployment, Purpose, Status, UseCase
from footprint.store import Store

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_MAX_TEXT = 2000

# Fields `usecase edit` may change (slug is the identity; retirement goes through retire()).
EDITABLE_FIELDS = (
    "name", "description", "team", "purpose", "status", "deployment", "provider", "model",
    "country", "region", "hardware", "started", "retired", "tags", "pue", "market_gco2e_per_kwh",
    "data_location", "last_consultation",
)


def validate_slug(slug: str) -> str:
    if not _SLUG.match(slug or ""):
        raise ValidationError(
            f"bad slug {slug!r}: use 1-64 characters from a-z, 0-9 and '-', not starting or ending with '-'"
        )
    return slug


def _text(field: str, value: str | None, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ValidationError(f"{field} is required")
        return None
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} must not be empty")
    if len(value) > _MAX_TEXT:
        raise ValidationError(f"{field} is longer than {_MAX_TEXT} characters")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise ValidationError(f"{field} contains control characters")
    return value or None


def _choice(field: str, value: str, enum) -> str:
    allowed = [m.value for m in enum]
    if value not in allowed:
        raise ValidationError(f"bad {field} {value!r}: expected one of {', '.join(allowed)}")
    return value


def _positive(field: str, value: float | None, minimum: float = 0.0, maximum: float = 1e6) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ValidationError(f"bad {field} {value!r}: expected a number from {minimum:g} to {maximum:g}")
    return float(value)


def _normalise(fields: dict) -> dict:
    """Validate and normalise the register fields present in `fields`."""
    out = dict(fields)
    for key in ("name", "team"):
        if key in out:
            out[key] = _text(key, out[key], required=True)
    for key in ("description", "provider", "model", "region", "hardware"):
        if key in out:
            out[key] = _text(key, out[key])
    if "status" in out:
        out["status"] = _choice("status", out["status"], Status)
    if "deployment" in out:
        out["deployment"] = _choice("deployment", out["deployment"], Deployment)
    if out.get("data_location") is not None:
        out["data_location"] = _choice("data location", out["data_location"], DataLocation)
    if "purpose" in out:
        out["purpose"] = _choice("purpose", out["purpose"] or "other", Purpose)
    if out.get("country") is not None:
        out["country"] = validate_country(out["country"])
    if "pue" in out:
        out["pue"] = _positive("pue", out["pue"], 1.0, MAX_PUE)
    if "market_gco2e_per_kwh" in out:
        out["market_gco2e_per_kwh"] = _positive("market factor", out["market_gco2e_per_kwh"])
    if "tags" in out:
        tags = tuple(sorted({t.strip() for t in (out["tags"] or ()) if t and t.strip()}))
        for tag in tags:
            _text("tag", tag)
        out["tags"] = tags
    for key in ("started", "retired", "last_consultation"):
        if key in out and out[key] is not None and not isinstance(out[key], date):
            raise ValidationError(f"bad {key} date {out[key]!r}")
    return out


def _row_to_use_case(row: dict) -> UseCase:
    row = dict(row)
    row["tags"] = tuple(row.get("tags") or ())
    return UseCase(**row)


def add_use_case(store: Store, use_case: UseCase) -> UseCase:
    validate_slug(use_case.slug)
    fields = _normalise({k: v for k, v in use_case.__dict__.items() if k != "slug"})
    if fields.get("retired") and fields["status"] != "retired":
        raise ValidationError("a retired date needs status 'retired' (or use `usecase retire`)")
    if store.query("register/select_use_cases", {"status": None, "slug": use_case.slug}).fetchone():
        raise DuplicateError(f"use case {use_case.slug!r} already exists")
    params = {"slug": use_case.slug, **fields, "tags": list(fields["tags"])}
    store.query("register/insert_use_case", params)
    return get_use_case(store, use_case.slug)


def list_use_cases(store: Store, status: str | None = None) -> list[UseCase]:
    if status is not None:
        _choice("status", status, Status)
    rows = store.rows_as_dicts("register/select_use_cases", {"status": status, "slug": None})
    return [_row_to_use_case(r) for r in rows]


def get_use_case(store: Store, slug: str) -> UseCase:
    rows = store.rows_as_dicts("register/select_use_cases", {"status": None, "slug": slug})
    if not rows:
        raise NotFoundError(f"unknown use case {slug!r} (see `footprint usecase list`)")
    return _row_to_use_case(rows[0])


def require_use_cases(store: Store, slugs) -> None:
    """Raise NotFoundError naming the first slug that is not registered."""
    known = {u.slug for u in list_use_cases(store)}
    for slug in slugs:
        if slug not in known:
            raise NotFoundError(f"unknown use case {slug!r} (see `footprint usecase list`)")


def edit_use_case(store: Store, slug: str, changes: dict) -> UseCase:
    get_use_case(store, slug)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"cannot edit field(s) {', '.join(sorted(unknown))}")
    if not changes:
        raise ValidationError("nothing to change: give at least one field option")
    fields = _normalise(changes)
    if "tags" in fields:
        fields["tags"] = list(fields["tags"])
    # Column names come from EDITABLE_FIELDS only; every value is bound.
    assignments = ", ".join(f"{column} = ${column}" for column in fields)
    store.execute(
        f"UPDATE use_cases SET {assignments}, updated_at = now()::TIMESTAMP WHERE slug = $slug",
        {**fields, "slug": slug},
    )
    return get_use_case(store, slug)


def retire_use_case(store: Store, slug: str, on: date | None = None) -> UseCase:
    current = get_use_case(store, slug)
    retired_on = on or date.today()
    if current.started and retired_on < current.started:
        raise ValidationError(f"retirement date {retired_on} is before the start date {current.started}")
    return edit_use_case(store, slug, {"status": "retired", "retired": retired_on})


def set_benefit(store: Store, slug: str, period: str, value: float, unit: str, evidence: str | None = None) -> Benefit:
    get_use_case(store, slug)
    label = parse_quarter(period).label
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"bad benefit value {value!r}: expected a finite number >= 0")
    unit = _text("unit", unit, required=True)
    evidence = _text("evidence", evidence)
    params = {"use_case": slug, "period": label}
    with store.transaction():
        store.query("register/archive_benefit", params)
        store.query("register/upsert_benefit", {**params, "value": float(value), "unit": unit, "evidence": evidence})
    return next(b for b in list_benefits(store, slug) if b.period == label)


def list_benefits(store: Store, slug: str | None = None) -> list[Benefit]:
    if slug is not None:
        get_use_case(store, slug)
    return [Benefit(**row) for row in store.rows_as_dicts("register/select_benefits", {"use_case": slug})]


def benefit_history(store: Store, slug: str) -> list[dict]:
    return store.rows_as_dicts("register/select_benefit_history", {"use_case": slug})
