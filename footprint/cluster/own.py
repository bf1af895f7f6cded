"""footprint's own series (`monitor --listen`) read back from Prometheus: one record per host, use case and step.

Each scrape target (job + instance: one monitor) is one unit. Per step, its energy per component is
the increase of its `footprint_energy_joules_total` counters (raw step samples, as for DCGM: a
decrease is a reset, a gap spreads the increase over the missing steps, flagged low confidence);
its tokens are the increase of the same target's `footprint_tokens_total`. The record's host is the
series' `host` label, the machine name its own spool uses, so the accounting can tell that both
describe the same machine (see queries/report/allot_measured.sql: the spool's records win).

A target whose tokens name a use case other than its own (a monitor run with --map) is `shared`:
accounting splits it by tokens, as it splits the monitor's own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from footprint.cluster.energy import counter_increments, int_split, series_key
from footprint.cluster.prometheus import Series
from footprint.records import IntervalRecord, TokenCount

ENERGY_METRIC = "footprint_energy_joules_total"
TOKENS_METRIC = "footprint_tokens_total"
OWN_QUERY = '{__name__=~"%s|%s"}' % (ENERGY_METRIC, TOKENS_METRIC)
COMPONENTS = ("gpu", "cpu", "ram")
TOKEN_KINDS = {"input": 0, "output": 1}
OWN_ID_PREFIX = "promfp-"  # record ids of these records (DCGM/Kepler ones start "prom-")


@dataclass
class _Target:
    host: str
    use_case: str | None
    key: str
    # component -> step -> [J, method, J of the largest part (names the method), low confidence]
    energy: dict[str, dict[int, list]] = field(default_factory=dict)
    tokens: dict[tuple[str, str], dict[int, list[int]]] = field(default_factory=dict)  # (uc, model) -> step -> [in, out]


def _target_of(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("job", ""), labels.get("instance", "")


def own_records(series: list[Series], step_s: float, first: int, last: int, source: str) -> list[IntervalRecord]:
    """Records for the steps starting in [first, last) of every footprint monitor seen in `series`."""
    targets: dict[tuple, _Target] = {}
    token_series: list[tuple[tuple[str, str], dict[str, str], Series]] = []
    for s in series:
        labels = {k: v for k, v in s.labels if k != "__name__"}
        if s.name == TOKENS_METRIC:
            token_series.append((_target_of(labels), labels, s))
            continue
        if s.name != ENERGY_METRIC or labels.get("component") not in COMPONENTS or not labels.get("host"):
            continue
        use_case = labels.get("use_case") or None
        ident = (*_target_of(labels), labels["host"], use_case or "")
        target = targets.get(ident)
        if target is None:
            key = series_key({"job": ident[0], "instance": ident[1], "host": ident[2], "use_case": ident[3]})
            target = targets[ident] = _Target(labels["host"], use_case, key)
        steps = target.energy.setdefault(labels["component"], {})
        method = labels.get("method") or "unknown"
        for i, (joules, low) in counter_increments(s.samples, step_s).items():
            slot = steps.get(i)
            if slot is None:
                steps[i] = [joules, method, joules, low]
                continue
            slot[0] += joules  # a method changed mid-step: the larger part names it
            if joules > slot[2]:
                slot[1], slot[2] = method, joules
            slot[3] = slot[3] or low
    by_target: dict[tuple[str, str], list[_Target]] = {}
    for ident, target in targets.items():
        by_target.setdefault(ident[:2], []).append(target)
    for where, labels, s in token_series:
        served = by_target.get(where)
        if not served or labels.get("kind") not in TOKEN_KINDS or not labels.get("use_case"):
            continue
        increments = {i: v for i, (v, _low) in counter_increments(s.samples, step_s).items()}
        for i, count in int_split(increments).items():
            # a target exports one monitor's use case; should it export several, the first takes the tokens
            slot = served[0].tokens.setdefault((labels["use_case"], labels.get("model", "")), {})
            slot.setdefault(i, [0, 0])[TOKEN_KINDS[labels["kind"]]] += count
    records = []
    times: dict[int, datetime] = {}  # step start index -> naive UTC, shared by every host

    def at(i: int) -> datetime:
        if i not in times:
            times[i] = _utc(i * step_s)
        return times[i]

    for target in sorted(targets.values(), key=lambda t: t.key):
        shared = any(uc != target.use_case for uc, _model in target.tokens)
        has_tokens = bool(target.tokens)
        gpu, cpu, ram = (target.energy.get(c, {}) for c in COMPONENTS)
        token_steps = sorted(target.tokens.items())
        steps = sorted({i for per_step in (gpu, cpu, ram) for i in per_step if first <= i < last})
        for i in steps:
            g, c, r = gpu.get(i), cpu.get(i), ram.get(i)
            counts = []
            if has_tokens:
                for (use_case, model), per_step in token_steps:
                    pair = per_step.get(i)
                    if pair and (pair[0] or pair[1]):
                        counts.append(TokenCount(use_case, model, int(pair[0]), int(pair[1]), 0))
            records.append(IntervalRecord(
                record_id=f"{OWN_ID_PREFIX}{target.key}-{int(round(i * step_s * 1000))}",
                use_case=target.use_case,
                host=target.host,
                start=at(i),
                end=at(i + 1),
                source=source,
                gpu_j=max(g[0], 0.0) if g else None,
                cpu_j=max(c[0], 0.0) if c else None,
                ram_j=max(r[0], 0.0) if r else None,
                gpu_method=g[1] if g else None,
                cpu_method=c[1] if c else None,
                ram_method=r[1] if r else None,
                gpu_low_confidence=bool((g and g[3]) or (c and c[3]) or (r and r[3])),
                shared=shared,
                input_tokens=sum(t.input_tokens for t in counts) if has_tokens else None,
                output_tokens=sum(t.output_tokens for t in counts) if has_tokens else None,
                tokens=tuple(counts),
            ))
    return records


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, timezone.utc).replace(tzinfo=None)
