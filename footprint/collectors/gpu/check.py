"""`footprint doctor --gpu-check SECONDS`: every source NVML offers, read side by side, and their agreement.

For each selected GPU, over the same window: the energy counter (delta), `nvmlDeviceGetPowerUsage`
and the `NVML_FI_DEV_POWER_INSTANT` field, each polled every `poll_s` and integrated by trapezoid.
Ratios are each source's energy over the counter's, so an operator sees before trusting a host
whether its fallback sources would be right (the H200 case: the field aliased by -35%..+40% under
periodic loads while power usage stayed within 3%). A host without NVIDIA has nothing to check:
that is a result (exit 0), not an error.
"""

from __future__ import annotations

import time

from footprint.collectors.gpu import CROSSCHECK_TOLERANCE
from footprint.errors import ValidationError

MAX_CHECK_S = 3600.0
DEFAULT_POLL_S = 0.1


def _nothing(reason: str, seconds: float) -> dict:
    return {"seconds": seconds, "nothing_to_check": True, "notice": f"no NVIDIA GPU here ({reason}): nothing to check",
            "gpus": []}


def gpu_check(seconds: float, selection: str | None = None, *, use_env: bool = True, poll_s: float = DEFAULT_POLL_S,
              clock=time.monotonic, sleep=time.sleep) -> dict:
    """Read every selected GPU for `seconds` with each source NVML offers; a JSON-ready dict."""
    if not (seconds == seconds) or not 0 < seconds <= MAX_CHECK_S:
        raise ValidationError(f"bad --gpu-check {seconds!r}: expected seconds between 0 and {MAX_CHECK_S:g}")
    import os

    if selection is None and use_env:
        selection = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        import pynvml
    except ImportError:
        return _nothing("nvidia-ml-py is not installed", seconds)
    from footprint.collectors.gpu.nvml import NvmlGpuDevices, SOURCE_COUNTER, SOURCE_FIELD, SOURCE_USAGE, sources_offered

    try:
        devices = NvmlGpuDevices(selection, start_poller=False, crosscheck=False)
    except (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded):
        return _nothing("no NVIDIA driver found, libnvidia-ml", seconds)
    except pynvml.NVMLError as exc:
        return _nothing(f"NVML error: {exc}", seconds)
    try:
        gpus = devices.device_facts()
        if not gpus:
            return _nothing(devices.notice or "none selected", seconds)
        readers = [sources_offered(g["handle"]) for g in gpus]
        counter0 = [r[SOURCE_COUNTER]() if SOURCE_COUNTER in r else None for r in readers]
        joules = [{name: 0.0 for name in r} for r in readers]
        last = [{name: (fn(), clock()) for name, fn in r.items() if name != SOURCE_COUNTER} for r in readers]
        start = clock()
        deadline = start + seconds
        while True:
            now = clock()
            if now >= deadline:
                break
            sleep(min(poll_s, deadline - now))
            for reader, prev, acc in zip(readers, last, joules):
                for name in prev:
                    watts, t = reader[name](), clock()
                    w0, t0 = prev[name]
                    if watts is not None and w0 is not None:
                        acc[name] += (w0 + watts) / 2.0 * (t - t0)
                    prev[name] = (watts, t)
        window = clock() - start
        out = []
        for gpu, reader, acc, c0 in zip(gpus, readers, joules, counter0):
            if SOURCE_COUNTER in reader:
                c1 = reader[SOURCE_COUNTER]()
                acc[SOURCE_COUNTER] = (c1 - c0) if c0 is not None and c1 is not None and c1 >= c0 else None
            counter_j = acc.get(SOURCE_COUNTER)
            ratios = {name: (j / counter_j if counter_j else None) for name, j in acc.items() if name != SOURCE_COUNTER}
            out.append({
                "index": gpu["index"], "uuid": gpu["uuid"], "name": gpu["name"], "architecture": gpu["architecture"],
                "footprint_source": gpu["source"],
                "joules": {name: round(j, 3) if j is not None else None for name, j in acc.items()},
                "ratios_to_counter": {k: round(v, 4) if v is not None else None for k, v in ratios.items()},
                "agree_within_10pct": {k: abs(v - 1.0) <= CROSSCHECK_TOLERANCE for k, v in ratios.items() if v is not None},
            })
        return {"seconds": seconds, "window_s": round(window, 3), "poll_s": poll_s, "nothing_to_check": False,
                "notice": devices.notice, "gpus": out,
                "sources": [SOURCE_COUNTER, SOURCE_USAGE, SOURCE_FIELD]}
    finally:
        devices.close()


def format_check(result: dict) -> str:
    if result["nothing_to_check"]:
        return f"GPU check: {result['notice']}."
    lines = [f"GPU check over {result['window_s']:g} s (power polled every {result['poll_s']:g} s):"]
    for gpu in result["gpus"]:
        lines.append(f"  GPU {gpu['index']}: {gpu['name']} {gpu['uuid']} ({gpu['architecture'] or 'architecture unknown'};"
                     f" footprint uses {gpu['footprint_source']})")
        for name, joules in gpu["joules"].items():
            ratio = gpu["ratios_to_counter"].get(name)
            verdict = ""
            if ratio is not None:
                verdict = f"  {ratio:.3f} x counter" + ("" if gpu["agree_within_10pct"][name] else "  DISAGREES (> 10%)")
            shown = "unreadable" if joules is None else f"{joules:,.1f} J"
            lines.append(f"    {name:<14} {shown}{verdict}")
    if result.get("notice"):
        lines.append(f"  note: {result['notice']}")
    return "\n".join(lines)
