"""The installed console script, run as a user runs it, and the promises of the README."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

HEAVY_MODULES = ("duckdb", "codecarbon", "matplotlib", "pandas", "numpy", "pynvml")


def console_script() -> str:
    candidate = Path(sys.executable).parent / "footprint"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("footprint")
    if not found:
        pytest.skip("the footprint console script is not installed in this environment")
    return found


def test_register_round_trip_through_the_console_script(tmp_path):
    env = {**os.environ, "FOOTPRINT_DB": str(tmp_path / "fp.duckdb")}
    exe = console_script()
    add = subprocess.run([exe, "usecase", "add", "doc-gen", "--name", "Docs", "--team", "Comms", "--status", "pilot",
                          "--deployment", "api", "--country", "DEU"], env=env, capture_output=True, text=True)
    assert add.returncode == 0, add.stderr
    listed = subprocess.run([exe, "usecase", "list", "--json"], env=env, capture_output=True, text=True)
    assert '"slug": "doc-gen"' in listed.stdout
    missing = subprocess.run([exe, "usecase", "show", "nope"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr == "error: unknown use case 'nope' (see `footprint usecase list`)\n"
    assert (tmp_path / "fp.duckdb").stat().st_mode & 0o777 == 0o600


def test_help_loads_no_heavy_module():
    code = (
        "import sys\nsys.argv = ['footprint', '--help']\nfrom footprint import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT).stdout
    assert "LOADED []" in out, out[-300:]


def test_usecase_list_loads_neither_codecarbon_nor_plotting(tmp_path):
    code = (
        "import sys\nsys.argv = ['footprint', 'usecase', 'list', '--json']\nfrom footprint import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('codecarbon', 'matplotlib', 'pandas') if m in sys.modules))"
    )
    env = {**os.environ, "FOOTPRINT_DB": str(tmp_path / "fp.duckdb")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env).stdout
    assert "LOADED []" in out, out[-300:]


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup, flags=re.S)


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = _readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    main_job, tests = commands
    assert "pip install ." in main_job and "footprint" in main_job
    assert "pip install '.[test]'" in tests and "pytest" in tests
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci, ".ci/run must run the README's test command verbatim"
