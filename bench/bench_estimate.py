"""Wall time of `footprint estimate --input FILE.csv --json` on 100,000 rows (target < 2 s).

    python bench/bench_estimate.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0
GPUS = ("H100", "A100", "B200", "H200", "L40S")
PRECISIONS = ("bf16", "fp8", "fp16", "fp4")


def write_rows(path: Path, rows: int) -> None:
    """A deterministic mix of dense and MoE models, hardware and token counts."""
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens", "input_tokens", "country"])
        for i in range(rows):
            params = (1, 8, 14, 70, 235, 405)[i % 6]
            active = (1, 8, 14, 70, 22, 405)[i % 6]
            out.writerow([params, active, GPUS[i % 5], (1, 1, 1, 4, 8, 8)[i % 6], (8, 32, 128, 512)[i % 4],
                          PRECISIONS[i % 4], 100 + i % 900, 10 * (i % 300), ("FRA", "USA", "DEU", "")[i % 4]])


def _command() -> list[str]:
    exe = shutil.which("footprint")
    return [exe] if exe else [sys.executable, "-c", "import cli; cli.main()"]


def bench_estimate_input(rows: int = 100_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        write_rows(path, rows)
        start = time.perf_counter()
        done = subprocess.run([*_command(), "estimate", "--input", str(path), "--json"], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())
        if done.stdout.count('"energy_wh"') != rows:
            raise RuntimeError("row count mismatch in the JSON output")
    return {"name": f"estimate --input {rows:,} rows", "value": round(elapsed, 3), "unit": "s",
            "target": f"< {TARGET_S} s", "met": elapsed < TARGET_S}


def run(rows: int = 100_000) -> list[dict]:
    return [bench_estimate_input(rows)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    results = run(parser.parse_args().rows)
    print(f"{'benchmark':<34} {'value':>8} {'unit':<4} {'target':<8} met")
    for r in results:
        print(f"{r['name']:<34} {r['value']:>8} {r['unit']:<4} {r['target']:<8} {'yes' if r['met'] else 'NO'}")
