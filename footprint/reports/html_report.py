"""HTML rendering: one self-contained, printable file (inline CSS, charts as data URIs, no script,
nothing loaded from anywhere). Jinja2 templates (footprint/templates/report.html), shared with the
dashboard, autoescaped: every text that comes from the user is escaped by one rule."""

from __future__ import annotations

from footprint.reports.i18n import quantity, t


def render_html(report: dict, lang: str = "en", charts: list[tuple[str, str]] | None = None) -> str:
    from footprint.reports.templating import render_template

    if charts is None:
        from footprint.reports.plots import charts as make_charts

        charts = make_charts(report, lang)
    return render_template("report.html", report=report, lang=lang, charts=charts, change_kpi=change_kpi)


def change_kpi(report: dict, lang: str) -> list[tuple[str, str]]:
    """The 'change against the previous period' figure of the summary, when there is a previous period."""
    prev, tot = report.get("previous_totals"), report["totals"]
    if not (prev and report.get("previous_period")):
        return []
    before = prev["gco2e"]["value"]
    change = (("+" if tot["gco2e"]["value"] >= before else "")
              + quantity(100.0 * (tot["gco2e"]["value"] - before) / before, "%", lang, 0)) if before > 0 else t("new", lang)
    return [(f"{t('change', lang)} / {report['previous_period']['label']} ({t('carbon_location', lang)})", change)]
