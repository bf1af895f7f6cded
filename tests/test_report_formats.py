"""CSV (spreadsheets, formula injection escaped) and Markdown (wikis) reports."""

from __future__ import annotations

import csv
import io

from footprint.periods import parse_quarter
from footprint.reports import build_report, render
from footprint.reports.i18n import NBSP, NNBSP, number, quantity
from report_helpers import StandInEstimator, small_org

Q3 = parse_quarter("2026-Q3")


def test_csv_one_row_per_use_case_with_formulas_neutralised(store):
    small_org(store, with_usage=True)
    report = build_report(store, Q3, estimator=StandInEstimator())
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [r["slug"] for r in rows] == [u["slug"] for u in report["use_cases"]]
    chat = next(r for r in rows if r["slug"] == "chat")
    assert chat["name"].startswith("'=") and chat["team"] == "'-2+3"
    batch = next(r for r in rows if r["slug"] == "batch")
    assert batch["benefit_unit"].startswith("'=")
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "@")), value
            if value.startswith("-"):
                float(value)  # only numbers may start with a minus
        assert float(r["gco2e_low"] or 0) <= float(r["gco2e"] or 0) <= float(r["gco2e_high"] or 0)


def test_markdown_escapes_table_breaking_text(store):
    small_org(store)
    md = render(build_report(store, Q3, estimator=StandInEstimator()), "md", "en")
    assert md.startswith("# Environmental footprint of AI use cases: 2026-Q3")
    assert "\\<script\\>" in md and "<script>" not in md
    assert "ESRS E1-5" in md and "## Methodology" in md
    md_fr = render(build_report(store, Q3, estimator=StandInEstimator()), "md", "fr")
    assert "## Méthodologie" in md_fr


def test_french_number_style():
    assert number(1234567.891, "fr", 3) == f"1{NNBSP}234{NNBSP}567,891"
    assert number(0.0519, "fr") == "0,0519"
    assert quantity(12.5, "%", "fr", 1) == f"12,5{NBSP}%"
    assert quantity(1500, "kWh", "en") == "1,500 kWh"
