"""Shared fixtures: every test gets its own database file and never touches the user's data dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FORMATS = REPO_ROOT.parent / "shared" / "data" / "formats"


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "db" / "footprint.duckdb"
    monkeypatch.setenv("FOOTPRINT_DB", str(path))
    return path


@pytest.fixture
def store(db_path):
    from footprint.store import open_store

    with open_store(db_path) as opened:
        yield opened


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner, db_path):
    """Run the CLI in-process against the test database; returns the Click result."""
    from footprint.cli import app

    def _invoke(*args: str, input: str | None = None):
        return runner.invoke(app, ["--db", str(db_path), *args], input=input)

    return _invoke


def shared_format(name: str) -> Path:
    """A real vendor sample from ../shared/data/formats (skips when the shared folder is absent)."""
    path = SHARED_FORMATS / name
    if not path.exists():
        pytest.skip(f"shared sample {path} not available (tests read real formats from ../shared)")
    return path


def skip_if_nvidia_driver(reason: str = "this machine has an NVIDIA driver") -> None:
    """For tests of the no-GPU path: a real NVML that initialises would measure instead."""
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return
    pynvml.nvmlShutdown()
    pytest.skip(reason)
