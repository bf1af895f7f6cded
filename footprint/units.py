"""Unit conversions: the one place where energy units change. Names carry units."""

J_PER_WH = 3600.0
J_PER_KWH = 3_600_000.0
MJ_PER_J = 1000.0  # millijoules per joule (NVML counters are in mJ)


def kwh_to_j(energy_kwh: float) -> float:
    return energy_kwh * J_PER_KWH


def j_to_kwh(energy_j: float) -> float:
    return energy_j / J_PER_KWH


def j_to_wh(energy_j: float) -> float:
    return energy_j / J_PER_WH


def wh_to_j(energy_wh: float) -> float:
    return energy_wh * J_PER_WH


def mj_to_j(energy_mj: float) -> float:
    return energy_mj / MJ_PER_J


def mw_to_w(power_mw: float) -> float:
    return power_mw / 1000.0


def wh_to_kwh(energy_wh: float) -> float:
    return energy_wh / 1000.0


def l_to_ml(volume_l: float) -> float:
    return volume_l * 1000.0


def kg_to_g(mass_kg: float) -> float:
    return mass_kg * 1000.0


def s_to_h(duration_s: float) -> float:
    return duration_s / 3600.0


def to_unix(value) -> float:
    """Naive UTC datetime (the store's convention) to unix seconds."""
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc).timestamp() if value.tzinfo is None else value.timestamp()
