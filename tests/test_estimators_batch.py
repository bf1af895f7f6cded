"""`footprint estimate --input FILE.csv --json`: row order, defaults, bad rows, speed."""

from __future__ import annotations

import csv
import json
import time

import pytest

from footprint.estimators import estimate_llm

HEADER = ["params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens", "model", "input_tokens", "country"]


def _write(path, rows, header=HEADER):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_rows_in_order_and_equal_to_single_estimates(invoke, tmp_path):
    rows = [
        [8, 8, "H100", 1, 32, "bf16", 100, "", 0, "FRA"],
        [70, "", "A100-SXM4-40GB", 4, 64, "bfloat16/fp16 (not recorded)", 200, "", 50, "USA"],
        ["", "", "", "", "", "", 300, "gpt-4o", "", ""],
        [235, 22, "B200", 8, 512, "fp8", 400, "", "", "DEU"],
    ]
    result = invoke("estimate", "--input", str(_write(tmp_path / "in.csv", rows)), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data) == 4
    single = estimate_llm(params_b=70, gpu="A100-SXM4-40GB", gpus=4, batch=64, precision="fp16", output_tokens=200,
                          input_tokens=50, country="USA")
    assert data[1]["energy_wh"]["gpu"]["value"] == pytest.approx(single.energy_wh["gpu"].value, rel=1e-5)
    assert data[1]["gco2e"]["high"] == pytest.approx(single.gco2e.high, rel=1e-5)
    # A blank batch_size cell in a file is one request at a time (batch 1), not the API default.
    closed = estimate_llm(model="gpt-4o", output_tokens=300, batch=1)
    assert data[2]["energy_wh"]["total"]["value"] == pytest.approx(closed.energy_wh["total"].value, rel=1e-5)
    # Growing output tokens by row and the physics keep row order visible.
    assert data[0]["energy_wh"]["gpu"]["value"] < data[1]["energy_wh"]["gpu"]["value"]
    for row in data:
        for key in ("gpu", "host", "facility", "total"):
            r = row["energy_wh"][key]
            assert r["low"] <= r["value"] <= r["high"]


@pytest.mark.parametrize(
    "row, line, field",
    [
        ([8, 8, "H100", 1, 32, "bf16", "many", "", 0, ""], 3, "output_tokens"),
        ([8, 8, "TPU9", 1, 32, "bf16", 10, "", 0, ""], 3, "gpu"),
        ([8, 9, "H100", 1, 32, "bf16", 10, "", 0, ""], 3, "active_params"),
        (["", "", "H100", 1, 32, "bf16", 10, "no-such-model", 0, ""], 3, "model"),
        ([8, 8, "H100", 1, 32, "bf16", 10, "", 0, "ZZZ"], 3, "country"),
        ([8, 8, "H100", 0, 32, "bf16", 10, "", 0, ""], 3, "gpus"),
    ],
)
def test_bad_row_one_line_error(invoke, tmp_path, row, line, field):
    good = [8, 8, "H100", 1, 32, "bf16", 10, "", 0, ""]
    path = _write(tmp_path / "bad.csv", [good, row])
    result = invoke("estimate", "--input", str(path), "--json")
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert "\n" not in message and str(path) in message and f"line {line}" in message and f"field {field}" in message
    assert result.stdout == ""


def test_missing_column_and_ragged_line(invoke, tmp_path):
    path = _write(tmp_path / "cols.csv", [[8, "H100"]], header=["params", "gpu"])
    result = invoke("estimate", "--input", str(path), "--json")
    assert result.exit_code == 1 and "missing column" in result.stderr
    path = tmp_path / "ragged.csv"
    path.write_text(",".join(HEADER) + "\n8,8,H100,1,32,bf16,10,,0,\n8,8\n")
    result = invoke("estimate", "--input", str(path), "--json")
    assert result.exit_code == 1 and "line 3" in result.stderr


def test_blank_batch_in_file_is_one_request_at_a_time(invoke, tmp_path):
    rows = [
        [70, 70, "A100", 4, "", "bf16", 300, "", "", "FRA"],
        [70, 70, "A100", 4, 1, "bf16", 300, "", "", "FRA"],
        [70, 70, "A100", 4, 64, "bf16", 300, "", 500, "FRA"],
    ]
    result = invoke("estimate", "--input", str(_write(tmp_path / "in.csv", rows)), "--json")
    assert result.exit_code == 0, result.output
    blank, one, batched = json.loads(result.stdout)
    assert blank["inputs"]["batch"] == 1 and "batch" in blank["inputs"]["assumed"]
    assert "batch" not in one["inputs"]["assumed"] and batched["inputs"]["assumed"] == ["pue"]
    assert blank["energy_wh"] == one["energy_wh"]
    single = estimate_llm(params_b=70, gpu="A100", gpus=4, batch=1, precision="bf16", output_tokens=300, country="FRA")
    assert blank["energy_wh"]["gpu"]["value"] == pytest.approx(single.energy_wh["gpu"].value, rel=1e-5)
    assert blank["energy_wh"]["gpu"]["high"] == pytest.approx(single.energy_wh["gpu"].high, rel=1e-5)
    # The single command without --batch keeps the unknown-API default (128, range 16-1024).
    default = estimate_llm(params_b=70, gpu="A100", gpus=4, precision="bf16", output_tokens=300, country="FRA")
    assert default.inputs["batch"] == 256 and "batch" in default.inputs["assumed"]
    assert default.energy_wh["gpu"].value < single.energy_wh["gpu"].value / 5


def test_input_needs_json(invoke, tmp_path):
    path = _write(tmp_path / "in.csv", [[8, 8, "H100", 1, 32, "bf16", 10, "", 0, ""]])
    assert invoke("estimate", "--input", str(path)).exit_code == 2


def test_100k_rows_fast(tmp_path):
    from footprint.estimators.batch_csv import estimate_file, to_json_bytes

    rows = [[(8, 70, 235)[i % 3], (8, 70, 22)[i % 3], ("H100", "A100", "B200")[i % 3], (1, 4, 8)[i % 3],
             (16, 64, 256, 1024)[i % 4], ("bf16", "fp8")[i % 2], 100 + i % 500, "", i % 1000, ("FRA", "")[i % 2]]
            for i in range(100_000)]
    path = _write(tmp_path / "big.csv", rows)
    start = time.perf_counter()
    data = bytes(to_json_bytes(estimate_file(path)))
    elapsed = time.perf_counter() - start
    parsed = json.loads(data)
    assert len(parsed) == 100_000
    assert parsed[5]["energy_wh"]["gpu"]["value"] > 0
    # In-process budget (the CLI adds interpreter start-up; bench/bench_estimate.py measures it all).
    assert elapsed < 4.0, elapsed


def test_quoted_and_crlf_files_read_alike(invoke, tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(",".join(HEADER) + "\r\n8,8,H100,1,32,bf16,100,,0,FRA\r\n,,,,,,50,gpt-4o,,\r\n")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(",".join(HEADER) + '\n"8","8","H100","1","32","bf16","100","","0","FRA"\n,,,,,,50,"gpt-4o",,\n')
    first, second = (invoke("estimate", "--input", str(p), "--json") for p in (plain, quoted))
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert json.loads(first.stdout) == json.loads(second.stdout)
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + '\n"8","8","H100","1","32","bf16","x","","0","FRA"\n')
    result = invoke("estimate", "--input", str(bad), "--json")
    assert result.exit_code == 1 and "line 2, field output_tokens" in result.stderr
