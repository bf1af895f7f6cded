"""No GPU to measure: records say so with gpu_j = None (not measured), never 0."""

from __future__ import annotations

import time

from footprint.collectors.gpu import GpuDevices, GpuReading


class NullGpuDevices(GpuDevices):
    def __init__(self, notice: str | None = None):
        self.notice = notice
        self._last = time.monotonic()

    @property
    def uuids(self) -> tuple[str, ...]:
        return ()

    def start(self) -> None:
        self._last = time.monotonic()

    def read(self) -> GpuReading:
        now = time.monotonic()
        window, self._last = now - self._last, now
        return GpuReading(None, None, None, window)

    def close(self) -> None:
        pass
