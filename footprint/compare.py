"""Side-by-side comparison of use cases for green-IT teams (same engine as the report)."""

from __future__ import annotations

from footprint import register
from footprint.accounting import account
from footprint.errors import ValidationError
from footprint.periods import Period
from footprint.reports.build import report_dict
from footprint.store import Store


def compare(store: Store, slugs: list[str], period: Period, estimator=None) -> list[dict]:
    """The report entries of `slugs` (in the order given) over `period`."""
    if len(slugs) < 2:
        raise ValidationError("compare needs at least two use cases")
    if len(set(slugs)) != len(slugs):
        raise ValidationError("a use case is named twice")
    register.require_use_cases(store, slugs)
    report = report_dict(account(store, period, estimator=estimator), None)
    by_slug = {u["slug"]: u for u in report["use_cases"]}
    keys = ("slug", "name", "deployment", "provider", "model", "country", "status", "energy_kwh", "gco2e",
            "gco2e_market", "water_l", "embodied_gco2e", "measured_share", "benefit", "gco2e_per_benefit_unit", "methods")
    return [{k: by_slug[s][k] for k in keys} for s in slugs]


def compare_table(rows: list[dict]) -> list[dict]:
    """Rows for a plain text table (values rounded for reading)."""
    out = []
    for r in rows:
        per = r["gco2e_per_benefit_unit"]
        out.append({
            "slug": r["slug"], "deployment": r["deployment"], "model": r["model"] or "-",
            "energy_kwh": f"{r['energy_kwh']['value']:.4g}", "gco2e": f"{r['gco2e']['value']:.4g}",
            "water_l": f"{r['water_l']['value']:.4g}",
            "gco2e_per_benefit": f"{per['value']:.4g}" if per else "no benefit",
            "benefit_unit": r["benefit"]["unit"] if r["benefit"] else "-",
            "measured": f"{100 * r['measured_share']:.0f}%",
        })
    return out
