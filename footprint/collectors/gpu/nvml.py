"""GPU energy through NVML (package nvidia-ml-py, module pynvml).

Per device, the best source NVML offers, in this order (issue 16, from evidence):
1. `nvmlDeviceGetTotalEnergyConsumption` (mJ since the driver loaded; Volta and newer), read as
   deltas inside this NVML session. A value lower than the previous one means the driver was
   reloaded: it becomes the new baseline and that step counts nothing (never a negative energy).
2. Otherwise `nvmlDeviceGetPowerUsage`, polled on a background thread and integrated by trapezoid.
3. Otherwise the `NVML_FI_DEV_POWER_INSTANT` field, polled every `poll_interval_s` the same way.
A reading over several devices with different sources says `measured:nvml-power`, the weaker one.

Evidence for the order, per GPU generation as `nvmlDeviceGetArchitecture` tells it
(`../shared/notes/nvml-h200-2026-12.md`, one H200, driver 580, 2026-12-04):
- Hopper (measured): the counter matched the duty-cycle arithmetic and `footprint run` recorded
  0.994 of the raw counter around it. Under periodic loads with 50–200 ms periods the instant field
  aliased by −35 % to +40 % against the counter, with the sign flipping between two runs of the same
  load, at a 5 ms poll as at 100 ms (the sensor samples part of each window: Yang et al., SC'24,
  "only 25 % of the runtime is sampled" on A100/H100). Power usage, a 1 s average, integrated at
  100 ms stayed within 3 % of the counter in every phase. Hence power usage before the field.
- Ampere (except GA100: A100, A30), Ada, Blackwell, Rubin: NVML documents power usage as "averaged
  over 1 sec" from Ampere on, as on Hopper: same order, and power usage is polled at a modest rate
  (`AVERAGED_POLL_S`; a 1 s average has nothing faster to show).
- GA100 and older (Volta, Turing; Pascal and older have no counter): NVML documents power usage as
  instantaneous there, the same kind of reading as the field, so the order changes nothing; both
  are polled every `poll_interval_s` and can alias under periodic loads.
- Unknown architecture (NVML does not say): treated like the older generations (fast poll).

Cross-check: on a device measured by the counter whose power usage is a 1 s average, power usage
is also sampled at each CPU-load sample and each read (about once a second: a 1 s average sampled
once a second integrates to the same energy, lagged by half a second) and integrated. Each reading
carries `crosscheck_ratio` = counter energy / power-usage energy over the same window. Where power
usage is instantaneous (GA100 and older) no cross-check is made: an instantaneous sample aliases
(the H200 table) and would raise false alarms.

Device selection follows CUDA_VISIBLE_DEVICES semantics: a comma-separated list of NVML indices
and/or `GPU-…` UUIDs (a unique prefix is enough); like CUDA, the list ends at the first entry that
matches no device; an empty string selects none. Indices are NVML's (PCI bus order), which is
CUDA's order when CUDA_DEVICE_ORDER=PCI_BUS_ID. `MIG-…` entries are skipped: NVML has no energy
counter per MIG instance. Records name devices by UUID. Static facts (name, UUID, architecture,
sources) are read once at start, never per interval.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pynvml

from footprint.collectors.gpu import METHOD_COUNTER, METHOD_POWER, GpuDevices, GpuReading
from footprint.units import mj_to_j, mw_to_w

SOURCE_COUNTER = "counter"
SOURCE_USAGE = "power-usage"
SOURCE_FIELD = "power-instant"

# Poll period of a power usage that is already a 1 s average (s): faster shows nothing more.
AVERAGED_POLL_S = 0.5

_ARCH_NAMES = {
    pynvml.NVML_DEVICE_ARCH_KEPLER: "Kepler", pynvml.NVML_DEVICE_ARCH_MAXWELL: "Maxwell",
    pynvml.NVML_DEVICE_ARCH_PASCAL: "Pascal", pynvml.NVML_DEVICE_ARCH_VOLTA: "Volta",
    pynvml.NVML_DEVICE_ARCH_TURING: "Turing", pynvml.NVML_DEVICE_ARCH_AMPERE: "Ampere",
    pynvml.NVML_DEVICE_ARCH_ADA: "Ada", pynvml.NVML_DEVICE_ARCH_HOPPER: "Hopper",
    pynvml.NVML_DEVICE_ARCH_BLACKWELL: "Blackwell", pynvml.NVML_DEVICE_ARCH_RUBIN: "Rubin",
}
# Generations whose nvmlDeviceGetPowerUsage is a 1 s average (NVML docs; measured on Hopper).
_AVERAGED_USAGE_ARCHS = {"Ampere", "Ada", "Hopper", "Blackwell", "Rubin"}
_GA100_NAMES = ("A100", "A30")  # Ampere GA100: power usage is instantaneous there


def architecture(handle) -> str | None:
    """The GPU generation as NVML names it, or None where NVML does not tell."""
    try:
        return _ARCH_NAMES.get(int(pynvml.nvmlDeviceGetArchitecture(handle)))
    except (pynvml.NVMLError, AttributeError, TypeError, ValueError):
        return None


def usage_is_averaged(arch: str | None, name: str) -> bool:
    """Is nvmlDeviceGetPowerUsage a 1 s average on this GPU (else an instantaneous reading)?"""
    return arch in _AVERAGED_USAGE_ARCHS and not (arch == "Ampere" and any(n in name for n in _GA100_NAMES))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_selection(selection: str | None, devices: list[tuple[int, str]]) -> tuple[list[int], list[str]]:
    """NVML indices chosen by a CUDA_VISIBLE_DEVICES-style list, and notes on skipped entries.

    `devices` is [(index, uuid)] of every GPU NVML sees.
    """
    if selection is None:
        return [i for i, _ in devices], []
    chosen: list[int] = []
    notes: list[str] = []
    for raw in selection.split(","):
        token = raw.strip()
        if not token:
            break
        if token.isdigit():
            index = int(token)
            if not any(i == index for i, _ in devices):
                notes.append(f"GPU index {index} does not exist; entries from it on are ignored")
                break
        elif token.startswith("MIG-"):
            notes.append(f"{token}: NVML has no energy counter per MIG instance; skipped")
            continue
        else:
            matches = [i for i, uuid in devices if uuid.startswith(token if token.startswith("GPU-") else "GPU-" + token)]
            if len(matches) != 1:
                notes.append(f"{token!r} matches {'no' if not matches else 'several'} GPU UUID; entries from it on are ignored")
                break
            index = matches[0]
        if index not in chosen:
            chosen.append(index)
    return chosen, notes


@dataclass
class _Device:
    handle: object
    index: int
    uuid: str
    name: str
    source: str
    last_mj: int | None = None  # counter baseline
    last_t: float | None = None  # power polling: previous sample
    last_w: float | None = None
    pending_j: float = 0.0  # integrated power not yet read
    resets: int = 0  # counter decreases seen (driver reloads)
    arch: str | None = None
    usage_averaged: bool = False
    crosscheck: bool = False  # counter device whose power usage is integrated beside it
    cross_t: float | None = None
    cross_w: float | None = None
    cross_j: float = 0.0


class NvmlGpuDevices(GpuDevices):
    def __init__(self, selection: str | None = None, *, poll_interval_s: float = 0.1, clock=time.monotonic,
                 start_poller: bool = True, crosscheck: bool = True):
        if not 0.01 <= poll_interval_s <= 1.0:
            raise ValueError("poll_interval_s must be between 0.01 and 1 s")
        self._clock = clock
        self._poll_interval_s = poll_interval_s
        self._start_poller = start_poller
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_read = clock()
        self._closed = False
        pynvml.nvmlInit()
        try:
            self.driver_version = _text(pynvml.nvmlSystemGetDriverVersion())
            seen = []
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                seen.append((index, _text(pynvml.nvmlDeviceGetUUID(handle)), handle))
            chosen, notes = parse_selection(selection, [(i, u) for i, u, _ in seen])
            self.notice = "; ".join(notes) or None
            self._devices: list[_Device] = []
            for index in chosen:
                _, uuid, handle = seen[index]
                name = _text(pynvml.nvmlDeviceGetName(handle))
                source = self._probe(handle)
                if source is None:
                    note = f"GPU {uuid} reports neither energy nor power; not measured"
                    self.notice = f"{self.notice}; {note}" if self.notice else note
                    continue
                arch = architecture(handle)
                averaged = usage_is_averaged(arch, name)
                cross = crosscheck and source == SOURCE_COUNTER and averaged and _has_usage(handle)
                self._devices.append(_Device(handle, index, uuid, name, source, arch=arch, usage_averaged=averaged,
                                             crosscheck=cross))
            # One poller for the power-polled devices: fast unless every one reports a 1 s average.
            polled = [d for d in self._devices if d.source != SOURCE_COUNTER]
            self.poll_period_s = (max(poll_interval_s, AVERAGED_POLL_S)
                                  if polled and all(d.source == SOURCE_USAGE and d.usage_averaged for d in polled)
                                  else poll_interval_s)
        except BaseException:
            pynvml.nvmlShutdown()
            raise

    # --- probing and sampling -----------------------------------------------------------------

    @staticmethod
    def _probe(handle) -> str | None:
        try:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            return SOURCE_COUNTER
        except pynvml.NVMLError:
            pass
        if _has_usage(handle):
            return SOURCE_USAGE
        try:
            if _field_power_mw(handle) is not None:
                return SOURCE_FIELD
        except pynvml.NVMLError:
            pass
        return None

    @staticmethod
    def _power_w(device: _Device) -> float:
        if device.source == SOURCE_FIELD:
            value = _field_power_mw(device.handle)
            if value is not None:
                return mw_to_w(value)
        return mw_to_w(pynvml.nvmlDeviceGetPowerUsage(device.handle))

    def _sample_locked(self, device: _Device, now: float) -> None:
        try:
            watts = self._power_w(device)
        except pynvml.NVMLError:
            return  # a missed sample: the next one integrates over the longer gap
        if device.last_t is not None and now > device.last_t:
            device.pending_j += (device.last_w + watts) / 2.0 * (now - device.last_t)
        device.last_t, device.last_w = now, watts

    @staticmethod
    def _cross_sample_locked(device: _Device, now: float) -> None:
        try:
            watts = mw_to_w(pynvml.nvmlDeviceGetPowerUsage(device.handle))
        except pynvml.NVMLError:
            return
        if device.cross_t is not None and now > device.cross_t:
            device.cross_j += (device.cross_w + watts) / 2.0 * (now - device.cross_t)
        device.cross_t, device.cross_w = now, watts

    def poll_once(self) -> None:
        """Sample every power-polled device once (the background thread calls this)."""
        with self._lock:
            now = self._clock()
            for device in self._devices:
                if device.source != SOURCE_COUNTER:
                    self._sample_locked(device, now)

    def sample(self) -> None:
        """Cross-check sample of power usage on counter devices (the collector calls it ~once a second)."""
        with self._lock:
            now = self._clock()
            for device in self._devices:
                if device.crosscheck:
                    self._cross_sample_locked(device, now)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_period_s):
            self.poll_once()

    # --- GpuDevices ---------------------------------------------------------------------------

    @property
    def uuids(self) -> tuple[str, ...]:
        return tuple(d.uuid for d in self._devices)

    @property
    def sources(self) -> dict[str, str]:
        return {d.uuid: d.source for d in self._devices}

    @property
    def counter_resets(self) -> int:
        return sum(d.resets for d in self._devices)

    def start(self) -> None:
        with self._lock:
            now = self._clock()
            self._last_read = now
            for device in self._devices:
                if device.source == SOURCE_COUNTER:
                    try:
                        device.last_mj = pynvml.nvmlDeviceGetTotalEnergyConsumption(device.handle)
                    except pynvml.NVMLError:
                        device.last_mj = None
                    if device.crosscheck:
                        device.cross_j, device.cross_t = 0.0, None
                        self._cross_sample_locked(device, now)
                else:
                    device.pending_j = 0.0
                    device.last_t = None
                    self._sample_locked(device, now)
        if self._start_poller and self._thread is None and any(d.source != SOURCE_COUNTER for d in self._devices):
            self._thread = threading.Thread(target=self._poll_loop, name="footprint-nvml-poll", daemon=True)
            self._thread.start()

    def read(self) -> GpuReading:
        with self._lock:
            now = self._clock()
            window, self._last_read = now - self._last_read, now
            if not self._devices:
                return GpuReading(None, None, None, window)
            total_j = 0.0
            checked_counter_j = checked_usage_j = 0.0
            checked = False
            for device in self._devices:
                if device.source == SOURCE_COUNTER:
                    delta_j = self._counter_delta_j(device)
                    total_j += delta_j
                    if device.crosscheck:
                        self._cross_sample_locked(device, now)
                        checked = True
                        checked_counter_j += delta_j
                        checked_usage_j += device.cross_j
                        device.cross_j = 0.0
                else:
                    self._sample_locked(device, now)
                    total_j += device.pending_j
                    device.pending_j = 0.0
            method = METHOD_COUNTER if all(d.source == SOURCE_COUNTER for d in self._devices) else METHOD_POWER
            ratio = checked_counter_j / checked_usage_j if checked and checked_usage_j > 0 else None
            return GpuReading(total_j, method, ",".join(self.uuids), window, crosscheck_ratio=ratio)

    @staticmethod
    def _counter_delta_j(device: _Device) -> float:
        try:
            value = pynvml.nvmlDeviceGetTotalEnergyConsumption(device.handle)
        except pynvml.NVMLError:
            return 0.0
        previous, device.last_mj = device.last_mj, value
        if previous is None:
            return 0.0
        if value < previous:  # driver reload: a new baseline, nothing negative
            device.resets += 1
            return 0.0
        return mj_to_j(value - previous)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass

    def device_facts(self) -> list[dict]:
        """`describe()` plus each device's NVML handle (for `doctor --gpu-check`)."""
        return [dict(facts, handle=d.handle) for facts, d in zip(self.describe(), self._devices)]

    def describe(self) -> list[dict]:
        return [
            {"index": d.index, "name": d.name, "uuid": d.uuid, "energy_counter": d.source == SOURCE_COUNTER,
             "source": d.source, "architecture": d.arch, "power_usage_averaged": d.usage_averaged,
             "crosscheck": d.crosscheck}
            for d in self._devices
        ]


def sources_offered(handle) -> dict:
    """Each source this device answers, as a reader: the counter in J, power usage and the field in W
    (a reader returns None when a read fails)."""
    def counter_j():
        try:
            return mj_to_j(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
        except pynvml.NVMLError:
            return None

    def usage_w():
        try:
            return mw_to_w(pynvml.nvmlDeviceGetPowerUsage(handle))
        except pynvml.NVMLError:
            return None

    def field_w():
        try:
            value = _field_power_mw(handle)
        except pynvml.NVMLError:
            return None
        return None if value is None else mw_to_w(value)

    readers = {}
    for name, reader in ((SOURCE_COUNTER, counter_j), (SOURCE_USAGE, usage_w), (SOURCE_FIELD, field_w)):
        if reader() is not None:
            readers[name] = reader
    return readers


def _has_usage(handle) -> bool:
    try:
        pynvml.nvmlDeviceGetPowerUsage(handle)
        return True
    except pynvml.NVMLError:
        return False


def _field_power_mw(handle) -> float | None:
    """NVML_FI_DEV_POWER_INSTANT in mW, or None where the driver does not report it."""
    values = pynvml.nvmlDeviceGetFieldValues(handle, [pynvml.NVML_FI_DEV_POWER_INSTANT])
    value = values[0]
    if value.nvmlReturn != pynvml.NVML_SUCCESS:
        return None
    kind = value.valueType
    if kind == pynvml.NVML_VALUE_TYPE_DOUBLE:
        return float(value.value.dVal)
    if kind == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG:
        return float(value.value.ulVal)
    if kind == pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return float(value.value.ullVal)
    if kind == pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return float(value.value.sllVal)
    return float(value.value.uiVal)
