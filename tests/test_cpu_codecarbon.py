"""CPU and RAM energy through the real CodeCarbon on this machine: detection, cache, meter, methods."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from footprint.collectors import cpu


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "footprint-cpu-cache"  # shared by the collector tests
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cpu.ENV_CACHE_DIR, str(path))
        yield path


@pytest.fixture(scope="module")
def profile(cache_dir):
    return cpu.get_profile()


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_profile_is_cached_owner_only(cache_dir, profile):
    path = cpu.profile_path()
    assert path.parent == cache_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cpu.load_cached_profile() == profile
    assert profile.codecarbon_version == "3.3.2" == cpu.CODECARBON_VERSION_PINNED
    assert profile.cpu_method in ("measured:rapl", "modelled:cpu-load-tdp", "modelled:constant")


def test_stale_or_foreign_cache_is_ignored(cache_dir, profile, tmp_path):
    data = json.loads(cpu.profile_path().read_text())
    for key, value in (("codecarbon_version", "2.0.0"), ("host", "elsewhere"), ("logical_cpus", 999), ("format", 0)):
        stale = tmp_path / f"{key}.json"
        stale.write_text(json.dumps({**data, key: value}))
        assert cpu.load_cached_profile(stale) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert cpu.load_cached_profile(broken) is None


def test_profile_matches_what_codecarbon_tracker_uses(profile):
    """Our detection mirrors CodeCarbon's own: same CPU mode, model and TDP as a real offline tracker."""
    from codecarbon import OfflineEmissionsTracker
    from codecarbon.external.hardware import CPU, GPU

    tracker = OfflineEmissionsTracker(
        country_iso_code="FRA", output_methods=[], emissions_endpoint="", electricitymaps_api_token="",
        measure_power_secs=1, log_level="error", pue=1.0,
    )
    tracker.start()
    busy(0.3)
    tracker.stop()
    cpus = [h for h in tracker._hardware if isinstance(h, CPU)]
    assert len(cpus) == 1
    assert cpus[0]._mode == profile.mode
    assert cpus[0]._model == profile.cpu_model
    if profile.mode != "intel_rapl":
        assert float(cpus[0]._tdp) == profile.tdp_w
    assert not [h for h in tracker._hardware if isinstance(h, GPU)] or os.environ.get("CUDA_VISIBLE_DEVICES") is not None


def test_meter_reads_cpu_and_ram_energy(profile):
    meter = cpu.CpuRamMeter(profile)
    meter.start()
    busy(0.5)
    meter.sample()
    time.sleep(0.5)
    reading = meter.read()
    assert reading.window_s == pytest.approx(1.0, abs=0.2)
    assert reading.cpu_j > 0 and reading.cpu_method == profile.cpu_method
    assert reading.ram_method == "modelled:ram"
    assert reading.ram_j == pytest.approx(meter.ram_power_w() * reading.window_s, rel=1e-6)
    if profile.mode == "cpu_load":  # TDP x (0.1 + 0.9 load^3): between idle and full power
        assert 0.1 * profile.tdp_w * reading.window_s * 0.99 <= reading.cpu_j <= profile.tdp_w * reading.window_s * 1.01
    # the meter holds CPU and RAM objects only: the GPU is NVML's, never CodeCarbon's
    assert {type(meter._cpu).__name__, type(meter._ram).__name__} == {"CPU", "RAM"}


def test_profile_loader_detects_in_a_subprocess_once(tmp_path, monkeypatch, profile):
    monkeypatch.setenv(cpu.ENV_CACHE_DIR, str(tmp_path))
    loader = cpu.ProfileLoader()
    assert not loader.cached
    assert loader.result() == profile
    assert cpu.ProfileLoader().cached


def test_methods_vocabulary():
    assert cpu.cpu_method("intel_rapl") == "measured:rapl"
    assert cpu.cpu_method("cpu_load") == "modelled:cpu-load-tdp"
    assert cpu.cpu_method("constant") == "modelled:constant"


def test_codecarbon_is_not_imported_by_the_cli_module():
    import subprocess
    import sys

    code = "import sys; from footprint import cli; print(sorted(m for m in ('codecarbon', 'duckdb', 'pandas', 'pynvml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_collection_opens_no_network_connection_and_writes_no_file(profile, tmp_path):
    """An audit hook sees every socket connect / DNS lookup and file opened for writing while the
    instruments load and read: none (offline; no CodeCarbon output files)."""
    import subprocess
    import sys

    code = """
import sys
events = []
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        events.append(event)
    if event == "open" and isinstance(args[0], str) and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        events.append("open-write " + args[0])
sys.addaudithook(hook)
import time
from footprint.collectors.session import Instruments
inst = Instruments(None, use_env=False)
inst.wait()
inst.meter.sample()
time.sleep(0.3)
inst.meter.read(); inst.gpus.read(); inst.close()
print(sorted(set(events)), "requests" in sys.modules, "pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, cpu.ENV_CACHE_DIR: os.environ[cpu.ENV_CACHE_DIR]}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] False False"
    assert list(tmp_path.iterdir()) == []
