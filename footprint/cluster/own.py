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
from datetime import datetime

import numpy as np

from footprint.cluster.energy import series_key
from footprint.cluster.prometheus import Series
from footprint.measurements import Columns
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


def own_columns(series: list[Series], step_s: float, first: int, last: int, source: str) -> Columns:
    """The records for the steps starting in [first, last) of every footprint monitor seen in `series`, as columns."""
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
    parts = [_target_columns(t, step_s, first, last, source) for t in sorted(targets.values(), key=lambda t: t.key)]
    return Columns.concat([_no_columns(), *parts])


def own_records(series: list[Series], step_s: float, first: int, last: int, source: str) -> list[IntervalRecord]:
    """own_columns as IntervalRecord objects (for callers that want records; collect writes the columns)."""
    columns = own_columns(series, step_s, first, last, source)
    tokens: dict[str, list[TokenCount]] = {}
    t = columns.tokens
    for rid, uc, model, n_in, n_out in zip(*(t[k].tolist() for k in ("record_id", "use_case", "model", "input_tokens",
                                                                       "output_tokens"))):
        tokens.setdefault(rid, []).append(TokenCount(uc, model, n_in, n_out, 0))
    rows = columns.rows
    out = []
    for k in range(len(columns)):
        row = {name: rows[name][k] for name in _RECORD_FIELDS}
        for name in ("gpu_j", "cpu_j", "ram_j"):
            row[name] = None if math.isnan(row[name]) else float(row[name])
        for name in ("input_tokens", "output_tokens"):
            row[name] = None if math.isnan(row[name]) else int(row[name])
        out.append(IntervalRecord(**row, start=_utc_of(rows["start_ts"][k]), end=_utc_of(rows["end_ts"][k]),
                                  gpu_low_confidence=bool(rows["gpu_low_confidence"][k]), shared=bool(rows["shared"][k]),
                                  tokens=tuple(tokens.get(row["record_id"], ()))))
    return out


_RECORD_FIELDS = ("record_id", "use_case", "host", "source", "gpu_j", "cpu_j", "ram_j", "gpu_method", "cpu_method",
                  "ram_method", "input_tokens", "output_tokens")


def _utc_of(value: np.datetime64) -> datetime:
    return value.astype("datetime64[us]").astype(datetime)


def _target(targets: dict, labels: dict[str, str]) -> _Target:
    use_case = labels.get("use_case") or None
    ident = (*_target_of(labels), labels["host"], use_case or "")
    target = targets.get(ident)
    if target is None:
        key = series_key({"job": ident[0], "instance": ident[1], "host": ident[2], "use_case": ident[3]})
        target = targets[ident] = _Target(labels["host"], use_case, key)
    return target


def _target_columns(target: _Target, step_s: float, first: int, last: int, source: str) -> Columns:
    timing = _Timing(target.start, target.until, step_s) if target.start and target.until else None
    n = last - first
    energy: dict[str, tuple] = {}  # component -> (J per step or NaN, method per step or None)
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
        methods = np.array([method for method, _s in per_method] + [None], dtype=object)
        energy[component] = (np.where(written, np.maximum(total, 0.0), np.nan),
                             methods[np.where(written, method_of, len(per_method))])
        any_written |= written
    tokens: dict[tuple[str, str], np.ndarray] = {}  # (uc, model) -> [in, out] per step
    for key, kind, s in target.tokens:
        counts, ok, _low = measured_steps(*_arrays(s, step_s), timing, step_s, first, last)
        if not ok.any():
            continue
        pair = tokens.setdefault(key, np.zeros((2, n), np.int64))
        pair[kind] += np.where(ok, int_steps(np.where(ok, counts, 0.0)), 0)
    shared = any(uc != target.use_case for uc, _model in tokens)
    steps = np.flatnonzero(any_written)
    m = len(steps)
    index = steps + first
    ms = np.rint(index * step_s * 1000).astype(np.int64)
    prefix = f"{OWN_ID_PREFIX}{target.key}-"
    record_id = np.array([prefix + str(v) for v in ms.tolist()], dtype=object)
    start_us = np.rint(index * step_s * 1e6).astype(np.int64)
    end_us = np.rint((index + 1) * step_s * 1e6).astype(np.int64)
    absent = (np.full(m, np.nan), np.full(m, None, dtype=object))
    rows = {
        "record_id": record_id,
        "use_case": np.full(m, target.use_case, dtype=object),
        "host": np.full(m, target.host, dtype=object),
        "start_ts": start_us.astype("datetime64[us]"),
        "end_ts": end_us.astype("datetime64[us]"),
        "source": np.full(m, source, dtype=object),
        "gpu_devices": np.full(m, None, dtype=object),
        "gpu_low_confidence": low[steps],
        "shared": np.full(m, shared),
        "requests": np.full(m, np.nan),
        "gpu_crosscheck_ratio": np.full(m, np.nan),
        "gpu_crosscheck_disagrees": np.full(m, None, dtype=object),
    }
    for component in COMPONENTS:
        joules, method = energy.get(component, absent)
        rows[f"{component}_j"] = joules[steps] if component in energy else joules
        rows[f"{component}_method"] = method[steps] if component in energy else method
    token_ids, token_uc, token_model, token_in, token_out = [], [], [], [], []
    totals = np.zeros((2, m), np.int64)
    for uc, model in sorted(tokens):
        pair = tokens[(uc, model)][:, steps]
        totals += pair
        some = np.flatnonzero(pair[0] | pair[1])
        token_ids.append(record_id[some])
        token_uc.append(np.full(len(some), uc, dtype=object))
        token_model.append(np.full(len(some), model, dtype=object))
        token_in.append(pair[0, some])
        token_out.append(pair[1, some])
    rows["input_tokens"] = totals[0].astype(np.float64) if tokens else np.full(m, np.nan)
    rows["output_tokens"] = totals[1].astype(np.float64) if tokens else np.full(m, np.nan)
    if not token_ids:
        return Columns(rows, _no_columns().tokens)
    ins, outs = np.concatenate(token_in), np.concatenate(token_out)
    return Columns(rows, {"record_id": np.concatenate(token_ids), "use_case": np.concatenate(token_uc),
                          "model": np.concatenate(token_model), "input_tokens": ins, "output_tokens": outs,
                          "requests": np.zeros(len(ins), np.int64)})


def _no_columns() -> Columns:
    empty_object = np.empty(0, dtype=object)
    rows = {name: empty_object for name in ("record_id", "use_case", "host", "source", "gpu_method", "cpu_method",
                                            "ram_method", "gpu_devices", "gpu_crosscheck_disagrees")}
    rows.update({name: np.empty(0) for name in ("gpu_j", "cpu_j", "ram_j", "input_tokens", "output_tokens",
                                                "requests", "gpu_crosscheck_ratio")})
    rows.update({"gpu_low_confidence": np.empty(0, bool), "shared": np.empty(0, bool),
                 "start_ts": np.empty(0, "datetime64[us]"), "end_ts": np.empty(0, "datetime64[us]")})
    tokens = {"record_id": empty_object, "use_case": empty_object, "model": empty_object,
              "input_tokens": np.empty(0, np.int64), "output_tokens": np.empty(0, np.int64),
              "requests": np.empty(0, np.int64)}
    return Columns(rows, tokens)
