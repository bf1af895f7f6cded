"""Calibration by our own measurements: a real DuckDB store, measured J/token replaces the model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from footprint.estimators import estimate_llm
from footprint.calibration import measured_calibration
from footprint.measurements import insert_records
from footprint.records import IntervalRecord, TokenCount

T0 = datetime(2026, 7, 1, 12, 0, 0)


def _record(i: int, model: str, gpu_j: float, out: int, inp: int, *, other: str | None = None) -> IntervalRecord:
    tokens = [TokenCount("uc", model, inp, out, 3)]
    if other:
        tokens.append(TokenCount("uc2", other, inp, out, 3))
    return IntervalRecord(
        record_id=f"r{i}", use_case="uc", host="gpu-node-1", start=T0 + timedelta(seconds=10 * i),
        end=T0 + timedelta(seconds=10 * i + 10), source="monitor", gpu_j=gpu_j, gpu_method="measured:nvml-counter",
        shared=bool(other), tokens=tuple(tokens),
    )


@pytest.fixture
def measured_store(store):
    records = [_record(i, "Llama-3.1-8B-Instruct", 300.0 + 10 * i, 1000, 0) for i in range(10)]
    records.append(_record(99, "Llama-3.1-8B-Instruct", 1e6, 10, 0, other="gpt-oss-20b"))  # shared: skipped
    insert_records(store, records)
    return store


def test_store_query_keeps_single_model_intervals(measured_store):
    cal = measured_calibration(measured_store, "llama-3.1-8b-instruct")
    assert cal is not None and cal.intervals == 10 and cal.hosts == ("gpu-node-1",)
    assert cal.j_per_output_token == pytest.approx(sum(300.0 + 10 * i for i in range(10)) / 10_000)
    assert measured_calibration(measured_store, "other-model") is None


def test_estimate_uses_measured_rate_and_says_so(measured_store):
    cal = measured_calibration(measured_store, "Llama-3.1-8B-Instruct")
    e = estimate_llm(model="Llama-3.1-8B-Instruct", output_tokens=1000, calibration=cal)
    assert e.energy_wh["gpu"].value == pytest.approx(cal.j_per_output_token * 1000 / 3600)
    assert e.energy_wh["gpu"].low < e.energy_wh["gpu"].value < e.energy_wh["gpu"].high  # spread of intervals
    assert e.sources[0]["method"] == "measured" and e.sources[0]["intervals"] == 10
    model_only = estimate_llm(model="Llama-3.1-8B-Instruct", output_tokens=1000)
    assert model_only.sources[0]["method"] == "estimated:tokens"


def test_cli_calibrates_from_the_database(measured_store, invoke):
    measured_store.close()
    result = invoke("estimate", "--model", "Llama-3.1-8B-Instruct", "--output-tokens", "1000", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sources"][0]["method"] == "measured"
    assert data["energy_wh"]["gpu"]["value"] == pytest.approx(0.345 * 1000 / 3600)
