"""`footprint estimate`: the JSON contract, the readable summary, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

RANGE_KEYS = {"value", "low", "high"}


def test_closed_model_json_contract(invoke):
    result = invoke("estimate", "--model", "gpt-4o", "--output-tokens", "500", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["energy_wh"]) == {"gpu", "host", "facility", "total"}
    for key in ("gpu", "host", "facility", "total"):
        assert set(data["energy_wh"][key]) == RANGE_KEYS
    for key in ("gco2e", "water_ml", "embodied_gco2e"):
        assert set(data[key]) == RANGE_KEYS
        assert 0 < data[key]["low"] <= data[key]["value"] <= data[key]["high"]
    assert "gpu" in data["inputs"]["assumed"] and "batch" in data["inputs"]["assumed"]
    assert data["inputs"]["active_params_b"]["low"] < data["inputs"]["active_params_b"]["high"]
    assert data["sources"] and all("what" in s for s in data["sources"])


def test_all_contract_options(invoke):
    result = invoke(
        "estimate", "--params", "235", "--active-params", "22", "--output-tokens", "400", "--input-tokens", "2000",
        "--gpu", "B200", "--gpus", "8", "--batch", "256", "--precision", "fp8", "--country", "FRA", "--pue", "1.2", "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"]["assumed"] == []
    assert data["inputs"]["gpu"] == "B200" and data["inputs"]["gpus"] == 8 and data["inputs"]["country"] == "FRA"
    grid = [s for s in data["sources"] if s.get("what", "").startswith("grid carbon intensity, FRA")]
    assert grid and grid[0]["source"] and grid[0]["vintage"]


def test_readable_summary(invoke):
    result = invoke("estimate", "--params", "8", "--output-tokens", "100")
    assert result.exit_code == 0, result.output
    assert "energy total" in result.stdout and "assumed:" in result.stdout and "80%" in result.stdout


def test_unknown_model_suggests_names(invoke):
    result = invoke("estimate", "--model", "gpt-4o-mimi", "--output-tokens", "5")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unknown model") and "gpt-4o-mini" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("--output-tokens", "5"),  # neither --model nor --params
        ("--model", "gpt-4o", "--params", "8", "--output-tokens", "5"),
        ("--params", "8"),  # no --output-tokens
        ("--params", "8", "--output-tokens", "-1"),
        ("--task", "text-to-image", "--params", "2"),  # no --images
    ],
)
def test_bad_usage_exits_2(invoke, args):
    assert invoke("estimate", *args).exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("--params", "8", "--output-tokens", "5", "--gpu", "TPU9"),
        ("--params", "8", "--output-tokens", "5", "--country", "ZZZ"),
        ("--params", "8", "--active-params", "9", "--output-tokens", "5"),
    ],
)
def test_user_errors_exit_1(invoke, args):
    result = invoke("estimate", *args)
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


def test_text_to_image(invoke):
    result = invoke("estimate", "--task", "text-to-image", "--images", "10", "--model", "FLUX.1-dev",
                    "--resolution", "1024x1024", "--steps", "28", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"]["steps"] == 28 and data["inputs"]["images"] == 10
    assert data["energy_wh"]["gpu"]["low"] < data["energy_wh"]["gpu"]["value"] < data["energy_wh"]["gpu"]["high"]


def test_console_script_subprocess(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from footprint import cli; cli.main()", "--db", str(tmp_path / "x.duckdb"), "estimate",
         "--model", "gpt-4o", "--output-tokens", "500", "--json"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["energy_wh"]["total"]["value"] > 0
    assert not (tmp_path / "x.duckdb").exists()  # estimating never creates a database


def test_benchmark_averages_may_be_fractional(invoke):
    """ML.ENERGY publishes mean answer lengths and mean batch sizes: the command takes them as they are."""
    common = ("estimate", "--params", "14", "--gpu", "B200", "--gpus", "1", "--precision", "bfloat16", "--json")
    exact = invoke(*common, "--output-tokens", "7026.24", "--batch", "7.9973")
    near = invoke(*common, "--output-tokens", "7026", "--batch", "8")
    assert exact.exit_code == 0 and near.exit_code == 0, exact.output + near.output
    a, b = json.loads(exact.stdout), json.loads(near.stdout)
    assert a["inputs"]["output_tokens"] == 7026.24 and a["inputs"]["batch"] == 7.9973
    assert b["inputs"]["output_tokens"] == 7026 and b["inputs"]["batch"] == 8
    # per output token the two agree closely; the totals differ by the 0.24 extra tokens and the batch
    per_token = [d["inputs"]["gpu_j_per_output_token"] for d in (a, b)]
    assert per_token[0] == pytest.approx(per_token[1], rel=2e-3)
    assert invoke("estimate", "--task", "text-to-image", "--images", "2", "--batch", "1.5").exit_code == 2
