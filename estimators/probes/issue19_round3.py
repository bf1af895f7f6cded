"""Issue 19, third round: leads tried on the kept LLM model and not kept (estimators/README.md).

    python -m estimators.probes.issue19_round3 PROBE [ARG]

from the repository root. Each probe patches one change into estimators/physics.py or estimators/fit.py
in this process only, reruns leave-one-model-out on the shipped folds and prints median / p90 absolute
error, all rows and per benchmark generation, and the mean v3 log residual per task. Probes:

    baseline                      the kept model, for reference
    task-prompt oracle|reference  a fitted prompt-length factor per benchmark task; predicted with the
                                  row's own task (oracle) or at the training rows' mean (reference)
    prompt-power                  unknown prompt = 1,000 x (L/1,000)^-g, g fitted
    v3-only                       the physics fitted on v3 rows only
    random-intercepts LAMBDA      a ridge-penalised intercept per model, predicted at 0
    model-huber K                 rows down-weighted by their model's mean residual beyond K log units
    context-exponent free|VALUE   the context term's own exponent on active parameters
    baseline-blend                the physics blended with the log-linear baseline in log space
    answer-1000                   every v3 row predicted at an answer length of 1,000 tokens

A probe's fit is not required to converge to the shipped XTOL (a slow Newton finish keeps its last
point): these are comparisons, not coefficient files.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from estimators import fit
from footprint.estimators import physics
from footprint.factors import read_data_csv

TASK = np.array([r["task"] for r in read_data_csv("mlenergy_llm_train.csv")])


def _lenient_newton(original):
    def newton(fun, theta, y):
        try:
            return original(fun, theta, y)
        except Exception:  # noqa: BLE001 - a probe keeps the point Levenberg-Marquardt reached
            return theta
    return newton


physics._newton = _lenient_newton(physics._newton)


def _ape(residual):
    return np.abs(np.exp(-residual) - 1.0)


def summary(name: str, cols, residual) -> str:
    def figures(sel):
        ape = _ape(residual[sel])
        return f"{np.median(ape):6.1%} / {np.quantile(ape, 0.9):6.1%}"

    parts = [f"{name}: all {figures(np.ones(residual.size, bool))}"]
    parts += [f"{v} {figures(cols['version'] == v)}" for v in ("v1", "v2", "v3")]
    v3 = cols["version"] == "v3"
    tasks = " ".join(f"{t[:5]} {residual[v3 & (TASK == t)].mean():+.2f}" for t in sorted(set(TASK[v3].tolist())))
    return "  ".join(parts) + f"  | v3 mean log residual by task: {tasks}"


def lomo(name: str, residual_of=None):
    cols = fit.load_llm_rows()
    cols["task"] = TASK
    thetas = fit.lomo_thetas(cols)
    residual = (residual_of or fit.leave_one_model_out)(cols, thetas)
    print(summary(name, cols, residual), flush=True)
    return cols, thetas, residual


def _extend(names, starts):
    physics.PARAMS = physics.PARAMS + tuple(names)
    physics.INITIAL = physics.INITIAL + tuple(starts)


def _with_task_features():
    original = fit.llm_features

    def llm_features(cols, idx=None):
        F = original(cols, idx)
        F["task"] = cols["task"][slice(None) if idx is None else idx]
        return F
    fit.llm_features = llm_features


def probe_task_prompt(mode: str):
    tasks = sorted(set(TASK.tolist()))
    free = [t for t in tasks if t != "lm-arena-chat"]  # one task pinned: c_p holds the common scale
    _extend(["q_" + t for t in free], [0.0] * len(free))
    _with_task_features()
    original = physics.log_energy_per_token
    reference = {"log_q": None}

    def log_energy(theta, F):
        p = dict(zip(physics.PARAMS, theta))
        if reference["log_q"] is not None:
            log_q = reference["log_q"]
        else:
            log_q = sum(p["q_" + t] * (F["task"] == t) for t in free)
        return original(theta, {**F, "Q": F["Q"] * np.exp(log_q)})
    physics.log_energy_per_token = log_energy

    def residual_of(cols, thetas):
        residual = np.empty(cols["energy_j"].size)
        for model, theta in thetas.items():
            test = cols["model"] == model
            if mode == "reference":
                p = dict(zip(physics.PARAMS, theta))
                train = ~test & (cols["version"] == "v3")
                reference["log_q"] = np.mean([p.get("q_" + t, 0.0) for t in cols["task"][train]])
            residual[test] = np.log(cols["energy_j"][test]) - physics.log_energy_per_token(theta, fit.llm_features(cols, test))
            reference["log_q"] = None
        return residual
    lomo(f"task prompt ({mode})", residual_of)


def probe_prompt_power():
    _extend(["prompt_exponent"], [0.0])
    original = physics.log_energy_per_token
    physics.log_energy_per_token = lambda theta, F: original(theta, {**F, "Q": F["Q"] * (F["L"] / 1000.0) ** -theta[-1]})
    lomo("prompt as a power of the answer length")


def probe_v3_only():
    original = fit.fit_llm
    fit.fit_llm = lambda cols, idx=None: original(cols, (cols["version"] == "v3") & (True if idx is None else idx))
    lomo("physics fitted on v3 rows only")


def _fit_with(cols, idx, extra: int, penalty, row_weights):
    """fit._fit_llm's three stages with `extra` parameters after the physics (penalised by `penalty`,
    a function of theta giving rows appended to the residual) and extra row weights (a function of the
    residual)."""
    n = len(physics.PARAMS)
    idx = np.ones(cols["energy_j"].size, bool) if idx is None else idx
    F = fit.llm_features(cols, idx)
    y = np.log(cols["energy_j"][idx])
    models = np.unique(cols["model"][idx], return_inverse=True)[1]

    def intercepts(t):
        u = t[n:]
        return u if u.ndim == 1 else u[:, :, 0].T  # (steps, models) when the Jacobian evaluates all at once

    def predict(t):
        out = physics.log_energy_per_token(t[:n], F)
        return out + intercepts(t)[..., models] if extra else out

    def stacked(values, t):
        return np.concatenate([values, penalty(intercepts(t))], axis=-1) if extra else values

    zeros = np.zeros(extra)
    start = np.array(physics.INITIAL, dtype=float)
    start[[physics.PARAMS.index(name) for name in physics.unsupported_corrections(F)]] = 0.0
    theta = physics.levenberg_marquardt(lambda t: stacked(predict(t), t), np.concatenate([start, zeros]), np.concatenate([y, zeros]))
    for _ in range(fit.HUBER_ROUNDS):
        r = y - predict(theta)
        w = fit._huber_root_weights(r) * row_weights(r, models)
        theta = physics.levenberg_marquardt(lambda t: stacked(w * predict(t), t), theta, np.concatenate([w * y, zeros]))
    a = fit.RELATIVE_ALPHA

    def relative(t):
        return np.expm1(a * (predict(t) - y)) / a

    for _ in range(fit.HUBER_ROUNDS):
        rel = relative(theta)
        w = fit._huber_root_weights(rel) * row_weights(rel, models)
        theta = physics.levenberg_marquardt(lambda t: stacked(-w * relative(t), t), theta, np.zeros(y.size + extra))
    return theta[:n]


def probe_random_intercepts(lam: str):
    def fit_llm(cols, idx):
        models = len(np.unique(cols["model"][slice(None) if idx is None else idx]))
        return _fit_with(cols, idx, models, lambda u: np.sqrt(float(lam)) * u, lambda r, m: 1.0)
    fit._fit_llm = fit_llm
    lomo(f"random intercept per model, lambda {lam}")


def probe_model_huber(k: str):
    def row_weights(r, models):
        mean = np.bincount(models, r) / np.bincount(models)
        return np.sqrt(np.minimum(1.0, float(k) / np.maximum(np.abs(mean), 1e-12)))[models]
    fit._fit_llm = lambda cols, idx: _fit_with(cols, idx, 0, None, row_weights)
    lomo(f"model-level Huber k={k}")


def probe_context_exponent(value: str):
    if value == "free":
        _extend(["context_exponent"], [0.6])

    def decode_per_watt(p, F):
        bytes_read = F["b"] * F["P"] * (1.0 - (1.0 - F["share"]) ** (F["B"] ** np.exp(p["log_moe_routing_exponent"])))
        exponent = p["context_exponent"] if value == "free" else float(value)
        rest = (
            np.exp(p["log_c_overhead"]) * F["N"] ** p["gpu_count_exponent"] / F["B"]
            + np.exp(p["log_c_kv"]) * F["A"] ** p["kv_exponent"] / F["bw"]
            + np.exp(p["log_c_context"]) * F["A"] ** exponent / F["bw"] * F["L"] / 1000.0 / np.sqrt(F["B"])
        )
        weights = np.exp(p["log_c_weights"]) * bytes_read / (F["bw"] * F["B"] ** (1.0 - p["weights_batch_exponent"]))
        return weights * np.exp(-p["moe"] * F["moe"]) + rest
    physics._decode_per_watt = decode_per_watt
    lomo(f"context exponent {value}")


def probe_baseline_blend():
    cols, _, residual = lomo("kept model")
    base = fit.baseline_residuals(cols)
    v3 = cols["version"] == "v3"
    print(f"v3 residuals of the two models correlate at {np.corrcoef(residual[v3], base[v3])[0, 1]:.2f}")
    for w in (0.9, 0.8, 0.7):
        print(summary(f"blend, physics weight {w}", cols, w * residual + (1 - w) * base))


def probe_answer_1000():
    def residual_of(cols, thetas):
        at = {**cols, "response_tokens": np.full(cols["energy_j"].size, 1000.0)}
        return fit.leave_one_model_out(at, thetas)
    lomo("every row predicted at an answer of 1,000 tokens", residual_of)


PROBES = {
    "baseline": lambda: lomo("kept model"),
    "task-prompt": probe_task_prompt,
    "prompt-power": probe_prompt_power,
    "v3-only": probe_v3_only,
    "random-intercepts": probe_random_intercepts,
    "model-huber": probe_model_huber,
    "context-exponent": probe_context_exponent,
    "baseline-blend": probe_baseline_blend,
    "answer-1000": probe_answer_1000,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in PROBES:
        print(__doc__, file=sys.stderr)
        return 1
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        PROBES[argv[0]](*argv[1:])
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
