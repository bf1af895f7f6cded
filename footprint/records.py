"""Plain frozen records passed between the library layers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import Enum


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

    def to_json(self) -> dict:
        data = asdict(self)
        data["tags"] = list(self.tags)
        for key in ("started", "retired"):
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
