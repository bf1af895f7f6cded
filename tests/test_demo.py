"""`footprint demo`: deterministic, idempotent, written through the spool and ingest paths."""

from __future__ import annotations

import importlib.util
import json

import pytest

from footprint.store import open_store

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("footprint.spool") is None or importlib.util.find_spec("footprint.ingest") is None
    or importlib.util.find_spec("footprint.estimators") is None,
    reason="the demo writes through footprint.spool and footprint.ingest and is reported with estimators; "
           "one of them is not in this tree yet",
)


def _counts(db_path):
    with open_store(db_path) as store:
        return (store.execute("SELECT count(*) FROM measurements").fetchone()[0],
                store.execute("SELECT count(*) FROM interval_tokens").fetchone()[0],
                store.execute("SELECT count(*) FROM usage").fetchone()[0],
                store.execute("SELECT count(*) FROM use_cases").fetchone()[0],
                store.execute("SELECT count(*) FROM benefit_history").fetchone()[0])


def test_demo_twice_doubles_nothing_and_reports(invoke, db_path, tmp_path):
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    first = _counts(db_path)
    assert first[0] > 1000 and first[2] > 1000 and 6 <= first[3] <= 8
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    assert _counts(db_path) == first
    assert "0 measurement records added" in result.stdout and "0 usage rows added" in result.stdout

    out = tmp_path / "r.json"
    result = invoke("report", "--quarter", "2026-Q3", "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    ucs = {u["slug"]: u for u in report["use_cases"]}
    assert any(u["status"] == "retired" for u in ucs.values())
    assert [s for s, u in ucs.items() if u["benefit"] is None] == ["workflow-automation"]
    assert ucs["code-assist"]["measured_share"] > 0.5 and ucs["code-analysis"]["measured_share"] > 0
    assert ucs["tender-analysis"]["measured_share"] == 0 and ucs["tender-analysis"]["energy_kwh"]["value"] > 0
    assert report["idle"]["idle_energy_kwh"]["value"] > 0  # nights and weekends on the shared server
    assert report["conservation"]["holds"]
    q2 = invoke("report", "--quarter", "2026-Q2", "--format", "json")
    assert json.loads(q2.stdout)["totals"]["gco2e"]["value"] > 0


def test_demo_is_deterministic(tmp_path):
    from footprint.demo import run_demo

    reports = []
    for name in ("a", "b"):
        db = tmp_path / name / "fp.duckdb"
        run_demo(db)
        from footprint.periods import parse_quarter
        from footprint.reports import build_report, render

        with open_store(db) as store:
            reports.append(render(build_report(store, parse_quarter("2026-Q3")), "json"))
    assert reports[0] == reports[1]
