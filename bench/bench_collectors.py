"""Collector costs: `footprint run -- true` added wall time, `monitor --interval 1` CPU share and RSS
side by side with a bare CodeCarbon OfflineEmissionsTracker at the same interval, and NVML counter vs
integrated instant power on a fake device driven by a known power trace, and the aliasing case of a
periodic load (power usage vs the instant field).

    python bench/bench_collectors.py [--quick]
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from unittest import mock

from common import footprint_exe, measure_side_by_side, median, print_table, row, time_command

_TRACKER = """
import logging, signal, sys, time
from codecarbon import OfflineEmissionsTracker
logging.getLogger("codecarbon").setLevel(logging.ERROR)
t = OfflineEmissionsTracker(country_iso_code="FRA", output_methods=[], emissions_endpoint="",
                            electricitymaps_api_token="", measure_power_secs=1, log_level="error", pue=1.0)
t.start()
logging.getLogger("codecarbon").setLevel(logging.ERROR)
signal.signal(signal.SIGTERM, lambda *a: (t.stop(), sys.exit(0)))
print("started", flush=True)
while True:
    time.sleep(3600)
"""


def _bench_env(tmp: str) -> dict:
    env = {**os.environ, "FOOTPRINT_DB": os.path.join(tmp, "fp.duckdb"), "FOOTPRINT_CACHE_DIR": os.path.join(tmp, "cache")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([footprint_exe(), "usecase", "add", "bench", "--name", "Bench", "--team", "T", "--status", "pilot",
                    "--deployment", "on-prem"], env=env, check=True, capture_output=True)
    return env


def run_overhead(repeat: int = 10, env: dict | None = None) -> list[dict]:
    """Median wall time `footprint run --use-case bench -- true` adds to a bare `true`."""
    with tempfile.TemporaryDirectory() as tmp:
        env = env or _bench_env(tmp)
        bare, wrapped, listing = [], [], []
        for _ in range(repeat):  # interleaved, so that load from other processes hits all three alike
            bare += time_command(["true"], 1, warmup=0)
            wrapped += time_command([footprint_exe(), "run", "--use-case", "bench", "--", "true"], 1, env=env, warmup=0)
            listing += time_command([footprint_exe(), "usecase", "list"], 1, env=env, warmup=0)
        bare, wrapped, listing = median(bare), median(wrapped), median(listing)
    added = wrapped - bare
    beyond = wrapped - listing
    return [
        # Issue 16's target: under 0.4 s added (issue 9's was 1.5 s). The next row says how much of it
        # is beyond the use-case check (opening the store, as `usecase list` does).
        row("run: added wall time (run -- true minus true)", added, "s", "< 0.4 s", added < 0.4,
            reference=bare, ratio=wrapped / bare),
        # the part of it that is not the use-case check (opening the store, as `usecase list` does)
        row("run: wall time beyond opening the store (run -- true minus usecase list)", beyond, "s", "<= 0.3 s",
            beyond <= 0.3, reference=listing, ratio=wrapped / listing),
    ]


def monitor_cost(seconds: float = 30.0, warmup_s: float = 4.0) -> list[dict]:
    """CPU share of one core and RSS of `monitor --interval 1` and of a bare CodeCarbon tracker
    (measure_power_secs=1), measured over the same `seconds` after both warmed up."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _bench_env(tmp)
        subprocess.run([footprint_exe(), "run", "--use-case", "bench", "--", "true"], env=env, check=True,
                       capture_output=True)  # fills the CPU profile cache, as any first run does
        mon = subprocess.Popen([footprint_exe(), "monitor", "--use-case", "bench", "--interval", "1"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ref = subprocess.Popen([sys.executable, "-c", _TRACKER], env=env, cwd=tmp, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        share, rss = measure_side_by_side([mon, ref], seconds, warmup_s, ready=ref.stdout.readline)
    m_cpu, r_cpu = share[mon.pid], share[ref.pid]
    m_rss, r_rss = rss[mon.pid], rss[ref.pid]
    ratio = m_cpu / r_cpu if r_cpu else None
    # Issue 16: < 0.2% of a core, < 60 MB, and at most half the tracker's CPU in the same run.
    # CPU times come in 10 ms ticks: 60 s (the full run) resolve 0.017% of a core.
    return [
        row(f"sidecar: monitor --interval 1, CPU over {seconds:g} s", m_cpu, "% of one core",
            "< 0.2% and <= 0.5x tracker", m_cpu < 0.2 and ratio is not None and ratio <= 0.5,
            reference=r_cpu, ratio=ratio),
        row("sidecar: monitor --interval 1, RSS", m_rss, "MB", "< 60 MB", m_rss < 60, reference=r_rss, ratio=m_rss / r_rss),
    ]


def nvml_agreement(seconds: float = 60.0, poll_s: float = 0.05) -> list[dict]:
    """Counter vs 50 ms trapezoid of instant power on a fake NVML device with a known power trace."""
    import pynvml

    from footprint.collectors.gpu.nvml import NvmlGpuDevices

    clock_t = [0.0]

    def power_w(t):
        base = 90 + 560 * min(max((t - 5) / 10, 0), 1) - 300 * (t > 47.3) - 150 * (t > 52.05)
        return base + 40 * math.sin(2 * math.pi * t / 3.7) * (t > 15)

    steps = int(seconds * 1000)
    integral = [0.0]
    for k in range(steps + 1):
        t = k / 1000
        integral.append(integral[-1] + (power_w(t) + power_w(t + 0.001)) / 2 * 0.001)

    def field_values(handle, fields):
        values = (pynvml.c_nvmlFieldValue_t * 1)()
        values[0].nvmlReturn = pynvml.NVML_SUCCESS
        values[0].valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
        values[0].value.uiVal = int(power_w(clock_t[0]) * 1000)
        return values

    def counter(handle):
        if handle == 1:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return int(integral[round(clock_t[0] * 1000)] * 1000)

    patches = dict(
        nvmlInit=lambda: None, nvmlShutdown=lambda: None, nvmlSystemGetDriverVersion=lambda: "fake",
        nvmlDeviceGetCount=lambda: 2, nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUUID=lambda h: f"GPU-{h}", nvmlDeviceGetName=lambda h: "fake",
        nvmlDeviceGetTotalEnergyConsumption=counter, nvmlDeviceGetFieldValues=field_values,
        nvmlDeviceGetPowerUsage=lambda h: int(power_w(clock_t[0]) * 1000),
    )
    with mock.patch.multiple(pynvml, **patches):
        clock = lambda: clock_t[0]  # noqa: E731
        by_counter = NvmlGpuDevices("0", clock=clock, start_poller=False)
        by_power = NvmlGpuDevices("1", clock=clock, start_poller=False)
        by_counter.start()
        by_power.start()
        for step in range(1, int(seconds / poll_s) + 1):
            clock_t[0] = step * poll_s
            by_power.poll_once()
        e_counter, e_power = by_counter.read().energy_j, by_power.read().energy_j
    diff = abs(e_power - e_counter) / e_counter * 100
    return [row("NVML fake trace: |integrated power - counter| / counter", diff, "%", "< 0.5%", diff < 0.5,
                reference=e_counter, ratio=e_power / e_counter)]


def nvml_aliasing(seconds: int = 12) -> list[dict]:
    """The H200 aliasing case on a fake device: a periodic load (20 ms at 730 W every 100 ms) read by
    the counter, by power usage (a 1 s average) polled at 0.5 s and by the instant field polled at
    100 ms in step with the load. Shows why the fallback order puts power usage before the field."""
    import pynvml

    from footprint.collectors.gpu.nvml import NvmlGpuDevices

    clock_t = [0.0]
    fine = [0.0]
    for ms in range(seconds * 1000 + 1):
        fine.append(fine[-1] + (730.0 if ms % 100 < 20 else 150.0) / 1000)

    def energy_j(t):
        return fine[round(t * 1000)]

    def usage_mw(handle):
        t = clock_t[0]
        span = min(1.0, t)
        return int(150_000 if span <= 0 else (energy_j(t) - energy_j(t - span)) / span * 1000)

    def field_values(handle, fields):
        values = (pynvml.c_nvmlFieldValue_t * 1)()
        values[0].nvmlReturn = pynvml.NVML_SUCCESS
        values[0].valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
        values[0].value.uiVal = 730_000 if round(clock_t[0] * 1000) % 100 < 20 else 150_000
        return values

    def not_supported(*_):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    patches = dict(
        nvmlInit=lambda: None, nvmlShutdown=lambda: None, nvmlSystemGetDriverVersion=lambda: "fake",
        nvmlDeviceGetCount=lambda: 2, nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUUID=lambda h: f"GPU-{h}", nvmlDeviceGetName=lambda h: "NVIDIA H200",
        nvmlDeviceGetArchitecture=lambda h: pynvml.NVML_DEVICE_ARCH_HOPPER,
        nvmlDeviceGetTotalEnergyConsumption=not_supported, nvmlDeviceGetFieldValues=field_values,
        nvmlDeviceGetPowerUsage=lambda h: usage_mw(h) if h == 0 else not_supported(),
    )
    with mock.patch.multiple(pynvml, **patches):
        clock = lambda: clock_t[0]  # noqa: E731
        by_usage = NvmlGpuDevices("0", clock=clock, start_poller=False)
        by_field = NvmlGpuDevices("1", clock=clock, start_poller=False)
        by_usage.start()
        by_field.start()
        for step in range(1, seconds * 10 + 1):
            clock_t[0] = step / 10
            by_field.poll_once()
            if step % 5 == 0:
                by_usage.poll_once()
        e_usage, e_field = by_usage.read().energy_j, by_field.read().energy_j
    truth = energy_j(seconds)
    return [
        row("NVML fake periodic load: power usage (0.5 s poll) vs counter", abs(e_usage / truth - 1) * 100, "%",
            "< 3%", abs(e_usage / truth - 1) < 0.03, reference=truth, ratio=e_usage / truth),
        row("NVML fake periodic load: instant field (100 ms poll) vs counter, the aliasing", abs(e_field / truth - 1) * 100,
            "%", "informative (why it is the last fallback)", True, reference=truth, ratio=e_field / truth),
    ]


def run(quick: bool = False) -> list[dict]:
    rows = run_overhead(repeat=5 if quick else 15)
    rows += monitor_cost(seconds=15 if quick else 60)
    rows += nvml_agreement()
    rows += nvml_aliasing()
    return rows


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
