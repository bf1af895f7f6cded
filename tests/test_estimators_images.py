"""Per-image estimates (text-to-image), fitted on ML.ENERGY diffusion measurements."""

from __future__ import annotations

import pytest

from footprint.estimators import estimate_images
from footprint.errors import NotFoundError, ValidationError


def test_scales_with_images_steps_pixels_and_size():
    base = dict(params_b=2.5, gpu="H100", gpus=1, batch=1, resolution="1024x1024", steps=28)
    one = estimate_images(images=1, **base).energy_wh["gpu"].value
    assert estimate_images(images=10, **base).energy_wh["gpu"].value == pytest.approx(10 * one)
    assert estimate_images(images=1, **{**base, "steps": 56}).energy_wh["gpu"].value == pytest.approx(2 * one)
    assert estimate_images(images=1, **{**base, "resolution": "512x512"}).energy_wh["gpu"].value < one
    assert estimate_images(images=1, **{**base, "params_b": 12}).energy_wh["gpu"].value > one


def test_known_model_and_defaults():
    e = estimate_images(images=4, model="stable-diffusion-3.5-large")
    assert e.inputs["params_b"] == 8.1
    assert {"gpu", "resolution", "steps", "country", "pue"} <= set(e.inputs["assumed"])
    gpu = e.energy_wh["gpu"]
    assert gpu.low < gpu.value < gpu.high
    assert e.sources[0]["cross_validation"]["scheme"] == "leave-one-model-out"


def test_errors():
    with pytest.raises(NotFoundError, match="closest"):
        estimate_images(images=1, model="FLUX.1-dexx")
    with pytest.raises(ValidationError):
        estimate_images(images=1, params_b=2, resolution="big")
    with pytest.raises(ValidationError):
        estimate_images(images=-1, params_b=2)
