"""Result records of the accounting engine (frozen), shared by every report and comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from footprint.periods import Period
from footprint.records import Range, UseCase

ZERO = Range(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Impacts:
    """Impacts of one bucket (a use case, idle energy, or a total). Ranges are {value, low, high}."""

    energy_kwh: Range = ZERO  # facility energy for measured use (IT x PUE); the estimate's total otherwise
    it_energy_kwh: Range = ZERO  # measured IT energy (GPU + CPU + RAM), before PUE
    gco2e: Range = ZERO  # location-based
    gco2e_market: Range = ZERO  # market-based where a contractual factor exists, else = location-based
    water_l: Range = ZERO
    embodied_gco2e: Range = ZERO  # SCI amortisation, reported apart from use
    gpu_kwh: float = 0.0
    cpu_kwh: float = 0.0
    ram_kwh: float = 0.0
    overhead_kwh: float = 0.0  # facility - IT (cooling, power conversion)
    estimated_kwh: float = 0.0
    measured_kwh: float = 0.0  # facility energy whose IT part was measured (NVML, RAPL, DCGM...)
    modelled_kwh: float = 0.0  # facility energy whose IT part was modelled (CPU load x TDP, RAM model)
    scope2_kwh: float = 0.0  # own operations (on-prem) energy
    scope2_gco2e: Range = ZERO
    scope2_gco2e_market: Range = ZERO
    scope3_cat1_gco2e: Range = ZERO  # purchased AI services (API, cloud), incl. their embodied share
    scope3_cat2_gco2e: Range = ZERO  # own hardware, SCI amortised share

    def __add__(self, other: "Impacts") -> "Impacts":
        values = {}
        for name in self.__dataclass_fields__:
            values[name] = getattr(self, name) + getattr(other, name)
        return Impacts(**values)

    @property
    def measured_share(self) -> float:
        total = self.energy_kwh.value
        return min(1.0, max(0.0, self.measured_kwh / total)) if total > 0 else 0.0


@dataclass(frozen=True)
class EstimateGroup:
    """Usage rows estimated together (energy is linear in tokens, so one call per group)."""

    use_case: str
    model: str | None
    country: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    energy_kwh: Range
    gco2e: Range
    sources: tuple[str, ...]
    error: str | None = None  # the estimator refused the group (e.g. unknown model): shown, never dropped
    serving_year: int | None = None  # calendar year of the tokens: picks the serving-software generation
    serving_generation: str | None = None  # as the estimator named it (physics.SERVING_GENERATIONS)
    basis: str = "fit"  # "fit" (fitted estimator) or "measured" (our own measured J/token for this model)
    fit_j_per_output_token: float | None = None  # the fitted estimate's GPU J per output token
    measured_j_per_output_token: float | None = None  # our own measurements of the model, where any


@dataclass(frozen=True)
class UseCaseResult:
    use_case: UseCase
    impacts: Impacts
    benefit: dict | None  # {value, unit, evidence}
    gco2e_per_benefit_unit: Range | None
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    estimates: tuple[EstimateGroup, ...]
    measured_uj: int  # IT energy allocated from measurements, exact (microjoules)
    idle_allocated_uj: int  # of which idle energy given by --allocate-idle
    gpu_crosscheck_disagreements: int = 0  # intervals whose GPU counter and power usage disagreed (issue 16)

    @property
    def slug(self) -> str:
        return self.use_case.slug

    @property
    def measured_share(self) -> float:
        return self.impacts.measured_share


@dataclass(frozen=True)
class Conservation:
    """Exact energy balance in microjoules: measured == allocated + idle + unallocated."""

    measured_uj: int
    allocated_uj: int
    idle_uj: int
    unallocated_uj: int
    idle_allocated_uj: int  # part of allocated_uj that came from idle (--allocate-idle)

    @property
    def holds(self) -> bool:
        return self.measured_uj == self.allocated_uj + self.idle_uj + self.unallocated_uj


@dataclass(frozen=True)
class Accounting:
    period: Period
    use_cases: tuple[UseCaseResult, ...]
    idle: Impacts  # idle + unallocated energy not given to a use case
    idle_only: Impacts
    unallocated: Impacts
    totals: Impacts
    conservation: Conservation
    factors: tuple[dict, ...]
    methods: tuple[dict, ...]
    warnings: tuple[str, ...]
    input_weight: Fraction
    allocate_idle: bool
    has_data: bool = field(default=True)

    def use_case(self, slug: str) -> UseCaseResult:
        for result in self.use_cases:
            if result.slug == slug:
                return result
        raise KeyError(slug)
