"""Markdown rendering for wikis: the same sections as the HTML report, without charts."""

from __future__ import annotations

from datetime import date

from footprint.reports.i18n import best_carbon_unit, day, estimate_lines, number, percent, quantity, t, tr


def _md(text) -> str:
    """User text in a table cell: no pipes, no line breaks, no markup or HTML."""
    s = "" if text is None else str(text)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    for ch in "`*_[]<>#!":
        s = s.replace(ch, "\\" + ch)
    return s


def _r(r: dict, unit: str, lang: str) -> str:
    text = quantity(r["value"], unit, lang)
    if r["low"] != r["value"] or r["high"] != r["value"]:
        text += f" ({number(r['low'], lang)}–{number(r['high'], lang)})"
    return text


def _c(r: dict, lang: str) -> str:
    scale, unit = best_carbon_unit(r["value"])
    return _r({k: v * scale for k, v in r.items()}, unit, lang)


def render_md(report: dict, lang: str = "en") -> str:
    p = report["period"]
    start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
    tot = report["totals"]
    lines = [f"# {t('title', lang)}: {p['label']}", "",
             f"{t('period', lang)} {p['label']}, {t('from_to', lang, start=day(start, lang), end=day(end, lang))}", "",
             f"## {t('summary', lang)}", "",
             f"| {t('energy', lang)} | {t('carbon_location', lang)} | {t('carbon_market', lang)} | {t('water', lang)} | "
             f"{t('embodied', lang)} | {t('measured_share', lang)} |", "|---|---|---|---|---|---|",
             f"| {_r(tot['energy_kwh'], 'kWh', lang)} | {_c(tot['gco2e'], lang)} | {_c(tot['gco2e_market'], lang)} | "
             f"{_r(tot['water_l'], 'L', lang)} | {_c(tot['embodied_gco2e'], lang)} | {percent(tot['measured_share'], lang)} |",
             ""]
    missing = [u for u in report["use_cases"] if u["benefit_missing"]]
    lines += [f"**{t('no_benefit_flag', lang)}**{t('colon', lang)}" + (", ".join(f"{_md(u['name'])} (`{u['slug']}`)" for u in missing)
                                                      or t("none", lang)), ""]
    lines += [f"## {t('use_cases', lang)}", "",
              f"| {t('use_case', lang)} | {t('team', lang)} | {t('status', lang)} | {t('energy', lang)} | "
              f"{t('carbon_location', lang)} | {t('water', lang)} | {t('measured_share', lang)} | {t('benefit', lang)} | "
              f"{t('per_benefit', lang)} | {t('change', lang)} |", "|---|---|---|---|---|---|---|---|---|---|"]
    for u in report["use_cases"]:
        b, per = u["benefit"], u["gco2e_per_benefit_unit"]
        ben = f"{quantity(b['value'], _md(b['unit']), lang)}" + (f" ({_md(b['evidence'])})" if b.get("evidence") else "") if b else f"**{t('no_benefit', lang)}**"
        per_text = f"{quantity(per['value'], 'gCO2e', lang)} {t('per_unit', lang, unit=_md(b['unit']))}" if per else "–"
        pct = u["trend_gco2e_pct"]
        trend = ("+" if pct and pct > 0 else "") + quantity(pct, "%", lang, 0) if pct is not None else (t("new", lang) if u["gco2e"]["value"] > 0 else "–")
        lines.append(f"| {_md(u['name'])} (`{u['slug']}`) | {_md(u['team'])} | {t('status_' + u['status'], lang)} | "
                     f"{_r(u['energy_kwh'], 'kWh', lang)} | {_c(u['gco2e'], lang)} | {_r(u['water_l'], 'L', lang)} | "
                     f"{percent(u['measured_share'], lang)} | {ben} | {per_text} | {trend} |")
    checked = [u for u in report["use_cases"] if u.get("gpu_crosscheck_disagreements")]
    if checked:  # issue 16: never silently pick one of two disagreeing GPU figures
        lines += [""] + [f"- {_md(u['name'])} (`{u['slug']}`){t('colon', lang)}"
                         f"{t('gpu_crosscheck_note', lang, n=u['gpu_crosscheck_disagreements'])}" for u in checked]
    idle = report["idle"]
    lines += ["", f"## {t('idle', lang)}", "",
              f"- {t('idle_energy', lang)}{t('colon', lang)}{_r(idle['idle_energy_kwh'], 'kWh', lang)}",
              f"- {t('unallocated_energy', lang)}{t('colon', lang)}{_r(idle['unallocated_energy_kwh'], 'kWh', lang)}",
              f"- {t('carbon_location', lang)}{t('colon', lang)}{_c(idle['gco2e'], lang)}", ""]
    es = report["esrs"]
    lines += [f"## {t('esrs', lang)}", "", f"| {t('datapoint', lang)} | {t('value', lang)} |", "|---|---|"]
    for key, label, unit in (("e1_5_energy_mwh", "e1_5", "MWh"), ("e1_6_scope2_location_tco2e", "e1_6_s2l", "tCO2e"),
                             ("e1_6_scope2_market_tco2e", "e1_6_s2m", "tCO2e"), ("e1_6_scope3_cat1_tco2e", "e1_6_s3c1", "tCO2e"),
                             ("e1_6_scope3_cat2_tco2e", "e1_6_s3c2", "tCO2e")):
        lines.append(f"| {t(label, lang)} | {quantity(es[key]['value'], unit, lang, 4)} |")
    lines += ["", t("esrs_note", lang), "", f"## {t('methodology', lang)}", ""]
    weight = number(report["input_token_weight"], lang)
    lines += [f"- {t(k, lang, w=weight)}" for k in ("rule_energy", "rule_split", "rule_estimate", "rule_carbon")]
    gen_line, basis_lines = estimate_lines(report, lang)
    lines += [f"- {_md(gen_line)}"] if gen_line else []
    lines += ["", f"### {t('estimate_basis', lang)}", ""] + [f"- {_md(x)}" for x in basis_lines] if basis_lines else []
    lines += ["", f"### {t('factors', lang)}", "", f"| {t('factor', lang)} | {t('value', lang)} | {t('source', lang)} | "
              f"{t('vintage', lang)} | {t('used_for', lang)} |", "|---|---|---|---|---|"]
    for f in report["factors"]:
        v = f.get("value")
        vt = number(v, lang) if isinstance(v, (int, float)) else ("" if v is None else str(v))
        lines.append(f"| {_md(tr(f.get('name'), lang))} | {_md(vt)} {_md(f.get('unit') or '')} | {_md(f.get('source'))} | "
                     f"{_md(f.get('vintage') or '–')} | {_md(tr(f.get('used_for'), lang))} |")
    lines += ["", f"### {t('methods', lang)}", ""]
    lines += [f"- `{m['method']}`{t('colon', lang)}{_md(tr(m['description'], lang))}" for m in report["methods"]]
    if report["warnings"]:
        lines += ["", f"## {t('warnings', lang)}", ""] + [f"- {_md(w)}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"
