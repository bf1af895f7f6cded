"""Fit the shipped coefficients: `python -m estimators.fit` rewrites, byte for byte,

    data/llm_coefficients.json      per-output-token GPU energy model + 80% interval quantiles
    data/llm_cv_metrics.json        leave-one-model-out cross-validation figures
    data/image_coefficients.json    per-image GPU energy model + its cross-validation figures

from data/mlenergy_llm_train.csv and data/mlenergy_diffusion.csv (ML.ENERGY benchmark copies).
Deterministic: fixed row order, no random starts, fixed float formatting, no timestamps.
`--check` exits 1 if the files on disk differ from what the fit produces.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from footprint.estimators import physics
from footprint.estimators.hardware import normalise_gpu, precision_bytes, spec_arrays
from footprint.factors import read_data_csv

COVERAGE = 0.80
Q_LOW, Q_HIGH = (1 - COVERAGE) / 2, 1 - (1 - COVERAGE) / 2


# Significant digits written. The fit converges to the zero of its exact gradient (estimators/physics.py):
# refitted from a start moved by 1e-7 or over reordered rows, its parameters agree to ~1e-15 relative
# (tests/test_estimators_fit.py), so 7 digits leave the written files six orders of magnitude above what
# another CPU's last bits can move.
DIGITS = 7


def _num(x: float) -> float:
    """Fixed precision so the written file does not depend on last-bit BLAS/CPU differences."""
    return float(f"{float(x):.{DIGITS}g}")


# --- LLM -------------------------------------------------------------------------------------

GENERATION_INDEX = {name: i for i, (name, _, _) in enumerate(physics.SERVING_GENERATIONS)}


def load_llm_rows() -> dict[str, np.ndarray]:
    rows = read_data_csv("mlenergy_llm_train.csv")
    gpu = np.array([normalise_gpu(r["gpu"]) for r in rows])
    # v1 (2023) rows have no batch recorded: their ~25 tok/s per response on an A100 is one request
    # at a time, so they are batch 1 physically.
    batch = np.array([float(r["max_batch_size"]) if r["max_batch_size"] else 1.0 for r in rows])
    cols = {
        "model": np.array([r["model"] for r in rows]),
        "version": np.array([r["benchmark_version"].split()[0] for r in rows]),
        "generation": np.array([GENERATION_INDEX[r["benchmark_version"].split()[0]] for r in rows]),
        "params": np.array([float(r["params_total_b"]) for r in rows]),
        "active": np.array([float(r["params_active_b"]) for r in rows]),
        "bytes": np.array([precision_bytes(r["weight_precision"]) for r in rows]),
        "gpus": np.array([float(r["num_gpus"]) for r in rows]),
        "batch": batch,
        "gpu": gpu,
        "energy_j": np.array([float(r["energy_per_token_J"]) for r in rows]),
        # Output tokens per response: the answer length sets the prefill's amortisation and the
        # context the decode steps attend over.
        "response_tokens": np.array([float(r["avg_output_tokens"]) for r in rows]),
        "power_w": np.array([float(r["avg_gpu_power_W"]) if r["avg_gpu_power_W"] else np.nan for r in rows]),
    }
    return cols


def llm_features(cols, idx=None):
    sel = slice(None) if idx is None else idx
    specs = spec_arrays(cols["gpu"][sel])
    return physics.features(
        cols["params"][sel], cols["active"][sel], cols["bytes"][sel], cols["batch"][sel], cols["gpus"][sel], specs,
        response_tokens=cols["response_tokens"][sel], generation=cols["generation"][sel],
    )


HUBER_K = 0.6  # log units: rows further than this from the fit (odd workloads) get less weight
HUBER_ROUNDS = 4
# Second stage: the error that is reported is relative (|predicted - measured| / measured), which counts
# an over-prediction x2 as 100% and an under-prediction /2 as 50%, while a log fit treats them alike.
# The stage fits expm1(a log(predicted/measured)) / a (a -> 0: the log error, a = 1: the relative error),
# Huber-reweighted; a = 0.3 chosen by leave-one-model-out among 0.1-1 (estimators/README.md: it trades
# 0.7 point of median error for 4 points of p90).
RELATIVE_ALPHA = 0.3


def _huber_root_weights(residual: np.ndarray) -> np.ndarray:
    """Square roots of the Huber weights (1 within HUBER_K, HUBER_K/|r| beyond) for reweighted least squares."""
    return np.sqrt(np.minimum(1.0, HUBER_K / np.maximum(np.abs(residual), 1e-12)))


def fit_llm(cols, idx=None) -> np.ndarray:
    """Least squares on log J/token, then a few Huber reweighting rounds (iteratively reweighted
    least squares): a benchmark task with an unusual prompt mix should not pull the physics; then
    the same on the partly relative error (RELATIVE_ALPHA)."""
    # A Levenberg-Marquardt trial step can overflow exp(); it is rejected (non-finite cost), so no warning.
    with np.errstate(over="ignore", invalid="ignore"):
        return _fit_llm(cols, idx)


def _fit_llm(cols, idx):
    F = llm_features(cols, idx)
    y = np.log(cols["energy_j"] if idx is None else cols["energy_j"][idx])

    def model(t):
        return physics.log_energy_per_token(t, F)

    # A correction no training row carries keeps exactly 0 (its Jacobian column is zero): neither the
    # start, which came from an earlier fit on all rows (a leak into that model's held-out figures), nor
    # its last bits reach the result.
    start = np.array(physics.INITIAL, dtype=float)
    start[[physics.PARAMS.index(name) for name in physics.unsupported_corrections(F)]] = 0.0
    theta = physics.levenberg_marquardt(model, start, y)
    for _ in range(HUBER_ROUNDS):
        root_w = _huber_root_weights(y - model(theta))
        theta = physics.levenberg_marquardt(lambda t: root_w * model(t), theta, root_w * y)
    a = RELATIVE_ALPHA

    def relative(t):
        return np.expm1(a * (model(t) - y)) / a

    zeros = np.zeros_like(y)
    for _ in range(HUBER_ROUNDS):
        root_w = _huber_root_weights(relative(theta))
        theta = physics.levenberg_marquardt(lambda t: -root_w * relative(t), theta, zeros)
    return theta


def lomo_thetas(cols) -> dict[str, np.ndarray]:
    """For each model, the coefficients fitted without its rows."""
    return {model: fit_llm(cols, cols["model"] != model) for model in sorted(set(cols["model"].tolist()))}


def leave_one_model_out(cols, thetas=None, batch=None) -> np.ndarray:
    """Log residuals log(measured / predicted), each model predicted by a fit without its rows
    (`batch`: predict every row at this batch instead of its own, as an estimate that assumes it)."""
    thetas = lomo_thetas(cols) if thetas is None else thetas
    at = cols if batch is None else {**cols, "batch": np.full(cols["batch"].size, float(batch))}
    residual = np.empty(cols["energy_j"].size)
    for model, theta in thetas.items():
        test = cols["model"] == model
        residual[test] = np.log(cols["energy_j"][test]) - physics.log_energy_per_token(theta, llm_features(at, test))
    return residual


def assumed_batch_interval(cols, thetas) -> tuple[dict, dict]:
    """The 80% interval of an estimate whose batch is not given (every API model): the held-out
    residuals of the rows served in the prior's range (ASSUMED_BATCH_RANGE, 2024-26 software),
    each predicted at the prior's central batch instead of its own; their 10th/90th percentiles
    are the interval's ends. Coverage is checked leave-one-model-out (a model's interval calibrated
    on the other models' residuals), with the misses counted on each side."""
    low, high = physics.ASSUMED_BATCH_RANGE
    sel = (cols["batch"] >= low) & (cols["batch"] <= high) & (cols["version"] != "v1")
    residual = leave_one_model_out(cols, thetas, physics.ASSUMED_BATCH)[sel]
    groups = cols["model"][sel]
    q_low, q_high = np.quantile(residual, [Q_LOW, Q_HIGH])
    below = np.empty(residual.size, dtype=bool)
    above = np.empty(residual.size, dtype=bool)
    for g in sorted(set(groups.tolist())):
        test = groups == g
        lo, hi = np.quantile(residual[~test], [Q_LOW, Q_HIGH])
        below[test], above[test] = residual[test] < lo, residual[test] > hi
    ape = np.abs(np.exp(-residual) - 1.0)
    interval = {
        "batch": physics.ASSUMED_BATCH,
        "batch_range": list(physics.ASSUMED_BATCH_RANGE),
        "log_residual_low": _num(q_low),
        "log_residual_high": _num(q_high),
        "calibration": "leave-one-model-out log residuals of the 2024-26 rows served at a batch in batch_range, "
        "each predicted at `batch`: interval = central x exp([log_residual_low, log_residual_high])",
    }
    metrics = {
        "rows": int(residual.size),
        "models": int(len(set(groups.tolist()))),
        "median_ape": _num(np.median(ape)),
        "p90_ape": _num(np.quantile(ape, 0.9)),
        "interval_coverage": _num(1.0 - below.mean() - above.mean()),
        "misses_below": _num(below.mean()),
        "misses_above": _num(above.mean()),
        "range_ratio": _num(np.exp(q_high - q_low)),
    }
    return interval, metrics


INTERVAL_EPS = 0.02  # log units added to |residual| before its log (a residual can be ~0)


def interval_model(residual, design) -> tuple[np.ndarray, float, float]:
    """The interval's width as a function of the inputs: least squares of log(|residual| + eps) on
    the design gives the scale s = exp(design @ w); the 10th/90th percentiles of residual / s give
    the interval [z_low s, z_high s] in log units."""
    w, *_ = np.linalg.lstsq(design, np.log(np.abs(residual) + INTERVAL_EPS), rcond=None)
    z = residual / np.exp(design @ w)
    z_low, z_high = np.quantile(z, [Q_LOW, Q_HIGH])
    return w, float(z_low), float(z_high)


def lomo_coverage(residual, groups, design=None) -> np.ndarray:
    """Whether each row's held-out residual lies in its 80% interval, the interval for a model
    calibrated on the other models' held-out residuals only (design None: one global pair)."""
    covered = np.empty(residual.size, dtype=bool)
    for g in sorted(set(groups.tolist())):
        test = groups == g
        if design is None:
            lo, hi = np.quantile(residual[~test], [Q_LOW, Q_HIGH])
        else:
            w, z_low, z_high = interval_model(residual[~test], design[~test])
            scale = np.exp(design[test] @ w)
            lo, hi = z_low * scale, z_high * scale
        covered[test] = (residual[test] >= lo) & (residual[test] <= hi)
    return covered


def cv_metrics(residual, groups, covered=None) -> dict:
    """Errors and interval coverage; `covered` (per row) when the interval is calibrated over a
    wider set than these rows (a subset's figures use the estimator's own intervals)."""
    ape = np.abs(np.exp(-residual) - 1.0)  # |predicted - measured| / measured
    if covered is None:
        covered = lomo_coverage(residual, groups)
    return {
        "rows": int(residual.size),
        "models": int(len(set(groups.tolist()))),
        "median_ape": _num(np.median(ape)),
        "p90_ape": _num(np.quantile(ape, 0.9)),
        "interval_coverage": _num(covered.mean()),
    }


def baseline_residuals(cols, with_generation: bool = True) -> np.ndarray:
    """The plain log-linear reference the issue quotes: log J/token on log active params, log batch,
    log GPU count and GPU type (and, as the physics has, one offset per serving generation), least
    squares, leave-one-model-out on the same folds."""
    gpus_seen = sorted(set(cols["gpu"].tolist()))
    generations = range(len(physics.SERVING_GENERATIONS) - 1) if with_generation else ()

    def design(sel):
        return np.column_stack(
            [np.ones(int(sel.sum())), np.log(cols["active"][sel]), np.log(cols["batch"][sel]), np.log(cols["gpus"][sel])]
            + [(cols["gpu"][sel] == g).astype(float) for g in gpus_seen[1:]]
            + [(cols["generation"][sel] == g).astype(float) for g in generations]
        )

    residual = np.empty(cols["energy_j"].size)
    for model in sorted(set(cols["model"].tolist())):
        test = cols["model"] == model
        w, *_ = np.linalg.lstsq(design(~test), np.log(cols["energy_j"][~test]), rcond=None)
        residual[test] = np.log(cols["energy_j"][test]) - design(test) @ w
    return residual


def llm_outputs(cols) -> tuple[dict, dict]:
    theta = fit_llm(cols)
    thetas = lomo_thetas(cols)
    residual = leave_one_model_out(cols, thetas)
    batch_interval, batch_metrics = assumed_batch_interval(cols, thetas)
    q_low, q_high = np.quantile(residual, [Q_LOW, Q_HIGH])
    design = physics.interval_design(cols["batch"], cols["bytes"])
    w, z_low, z_high = interval_model(residual, design)
    covered = lomo_coverage(residual, cols["model"], design)
    metrics = {"all": cv_metrics(residual, cols["model"], covered)}
    for version in sorted(set(cols["version"].tolist())):
        sel = cols["version"] == version
        # Coverage of the estimator's own intervals (calibrated on all other models), in this generation.
        metrics[version] = cv_metrics(residual[sel], cols["model"][sel], covered[sel])
    # Average board power (summed over the GPUs) as a share of their TDP (v3 rows record it): converts energy into GPU time
    # reserved, for the embodied-carbon amortisation.
    have = np.isfinite(cols["power_w"])
    power_share = np.median(cols["power_w"][have] / (cols["gpus"][have] * spec_arrays(cols["gpu"][have])["tdp_w"]))
    coefficients = {
        "model": "gpu energy per output token, physics form in estimators/physics.py",
        "fitted_on": "data/mlenergy_llm_train.csv (ML.ENERGY benchmark v1-v3, GPU only, vLLM/HF)",
        "method": f"Levenberg-Marquardt then Newton least squares on log(J/token), Huber-reweighted (k={HUBER_K}), "
        f"then on the partly relative error (alpha={RELATIVE_ALPHA}), numpy",
        "parameters": {name: _num(v) for name, v in zip(physics.PARAMS, theta)},
        "interval": {
            "coverage": COVERAGE,
            "log_residual_low": _num(q_low),
            "log_residual_high": _num(q_high),
            "scale_features": list(physics.INTERVAL_FEATURES),
            "log_scale_coefficients": [_num(v) for v in w],
            "z_low": _num(z_low),
            "z_high": _num(z_high),
            "calibration": "leave-one-model-out log residuals (a model's rows never help predict it): "
            "interval = [z_low, z_high] x exp(log_scale_coefficients . scale_features) in log units; "
            "log_residual_low/high are the plain quantiles without covariates, for reference",
        },
        "assumed_batch_interval": batch_interval,
        "mean_power_share_of_tdp": _num(power_share),
        "rows": int(cols["energy_j"].size),
    }
    metrics["assumed_batch"] = batch_metrics
    # The plain log-linear reference on the same folds, with the same serving-generation term and without it.
    base = baseline_residuals(cols)
    metrics["baseline_log_linear"] = cv_metrics(base, cols["model"], lomo_coverage(base, cols["model"], design))
    for version in sorted(set(cols["version"].tolist())):
        sel = cols["version"] == version
        metrics["baseline_log_linear_" + version] = cv_metrics(
            base[sel], cols["model"][sel], lomo_coverage(base, cols["model"], design)[sel])
    metrics["baseline_log_linear_no_generation"] = cv_metrics(baseline_residuals(cols, False), cols["model"])
    metrics_doc = {
        "target": "GPU J per output token",
        "validation": "leave-one-model-out over the `model` column; interval coverage uses, for each model, "
        "the interval calibrated on the other models' held-out residuals (covariate-dependent width; the "
        "by-generation figures use the same intervals); baseline_log_linear uses one global quantile pair",
        "interval": f"{int(COVERAGE * 100)}% prediction interval",
        "metrics": metrics,
    }
    return coefficients, metrics_doc


# --- images ----------------------------------------------------------------------------------

IMAGE_FEATURES = ("intercept", "log_params_b", "log_batch", "log_gpus", "log_tdp_per_tflops")
# Each denoising step is one forward pass over the image's latent tokens, so energy is taken as
# proportional to steps x megapixels (fixed exponents: within each benchmarked model these barely
# vary, so a free fit would confound them with the model).


def load_image_rows() -> dict[str, np.ndarray]:
    rows = [
        r
        for r in read_data_csv("mlenergy_diffusion.csv")
        if r["task"] == "text-to-image" and r["params_b"] and r["resolution"] and r["inference_steps"]
    ]
    width_height = [r["resolution"].lower().split("x") for r in rows]
    return {
        "model": np.array([r["model"] for r in rows]),
        "params": np.array([float(r["params_b"]) for r in rows]),
        "megapixels": np.array([float(w) * float(h) / 1e6 for w, h in width_height]),
        "steps": np.array([float(r["inference_steps"]) for r in rows]),
        "batch": np.array([float(r["batch_size"]) for r in rows]),
        "gpus": np.array([float(r["num_gpus"]) for r in rows]),
        "gpu": np.array([normalise_gpu(r["gpu"]) for r in rows]),
        "energy_j": np.array([float(r["energy_per_output_J"]) for r in rows]),
    }


def image_design(params_b, megapixels, steps, batch, gpus, gpu_keys) -> np.ndarray:
    """Log-linear in the drivers of diffusion FLOPs (params x pixels x steps) and the GPU's
    joules per FLOP (TDP / throughput), so an unmeasured GPU is placed by its datasheet."""
    specs = spec_arrays(gpu_keys)
    n = np.asarray(params_b, dtype=float).size
    return np.column_stack(
        [
            np.ones(n),
            np.log(params_b),
            np.log(batch),
            np.log(gpus),
            np.log(specs["tdp_w"] / specs["bf16_tflops"]),
        ]
    )


def image_offset(megapixels, steps) -> np.ndarray:
    return np.log(np.asarray(megapixels, dtype=float) * np.asarray(steps, dtype=float))


def _image_fit(cols, sel):
    X = image_design(cols["params"][sel], cols["megapixels"][sel], cols["steps"][sel], cols["batch"][sel], cols["gpus"][sel], cols["gpu"][sel])
    offset = image_offset(cols["megapixels"][sel], cols["steps"][sel])
    w, *_ = np.linalg.lstsq(X, np.log(cols["energy_j"][sel]) - offset, rcond=None)
    return w


def image_outputs(cols) -> dict:
    everything = np.ones(cols["energy_j"].size, dtype=bool)
    w = _image_fit(cols, everything)
    residual = np.empty(cols["energy_j"].size)
    for model in sorted(set(cols["model"].tolist())):
        test = cols["model"] == model
        wm = _image_fit(cols, ~test)
        X = image_design(cols["params"][test], cols["megapixels"][test], cols["steps"][test], cols["batch"][test], cols["gpus"][test], cols["gpu"][test])
        residual[test] = np.log(cols["energy_j"][test]) - X @ wm - image_offset(cols["megapixels"][test], cols["steps"][test])
    q_low, q_high = np.quantile(residual, [Q_LOW, Q_HIGH])
    return {
        "model": "log-linear GPU energy per image (text-to-image), estimators/fit.py image_design",
        "fitted_on": "data/mlenergy_diffusion.csv text-to-image rows with params, resolution and steps",
        "coefficients": {name: _num(v) for name, v in zip(IMAGE_FEATURES, w)},
        "interval": {"coverage": COVERAGE, "log_residual_low": _num(q_low), "log_residual_high": _num(q_high)},
        "cv": cv_metrics(residual, cols["model"]),
        "rows": int(cols["energy_j"].size),
    }


# --- command ---------------------------------------------------------------------------------


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def build() -> dict[str, str]:
    llm_coef, llm_metrics = llm_outputs(load_llm_rows())
    return {
        "llm_coefficients.json": render(llm_coef),
        "llm_cv_metrics.json": render(llm_metrics),
        "image_coefficients.json": render(image_outputs(load_image_rows())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m estimators.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[1] / "data")
    parser.add_argument("--check", action="store_true", help="only compare with the files on disk")
    args = parser.parse_args(argv)
    outputs = build()
    stale = []
    for name, text in outputs.items():
        path = args.data_dir / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    metrics = json.loads(outputs["llm_cv_metrics.json"])["metrics"]["all"]
    image = json.loads(outputs["image_coefficients.json"])["cv"]
    print(
        f"llm leave-one-model-out: median APE {metrics['median_ape']:.1%}, p90 {metrics['p90_ape']:.1%}, "
        f"80% interval coverage {metrics['interval_coverage']:.1%} ({metrics['rows']} rows, {metrics['models']} models)"
    )
    base = json.loads(outputs["llm_cv_metrics.json"])["metrics"]["baseline_log_linear"]
    print(f"  (plain log-linear baseline, same folds: median {base['median_ape']:.1%}, p90 {base['p90_ape']:.1%})")
    print(
        f"image leave-one-model-out: median APE {image['median_ape']:.1%}, p90 {image['p90_ape']:.1%}, "
        f"coverage {image['interval_coverage']:.1%} ({image['rows']} rows, {image['models']} models)"
    )
    if args.check:
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("coefficient files are up to date")
    else:
        print("wrote " + (", ".join(stale) if stale else "nothing (unchanged)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
