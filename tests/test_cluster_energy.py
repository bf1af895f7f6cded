"""Per-step energy and tokens from step samples: counter resets, gaps, power integration, edge fill."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from footprint.cluster.energy import (
    METHOD_DCGM_COUNTER,
    METHOD_DCGM_POWER,
    EnergyUnit,
    counter_increments,
    energy_units,
    fill_leading_steps,
    int_split,
    power_increments,
)
from footprint.cluster.prometheus import Series


def test_counter_increase_per_step_keyed_by_step_start():
    assert counter_increments([(10, 100.0), (15, 130.0), (20, 180.0)], 5) == {2: (30.0, False), 3: (50.0, False)}


def test_counter_reset_counts_the_new_value_from_zero():
    assert counter_increments([(0, 9000.0), (1, 9100.0), (2, 40.0), (3, 90.0)], 1) == {
        0: (100.0, False), 1: (40.0, False), 2: (50.0, False)}


def test_gap_spreads_the_counter_increase_over_the_missing_steps_low_confidence():
    assert counter_increments([(0, 0.0), (1, 10.0), (4, 40.0)], 1) == {
        0: (10.0, False), 1: (10.0, True), 2: (10.0, True), 3: (10.0, True)}


def test_power_trapezoid_and_gaps_left_out():
    assert power_increments([(0, 100.0), (2, 200.0), (4, 200.0), (8, 300.0)], 2) == {
        0: (300.0, False), 1: (400.0, False)}


@settings(deadline=None, max_examples=60)
@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=50))
def test_int_split_keeps_the_rounded_total(values):
    split = int_split(dict(enumerate(values)))
    assert sum(split.values()) == round(sum(values))


def _series(name, samples, **labels):
    return Series(tuple(sorted({"__name__": name, **labels}.items())), tuple(samples))


def test_dcgm_power_is_used_only_where_the_counter_is_absent():
    gpu0 = {"gpu": "0", "UUID": "GPU-a", "Hostname": "n"}
    gpu1 = {"gpu": "1", "UUID": "GPU-b", "Hostname": "n"}
    series = [
        _series("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", [(0, 1e6), (1, 1e6 + 300_000)], **gpu0),
        _series("DCGM_FI_DEV_POWER_USAGE", [(0, 300.0), (1, 300.0)], **gpu0),
        _series("DCGM_FI_DEV_POWER_USAGE", [(0, 100.0), (1, 120.0)], **gpu1),
    ]
    units = {u.labels["UUID"]: u for u in energy_units(series, 1)}
    assert units["GPU-a"].method == METHOD_DCGM_COUNTER and units["GPU-a"].steps == {0: (300.0, False)}
    assert units["GPU-b"].method == METHOD_DCGM_POWER and units["GPU-b"].steps == {0: (110.0, False)}


def test_a_counter_reset_step_is_taken_from_the_power_gauge_where_there_is_one():
    gpu = {"gpu": "0", "UUID": "GPU-a", "Hostname": "n"}
    series = [
        _series("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", [(0, 9e6), (1, 9e6 + 300_000), (2, 120_000), (3, 420_000)], **gpu),
        _series("DCGM_FI_DEV_POWER_USAGE", [(0, 300.0), (1, 300.0), (2, 300.0), (3, 300.0)], **gpu),
    ]
    (unit,) = energy_units(series, 1)
    assert unit.steps == {0: (300.0, False), 1: (300.0, True), 2: (300.0, False)}
    (alone,) = energy_units(series[:1], 1)
    assert alone.steps[1] == (120.0, False)  # no gauge: what the counter saw since the reset


def test_leading_hole_filled_at_first_rate_when_the_device_was_running():
    running = EnergyUnit({"UUID": "a"}, METHOD_DCGM_COUNTER, {12: (300.0, False), 13: (310.0, False)}, counted_j=5e3)
    fresh = EnergyUnit({"UUID": "b"}, METHOD_DCGM_COUNTER, {12: (300.0, False)}, counted_j=100.0)
    power = EnergyUnit({"UUID": "c"}, METHOD_DCGM_POWER, {11: (50.0, False)})
    fill_leading_steps([running, fresh, power], ["n/a", "n/b", "n/c"], 10, 1)
    assert running.steps == {10: (300.0, True), 11: (300.0, True), 12: (300.0, False), 13: (310.0, False)}
    assert fresh.steps == {12: (300.0, False)}  # its counter started inside the hole: nothing before
    assert power.steps == {10: (50.0, True), 11: (50.0, False)}


def test_leading_fill_never_covers_steps_another_series_of_the_device_has():
    old_pod = EnergyUnit({"UUID": "a", "pod": "p1"}, METHOD_DCGM_COUNTER, {10: (5.0, False), 11: (5.0, False)}, 1e9)
    new_pod = EnergyUnit({"UUID": "a", "pod": "p2"}, METHOD_DCGM_COUNTER, {13: (7.0, False)}, 1e9)
    fill_leading_steps([old_pod, new_pod], ["n/a", "n/a"], 10, 1)
    assert new_pod.steps == {12: (7.0, True), 13: (7.0, False)}


def test_leading_fill_is_bounded_by_the_lookback():
    unit = EnergyUnit({"UUID": "a"}, METHOD_DCGM_COUNTER, {1000: (1.0, False)}, counted_j=1e9)
    fill_leading_steps([unit], ["n/a"], 0, 1)
    assert min(unit.steps) == 1000 - 300 and len(unit.steps) == 301
