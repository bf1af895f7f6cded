"""Token-based energy and impact estimates for LLM inference.

GPU joules per output token come from the fitted physics model (estimators/physics.py, data/
llm_coefficients.json); input (prompt) tokens cost the prefill compute term of the same model.
Ranges are 80% prediction intervals: the leave-one-model-out residual quantiles, applied to the
extreme corners of the input uncertainty (parameter ranges of closed models, assumed batch).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from footprint.estimators import coefficients, impacts, physics
from footprint.estimators.hardware import normalise_gpu, precision_bytes, spec_arrays
from footprint.estimators.models import lookup
from footprint.estimators.result import ENERGY_KEYS, Estimate
from footprint import factors, units
from footprint.errors import NotFoundError, ValidationError
from footprint.records import MAX_PUE, Range

MAX_PARAMS_B = 100_000.0  # 100 trillion parameters: far above any model, below float overflow

DEFAULT_GPU = "H100"
DEFAULT_PRECISION = "bf16"
# A production server's concurrent sequences when nobody says: the prior physics.ASSUMED_BATCH
# documents (large providers' continuous batching at high concurrency); the interval of such an
# estimate is calibrated on held-out rows served anywhere in the range (fit.assumed_batch_interval).
DEFAULT_BATCH = physics.ASSUMED_BATCH
DEFAULT_BATCH_RANGE = physics.ASSUMED_BATCH_RANGE
WEIGHTS_SHARE_OF_MEMORY = 0.75  # the rest holds the KV cache


class RowValueError(ValidationError):
    """A bad value in row `row` (0-based) of a batch, field `field`."""

    def __init__(self, row: int, field: str, message: str):
        super().__init__(f"row {row + 1}, field {field}: {message}")
        self.row = row
        self.field = field
        self.detail = message


def default_gpus(params_b, bytes_per_param, memory_gb) -> np.ndarray:
    """Smallest power-of-two GPU count whose memory holds the weights with room for the KV cache."""
    need = np.asarray(params_b, dtype=float) * np.asarray(bytes_per_param, dtype=float)
    per_gpu = np.asarray(memory_gb, dtype=float) * WEIGHTS_SHARE_OF_MEMORY
    exponent = np.ceil(np.log2(np.maximum(need / per_gpu, 1.0)))
    return 2.0 ** np.clip(exponent, 0, 6)


def _per_token(params, active, bytes_, batch, gpus, specs, response_tokens, generation=None):
    """GPU J per output token of decoding (context included) and per prompt token (prefill), with
    the serving software of `generation` (index into physics.SERVING_GENERATIONS; None: the newest)."""
    F = physics.features(params, active, bytes_, batch, gpus, specs, response_tokens=response_tokens, generation=generation)
    theta = coefficients.llm_theta()
    return np.exp(physics.decode_log_energy_per_token(theta, F)), np.exp(physics.prefill_log_energy_per_token(theta, F))


def interval_factors(batch, bytes_per_param, batch_assumed=None) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers of the central GPU energy giving the 80% interval's ends, per row: the width
    depends on the regime (physics.INTERVAL_FEATURES), calibrated by leave-one-model-out; a row
    whose batch is assumed takes the assumed-batch interval (held-out rows served anywhere in the
    prior's range, predicted at its central batch), which holds the batch's uncertainty too."""
    interval = coefficients.llm()["interval"]
    scale = np.exp(physics.interval_design(batch, bytes_per_param) @ np.asarray(interval["log_scale_coefficients"], dtype=float))
    low, high = np.exp(interval["z_low"] * scale), np.exp(interval["z_high"] * scale)
    if batch_assumed is not None:
        assumed = coefficients.llm()["assumed_batch_interval"]
        low = np.where(batch_assumed, math.exp(assumed["log_residual_low"]), low)
        high = np.where(batch_assumed, math.exp(assumed["log_residual_high"]), high)
    return low, high


def serving_generation_index(serving_year, n: int) -> np.ndarray:
    """Per row, the index into physics.SERVING_GENERATIONS of the software serving tokens used in
    `serving_year` (scalar or per row; blank: the newest)."""
    if serving_year is None:
        return np.full(n, len(physics.SERVING_GENERATIONS) - 1)
    years = np.atleast_1d(np.asarray(serving_year, dtype=float))
    if years.size == 1 and n != 1:
        years = np.full(n, years[0])
    _require(np.isinf(years) | (years < 1900) | (years > 2200), "serving_year", "must be a year such as 2024")
    newest = len(physics.SERVING_GENERATIONS) - 1
    return np.where(np.isnan(years), newest, physics.generation_of_year(np.where(np.isnan(years), 0.0, years)))


def serving_generation_info(index: int) -> dict:
    """What the JSON names: the generation, the first year it stands for, what it is, and the fitted
    factor on GPU energy relative to the newest."""
    name, first_year, label = physics.SERVING_GENERATIONS[int(index)]
    offset = coefficients.llm()["parameters"].get(f"serving_{name}", 0.0)
    return {"generation": name, "from_year": first_year, "label": label, "factor_vs_newest": round(math.exp(offset), 4)}


def _column(columns: Mapping[str, Any], names: Sequence[str], n: int, dtype=float) -> np.ndarray:
    """Column `names[0]` (or an alias) as a float array (None -> NaN) or a unicode array ('' blank);
    scalars broadcast; an absent column is all blank."""
    for name in names:
        if name in columns and columns[name] is not None:
            raw = columns[name]
            if dtype is str:
                values = _as_text(np.atleast_1d(np.asarray(raw, dtype=object) if not isinstance(raw, np.ndarray) else raw))
            else:
                arr = np.asarray(raw)
                if arr.dtype == object:
                    arr = np.array([np.nan if v is None else v for v in np.atleast_1d(arr).tolist()], dtype=float)
                values = np.atleast_1d(arr.astype(float))
            if values.size == 1 and n != 1:
                values = np.full(n, values[0], dtype=values.dtype)
            if values.size != n:
                raise ValidationError(f"column {name} has {values.size} values, expected {n}")
            return values
    return np.full(n, "", dtype=str) if dtype is str else np.full(n, np.nan)


def _as_text(values) -> np.ndarray:
    """A text column as a numpy unicode array, blanks (None, NaN, '') as ''."""
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind == "f":
        return np.where(np.isnan(arr), "", arr.astype(str))
    return np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in arr.tolist()], dtype=str)


def _map_unique(values, fn, field: str, default):
    """Apply `fn` once per distinct value (blank -> default); errors name the first bad row."""
    keys = _as_text(values)
    uniq, inverse = np.unique(keys, return_inverse=True)
    mapped = []
    for key in uniq.tolist():
        text = key.strip()
        try:
            mapped.append(default if text == "" else fn(text))
        except (ValidationError, NotFoundError) as exc:
            row = int(np.argmax(keys == key))
            raise RowValueError(row, field, str(exc)) from None
    return mapped, inverse


def _require(mask: np.ndarray, field: str, message: str) -> None:
    if mask.any():
        raise RowValueError(int(np.argmax(mask)), field, message)


def estimate_llm_batch(columns: Mapping[str, Sequence]) -> dict[str, np.ndarray]:
    """Vectorised estimates for many rows (no Python loop per row in the arithmetic).

    Columns (sequences of equal length; scalars broadcast): output_tokens (required), input_tokens,
    requests (responses the tokens span; blank: one response, or one per 16,384 output tokens), params (billions; alias params_b), active_params (alias active_params_b), optional ranges
    params_low/params_high/active_params_low/active_params_high, gpu, gpus, batch_size (alias
    batch), precision, country, model (used for rows without params), pue, year (scalar),
    serving_year (scalar or per row: the serving-software generation; blank: the newest).
    Blank values take the documented defaults; blank or 0 input_tokens means the prompt is unknown
    and each response is given a reference prompt (physics.REFERENCE_PROMPT_TOKENS) of prefill. Returns arrays `<figure>`, `<figure>_low`,
    `<figure>_high` for gpu_wh, host_wh, facility_wh, total_wh, gco2e, water_ml, embodied_gco2e,
    plus gpu_j_per_output_token (all-in, prefill included, as ML.ENERGY defines it) and
    gpu_j_per_input_token (central), gpus, batch, requests and output tokens per response used."""
    if "output_tokens" not in columns:
        raise ValidationError("missing column output_tokens")
    out_tokens = np.asarray(columns["output_tokens"], dtype=float)
    out_tokens = np.atleast_1d(out_tokens)
    n = out_tokens.size
    in_tokens = _column(columns, ("input_tokens",), n)
    in_tokens = np.where(np.isnan(in_tokens), 0.0, in_tokens)
    _require(~np.isfinite(out_tokens) | (out_tokens < 0), "output_tokens", "must be a number >= 0")
    _require(in_tokens < 0, "input_tokens", "must be a number >= 0")
    requests = _column(columns, ("requests",), n)
    _require(requests <= 0, "requests", "must be > 0")
    # Energy per token depends on the answer's length (prefill amortisation, context): a row
    # without a request count is one response, or one per MAX_RESPONSE_TOKENS for summed usage.
    requests = np.where(np.isnan(requests), np.maximum(1.0, out_tokens / physics.MAX_RESPONSE_TOKENS), requests)
    response_tokens = np.maximum(out_tokens / requests, 1.0)
    prompt_known = in_tokens > 0
    # No tokens at all is no response: no reference prompt either.
    prompt_tokens = np.where(prompt_known, in_tokens, np.where(out_tokens > 0, requests * physics.REFERENCE_PROMPT_TOKENS, 0.0))

    params = _column(columns, ("params", "params_b"), n)
    active = _column(columns, ("active_params", "active_params_b"), n)
    p_low, p_high = _column(columns, ("params_low",), n), _column(columns, ("params_high",), n)
    a_low, a_high = _column(columns, ("active_params_low",), n), _column(columns, ("active_params_high",), n)
    p_low, p_high = np.where(np.isnan(p_low), params, p_low), np.where(np.isnan(p_high), params, p_high)
    a_low, a_high = np.where(np.isnan(a_low), active, a_low), np.where(np.isnan(a_high), active, a_high)
    missing = np.isnan(p_low)
    if missing.any():
        models = _column(columns, ("model",), n, dtype=str)
        entries, inverse = _map_unique(models, _lookup_checked, "model", None)
        table = np.array(
            [[np.nan] * 4 if e is None else [*e.params_b, *e.active_params_b] for e in entries], dtype=float
        )[inverse]
        _require(missing & np.isnan(table[:, 0]), "params", "give params (billions) or a model from the register")
        p_low = np.where(missing, table[:, 0], p_low)
        p_high = np.where(missing, table[:, 1], p_high)
        a_low = np.where(missing & np.isnan(a_low), table[:, 2], a_low)
        a_high = np.where(missing & np.isnan(a_high), table[:, 3], a_high)
    a_low = np.where(np.isnan(a_low), p_low, a_low)
    a_high = np.where(np.isnan(a_high), p_high, a_high)
    _require(~((p_low > 0) & (p_high <= MAX_PARAMS_B)), "params", "must be a finite number > 0 (billions of parameters)")
    _require(~((a_low > 0) & np.isfinite(a_high)), "active_params", "must be a finite number > 0 (billions of parameters)")
    _require(a_high > p_high * 1.0001, "active_params", "cannot exceed params")
    p_mid, a_mid = np.sqrt(p_low * p_high), np.sqrt(a_low * a_high)

    gpu_names, inverse = _map_unique(_column(columns, ("gpu",), n, dtype=str), normalise_gpu, "gpu", DEFAULT_GPU)
    # Specifications gathered per distinct GPU (no per-row look-up).
    unique_specs = spec_arrays(np.array(gpu_names, dtype=str))
    specs = {name: column[inverse] for name, column in unique_specs.items()}
    byte_list, inverse = _map_unique(
        _column(columns, ("precision",), n, dtype=str), precision_bytes, "precision", precision_bytes(DEFAULT_PRECISION)
    )
    bytes_ = np.array(byte_list, dtype=float)[inverse]
    memory = specs["memory_gb"]
    gpus = _column(columns, ("gpus",), n)
    _require(gpus < 1, "gpus", "must be >= 1")
    gpus = np.where(np.isnan(gpus), default_gpus(p_mid, bytes_, memory), gpus)
    batch = _column(columns, ("batch_size", "batch"), n)
    _require(batch < 1, "batch_size", "must be >= 1")
    batch_assumed = np.isnan(batch)
    b_val = np.where(batch_assumed, DEFAULT_BATCH, batch)
    generation = serving_generation_index(columns.get("serving_year"), n)

    e_out, e_in = _per_token(p_mid, a_mid, bytes_, b_val, gpus, specs, response_tokens, generation)
    if (p_low == p_high).all() and (a_low == a_high).all():
        (e_out_lo, e_in_lo), (e_out_hi, e_in_hi) = (e_out, e_in), (e_out, e_in)  # exact inputs: no corners
    else:  # energy rises with parameters: the interval's corners (an assumed batch is in its interval)
        e_out_lo, e_in_lo = _per_token(p_low, a_low, bytes_, b_val, gpus, specs, response_tokens, generation)
        e_out_hi, e_in_hi = _per_token(p_high, a_high, bytes_, b_val, gpus, specs, response_tokens, generation)
    lo_factor, hi_factor = interval_factors(b_val, bytes_, batch_assumed)
    gpu_j = out_tokens * e_out + prompt_tokens * e_in
    gpu_j_lo = (out_tokens * e_out_lo + prompt_tokens * e_in_lo) * lo_factor
    gpu_j_hi = (out_tokens * e_out_hi + prompt_tokens * e_in_hi) * hi_factor
    per_output = np.where(out_tokens > 0, gpu_j / np.maximum(out_tokens, 1e-300), e_out)

    calibrated = columns.get("_calibrated_j_per_weighted_token")
    if calibrated is not None:  # measured on our own hardware: replaces the model (see estimate_llm)
        weighted = out_tokens + in_tokens * (e_in / e_out)  # measured intervals carry their own prompts
        gpu_j, gpu_j_lo, gpu_j_hi = (weighted * c for c in calibrated)

    pue_col = _column(columns, ("pue",), n)
    _require(np.isinf(pue_col) | (pue_col < 1) | (pue_col > MAX_PUE), "pue", f"must be a number from 1 to {MAX_PUE:g}")
    (pv, pl, ph), _ = impacts.pue_triplet(None)
    pue = (np.where(np.isnan(pue_col), pv, pue_col), np.where(np.isnan(pue_col), pl, pue_col), np.where(np.isnan(pue_col), ph, pue_col))
    year = columns.get("year")
    countries, inverse = _map_unique(
        _column(columns, ("country",), n, dtype=str), lambda c: factors.validate_country(c), "country", None
    )
    ci = np.array([impacts.grid(c, year)[0] for c in countries], dtype=float)[inverse]
    offsite = np.array([impacts.offsite_water(c) for c in countries], dtype=float)[inverse]

    gpu_wh = tuple(units.j_to_wh(x) for x in (gpu_j, gpu_j_lo, gpu_j_hi))
    figures = impacts.chain(gpu_wh, pue, ci, offsite, specs["tdp_w"], specs["embodied_kgco2e"])
    result: dict[str, np.ndarray] = {}
    for key, (v, lo, hi) in figures.items():
        name = f"{key}_wh" if key in ENERGY_KEYS else key
        result[name], result[name + "_low"], result[name + "_high"] = v, lo, hi
    result["gpu_j_per_output_token"] = per_output
    result["gpu_j_per_input_token"] = e_in
    result["gpu_j_per_decode_token"] = e_out
    result["gpus"] = gpus
    result["batch"] = b_val
    result["serving_generation"] = generation
    result["requests"] = requests
    result["response_tokens"] = response_tokens
    return result


def _lookup_checked(name: str):
    return lookup(name)  # NotFoundError is not a ValidationError: it propagates with its suggestions


def _count(value: float) -> int | float:
    """A count as given: an integer stays one, a benchmark's average (7026.24 tokens) keeps its fraction."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _given_or(value, default):
    return (default, True) if value is None else (value, False)


def estimate_llm(
    *,
    output_tokens: float,
    input_tokens: float = 0,
    model: str | None = None,
    params_b: float | None = None,
    active_params_b: float | None = None,
    gpu: str | None = None,
    gpus: int | None = None,
    batch: float | None = None,
    precision: str | None = None,
    country: str | None = None,
    pue: float | None = None,
    year: int | None = None,
    calibration=None,
    requests: int | None = None,
    serving_year: int | None = None,
) -> Estimate:
    """One estimate with its 80% ranges, the inputs it used (given or assumed) and its sources.

    `calibration`: measured GPU energy of this model on our own hardware (footprint.calibration:
    an object with `model`, `gpu_j`, `output_tokens`, `input_tokens` per interval, `hosts`); when
    it holds data it replaces the fitted model for the GPU energy, and the sources say so.

    `requests`: how many responses the tokens span (default one response, or one per 16,384
    output tokens): a response's length sets how its prompt's prefill is amortised and how long a
    context its decode steps read. `input_tokens` 0 means unknown: each response then carries a
    reference prompt of physics.REFERENCE_PROMPT_TOKENS (listed in `assumed`).

    `serving_year`: the year the tokens were served, which picks the serving-software generation
    (physics.SERVING_GENERATIONS; default the newest, listed in `assumed`)."""
    if output_tokens is None or not (math.isfinite(output_tokens) and output_tokens >= 0) or not (
        math.isfinite(input_tokens or 0) and (input_tokens or 0) >= 0
    ):
        raise ValidationError("token counts must be finite numbers >= 0")
    if params_b is None and model is None:
        raise ValidationError("give a model name or its parameter count (params_b)")
    # inf/NaN parameters would turn every figure to NaN (0 tokens x inf)
    if params_b is not None and not (math.isfinite(params_b) and 0 < params_b <= MAX_PARAMS_B):
        raise ValidationError(f"params must be a number of billions from 0 to {MAX_PARAMS_B:g}, not {params_b!r}")
    if active_params_b is not None and not (
        math.isfinite(active_params_b) and active_params_b > 0 and (params_b is None or active_params_b <= params_b)
    ):
        raise ValidationError("active params must be a finite number > 0 and at most params")
    if gpus is not None and gpus < 1:
        raise ValidationError("gpus must be >= 1")
    if batch is not None and batch < 1:
        raise ValidationError("batch must be >= 1")
    if requests is not None and requests <= 0:
        raise ValidationError("requests must be > 0")
    if pue is not None and not (math.isfinite(pue) and 1 <= pue <= MAX_PUE):  # inf/NaN would turn every figure to NaN
        raise ValidationError(f"pue must be a number from 1 to {MAX_PUE:g}, not {pue!r}")
    if serving_year is not None and not (isinstance(serving_year, int) and 1900 <= serving_year <= 2200):
        raise ValidationError(f"serving year must be a year such as 2024, not {serving_year!r}")

    assumed: list[str] = []
    entry = None
    if params_b is None:
        entry = lookup(model)
        p_low, p_high = entry.params_b
        a_low, a_high = active_params_b and (active_params_b, active_params_b) or entry.active_params_b
    else:
        p_low = p_high = float(params_b)
        a_low = a_high = float(active_params_b if active_params_b is not None else params_b)
    gpu_key = normalise_gpu(gpu) if gpu else DEFAULT_GPU
    if gpu is None:
        assumed.append("gpu")
    precision_name, precision_assumed = _given_or(precision, DEFAULT_PRECISION)
    bytes_ = precision_bytes(precision_name)
    if precision_assumed:
        assumed.append("precision")
    country_code = factors.validate_country(country) if country else None
    if country_code is None:
        assumed.append("country")
    if gpus is None:
        assumed.append("gpus")
    if batch is None:
        assumed.append("batch")
    if not input_tokens:
        assumed.append("input_tokens")
    (pv, pl, ph), pue_assumed = impacts.pue_triplet(pue)
    if pue_assumed:
        assumed.append("pue")

    columns: dict[str, Any] = {
        "output_tokens": [float(output_tokens)],
        "input_tokens": [float(input_tokens or 0)],
        "requests": [math.nan if requests is None else float(requests)],
        "gpu": [gpu_key],
        "gpus": [math.nan if gpus is None else float(gpus)],
        "batch_size": [math.nan if batch is None else float(batch)],
        "precision": [precision_name],
        "country": [country_code],
        "pue": [math.nan if pue is None else float(pue)],
        "year": year,
        "serving_year": serving_year,
    }
    # Parameter ranges (closed models) go in as their low and high corners.
    columns.update(params_low=[p_low], params_high=[p_high], active_params_low=[a_low], active_params_high=[a_high])
    arrays, calibration_source = _estimate_ranges(columns, calibration, model)
    generation = serving_generation_info(int(arrays["serving_generation"][0]))

    energy = {key: Range(*(float(arrays[f"{key}_wh{s}"][0]) for s in ("", "_low", "_high"))) for key in ENERGY_KEYS}

    def rng(name: str) -> Range:
        return Range(*(float(arrays[f"{name}{s}"][0]) for s in ("", "_low", "_high")))

    _, grid_source = impacts.grid(country_code, year)
    inputs = {
        "model": model,
        "register_name": entry.name if entry else None,
        "params_b": {"value": math.sqrt(p_low * p_high), "low": p_low, "high": p_high},
        "active_params_b": {"value": math.sqrt(a_low * a_high), "low": a_low, "high": a_high},
        "gpu": gpu_key,
        "gpus": int(arrays["gpus"][0]),
        "batch": _count(arrays["batch"][0]),
        "batch_range": list(DEFAULT_BATCH_RANGE) if batch is None else [batch, batch],
        "precision": precision_name,
        "bytes_per_param": bytes_,
        "country": country_code,
        "year": year,
        "pue": pv,
        "output_tokens": _count(output_tokens),
        "input_tokens": _count(input_tokens or 0),
        "requests": float(arrays["requests"][0]),
        "output_tokens_per_response": float(arrays["response_tokens"][0]),
        "prompt_tokens_assumed": 0 if input_tokens or not output_tokens else int(float(arrays["requests"][0]) * physics.REFERENCE_PROMPT_TOKENS),
        "gpu_j_per_output_token": float(arrays["gpu_j_per_output_token"][0]),
        "gpu_j_per_input_token": float(arrays["gpu_j_per_input_token"][0]),
        "serving_year": serving_year,
        "serving_generation": generation["generation"],
        "assumed": assumed,
    }
    sources = [calibration_source or _model_source(generation)]
    if calibration_source is None:
        sources.append(_generation_source(generation))
    sources.append(_prefill_source(float(arrays["gpu_j_per_input_token"][0] / arrays["gpu_j_per_decode_token"][0]), not input_tokens))
    if entry is not None:
        sources.append({"what": f"parameter counts of {entry.name}", "source": entry.source,
                        "detail": "closed model: published range, carried into the interval" if entry.is_range else "register"})
    sources.extend(impacts.sources(pue_assumed, pv, country_code, grid_source, gpu_key))
    return Estimate(
        energy_wh=energy,
        gco2e=rng("gco2e"),
        water_ml=rng("water_ml"),
        embodied_gco2e=rng("embodied_gco2e"),
        inputs=inputs,
        sources=sources,
    )


def _estimate_ranges(columns: dict, calibration, model: str | None):
    arrays = estimate_llm_batch(columns)
    source = None
    if calibration is not None:
        measured = _calibration_rate(calibration, arrays)
        if measured is not None:
            rate, source = measured
            arrays = estimate_llm_batch({**columns, "_calibrated_j_per_weighted_token": rate})
    return arrays, source


def _calibration_rate(calibration, arrays):
    gpu_j = np.asarray(getattr(calibration, "gpu_j", ()), dtype=float)
    out = np.asarray(getattr(calibration, "output_tokens", ()), dtype=float)
    inp = np.asarray(getattr(calibration, "input_tokens", ()), dtype=float)
    ratio = float(arrays["gpu_j_per_input_token"][0] / arrays["gpu_j_per_decode_token"][0])
    weighted = out + ratio * inp
    keep = (weighted > 0) & np.isfinite(gpu_j)
    if not keep.any():
        return None
    per = gpu_j[keep] / weighted[keep]
    value = float(gpu_j[keep].sum() / weighted[keep].sum())
    low, high = (float(q) for q in np.quantile(per, [0.1, 0.9]))
    source = {
        "what": "GPU energy per output token: measured on our own hardware (calibration)",
        "method": "measured",
        "model": getattr(calibration, "model", None),
        "hosts": list(getattr(calibration, "hosts", ())),
        "intervals": int(keep.sum()),
        "j_per_output_token": {"value": value, "low": min(low, value), "high": max(high, value)},
        "detail": "total GPU J / (output + w x input tokens) over the store's single-model intervals; "
        "range = 10th-90th percentile of the intervals",
    }
    return (value, min(low, value), max(high, value)), source


def _model_source(generation: dict) -> dict:
    coef = coefficients.llm()
    cv = coefficients.llm_cv()
    return {
        "what": "GPU energy per output token: fitted physics model (estimators/physics.py)",
        "method": "estimated:tokens",
        "serving_generation": generation["generation"],
        "serving_generation_detail": generation,
        "fitted_on": coef["fitted_on"],
        "source": "ML.ENERGY benchmark (Chung et al., NeurIPS 2025 D&B, arXiv 2505.06371), Apache-2.0",
        "cross_validation": {
            "scheme": "leave-one-model-out",
            "median_ape": cv["median_ape"],
            "p90_ape": cv["p90_ape"],
            "interval_coverage": cv["interval_coverage"],
        },
        "interval": "80% prediction interval from leave-one-model-out residuals, widened by input ranges",
    }


def _generation_source(generation: dict) -> dict:
    return {
        "what": f"serving-software generation {generation['generation']} ({generation['label']})",
        "serving_generation": generation["generation"],
        "value": generation["factor_vs_newest"],
        "unit": "x GPU energy of the newest generation",
        "source": "fitted offset per ML.ENERGY benchmark run (v1 2023, v2 2024, v3 2025-26) on the same models and GPUs",
        "detail": "tokens are estimated at the software of the year they were served (--serving-year; default the newest)",
    }


def _prefill_source(ratio: float, reference_prompt: bool) -> dict:
    source = {
        "what": "input (prompt) tokens: prefill compute term of the fitted model",
        "weight_vs_output_token": round(ratio, 4),
        "source": "2 x active params FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, sec. 2.1); "
        "prefill is compute-bound because a prompt's tokens share each weight read; efficiency fitted on "
        "ML.ENERGY responses taken as carrying a reference prompt",
    }
    if reference_prompt:
        source["detail"] = (f"input tokens not given: each response carries a reference prompt of "
                            f"{int(physics.REFERENCE_PROMPT_TOKENS)} tokens, as the fit assumed")
    return source
