"""The report's data: one dict (the JSON contract) that every renderer (json, csv, md, html) reads."""

from __future__ import annotations

from datetime import timedelta

from footprint.accounting import Accounting, Impacts, account, period_has_data, previous_period
from footprint.periods import Period
from footprint.records import Range
from footprint.store import Store

SCHEMA = "footprint.report/1"
IMPACT_KEYS = ("energy_kwh", "gco2e", "gco2e_market", "water_l", "embodied_gco2e", "it_energy_kwh")


def _num(x: float) -> float:
    """Stable float formatting: 12 significant digits, no negative zero."""
    value = float(f"{x:.12g}")
    return 0.0 if value == 0 else value


def _range(r: Range) -> dict:
    return {"value": _num(r.value), "low": _num(min(r.low, r.value)), "high": _num(max(r.high, r.value))}


def _impacts(i: Impacts) -> dict:
    out = {k: _range(getattr(i, k)) for k in IMPACT_KEYS}
    out["breakdown_kwh"] = {
        "gpu": _num(i.gpu_kwh), "cpu": _num(i.cpu_kwh), "ram": _num(i.ram_kwh),
        "facility_overhead": _num(i.overhead_kwh), "estimated": _num(i.estimated_kwh),
    }
    total = i.energy_kwh.value
    out["method_shares"] = {
        "measured": _num(i.measured_kwh / total) if total > 0 else 0.0,
        "modelled": _num(i.modelled_kwh / total) if total > 0 else 0.0,
        "estimated": _num(i.estimated_kwh / total) if total > 0 else 0.0,
    }
    out["measured_share"] = _num(i.measured_share)
    return out


def _period(p: Period) -> dict:
    return {"label": p.label, "start": p.start.isoformat(), "end": (p.end - timedelta(days=1)).isoformat()}


def _esrs(t: Impacts) -> dict:
    def tonnes(r: Range) -> dict:
        return _range(r.scaled(1e-6))

    return {
        "e1_5_energy_mwh": _range(Range(t.scope2_kwh, t.scope2_kwh, t.scope2_kwh).scaled(1e-3)),
        "e1_6_scope2_location_tco2e": tonnes(t.scope2_gco2e),
        "e1_6_scope2_market_tco2e": tonnes(t.scope2_gco2e_market),
        "e1_6_scope3_cat1_tco2e": tonnes(t.scope3_cat1_gco2e),
        "e1_6_scope3_cat2_tco2e": tonnes(t.scope3_cat2_gco2e),
    }


def build_report(
    store: Store, period: Period, *, allocate_idle: bool = False, estimator=None, with_previous: bool = True
) -> dict:
    acc = account(store, period, allocate_idle=allocate_idle, estimator=estimator)
    prev: Accounting | None = None
    before = previous_period(period)
    # A previous period without any data has nothing to compare with: skip its accounting.
    if with_previous and period_has_data(store, before):
        prev = account(store, before, allocate_idle=allocate_idle, estimator=estimator)
    return report_dict(acc, prev)


def report_dict(acc: Accounting, prev: Accounting | None) -> dict:
    prev_by_slug = {u.slug: u for u in prev.use_cases} if prev else {}
    use_cases = []
    for u in acc.use_cases:
        uc = u.use_case
        entry = {
            "slug": uc.slug, "name": uc.name, "team": uc.team, "status": uc.status, "deployment": uc.deployment,
            "purpose": uc.purpose, "provider": uc.provider, "model": uc.model, "country": uc.country,
            "site": uc.region, "retired": uc.retired.isoformat() if uc.retired else None,
            "started": uc.started.isoformat() if uc.started else None,
            "data_location": uc.data_location,
            "hardware": uc.hardware, "description": uc.description,
            "last_consultation": uc.last_consultation.isoformat() if uc.last_consultation else None,
            **_impacts(u.impacts),
            "benefit": u.benefit,
            "gco2e_per_benefit_unit": _range(u.gco2e_per_benefit_unit) if u.gco2e_per_benefit_unit else None,
            "benefit_missing": u.benefit is None,
            "hosts": list(u.hosts), "methods": list(u.methods),
            "idle_allocated_kwh": _num(u.idle_allocated_uj / 3.6e12),
            "gpu_crosscheck_disagreements": u.gpu_crosscheck_disagreements,
            "estimates": [
                {"model": g.model, "country": g.country, "requests": g.requests, "input_tokens": g.input_tokens,
                 "output_tokens": g.output_tokens, "energy_kwh": _range(g.energy_kwh), "gco2e": _range(g.gco2e),
                 "sources": list(g.sources), "error": g.error,
                 "serving_year": g.serving_year, "serving_generation": g.serving_generation, "basis": g.basis}
                for g in u.estimates
            ],
        }
        p = prev_by_slug.get(uc.slug)
        if p is not None:
            before = p.impacts.gco2e.value
            entry["previous"] = {"gco2e": _num(before), "energy_kwh": _num(p.impacts.energy_kwh.value)}
            entry["trend_gco2e_pct"] = _num(100.0 * (u.impacts.gco2e.value - before) / before) if before > 0 else None
        else:
            entry["previous"] = None
            entry["trend_gco2e_pct"] = None
        use_cases.append(entry)

    idle = {k: _range(getattr(acc.idle, k)) for k in IMPACT_KEYS}
    idle.update({
        "idle_energy_kwh": _range(acc.idle_only.energy_kwh),
        "unallocated_energy_kwh": _range(acc.unallocated.energy_kwh),
        "allocated_to_use_cases": acc.allocate_idle,
        "allocated_energy_kwh": _num(acc.conservation.idle_allocated_uj / 3.6e12),
    })
    # Totals are the sum of what is listed (use cases + idle), so the report always adds up.
    totals = _impacts(acc.totals)
    c = acc.conservation
    report = {
        "schema": SCHEMA,
        "period": _period(acc.period),
        "previous_period": _period(prev.period) if prev else None,
        "previous_totals": _impacts(prev.totals) if prev else None,
        "totals": totals,
        "idle": idle,
        "use_cases": use_cases,
        "esrs": _esrs(acc.totals),
        "factors": [{k: (_num(v) if isinstance(v, float) else v) for k, v in f.items()} for f in acc.factors],
        "methods": [dict(m) for m in acc.methods],
        "conservation": {
            "measured_it_uj": c.measured_uj, "allocated_it_uj": c.allocated_uj, "idle_it_uj": c.idle_uj,
            "unallocated_it_uj": c.unallocated_uj, "holds": c.holds,
        },
        "serving_generations": _serving_generations(acc),
        "estimate_basis": _estimate_basis(acc),
        "input_token_weight": _num(float(acc.input_weight)),
        "warnings": list(acc.warnings),
        "has_data": acc.has_data,
    }
    return report


def _serving_generations(acc: Accounting) -> list[dict]:
    """The serving-software generations the period's token estimates used, with their years of use."""
    years: dict[str, set] = {}
    for u in acc.use_cases:
        for g in u.estimates:
            if g.serving_generation:
                years.setdefault(g.serving_generation, set()).update([g.serving_year] if g.serving_year else [])
    return [{"generation": name, "serving_years": sorted(years[name])} for name in sorted(years)]


def _estimate_basis(acc: Accounting) -> list[dict]:
    """Per estimated model: whether its figures come from the fitted estimator or from our own measured
    J/token, and the measured / fitted ratio where both exist."""
    by_model: dict[str, dict] = {}
    for u in acc.use_cases:
        for g in u.estimates:
            if g.error or not g.model:
                continue
            entry = by_model.setdefault(g.model, {"bases": set(), "fit": [], "measured": None, "use_cases": set()})
            entry["bases"].add(g.basis)
            entry["use_cases"].add(u.slug)
            if g.fit_j_per_output_token is not None:
                entry["fit"].append((g.output_tokens, g.fit_j_per_output_token))
            if g.measured_j_per_output_token is not None:
                entry["measured"] = g.measured_j_per_output_token
    out = []
    for model in sorted(by_model):
        e = by_model[model]
        tokens = sum(n for n, _ in e["fit"])
        fit = sum(n * j for n, j in e["fit"]) / tokens if tokens > 0 else None  # output-token weighted
        measured = e["measured"]
        out.append({
            "model": model, "figures_from": sorted(e["bases"]), "use_cases": sorted(e["use_cases"]),
            "fit_j_per_output_token": _num(fit) if fit is not None else None,
            "measured_j_per_output_token": _num(measured) if measured is not None else None,
            "measured_to_fit": _num(measured / fit) if measured is not None and fit else None,
        })
    return out
