"""The per-token estimator: physics direction, ranges, defaults, register look-ups, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from footprint.estimators import Estimate, estimate_llm, estimate_llm_batch
from footprint.errors import NotFoundError, ValidationError


def _gpu(e: Estimate) -> float:
    return e.energy_wh["gpu"].value


def test_contract_shape_and_ordering():
    e = estimate_llm(params_b=8, output_tokens=500, gpu="H100", gpus=1, batch=32, precision="bf16", country="FRA", pue=1.2)
    data = json.loads(json.dumps(e.to_json()))
    for key in ("gpu", "host", "facility", "total"):
        r = data["energy_wh"][key]
        assert r["low"] <= r["value"] <= r["high"]
    for key in ("gco2e", "water_ml", "embodied_gco2e"):
        assert data[key]["low"] <= data[key]["value"] <= data[key]["high"]
    total = e.energy_wh["total"].value
    parts = sum(e.energy_wh[k].value for k in ("gpu", "host", "facility"))
    assert math.isclose(total, parts, rel_tol=1e-9)
    assert math.isclose(total, (e.energy_wh["gpu"].value + e.energy_wh["host"].value) * 1.2, rel_tol=1e-9)
    assert data["inputs"]["assumed"] == ["input_tokens"]  # the prompt was not given: reference prompt
    assert data["inputs"]["prompt_tokens_assumed"] == 1000
    assert any("FRA" in s.get("what", "") for s in data["sources"])


def test_physics_directions():
    base = dict(output_tokens=1000, gpu="H100", gpus=1, batch=32, precision="bf16")
    small, large = estimate_llm(params_b=8, **base), estimate_llm(params_b=70, **{**base, "gpus": 4})
    assert _gpu(large) > 3 * _gpu(small)
    # A bigger batch amortises the weight reads.
    assert _gpu(estimate_llm(params_b=8, **{**base, "batch": 256})) < _gpu(estimate_llm(params_b=8, **base)) / 2
    # MoE: fewer active parameters cost less than the dense model of the same size.
    moe = estimate_llm(params_b=235, active_params_b=22, **{**base, "gpus": 8})
    dense = estimate_llm(params_b=235, **{**base, "gpus": 8})
    assert _gpu(moe) < _gpu(dense)
    # More bandwidth at the same board power costs less per token (H200 against H100).
    assert _gpu(estimate_llm(params_b=8, **{**base, "gpu": "H200"})) < _gpu(estimate_llm(params_b=8, **base))
    # B200: the 2025 benchmark measured the same configurations at 0.87-0.99x the H100's energy, not the
    # datasheet's ~0.6x (its fitted offset); the estimate stays near parity.
    ratio = _gpu(estimate_llm(params_b=8, **{**base, "gpu": "B200"})) / _gpu(estimate_llm(params_b=8, **base))
    assert 0.75 < ratio < 1.25


def test_energy_linear_in_responses_and_input_tokens_cost_less():
    one = estimate_llm(params_b=8, output_tokens=100, input_tokens=500, gpu="H100", gpus=1, batch=16)
    ten = estimate_llm(params_b=8, output_tokens=1000, input_tokens=5000, requests=10, gpu="H100", gpus=1, batch=16)
    assert math.isclose(_gpu(ten), 10 * _gpu(one), rel_tol=1e-9)
    assert ten.inputs["output_tokens_per_response"] == 100
    prompt = estimate_llm(params_b=8, output_tokens=100, input_tokens=1500, gpu="H100", gpus=1, batch=16)
    per_input = (_gpu(prompt) - _gpu(one)) / 1000
    per_output = _gpu(one) / 100
    assert 0 < per_input < per_output
    assert prompt.inputs["gpu_j_per_input_token"] < prompt.inputs["gpu_j_per_output_token"]
    assert "input_tokens" not in prompt.inputs["assumed"]


def test_answer_length_sets_energy_per_token():
    # A short answer carries its prompt's prefill over few tokens; a long one reads a long context.
    def per_token(n):
        return estimate_llm(params_b=8, output_tokens=n, gpu="H100", gpus=1, batch=16).inputs["gpu_j_per_output_token"]

    assert per_token(50) > 1.1 * per_token(500)
    assert per_token(8000) > per_token(500)
    # Summed usage without a request count is split into responses of at most 16,384 tokens.
    summed = estimate_llm(params_b=8, output_tokens=10_000_000, gpu="H100", gpus=1, batch=16)
    assert summed.inputs["output_tokens_per_response"] == 16384
    assert summed.inputs["gpu_j_per_output_token"] == pytest.approx(per_token(16384), rel=1e-9)
    # No tokens, no energy (no reference prompt for a response that did not happen).
    assert _gpu(estimate_llm(params_b=8, output_tokens=0, gpu="H100", gpus=1, batch=16)) == 0


def test_closed_model_uses_register_range_and_defaults():
    e = estimate_llm(model="gpt-4o", output_tokens=500)
    assert e.inputs["active_params_b"]["low"] == 44 and e.inputs["active_params_b"]["high"] == 132
    assert set(e.inputs["assumed"]) >= {"gpu", "gpus", "batch", "precision", "country", "pue"}
    assert e.inputs["gpu"] == "H100" and e.inputs["precision"] == "bf16"
    exact = estimate_llm(params_b=440, active_params_b=76.2, output_tokens=500, gpus=e.inputs["gpus"], batch=256)
    # The parameter range and assumed batch widen the interval beyond the model's own.
    assert e.energy_wh["gpu"].high / e.energy_wh["gpu"].low > 1.5 * exact.energy_wh["gpu"].high / exact.energy_wh["gpu"].low


def test_default_gpu_count_grows_with_size():
    assert estimate_llm(params_b=8, output_tokens=1).inputs["gpus"] == 1
    assert estimate_llm(params_b=70, output_tokens=1).inputs["gpus"] == 4
    assert estimate_llm(params_b=405, output_tokens=1, precision="fp8").inputs["gpus"] == 8


def test_unknown_model_suggests_close_names():
    with pytest.raises(NotFoundError) as info:
        estimate_llm(model="gpt-4o-mimi", output_tokens=10)
    assert "gpt-4o-mini" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(output_tokens=-1, params_b=8),
        dict(output_tokens=10),
        dict(output_tokens=10, params_b=0),
        dict(output_tokens=10, params_b=8, active_params_b=9),
        dict(output_tokens=10, params_b=8, gpu="TPU9"),
        dict(output_tokens=10, params_b=8, precision="fp3"),
        dict(output_tokens=10, params_b=8, country="XXX"),
        dict(output_tokens=10, params_b=8, pue=0.5),
    ],
)
def test_bad_inputs_raise_validation_errors(kwargs):
    with pytest.raises(ValidationError):
        estimate_llm(**kwargs)


def test_batch_matches_single_and_is_vectorised():
    cols = {
        "params": [8, 70, 235],
        "active_params": [8, 70, 22],
        "gpu": ["H100", "A100-SXM4-40GB", "B200"],
        "gpus": [1, 4, 8],
        "batch_size": [32, 64, 256],
        "precision": ["bf16", "fp16", "fp8"],
        "output_tokens": [100, 200, 300],
        "country": ["FRA", "USA", ""],
    }
    out = estimate_llm_batch(cols)
    for i in range(3):
        single = estimate_llm(params_b=cols["params"][i], active_params_b=cols["active_params"][i], gpu=cols["gpu"][i],
                              gpus=cols["gpus"][i], batch=cols["batch_size"][i], precision=cols["precision"][i],
                              output_tokens=cols["output_tokens"][i], country=cols["country"][i] or None)
        assert math.isclose(out["gpu_wh"][i], _gpu(single), rel_tol=1e-9)
        assert math.isclose(out["gco2e_high"][i], single.gco2e.high, rel_tol=1e-9)
    assert isinstance(out["total_wh"], np.ndarray) and out["total_wh"].shape == (3,)


def test_batch_looks_up_models_and_names_bad_rows():
    out = estimate_llm_batch({"model": ["gpt-4o", "Mistral-Large-Instruct-2407"], "output_tokens": [10, 10]})
    assert out["gpu_wh_low"][0] < out["gpu_wh"][0] < out["gpu_wh_high"][0]
    with pytest.raises(ValidationError, match="row 2, field gpu"):
        estimate_llm_batch({"params": [8, 8], "gpu": ["H100", "nope"], "output_tokens": [1, 1]})


def test_interval_width_depends_on_the_regime():
    """One request at a time is bandwidth bound and predicted well (narrow interval); batched serving
    depends on unstated software (wider); fp8 kernels vary more still (widest). Calibrated by
    leave-one-model-out, so each generation's coverage stays near 80%."""
    import json

    from footprint.factors import read_data_text

    def ratio(**kw):
        e = estimate_llm(params_b=8, gpu="H100", gpus=1, output_tokens=400, input_tokens=1000, **kw)
        return e.energy_wh["gpu"].high / e.energy_wh["gpu"].low

    assert ratio(batch=1, precision="bf16") < ratio(batch=64, precision="bf16") < ratio(batch=64, precision="fp8")
    # x1.46 and x2.16 (above x2.2 before the weights term's batch exponent narrowed batched serving's)
    assert ratio(batch=1, precision="bf16") < 1.6 and ratio(batch=64, precision="bf16") > 2.1
    metrics = json.loads(read_data_text("llm_cv_metrics.json"))["metrics"]
    for version in ("v1", "v2", "v3"):
        assert 0.70 <= metrics[version]["interval_coverage"] <= 0.92, version
