"""Helpers shared by the accounting, report and compare tests: records, usage rows, a stand-in estimator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from footprint import register
from footprint.measurements import insert_records
from footprint.records import IntervalRecord, Range, TokenCount, UseCase

# The `usage` table as contracted with ingest (migration 003); created here only while it has not landed.
USAGE_DDL = """
CREATE TABLE IF NOT EXISTS usage (
    row_key VARCHAR, ts TIMESTAMP, use_case VARCHAR NOT NULL, model VARCHAR, provider VARCHAR,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cached_input_tokens BIGINT,
    cache_creation_input_tokens BIGINT, images BIGINT, source_format VARCHAR, ingest_id BIGINT
)
"""


def add_uc(store, slug, deployment="on-prem", **kw):
    fields = dict(name=kw.pop("name", slug.title()), team=kw.pop("team", "IT"), status=kw.pop("status", "production"),
                  deployment=deployment, country=kw.pop("country", "FRA"))
    fields.update(kw)
    return register.add_use_case(store, UseCase(slug=slug, **fields))


def rec(rid, start, minutes=1.0, host="h1", use_case=None, gpu=1000.0, cpu=100.0, ram=10.0, shared=False, tokens=(),
        **kw):
    return IntervalRecord(
        record_id=rid, use_case=use_case, host=host, start=start, end=start + timedelta(minutes=minutes),
        source="test", gpu_j=gpu, cpu_j=cpu, ram_j=ram, gpu_method="measured:nvml-counter" if gpu is not None else None,
        cpu_method="measured:rapl" if cpu is not None else None, ram_method="modelled:ram" if ram is not None else None,
        shared=shared, tokens=tuple(TokenCount(u, "m", i, o, 1) for u, i, o in tokens), **kw)


def insert(store, records):
    return insert_records(store, records)


def add_usage(store, rows):
    """rows: (ts, use_case, model, input_tokens, output_tokens)."""
    store.execute(USAGE_DDL)
    for n, (ts, uc, model, i, o) in enumerate(rows):
        store.execute(
            "INSERT INTO usage (row_key, ts, use_case, model, provider, input_tokens, output_tokens, source_format) "
            "VALUES (?, ?, ?, ?, 'test', ?, ?, 'test')", [f"k{n}-{ts.isoformat()}-{uc}", ts, uc, model, i, o])


@dataclass(frozen=True)
class FakeEstimate:
    energy_wh: dict
    gco2e: Range
    water_ml: Range
    embodied_gco2e: Range
    inputs: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)


class StandInEstimator:
    """Deterministic, linear in tokens: 0.002 Wh per output token, 0.0002 per input token, +-50 %.
    Records each call (to check one call per group with summed tokens)."""

    def __init__(self):
        self.calls = []

    def __call__(self, *, output_tokens, input_tokens=0, model=None, country=None, pue=None, year=None, **kw):
        from footprint.errors import NotFoundError

        self.calls.append(dict(output_tokens=output_tokens, input_tokens=input_tokens, model=model, country=country,
                               pue=pue, year=year))
        if model == "unknown-model":
            raise NotFoundError("unknown model 'unknown-model'")
        wh = 0.002 * output_tokens + 0.0002 * input_tokens
        r = Range(wh, wh * 0.5, wh * 1.5)
        return FakeEstimate(energy_wh={"gpu": r.scaled(0.6), "host": r.scaled(0.3), "facility": r.scaled(0.1), "total": r},
                            gco2e=r.scaled(0.05), water_ml=r.scaled(1.0), embodied_gco2e=r.scaled(0.01),
                            sources=[{"name": "stand-in", "source": "test stand-in estimator", "year": 2026}])


T0 = datetime(2026, 7, 1)
