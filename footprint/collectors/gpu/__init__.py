"""GPU energy behind one small interface: NVML where a driver answers, an empty stand-in elsewhere."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

# Method strings (the measurements vocabulary).
METHOD_COUNTER = "measured:nvml-counter"
METHOD_POWER = "measured:nvml-power"

# NVML's energy counter updates about every 100 ms; a shorter window says little.
LOW_CONFIDENCE_WINDOW_S = 1.0

# Cross-check (issue 16): the counter and integrated power usage disagree beyond this relative gap.
CROSSCHECK_TOLERANCE = 0.10
# Power usage is a 1 s average: over a shorter window the two figures cover different times.
CROSSCHECK_MIN_WINDOW_S = 1.0


def crosscheck_disagrees(ratio: float | None, window_s: float) -> bool | None:
    """Do counter and power usage disagree by more than 10%? None: nothing to compare."""
    if ratio is None or window_s < CROSSCHECK_MIN_WINDOW_S:
        return None
    return abs(ratio - 1.0) > CROSSCHECK_TOLERANCE


@dataclass(frozen=True)
class GpuReading:
    """GPU energy of the selected devices since the previous read (None: no GPU measured)."""

    energy_j: float | None
    method: str | None
    devices: str | None  # comma-separated UUIDs
    window_s: float
    crosscheck_ratio: float | None = None  # counter J / integrated power-usage J; None: not cross-checked

    @property
    def low_confidence(self) -> bool:
        return self.energy_j is not None and self.window_s < LOW_CONFIDENCE_WINDOW_S

    @property
    def crosscheck_disagrees(self) -> bool | None:
        return crosscheck_disagrees(self.crosscheck_ratio, self.window_s)


class GpuDevices(ABC):
    """The GPUs a collector measures. `start()`, then `read()` once per interval, then `close()`."""

    #: one line to show the user once (e.g. no driver), or None
    notice: str | None = None

    @property
    @abstractmethod
    def uuids(self) -> tuple[str, ...]:
        """UUIDs of the measured devices, in selection order."""

    @abstractmethod
    def start(self) -> None:
        """Take the baseline; energy is counted from here."""

    @abstractmethod
    def read(self) -> GpuReading:
        """Energy since `start()` or the previous `read()`."""

    def sample(self) -> None:
        """An intermediate sample for the cross-check (about once a second); nothing by default."""

    @abstractmethod
    def close(self) -> None:
        """Stop any background polling and release the library."""

    def describe(self) -> list[dict]:
        """One dict per device (for `doctor`)."""
        return []

    def __enter__(self) -> "GpuDevices":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_gpu_devices(selection: str | None = None, *, use_env: bool = True, poll_interval_s: float = 0.1) -> GpuDevices:
    """The GPUs to measure: `selection` (`--gpus`), else $CUDA_VISIBLE_DEVICES, else every GPU.

    Never raises for a missing library or driver: it returns an empty stand-in with a `notice`.
    """
    from footprint.collectors.gpu.null import NullGpuDevices

    if selection is None and use_env:
        selection = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        import pynvml
    except ImportError:
        return NullGpuDevices("NVML: nvidia-ml-py is not installed; GPU energy is not measured")
    from footprint.collectors.gpu.nvml import NvmlGpuDevices

    try:
        return NvmlGpuDevices(selection, poll_interval_s=poll_interval_s)
    except (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded):
        return NullGpuDevices("NVML: no NVIDIA driver found (libnvidia-ml); GPU energy is not measured")
    except pynvml.NVMLError as exc:
        return NullGpuDevices(f"NVML: {exc}; GPU energy is not measured")
