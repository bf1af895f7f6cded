"""`footprint.track`: context manager and decorator around Python code, through the spool."""

from __future__ import annotations

import dataclasses
import time

import pytest

import footprint
from footprint import register
from footprint.errors import NotFoundError, ValidationError
from footprint.measurements import list_measurements
from footprint.records import UseCase
from footprint.store import open_store


@pytest.fixture(autouse=True)
def use_case(db_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "footprint-cpu-cache"))
    with open_store(db_path) as store:
        register.add_use_case(store, UseCase("summary", "Summary", "Legal", "pilot", "on-prem"))


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_context_manager_records_energy_and_tokens(db_path):
    with footprint.track("summary") as t:
        busy(0.4)
        t.add_tokens(input=800, output=200, requests=1)
        t.add_tokens(input=100, output=50, requests=1, model="mistral-small")
    result = t.result
    assert dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.cpu_j = 0
    assert result.use_case == "summary" and result.cpu_j > 0 and result.ram_j > 0
    assert result.gpu_j is None  # no GPU here (or faked away): not measured, not zero
    assert result.energy_j == pytest.approx(result.cpu_j + result.ram_j)
    assert result.cpu_method.split(":")[0] in ("measured", "modelled") and result.ram_method == "modelled:ram"
    assert (result.input_tokens, result.output_tokens) == (900, 250)
    assert result.duration_s >= 0.4
    with open_store(db_path) as store:
        rows = list_measurements(store, use_case="summary")
        split = store.execute("SELECT model, input_tokens, requests FROM interval_tokens ORDER BY model").fetchall()
    assert [r["record_id"] for r in rows] == list(result.records)
    assert rows[0]["source"] == "track" and rows[0]["input_tokens"] == 900 and rows[0]["requests"] == 2
    assert split == [("", 800, 1), ("mistral-small", 100, 1)]


def test_long_blocks_write_one_record_per_interval(db_path):
    with footprint.track("summary", interval_s=0.3) as t:
        time.sleep(1.1)
    assert len(t.result.records) >= 3
    with open_store(db_path) as store:
        assert len(list_measurements(store)) == len(t.result.records)


def test_decorator_measures_each_call(db_path):
    calls = []

    @footprint.track("summary")
    def work(x):
        calls.append(x)
        return x * 2

    assert work(2) == 4 and work(3) == 6
    with open_store(db_path) as store:
        assert len(list_measurements(store)) == 2


def test_exceptions_propagate_and_are_still_measured(db_path):
    with pytest.raises(ZeroDivisionError):
        with footprint.track("summary"):
            1 / 0
    with open_store(db_path) as store:
        assert len(list_measurements(store)) == 1


def test_errors():
    with pytest.raises(NotFoundError):
        with footprint.track("unknown"):
            pass
    t = footprint.track("summary")
    with pytest.raises(RuntimeError):
        t.add_tokens(input=1)
    with pytest.raises(ValidationError):
        with footprint.track("summary") as t:
            t.add_tokens(input=-1)
    with pytest.raises(ValidationError):
        footprint.track("summary", interval_s=0)
