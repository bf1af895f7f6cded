"""`footprint doctor`: what this host can measure and how, without opening the database.

Reports NVML (library, driver, each GPU's name, UUID, architecture, source and cross-check),
CodeCarbon's CPU/RAM method and CPU model (detecting and caching it if needed: ~1.5 s once),
the database path and file modes, and the spool's state. Read-only: it never drains the spool.
`doctor --gpu-check SECONDS` (footprint.collectors.gpu.check) reads every NVML source side by side.
"""

from __future__ import annotations

import os
from pathlib import Path


def _mode(path: Path) -> str | None:
    try:
        return oct(path.stat().st_mode & 0o777)
    except OSError:
        return None


def nvml_state() -> dict:
    state: dict = {"library": False, "driver_version": None, "nvml_version": None, "gpus": [], "notice": None}
    try:
        import pynvml
    except ImportError:
        state["notice"] = "nvidia-ml-py is not installed"
        return state
    from footprint.collectors.gpu.nvml import NvmlGpuDevices

    try:
        devices = NvmlGpuDevices(None, poll_interval_s=0.1, start_poller=False)
    except (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded) as exc:
        state["notice"] = f"no NVIDIA driver ({exc}): GPU energy is not measured"
        return state
    except pynvml.NVMLError as exc:
        state["library"] = True
        state["notice"] = f"NVML error: {exc}"
        return state
    try:
        state["library"] = True
        state["driver_version"] = devices.driver_version
        try:
            version = pynvml.nvmlSystemGetNVMLVersion()
            state["nvml_version"] = version.decode() if isinstance(version, bytes) else version
        except pynvml.NVMLError:
            pass
        state["gpus"] = devices.describe()
        state["notice"] = devices.notice
    finally:
        devices.close()
    return state


def codecarbon_state() -> dict:
    from footprint.collectors.cpu import RAM_METHOD, CpuRamMeter, get_profile, load_cached_profile, profile_path

    try:
        cached = load_cached_profile() is not None
        profile = get_profile()
        meter = CpuRamMeter(profile)
        ram_w = meter.ram_power_w()
    except Exception as exc:  # noqa: BLE001 - doctor reports, it does not fail
        return {"error": str(exc)}
    return {
        "version": profile.codecarbon_version,
        "cpu_model": profile.cpu_model,
        "cpu_mode": profile.mode,
        "cpu_method": profile.cpu_method,
        "tdp_w": profile.tdp_w,
        "tdp_source": profile.tdp_source,
        "ram_method": RAM_METHOD,
        "ram_power_w": ram_w,
        "profile_cache": str(profile_path()),
        "profile_was_cached": cached,
    }


def database_state(db_path: Path) -> dict:
    return {
        "path": str(db_path),
        "exists": db_path.exists(),
        "mode": _mode(db_path),
        "directory": str(db_path.parent),
        "directory_mode": _mode(db_path.parent),
        "wal_mode": _mode(db_path.with_name(db_path.name + ".wal")),
    }


def diagnose(db_path: str | os.PathLike | None = None) -> dict:
    from footprint.spool import hostname, spool_state
    from footprint.store.paths import resolve_db_path

    db_path = resolve_db_path(db_path)
    return {
        "host": hostname(),
        "nvml": nvml_state(),
        "codecarbon": codecarbon_state(),
        "database": database_state(db_path),
        "spool": spool_state(db_path),
    }


def format_report(report: dict) -> str:
    lines = [f"host: {report['host']}"]
    nvml = report["nvml"]
    if not nvml["library"]:
        lines.append(f"NVML (GPU energy): unavailable: {nvml['notice']}")
    else:
        lines.append(f"NVML (GPU energy): driver {nvml['driver_version']}, NVML {nvml['nvml_version']}, "
                     f"{len(nvml['gpus'])} GPU(s)")
        for gpu in nvml["gpus"]:
            how = "energy counter (measured:nvml-counter)" if gpu["energy_counter"] else f"power polling ({gpu['source']}, measured:nvml-power)"
            if gpu.get("crosscheck"):
                how += ", cross-checked against power usage each interval"
            arch = gpu.get("architecture") or "architecture unknown"
            lines.append(f"  GPU {gpu['index']}: {gpu['name']} {gpu['uuid']}: {how} ({arch})")
        if nvml["notice"]:
            lines.append(f"  note: {nvml['notice']}")
    cc = report["codecarbon"]
    if "error" in cc:
        lines.append(f"CodeCarbon (CPU/RAM energy): error: {cc['error']}")
    else:
        lines.append(f"CodeCarbon {cc['version']} (CPU/RAM energy): CPU {cc['cpu_model']!r}: {cc['cpu_method']}"
                     f" (mode {cc['cpu_mode']}, TDP {cc['tdp_w']:g} W from {cc['tdp_source']})")
        lines.append(f"  RAM: {cc['ram_method']} ({cc['ram_power_w']:g} W); profile cache {cc['profile_cache']}")
    db = report["database"]
    lines.append(f"database: {db['path']} ({'mode ' + db['mode'] if db['exists'] else 'not created yet'}; "
                 f"directory mode {db['directory_mode']})")
    sp = report["spool"]
    lines.append(f"spool: {sp['path']} ({'mode ' + sp['mode'] if sp['exists'] else 'empty'}; "
                 f"{sp['segments_live']} live segment(s), {sp['segments_finished']} finished, "
                 f"{sp['records_pending']} record(s) waiting, {sp['lines_torn']} torn line(s))")
    return "\n".join(lines)
