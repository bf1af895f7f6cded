"""Our own measured GPU energy per token, per model: what `footprint estimate` calibrates with.

Only single-model intervals count (their GPU energy belongs to that model's tokens without any
allocation rule). The estimator weighs input tokens by its prefill weight and takes the spread
(10th-90th percentile of intervals) as the range; see estimators.llm.estimate_llm(calibration=...).
"""

from __future__ import annotations

from dataclasses import dataclass

from footprint.store import Store


@dataclass(frozen=True)
class Calibration:
    model: str
    gpu_j: tuple[float, ...]  # per interval
    output_tokens: tuple[int, ...]
    input_tokens: tuple[int, ...]
    hosts: tuple[str, ...]

    @property
    def intervals(self) -> int:
        return len(self.gpu_j)

    @property
    def j_per_output_token(self) -> float:
        """Plain measured GPU J per output token (input tokens not separated)."""
        return sum(self.gpu_j) / sum(self.output_tokens)


def measured_calibration(store: Store, model: str) -> Calibration | None:
    """The store's measured intervals for `model`, or None when there are none."""
    rows = store.rows_as_dicts("estimators/calibration_intervals", {"model": model})
    if not rows:
        return None
    return Calibration(
        model=model,
        gpu_j=tuple(float(r["gpu_j"]) for r in rows),
        output_tokens=tuple(int(r["output_tokens"]) for r in rows),
        input_tokens=tuple(int(r["input_tokens"] or 0) for r in rows),
        hosts=tuple(sorted({r["host"] for r in rows})),
    )
