"""GPU host figures (issue 16, item 5): one prepared script for a machine with an NVIDIA GPU and torch.

    python bench/gpu_host.py [--quick] [--json-out FILE]

Repeats the H200 table of ../shared/notes/nvml-h200-2026-12.md with footprint installed:
1. torch load phases (idle, full, periodic bursts "bON_PERIOD": ON ms of bf16 8192² products every
   PERIOD ms), each window read by `doctor --gpu-check`'s reader: the energy counter, power usage
   and the instant field (100 ms polls), with ratios to the counter;
2. end to end: `footprint run --interval 5 -- python <mixed load>` against the raw counter read
   around the whole `footprint run` process, and the cross-check figures of its records;
3. the overhead pair: `footprint monitor --interval 1` and CodeCarbon's offline tracker
   (measure_power_secs=1) side by side over the same window, beside a periodic load;
4. `footprint run -- true` added wall time (median of 5) and `doctor --gpu-check 5 --json`.
Prints a table, then one JSON object (also written to --json-out, default bench/gpu_host_results.json,
or $OUT/gpu_host_results.json when $OUT is set). On a machine without an NVIDIA GPU it says so in one
line and exits 1.

The GPU host needs torch, nvidia-ml-py, footprint and its dependencies (DuckDB and CodeCarbon
wheels brought along: `pip download duckdb codecarbon -d wheels` on a machine with the registry).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PHASES = [  # (name, seconds, on_ms, period_ms); on = period: full load; period 0: idle
    ("idle", 5, 0, 0), ("full", 15, 1, 1), ("b100_200", 15, 100, 200), ("b20_100", 12, 20, 100),
    ("b10_50", 10, 10, 50), ("b20_100", 10, 20, 100), ("b50_100", 10, 50, 100), ("b20_200", 10, 20, 200),
    ("b250_1000", 12, 250, 1000), ("b500_1000", 12, 500, 1000), ("full", 8, 1, 1),
]
QUICK_PHASES = [("idle", 3, 0, 0), ("full", 5, 1, 1), ("b20_100", 6, 20, 100), ("b250_1000", 6, 250, 1000)]

LOAD = r"""
import sys, time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
(a @ b); torch.cuda.synchronize()

def phase(seconds, on_ms, period_ms):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if period_ms == 0:
            time.sleep(0.05)
        elif on_ms >= period_ms:
            (a @ b); torch.cuda.synchronize()
        else:
            k0 = time.perf_counter()
            while time.perf_counter() - k0 < on_ms / 1000:
                (a @ b); torch.cuda.synchronize()
            rest = period_ms / 1000 - (time.perf_counter() - k0)
            if rest > 0:
                time.sleep(rest)
    torch.cuda.synchronize()

if len(sys.argv) > 1:  # a fixed program: "S:ON:PERIOD,S:ON:PERIOD,..."
    for part in sys.argv[1].split(","):
        s, on, per = (float(x) for x in part.split(":"))
        phase(s, on, per)
    sys.exit(0)
print("ready", flush=True)
for line in sys.stdin:
    seconds, on_ms, period_ms = (float(x) for x in line.split())
    print("start", flush=True)
    phase(seconds, on_ms, period_ms)
    print("end", flush=True)
"""


class NoGpu(Exception):
    pass


def _check_gpu() -> str:
    try:
        import pynvml
    except ImportError:
        raise NoGpu("nvidia-ml-py is not installed") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise NoGpu(f"NVML: {exc}") from None
    try:
        if pynvml.nvmlDeviceGetCount() == 0:
            raise NoGpu("NVML sees no device")
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        name = pynvml.nvmlDeviceGetName(handle)
        driver = pynvml.nvmlSystemGetDriverVersion()
    finally:
        pynvml.nvmlShutdown()
    text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
    try:
        import torch  # noqa: F401
    except ImportError:
        raise NoGpu("torch is not installed (the load phases need it)") from None
    return f"{text(name)}, driver {text(driver)}"


def _footprint() -> str:
    candidate = Path(sys.executable).parent / "footprint"
    return str(candidate) if candidate.exists() else "footprint"


def _env(tmp: str) -> dict:
    env = {**os.environ, "FOOTPRINT_DB": os.path.join(tmp, "fp.duckdb"), "FOOTPRINT_CACHE_DIR": os.path.join(tmp, "cache")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([_footprint(), "usecase", "add", "gpuhost", "--name", "GPU host", "--team", "T", "--status", "pilot",
                    "--deployment", "on-prem"], env=env, check=True, capture_output=True)
    subprocess.run([_footprint(), "run", "--use-case", "gpuhost", "--", "true"], env=env, check=True,
                   capture_output=True)  # fills the CPU profile cache
    return env


def _raw_counter_j() -> float:
    import pynvml

    pynvml.nvmlInit()
    try:
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(pynvml.nvmlDeviceGetHandleByIndex(0)) / 1000.0
    finally:
        pynvml.nvmlShutdown()


def source_table(phases) -> list[dict]:
    """Each phase window read by every NVML source at once (doctor --gpu-check's reader, GPU 0)."""
    from footprint.collectors.gpu.check import gpu_check

    load = subprocess.Popen([sys.executable, "-c", LOAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "CUDA_VISIBLE_DEVICES": "0"})
    rows = []
    try:
        if load.stdout.readline().strip() != "ready":
            raise RuntimeError("the torch load process did not start")
        for name, seconds, on_ms, period_ms in phases:
            load.stdin.write(f"{seconds} {on_ms} {period_ms}\n")
            load.stdin.flush()
            load.stdout.readline()  # start
            result = gpu_check(max(0.5, seconds - 0.3), "0", use_env=False)
            load.stdout.readline()  # end
            gpu = result["gpus"][0]
            rows.append({"phase": f"{name}, {seconds} s", "joules": gpu["joules"], "ratios_to_counter": gpu["ratios_to_counter"],
                         "window_s": result["window_s"]})
    finally:
        load.stdin.close()
        load.wait(timeout=60)
    return rows


def end_to_end(env: dict, quick: bool) -> dict:
    """`footprint run --interval 5 -- python <mixed load>` against the raw counter around it."""
    program = "3:0:0,5:1:1,6:20:100,5:250:1000,4:1:1" if quick else "3:0:0,8:1:1,8:20:100,6:250:1000,5:10:50,4:1:1"
    def records():
        out = subprocess.run([_footprint(), "measurements", "--use-case", "gpuhost", "--json"], env=env, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    seen = {r["record_id"] for r in records()}
    before = _raw_counter_j()
    t0 = time.perf_counter()
    subprocess.run([_footprint(), "run", "--use-case", "gpuhost", "--interval", "5", "--", sys.executable, "-c", LOAD,
                    program], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    raw = _raw_counter_j() - before
    new = [r for r in records() if r["record_id"] not in seen]
    recorded = sum(r["gpu_j"] or 0.0 for r in new)
    ratios = [r["gpu_crosscheck_ratio"] for r in new if r["gpu_crosscheck_ratio"] is not None]
    return {"wall_s": round(wall, 2), "recorded_gpu_j": round(recorded, 1), "raw_counter_j": round(raw, 1),
            "ratio": round(recorded / raw, 4) if raw else None, "records": len(new),
            "gpu_methods": sorted({r["gpu_method"] for r in new if r["gpu_method"]}),
            "crosscheck_ratios": [round(x, 4) for x in ratios],
            "crosscheck_disagreements": sum(1 for r in new if r["gpu_crosscheck_disagrees"])}


def overhead_pair(env: dict, seconds: float) -> dict:
    """monitor --interval 1 and CodeCarbon's tracker side by side, beside a periodic load."""
    import psutil

    from bench_collectors import _TRACKER

    load = subprocess.Popen([sys.executable, "-c", LOAD, f"{seconds + 20}:20:100"], env=os.environ)
    mon = subprocess.Popen([_footprint(), "monitor", "--use-case", "gpuhost", "--interval", "1"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as cwd:
        ref = subprocess.Popen([sys.executable, "-c", _TRACKER], env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        try:
            ref.stdout.readline()
            time.sleep(6)
            procs = {"monitor": psutil.Process(mon.pid), "tracker": psutil.Process(ref.pid)}
            cpu0 = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            share = {k: 100 * (sum(p.cpu_times()[:2]) - cpu0[k]) / wall for k, p in procs.items()}
            rss = {k: p.memory_info().rss / 2**20 for k, p in procs.items()}
        finally:
            for proc in (mon, ref, load):
                proc.send_signal(signal.SIGTERM)
            for proc in (mon, ref, load):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return {"seconds": seconds, "monitor_cpu_pct": round(share["monitor"], 3), "tracker_cpu_pct": round(share["tracker"], 3),
            "cpu_ratio": round(share["monitor"] / share["tracker"], 3) if share["tracker"] else None,
            "monitor_rss_mb": round(rss["monitor"], 1), "tracker_rss_mb": round(rss["tracker"], 1)}


def run_true(env: dict, repeat: int = 5) -> dict:
    bare, wrapped = [], []
    for _ in range(repeat):
        for argv, into in ((["true"], bare), ([_footprint(), "run", "--use-case", "gpuhost", "--", "true"], wrapped)):
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            into.append(time.perf_counter() - t0)
    return {"median_run_true_s": round(statistics.median(wrapped), 3), "median_true_s": round(statistics.median(bare), 4),
            "added_s": round(statistics.median(wrapped) - statistics.median(bare), 3), "min_run_true_s": round(min(wrapped), 3)}


def doctor_check(env: dict) -> dict:
    out = subprocess.run([_footprint(), "doctor", "--gpu-check", "5", "--json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def print_results(results: dict) -> None:
    print(f"GPU host: {results['host']} ({results['gpu']}), {results['date']}")
    print("| phase | counter J | power usage J | instant field J | usage / counter | field / counter |")
    print("|---|---|---|---|---|---|")
    for r in results["sources"]:
        j, q = r["joules"], r["ratios_to_counter"]
        fmt = lambda v, d=0: "–" if v is None else f"{v:,.{d}f}"  # noqa: E731
        print(f"| {r['phase']} | {fmt(j.get('counter'))} | {fmt(j.get('power-usage'))} | {fmt(j.get('power-instant'))} | "
              f"{fmt(q.get('power-usage'), 3)} | {fmt(q.get('power-instant'), 3)} |")
    e = results["end_to_end"]
    print(f"end to end: footprint run recorded {e['recorded_gpu_j']:,} J, raw counter {e['raw_counter_j']:,} J, "
          f"ratio {e['ratio']}; {e['crosscheck_disagreements']} cross-check disagreement(s) in {e['records']} record(s)")
    o = results["overhead"]
    print(f"overhead over {o['seconds']:g} s: monitor {o['monitor_cpu_pct']}% / {o['monitor_rss_mb']} MB, "
          f"tracker {o['tracker_cpu_pct']}% / {o['tracker_rss_mb']} MB (CPU ratio {o['cpu_ratio']})")
    r = results["run_true"]
    print(f"run -- true: median {r['median_run_true_s']} s, added {r['added_s']} s (bare true {r['median_true_s']} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (about 2 minutes)")
    parser.add_argument("--json-out", help="where to write the JSON (default: $OUT or bench/)")
    args = parser.parse_args()
    try:
        gpu = _check_gpu()
    except NoGpu as exc:
        print(f"gpu_host: no NVIDIA GPU here ({exc}): nothing to measure", file=sys.stderr)
        return 1
    import platform
    from datetime import datetime, timezone

    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "host": platform.node(), "gpu": gpu,
               "cpus": os.cpu_count()}
    results["sources"] = source_table(QUICK_PHASES if args.quick else PHASES)
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp)
        results["end_to_end"] = end_to_end(env, args.quick)
        results["overhead"] = overhead_pair(env, 15 if args.quick else 30)
        results["run_true"] = run_true(env)
        results["doctor_gpu_check"] = doctor_check(env)
    print_results(results)
    print(json.dumps(results, indent=1))
    out = Path(args.json_out) if args.json_out else (Path(os.environ["OUT"]) if os.environ.get("OUT") else HERE) / "gpu_host_results.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
