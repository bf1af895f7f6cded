"""The physical form of GPU energy per output token, shared by the fit and the estimator.

ML.ENERGY's energy per output token is a response's GPU energy over its output tokens: the decode
steps plus the prefill of the response's prompt. Decoding one step of a batch of B sequences on N
GPUs reads the weights once, so per output token of a response of L output tokens and Q prompt tokens:

    E = TDP x [ c_w * bytes_read / (BW * B^(1-e))        weights read once per step, shared by the batch
              + m x ( c_o * N^g / B                       fixed per-step overhead of N GPUs (launch, sync)
                    + c_kv * A^k / BW                     KV-cache traffic per token (grows with model width)
                    + c_x * A^k / BW * (L/1000) / sqrt(B) attention over a context that grows with the answer
                    + c_p * A / FLOPS * Q / L ) ]         the prompt's prefill, amortised over the answer
        x exp(b_fp8*fp8 + b_fp4*fp4 + b_gpu[generation] + b_hm*Hopper*MoE + s[serving]),   m = exp(b_moe * MoE)

Decoding has no compute term c_c * A / FLOPS (2A FLOPs per token): fitted, it went to zero (log c_c
= -80 on all rows, at most -36 in every leave-one-model-out fold: exp of that is nothing against the
other terms), which left a flat direction the optimiser wandered along (the fitted files then
depended on the CPU's last bits). Decode is memory- and overhead-bound at the benchmark's batches;
the prompt's prefill keeps its compute term.

s[serving] is the serving-software generation (SERVING_GENERATIONS): 0 for the newest, a fitted
offset for each older benchmark run.

bytes_read = bytes per weight x total params x (1 - (1 - A/P)^(B^r)): a dense model (A = P) reads
all its weights; a mixture-of-experts model reads only the experts its batch routes to, which
tends to all of them as B grows. With independent routing r = 1; the fit finds r < 1 (a batch's
tokens share experts more than chance: routing is correlated). TDP, BW (bandwidth) and FLOPS come
from the GPU's datasheet, so a generation never measured is placed by its specifications. The
corrections absorb what the datasheet ratios miss: m is the mixture-of-experts routing and
all-to-all overhead on everything but the weight reads (which bytes_read already models), the
others low-precision kernels, older GPUs and mixture-of-experts kernels on Hopper (H100/H200/GH200),
which run closer to the datasheet than elsewhere in the benchmark.

The weights term's batch exponent e: one step's weight reads are shared by its B sequences, but the
step itself lengthens with B (larger matrix products, attention over B caches, scheduling), so in the
benchmark the per-token share falls as B^-(1-e), e ~ 0.25, rather than 1/B: with 1/B the 2025 rows
ran from -0.18 log units (over-predicted) at batch 8 to +0.11 at 64; with the exponent from -0.04 to
+0.04 (leave-one-model-out, estimators/README.md). One exponent for every serving generation, so an
older generation's estimate stays the newest's times its factor. Batch-1 rows (2023) do not see it.

The context term: a long answer's later tokens attend over a long KV cache; in the benchmark a
long-reasoning answer (gpqa, ~7k tokens) costs 1.3-2.5x a chat answer of the same model and
server, the more so at small batch, hence the 1/sqrt(B) (measured shape, not derived).
The prefill term: the benchmark does not publish prompt lengths, so the fit takes every response's
prompt as REFERENCE_PROMPT_TOKENS long and fits c_p; an estimate with known input tokens uses them
instead (Q = input tokens per response).

Everything is numpy-vectorised: one call evaluates 100,000 configurations.
"""

from __future__ import annotations

import numpy as np

from footprint.errors import ConvergenceError

# Order of the fitted parameters in the coefficient file.
PARAMS = (
    "log_c_weights",
    "log_c_overhead",
    "log_c_kv",
    "kv_exponent",
    "gpu_count_exponent",
    "moe",
    "fp8",
    "fp4",
    "gpu_A40",
    "gpu_V100",
    "log_moe_routing_exponent",
    "log_c_prefill",
    "log_c_context",
    "hopper_moe",
    "serving_v1",
    "serving_v2",
    "gpu_B200",
    "weights_batch_exponent",
)
# Start of the fit: the previous context-free fit's values, the new terms near their scale (the weights
# term's batch exponent at 0, plain 1/B).
INITIAL = (0.2, -5.85, -2.1, 0.54, 1.17, 0.82, 0.24, -0.67, -0.02, -0.21, -0.44, -7.0, -3.0, 0.0, 0.0, 0.0, 0.0, 0.0)

# Serving-software generations, oldest first, each with the first year of use it stands for: the
# benchmark's three runs (ML.ENERGY v1 2023-07, v2 2024-09, v3 2025-12/2026-02) served the same
# models on the same GPUs at different costs per token (same H100 16-bit rows ~0.5 log apart between
# v2 and v3: vLLM versions, kernels, scheduling), which no datasheet input states. The newest is the
# reference (no offset); each older one gets a fitted factor exp(serving_vN) on the whole energy.
SERVING_GENERATIONS = (
    ("v1", 2023, "ML.ENERGY v1 (2023-07): 2023 serving software, one request at a time"),
    ("v2", 2024, "ML.ENERGY v2 (2024-09): 2024 vLLM"),
    ("v3", 2025, "ML.ENERGY v3 (2025-12/2026-02): 2025-26 vLLM"),
)
NEWEST_GENERATION = SERVING_GENERATIONS[-1][0]

# Concurrent sequences per replica assumed when nobody says (every API model), and the range the
# interval is calibrated on. Large providers serve with continuous batching at high concurrency:
# DeepSeek's published production statistics (DeepSeek-V3/R1 inference system overview, 2025-03-01:
# 14.8k output tokens/s per 8-GPU H800 node in decoding at 20-22 tokens/s per user) imply ~700
# concurrent sequences per node; vLLM's scheduler admits max_num_seqs = 256 by default (0.x engine
# arguments; recent releases raise it on large GPUs); the 2025
# benchmark's servers keep scaling to 1024 and beyond. Below ~128 a GPU's weight reads are shared
# by too few sequences for a paying service.
ASSUMED_BATCH = 256.0
ASSUMED_BATCH_RANGE = (128.0, 1024.0)


def generation_of_year(year) -> np.ndarray:
    """Index into SERVING_GENERATIONS of the software serving tokens used in `year` (vectorised):
    the latest generation whose first year is at or before it; years before the oldest take the oldest."""
    firsts = np.array([first for _, first, _ in SERVING_GENERATIONS], dtype=float)
    idx = np.searchsorted(firsts, np.asarray(year, dtype=float), side="right") - 1
    return np.clip(idx, 0, len(SERVING_GENERATIONS) - 1)
# Prompt tokens per response the fit assumes (ML.ENERGY does not publish them): chat turns with
# their template, multimodal prompts with image tokens and code-infilling contexts average about
# this; it only fixes the scale of c_p (per prompt token) against the fitted per-response prefill.
REFERENCE_PROMPT_TOKENS = 1000.0
# Output tokens per response when nobody says how many responses a token count spans.
MAX_RESPONSE_TOKENS = 16384.0


# The 80% interval's width depends on the regime (calibrated on leave-one-model-out residuals,
# estimators/fit.py): one request at a time (batch 1) is purely weight-bandwidth bound and the
# datasheet places it well (held-out errors of a few %), while batched serving depends on the
# scheduler and software generation, which the inputs do not say; fp8 kernels differ more between
# implementations than 16-bit ones. log |residual| scale = w . INTERVAL_FEATURES.
INTERVAL_FEATURES = ("intercept", "unbatched", "fp8")


def interval_design(batch, bytes_per_param) -> np.ndarray:
    """Columns of INTERVAL_FEATURES for each row."""
    B = np.atleast_1d(np.asarray(batch, dtype=float))
    b = np.broadcast_to(np.asarray(bytes_per_param, dtype=float), B.shape)
    return np.column_stack([np.ones(B.size), (B <= 1.0).astype(float), (b == 1.0).astype(float)])


def features(
    params_b, active_b, bytes_per_param, batch, gpus, specs: dict, response_tokens=400.0, prompt_tokens=None,
    generation=None,
) -> dict[str, np.ndarray]:
    """Feature columns; `response_tokens` output tokens per response (L), `prompt_tokens` prompt
    tokens per response (Q, default REFERENCE_PROMPT_TOKENS), `generation` index into
    SERVING_GENERATIONS (default the newest)."""
    gen = np.asarray(len(SERVING_GENERATIONS) - 1 if generation is None else generation)
    P = np.asarray(params_b, dtype=float)
    A = np.asarray(active_b, dtype=float)
    B = np.asarray(batch, dtype=float)
    b = np.asarray(bytes_per_param, dtype=float)
    return {
        "A": A,
        "B": B,
        "P": P,
        "b": b,
        "share": np.clip(A / P, 1e-6, 1.0),
        "N": np.asarray(gpus, dtype=float),
        "moe": (P > A * 1.05).astype(float),
        "fp8": (b == 1.0).astype(float),
        "fp4": (b == 0.5).astype(float),
        "tdp": specs["tdp_w"],
        "bw": specs["bandwidth_gb_s"],
        "flops": specs["bf16_tflops"],
        "gpu_A40": specs["is_A40"],
        "gpu_V100": specs["is_V100"],
        "gpu_B200": specs["is_B200"],
        "hopper": specs["is_hopper"],
        "L": np.clip(np.asarray(response_tokens, dtype=float), 1.0, MAX_RESPONSE_TOKENS),
        "Q": np.asarray(REFERENCE_PROMPT_TOKENS if prompt_tokens is None else prompt_tokens, dtype=float),
        "serving_v1": (gen == 0).astype(float),
        "serving_v2": (gen == 1).astype(float),
    }


def _p(t) -> dict[str, float]:
    """The fitted parameters by name (PARAMS order)."""
    return dict(zip(PARAMS, np.asarray(t)))


# The multiplicative corrections exp(sum of parameter x indicator product): each parameter with the
# feature columns whose product it scales.
CORRECTIONS = {
    "moe": ("moe",),
    "fp8": ("fp8",),
    "fp4": ("fp4",),
    "gpu_A40": ("gpu_A40",),
    "gpu_V100": ("gpu_V100",),
    "hopper_moe": ("hopper", "moe"),
    "serving_v1": ("serving_v1",),
    "serving_v2": ("serving_v2",),
    "gpu_B200": ("gpu_B200",),
}


def _indicator(F, columns) -> np.ndarray:
    out = F[columns[0]]
    for name in columns[1:]:
        out = out * F[name]
    return out


def unsupported_corrections(F) -> list[str]:
    """The corrections no row of F carries (a leave-one-model-out fold without any fp4 row, say): the
    data say nothing about them, so a fit pins them at 0, no correction, rather than at a start value
    that itself came from a fit (estimators/fit.py)."""
    return [name for name, columns in CORRECTIONS.items() if not np.any(_indicator(F, columns))]


def _corrections(p, F) -> np.ndarray:
    return sum(p[name] * _indicator(F, columns) for name, columns in CORRECTIONS.items())


def _decode_per_watt(p, F) -> np.ndarray:
    """Decode J per output token over TDP, before the corrections."""
    bytes_read = F["b"] * F["P"] * (1.0 - (1.0 - F["share"]) ** (F["B"] ** np.exp(p["log_moe_routing_exponent"])))
    kv = F["A"] ** p["kv_exponent"] / F["bw"]
    rest = (
        np.exp(p["log_c_overhead"]) * F["N"] ** p["gpu_count_exponent"] / F["B"]
        + kv * (np.exp(p["log_c_kv"]) + np.exp(p["log_c_context"]) * F["L"] / 1000.0 / np.sqrt(F["B"]))
    )
    # The MoE overhead m multiplies the non-weight terms only; fp8/fp4/GPU corrections scale all.
    weights = np.exp(p["log_c_weights"]) * bytes_read / (F["bw"] * F["B"] ** (1.0 - p["weights_batch_exponent"]))
    return weights * np.exp(-p["moe"] * F["moe"]) + rest


def _prefill_per_watt(p, F) -> np.ndarray:
    """Prefill J per prompt token over TDP, before the corrections."""
    return np.exp(p["log_c_prefill"]) * F["A"] / F["flops"]


def decode_log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Natural log of GPU joules per output token for the decode steps alone (no prefill)."""
    p = _p(theta)
    return np.log(F["tdp"] * _decode_per_watt(p, F)) + _corrections(p, F)


def prefill_log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Log GPU joules per input (prompt) token: prefill processes the prompt's tokens in parallel,
    so weight reads and per-step overheads are amortised over the whole prompt and what remains is
    compute, 2A FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, eq. 2.2), at a fitted
    efficiency c_p, with the same corrections as decoding."""
    p = _p(theta)
    return np.log(F["tdp"] * _prefill_per_watt(p, F)) + _corrections(p, F)


def log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Natural log of GPU joules per output token as ML.ENERGY measures it: decode plus the
    prompt's prefill (Q prompt tokens per response) amortised over the L output tokens."""
    p = _p(theta)
    per_watt = _decode_per_watt(p, F) + _prefill_per_watt(p, F) * F["Q"] / F["L"]
    return np.log(F["tdp"] * per_watt) + _corrections(p, F)


# The fit converges in two phases. Levenberg-Marquardt (forward-difference Jacobian) walks down until
# its step is below NEWTON_FROM (relative to 1 + |parameter|) or no step lowers the cost; Newton's
# method on the exact gradient then finishes until its step is below XTOL. Near the bottom the cost is
# flat to its last bits, so a test on its decrease stops wherever rounding leaves the parameters (1e-8
# apart between CPUs; the Gauss-Newton steps of the first, unweighted stage even cycle there instead
# of shrinking: its large residuals make the neglected second-order terms matter). The gradient is not
# flat, and its zero does not depend on where the fit started or on the arithmetic's last bits.
XTOL = 1e-12
NEWTON_FROM = 1e-3
NEWTON_ITERATIONS = 30
CHORD_RATE = 0.1  # a step not ten times smaller than the last one takes a fresh Hessian
DIFFERENCE_STEP = 1e-6
# The gradient's Jacobian by complex step (Squire & Trapp 1998): d f / d t_k = Im f(t + i h e_k) / h,
# exact to rounding for any h (no difference of nearly equal values, whose rounding a forward
# difference divides by its step), so the gradient whose zero ends the fit is exact too. The model
# functions therefore accept a complex theta whose entries may be columns (every parameter's step in
# one evaluation): numpy's exp, log and powers do. Newton's Hessian is a forward difference of the
# forward-difference gradient, taken again only when the steps shrink slowly: its error slows the
# convergence, it does not move its end.
COMPLEX_STEP = 1e-20


def _jacobian(fun, theta: np.ndarray, exact: bool = False) -> np.ndarray:
    """df/dtheta, rows x parameters: by complex step (exact) or forward difference (DIFFERENCE_STEP)."""
    eye = np.eye(theta.size)[:, :, None]  # parameter k, evaluation j, broadcast over rows
    if exact:
        return np.imag(fun(theta[:, None, None] + 1j * COMPLEX_STEP * eye)).T / COMPLEX_STEP
    return (fun(theta[:, None, None] + DIFFERENCE_STEP * eye) - fun(theta)).T / DIFFERENCE_STEP


def _relative(delta, theta) -> float:
    return float(np.max(np.abs(delta) / (1.0 + np.abs(theta))))


def levenberg_marquardt(fun, theta0, y, *, iterations: int = 400) -> np.ndarray:
    """Least squares of y - fun(theta): Levenberg-Marquardt, then Newton's method on the exact
    gradient until its step is below XTOL (relative). Deterministic (no random start), numpy only."""
    theta = np.array(theta0, dtype=float)
    damping = 1e-3
    residual = y - fun(theta)
    cost = float(residual @ residual)
    for _ in range(iterations):
        jac = _jacobian(fun, theta)
        normal = jac.T @ jac
        gradient = jac.T @ residual
        while True:
            delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-9), gradient)
            trial = y - fun(theta + delta)
            trial_cost = float(trial @ trial)
            if np.isfinite(trial_cost) and trial_cost < cost:
                theta, residual, cost = theta + delta, trial, trial_cost
                damping = max(damping / 3.0, 1e-12)
                break
            damping *= 4.0
            if damping > 1e12:  # no step lowers the cost: at the bottom
                break
        if damping > 1e12 or _relative(delta, theta) <= NEWTON_FROM:
            break
    return _newton(fun, theta, y)


def _newton(fun, theta, y) -> np.ndarray:
    """Newton's method on g = J'(y - f) (minus half the cost's gradient) from a point near the bottom;
    g exact (complex-step J), the Hessian a forward difference of g computed once (a chord method)."""

    # A parameter the rows do not touch (a leave-one-model-out fold without any fp4 row, say) has a zero
    # Jacobian column: it keeps its value, as in Levenberg-Marquardt, and stays out of the solve.
    free = np.flatnonzero(np.any(_jacobian(fun, theta, True) != 0.0, axis=0))

    def g(t, exact):
        return (_jacobian(fun, t, exact).T @ (y - fun(t)))[free]

    def hessian_at(t):
        base = g(t, False)
        steps = DIFFERENCE_STEP * (1.0 + np.abs(t[free]))
        h = np.column_stack([(base - g(t + s * e, False)) / s for s, e in zip(steps, np.eye(t.size)[free])])
        return (h + h.T) / 2.0

    hessian, last = hessian_at(theta), np.inf
    for _ in range(NEWTON_ITERATIONS):
        delta = np.zeros(theta.size)
        delta[free] = np.linalg.solve(hessian, g(theta, True))
        theta = theta + delta
        size = _relative(delta, theta)
        if size <= XTOL:
            return theta
        if size > CHORD_RATE * last:  # converging slowly: the Hessian is stale, take it again here
            hessian = hessian_at(theta)
        last = size
    raise ConvergenceError(
        f"the fit's Newton phase did not converge in {NEWTON_ITERATIONS} steps (last step {_relative(delta, theta):.1e})")
