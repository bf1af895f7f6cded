"""CSV rendering: one row per use case, for spreadsheets. Cells that a spreadsheet would read as
a formula (starting with = + - @, tab or carriage return) are prefixed with a quote (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

COLUMNS = [
    "slug", "name", "team", "status", "deployment", "model", "energy_kwh", "energy_kwh_low", "energy_kwh_high",
    "gco2e", "gco2e_low", "gco2e_high", "gco2e_market", "water_l", "embodied_gco2e", "measured_share",
    "benefit_value", "benefit_unit", "benefit_evidence", "gco2e_per_benefit_unit", "trend_gco2e_pct", "period",
]
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def render_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for u in report["use_cases"]:
        b = u["benefit"] or {}
        per = u["gco2e_per_benefit_unit"]
        writer.writerow([_cell(v) for v in (
            u["slug"], u["name"], u["team"], u["status"], u["deployment"], u["model"],
            u["energy_kwh"]["value"], u["energy_kwh"]["low"], u["energy_kwh"]["high"],
            u["gco2e"]["value"], u["gco2e"]["low"], u["gco2e"]["high"], u["gco2e_market"]["value"],
            u["water_l"]["value"], u["embodied_gco2e"]["value"], u["measured_share"],
            b.get("value"), b.get("unit"), b.get("evidence"), per["value"] if per else None,
            u["trend_gco2e_pct"], report["period"]["label"],
        )])
    return buf.getvalue()
