"""`footprint demo`: a realistic, deterministic public-body organisation over 2026-Q2 and 2026-Q3.

It writes through the same paths as real use: the register API, measured intervals through the
collectors' spool (drained by open_store), usage logs through ingest (JSONL files written to an
owner-only temporary folder). Every record and request has a stable id, so running it twice adds
nothing.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from footprint import register
from footprint.records import IntervalRecord, TokenCount, UseCase
from footprint.sites import set_site
from footprint.store import open_store, resolve_db_path

SEED = 20260401
START, END = datetime(2026, 4, 1), datetime(2026, 10, 1)
SITE = "dc-interne"
SHARED_HOST = "gpu-srv-01"  # 2 x H100, vLLM serving three use cases
BATCH_HOST = "gpu-batch-01"  # 1 x H100, nightly code analysis
SHARED_GPUS = "GPU-5f1e7c1a-0001,GPU-5f1e7c1a-0002"
BATCH_GPUS = "GPU-9a3b2d4c-0001"
INTERVAL = timedelta(minutes=30)

USE_CASES = [
    UseCase(slug="code-assist", name="Code assistant for the development teams", team="Digital services - development",
            status="production", deployment="on-prem", purpose="code-assistance", provider="self-hosted",
            model="Qwen/Qwen2.5-Coder-32B-Instruct", country="FRA", region=SITE, hardware="2 x H100 SXM (shared)",
            data_location="on-prem", last_consultation=date(2025, 10, 14),
            started=date(2025, 11, 3), description="IDE completion and chat served by vLLM on the shared GPU server."),
    UseCase(slug="doc-gen", name="Technical documentation drafting", team="Digital services - architecture",
            status="pilot", deployment="on-prem", purpose="document-generation", provider="self-hosted",
            model="mistralai/Mistral-Small-3.1-24B-Instruct", country="FRA", region=SITE,
            hardware="2 x H100 SXM (shared)", started=date(2026, 2, 1), data_location="on-prem",
            last_consultation=date(2026, 1, 20)),
    UseCase(slug="decision-support", name="Decision support for grant applications", team="Grants department",
            status="pilot", deployment="on-prem", purpose="decision-support", provider="self-hosted",
            model="mistralai/Mistral-Small-3.1-24B-Instruct", country="FRA", region=SITE,
            hardware="2 x H100 SXM (shared)", started=date(2026, 3, 15), data_location="on-prem",
            last_consultation=date(2026, 3, 2)),
    UseCase(slug="code-analysis", name="Nightly automated code analysis", team="Digital services - quality",
            status="production", deployment="on-prem", purpose="code-analysis", provider="self-hosted",
            model="Qwen/Qwen2.5-Coder-7B-Instruct", country="FRA", region=SITE, hardware="1 x H100 PCIe (dedicated)",
            started=date(2026, 1, 5), data_location="on-prem", last_consultation=date(2025, 12, 9)),
    UseCase(slug="tender-analysis", name="Tender documents analysis", team="Public procurement",
            status="production", deployment="api", purpose="tender-analysis", provider="mistralai",
            model="mistral-large-latest", country="SWE", started=date(2026, 1, 15), data_location="eu",
            last_consultation=date(2025, 12, 9),
            description="Summaries and compliance checks of tender responses through the Mistral API."),
    UseCase(slug="workflow-automation", name="Mail triage and workflow automation", team="General secretariat",
            status="experiment", deployment="api", purpose="workflow-automation", provider="openai",
            model="gpt-4o-mini", country="USA", started=date(2026, 4, 1), data_location="outside-eu"),
    UseCase(slug="data-analysis", name="Statistical data analysis assistant", team="Statistics office",
            status="pilot", deployment="api", purpose="data-analysis", provider="mistralai",
            model="mistral-medium-latest", country="FRA", started=date(2026, 1, 10), data_location="eu",
            last_consultation=date(2025, 12, 9)),
]
RETIRED = ("data-analysis", date(2026, 8, 14))

# (slug, quarter, value, unit, evidence); workflow-automation documents no benefit.
BENEFITS = [
    ("code-assist", "2026-Q2", 610, "developer hours saved", "quarterly survey of 48 developers"),
    ("code-assist", "2026-Q3", 540, "developer hours saved", "quarterly survey of 45 developers"),
    ("doc-gen", "2026-Q2", 320, "pages drafted", "documentation repository statistics"),
    ("doc-gen", "2026-Q3", 410, "pages drafted", "documentation repository statistics"),
    ("decision-support", "2026-Q3", 180, "applications pre-screened", "grants department register"),
    ("code-analysis", "2026-Q2", 1450, "merge requests analysed", "CI pipeline logs"),
    ("code-analysis", "2026-Q3", 1520, "merge requests analysed", "CI pipeline logs"),
    ("tender-analysis", "2026-Q2", 96, "tenders analysed", "procurement tracking sheet"),
    ("tender-analysis", "2026-Q3", 88, "tenders analysed", "procurement tracking sheet"),
    ("data-analysis", "2026-Q2", 35, "reports produced", "statistics office activity report"),
    ("data-analysis", "2026-Q3", 12, "reports produced", "statistics office activity report (until retirement)"),
]


@dataclass(frozen=True)
class DemoSummary:
    use_cases: int
    records_added: int
    records_present: int
    usage_rows_added: int
    usage_rows_present: int


def _working(t: datetime) -> bool:
    return t.weekday() < 5 and 8 <= t.hour < 19


def _shared_server_records(rng: random.Random) -> list[IntervalRecord]:
    """vLLM server shared by three use cases, measured every 30 min (NVML counter, RAPL, RAM model)."""
    out = []
    t = START
    while t < END:
        tokens = []
        if _working(t):
            peak = 1.0 if t.hour in (9, 10, 11, 14, 15, 16) else 0.5
            for slug, base, ratio, since in (("code-assist", 260_000, 6.0, START), ("doc-gen", 90_000, 3.0, START),
                                             ("decision-support", 40_000, 8.0, datetime(2026, 5, 4))):
                if t < since or rng.random() < 0.05:
                    continue
                out_tok = int(base * peak * rng.uniform(0.6, 1.3))
                model = next(u.model for u in USE_CASES if u.slug == slug)
                tokens.append(TokenCount(slug, model, int(out_tok * ratio * rng.uniform(0.8, 1.2)), out_tok,
                                         max(1, out_tok // 350)))
        load = min(1.0, sum(tc.output_tokens for tc in tokens) / 400_000)
        seconds = INTERVAL.total_seconds()
        gpu_w = 2 * (68 + 330 * load) * rng.uniform(0.97, 1.03)
        cpu_w = (45 + 70 * load) * rng.uniform(0.97, 1.03)
        ram_w = 38.0  # CodeCarbon RAM model for 512 GB
        out.append(IntervalRecord(
            record_id=f"demo:{SHARED_HOST}:{t.isoformat()}", use_case=None, host=SHARED_HOST, start=t, end=t + INTERVAL,
            source="demo", gpu_j=round(gpu_w * seconds, 3), cpu_j=round(cpu_w * seconds, 3), ram_j=ram_w * seconds,
            gpu_method="measured:nvml-counter", cpu_method="measured:rapl", ram_method="modelled:ram",
            gpu_devices=SHARED_GPUS, shared=True,
            input_tokens=sum(tc.input_tokens for tc in tokens) or None,
            output_tokens=sum(tc.output_tokens for tc in tokens) or None,
            requests=sum(tc.requests for tc in tokens) or None, tokens=tuple(tokens)))
        t += INTERVAL
    return out


def _batch_records(rng: random.Random) -> list[IntervalRecord]:
    """Nightly code analysis on a dedicated GPU (footprint run), weekdays 01:00, 1.5-3 h."""
    out = []
    day = START
    while day < END:
        if day.weekday() < 5:
            start = day + timedelta(hours=1)
            hours = rng.uniform(1.5, 3.0)
            seconds = hours * 3600
            gpu_w, cpu_w = rng.uniform(250, 320), rng.uniform(60, 90)
            out.append(IntervalRecord(
                record_id=f"demo:{BATCH_HOST}:{start.isoformat()}", use_case="code-analysis", host=BATCH_HOST,
                start=start, end=start + timedelta(seconds=round(seconds)), source="demo",
                gpu_j=round(gpu_w * seconds, 3), cpu_j=round(cpu_w * seconds, 3), ram_j=round(24.0 * seconds, 3),
                gpu_method="measured:nvml-counter", cpu_method="modelled:cpu-load-tdp", ram_method="modelled:ram",
                gpu_devices=BATCH_GPUS, shared=False))
        day += timedelta(days=1)
    return out


def _usage_lines(rng: random.Random) -> list[dict]:
    """API usage logs (one line per request, as a gateway writes them; no user, no content)."""
    rows = []
    day = START
    retired_end = datetime.combine(RETIRED[1], datetime.min.time())
    while day < END:
        if day.weekday() < 5:
            for slug, model, provider, per_day, inp, outp in (
                ("tender-analysis", "mistral-large-latest", "mistralai", 36, 12_000, 900),
                ("workflow-automation", "gpt-4o-mini", "openai", 140, 1_800, 250),
                ("data-analysis", "mistral-medium-latest", "mistralai", 22, 4_000, 700),
            ):
                if slug == "data-analysis" and day >= retired_end:
                    continue
                for n in range(int(per_day * rng.uniform(0.7, 1.3))):
                    ts = day + timedelta(hours=8, seconds=rng.randrange(10 * 3600))
                    rows.append({
                        "request_id": f"demo-{slug}-{ts:%Y%m%d}-{n:04d}", "timestamp": ts.isoformat() + "Z",
                        "use_case": slug, "model": model, "provider": provider,
                        "input_tokens": int(inp * rng.uniform(0.4, 1.6)), "output_tokens": int(outp * rng.uniform(0.4, 1.6)),
                    })
        day += timedelta(days=1)
    return rows


def _register(store) -> None:
    known = {u.slug for u in register.list_use_cases(store)}
    set_site(store, SITE, pue=1.45, wue_l_per_kwh=0.0, market_gco2e_per_kwh=22.0, country="FRA")
    for uc in USE_CASES:
        if uc.slug not in known:
            register.add_use_case(store, uc)
        elif register.get_use_case(store, uc.slug).data_location is None and uc.data_location:
            # a demo database made before the transparency fields existed (migration 008)
            register.edit_use_case(store, uc.slug, {"data_location": uc.data_location,
                                                    "last_consultation": uc.last_consultation})
    slug, on = RETIRED
    if register.get_use_case(store, slug).status != "retired":
        register.retire_use_case(store, slug, on)
    claimed = {(b.use_case, b.period): b for b in register.list_benefits(store)}
    for slug, period, value, unit, evidence in BENEFITS:
        b = claimed.get((slug, period))
        if b is None or (b.value, b.unit, b.evidence) != (float(value), unit, evidence):
            register.set_benefit(store, slug, period, value, unit, evidence)


def run_demo(db_path: str | os.PathLike | None = None) -> DemoSummary:
    from footprint.ingest import ingest_paths
    from footprint.spool import SpoolWriter

    path = resolve_db_path(db_path)
    rng = random.Random(SEED)
    records = _shared_server_records(rng) + _batch_records(rng)
    usage = _usage_lines(rng)
    with open_store(path) as store:
        _register(store)
        before = store.execute("SELECT count(*) FROM measurements WHERE source = 'demo'").fetchone()[0]
    # Measured intervals go through the collectors' spool, exactly as `footprint monitor` writes them.
    writer = SpoolWriter(path)
    try:
        for record in records:
            writer.append(record)
        writer.flush()
    finally:
        writer.close()
    with open_store(path) as store:  # opening drains the spool (exactly once, by record_id)
        after = store.execute("SELECT count(*) FROM measurements WHERE source = 'demo'").fetchone()[0]
        with tempfile.TemporaryDirectory(prefix="footprint-demo-") as tmp:
            os.chmod(tmp, 0o700)
            logs = Path(tmp) / "gateway-usage.jsonl"
            fd = os.open(logs, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for row in usage:
                    handle.write(json.dumps(row, sort_keys=True) + "\n")
            summary = ingest_paths(store, [logs], fmt="jsonl")
    return DemoSummary(
        use_cases=len(USE_CASES), records_added=after - before, records_present=len(records) - (after - before),
        usage_rows_added=summary.rows_added, usage_rows_present=summary.rows_present,
    )
