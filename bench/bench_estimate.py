"""`footprint estimate --input FILE.csv --json` on 100,000 rows: wall time (median), target < 2 s.

    python bench/bench_estimate.py [--quick]
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from common import footprint_exe, median, print_table, row, time_command

ROWS = 100_000
TARGET_S = 2.0
GPUS = ("H100", "A100", "B200", "H200", "L40S")
PRECISIONS = ("bf16", "fp8", "fp16", "fp4")


def write_rows(path: Path, rows: int) -> None:
    """A deterministic mix of dense and MoE models, hardware, countries and token counts."""
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens",
                      "input_tokens", "country"])
        for i in range(rows):
            out.writerow([(1, 8, 14, 70, 235, 405)[i % 6], (1, 8, 14, 70, 22, 405)[i % 6], GPUS[i % 5],
                          (1, 1, 1, 4, 8, 8)[i % 6], (8, 32, 128, 512)[i % 4], PRECISIONS[i % 4], 100 + i % 900,
                          10 * (i % 300), ("FRA", "USA", "DEU", "")[i % 4]])


def run(quick: bool = False) -> list[dict]:
    repeat = 3 if quick else 7
    exe = footprint_exe()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        write_rows(path, ROWS)
        bare = median(time_command([sys.executable, "-c", "pass"], repeat))
        seconds = median(time_command([exe, "estimate", "--input", str(path), "--json"], repeat))
    return [
        row(f"estimate --input {ROWS:,} rows --json", seconds, "s", f"< {TARGET_S} s", seconds < TARGET_S,
            reference=bare, ratio=seconds / bare),
    ]


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
