"""footprint's own series (`monitor --listen`) read back from Prometheus: one record per host, use case and step.

Each scrape target (job + instance: one monitor) is one unit. Its energy per component is the growth
of its `footprint_energy_joules_total` counters (raw step samples, as for DCGM: a decrease is a
reset, counting restarted from 0); its tokens the growth of the same target's `footprint_tokens_total`.
The record's host is the series' `host` label, the machine name its own spool uses, so the accounting
can tell that both describe the same machine (see queries/report/allot_measured.sql: the spool's
records win).

Where it was measured (the edge rule). A counter read at a step holds the intervals the monitor
finished before that scrape, not the energy up to the step: each monitor lags its scrapes by up to an
interval, by a different amount after each restart. The exporter therefore serves, from the same
scrape, `footprint_exporter_counted_until_seconds` (the end of the last interval counted) and
`footprint_exporter_start_time_seconds` (the start of the first interval this run counted). The
growth between two samples is placed on the time it was measured: (until before, until after],
less, when the run changed in between (a restart), the time before the new run's start, when the
monitor measured nothing. The cumulative energy is interpolated linearly over that measured time
and read at the step edges, so the per-step parts add up to the counters' growth exactly (nothing
lost, nothing twice) and a step with no measured time gets no record. A step is written only once
samples cover it whole (a window's last steps need the samples just after it: see LOOKAHEAD_S).
Growth over missed scrapes (a gap of more than one step) or a restart is flagged low confidence.
Without the two gauges (an older exporter), the sample's step time stands for `until` and there is
no restart time: the growth of a gap is spread evenly over its steps, as before.

A target whose tokens name a use case other than its own (a monitor run with --map) is `shared`:
accounting splits it by tokens, as it splits the monitor's own records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from footprint.cluster.energy import series_key
from footprint.cluster.prometheus import Series
from footprint.records import IntervalRecord, TokenCount

ENERGY_METRIC = "footprint_energy_joules_total"
TOKENS_METRIC = "footprint_tokens_total"
START_METRIC = "footprint_exporter_start_time_seconds"
UNTIL_METRIC = "footprint_exporter_counted_until_seconds"
OWN_QUERY = '{__name__=~"%s"}' % "|".join([ENERGY_METRIC, TOKENS_METRIC, START_METRIC, UNTIL_METRIC])
COMPONENTS = ("gpu", "cpu", "ram")
TOKEN_KINDS = {"input": 0, "output": 1}
OWN_ID_PREFIX = "promfp-"  # record ids of these records (DCGM/Kepler ones start "prom-")
# A window's last steps are complete only with the samples after it: a monitor's counters lag its
# scrapes by up to its interval plus a scrape interval. The reader looks this far past a window's end.
LOOKAHEAD_S = 120.0


@dataclass
class _Target:
    host: str
    use_case: str | None
    key: str
    energy: dict[str, list[tuple[str, Series]]] = field(default_factory=dict)  # component -> [(method, series)]
    tokens: list[tuple[tuple[str, str], int, Series]] = field(default_factory=list)  # ((uc, model), kind, series)
    start: Series | None = None
    until: Series | None = None


def _target_of(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("job", ""), labels.get("instance", "")


def lookahead_steps(step_s: float) -> int:
    """Steps past a window's end that own_records needs to complete the window's last steps."""
    return max(1, math.ceil(LOOKAHEAD_S / step_s))


def _arrays(s: Series | None, step_s: float):
    if s is None or not s.samples:
        return np.empty(0, np.int64), np.empty(0)
    data = np.asarray(s.samples, dtype=np.float64)
    return np.rint(data[:, 0] / step_s).astype(np.int64), data[:, 1]


class _Timing:
    """Where each sample's growth was measured: per step index, this run's start and counted-until (unix s)."""

    def __init__(self, start: Series | None, until: Series | None, step_s: float):
        s_idx, s_val = _arrays(start, step_s)
        u_idx, u_val = _arrays(until, step_s)
        self.idx, a, b = np.intersect1d(s_idx, u_idx, assume_unique=True, return_indices=True)
        self.start, self.until = s_val[a], u_val[b]


def measured_steps(idx: np.ndarray, values: np.ndarray, timing: _Timing | None, step_s: float, first: int,
                   last: int):
    """A counter's growth placed on the steps first..last-1 by the edge rule (module docstring).

    Returns (per-step growth, written: the steps samples cover whole and that hold measured time,
    low confidence), three arrays of last - first.
    """
    if timing is not None and len(timing.idx):
        common, a, b = np.intersect1d(idx, timing.idx, assume_unique=True, return_indices=True)
        idx, values = common, values[a]
        until = np.maximum.accumulate(timing.until[b])
        begun = timing.start[b]
    else:  # an older exporter: the step time stands for counted-until, no restart time
        until, begun = idx * step_s, np.full(len(idx), -np.inf)
    n = last - first
    if len(idx) < 2:
        return np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    growth = np.diff(values)
    growth = np.where(growth >= 0, growth, values[1:])  # a decrease is a reset: counting restarted at 0
    restarted = begun[1:] > until[:-1]  # a new run began counting after the previous sample's last interval
    begin = np.minimum(np.maximum(begun[1:], until[:-1]), until[1:])  # the measured part of each pair starts
    measured = until[1:] - begin
    low = (np.diff(idx) > 1) | restarted
    knots = np.empty(2 * len(idx) - 1)
    knots[0], knots[1::2], knots[2::2] = until[0], begin, until[1:]

    def cumulative(per_pair):
        total = np.concatenate(([0.0], np.cumsum(per_pair)))
        out = np.empty(len(knots))
        out[0], out[1::2], out[2::2] = 0.0, total[:-1], total[1:]
        return out

    edges = np.arange(first, last + 1, dtype=np.float64) * step_s
    energy = np.diff(np.interp(edges, knots, cumulative(growth)))
    time_measured = np.diff(np.interp(edges, knots, cumulative(measured)))
    time_low = np.diff(np.interp(edges, knots, cumulative(np.where(low, measured, 0.0))))
    written = (edges[:-1] >= until[0]) & (edges[1:] <= until[-1]) & (time_measured > 0)
    return energy, written, written & (time_low > 0)


def int_steps(counts: np.ndarray) -> np.ndarray:
    """Per-step float counts as integers whose running total stays the rounded running total."""
    running = np.rint(np.cumsum(counts))
    return np.diff(np.concatenate(([0.0], running))).astype(np.int64)


def own_records(series: list[Series], step_s: float, first: int, last: int, source: str) -> list[IntervalRecord]:
    """Records for the steps starting in [first, last) of every footprint monitor seen in `series`."""
    targets: dict[tuple, _Target] = {}
    others: list[tuple[dict[str, str], Series]] = []
    for s in series:
        labels = {k: v for k, v in s.labels if k != "__name__"}
        if s.name != ENERGY_METRIC:
            others.append((labels, s))
            continue
        if labels.get("component") not in COMPONENTS or not labels.get("host"):
            continue
        target = _target(targets, labels)
        target.energy.setdefault(labels["component"], []).append((labels.get("method") or "unknown", s))
    by_target: dict[tuple[str, str], list[_Target]] = {}
    for ident, target in targets.items():
        by_target.setdefault(ident[:2], []).append(target)
    for labels, s in others:
        if s.name in (START_METRIC, UNTIL_METRIC):
            target = targets.get((*_target_of(labels), labels.get("host", ""), labels.get("use_case", "")))
            if target is not None:
                setattr(target, "start" if s.name == START_METRIC else "until", s)
            continue
        served = by_target.get(_target_of(labels))
        if s.name != TOKENS_METRIC or not served or labels.get("kind") not in TOKEN_KINDS or not labels.get("use_case"):
            continue
        # a target exports one monitor's use case; should it export several, the first takes the tokens
        served[0].tokens.append(((labels["use_case"], labels.get("model", "")), TOKEN_KINDS[labels["kind"]], s))
    records: list[IntervalRecord] = []
    times = [_utc(i * step_s) for i in range(first, last + 1)]  # step edges, naive UTC, shared by every host
    for target in sorted(targets.values(), key=lambda t: t.key):
        records.extend(_target_records(target, step_s, first, last, source, times))
    return records


def _target(targets: dict, labels: dict[str, str]) -> _Target:
    use_case = labels.get("use_case") or None
    ident = (*_target_of(labels), labels["host"], use_case or "")
    target = targets.get(ident)
    if target is None:
        key = series_key({"job": ident[0], "instance": ident[1], "host": ident[2], "use_case": ident[3]})
        target = targets[ident] = _Target(labels["host"], use_case, key)
    return target


def _target_records(target: _Target, step_s: float, first: int, last: int, source: str, times) -> list[IntervalRecord]:
    timing = _Timing(target.start, target.until, step_s) if target.start and target.until else None
    n = last - first
    parts: dict[str, tuple] = {}  # component -> (J, written, method per step)
    any_written, low = np.zeros(n, bool), np.zeros(n, bool)
    for component, per_method in target.energy.items():
        total, written = np.zeros(n), np.zeros(n, bool)
        largest, method_of = np.full(n, -np.inf), np.zeros(n, np.int64)
        for m, (_method, s) in enumerate(per_method):  # a method changed mid-step: the larger part names it
            joules, ok, flagged = measured_steps(*_arrays(s, step_s), timing, step_s, first, last)
            total += np.where(ok, joules, 0.0)
            bigger = ok & (joules > largest)
            largest, method_of = np.where(bigger, joules, largest), np.where(bigger, m, method_of)
            written |= ok
            low |= flagged
        parts[component] = (np.maximum(total, 0.0), written, [method for method, _s in per_method], method_of)
        any_written |= written
    tokens: dict[tuple[str, str], np.ndarray] = {}  # (uc, model) -> [in, out] per step
    for key, kind, s in target.tokens:
        counts, ok, _low = measured_steps(*_arrays(s, step_s), timing, step_s, first, last)
        if not ok.any():
            continue
        pair = tokens.setdefault(key, np.zeros((2, n), np.int64))
        pair[kind] += np.where(ok, int_steps(np.where(ok, counts, 0.0)), 0)
    shared = any(uc != target.use_case for uc, _model in tokens)
    token_keys = sorted(tokens)
    out = []
    for j in np.flatnonzero(any_written).tolist():
        values = {}
        for component in COMPONENTS:
            part = parts.get(component)
            if part is None or not part[1][j]:
                values[component] = (None, None)
            else:
                values[component] = (float(part[0][j]), part[2][int(part[3][j])])
        counts = []
        for uc, model in token_keys:
            pair = tokens[(uc, model)]
            if pair[0, j] or pair[1, j]:
                counts.append(TokenCount(uc, model, int(pair[0, j]), int(pair[1, j]), 0))
        i = first + j
        out.append(IntervalRecord(
            record_id=f"{OWN_ID_PREFIX}{target.key}-{int(round(i * step_s * 1000))}",
            use_case=target.use_case,
            host=target.host,
            start=times[j],
            end=times[j + 1],
            source=source,
            gpu_j=values["gpu"][0],
            cpu_j=values["cpu"][0],
            ram_j=values["ram"][0],
            gpu_method=values["gpu"][1],
            cpu_method=values["cpu"][1],
            ram_method=values["ram"][1],
            gpu_low_confidence=bool(low[j]),
            shared=shared,
            input_tokens=sum(t.input_tokens for t in counts) if tokens else None,
            output_tokens=sum(t.output_tokens for t in counts) if tokens else None,
            tokens=tuple(counts),
        ))
    return out


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, timezone.utc).replace(tzinfo=None)
