"""The Jinja2 environment shared by the HTML report and the dashboard: one escaping rule for both.

Autoescape is on for every template (HTML and SVG alike); helpers return plain text, never markup, so
a use case named `<script>` is escaped wherever it appears. Jinja2 is imported on first use only.
"""

from __future__ import annotations

import functools
from datetime import date

from footprint.reports.i18n import best_carbon_unit, day, estimate_lines, number, percent, quantity, t, tr


@functools.cache
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("footprint", "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=lambda value: "" if value is None else value,  # as the f-string report did: None shows as nothing
    )
    env.globals.update(
        t=t, tr=tr, number=number, percent=percent, quantity=quantity, best_carbon_unit=best_carbon_unit,
        scaled=scaled, status_text=status_text, trend_text=trend_text, factor_value=factor_value,
        uncertainty_text=uncertainty_text, kwh_uj=kwh_uj, iso_day=iso_day, data_quality_notes=data_quality_notes,
        methodology_rules=methodology_rules, estimate_basis_lines=lambda report, lang: estimate_lines(report, lang)[1],
    )
    return env


def render_template(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


# --- helpers (plain text; the templates escape them) ------------------------------------------


def scaled(r: dict, factor: float) -> dict:
    return {k: v * factor for k, v in r.items()}


def iso_day(text: str | None, lang: str) -> str | None:
    return day(date.fromisoformat(text), lang) if text else None


def status_text(u: dict, lang: str) -> str:
    if u.get("retired"):
        return t("retired_on", lang, d=day(date.fromisoformat(u["retired"]), lang))
    return t(f"status_{u['status']}", lang)


def trend_text(u: dict, lang: str) -> str:
    pct = u.get("trend_gco2e_pct")
    if pct is None:
        return t("new", lang) if u["gco2e"]["value"] > 0 else "–"
    return ("+" if pct > 0 else "") + quantity(pct, "%", lang, 0)


def factor_value(f: dict, lang: str) -> str:
    value = f.get("value")
    return number(value, lang) if isinstance(value, (int, float)) else ("" if value is None else str(value))


def uncertainty_text(m: dict, lang: str) -> str:
    unc = m.get("uncertainty")
    return "± " + percent(unc, lang) if unc is not None else t("estimated", lang) + " (80 %)"


def kwh_uj(uj: int, lang: str) -> str:
    return quantity(uj / 3.6e12, "kWh", lang, 6)


def data_quality_notes(u: dict, lang: str) -> list[str]:
    """What a reader should know about one use case's figures. The one place that derives them from the
    report dict: a new note (e.g. a GPU cross-check) is one more line here, shown by the report and the
    dashboard alike (macro `data_quality` in macros.html)."""
    notes = []
    shares = u.get("method_shares") or {}
    if u["energy_kwh"]["value"] <= 0:
        notes.append(t("dq_no_data", lang))
    if shares.get("estimated", 0) > 0:
        notes.append(t("dq_estimated", lang, p=percent(shares["estimated"], lang)))
    if shares.get("modelled", 0) > 0:
        notes.append(t("dq_modelled", lang, p=percent(shares["modelled"], lang)))
    for g in u.get("estimates") or ():
        if g.get("error"):
            notes.append(t("dq_estimate_error", lang, m=g.get("model") or "?", e=g["error"]))
    if u.get("gpu_crosscheck_disagreements"):  # never silently pick one of two disagreeing GPU figures
        notes.append(t("gpu_crosscheck_note", lang, n=u["gpu_crosscheck_disagreements"]))
    if u.get("benefit_missing"):
        notes.append(t("dq_no_benefit", lang))
    return notes


def methodology_rules(report: dict, lang: str) -> list[str]:
    """The accounting rules the methodology lists, in order (a new rule, e.g. naming serving-software
    generations, is one more line here)."""
    weight = number(report["input_token_weight"], lang)
    rules = [t(key, lang, w=weight) for key in ("rule_energy", "rule_split", "rule_estimate", "rule_carbon")]
    generations, _ = estimate_lines(report, lang)
    if generations:
        rules.append(generations)
    c = report["conservation"]
    rules.append(t("balance", lang, m=kwh_uj(c["measured_it_uj"], lang), a=kwh_uj(c["allocated_it_uj"], lang),
                   i=kwh_uj(c["idle_it_uj"], lang), u=kwh_uj(c["unallocated_it_uj"], lang)))
    return rules
