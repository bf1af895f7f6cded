"""`usage_rows` and `footprint usage`: per use case and model, by day/month, summing to what was ingested."""

from __future__ import annotations

import json

import pytest

from footprint.errors import ValidationError
from footprint.ingest import ingest_paths
from footprint.periods import parse_quarter
from footprint.records import UseCase
from footprint.register import add_use_case
from footprint.usage import usage_rows

ROWS = [
    ("2026-06-30T23:59:59Z", "chat", "gpt-4o", 1000, 1),
    ("2026-07-01T00:00:00Z", "chat", "gpt-4o", 10, 2),
    ("2026-07-01T13:00:00Z", "chat", "gpt-4o-mini", 20, 3),
    ("2026-08-15T09:00:00Z", "docs", "mistral-small", 30, 4),
    ("2026-09-30T23:59:59Z", "chat", "gpt-4o", 40, 5),
    ("2026-10-01T00:00:00Z", "docs", "mistral-small", 500, 6),
]


@pytest.fixture
def loaded(store, tmp_path):
    for slug in ("chat", "docs"):
        add_use_case(store, UseCase(slug=slug, name=slug, team="IT", status="pilot", deployment="api"))
    f = tmp_path / "u.csv"
    f.write_text("timestamp,use_case,model,input_tokens,output_tokens\n"
                 + "".join(",".join(map(str, r)) + "\n" for r in ROWS))
    ingest_paths(store, [f])
    return store


def test_rows_per_use_case_and_model_sum_to_the_ingested_totals(loaded):
    rows = usage_rows(loaded)
    assert sum(r["requests"] for r in rows) == len(ROWS)
    assert sum(r["input_tokens"] for r in rows) == sum(r[3] for r in ROWS)
    assert sum(r["output_tokens"] for r in rows) == sum(r[4] for r in ROWS)
    assert {(r["use_case"], r["model"]) for r in rows} == {("chat", "gpt-4o"), ("chat", "gpt-4o-mini"), ("docs", "mistral-small")}
    assert rows == usage_rows(loaded, by="model")


def test_quarter_is_half_open(loaded):
    rows = usage_rows(loaded, period=parse_quarter("2026-Q3"))
    assert sum(r["requests"] for r in rows) == 4
    assert sum(r["input_tokens"] for r in rows) == 10 + 20 + 30 + 40


def test_use_case_filter_and_month_grouping(loaded):
    rows = usage_rows(loaded, use_case="chat", period=parse_quarter("2026-Q3"), by="month")
    assert [(r["month"], r["model"], r["requests"], r["output_tokens"]) for r in rows] == [
        ("2026-07", "gpt-4o", 1, 2), ("2026-07", "gpt-4o-mini", 1, 3), ("2026-09", "gpt-4o", 1, 5)]


def test_day_grouping(loaded):
    rows = usage_rows(loaded, by="day")
    assert [r["day"] for r in rows] == ["2026-06-30", "2026-07-01", "2026-07-01", "2026-08-15", "2026-09-30", "2026-10-01"]
    assert sum(r["requests"] for r in rows) == len(ROWS)


def test_bad_grouping(loaded):
    with pytest.raises(ValidationError):
        usage_rows(loaded, by="user")


def test_cli_usage_json_contract(loaded, invoke):
    result = invoke("usage", "--json", "--quarter", "2026-Q3", "--by", "month")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    for row in rows:
        assert {"use_case", "model", "requests", "input_tokens", "output_tokens", "month"} <= set(row)
    assert sum(r["requests"] for r in rows) == 4
    plain = invoke("usage", "--use-case", "docs")
    assert plain.exit_code == 0 and "mistral-small" in plain.output and "gpt-4o" not in plain.output
    assert invoke("usage", "--by", "week").exit_code == 2
    bad = invoke("usage", "--quarter", "2026-Q5")
    assert bad.exit_code == 1


def test_cli_usage_empty(invoke):
    result = invoke("usage", "--json")
    assert result.exit_code == 0 and json.loads(result.output) == []
