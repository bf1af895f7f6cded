"""The physical form of GPU energy per output token, shared by the fit and the estimator.

ML.ENERGY's energy per output token is a response's GPU energy over its output tokens: the decode
steps plus the prefill of the response's prompt. Decoding one step of a batch of B sequences on N
GPUs reads the weights once, so per output token of a response of L output tokens and Q prompt tokens:

    E = TDP x [ c_w * bytes_read / (BW * B)              weights read once per step, shared by the batch
              + m x ( c_c * A / FLOPS                     2A FLOPs per token (compute, batch-independent)
                    + c_o * N^g / B                       fixed per-step overhead of N GPUs (launch, sync)
                    + c_kv * A^k / BW                     KV-cache traffic per token (grows with model width)
                    + c_x * A^k / BW * (L/1000) / sqrt(B) attention over a context that grows with the answer
                    + c_p * A / FLOPS * Q / L ) ]         the prompt's prefill, amortised over the answer
        x exp(b_fp8*fp8 + b_fp4*fp4 + b_gpu[generation] + b_hm*Hopper*MoE + s[serving]),   m = exp(b_moe * MoE)

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

# Order of the fitted parameters in the coefficient file.
PARAMS = (
    "log_c_weights",
    "log_c_compute",
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
)
# Start of the fit: the previous context-free fit's values, the new terms near their scale.
INITIAL = (0.2, -5.1, -5.85, -2.1, 0.54, 1.17, 0.82, 0.24, -0.67, -0.02, -0.21, -0.44, -7.0, -3.0, 0.0, 0.0, 0.0, 0.0)

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


def _corrections(t, F) -> np.ndarray:
    return (
        t[6] * F["moe"] + t[7] * F["fp8"] + t[8] * F["fp4"] + t[9] * F["gpu_A40"] + t[10] * F["gpu_V100"]
        + t[14] * F["hopper"] * F["moe"] + t[15] * F["serving_v1"] + t[16] * F["serving_v2"]
        + t[17] * F["gpu_B200"]
    )


def decode_log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Natural log of GPU joules per output token for the decode steps alone (no prefill)."""
    t = np.asarray(theta, dtype=float)
    c_w, c_c, c_o, c_kv = np.exp(t[:4])
    bytes_read = F["b"] * F["P"] * (1.0 - (1.0 - F["share"]) ** (F["B"] ** np.exp(t[11])))
    kv = F["A"] ** t[4] / F["bw"]
    rest = c_c * F["A"] / F["flops"] + c_o * F["N"] ** t[5] / F["B"] + kv * (c_kv + np.exp(t[13]) * F["L"] / 1000.0 / np.sqrt(F["B"]))
    # The MoE overhead m multiplies the non-weight terms only; fp8/fp4/GPU corrections scale all.
    weights = c_w * bytes_read / (F["bw"] * F["B"])
    return np.log(F["tdp"] * (weights * np.exp(-t[6] * F["moe"]) + rest)) + _corrections(t, F)


def prefill_log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Log GPU joules per input (prompt) token: prefill processes the prompt's tokens in parallel,
    so weight reads and per-step overheads are amortised over the whole prompt and what remains is
    compute, 2A FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, eq. 2.2), at a fitted
    efficiency c_p, with the same corrections as decoding."""
    t = np.asarray(theta, dtype=float)
    return np.log(F["tdp"] * np.exp(t[12]) * F["A"] / F["flops"]) + _corrections(t, F)


def log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Natural log of GPU joules per output token as ML.ENERGY measures it: decode plus the
    prompt's prefill (Q prompt tokens per response) amortised over the L output tokens."""
    decode = np.exp(decode_log_energy_per_token(theta, F))
    prefill = np.exp(prefill_log_energy_per_token(theta, F)) * F["Q"] / F["L"]
    return np.log(decode + prefill)


def levenberg_marquardt(fun, theta0, y, *, iterations: int = 200) -> np.ndarray:
    """Least squares of y - fun(theta) by Levenberg-Marquardt with a forward-difference Jacobian.
    Deterministic (no random start), numpy only."""
    theta = np.array(theta0, dtype=float)
    damping = 1e-3
    residual = y - fun(theta)
    cost = float(residual @ residual)
    for _ in range(iterations):
        base = fun(theta)
        jac = np.empty((y.size, theta.size))
        for k in range(theta.size):
            step = np.zeros_like(theta)
            step[k] = 1e-6
            jac[:, k] = (fun(theta + step) - base) / 1e-6
        normal = jac.T @ jac
        gradient = jac.T @ residual
        while True:
            delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-9), gradient)
            trial = y - fun(theta + delta)
            trial_cost = float(trial @ trial)
            if np.isfinite(trial_cost) and trial_cost < cost:
                gain = cost - trial_cost
                theta, residual, cost = theta + delta, trial, trial_cost
                damping = max(damping / 3.0, 1e-9)
                break
            damping *= 4.0
            if damping > 1e8:
                return theta
        if gain < 1e-9 * max(cost, 1e-12):  # relative: converged
            break
    return theta
