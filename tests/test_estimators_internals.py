"""Building blocks: GPU/precision names, the vectorised JSON writer, a light `import estimators`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from footprint.estimators.fastjson import rows_to_json, sci_digits
from footprint.estimators.hardware import normalise_gpu, precision_bytes
from footprint.errors import ValidationError


@pytest.mark.parametrize(
    "name, key",
    [("H100 80GB HBM3", "H100"), ("A100-SXM4-40GB", "A100-40GB"), ("a100", "A100"), ("NVIDIA B200", "B200"),
     ("h200", "H200"), ("L40S", "L40S"), ("A40", "A40"), ("V100", "V100")],
)
def test_gpu_names(name, key):
    assert normalise_gpu(name) == key


@pytest.mark.parametrize(
    "name, nbytes",
    [("bfloat16", 2), ("bfloat16/fp16 (not recorded)", 2), ("", 2), ("fp8", 1), ("mxfp4", 0.5), ("int4", 0.5)],
)
def test_precision_bytes(name, nbytes):
    assert precision_bytes(name) == nbytes


def test_the_hopper_moe_factor_applies_to_hopper_moe_models_only():
    """The fitted Hopper x MoE correction scales the whole energy of an MoE model on H100, H200 or GH200 by
    exp(b), and leaves dense models and other generations alone."""
    from footprint.estimators import coefficients, physics
    from footprint.estimators.hardware import spec_arrays

    gpus = ["H100", "H200", "GH200", "B200", "A100"]
    assert spec_arrays(gpus)["is_hopper"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    theta = coefficients.llm_theta().copy()
    index = physics.PARAMS.index("hopper_moe")
    # With the B200 and serving-generation offsets the fitted factor is small (x1.07): kept as chosen before.
    assert abs(theta[index]) < 0.5
    specs = spec_arrays(gpus * 2)
    features = physics.features([100.0] * 5 + [100.0] * 5, [10.0] * 5 + [100.0] * 5, 2.0, 64.0, 1.0, specs)
    with_factor = physics.log_energy_per_token(theta, features)
    theta[index] = 0.0
    without = physics.log_energy_per_token(theta, features)
    shift = with_factor - without
    assert np.allclose(shift[:3], coefficients.llm_theta()[index]) and np.allclose(shift[3:], 0.0)


def test_unknown_names_raise():
    with pytest.raises(ValidationError):
        normalise_gpu("TPU v5")
    with pytest.raises(ValidationError):
        precision_bytes("fp3")


def test_fast_json_numbers_round_trip():
    values = np.array([0.0, 1.0, 9.9999996, 123456.5, 2.5e-7, 1e-120, 3.14159265, 7e42])
    text = sci_digits(values).tobytes().decode()
    parsed = [float(t) for t in text.split()]
    assert parsed[0] == 0 and parsed[5] == 0  # below 1e-99 written as 0
    np.testing.assert_allclose(np.array(parsed)[[1, 2, 3, 4, 6, 7]], values[[1, 2, 3, 4, 6, 7]], rtol=6e-6)
    rng = np.random.default_rng(7)
    x = rng.lognormal(0, 6, 5000)
    data = json.loads(bytes(rows_to_json('{"a": {}, "b": {"c": {}}}', [x, 2 * x])))
    assert len(data) == 5000
    np.testing.assert_allclose([d["b"]["c"] for d in data], 2 * x, rtol=6e-6)
    with pytest.raises(ValueError):
        sci_digits(np.array([-1.0]))


def test_import_estimators_is_light():
    code = "import sys, footprint.estimators; print('duckdb' in sys.modules, 'typer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_the_weights_batch_exponent_spares_batch_one_and_every_generation_alike():
    """The weights term falls as B^-(1-e): batch 1 is untouched, a larger batch pays more per token
    than 1/B would give, and the same for every serving generation (an older generation stays the
    newest times its one factor)."""
    from footprint.estimators import coefficients, physics
    from footprint.estimators.hardware import spec_arrays

    theta = coefficients.llm_theta().copy()
    index = physics.PARAMS.index("weights_batch_exponent")
    assert 0.1 < theta[index] < 0.4
    plain = theta.copy()
    plain[index] = 0.0
    batches = np.array([1.0, 8.0, 64.0, 256.0])
    specs = spec_arrays(["H100"] * 4)

    def decode(t, generation):
        features = physics.features(70.0, 70.0, 2.0, batches, 4.0, specs, generation=generation)
        return physics.decode_log_energy_per_token(t, features)

    shift = decode(theta, None) - decode(plain, None)
    assert shift[0] == pytest.approx(0.0, abs=1e-12) and np.all(shift[1:] > 0)
    assert np.allclose(decode(theta, 1) - decode(theta, None), theta[physics.PARAMS.index("serving_v2")])
