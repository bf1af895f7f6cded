"""Per-token and per-image energy estimators, with calibrated 80% ranges.

    from footprint.estimators import estimate_llm, estimate_llm_batch, estimate_images, Estimate

Only numpy and footprint's leaf modules are imported; the fitted coefficients are read from
data/ on first use (no fitting at run time).
"""

from footprint.estimators.images import estimate_images
from footprint.estimators.llm import estimate_llm, estimate_llm_batch
from footprint.estimators.result import Estimate

__all__ = ["Estimate", "estimate_images", "estimate_llm", "estimate_llm_batch"]
