"""Issue 19: the serving-software generation (fitted per benchmark run), the assumed-batch prior's
interval, and which figures come from the fit or from our own measured J/token."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest

from footprint.estimators import coefficients, estimate_llm, physics
from footprint.calibration import measured_calibration
from footprint.factors import read_data_text
from footprint.measurements import insert_records
from footprint.periods import parse_quarter
from footprint.records import IntervalRecord, TokenCount
from footprint.reports import render
from footprint.reports.build import build_report
from report_helpers import add_uc, add_usage

ARGS = ("estimate", "--params", "70", "--output-tokens", "500", "--gpu", "H100", "--gpus", "4", "--json")


def _factor(name: str) -> float:
    return math.exp(coefficients.llm()["parameters"][f"serving_{name}"])


def test_years_map_to_generations():
    assert physics.generation_of_year([2019, 2023, 2024, 2025, 2026, 2031]).tolist() == [0, 0, 1, 2, 2, 2]
    assert physics.NEWEST_GENERATION == "v3"


def test_older_software_costs_more_per_token_as_fitted():
    # The same H100 16-bit rows cost more in 2024 (v2) than in 2025-26 (v3): the fit finds it.
    assert 1.2 < _factor("v2") < 2.0 and _factor("v1") > 1.0


def test_cli_default_is_the_newest_and_names_it(invoke):
    result = invoke(*ARGS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"]["serving_generation"] == "v3" and data["inputs"]["serving_year"] is None
    assert data["sources"][0]["serving_generation"] == "v3"
    generation = next(s for s in data["sources"] if s.get("what", "").startswith("serving-software generation"))
    assert generation["serving_generation"] == "v3" and generation["value"] == 1.0


def test_serving_year_2024_changes_the_figure_by_the_fitted_factor(invoke):
    newest = json.loads(invoke(*ARGS).stdout)
    result = invoke(*ARGS, "--serving-year", "2024")
    assert result.exit_code == 0, result.output
    older = json.loads(result.stdout)
    assert older["inputs"]["serving_generation"] == "v2" and older["sources"][0]["serving_generation"] == "v2"
    for key in ("gpu", "total"):
        for end in ("value", "low", "high"):
            assert older["energy_wh"][key][end] == pytest.approx(newest["energy_wh"][key][end] * _factor("v2"), rel=1e-9)
    # Any year of 2025 or later is the newest software.
    assert json.loads(invoke(*ARGS, "--serving-year", "2026").stdout)["energy_wh"] == newest["energy_wh"]
    plain = invoke(*ARGS[:-1], "--serving-year", "2023")
    assert plain.exit_code == 0 and "serving software: generation v1" in plain.stdout


def test_a_bad_serving_year_is_one_line(invoke):
    result = invoke(*ARGS, "--serving-year", "99")
    assert result.exit_code != 0 and "Traceback" not in result.output
    with pytest.raises(Exception, match="serving year"):
        estimate_llm(params_b=8, output_tokens=10, serving_year=20240)


def test_batch_file_rows_name_their_generation(invoke, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("params,active_params,gpu,gpus,batch_size,precision,output_tokens\n8,8,H100,1,64,bf16,500\n")
    result = invoke("estimate", "--input", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inputs"]["serving_generation"] == "v3"


def test_assumed_batch_interval_is_calibrated_held_out_and_narrow():
    """An API model's batch is assumed: its interval comes from held-out rows served at 128-1024 concurrent
    sequences, predicted at the prior's 256; its coverage is 75-85% with misses on both sides."""
    metrics = json.loads(read_data_text("llm_cv_metrics.json"))["metrics"]["assumed_batch"]
    assert 0.75 <= metrics["interval_coverage"] <= 0.85
    assert 0.05 <= metrics["misses_below"] <= 0.15 and 0.05 <= metrics["misses_above"] <= 0.15
    e = estimate_llm(params_b=70, output_tokens=500)  # parameters known, batch assumed
    assert e.inputs["batch"] == physics.ASSUMED_BATCH and "batch" in e.inputs["assumed"]
    gpu = e.energy_wh["gpu"]
    assert gpu.low < gpu.value < gpu.high and gpu.high / gpu.low <= 4
    assert gpu.high / gpu.low == pytest.approx(metrics["range_ratio"], rel=1e-6)
    # A closed model's parameter range widens it further; gpt-4o's register range still stays near x4.
    closed = estimate_llm(model="gpt-4o", output_tokens=500).energy_wh["gpu"]
    assert gpu.high / gpu.low < closed.high / closed.low < 4.5


# --- the accounting engine: generation of the usage date, basis of the figures ----------------------


def _usage_store(store, year: int, model: str = "Llama-3.1-8B-Instruct"):
    add_uc(store, "api", deployment="api", model=model, country="FRA")
    add_usage(store, [(datetime(year, 7, 1) + timedelta(hours=h), "api", None, 1000, 300) for h in range(4)])


@pytest.mark.parametrize(("year", "generation"), [(2024, "v2"), (2026, "v3")])
def test_engine_estimates_usage_at_the_generation_of_its_date(store, year, generation):
    _usage_store(store, year)
    report = build_report(store, parse_quarter(f"{year}-Q3"))
    (uc,) = [u for u in report["use_cases"] if u["slug"] == "api"]
    (group,) = uc["estimates"]
    assert group["serving_generation"] == generation and group["serving_year"] == year
    assert any(name.startswith(f"serving-software generation {generation}") for name in group["sources"])
    assert report["serving_generations"] == [{"generation": generation, "serving_years": [year]}]
    direct = estimate_llm(model="Llama-3.1-8B-Instruct", output_tokens=1200, input_tokens=4000, requests=4,
                          country="FRA", year=year, serving_year=year)
    assert group["energy_kwh"]["value"] == pytest.approx(direct.energy_wh["total"].value / 1000, rel=1e-9)
    md = render(report, "md", "en")
    assert f"this period used: {generation} ({year})" in md
    assert f"cette période a utilisé : {generation} ({year})" in render(report, "md", "fr")
    assert f"this period used: {generation} ({year})" in render(report, "html", "en")


def _measured(store, model: str, j_per_token: float):
    t0 = datetime(2026, 8, 1, 12)
    insert_records(store, [
        IntervalRecord(record_id=f"m{i}", use_case="srv", host="gpu-node-1", start=t0 + timedelta(seconds=10 * i),
                       end=t0 + timedelta(seconds=10 * i + 10), source="monitor", gpu_j=j_per_token * 1000,
                       gpu_method="measured:nvml-counter", tokens=(TokenCount("srv", model, 0, 1000, 3),))
        for i in range(5)
    ])


def test_report_says_which_figures_come_from_our_measurements(store):
    model = "Llama-3.1-8B-Instruct"
    add_uc(store, "srv", model=model)  # on-prem: our own servers
    add_uc(store, "api", deployment="api", model=model)
    _measured(store, model, 0.49)
    # Usage outside the measured hours: estimated; on-prem from our J/token, the API from the fit.
    add_usage(store, [(datetime(2026, 9, 1, h), slug, None, 0, 1000) for h in range(3) for slug in ("srv", "api")])
    report = build_report(store, parse_quarter("2026-Q3"))
    groups = {u["slug"]: u["estimates"][0] for u in report["use_cases"] if u["estimates"]}
    assert groups["srv"]["basis"] == "measured" and groups["api"]["basis"] == "fit"
    calibrated = estimate_llm(model=model, output_tokens=3000, requests=3, country="FRA", year=2026,
                              calibration=measured_calibration(store, model))
    assert groups["srv"]["energy_kwh"]["value"] == pytest.approx(calibrated.energy_wh["total"].value / 1000, rel=1e-9)
    assert groups["srv"]["energy_kwh"]["value"] != pytest.approx(groups["api"]["energy_kwh"]["value"], rel=0.01)
    (basis,) = report["estimate_basis"]
    assert basis["model"] == model and basis["figures_from"] == ["fit", "measured"]
    assert basis["measured_j_per_output_token"] == pytest.approx(0.49)
    fit = estimate_llm(model=model, output_tokens=3000, requests=3, country="FRA", year=2026).inputs["gpu_j_per_output_token"]
    assert basis["fit_j_per_output_token"] == pytest.approx(fit, rel=1e-6)
    assert basis["measured_to_fit"] == pytest.approx(0.49 / fit, rel=1e-6)
    for lang, words in (("en", "measured / fitted"), ("fr", "mesuré / ajusté")):
        assert words in render(report, "md", lang) and words in render(report, "html", lang)


def test_report_without_measurements_says_fit(store):
    _usage_store(store, 2026)
    report = build_report(store, parse_quarter("2026-Q3"))
    (basis,) = report["estimate_basis"]
    assert basis["figures_from"] == ["fit"] and basis["measured_to_fit"] is None
    assert "fitted estimator" in render(report, "md", "en")


def test_batch_file_serving_year_column(invoke, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("params,active_params,gpu,gpus,batch_size,precision,output_tokens,serving_year\n"
                    "8,8,H100,1,64,bf16,500,2024\n8,8,H100,1,64,bf16,500,\n")
    older, newest = json.loads(invoke("estimate", "--input", str(path), "--json").stdout)
    assert (older["inputs"]["serving_generation"], newest["inputs"]["serving_generation"]) == ("v2", "v3")
    ratio = older["energy_wh"]["gpu"]["value"] / newest["energy_wh"]["gpu"]["value"]
    assert ratio == pytest.approx(_factor("v2"), rel=1e-4)  # 6 significant digits in the file
    path.write_text("params,active_params,gpu,gpus,batch_size,precision,output_tokens,serving_year\n8,8,H100,1,64,bf16,500,99\n")
    bad = invoke("estimate", "--input", str(path), "--json")
    assert bad.exit_code == 1 and "line 2, field serving_year" in bad.output and "Traceback" not in bad.output
