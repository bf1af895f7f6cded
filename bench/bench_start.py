"""Start-up cost: `footprint --help` and `footprint usecase list` wall time (median), vs bare Python."""

from __future__ import annotations

import os
import sys
import tempfile

from common import footprint_exe, median, print_table, row, time_command


def run(quick: bool = False) -> list[dict]:
    repeat = 5 if quick else 15
    exe = footprint_exe()
    bare = median(time_command([sys.executable, "-c", "pass"], repeat))
    help_s = median(time_command([exe, "--help"], repeat))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FOOTPRINT_DB": os.path.join(tmp, "fp.duckdb")}
        time_command([exe, "usecase", "add", "bench", "--name", "B", "--team", "T", "--status", "pilot",
                      "--deployment", "api"], 1, env=env, warmup=0)
        list_s = median(time_command([exe, "usecase", "list"], repeat, env=env))
    return [
        row("start: footprint --help", help_s, "s", "<= 0.3 s", help_s <= 0.3, reference=bare, ratio=help_s / bare),
        row("start: footprint usecase list", list_s, "s", "<= 0.5 s", list_s <= 0.5, reference=bare, ratio=list_s / bare),
    ]


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
