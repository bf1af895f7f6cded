"""Plain frozen records passed between the library layers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import Enum


# No data centre runs above ~3; a bound keeps absurd inputs (1e308) from turning figures into inf/NaN.
MAX_PUE = 10.0


class Status(str, Enum):
    idea = "idea"
    experiment = "experiment"
    pilot = "pilot"
    production = "production"
    retired = "retired"


class Deployment(str, Enum):
    on_prem = "on-prem"
    cloud = "cloud"
    api = "api"


class DataLocation(str, Enum):
    """Where a use case's data is processed (the transparency register's field)."""

    on_prem = "on-prem"
    eu = "eu"
    outside_eu = "outside-eu"


class Purpose(str, Enum):
    code_assistance = "code-assistance"
    code_analysis = "code-analysis"
    document_generation = "document-generation"
    data_analysis = "data-analysis"
    decision_support = "decision-support"
    workflow_automation = "workflow-automation"
    tender_analysis = "tender-analysis"
    customer_service = "customer-service"
    translation = "translation"
    search = "search"
    other = "other"


@dataclass(frozen=True)
class UseCase:
    slug: str
    name: str
    team: str
    status: str
    deployment: str
    purpose: str = "other"
    description: str | None = None
    provider: str | None = None
    model: str | None = None
    country: str | None = None
    region: str | None = None
    hardware: str | None = None
    started: date | None = None
    retired: date | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    pue: float | None = None
    market_gco2e_per_kwh: float | None = None
    data_location: str | None = None  # DataLocation value; None = not stated
    last_consultation: date | None = None  # last consultation of staff representatives

    def to_json(self) -> dict:
        data = asdict(self)
        data["tags"] = list(self.tags)
        for key in ("started", "retired", "last_consultation"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class Benefit:
    use_case: str
    period: str
    value: float
    unit: str
    evidence: str | None
    set_at: datetime

    def to_json(self) -> dict:
        return {
            "use_case": self.use_case,
            "period": self.period,
            "value": self.value,
            "unit": self.unit,
            "evidence": self.evidence,
            "set_at": self.set_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class Range:
    """A figure with its range: `low <= value <= high` (an 80% interval for estimates)."""

    value: float
    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> "Range":
        return cls(value, value, value)

    def scaled(self, factor: float) -> "Range":
        values = sorted((self.low * factor, self.high * factor))
        return Range(self.value * factor, values[0], values[1])

    def __add__(self, other: "Range") -> "Range":
        return Range(self.value + other.value, self.low + other.low, self.high + other.high)

    def to_json(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}


# Method strings say how a figure was obtained: "<kind>:<how>", kind one of
# measured | modelled | estimated (reports derive the measured share from the kind).
METHOD_KINDS = ("measured", "modelled", "estimated")


def method_kind(method: str | None) -> str | None:
    return method.split(":", 1)[0] if method else None


@dataclass(frozen=True)
class TokenCount:
    """Tokens served in one interval for one use case and model (a shared server's split key)."""

    use_case: str
    model: str
    input_tokens: int
    output_tokens: int
    requests: int


@dataclass(frozen=True)
class IntervalRecord:
    """One measured interval of one host. Energies in joules; None = not measured.

    `record_id` is unique and stable (the spool and re-collection rely on it for exactly-once).
    `shared`: the host serves several use cases and its energy is split by `tokens`;
    otherwise all energy goes to `use_case` (None = unallocated, e.g. an unmapped cluster pod).
    """

    record_id: str
    use_case: str | None
    host: str
    start: datetime  # naive UTC
    end: datetime  # naive UTC
    source: str  # run | monitor | track | codecarbon-csv | prometheus | demo ...
    gpu_j: float | None = None
    cpu_j: float | None = None
    ram_j: float | None = None
    gpu_method: str | None = None
    cpu_method: str | None = None
    ram_method: str | None = None
    gpu_devices: str | None = None  # comma-separated GPU UUIDs
    gpu_low_confidence: bool = False
    shared: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    requests: int | None = None
    tokens: tuple[TokenCount, ...] = ()
    # GPU cross-check (issue 16): counter energy / integrated nvmlDeviceGetPowerUsage energy over the
    # interval, None when nothing was cross-checked; `disagrees` when they differ by more than 10%.
    gpu_crosscheck_ratio: float | None = None
    gpu_crosscheck_disagrees: bool | None = None
