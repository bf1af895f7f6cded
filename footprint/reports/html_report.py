"""HTML rendering: one self-contained, printable file (inline CSS, charts as data URIs, no script,
nothing loaded from anywhere). Every text that comes from the user is escaped."""

from __future__ import annotations

from datetime import date
from html import escape

from footprint.reports.i18n import best_carbon_unit, day, estimate_lines, number, percent, quantity, t, tr

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;max-width:60rem;
color:#1a1a1a;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #2166ac;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem;margin-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#eef3f8}td.num{text-align:right;white-space:nowrap}
.range{color:#555;font-size:.8rem;white-space:nowrap}.flag{color:#a50026;font-weight:600}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem}.kpi{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;
min-width:10rem}.kpi .v{font-size:1.3rem;font-weight:600}.kpi .l{font-size:.8rem;color:#444}
figure{margin:1rem 0;page-break-inside:avoid}figure img{max-width:100%;height:auto}
figcaption{font-weight:600;font-size:.9rem}.fnote{color:#555;font-size:.8rem}.factors td{overflow-wrap:anywhere}.uc{page-break-inside:avoid;border-left:4px solid #2166ac;
padding-left:.8rem;margin:1rem 0}.note{font-size:.85rem;color:#444}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}a{color:inherit}}
"""


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _q(r: dict, unit: str, lang: str, with_range: bool = True) -> str:
    text = _e(quantity(r["value"], unit, lang))
    if with_range and (r["low"] != r["value"] or r["high"] != r["value"]):
        text += f' <span class="range">({_e(number(r["low"], lang))}–{_e(number(r["high"], lang))})</span>'
    return text


def _carbon(r: dict, lang: str, scale_unit: tuple[float, str] | None = None, with_range: bool = True) -> str:
    scale, unit = scale_unit or best_carbon_unit(r["value"])
    return _q({k: v * scale for k, v in r.items()}, unit, lang, with_range)


def _status(u: dict, lang: str) -> str:
    text = t(f"status_{u['status']}", lang)
    if u.get("retired"):
        text = t("retired_on", lang, d=day(date.fromisoformat(u["retired"]), lang))
    return _e(text)


def render_html(report: dict, lang: str = "en", charts: list[tuple[str, str]] | None = None) -> str:
    if charts is None:
        from footprint.reports.plots import charts as make_charts

        charts = make_charts(report, lang)
    p = report["period"]
    start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
    tot = report["totals"]
    cu = best_carbon_unit(tot["gco2e"]["value"])
    out: list[str] = []
    w = out.append
    w("<!DOCTYPE html>")
    w(f'<html lang="{lang}"><head><meta charset="utf-8">')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">')
    w(f"<title>{_e(t('title', lang))} – {_e(p['label'])}</title><style>{CSS}</style></head><body>")
    w(f"<h1>{_e(t('title', lang))}</h1>")
    w(f"<p><strong>{_e(t('period', lang))} {_e(p['label'])}</strong>, "
      f"{_e(t('from_to', lang, start=day(start, lang), end=day(end, lang)))}</p>")
    if not report.get("has_data", True):
        w(f'<p class="flag">{_e(t("no_data", lang))}</p>')

    # --- summary
    w(f"<h2>{_e(t('summary', lang))}</h2><div class=\"kpis\" id=\"totals\">")
    kpis = [
        (t("energy", lang), _q(tot["energy_kwh"], "kWh", lang)),
        (t("carbon_location", lang), _carbon(tot["gco2e"], lang, cu)),
        (t("carbon_market", lang), _carbon(tot["gco2e_market"], lang, cu)),
        (t("water", lang), _q(tot["water_l"], "L", lang)),
        (t("embodied", lang), _carbon(tot["embodied_gco2e"], lang)),
        (t("measured_share", lang), _e(percent(tot["measured_share"], lang))),
    ]
    prev = report.get("previous_totals")
    if prev and report.get("previous_period"):
        before = prev["gco2e"]["value"]
        change = (f"{'+' if tot['gco2e']['value'] >= before else ''}"
                  + quantity(100.0 * (tot["gco2e"]["value"] - before) / before, "%", lang, 0)) if before > 0 else t("new", lang)
        kpis.append((f"{t('change', lang)} / {report['previous_period']['label']} ({t('carbon_location', lang)})", _e(change)))
    for label, value in kpis:
        w(f'<div class="kpi"><div class="v">{value}</div><div class="l">{_e(label)}</div></div>')
    w("</div>")
    missing = [u for u in report["use_cases"] if u["benefit_missing"]]
    w(f"<p><span class=\"flag\">{_e(t('no_benefit_flag', lang))}</span>{_e(t('colon', lang))}"
      + (", ".join(_e(u["name"]) + f" (<code>{_e(u['slug'])}</code>)" for u in missing) or _e(t("none", lang)))
      + "</p>")

    # --- charts
    w(f"<h2>{_e(t('charts', lang))}</h2>")
    for title, uri in charts:
        w(f'<figure><figcaption>{_e(title)}</figcaption><img src="{_e(uri)}" alt="{_e(title)}"></figure>')

    # --- use cases overview
    w(f"<h2>{_e(t('use_cases', lang))}</h2>")
    w("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in (
        t("use_case", lang), t("team", lang), t("status", lang), t("energy", lang), t("carbon_location", lang),
        t("water", lang), t("measured_share", lang), t("per_benefit", lang), t("change", lang))) + "</tr></thead><tbody>")
    for u in report["use_cases"]:
        per = u["gco2e_per_benefit_unit"]
        per_text = (_e(quantity(per["value"], "gCO2e", lang)) + " " + _e(t("per_unit", lang, unit=u["benefit"]["unit"]))
                    if per else f'<span class="flag">{_e(t("no_benefit", lang))}</span>')
        w(f"<tr><td>{_e(u['name'])}<br><code>{_e(u['slug'])}</code></td><td>{_e(u['team'])}</td>"
          f"<td>{_status(u, lang)}</td><td class=\"num\">{_q(u['energy_kwh'], 'kWh', lang, False)}</td>"
          f"<td class=\"num\">{_carbon(u['gco2e'], lang, cu, False)}</td><td class=\"num\">{_q(u['water_l'], 'L', lang, False)}</td>"
          f"<td class=\"num\">{_e(percent(u['measured_share'], lang))}</td><td>{per_text}</td>"
          f"<td class=\"num\">{_trend(u, lang)}</td></tr>")
    w("</tbody></table>")

    for u in report["use_cases"]:
        w(f'<section class="uc"><h3>{_e(u["name"])} <code>{_e(u["slug"])}</code></h3>')
        facts = [
            (t("team", lang), _e(u["team"])), (t("status", lang), _status(u, lang)),
            (t("deployment", lang), _e(t(f"deployment_{u['deployment']}", lang))),
            (t("model", lang), _e(u["model"] or "–")),
            (t("energy", lang), _q(u["energy_kwh"], "kWh", lang)),
            (t("carbon_location", lang), _carbon(u["gco2e"], lang)),
            (t("carbon_market", lang), _carbon(u["gco2e_market"], lang)),
            (t("water", lang), _q(u["water_l"], "L", lang)),
            (t("embodied", lang), _carbon(u["embodied_gco2e"], lang)),
            (t("measured_share", lang), _e(percent(u["measured_share"], lang)) + " ("
             + ", ".join(f"{_e(t(k, lang))} {_e(percent(v, lang))}" for k, v in sorted(u["method_shares"].items())) + ")"),
        ]
        if u["benefit"]:
            b = u["benefit"]
            text = _e(quantity(b["value"], b["unit"], lang))
            if b.get("evidence"):
                text += f" ({_e(t('evidence', lang))}: {_e(b['evidence'])})"
            facts.append((t("benefit", lang), text))
            per = u["gco2e_per_benefit_unit"]
            if per:
                facts.append((t("per_benefit", lang), _q(per, "gCO2e", lang) + " " + _e(t("per_unit", lang, unit=b["unit"]))))
        else:
            facts.append((t("benefit", lang), f'<span class="flag">{_e(t("no_benefit", lang))}</span>'))
        facts.append((t("trend", lang), _trend(u, lang)))
        if u["methods"]:
            facts.append((t("methods", lang), ", ".join(f"<code>{_e(m)}</code>" for m in u["methods"])))
        w("<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in facts) + "</table></section>")

    # --- idle
    idle = report["idle"]
    w(f"<h2>{_e(t('idle', lang))}</h2><table>")
    w(f"<tr><th>{_e(t('idle_energy', lang))}</th><td class=\"num\">{_q(idle['idle_energy_kwh'], 'kWh', lang)}</td></tr>")
    w(f"<tr><th>{_e(t('unallocated_energy', lang))}</th><td class=\"num\">{_q(idle['unallocated_energy_kwh'], 'kWh', lang)}</td></tr>")
    w(f"<tr><th>{_e(t('carbon_location', lang))}</th><td class=\"num\">{_carbon(idle['gco2e'], lang)}</td></tr>")
    if idle["allocated_to_use_cases"]:
        w(f"<tr><th>{_e(t('idle_allocated', lang))}</th><td class=\"num\">{_e(quantity(idle['allocated_energy_kwh'], 'kWh', lang))}</td></tr>")
    w("</table>")
    if not idle["allocated_to_use_cases"]:
        w(f'<p class="note">{_e(t("idle_not_allocated", lang))}</p>')

    # --- ESRS
    es = report["esrs"]
    w(f"<h2>{_e(t('esrs', lang))}</h2><table><thead><tr><th>{_e(t('datapoint', lang))}</th>"
      f"<th>{_e(t('value', lang))}</th></tr></thead><tbody>")
    for key, label, unit in (("e1_5_energy_mwh", "e1_5", "MWh"), ("e1_6_scope2_location_tco2e", "e1_6_s2l", "tCO2e"),
                             ("e1_6_scope2_market_tco2e", "e1_6_s2m", "tCO2e"), ("e1_6_scope3_cat1_tco2e", "e1_6_s3c1", "tCO2e"),
                             ("e1_6_scope3_cat2_tco2e", "e1_6_s3c2", "tCO2e")):
        r = es[key]
        w(f"<tr><td>{_e(t(label, lang))}</td><td class=\"num\">{_e(quantity(r['value'], unit, lang, 4))} "
          f"<span class=\"range\">({_e(number(r['low'], lang, 4))}–{_e(number(r['high'], lang, 4))})</span></td></tr>")
    w(f"</tbody></table><p class=\"note\">{_e(t('esrs_note', lang))}</p>")

    # --- methodology
    w(f"<h2>{_e(t('methodology', lang))}</h2><h3>{_e(t('rules', lang))}</h3><ul>")
    weight = number(report["input_token_weight"], lang)
    for key in ("rule_energy", "rule_split", "rule_estimate", "rule_carbon"):
        w(f"<li>{_e(t(key, lang, w=weight))}</li>")
    gen_line, basis_lines = estimate_lines(report, lang)
    if gen_line:
        w(f"<li>{_e(gen_line)}</li>")
    c = report["conservation"]
    w(f"<li>{_e(t('balance', lang, m=_kwh_uj(c['measured_it_uj'], lang), a=_kwh_uj(c['allocated_it_uj'], lang), i=_kwh_uj(c['idle_it_uj'], lang), u=_kwh_uj(c['unallocated_it_uj'], lang)))}</li></ul>")
    if basis_lines:
        w(f"<h3>{_e(t('estimate_basis', lang))}</h3><ul class=\"basis\">" + "".join(f"<li>{_e(x)}</li>" for x in basis_lines) + "</ul>")
    w(f"<h3>{_e(t('factors', lang))}</h3><table class=\"factors\"><thead><tr>" + "".join(
        f"<th>{_e(h)}</th>" for h in (t("factor", lang), t("value", lang), t("source", lang), t("vintage", lang),
                                      t("used_for", lang))) + "</tr></thead><tbody>")
    for f in report["factors"]:
        value = f.get("value")
        value_text = number(value, lang) if isinstance(value, (int, float)) else ("" if value is None else str(value))
        note = f"<br><span class=\"fnote\">{_e(tr(f.get('note'), lang))}</span>" if f.get("note") else ""
        w(f"<tr><td>{_e(tr(f.get('name'), lang))}</td><td>{_e(value_text)} {_e(f.get('unit') or '')}</td>"
          f"<td>{_e(f.get('source'))}{note}</td><td>{_e(f.get('vintage') or '–')}</td><td>{_e(tr(f.get('used_for'), lang))}</td></tr>")
    w("</tbody></table>")
    w(f"<h3>{_e(t('methods', lang))}</h3><table><thead><tr><th>{_e(t('method', lang))}</th><th></th>"
      f"<th>{_e(t('uncertainty', lang))}</th></tr></thead><tbody>")
    for m in report["methods"]:
        unc = m.get("uncertainty")
        unc_text = "± " + percent(unc, lang) if unc is not None else t("estimated", lang) + " (80 %)"
        w(f"<tr><td><code>{_e(m['method'])}</code></td><td>{_e(tr(m['description'], lang))}</td><td>{_e(unc_text)}</td></tr>")
    w("</tbody></table>")
    if report["warnings"]:
        w(f"<h2>{_e(t('warnings', lang))}</h2><ul>" + "".join(f"<li>{_e(x)}</li>" for x in report["warnings"]) + "</ul>")
    w(f'<p class="note">{_e(t("generated_note", lang))}</p></body></html>')
    return "\n".join(out) + "\n"


def _kwh_uj(uj: int, lang: str) -> str:
    return quantity(uj / 3.6e12, "kWh", lang, 6)


def _trend(u: dict, lang: str) -> str:
    pct = u.get("trend_gco2e_pct")
    if pct is None:
        return _e(t("new", lang)) if u["gco2e"]["value"] > 0 else "–"
    sign = "+" if pct > 0 else ""
    return _e(sign + quantity(pct, "%", lang, 0))
