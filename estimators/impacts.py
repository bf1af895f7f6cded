"""From GPU energy to the whole footprint: host -> facility -> carbon -> water -> embodied.

Every factor is a cited row of data/reference_factors.csv or data/grid_intensity.csv; ranges
carry through as (value, low, high) numpy arrays so one call serves one estimate or 100,000.

- Host: Google's measured split of a median Gemini prompt (arXiv 2508.15734, Aug 2025):
  accelerators 58%, host CPU + DRAM 25%, idle provisioned capacity 10%, data-centre overhead 8%.
  Host = GPU x (25 + 10) / 58; the low end drops idle capacity (GPU x 25 / 58: a fully loaded,
  dedicated server).
- Facility: IT energy x PUE (default: Uptime Institute 2024 industry average 1.56, range down to
  Google's 1.09 since API providers run hyperscale sites).
- Carbon: total energy x grid factor of the country (latest vintage at or before `year`), else
  CodeCarbon's world fallback (475 gCO2e/kWh, IEA 2019).
- Water: on-site WUE x IT energy (+ electricity-embedded water where the table has it, France).
- Embodied (SCI, ISO/IEC 21031): (GPU + its share of the host server) manufacturing carbon x GPU
  time reserved / lifetime; GPU time = GPU energy / (mean board power), with the mean power share
  of TDP measured in the benchmark (v3 rows).
"""

from __future__ import annotations

import numpy as np

from footprint.estimators import coefficients
from footprint.estimators.hardware import GPUS
from footprint import factors, units

_GOOGLE = "Google, 'Measuring the environmental impact of delivering AI at Google scale' (arXiv 2508.15734, Aug 2025)"
HOST_SHARE_OF_GPU = (25.0 + 10.0) / 58.0
HOST_SHARE_OF_GPU_LOW = 25.0 / 58.0
WORLD_FALLBACK_KEY = "codecarbon_world_fallback_ci"
WUE_ONSITE_DEFAULT = ("wue_microsoft_usa", "wue_microsoft_sweden", "wue_google")  # value, low, high
OFFSITE_WATER = {"FRA": "wue_offsite_fra"}
PUE_DEFAULT = ("pue_industry_avg_2024", "pue_google", "pue_industry_avg_2023")  # value, low, high
HOST_SERVER_KEY = "server_8xh100_host_embodied"  # kgCO2e for an 8-GPU host without GPUs
LIFETIME_KEY = "lifetime_gpu"


def _ref(key: str) -> float:
    return factors.reference_factor(key).number


def pue_triplet(pue: float | None) -> tuple[tuple[float, float, float], bool]:
    """(value, low, high) PUE and whether it was assumed."""
    if pue is not None:
        return (pue, pue, pue), False
    value, low, high = (_ref(k) for k in PUE_DEFAULT)
    return (value, min(low, value), max(high, value)), True


def grid(country: str | None, year: int | None) -> tuple[float, dict]:
    """gCO2e/kWh and its source description."""
    if country is None:
        ref = factors.reference_factor(WORLD_FALLBACK_KEY)
        return ref.number, {
            "what": "grid carbon intensity (no country given: world fallback)",
            "value": ref.number,
            "unit": ref.unit,
            "source": ref.source,
            "locator": ref.locator,
        }
    g = factors.grid_factor(country, year)
    return g.gco2e_per_kwh, {
        "what": f"grid carbon intensity, {g.iso3} {g.year}",
        "value": g.gco2e_per_kwh,
        "unit": "gCO2e/kWh",
        "source": g.source,
        "vintage": g.year,
        "basis": g.basis,
        "license": g.license,
    }


def chain(gpu_wh, pue, grid_gco2e_per_kwh, offsite_l_per_kwh, gpu_key_tdp_w, embodied_kg_per_gpu):
    """gpu_wh: (value, low, high) arrays. pue: (value, low, high). Returns a dict of (v, lo, hi)."""
    gv, gl, gh = (np.asarray(x, dtype=float) for x in gpu_wh)
    host = (gv * HOST_SHARE_OF_GPU, gl * HOST_SHARE_OF_GPU_LOW, gh * HOST_SHARE_OF_GPU)
    it = (gv + host[0], gl + host[1], gh + host[2])
    pv, pl, ph = (np.asarray(x, dtype=float) for x in pue)
    total = (it[0] * pv, it[1] * pl, it[2] * ph)
    facility = (total[0] - it[0], total[1] - it[1], total[2] - it[2])
    ci = np.asarray(grid_gco2e_per_kwh, dtype=float)
    gco2e = tuple(units.wh_to_kwh(t) * ci for t in total)
    wue_v, wue_l, wue_h = (_ref(k) for k in WUE_ONSITE_DEFAULT)
    off = np.asarray(offsite_l_per_kwh, dtype=float)
    water = (
        units.l_to_ml(units.wh_to_kwh(it[0]) * wue_v + units.wh_to_kwh(total[0]) * off),
        units.l_to_ml(units.wh_to_kwh(it[1]) * min(wue_l, wue_v) + units.wh_to_kwh(total[1]) * off),
        units.l_to_ml(units.wh_to_kwh(it[2]) * max(wue_h, wue_v) + units.wh_to_kwh(total[2]) * off),
    )
    power_w = np.asarray(gpu_key_tdp_w, dtype=float) * coefficients.llm()["mean_power_share_of_tdp"]
    per_gpu_kg = np.asarray(embodied_kg_per_gpu, dtype=float) + _ref(HOST_SERVER_KEY) / 8.0
    g_per_gpu_hour = units.kg_to_g(per_gpu_kg) / _ref(LIFETIME_KEY)
    embodied = tuple(units.s_to_h(units.wh_to_j(g) / power_w) * g_per_gpu_hour for g in (gv, gl, gh))
    return {"gpu": (gv, gl, gh), "host": host, "facility": facility, "total": total,
            "gco2e": gco2e, "water_ml": water, "embodied_gco2e": embodied}


def offsite_water(country: str | None) -> float:
    key = OFFSITE_WATER.get(country or "")
    return _ref(key) if key else 0.0


def sources(pue_assumed: bool, pue_value: float, country: str | None, grid_source: dict, gpu_key: str) -> list[dict]:
    out = [
        {
            "what": "host CPU + DRAM and idle capacity, as a share of accelerator energy",
            "value": round(HOST_SHARE_OF_GPU, 4),
            "low": round(HOST_SHARE_OF_GPU_LOW, 4),
            "source": _GOOGLE,
            "detail": "accelerators 58%, host 25%, idle 10%, overhead 8% of a median prompt; low end without idle",
        },
    ]
    if pue_assumed:
        ref = factors.reference_factor(PUE_DEFAULT[0])
        out.append({"what": "PUE (assumed)", "value": ref.number, "low": _ref(PUE_DEFAULT[1]),
                    "high": _ref(PUE_DEFAULT[2]), "source": ref.source, "locator": ref.locator})
    else:
        out.append({"what": "PUE (given)", "value": pue_value, "source": "user input"})
    out.append(grid_source)
    wue = factors.reference_factor(WUE_ONSITE_DEFAULT[0])
    out.append({"what": "on-site water use effectiveness", "value": wue.number, "unit": wue.unit,
                "low": _ref(WUE_ONSITE_DEFAULT[1]), "high": _ref(WUE_ONSITE_DEFAULT[2]), "source": wue.source})
    if country in OFFSITE_WATER:
        ref = factors.reference_factor(OFFSITE_WATER[country])
        out.append({"what": "water embedded in electricity", "value": ref.number, "unit": ref.unit, "source": ref.source})
    spec = GPUS[gpu_key]
    host = factors.reference_factor(HOST_SERVER_KEY)
    life = factors.reference_factor(LIFETIME_KEY)
    out.append({
        "what": "embodied carbon (SCI amortisation: manufacturing x time reserved / lifetime)",
        "gpu_kgco2e": spec.embodied_kgco2e,
        "gpu_source": spec.embodied_source,
        "host_kgco2e_per_gpu": host.number / 8.0,
        "host_source": host.source,
        "lifetime_h": life.number,
        "lifetime_source": life.source,
        "formula": factors.reference_factor("sci_formula").value,
    })
    return out
