"""Per-step GPU energy and token counts from range-query series (raw step samples, no extrapolation).

A range query of a bare selector gives, at each step t, the series' last sample at or before t.
The increase of a counter over the step (t - step, t] is the difference of consecutive values, or
the new value itself when the counter went down (exporter or driver restart: counting restarted
from zero). We never use PromQL's increase(), which extrapolates to the window edges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from footprint import units
from footprint.cluster.prometheus import Series

DCGM_COUNTER = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # mJ since boot, counter
DCGM_POWER = "DCGM_FI_DEV_POWER_USAGE"  # W, gauge
# Kepler's GPU joules per workload: 0.7 names the container metric, >= 0.10 adds the pod one.
# Only one granularity is used at a time so the same energy is never counted twice.
KEPLER_GPU = ("kepler_container_gpu_joules_total", "kepler_pod_gpu_joules_total")
# Labels that split one workload's Kepler energy in parts that add up (idle/dynamic share, state).
KEPLER_PART_LABELS = ("mode", "state")

METHOD_DCGM_COUNTER = "measured:dcgm-counter"
METHOD_DCGM_POWER = "measured:dcgm-power"
METHOD_KEPLER = "measured:kepler"

# Token counters of inference servers: metric -> field of TokenCount.
TOKEN_METRICS = {
    "vllm:prompt_tokens_total": "input_tokens",
    "vllm:generation_tokens_total": "output_tokens",
    "vllm:request_success_total": "requests",
    "sglang:prompt_tokens_total": "input_tokens",
    "sglang:generation_tokens_total": "output_tokens",
    "sglang:num_requests_total": "requests",
}

# One selector per kind: every series of these names, evaluated at each step (no functions).
ENERGY_QUERY = '{__name__=~"%s"}' % "|".join([DCGM_COUNTER, DCGM_POWER, *KEPLER_GPU])
TOKEN_QUERY = '{__name__=~"%s"}' % "|".join(TOKEN_METRICS)


def step_index(ts: float, step_s: float) -> int:
    return int(round(ts / step_s))


def counter_increments(samples, step_s: float) -> dict[int, tuple[float, bool]]:
    """Increase of a counter per step, keyed by the step's START index (ts / step).

    samples: (unix_s, value) at step timestamps, in time order. A gap of k steps between two
    samples spreads the increase evenly over the k steps, flagged low confidence.
    """
    out: dict[int, tuple[float, bool]] = {}
    for (t0, v0), (t1, v1) in zip(samples, samples[1:]):
        i0, i1 = step_index(t0, step_s), step_index(t1, step_s)
        if i1 <= i0:
            continue
        increase = v1 - v0 if v1 >= v0 else v1  # a decrease is a reset: counting restarted at 0
        k = i1 - i0
        for i in range(i0, i1):
            out[i] = (increase / k, k > 1)
    return out


def reset_steps(samples, step_s: float) -> set[int]:
    """Start indices of the steps over which a counter went down (a reset)."""
    return {step_index(t0, step_s) for (t0, v0), (_t1, v1) in zip(samples, samples[1:]) if v1 < v0}


def power_increments(samples, step_s: float) -> dict[int, tuple[float, bool]]:
    """Energy (J) per step from power samples (W): trapezoid between consecutive steps.

    Steps with a missing sample at either end are left out: the power there is unknown.
    """
    out: dict[int, tuple[float, bool]] = {}
    for (t0, p0), (t1, p1) in zip(samples, samples[1:]):
        i0, i1 = step_index(t0, step_s), step_index(t1, step_s)
        if i1 - i0 == 1:
            out[i0] = ((p0 + p1) / 2.0 * (t1 - t0), False)
    return out


def int_split(values: dict[int, float]) -> dict[int, int]:
    """Round per-step float counts to integers whose running total stays the rounded running total."""
    out, total, previous = {}, 0.0, 0
    for i in sorted(values):
        total += values[i]
        current = int(round(total))
        out[i] = current - previous
        previous = current
    return out


def series_key(labels: dict[str, str]) -> str:
    text = "\x1f".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class EnergyUnit:
    """The energy of one GPU (DCGM) or one workload's GPU share (Kepler), step by step."""

    labels: dict[str, str]  # identity labels, without __name__
    method: str
    steps: dict[int, tuple[float, bool]] = field(default_factory=dict)  # start index -> (J, low confidence)
    counted_j: float | None = None  # a counter's first value (J counted before the window); None for power

    @property
    def key(self) -> str:
        return series_key({"__method__": self.method.split(":")[1], **self.labels})


def energy_units(series: list[Series], step_s: float) -> list[EnergyUnit]:
    """GPU energy per unit and step: DCGM counter, else DCGM power, else (no DCGM at all) Kepler."""
    counters, powers, kepler = {}, {}, {}
    for s in series:
        labels = {k: v for k, v in s.labels if k != "__name__"}
        ident = tuple(sorted(labels.items()))
        if s.name == DCGM_COUNTER:
            counters[ident] = s
        elif s.name == DCGM_POWER:
            powers[ident] = s
        elif s.name in KEPLER_GPU:
            kepler.setdefault(s.name, []).append((labels, s))
    units_out: list[EnergyUnit] = []
    for ident, s in counters.items():
        steps = {i: (units.mj_to_j(j), low) for i, (j, low) in counter_increments(s.samples, step_s).items()}
        # Over a reset step the counter only shows what was counted since the reset; the power
        # gauge of the same GPU, where there is one, covers the whole step (flagged all the same).
        resets = reset_steps(s.samples, step_s)
        if resets and ident in powers:
            by_power = power_increments(powers[ident].samples, step_s)
            steps.update({i: (by_power[i][0], True) for i in resets if i in by_power})
        units_out.append(EnergyUnit(dict(ident), METHOD_DCGM_COUNTER, steps,
                                    units.mj_to_j(s.samples[0][1]) if s.samples else None))
    for ident, s in powers.items():
        if ident not in counters:  # the counter is absent on GPUs before Volta or when not exported
            units_out.append(EnergyUnit(dict(ident), METHOD_DCGM_POWER, power_increments(s.samples, step_s)))
    if not units_out and kepler:
        name = KEPLER_GPU[0] if KEPLER_GPU[0] in kepler else KEPLER_GPU[1]
        grouped: dict[tuple, EnergyUnit] = {}
        for labels, s in kepler[name]:
            ident = tuple(sorted((k, v) for k, v in labels.items() if k not in KEPLER_PART_LABELS))
            unit = grouped.setdefault(ident, EnergyUnit(dict(ident), METHOD_KEPLER, counted_j=0.0))
            unit.counted_j += s.samples[0][1] if s.samples else 0.0
            for i, (j, low) in counter_increments(s.samples, step_s).items():
                before, before_low = unit.steps.get(i, (0.0, False))
                unit.steps[i] = (before + j, before_low or low)
        units_out.extend(grouped.values())
    return sorted(units_out, key=lambda u: u.key)


# Prometheus' default lookback: a series unseen for longer counts as absent, and so do we.
MAX_FILL_S = 300.0


def fill_leading_steps(units: list[EnergyUnit], devices: list[str], first: int, step_s: float) -> None:
    """Estimate the steps between the window start and a series' first sample, flagged low confidence.

    Prometheus only starts scraping a target some seconds after it starts (target discovery), and
    an exporter restart leaves the same kind of hole. When the device was already running (its
    counter had counted at least the energy filled in) and no other series of the same device
    covers those steps (a DCGM series whose pod label changed), the hole is filled at the first
    observed step's rate, at most MAX_FILL_S back. Later steps always come from samples.
    """
    covered: dict[str, set[int]] = {}
    for unit, device in zip(units, devices):
        covered.setdefault(device, set()).update(unit.steps)
    for unit, device in zip(units, devices):
        if not unit.steps:
            continue
        start = min(unit.steps)
        if start <= first:
            continue
        others = covered[device] - set(unit.steps)
        hole = [i for i in range(max(first, start - int(MAX_FILL_S // step_s)), start) if i not in others]
        per_step_j = unit.steps[start][0]
        if not hole or (unit.counted_j is not None and per_step_j * len(hole) > unit.counted_j):
            continue  # a counter that started inside the hole: the device was not running before
        for i in hole:
            unit.steps[i] = (per_step_j, True)


@dataclass
class TokenSeries:
    """Token (or request) counts of one inference-server series, step by step."""

    labels: dict[str, str]  # without __name__
    field: str  # input_tokens | output_tokens | requests
    steps: dict[int, int]

    @property
    def model(self) -> str:
        return self.labels.get("model_name") or self.labels.get("model") or ""


def token_series(series: list[Series], step_s: float) -> list[TokenSeries]:
    out = []
    for s in series:
        field_name = TOKEN_METRICS.get(s.name)
        if field_name is None:
            continue
        increments = {i: v for i, (v, _low) in counter_increments(s.samples, step_s).items()}
        labels = {k: v for k, v in s.labels if k != "__name__"}
        out.append(TokenSeries(labels, field_name, int_split(increments)))
    return out
