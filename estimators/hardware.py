"""Accelerator specifications and input normalisation shared by the fit and the estimator.

The per-token model is written in terms of each GPU's memory bandwidth, board power and dense
16-bit throughput (vendor datasheets, SXM variants), so that a GPU generation the benchmark never
measured (H200, say) still gets a physically placed estimate instead of an extrapolated dummy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from footprint.errors import ValidationError


@dataclass(frozen=True)
class GpuSpec:
    name: str
    bandwidth_gb_s: float  # HBM/GDDR bandwidth
    tdp_w: float  # board power limit
    bf16_tflops: float  # dense tensor throughput, 16-bit
    memory_gb: float
    embodied_kgco2e: float  # cradle-to-gate manufacturing carbon per GPU
    embodied_source: str


_H100_PCF = "hgx_h100_pcf / 8 (NVIDIA HGX H100 PCF summary), used as proxy"
# Datasheet figures (NVIDIA V100/A40/A100/H100/H200/B200/L40S/L4 datasheets). Embodied carbon:
# only H100 and B200 have published PCFs (reference_factors.csv); others use the H100 figure as a proxy.
GPUS: dict[str, GpuSpec] = {
    "T4": GpuSpec("T4", 320, 70, 65, 16, 164, _H100_PCF),
    "V100": GpuSpec("V100", 900, 300, 125, 32, 164, _H100_PCF),
    "A30": GpuSpec("A30", 933, 165, 165, 24, 164, _H100_PCF),
    "A6000": GpuSpec("A6000", 768, 300, 155, 48, 164, _H100_PCF),
    "L40": GpuSpec("L40", 864, 300, 181, 48, 164, _H100_PCF),
    "A10": GpuSpec("A10", 600, 150, 125, 24, 164, _H100_PCF),
    "A40": GpuSpec("A40", 696, 300, 150, 48, 164, _H100_PCF),
    "L4": GpuSpec("L4", 300, 72, 121, 24, 164, _H100_PCF),
    "L40S": GpuSpec("L40S", 864, 350, 362, 48, 164, _H100_PCF),
    "A100": GpuSpec("A100", 2039, 400, 312, 80, 164, _H100_PCF),
    "A100-40GB": GpuSpec("A100-40GB", 1555, 400, 312, 40, 164, _H100_PCF),
    "H100": GpuSpec("H100", 3350, 700, 989, 80, 164, "h100_per_gpu_embodied (NVIDIA HGX H100 PCF / 8)"),
    "H200": GpuSpec("H200", 4800, 700, 989, 141, 164, _H100_PCF),
    "GH200": GpuSpec("GH200", 4900, 900, 989, 144, 164, _H100_PCF),
    "B200": GpuSpec("B200", 8000, 1000, 2250, 180, 284.25, "hgx_b200_pcf / 8 (NVIDIA HGX B200 PCF, secondary)"),
    "MI300X": GpuSpec("MI300X", 5300, 750, 1307, 192, 164, _H100_PCF),
}
# Per-generation efficiency corrections the fit learns (older parts than the datasheet ratios predict;
# B200, whose 2025 kernels reach far less of its datasheet bandwidth and power than Hopper's do).
FITTED_GPU_OFFSETS = ("A40", "V100", "B200")
# Hopper parts share the fitted mixture-of-experts correction the benchmark's H100 rows give: their MoE
# kernels run closer to the datasheet than the A100's and B200's (estimators/README.md).
HOPPER = ("H100", "H200", "GH200")


def normalise_gpu(name: str | None) -> str:
    """Map free-form GPU names ('H100 80GB HBM3', 'A100-SXM4-40GB', 'nvidia b200') to a spec key."""
    text = (name or "").strip().upper().replace("NVIDIA", "").strip()
    if not text:
        raise ValidationError("empty GPU name")
    for key in ("GH200", "L40S", "L40", "H200", "H100", "B200", "A100", "A6000", "A40", "A30", "A10", "V100", "T4",
                "L4", "MI300X"):
        if re.search(rf"(^|[^A-Z0-9]){key}($|[^0-9])", text) or text.startswith(key):
            if key == "A100" and "40GB" in text.replace(" ", ""):
                return "A100-40GB"
            return key
    raise ValidationError(f"unknown GPU {name!r}: expected one of {', '.join(sorted(GPUS))}")


def precision_bytes(name: str | None) -> float:
    """Bytes per weight for a precision name; blank or 'not recorded' means 16-bit."""
    text = (name or "").strip().lower()
    if not text or "bf16" in text or "bfloat16" in text or "fp16" in text or "float16" in text or "not recorded" in text:
        return 2.0
    if text in ("fp32", "float32"):
        return 4.0
    if re.search(r"(fp|int|w|q|nf)4|4.?bit|awq|gptq", text):
        return 0.5
    if re.search(r"(fp|int|w|q)8|8.?bit|e4m3|e5m2", text):
        return 1.0
    raise ValidationError(f"unknown precision {name!r}: expected bf16, fp16, fp8, int8, fp4/mxfp4, int4 or fp32")


def spec_arrays(gpu_keys) -> dict[str, np.ndarray]:
    """Columns of GPU specifications for an array of spec keys (vectorised through a lookup)."""
    keys = np.asarray(gpu_keys)
    uniq, inverse = np.unique(keys, return_inverse=True)
    out = {}
    for field in ("bandwidth_gb_s", "tdp_w", "bf16_tflops", "memory_gb", "embodied_kgco2e"):
        table = np.array([getattr(GPUS[k], field) for k in uniq], dtype=float)
        out[field] = table[inverse]
    for key in FITTED_GPU_OFFSETS:
        out["is_" + key] = (keys == key).astype(float)
    out["is_hopper"] = np.isin(keys, HOPPER).astype(float)
    return out
