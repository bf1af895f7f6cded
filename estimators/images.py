"""Per-image (text-to-image) energy estimates, fitted on ML.ENERGY's diffusion measurements.

log(J per image) = w . [1, log params, log batch, log GPUs, log(TDP / TFLOPS)] + log(megapixels x steps)
(coefficients in data/image_coefficients.json, written by `python -m estimators.fit`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from footprint.estimators import coefficients, impacts
from footprint.estimators.hardware import normalise_gpu, spec_arrays
from footprint.estimators.result import ENERGY_KEYS, Estimate
from footprint import factors, units
from footprint.records import MAX_PUE
from footprint.errors import NotFoundError, ValidationError
from footprint.records import Range

DEFAULT_RESOLUTION = "1024x1024"
DEFAULT_STEPS = 50  # the benchmark's most common setting
DEFAULT_GPU = "H100"
DEFAULT_BATCH = 1


@functools.cache
def _image_models() -> dict[str, float]:
    out: dict[str, float] = {}
    for row in factors.read_data_csv("mlenergy_diffusion.csv"):
        if row["params_b"]:
            out.setdefault(row["model"].lower(), float(row["params_b"]))
            out.setdefault(row["model"].split("/")[-1].lower(), float(row["params_b"]))
    return out


def image_model_params(name: str) -> float:
    known = _image_models()
    key = name.strip().lower()
    if key in known:
        return known[key]
    import difflib

    close = difflib.get_close_matches(key, list(known), n=5, cutoff=0.4)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise NotFoundError(f"unknown image model {name!r} (give --params instead){hint}")


def parse_resolution(text: str) -> float:
    """'1024x1024' -> megapixels."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValidationError(f"bad resolution {text!r}: expected WIDTHxHEIGHT, e.g. 1024x1024") from None
    if width <= 0 or height <= 0:
        raise ValidationError(f"bad resolution {text!r}: sizes must be > 0")
    return width * height / 1e6


def estimate_images(
    *,
    images: int,
    model: str | None = None,
    params_b: float | None = None,
    gpu: str | None = None,
    gpus: int | None = None,
    batch: int | None = None,
    resolution: str | None = None,
    steps: int | None = None,
    country: str | None = None,
    pue: float | None = None,
    year: int | None = None,
) -> Estimate:
    if images is None or images < 0:
        raise ValidationError("images must be >= 0")
    if params_b is None:
        if model is None:
            raise ValidationError("give an image model name or its parameter count (params_b)")
        params_b = image_model_params(model)
    if params_b <= 0:
        raise ValidationError("params must be > 0 (billions)")
    for name, value in (("gpus", gpus), ("batch", batch), ("steps", steps)):
        if value is not None and value < 1:
            raise ValidationError(f"{name} must be >= 1")
    if pue is not None and not (math.isfinite(pue) and 1 <= pue <= MAX_PUE):  # inf/NaN would turn every figure to NaN
        raise ValidationError(f"pue must be a number from 1 to {MAX_PUE:g}, not {pue!r}")
    assumed = [name for name, value in (("gpu", gpu), ("gpus", gpus), ("batch", batch), ("resolution", resolution),
                                         ("steps", steps), ("country", country)) if value is None]
    gpu_key = normalise_gpu(gpu) if gpu else DEFAULT_GPU
    gpus = gpus or 1
    batch = batch or DEFAULT_BATCH
    resolution = resolution or DEFAULT_RESOLUTION
    steps = steps or DEFAULT_STEPS
    megapixels = parse_resolution(resolution)
    country_code = factors.validate_country(country) if country else None

    coef = coefficients.images()
    w = coef["coefficients"]
    specs = spec_arrays(np.array([gpu_key]))
    log_j = (
        w["intercept"]
        + w["log_params_b"] * math.log(params_b)
        + w["log_batch"] * math.log(batch)
        + w["log_gpus"] * math.log(gpus)
        + w["log_tdp_per_tflops"] * math.log(specs["tdp_w"][0] / specs["bf16_tflops"][0])
        + math.log(megapixels * steps)
    )
    j_per_image = math.exp(log_j)
    interval = coef["interval"]
    gpu_j = np.array([j_per_image * images])
    gpu_wh = tuple(units.j_to_wh(x) for x in (gpu_j, gpu_j * math.exp(interval["log_residual_low"]),
                                               gpu_j * math.exp(interval["log_residual_high"])))
    pue_values, pue_assumed = impacts.pue_triplet(pue)
    if pue_assumed:
        assumed.append("pue")
    ci, grid_source = impacts.grid(country_code, year)
    figures = impacts.chain(gpu_wh, pue_values, ci, impacts.offsite_water(country_code), specs["tdp_w"], specs["embodied_kgco2e"])

    def rng(key: str) -> Range:
        v, lo, hi = figures[key]
        return Range(float(v[0]), float(lo[0]), float(hi[0]))

    cv = coef["cv"]
    sources = [
        {
            "what": "GPU energy per image: fitted log-linear model (estimators/fit.py)",
            "method": "estimated:images",
            "fitted_on": coef["fitted_on"],
            "source": "ML.ENERGY benchmark (Chung et al., NeurIPS 2025 D&B, arXiv 2505.06371), Apache-2.0",
            "cross_validation": {"scheme": "leave-one-model-out", "median_ape": cv["median_ape"],
                                 "p90_ape": cv["p90_ape"], "interval_coverage": cv["interval_coverage"]},
        },
        *impacts.sources(pue_assumed, pue_values[0], country_code, grid_source, gpu_key),
    ]
    inputs = {
        "task": "text-to-image",
        "model": model,
        "params_b": params_b,
        "images": int(images),
        "gpu": gpu_key,
        "gpus": gpus,
        "batch": batch,
        "resolution": resolution,
        "steps": steps,
        "country": country_code,
        "year": year,
        "pue": pue_values[0],
        "gpu_j_per_image": j_per_image,
        "assumed": assumed,
    }
    return Estimate(
        energy_wh={key: rng(key) for key in ENERGY_KEYS},
        gco2e=rng("gco2e"),
        water_ml=rng("water_ml"),
        embodied_gco2e=rng("embodied_gco2e"),
        inputs=inputs,
        sources=sources,
    )
