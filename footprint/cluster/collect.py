"""Turn Prometheus series (GPU energy, inference tokens) into interval records, exactly once.

One record per GPU (DCGM) or per workload (Kepler) per step, keyed by the series identity and
the step's start: collecting the same or an overlapping range again adds nothing. Steps lie on
a grid of multiples of the step (unix time), so every collection of a range sees the same
intervals; a window [from, to] covers the steps that start at or after `from` and end at or
before `to`.

Tokens reach a GPU through shared labels: the same pod (namespace + pod, as DCGM exporter's
Kubernetes mode and Prometheus' pod discovery both give), else the same node (`Hostname`,
`node_name`, `node`..., else the host part of `instance`). A token series' use case is its own
mapping, else its GPU's. A GPU whose tokens belong to several use cases (or partly to none) is
`shared`: accounting splits each step by the use cases' tokens (interval_tokens); one use case
gets it all; no tokens: the GPU's own mapping, else unallocated (use_case NULL).

footprint's own series (`monitor --listen` on each host) are read too: one record per host, use
case and step with its GPU, CPU and RAM energy and tokens (cluster/own.py).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

import numpy as np

from footprint.cluster.energy import (
    ENERGY_QUERY,
    TOKEN_QUERY,
    EnergyUnit,
    TokenSeries,
    energy_units,
    fill_leading_steps,
    token_series,
)
from footprint.cluster.mapping import Mapping, node_name, workload_labels
from footprint.cluster.own import OWN_ID_PREFIX, OWN_QUERY, lookahead_steps, own_columns
from footprint.cluster.prometheus import MAX_POINTS_PER_SERIES, PrometheusClient
from footprint.errors import FootprintError, ValidationError
from footprint.measurements import Columns
from footprint.records import IntervalRecord, TokenCount
from footprint.units import to_unix

SOURCE = "prometheus"


@dataclass(frozen=True)
class CollectResult:
    """What one collection read and wrote."""

    start: datetime | None  # first step (naive UTC); None when the window holds no full step
    end: datetime | None
    step_s: float
    records: int  # records built from the window
    added: int  # records new to the database
    skipped_overlap: int  # left out: an earlier collection with another step covers them
    gpu_j: float  # energy of the records built
    unallocated_j: float  # of which with no use case and not shared
    methods: dict = field(default_factory=dict)  # gpu_method -> records
    unlinked_token_series: int = 0  # token counters on no GPU we read (their tokens split nothing)
    footprint_hosts: int = 0  # hosts whose own `monitor --listen` series were read
    cpu_ram_j: float = 0.0  # CPU + RAM energy of those hosts' records

    def to_json(self) -> dict:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "step_s": self.step_s,
            "records": self.records,
            "added": self.added,
            "skipped_overlap": self.skipped_overlap,
            "gpu_j": self.gpu_j,
            "unallocated_j": self.unallocated_j,
            "methods": dict(sorted(self.methods.items())),
            "unlinked_token_series": self.unlinked_token_series,
            "footprint_hosts": self.footprint_hosts,
            "cpu_ram_j": self.cpu_ram_j,
        }


def from_unix(value: float) -> datetime:
    return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)


def parse_time(text: str, field: str = "time") -> float:
    """ISO 8601 (naive = UTC) or unix seconds, as unix seconds."""
    from footprint.periods import parse_timestamp

    raw = (text or "").strip()
    try:
        value = float(raw)
    except ValueError:
        return to_unix(parse_timestamp(raw, field))
    if not math.isfinite(value):
        raise ValidationError(f"bad {field} {text!r}: expected ISO 8601 or unix seconds")
    return value


def step_grid(start_s: float, end_s: float, step_s: float) -> tuple[int, int]:
    """First and last step index (ts / step) of the grid points inside [start, end]."""
    if not (step_s > 0 and math.isfinite(step_s)):
        raise ValidationError(f"bad --step {step_s!r}: must be a positive number of seconds")
    if end_s <= start_s:
        raise ValidationError(f"bad window: --to {from_unix(end_s)} is not after --from {from_unix(start_s)}")
    eps = 1e-9
    return math.ceil(start_s / step_s - eps), math.floor(end_s / step_s + eps)


def _device(labels: dict[str, str]) -> str:
    parts = [labels.get("UUID") or (f"gpu{labels['gpu']}" if labels.get("gpu") else "")]
    if labels.get("GPU_I_ID"):
        parts.append(f"mig{labels['GPU_I_ID']}")
    return "/".join(p for p in parts if p)


def _host(unit: EnergyUnit) -> str:
    node = node_name(unit.labels) or "unknown-node"
    if unit.method == "measured:kepler":
        w = workload_labels(unit.labels)
        return "/".join([node, w.get("namespace", ""), w.get("pod", ""), w.get("container", "")])
    return f"{node}/{_device(unit.labels) or unit.key}"


def _join_keys(labels: dict[str, str]) -> tuple[tuple | None, set[str]]:
    w = workload_labels(labels)
    pod = (w.get("namespace", ""), w["pod"]) if w.get("pod") else None
    return pod, {node_name(labels)} - {""}


def _linked(unit_keys, token_keys) -> bool:
    (u_pod, u_hosts), (t_pod, t_hosts) = unit_keys, token_keys
    if u_pod and t_pod:
        return u_pod == t_pod
    return bool(u_hosts & t_hosts)


def _split(count: int, parts: int, index: int) -> int:
    """index-th of `parts` integer shares of `count` that add up to it exactly."""
    return (count * (index + 1)) // parts - (count * index) // parts


def build_records(
    units: list[EnergyUnit], tokens: list[TokenSeries], mapping: Mapping, step_s: float, first: int, last: int
) -> list[IntervalRecord]:
    """Records for the steps starting in [first, last) of each energy unit, with its tokens."""
    unit_keys = [_join_keys(u.labels) for u in units]
    token_keys = [_join_keys(t.labels) for t in tokens]
    links: dict[int, list[int]] = {}  # token series -> units it serves
    for ti, tk in enumerate(token_keys):
        links[ti] = [ui for ui, uk in enumerate(unit_keys) if _linked(uk, tk)]
    records = []
    for ui, unit in enumerate(units):
        own = mapping.use_case_for(unit.labels)
        mine = [(ti, links[ti].index(ui), len(links[ti])) for ti in links if ui in links[ti]]
        token_uc = {ti: mapping.use_case_for(tokens[ti].labels) or own for ti, _, _ in mine}
        serving = set(token_uc.values())
        shared = len(serving) > 1
        use_case = None if shared else (next(iter(serving)) if serving else own)
        host = _host(unit)
        device = _device(unit.labels) if unit.method != "measured:kepler" else ""
        for i in sorted(unit.steps):
            if not first <= i < last:
                continue
            energy_j, low = unit.steps[i]
            counts: dict[tuple[str, str], list[int]] = {}
            totals = [0, 0, 0]
            for ti, position, parts in mine:
                series = tokens[ti]
                value = _split(series.steps.get(i, 0), parts, position)
                slot = ("input_tokens", "output_tokens", "requests").index(series.field)
                totals[slot] += value
                if token_uc[ti] is not None:
                    counts.setdefault((token_uc[ti], series.model), [0, 0, 0])[slot] += value
            token_counts = tuple(
                TokenCount(uc, model, c[0], c[1], c[2]) for (uc, model), c in sorted(counts.items()) if any(c)
            )
            start = from_unix(i * step_s)
            records.append(
                IntervalRecord(
                    record_id=f"prom-{unit.key}-{int(round(i * step_s * 1000))}",
                    use_case=use_case,
                    host=host,
                    start=start,
                    end=from_unix((i + 1) * step_s),
                    source=SOURCE,
                    gpu_j=max(energy_j, 0.0),
                    gpu_method=unit.method,
                    gpu_devices=device or None,
                    gpu_low_confidence=low,
                    shared=shared,
                    input_tokens=totals[0] if mine else None,
                    output_tokens=totals[1] if mine else None,
                    requests=totals[2] if mine else None,
                    tokens=token_counts,
                )
            )
    return records


def unlinked_tokens(units: list[EnergyUnit], tokens: list[TokenSeries]) -> int:
    unit_keys = [_join_keys(u.labels) for u in units]
    return sum(1 for t in tokens if not any(_linked(uk, _join_keys(t.labels)) for uk in unit_keys))


def gather(client: PrometheusClient, start_s: float, end_s: float, step_s: float, mapping: Mapping):
    """Query GPU energy and tokens for [start, end].

    Returns (DCGM/Kepler records, footprint's own records as Columns, first step ts, last step ts,
    token series linked to no GPU).
    """
    first, last = step_grid(start_s, end_s, step_s)
    if last <= first:
        return [], None, None, None, 0
    energy = client.query_range(ENERGY_QUERY, first * step_s, last * step_s, step_s)
    tokens = client.query_range(TOKEN_QUERY, first * step_s, last * step_s, step_s)
    units = energy_units(energy, step_s)
    fill_leading_steps(units, [_host(u) for u in units], first, step_s)
    served = token_series(tokens, step_s)
    records = build_records(units, served, mapping, step_s, first, last)
    # footprint's own counters lag their scrapes: the samples just past the window complete its last steps
    # (never past now: a step they do not cover yet is left for the next collection, see watch)
    ahead = max(last, min(last + lookahead_steps(step_s), math.floor(time.time() / step_s)))
    own = client.query_range(OWN_QUERY, first * step_s, ahead * step_s, step_s)
    columns = own_columns(own, step_s, first, last, SOURCE)
    del own
    return records, columns, first * step_s, last * step_s, unlinked_tokens(units, served)


def _collected(store, lo, hi) -> dict:
    """Intervals already collected from Prometheus that overlap [lo, hi]: host -> (starts, ends), in time order."""
    got = store.query("cluster/select_collected", {"from_ts": lo, "to_ts": hi}).fetchnumpy()
    hosts = np.asarray(got["host"], dtype=object)
    if not len(hosts):
        return {}
    starts, ends = (np.asarray(got[k]).astype("datetime64[us]") for k in ("start_ts", "end_ts"))
    bounds = np.flatnonzero(hosts[1:] != hosts[:-1]) + 1  # sorted by host, then start
    return {hosts[i]: (starts[i:j], ends[i:j])
            for i, j in zip([0, *bounds.tolist()], [*bounds.tolist(), len(hosts)])}


def _overlapping(existing: dict, hosts: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which intervals overlap one already stored for the same host under another id (another step)."""
    out = np.zeros(len(hosts), bool)
    if not existing:
        return out
    names, which = np.unique(hosts.astype(str), return_inverse=True)
    for n, host in enumerate(names.tolist()):
        if host not in existing:
            continue
        stored_starts, stored_ends = existing[host]
        idx = np.flatnonzero(which == n)
        # One series' stored intervals never overlap, so the last one starting before an interval
        # ends has the latest end of those: it overlaps stored data iff that end is after its start.
        j = np.searchsorted(stored_starts, ends[idx], side="left")
        k = np.maximum(j - 1, 0)
        same = (stored_starts[k] == starts[idx]) & (stored_ends[k] == ends[idx])
        out[idx] = (j > 0) & (stored_ends[k] > starts[idx]) & ~same
    return out


def drop_collected(store, records: list[IntervalRecord], columns: Columns | None = None):
    """Leave out records (and rows of `columns`) overlapping one already stored for the same series under another id.

    Same id: INSERT OR IGNORE skips it. Another id on an overlapping time (a range collected
    before with another step): keeping both would count that energy twice. Returns (records, columns) kept.
    """
    spans = []
    if records:
        spans += [min(r.start for r in records), max(r.end for r in records)]
    if columns is not None and len(columns):
        spans += [columns.rows["start_ts"].min().astype(datetime), columns.rows["end_ts"].max().astype(datetime)]
    if not spans:
        return records, columns
    existing = _collected(store, min(spans), max(spans))
    if records:
        hosts = np.array([r.host for r in records], dtype=object)
        starts = np.array([r.start for r in records], dtype="datetime64[us]")
        ends = np.array([r.end for r in records], dtype="datetime64[us]")
        records = [r for r, drop in zip(records, _overlapping(existing, hosts, starts, ends).tolist()) if not drop]
    if columns is not None and len(columns):
        rows = columns.rows
        columns = columns.take(~_overlapping(existing, rows["host"], rows["start_ts"], rows["end_ts"]))
    return records, columns


def write(store, records: list[IntervalRecord], columns: Columns | None = None) -> tuple[int, int]:
    """Insert the records (and own columns) not collected before; returns (added, skipped as overlapping)."""
    from footprint.measurements import check_columns, insert_columns, insert_records

    given = len(records) + (len(columns) if columns is not None else 0)
    records, columns = drop_collected(store, records, columns)
    with store.transaction():
        added = insert_records(store, records)
        if columns is not None:
            check_columns(columns)
            added += insert_columns(store, columns)
    return added, given - len(records) - (len(columns) if columns is not None else 0)


def summarise(records: Iterable[IntervalRecord], first, last, step_s, added, skipped, unlinked=0,
              columns: Columns | None = None) -> CollectResult:
    records = list(records)
    methods: dict[str, int] = {}
    for r in records:
        method = r.gpu_method or "none"
        methods[method] = methods.get(method, 0) + 1
    gpu_j = sum(r.gpu_j or 0.0 for r in records)
    cpu_ram_j = sum((r.cpu_j or 0.0) + (r.ram_j or 0.0) for r in records)
    unallocated_j = sum(r.gpu_j or 0.0 for r in records if r.use_case is None and not r.shared)
    hosts = {r.host for r in records if r.record_id.startswith(OWN_ID_PREFIX)}
    count = len(records)
    if columns is not None and len(columns):
        rows = columns.rows
        count += len(columns)
        for method, n in zip(*np.unique(np.where(rows["gpu_method"] == None, "none", rows["gpu_method"]).astype(str),  # noqa: E711
                                        return_counts=True)):
            methods[str(method)] = methods.get(str(method), 0) + int(n)
        gpu = np.nan_to_num(rows["gpu_j"])
        gpu_j += float(gpu.sum())
        cpu_ram_j += float(np.nan_to_num(rows["cpu_j"]).sum() + np.nan_to_num(rows["ram_j"]).sum())
        unallocated_j += float(gpu[(rows["use_case"] == None) & ~rows["shared"]].sum())  # noqa: E711
        hosts.update(np.unique(rows["host"].astype(str)).tolist())
    return CollectResult(
        start=from_unix(first) if first is not None else None,
        end=from_unix(last) if last is not None else None,
        step_s=step_s,
        records=count,
        added=added,
        skipped_overlap=skipped,
        gpu_j=gpu_j,
        unallocated_j=unallocated_j,
        methods=methods,
        unlinked_token_series=unlinked,
        footprint_hosts=len(hosts),
        cpu_ram_j=cpu_ram_j,
    )


# A collection is read and written in chunks of at most this many steps, one query_range window
# per query each: memory stays bounded (a quarter of 50 hosts at 60 s steps is 6.5M records).
CHUNK_STEPS = MAX_POINTS_PER_SERIES - 1


def collect(store_opener: Callable, client: PrometheusClient, start_s: float, end_s: float, step_s: float,
            mapping: Mapping) -> CollectResult:
    """One collection, chunk by chunk: query first, then open the database only for the write."""
    first, last = step_grid(start_s, end_s, step_s)
    if last <= first:
        return summarise([], None, None, step_s, 0, 0)
    parts: list[CollectResult] = []
    hosts: set[str] = set()
    for a in range(first, last, CHUNK_STEPS):
        b = min(a + CHUNK_STEPS, last)
        records, columns, chunk_first, chunk_last, unlinked = gather(client, a * step_s, b * step_s, step_s, mapping)
        added = skipped = 0
        if records or (columns is not None and len(columns)):
            with store_opener() as store:
                added, skipped = write(store, records, columns)
        if columns is not None:
            hosts.update(np.unique(columns.rows["host"].astype(str)).tolist())
        parts.append(summarise(records, chunk_first, chunk_last, step_s, added, skipped, unlinked, columns))
        del records, columns
    return _merged(parts, step_s, len(hosts))


def _merged(parts: list[CollectResult], step_s: float, footprint_hosts: int) -> CollectResult:
    spans = [p for p in parts if p.start is not None]
    methods: dict[str, int] = {}
    for p in parts:
        for method, n in p.methods.items():
            methods[method] = methods.get(method, 0) + n
    return CollectResult(
        start=spans[0].start if spans else None,
        end=spans[-1].end if spans else None,
        step_s=step_s,
        records=sum(p.records for p in parts),
        added=sum(p.added for p in parts),
        skipped_overlap=sum(p.skipped_overlap for p in parts),
        gpu_j=sum(p.gpu_j for p in parts),
        unallocated_j=sum(p.unallocated_j for p in parts),
        methods=methods,
        unlinked_token_series=max((p.unlinked_token_series for p in parts), default=0),
        footprint_hosts=footprint_hosts,
        cpu_ram_j=sum(p.cpu_ram_j for p in parts),
    )


def last_collected(store) -> datetime | None:
    row = store.query("cluster/select_last_collected").fetchone()
    return row[0] if row else None


def watch(
    store_opener: Callable,
    client: PrometheusClient,
    step_s: float,
    every_s: float,
    lag_s: float,
    start_s: float,
    mapping: Mapping,
    stop: threading.Event,
    on_cycle: Callable[[CollectResult], None] = lambda result: None,
    on_error: Callable[[FootprintError], None] | None = None,
    clock: Callable[[], float] = time.time,
    resumed: bool = False,
) -> float:
    """Collect every `every_s` seconds from the last collected step to now - lag, until `stop` is set.

    `start_s` is the first step to collect or, `resumed`, the last step an earlier run collected. Each
    cycle starts LOOKAHEAD_S before the cursor (never before a first step): footprint's own steps that the
    samples did not yet cover whole were left out, and are written then (the rest is there already:
    its record ids add nothing). Returns the last collected step (unix s). A failing cycle (server down, database locked)
    writes nothing; with `on_error` it is reported and the next cycle retries from the same
    step, without it the error is raised.
    """
    if every_s <= 0 or lag_s < 0:
        raise ValidationError("bad --every/--lag: --every must be > 0 s and --lag >= 0 s")
    cursor = start_s
    earliest = -math.inf if resumed else start_s
    while not stop.is_set():
        end_s = clock() - lag_s
        if math.floor(end_s / step_s) * step_s > cursor:
            try:
                since = max(earliest, cursor - lookahead_steps(step_s) * step_s)
                result = collect(store_opener, client, since, end_s, step_s, mapping)
            except FootprintError as exc:
                if on_error is None:
                    raise
                on_error(exc)
            else:
                if result.end is not None:
                    cursor = to_unix(result.end)
                on_cycle(result)
        stop.wait(every_s)
    return cursor
