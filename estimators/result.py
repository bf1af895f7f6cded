"""The result of an estimate: energy by boundary and its impacts, each with an 80% range."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from footprint.errors import ValidationError
from footprint.records import Range

ENERGY_KEYS = ("gpu", "host", "facility", "total")


@dataclass(frozen=True)
class Estimate:
    """`energy_wh`: gpu (accelerators), host (CPU + RAM + idle capacity), facility (data-centre
    overhead, IT x (PUE - 1)) and total (IT x PUE), so gpu + host + facility = total.
    `gco2e` is location-based use-phase carbon of the total; `embodied_gco2e` (hardware
    manufacturing, SCI amortisation) is reported separately, never added to it."""

    energy_wh: dict[str, Range]
    gco2e: Range
    water_ml: Range
    embodied_gco2e: Range
    inputs: dict
    sources: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Last line of defence: inputs within every per-field bound can still multiply past a float.
        ranges = (*self.energy_wh.values(), self.gco2e, self.water_ml, self.embodied_gco2e)
        if not all(math.isfinite(x) and x >= 0 for r in ranges for x in (r.value, r.low, r.high)):
            raise ValidationError("inputs out of range: the estimate is not a finite number (check params, tokens, GPUs, batch)")

    def to_json(self) -> dict:
        return {
            "energy_wh": {key: self.energy_wh[key].to_json() for key in ENERGY_KEYS},
            "gco2e": self.gco2e.to_json(),
            "water_ml": self.water_ml.to_json(),
            "embodied_gco2e": self.embodied_gco2e.to_json(),
            "inputs": self.inputs,
            "sources": self.sources,
        }
