"""The shipped, fitted coefficient files (written by `python -m estimators.fit`), read once."""

from __future__ import annotations

import functools
import json

import numpy as np

from footprint.estimators import physics
from footprint.factors import read_data_text


@functools.cache
def llm() -> dict:
    return json.loads(read_data_text("llm_coefficients.json"))


@functools.cache
def llm_theta() -> np.ndarray:
    params = llm()["parameters"]
    return np.array([params[name] for name in physics.PARAMS], dtype=float)


@functools.cache
def llm_cv() -> dict:
    return json.loads(read_data_text("llm_cv_metrics.json"))["metrics"]["all"]


@functools.cache
def images() -> dict:
    return json.loads(read_data_text("image_coefficients.json"))
