"""The physical form of GPU energy per output token (decode), shared by the fit and the estimator.

Decoding one step of a batch of B sequences on N GPUs reads the weights once, so per output token:

    E = TDP x [ c_w * bytes_read / (BW * B)              weights read once per step, shared by the batch
              + m x ( c_c * A / FLOPS                     2A FLOPs per token (compute, batch-independent)
                    + c_o * N^g / B                       fixed per-step overhead of N GPUs (launch, sync)
                    + c_kv * A^k / BW ) ]                 KV-cache traffic per token (grows with model width)
        x exp(b_fp8*fp8 + b_fp4*fp4 + b_gpu[generation]),   m = exp(b_moe * MoE)

bytes_read = bytes per weight x total params x (1 - (1 - A/P)^(B^r)): a dense model (A = P) reads
all its weights; a mixture-of-experts model reads only the experts its batch routes to, which
tends to all of them as B grows. With independent routing r = 1; the fit finds r < 1 (a batch's
tokens share experts more than chance: routing is correlated). TDP, BW (bandwidth) and FLOPS come from the GPU's datasheet, so a
generation never measured is placed by its specifications. The corrections absorb what the
datasheet ratios miss: m is the mixture-of-experts routing and all-to-all overhead on everything
but the weight reads (which bytes_read already models), the others low-precision kernels and
older GPUs.

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
)
INITIAL = (0.0, -4.0, -5.5, -3.0, 0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def features(params_b, active_b, bytes_per_param, batch, gpus, specs: dict) -> dict[str, np.ndarray]:
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
    }


def log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Natural log of GPU joules per output token."""
    t = np.asarray(theta, dtype=float)
    c_w, c_c, c_o, c_kv = np.exp(t[:4])
    bytes_read = F["b"] * F["P"] * (1.0 - (1.0 - F["share"]) ** (F["B"] ** np.exp(t[11])))
    per_token = c_w * bytes_read / (F["bw"] * F["B"]) + np.exp(t[6] * F["moe"]) * (
        c_c * F["A"] / F["flops"] + c_o * F["N"] ** t[5] / F["B"] + c_kv * F["A"] ** t[4] / F["bw"]
    )
    return (
        np.log(F["tdp"] * per_token)
        + t[7] * F["fp8"]
        + t[8] * F["fp4"]
        + t[9] * F["gpu_A40"]
        + t[10] * F["gpu_V100"]
    )


def prefill_log_energy_per_token(theta, F: dict) -> np.ndarray:
    """Log GPU joules per input (prompt) token: prefill processes the prompt's tokens in parallel,
    so weight reads and per-step overheads are amortised over the whole prompt and what remains is
    the compute term, 2A FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, eq. 2.2), with the
    same fitted efficiency constant and corrections as decoding."""
    t = np.asarray(theta, dtype=float)
    return (
        np.log(F["tdp"] * np.exp(t[1]) * F["A"] / F["flops"])
        + t[6] * F["moe"]
        + t[7] * F["fp8"]
        + t[8] * F["fp4"]
        + t[9] * F["gpu_A40"]
        + t[10] * F["gpu_V100"]
    )


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
