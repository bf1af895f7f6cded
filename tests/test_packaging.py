"""The wheel installs one top-level package, `footprint`: cli.py, estimators/ and data/ are mapped into it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "No module named" in done.stderr and "setuptools" in done.stderr:
        pytest.skip("setuptools is not installed in this environment (needed to build the wheel offline)")
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = out.glob("footprint-*.whl")
    return found


def test_the_wheel_has_nothing_but_footprint_at_the_top(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"footprint"}
    top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["footprint"]


def test_the_mapped_modules_and_tables_are_in_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("footprint/cli.py", "footprint/estimators/__init__.py", "footprint/estimators/llm.py",
                     "footprint/data/__init__.py", "footprint/data/llm_coefficients.json",
                     "footprint/data/grid_intensity.csv", "footprint/store/migrations/001_register.sql"):
        assert expected in names
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "footprint = footprint.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_a_source_checkout_resolves_the_same_names_to_the_root_folders():
    code = ("import footprint.cli, footprint.estimators, footprint.data, sys;"
            "print(footprint.cli.__file__, footprint.estimators.__file__, footprint.data.__file__, sep='\\n')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    paths = [Path(p) for p in done.stdout.split()]
    installed = any("site-packages" in str(p) for p in paths)
    if installed:
        pytest.skip("footprint is imported from an installed copy here, not the checkout")
    assert paths == [REPO / "cli.py", REPO / "estimators" / "__init__.py", REPO / "data" / "__init__.py"]
