"""Sites: where on-prem use cases run, with PUE, on-site WUE and a contractual electricity factor.

A use case refers to its site through its `region` field. Values given on the use case itself
(pue, market factor, country) win over the site's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from footprint.records import MAX_PUE
from footprint.errors import NotFoundError, ValidationError
from footprint.factors import validate_country
from footprint.store import Store


@dataclass(frozen=True)
class Site:
    name: str
    pue: float | None = None
    wue_l_per_kwh: float | None = None
    market_gco2e_per_kwh: float | None = None
    country: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _number(field: str, value: float | None, minimum: float, maximum: float = 1e6) -> float | None:
    # A bound keeps absurd inputs (1e308) from turning report figures into inf/NaN.
    if value is None:
        return None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ValidationError(f"bad {field} {value!r}: expected a number from {minimum:g} to {maximum:g}")
    return float(value)


def set_site(
    store: Store,
    name: str,
    *,
    pue: float | None = None,
    wue_l_per_kwh: float | None = None,
    market_gco2e_per_kwh: float | None = None,
    country: str | None = None,
) -> Site:
    """Create a site or change the fields given (others keep their value)."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise ValidationError(f"bad site name {name!r}: 1-200 printable characters")
    params = {
        "name": name,
        "pue": _number("--pue", pue, 1.0, MAX_PUE),
        "wue_l_per_kwh": _number("--wue", wue_l_per_kwh, 0.0),
        "market_gco2e_per_kwh": _number("--market-factor", market_gco2e_per_kwh, 0.0),
        "country": validate_country(country) if country is not None else None,
    }
    store.query("report/upsert_site", params)
    return get_site(store, name)


def list_sites(store: Store) -> list[Site]:
    return [Site(**row) for row in store.rows_as_dicts("report/select_sites", {"name": None})]


def get_site(store: Store, name: str) -> Site:
    rows = store.rows_as_dicts("report/select_sites", {"name": name})
    if not rows:
        raise NotFoundError(f"unknown site {name!r} (see `footprint site list`)")
    return Site(**rows[0])
