"""Shipped factor tables (grid intensity, reference factors, model register).

Tables are read from the installed `data` package through importlib.resources, never relative
to the working directory, and parsed once per process.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

from footprint.errors import NotFoundError, ValidationError

# Preferred source per country, then the general order. ADEME's consumption-mix factor is the one
# French BEGES reports must use; elsewhere Ember's yearly data is the most recent consistent series.
_SOURCE_PREFERENCE = ("ADEME", "Ember", "Our World in Data")


@dataclass(frozen=True)
class GridFactor:
    iso3: str
    country: str
    year: int  # the vintage actually used (latest available at or before the requested year)
    gco2e_per_kwh: float
    source: str
    basis: str
    license: str


@dataclass(frozen=True)
class ReferenceFactor:
    key: str
    value: str
    unit: str
    scope_note: str
    source: str
    locator: str

    @property
    def number(self) -> float:
        return float(self.value)


def read_data_text(name: str) -> str:
    """Text of a shipped data file, from the installed package."""
    return resources.files("footprint.data").joinpath(name).read_text(encoding="utf-8")


def read_data_csv(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(read_data_text(name))))


@functools.cache
def _grid_rows() -> dict[str, list[GridFactor]]:
    by_country: dict[str, list[GridFactor]] = {}
    for row in read_data_csv("grid_intensity.csv"):
        factor = GridFactor(
            iso3=row["iso3"],
            country=row["country"],
            year=int(row["year"]),
            gco2e_per_kwh=float(row["gco2e_per_kwh"]),
            source=row["source"],
            basis=row["basis"],
            license=row["license"],
        )
        by_country.setdefault(factor.iso3, []).append(factor)
    return by_country


def known_countries() -> frozenset[str]:
    return frozenset(_grid_rows())


def validate_country(iso3: str) -> str:
    """Return the ISO 3166 alpha-3 code upper-cased, or raise if the grid table lacks it."""
    code = (iso3 or "").strip().upper()
    if code not in _grid_rows():
        raise ValidationError(
            f"unknown country {iso3!r}: expected an ISO 3166 alpha-3 code present in the grid table (e.g. FRA, DEU, USA)"
        )
    return code


def _source_rank(source: str) -> int:
    for rank, prefix in enumerate(_SOURCE_PREFERENCE):
        if source.startswith(prefix):
            return rank
    return len(_SOURCE_PREFERENCE)


def grid_factor(iso3: str, year: int | None = None, source: str | None = None) -> GridFactor:
    """Grid carbon intensity for a country: the latest vintage at or before `year`
    (else the earliest after it), from the preferred source unless `source` (a prefix) is given."""
    code = validate_country(iso3)
    rows = _grid_rows()[code]
    if source:
        rows = [r for r in rows if r.source.lower().startswith(source.lower())]
        if not rows:
            raise NotFoundError(f"no grid factor for {code} from source {source!r}")
    if year is not None:
        earlier = [r for r in rows if r.year <= year]
        rows = earlier or sorted(rows, key=lambda r: r.year)[:1]
    best_year = max(r.year for r in rows)
    candidates = [r for r in rows if r.year == best_year]
    return min(candidates, key=lambda r: (_source_rank(r.source), r.source))


@functools.cache
def _reference_rows() -> dict[str, ReferenceFactor]:
    return {row["key"]: ReferenceFactor(**row) for row in read_data_csv("reference_factors.csv")}


def reference_factor(key: str) -> ReferenceFactor:
    try:
        return _reference_rows()[key]
    except KeyError:
        raise NotFoundError(f"no reference factor named {key!r}") from None


def reference_factors() -> dict[str, ReferenceFactor]:
    return dict(_reference_rows())


@functools.cache
def model_register() -> tuple[dict[str, str], ...]:
    """Rows of data/llm_models.csv (provider, model, arch, parameter ranges in billions...)."""
    return tuple(read_data_csv("llm_models.csv"))
