"""`footprint doctor`: NVML, CodeCarbon, database and spool state, in text and JSON."""

from __future__ import annotations

import json

import pynvml
import pytest

from footprint import spool
from test_gpu_nvml import FakeGpu, fake_nvml  # noqa: F401 - the fake-NVML fixture


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


# --- doctor --gpu-check (issue 16) ------------------------------------------------------------


def test_gpu_check_without_nvidia_says_there_is_nothing_to_check(invoke, monkeypatch):
    def no_lib():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_lib)
    result = invoke("doctor", "--gpu-check", "1", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["nothing_to_check"] is True and data["gpus"] == [] and "nothing to check" in data["notice"]
    text = invoke("doctor", "--gpu-check", "0.2")
    assert text.exit_code == 0 and "no NVIDIA GPU here" in text.stdout and "nothing to check" in text.stdout


def test_gpu_check_bad_seconds_is_a_one_line_error(invoke):
    result = invoke("doctor", "--gpu-check", "0")
    assert result.exit_code == 1 and "bad --gpu-check" in result.output and "Traceback" not in result.output


def test_gpu_check_reads_every_source_and_gives_ratios_to_the_counter(fake_nvml, monkeypatch):
    """A fake H200 under the periodic load of the H200 notes: power usage agrees with the counter,
    the aliasing instant field does not, and the check says so."""
    from footprint.collectors.gpu.check import format_check, gpu_check
    from test_gpu_nvml import _periodic_trace

    clock = {"t": 0.0}
    power_w, energy_j = _periodic_trace(6)

    def usage_mw():
        t = clock["t"]
        span = min(1.0, t)
        return 150_000 if span <= 0 else (energy_j(t) - energy_j(t - span)) / span * 1000

    fake_nvml([FakeGpu("GPU-h200", name="NVIDIA H200", arch=pynvml.NVML_DEVICE_ARCH_HOPPER,
                       counter=lambda: energy_j(clock["t"]) * 1000, usage=usage_mw,
                       field=lambda: power_w(clock["t"]) * 1000),
               FakeGpu("GPU-old", name="Tesla P100", arch=pynvml.NVML_DEVICE_ARCH_PASCAL, usage=lambda: 50_000)])
    result = gpu_check(5, None, use_env=False, clock=lambda: clock["t"],
                       sleep=lambda s: clock.__setitem__("t", round(clock["t"] + s, 6)))
    h200, p100 = result["gpus"]
    assert set(h200["joules"]) == {"counter", "power-usage", "power-instant"}
    assert h200["joules"]["counter"] == pytest.approx(5 * 266, rel=1e-3)
    assert h200["ratios_to_counter"]["power-usage"] == pytest.approx(1.0, abs=0.03)
    assert h200["agree_within_10pct"] == {"power-usage": True, "power-instant": False}
    assert h200["footprint_source"] == "counter" and h200["architecture"] == "Hopper"
    # no counter: the power sources are listed, with no ratio to a counter
    assert p100["joules"] == {"power-usage": pytest.approx(250.0)} and p100["ratios_to_counter"] == {"power-usage": None}
    text = format_check(result)
    assert "DISAGREES" in text and "GPU-h200" in text
    json.dumps(result)  # JSON-ready
