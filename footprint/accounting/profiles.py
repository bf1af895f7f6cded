"""Where each figure's factors come from: PUE, grid factors, water, contractual factor, hardware.

Resolution order for a use case: its own field, then its site (`region` = site name), then the
shipped default (reference_factors.csv). Every factor used is recorded with its source and vintage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from footprint.errors import NotFoundError
from footprint.factors import GridFactor, grid_factor, reference_factor
from footprint.records import UseCase
from footprint.sites import Site

DEFAULT_PUE_KEY = "pue_industry_avg_2024"
WORLD_FALLBACK_KEY = "codecarbon_world_fallback_ci"  # used only when no country is known at all
GPU_EMBODIED_KEY = "h100_per_gpu_embodied"
GPU_LIFETIME_KEY = "lifetime_gpu"
SERVER_EMBODIED_KEY = "boavizta_generic_server_fallback"
SERVER_LIFETIME_KEY = "lifetime_server_onprem"

# Stated instrument / model uncertainty of measured energy, relative, by method kind. NVML energy
# and power readings and RAPL counters are within a few percent of wall meters; CodeCarbon's
# CPU-load x TDP and RAM models are coarse. These are this tool's stated assumptions.
METHOD_UNCERTAINTY = {"measured": 0.05, "modelled": 0.30, None: 0.30}
# The embodied hardware profile is generic (assumed H100-class GPUs in a generic server).
EMBODIED_UNCERTAINTY = 0.50


@dataclass(frozen=True)
class Profile:
    """The factors that turn one use case's (or host's) IT energy into impacts."""

    key: str  # use-case slug, or "default"
    pue: float
    pue_source: str
    country: str | None
    grid: GridFactor | None  # None: no country known, world fallback used
    grid_gco2e_per_kwh: float
    market_gco2e_per_kwh: float | None
    market_source: str | None
    wue_onsite_l_per_kwh: float
    wue_source: str
    grid_water_l_per_kwh: float | None
    grid_water_source: str | None


@dataclass
class FactorBook:
    """Every factor the report used, keyed so each appears once in the methodology."""

    entries: dict[str, dict] = field(default_factory=dict)

    def add(self, key: str, **entry) -> None:
        self.entries.setdefault(key, {"key": key, **entry})

    def to_list(self) -> list[dict]:
        return [self.entries[k] for k in sorted(self.entries)]


def _ref_entry(book: FactorBook, key: str, used_for: str) -> float:
    ref = reference_factor(key)
    book.add(f"ref:{key}", name=key, value=ref.number, unit=ref.unit, source=ref.source, vintage=None,
             note=ref.scope_note, used_for=used_for)
    return ref.number


def grid_water_factor(country: str | None) -> tuple[float | None, str | None]:
    """Water consumed per kWh of electricity generated in `country` (L/kWh), when shipped."""
    if not country:
        return None, None
    try:
        ref = reference_factor(f"wue_offsite_{country.lower()}")
    except NotFoundError:
        return None, None
    return ref.number, f"wue_offsite_{country.lower()}"


def resolve_profile(use_case: UseCase | None, site: Site | None, year: int, book: FactorBook) -> Profile:
    key = use_case.slug if use_case else "default"
    if use_case and use_case.pue is not None:
        pue, pue_source = use_case.pue, f"use case {use_case.slug} (register)"
    elif site and site.pue is not None:
        pue, pue_source = site.pue, f"site {site.name}"
    else:
        pue, pue_source = _ref_entry(book, DEFAULT_PUE_KEY, "PUE when neither use case nor site gives one"), DEFAULT_PUE_KEY
    if pue_source != DEFAULT_PUE_KEY:
        book.add(f"pue:{pue_source}", name="PUE", value=pue, unit="ratio", source=pue_source, vintage=None,
                 note="given by the user", used_for="facility energy = IT energy x PUE")

    country = (use_case.country if use_case else None) or (site.country if site else None)
    if country:
        grid = grid_factor(country, year)
        grid_value = grid.gco2e_per_kwh
        book.add(f"grid:{grid.iso3}:{grid.year}:{grid.source}", name=f"grid intensity {grid.iso3}",
                 value=grid.gco2e_per_kwh, unit="gCO2e/kWh", source=grid.source, vintage=grid.year,
                 note=f"{grid.basis}; licence {grid.license}", used_for=f"location-based carbon ({grid.country})")
    else:
        grid = None
        grid_value = _ref_entry(book, WORLD_FALLBACK_KEY, "location-based carbon when no country is known")

    if use_case and use_case.market_gco2e_per_kwh is not None:
        market, market_source = use_case.market_gco2e_per_kwh, f"use case {use_case.slug} (contract)"
    elif site and site.market_gco2e_per_kwh is not None:
        market, market_source = site.market_gco2e_per_kwh, f"site {site.name} (contract)"
    else:
        market, market_source = None, None
    if market is not None:
        book.add(f"market:{market_source}", name="contractual factor", value=market, unit="gCO2e/kWh",
                 source=market_source, vintage=year, note="user-given; must meet GHG Protocol Scope 2 quality criteria",
                 used_for="market-based carbon")

    if site and site.wue_l_per_kwh is not None:
        wue, wue_source = site.wue_l_per_kwh, f"site {site.name}"
        book.add(f"wue:{site.name}", name="on-site WUE", value=wue, unit="L/kWh", source=wue_source, vintage=None,
                 note="given by the user", used_for="on-site water = IT energy x WUE")
    else:
        wue, wue_source = 0.0, "none given (0: no evaporative cooling assumed)"

    water, water_key = grid_water_factor(country)
    if water_key:
        _ref_entry(book, water_key, "water of electricity generation = facility energy x factor")
    return Profile(
        key=key, pue=pue, pue_source=pue_source, country=country, grid=grid, grid_gco2e_per_kwh=grid_value,
        market_gco2e_per_kwh=market, market_source=market_source, wue_onsite_l_per_kwh=wue,
        wue_source=wue_source, grid_water_l_per_kwh=water, grid_water_source=water_key,
    )


def host_embodied_gco2e_per_h(gpus: int, book: FactorBook) -> float:
    """SCI amortisation rate of a host: manufacturing carbon / expected lifetime (gCO2e per hour reserved)."""
    gpu_kg = _ref_entry(book, GPU_EMBODIED_KEY, "embodied carbon per GPU (SCI amortisation)")
    gpu_life_h = _ref_entry(book, GPU_LIFETIME_KEY, "GPU lifetime (SCI amortisation)")
    server_kg = _ref_entry(book, SERVER_EMBODIED_KEY, "embodied carbon of the host server (SCI amortisation)")
    server_life_h = _ref_entry(book, SERVER_LIFETIME_KEY, "server lifetime (SCI amortisation)")
    return gpus * gpu_kg * 1000.0 / gpu_life_h + server_kg * 1000.0 / server_life_h
