"""Run every benchmark, print one table and write bench/results.json.

    python bench/run.py [--quick]

Each bench_<area>.py module exposes `run(quick: bool) -> list[dict]` of rows
{name, value, unit, target, met[, reference, ratio]}: targets are ratios to a reference measured in
the same run wherever one exists, because the machines are noisy. A target that is not met stays
in the table as not met.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import print_table, row  # noqa: E402

MODULES = ["bench_start", "bench_collectors", "bench_spool", "bench_estimate", "bench_ingest", "bench_report",
           "bench_exporter"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under 5 minutes on 2 cores")
    parser.add_argument("--only", nargs="*", help="run only these modules (e.g. bench_ingest)")
    args = parser.parse_args()
    rows: list[dict] = []
    for name in args.only or MODULES:
        started = time.perf_counter()
        try:
            module = importlib.import_module(name)
            rows.extend(module.run(quick=args.quick))
        except Exception as exc:  # a broken benchmark is a row that is not met, never a silent gap
            traceback.print_exc()
            rows.append(row(f"{name}: failed ({type(exc).__name__}: {exc})"[:160], float("nan"), "-", "runs", False))
        print(f"# {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print_table(rows)
    (HERE / "results.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
