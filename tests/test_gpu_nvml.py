"""NVML GPU energy with pynvml faked at the module boundary (real constants and NVMLError classes)."""

from __future__ import annotations

import math
import time

import pynvml
import pytest

from footprint.collectors.gpu import METHOD_COUNTER, METHOD_POWER, open_gpu_devices
from footprint.collectors.gpu import nvml as nvml_mod
from footprint.collectors.gpu.null import NullGpuDevices
from footprint.collectors.gpu.nvml import NvmlGpuDevices, parse_selection

from conftest import skip_if_nvidia_driver


def not_supported():
    raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)


class FakeGpu:
    """One device: `counter` and `power` are callables (or iterators) giving mJ and mW; None = unsupported."""

    def __init__(self, uuid, name="NVIDIA H100 80GB HBM3", counter=None, field=None, usage=None, arch=None):
        self.uuid, self.name = uuid, name
        self.counter, self.field, self.usage = counter, field, usage
        self.arch = arch  # an NVML_DEVICE_ARCH_* constant; None: NVML does not tell


def _next(source):
    return source() if callable(source) else next(source)


@pytest.fixture
def fake_nvml(monkeypatch):
    """Install fake devices: returns a function taking the FakeGpu list."""
    assert nvml_mod.pynvml is pynvml
    state = {"gpus": [], "inits": 0, "shutdowns": 0}

    def install(gpus, init_error=None):
        state["gpus"] = gpus

        def init():
            if init_error is not None:
                raise pynvml.NVMLError(init_error)
            state["inits"] += 1

        def field_values(handle, fields):
            assert fields == [pynvml.NVML_FI_DEV_POWER_INSTANT]
            gpu = state["gpus"][handle]
            values = (pynvml.c_nvmlFieldValue_t * 1)()
            if gpu.field is None:
                values[0].nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
            else:
                values[0].nvmlReturn = pynvml.NVML_SUCCESS
                values[0].valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
                values[0].value.uiVal = int(_next(gpu.field))
            return values

        def counter(handle):
            gpu = state["gpus"][handle]
            return not_supported() if gpu.counter is None else int(_next(gpu.counter))

        def usage(handle):
            gpu = state["gpus"][handle]
            return not_supported() if gpu.usage is None else int(_next(gpu.usage))

        def arch(handle):
            gpu = state["gpus"][handle]
            return not_supported() if gpu.arch is None else gpu.arch

        patches = {
            "nvmlInit": init,
            "nvmlDeviceGetArchitecture": arch,
            "nvmlShutdown": lambda: state.__setitem__("shutdowns", state["shutdowns"] + 1),
            "nvmlSystemGetDriverVersion": lambda: "570.86.15",
            "nvmlSystemGetNVMLVersion": lambda: "12.570.86.15",
            "nvmlDeviceGetCount": lambda: len(state["gpus"]),
            "nvmlDeviceGetHandleByIndex": lambda i: i,
            "nvmlDeviceGetUUID": lambda h: state["gpus"][h].uuid,
            "nvmlDeviceGetName": lambda h: state["gpus"][h].name,
            "nvmlDeviceGetTotalEnergyConsumption": counter,
            "nvmlDeviceGetFieldValues": field_values,
            "nvmlDeviceGetPowerUsage": usage,
        }
        for name, fn in patches.items():
            monkeypatch.setattr(pynvml, name, fn)
        return state

    return install


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_counter_deltas_in_joules(fake_nvml):
    fake_nvml([FakeGpu("GPU-aaaa", counter=iter([0, 1000, 6000, 16000]))])
    devices = NvmlGpuDevices(None, start_poller=False)
    devices.start()
    first, second = devices.read(), devices.read()
    assert (first.energy_j, second.energy_j) == (5.0, 10.0)
    assert first.method == METHOD_COUNTER and first.devices == "GPU-aaaa"
    devices.close()


def test_counter_decrease_is_a_new_baseline_never_negative(fake_nvml):
    fake_nvml([FakeGpu("GPU-aaaa", counter=iter([0, 5000, 9000, 2000, 3500]))])
    devices = NvmlGpuDevices(None, start_poller=False)
    devices.start()
    readings = [devices.read().energy_j for _ in range(3)]
    assert readings == [4.0, 0.0, 1.5]
    assert devices.counter_resets == 1


def test_only_the_instant_field_left_is_integrated_by_trapezoid(fake_nvml):
    clock = Clock()
    powers = iter([100_000, 100_000, 200_000, 300_000, 300_000])  # probe, start, 2 polls, read (mW)
    fake_nvml([FakeGpu("GPU-aaaa", field=powers)])
    devices = NvmlGpuDevices(None, clock=clock, start_poller=False)
    assert devices.sources == {"GPU-aaaa": "power-instant"}
    devices.start()
    for _ in range(2):
        clock.t += 0.1
        devices.poll_once()
    clock.t += 0.1
    reading = devices.read()
    # trapezoids: (100+200)/2*0.1 + (200+300)/2*0.1 + (300+300)/2*0.1
    assert reading.energy_j == pytest.approx(15 + 25 + 30)
    assert reading.method == METHOD_POWER
    assert reading.low_confidence  # 0.3 s window


def test_no_power_field_uses_power_usage(fake_nvml):
    fake_nvml([FakeGpu("GPU-aaaa", usage=lambda: 150_000)])
    devices = NvmlGpuDevices(None, start_poller=False)
    assert devices.sources == {"GPU-aaaa": "power-usage"}


@pytest.mark.parametrize("counter, usage, field, expected", [
    (True, True, True, "counter"),
    (False, True, True, "power-usage"),  # before the field: the field aliases (H200 evidence)
    (False, False, True, "power-instant"),
    (True, False, False, "counter"),
])
def test_fallback_order_is_counter_then_power_usage_then_instant_field(fake_nvml, counter, usage, field, expected):
    fake_nvml([FakeGpu("GPU-aaaa", arch=pynvml.NVML_DEVICE_ARCH_HOPPER, counter=(lambda: 0) if counter else None,
                       usage=(lambda: 100_000) if usage else None, field=(lambda: 100_000) if field else None)])
    devices = NvmlGpuDevices(None, start_poller=False)
    assert devices.sources == {"GPU-aaaa": expected}
    assert devices.describe()[0]["architecture"] == "Hopper"


@pytest.mark.parametrize("arch, name, averaged", [
    (pynvml.NVML_DEVICE_ARCH_HOPPER, "NVIDIA H200", True),
    (pynvml.NVML_DEVICE_ARCH_AMPERE, "NVIDIA A10", True),
    (pynvml.NVML_DEVICE_ARCH_AMPERE, "NVIDIA A100-SXM4-80GB", False),  # GA100: instantaneous
    (pynvml.NVML_DEVICE_ARCH_VOLTA, "Tesla V100-SXM2-32GB", False),
    (None, "NVIDIA H100", False),  # NVML does not tell: treated as instantaneous, polled fast
])
def test_power_usage_is_an_average_per_generation(fake_nvml, arch, name, averaged):
    fake_nvml([FakeGpu("GPU-aaaa", name=name, arch=arch, usage=lambda: 100_000)])
    devices = NvmlGpuDevices(None, start_poller=False, poll_interval_s=0.1)
    assert devices.describe()[0]["power_usage_averaged"] is averaged
    # a 1 s average is polled at a modest rate; an instantaneous reading at the fast one
    assert devices.poll_period_s == (nvml_mod.AVERAGED_POLL_S if averaged else 0.1)


def test_polling_thread_integrates_real_time(fake_nvml):
    fake_nvml([FakeGpu("GPU-aaaa", field=lambda: 100_000)])
    devices = open_gpu_devices(None, use_env=False, poll_interval_s=0.05)
    devices.start()
    time.sleep(0.6)
    reading = devices.read()
    devices.close()
    assert reading.energy_j == pytest.approx(100.0 * reading.window_s, rel=0.02)
    assert not reading.low_confidence or reading.window_s < 1


def test_mixed_devices_report_the_weaker_method(fake_nvml):
    fake_nvml([FakeGpu("GPU-aaaa", counter=iter(range(0, 10**9, 1000))), FakeGpu("GPU-bbbb", field=lambda: 50_000)])
    devices = NvmlGpuDevices(None, start_poller=False)
    devices.start()
    reading = devices.read()
    assert reading.method == METHOD_POWER and reading.devices == "GPU-aaaa,GPU-bbbb"


@pytest.mark.parametrize("error", [pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, pynvml.NVML_ERROR_DRIVER_NOT_LOADED])
def test_no_library_or_driver_is_one_notice_and_no_gpu(fake_nvml, error):
    fake_nvml([], init_error=error)
    devices = open_gpu_devices(None, use_env=False)
    assert isinstance(devices, NullGpuDevices)
    assert "NVML" in devices.notice and "not measured" in devices.notice
    devices.start()
    reading = devices.read()
    assert reading.energy_j is None and reading.method is None and reading.devices is None


def test_real_library_absent_here_gives_null_devices():
    skip_if_nvidia_driver()
    assert isinstance(open_gpu_devices(None, use_env=False), NullGpuDevices)


GPUS = [(0, "GPU-aaaa1111"), (1, "GPU-bbbb2222"), (2, "GPU-cccc3333")]


@pytest.mark.parametrize(
    "selection, expected",
    [
        (None, [0, 1, 2]),
        ("1", [1]),
        ("2,0", [2, 0]),
        ("GPU-bbbb2222", [1]),
        ("GPU-cccc", [2]),  # a unique prefix, as CUDA accepts
        ("0, GPU-cccc3333", [0, 2]),
        ("", []),
        ("1,7,0", [1]),  # CUDA stops at the first invalid entry
        ("MIG-1234,1", [1]),
        ("1,1", [1]),
    ],
)
def test_selection_by_index_and_uuid(selection, expected):
    assert parse_selection(selection, GPUS)[0] == expected


def test_cuda_visible_devices_selects_by_index_and_uuid(fake_nvml, monkeypatch):
    fake_nvml([FakeGpu(u, counter=lambda: 0) for _, u in GPUS])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-aaaa1111")
    assert open_gpu_devices().uuids == ("GPU-cccc3333", "GPU-aaaa1111")
    assert open_gpu_devices("1").uuids == ("GPU-bbbb2222",)  # --gpus wins over the environment
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "9")
    devices = open_gpu_devices()
    assert devices.uuids == () and "does not exist" in devices.notice
    assert devices.read().energy_j is None


def test_counter_and_integrated_power_agree_on_a_known_trace(fake_nvml):
    """A device driven by a known power trace: its energy counter (the exact integral) and the
    50 ms trapezoid of its instant power must agree within 0.5%."""
    clock = Clock()

    def power_w(t):  # idle, ramp-up, oscillating load, a step, back down
        base = 90 + 560 * min(max((t - 5) / 10, 0), 1) - 300 * (t > 47.3) - 150 * (t > 52.05)
        return base + 40 * math.sin(2 * math.pi * t / 3.7) * (t > 15)

    # counter: the exact integral, by fine summation (1 ms)
    fine = [0.0]
    for k in range(60_001):
        t = k / 1000
        fine.append(fine[-1] + (power_w(t) + power_w(t + 0.001)) / 2 * 0.001)

    def counter_mj():
        return int(fine[round(clock.t * 1000)] * 1000)

    fake_nvml([FakeGpu("GPU-ctr", counter=counter_mj), FakeGpu("GPU-pwr", field=lambda: power_w(clock.t) * 1000)])
    counter = NvmlGpuDevices("GPU-ctr", clock=clock, start_poller=False)
    power = NvmlGpuDevices("GPU-pwr", clock=clock, start_poller=False)
    counter.start()
    power.start()
    total_counter = total_power = 0.0
    for step in range(1, 1201):  # 60 s at 50 ms, read every 10 s
        clock.t = step * 0.05
        power.poll_once()
        if step % 200 == 0:
            total_counter += counter.read().energy_j
            total_power += power.read().energy_j
    assert total_counter == pytest.approx(fine[round(clock.t * 1000)], rel=1e-4)
    assert abs(total_power - total_counter) / total_counter < 0.005


def _periodic_trace(seconds: int):
    """b20_100 of the H200 notes: 20 ms at 730 W every 100 ms, 150 W between. Returns (power_w(t),
    energy_j(t)) on a 1 ms grid: the exact integral is what the counter reports."""
    def power_at_ms(ms: int) -> float:
        return 730.0 if ms % 100 < 20 else 150.0

    fine = [0.0]
    for ms in range(seconds * 1000 + 1):
        fine.append(fine[-1] + power_at_ms(ms) / 1000)
    return (lambda t: power_at_ms(round(t * 1000))), (lambda t: fine[round(t * 1000)])


def test_aliasing_periodic_load_keeps_power_usage_and_the_cross_check_agrees(fake_nvml):
    """The H200 aliasing case as a fake trace: the instant field, polled in step with a periodic load,
    always sees the same phase (here the burst: 2.7x the truth); power usage, a 1 s average, does not.
    Without a counter footprint takes power usage; with one, the cross-check agrees."""
    clock = Clock()
    seconds = 12
    power_w, energy_j = _periodic_trace(seconds)

    def usage_mw():  # NVML's 1 s trailing average
        t = clock.t
        if t <= 0:
            return 150_000
        span = min(1.0, t)
        return (energy_j(t) - energy_j(t - span)) / span * 1000

    hopper = pynvml.NVML_DEVICE_ARCH_HOPPER
    fake_nvml([
        FakeGpu("GPU-usage", name="NVIDIA H200", arch=hopper, usage=usage_mw, field=lambda: power_w(clock.t) * 1000),
        FakeGpu("GPU-field", name="NVIDIA H200", arch=hopper, field=lambda: power_w(clock.t) * 1000),
        FakeGpu("GPU-ctr", name="NVIDIA H200", arch=hopper, counter=lambda: energy_j(clock.t) * 1000, usage=usage_mw),
    ])
    by_usage = NvmlGpuDevices("GPU-usage", clock=clock, start_poller=False)
    by_field = NvmlGpuDevices("GPU-field", clock=clock, start_poller=False)
    by_counter = NvmlGpuDevices("GPU-ctr", clock=clock, start_poller=False)
    assert by_usage.sources == {"GPU-usage": "power-usage"} and by_usage.poll_period_s == nvml_mod.AVERAGED_POLL_S
    assert by_counter.describe()[0]["crosscheck"] is True
    for devices in (by_usage, by_field, by_counter):
        devices.start()
    for step in range(1, seconds * 10 + 1):  # 100 ms steps
        clock.t = step / 10
        by_field.poll_once()  # the fast poll the field needs
        if step % 5 == 0:
            by_usage.poll_once()  # AVERAGED_POLL_S
        if step % 10 == 0 and step < seconds * 10:
            by_counter.sample()  # the collector's once-a-second sample
    truth = energy_j(seconds)
    usage, field, counter = by_usage.read(), by_field.read(), by_counter.read()
    assert truth == pytest.approx(seconds * (0.2 * 730 + 0.8 * 150))
    assert usage.energy_j == pytest.approx(truth, rel=0.03)
    assert field.energy_j / truth > 1.3  # the aliasing the order guards against
    assert counter.energy_j == pytest.approx(truth, rel=1e-6)
    assert counter.crosscheck_ratio == pytest.approx(1.0, abs=0.03) and counter.crosscheck_disagrees is False


def test_cross_check_says_when_counter_and_power_usage_disagree(fake_nvml):
    clock = Clock()
    # a counter that reports twice what power usage says (100 W)
    fake_nvml([FakeGpu("GPU-aaaa", name="NVIDIA H200", arch=pynvml.NVML_DEVICE_ARCH_HOPPER,
                       counter=lambda: 200 * clock.t * 1000, usage=lambda: 100_000)])
    devices = NvmlGpuDevices(None, clock=clock, start_poller=False)
    devices.start()
    for _ in range(5):
        clock.t += 1.0
        devices.sample()
    reading = devices.read()
    assert reading.energy_j == pytest.approx(1000.0)  # the counter is what is recorded, never replaced
    assert reading.crosscheck_ratio == pytest.approx(2.0) and reading.crosscheck_disagrees is True
    clock.t += 0.5  # a window shorter than the 1 s average: a ratio, but no verdict
    short = devices.read()
    assert short.crosscheck_ratio == pytest.approx(2.0) and short.crosscheck_disagrees is None


@pytest.mark.parametrize("name, arch", [("NVIDIA A100-SXM4-80GB", pynvml.NVML_DEVICE_ARCH_AMPERE), ("NVIDIA H100", None)])
def test_no_cross_check_where_power_usage_is_instantaneous_or_unknown(fake_nvml, name, arch):
    fake_nvml([FakeGpu("GPU-aaaa", name=name, arch=arch, counter=iter(range(0, 10**9, 1000)), usage=lambda: 100_000)])
    devices = NvmlGpuDevices(None, start_poller=False)
    devices.start()
    devices.sample()
    reading = devices.read()
    assert reading.energy_j == 1.0 and reading.crosscheck_ratio is None and reading.crosscheck_disagrees is None
