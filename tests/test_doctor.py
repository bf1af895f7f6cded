"""`footprint doctor`: NVML, CodeCarbon, database and spool state, in text and JSON."""

from __future__ import annotations

import json

import pynvml
import pytest

from footprint import spool


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "footprint-cpu-cache"))


def test_doctor_text_mentions_nvml_codecarbon_database_and_spool(invoke, store):
    store.close()
    result = invoke("doctor")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "NVML" in text and "CodeCarbon 3.3.2" in text
    assert "modelled:ram" in text and ("modelled:cpu-load-tdp" in text or "measured:rapl" in text or "modelled:constant" in text)
    assert "mode 0o600" in text and "spool:" in text


def test_doctor_json(invoke, db_path):
    writer = spool.SpoolWriter(db_path)
    from datetime import datetime

    from footprint.records import IntervalRecord

    writer.append(IntervalRecord(writer.new_record_id(), "uc", writer.host, datetime(2026, 7, 1), datetime(2026, 7, 1, 0, 0, 1), "run"))
    writer.flush()
    result = invoke("doctor", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {"host", "nvml", "codecarbon", "database", "spool"}
    assert report["database"]["path"] == str(db_path) and report["database"]["exists"] is False
    assert report["spool"]["segments_live"] == 1 and report["spool"]["records_pending"] == 1
    assert report["codecarbon"]["ram_method"] == "modelled:ram"
    assert not db_path.exists()  # doctor never opens (or drains into) the database
    writer.close()


def test_doctor_lists_gpus_with_their_counter_state(invoke, monkeypatch):
    gpus = {0: ("GPU-aaaa", True), 1: ("GPU-bbbb", False)}

    def counter(h):
        if not gpus[h][1]:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return 1000

    for name, fn in {
        "nvmlInit": lambda: None, "nvmlShutdown": lambda: None,
        "nvmlSystemGetDriverVersion": lambda: "570.86.15", "nvmlSystemGetNVMLVersion": lambda: "12.570.86.15",
        "nvmlDeviceGetCount": lambda: 2, "nvmlDeviceGetHandleByIndex": lambda i: i,
        "nvmlDeviceGetUUID": lambda h: gpus[h][0], "nvmlDeviceGetName": lambda h: "Tesla P100",
        "nvmlDeviceGetTotalEnergyConsumption": counter, "nvmlDeviceGetPowerUsage": lambda h: 50_000,
        "nvmlDeviceGetFieldValues": lambda h, f: (_ for _ in ()).throw(pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)),
    }.items():
        monkeypatch.setattr(pynvml, name, fn)
    result = invoke("doctor")
    assert "driver 570.86.15" in result.stdout
    assert "GPU-aaaa: energy counter (measured:nvml-counter)" in result.stdout
    assert "GPU-bbbb: power polling (power-usage, measured:nvml-power)" in result.stdout
    report = json.loads(invoke("doctor", "--json").stdout)
    assert [g["energy_counter"] for g in report["nvml"]["gpus"]] == [True, False]


def test_doctor_without_driver_says_so(invoke, monkeypatch):
    def no_lib():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_lib)
    result = invoke("doctor")
    assert result.exit_code == 0
    assert "NVML (GPU energy): unavailable" in result.stdout
