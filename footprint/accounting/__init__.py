"""One accounting engine for every report and comparison (see DESIGN.md, Accounting)."""

from footprint.accounting.engine import DEFAULT_INPUT_WEIGHT, METHOD_DESCRIPTIONS, account
from footprint.accounting.model import Accounting, Conservation, EstimateGroup, Impacts, UseCaseResult
from footprint.accounting.periods import default_period, period_has_data, previous_period

__all__ = [
    "DEFAULT_INPUT_WEIGHT", "METHOD_DESCRIPTIONS", "Accounting", "Conservation", "EstimateGroup", "Impacts",
    "UseCaseResult", "account", "default_period", "period_has_data", "previous_period",
]
