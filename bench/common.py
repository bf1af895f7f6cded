"""Shared helpers for benchmarks: timing medians, peak RSS of children, result rows, table printing."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def footprint_exe() -> str:
    """The footprint console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "footprint"
    return str(candidate) if candidate.exists() else (shutil.which("footprint") or "footprint")


def time_command(argv: list[str], repeat: int, env: dict | None = None, warmup: int = 1) -> list[float]:
    """Wall times (s) of `repeat` runs after `warmup` discarded runs."""
    times = []
    for i in range(warmup + repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-300:]}")
        if i >= warmup:
            times.append(elapsed)
    return times


def run_measuring_peak_rss_mb(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process, its output discarded; raises if it fails."""
    with tempfile.TemporaryFile() as stderr_file:  # a file, not a pipe: a chatty child never blocks on it
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr_file)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            stderr_file.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {stderr_file.read().decode(errors='replace')[-300:]}")
    return elapsed, usage.ru_maxrss / 1024.0


def row(name: str, value: float, unit: str, target: str, met: bool, reference: float | None = None,
        ratio: float | None = None) -> dict:
    out = {"name": name, "value": round(value, 4), "unit": unit, "target": target, "met": bool(met)}
    if reference is not None:
        out["reference"] = round(reference, 4)
    if ratio is not None:
        out["ratio"] = round(ratio, 3)
    return out


def print_table(rows: list[dict]) -> None:
    headers = ["name", "value", "unit", "reference", "ratio", "target", "met"]
    cells = [[("" if r.get(h) is None else str(r.get(h))) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))


median = statistics.median


def measure_side_by_side(procs: list, seconds: float, warmup_s: float = 0.0, ready=None) -> tuple[dict, dict]:
    """CPU share of one core (%) and RSS (MB) of each running process over the same `seconds`, keyed by pid,
    after `ready()` (if given) and `warmup_s`; then every process gets SIGTERM (killed after 20 s), whatever
    happened."""
    import signal

    import psutil

    def cpu_s(pid: int) -> tuple[float, float, frozenset]:
        """(CPU seconds from the kernel's clock ticks, CPU seconds to the nanosecond from the live threads'
        schedstat or nan, those threads)."""
        times = psutil.Process(pid).cpu_times()
        try:
            tasks = frozenset(os.listdir(f"/proc/{pid}/task"))
            exact = sum(int(Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()[0]) for t in tasks) / 1e9
        except (OSError, ValueError, IndexError):
            tasks, exact = frozenset(), float("nan")
        return times.user + times.system, exact, tasks

    def used_s(before, after) -> float:
        # Clock ticks (10 ms) make a 15 s window of a 0.1% process one tick wide: the nanosecond run time
        # of its threads is used instead, when the same threads lived at both ends and together account
        # for what the ticks saw (a thread born and gone inside the window would be missed).
        ticks = after[0] - before[0]
        exact = after[1] - before[1]
        if before[2] == after[2] and before[2] and exact == exact and exact >= ticks - 0.02:
            return exact
        return ticks

    try:
        if ready is not None:
            ready()
        time.sleep(warmup_s)
        start = time.monotonic()
        cpu0 = {p.pid: cpu_s(p.pid) for p in procs}
        time.sleep(seconds)
        wall = time.monotonic() - start
        share = {p.pid: used_s(cpu0[p.pid], cpu_s(p.pid)) / wall * 100 for p in procs}
        rss = {p.pid: psutil.Process(p.pid).memory_info().rss / 1e6 for p in procs}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return share, rss
