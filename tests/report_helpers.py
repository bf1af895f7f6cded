"""Helpers shared by the accounting, report and compare tests: records, usage rows, a stand-in estimator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from footprint import register
from footprint.measurements import insert_records
from footprint.records import IntervalRecord, Range, TokenCount, UseCase

# The `usage` table of ingest's migration 003; created here only where that migration is absent.
USAGE_DDL = """
CREATE TABLE IF NOT EXISTS usage (
    row_key UHUGEINT NOT NULL, ts TIMESTAMP, use_case VARCHAR NOT NULL, model VARCHAR, provider VARCHAR,
    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cached_input_tokens BIGINT,
    cache_creation_input_tokens BIGINT, images BIGINT, requests BIGINT NOT NULL DEFAULT 1,
    source_format VARCHAR, ingest_id BIGINT
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


def add_usage(store, rows, requests: int = 1):
    """rows: (ts, use_case, model, input_tokens, output_tokens); `requests` per row (>1: a usage bucket)."""
    store.execute(USAGE_DDL)
    start = store.execute("SELECT count(*) FROM usage").fetchone()[0]
    for n, (ts, uc, model, i, o) in enumerate(rows):
        store.execute(
            "INSERT INTO usage (row_key, ts, use_case, model, provider, input_tokens, output_tokens, requests, "
            "source_format) VALUES (?, ?, ?, ?, 'test', ?, ?, ?, 'test')", [start + n, ts, uc, model, i, o, requests])


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


XSS_NAME = '<script>alert("x")</script>'
XSS_TEAM = '<img src=x onerror=alert(1)><b>team</b>'


def small_org(store, with_usage: bool = False) -> None:
    """A small organisation over 2026-Q2/Q3: shared server, dedicated job, unallocated pod, a retired
    use case, benefits for some, one use case with an XSS payload in its name and team."""
    from footprint.sites import set_site

    set_site(store, "dc", pue=1.3, wue_l_per_kwh=0.2, market_gco2e_per_kwh=20.0, country="FRA")
    add_uc(store, "chat", region="dc", name="=cmd|' /C calc'!A0", team="-2+3")
    add_uc(store, "docs", region="dc")
    add_uc(store, "batch", region="dc")
    add_uc(store, "xss", name=XSS_NAME, team=XSS_TEAM, deployment="api", model="gpt-4o", country="USA")
    add_uc(store, "old")
    register.retire_use_case(store, "old", datetime(2026, 5, 31).date())
    records = []
    for quarter_start, scale in ((datetime(2026, 4, 1), 0.8), (datetime(2026, 7, 1), 1.0)):
        for i in range(48):
            t = quarter_start + timedelta(hours=i)
            toks = [("chat", 2000, int(900 * scale)), ("docs", 500, 300)] if i % 4 else []
            if quarter_start.month == 4 and i % 4 == 1:
                toks.append(("old", 100, 100))
            records.append(rec(f"s{quarter_start.month}-{i}", t, minutes=60, host="srv", shared=True,
                               gpu=3.6e5 * scale, cpu=7.2e4, ram=3.6e4, tokens=toks, gpu_devices="g0,g1"))
        records.append(rec(f"b{quarter_start.month}", quarter_start + timedelta(days=3), minutes=120, host="gpu-b",
                           use_case="batch", gpu=1.8e6, cpu=2e5, ram=5e4))
        records.append(rec(f"u{quarter_start.month}", quarter_start + timedelta(days=4), minutes=60, host="pod-7",
                           gpu=2e5, cpu=None, ram=None))
    insert(store, records)
    register.set_benefit(store, "chat", "2026-Q3", 120, "hours saved", "survey <b>Q3</b>")
    register.set_benefit(store, "chat", "2026-Q2", 100, "hours saved", "survey")
    register.set_benefit(store, "batch", "2026-Q3", 300, "=HYPERLINK(\"x\")", None)
    if with_usage:
        add_usage(store, [(datetime(2026, 7, 1) + timedelta(hours=h), "xss", "gpt-4o", 800, 200) for h in range(30)])
