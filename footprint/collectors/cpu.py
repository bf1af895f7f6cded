"""CPU and RAM energy through CodeCarbon 3.3.2, offline, without its tracker.

CodeCarbon's `OfflineEmissionsTracker` costs ~1.4 s at its first start (CPU model detection with
`cpuinfo`, then a fuzzy TDP table lookup with pandas) and ~78 MB; its `CPU` and `RAM` hardware
classes, built with a known model and TDP, cost nothing and read in ~20 µs
(notes/codecarbon-3.3.2.md). So footprint:
- detects the hardware once, the way `ResourceTracker.set_CPU_tracking` does in 3.3.2, in a
  subprocess (pandas never enters the collector's memory), and caches the result (model, TDP,
  mode) in an owner-only file in the user cache directory, keyed by CodeCarbon version and host;
- builds only CodeCarbon's `CPU` and `RAM` objects from that profile: no GPU object exists, so the
  GPU is never counted twice (NVML is ours), and there are no outputs, files, API calls or network;
- reads energies with `measure_power_and_energy`, as the tracker does, with PUE 1 (footprint
  applies PUE in accounting), and converts kWh to J through footprint.units.

Methods recorded: CPU `measured:rapl` (powercap counters), `modelled:cpu-load-tdp`
(TDP × (0.1 + 0.9 × load³)), `modelled:constant` (TDP / 2); RAM always `modelled:ram`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from footprint.units import kwh_to_j

PROFILE_FORMAT = 1
CODECARBON_VERSION_PINNED = "3.3.2"
RAM_METHOD = "modelled:ram"
_CPU_METHODS = {
    "intel_rapl": "measured:rapl",
    "cpu_load": "modelled:cpu-load-tdp",
    "constant": "modelled:constant",
}
ENV_CACHE_DIR = "FOOTPRINT_CACHE_DIR"


def cpu_method(mode: str) -> str:
    return _CPU_METHODS[mode]


@dataclass(frozen=True)
class CpuProfile:
    """What CodeCarbon detected on this host, enough to rebuild its CPU object without detecting again."""

    codecarbon_version: str
    host: str
    logical_cpus: int
    machine: str
    cpu_model: str
    mode: str  # CodeCarbon's CPU mode: intel_rapl | cpu_load | constant
    tdp_w: float  # whole-machine TDP CodeCarbon uses (per-socket TDP x sockets)
    tdp_source: str  # table | default-per-thread (4 W x threads) | default-constant (85 W)
    format: int = PROFILE_FORMAT

    @property
    def cpu_method(self) -> str:
        return cpu_method(self.mode)


def _quiet_codecarbon() -> None:
    # CodeCarbon sets its logger to INFO at import; its warnings would reach the user's terminal.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


def _codecarbon_version() -> str:
    # The package's own attribute: importlib.metadata (and email) would stay in a sidecar's memory, and
    # the meter imports codecarbon anyway.
    import codecarbon

    return codecarbon.__version__


def _host() -> str:
    from footprint.spool import hostname

    return hostname()


def detect_profile() -> CpuProfile:
    """CodeCarbon's own detection (slow: ~1.4 s). Mirrors ResourceTracker.set_CPU_tracking of 3.3.2
    with no forced power, on Linux: RAPL when readable, else CPU load x TDP (psutil), else constant."""
    import codecarbon

    _quiet_codecarbon()
    from codecarbon.core import cpu as cc_cpu
    from codecarbon.core.util import count_cpus, count_physical_cpus, detect_cpu_model, is_linux_os
    from codecarbon.external.hardware import POWER_CONSTANT

    if is_linux_os() and cc_cpu.is_rapl_available():
        model = detect_cpu_model() or "Unknown"
        mode, tdp_w, source = "intel_rapl", float(POWER_CONSTANT), "unused (RAPL)"
    else:
        tdp = cc_cpu.TDP()
        model = tdp.model
        if tdp.tdp is not None:
            tdp_w = float(tdp.tdp) * count_physical_cpus()
            known = model != "Unknown" and tdp._get_cpu_power_from_registry(model) is not None
            source = "table" if known else "default-per-thread"
        else:
            tdp_w, source = float(POWER_CONSTANT), "default-constant"
        mode = "cpu_load" if cc_cpu.is_psutil_available() else "constant"
    return CpuProfile(
        codecarbon_version=codecarbon.__version__,
        host=_host(),
        logical_cpus=count_cpus(),
        machine=platform.machine(),
        cpu_model=model,
        mode=mode,
        tdp_w=tdp_w,
        tdp_source=source,
    )


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("footprint", appauthor=False))


def profile_path() -> Path:
    return cache_dir() / "cpu-profile.json"


def load_cached_profile(path: Path | None = None) -> CpuProfile | None:
    """The cached profile if it still describes this host and CodeCarbon version."""
    path = path or profile_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = CpuProfile(**data)
    except (OSError, ValueError, TypeError):
        return None
    if (
        profile.format != PROFILE_FORMAT
        or profile.mode not in _CPU_METHODS
        or profile.host != _host()
        or profile.logical_cpus != os.cpu_count()
        or profile.machine != platform.machine()
        or profile.codecarbon_version != _codecarbon_version()
    ):
        return None
    return profile


def save_profile(profile: CpuProfile, path: Path | None = None) -> Path:
    """Write the cache owner-only (0700 directory, 0600 file), atomically."""
    from footprint.store.paths import ensure_parent_dir

    path = path or profile_path()
    # Every missing directory 0700: mkdir(parents=True) would give the parents the caller's umask
    # (the detection subprocess runs with the user's, possibly 000).
    ensure_parent_dir(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(profile), handle, indent=1)
    os.replace(tmp, path)
    return path


class ProfileLoader:
    """Gets the profile from the cache, or starts CodeCarbon's detection in a subprocess at once.

    `result()` waits for it. Detecting in a subprocess keeps pandas and cpuinfo out of the
    collector's memory and does not compete for this process's GIL while a job starts.
    """

    def __init__(self):
        self._profile = load_cached_profile()
        self._proc = None
        if self._profile is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "footprint.collectors.cpu"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )

    @property
    def cached(self) -> bool:
        return self._proc is None

    def result(self) -> CpuProfile:
        if self._profile is None:
            out, err = self._proc.communicate()
            if self._proc.returncode != 0:
                # Fall back to detecting here: slower and heavier, but the figures still come.
                self._profile = detect_profile()
                _save_quietly(self._profile)
            else:
                self._profile = CpuProfile(**json.loads(out))
        return self._profile


def _save_quietly(profile: CpuProfile) -> None:
    try:
        save_profile(profile)
    except OSError:
        pass  # a read-only cache only costs the next run the detection again


def get_profile(refresh: bool = False) -> CpuProfile:
    """The cached profile, detecting (and caching) it when missing or stale."""
    if not refresh:
        cached = load_cached_profile()
        if cached is not None:
            return cached
    profile = detect_profile()
    _save_quietly(profile)
    return profile


@dataclass(frozen=True)
class CpuRamReading:
    cpu_j: float
    ram_j: float
    window_s: float
    cpu_method: str
    ram_method: str = RAM_METHOD


class CpuRamMeter:
    """CodeCarbon's CPU and RAM objects for one host, read interval by interval ("machine" mode)."""

    def __init__(self, profile: CpuProfile):
        # Importing these runs CodeCarbon's package init (nvidia-smi/rocm-smi probes: cheap when absent).
        from codecarbon.core.units import Energy, Time
        from codecarbon.external.hardware import CPU
        from codecarbon.external.ram import RAM

        self._energy_type, self._time_type = Energy, Time

        _quiet_codecarbon()

        self.profile = profile
        self._cpu = CPU(output_dir=os.devnull, mode=profile.mode, model=profile.cpu_model, tdp=profile.tdp_w)
        self._cpu._is_generic_tdp = profile.tdp_source != "table"
        self._ram = RAM(tracking_mode="machine")
        self._lock = threading.Lock()
        self._last: float | None = None

    @property
    def cpu_method(self) -> str:
        return self.profile.cpu_method

    def start(self) -> None:
        with self._lock:
            self._cpu.start()
            self._ram.start()
            # CodeCarbon's RAM model in machine mode depends only on the installed memory: computed
            # once (its per-call psutil.virtual_memory() and DIMM estimate were a third of a 1 s
            # sidecar's CPU time), then energy = that power x time, with CodeCarbon's own units.
            self._ram_power = self._ram.total_power()
            self._last = time.perf_counter()

    def sample(self) -> None:
        """Add a CPU-load sample (cpu_load mode averages power over the samples of an interval)."""
        if self.profile.mode == "cpu_load":
            with self._lock:
                self._cpu.monitor_power()

    def read(self) -> CpuRamReading:
        """CPU and RAM energy since `start()` or the previous `read()`."""
        with self._lock:
            if self._last is None:
                raise RuntimeError("CpuRamMeter.read() before start()")
            now = time.perf_counter()
            duration, self._last = now - self._last, now
            _, cpu_energy = self._cpu.measure_power_and_energy(last_duration=duration)
            ram_energy = self._energy_type.from_power_and_time(power=self._ram_power,
                                                               time=self._time_type.from_seconds(duration))
        return CpuRamReading(
            cpu_j=max(0.0, kwh_to_j(cpu_energy.kWh)),
            ram_j=max(0.0, kwh_to_j(ram_energy.kWh)),
            window_s=duration,
            cpu_method=self.cpu_method,
        )

    def ram_power_w(self) -> float:
        return self._ram.total_power().W


def _main() -> int:
    """`python -m footprint.collectors.cpu`: detect, cache, print the profile as JSON."""
    profile = detect_profile()
    _save_quietly(profile)
    sys.stdout.write(json.dumps(asdict(profile)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
