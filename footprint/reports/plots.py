"""Report charts with matplotlib (imported lazily, Agg backend), returned as SVG data URIs.

Labels are use-case slugs (validated a-z0-9-); the SVG is embedded as an <img> data URI, where
no script can run, and carries no date, so the same data gives the same image. Text stays text
(svg.fonttype none): smaller and faster than glyph paths.
"""

from __future__ import annotations

import base64
import io
import threading

from footprint.reports.i18n import best_carbon_unit, number, t

COLOURS = {"measured": "#1b7837", "modelled": "#a6dba0", "estimated": "#c2a5cf", "previous": "#bdbdbd",
           "current": "#2166ac", "gpu": "#2166ac", "cpu": "#67a9cf", "ram": "#d1e5f0", "facility_overhead": "#f4a582",
           "idle": "#999999"}


_preloading: threading.Thread | None = None


def preload() -> None:
    """Start importing matplotlib (~0.5 s) in a background thread, so that it overlaps the report's
    DuckDB queries (which release the GIL) instead of following them. Not a daemon: an early error
    exit waits for the import to end rather than tearing the interpreter down under it."""
    global _preloading
    if _preloading is None:
        _preloading = threading.Thread(target=_configure, name="matplotlib-preload")
        _preloading.start()


def _pyplot():
    if _preloading is not None:
        _preloading.join()
    return _configure()  # cached when preloaded; an import error surfaces here, in the caller's thread


def _configure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update({"svg.hashsalt": "footprint", "svg.fonttype": "none", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    import matplotlib.pyplot as plt

    return plt


def _to_uri(fig, plt) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _formatter(lang: str):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: number(x, lang))


def charts(report: dict, lang: str) -> list[tuple[str, str]]:
    """(title, data URI) of each chart."""
    plt = _pyplot()
    ucs = [u for u in report["use_cases"] if u["energy_kwh"]["value"] > 0 or u["previous"]]
    out = []
    out.append((t("chart_impact", lang), _impact_chart(plt, ucs, report, lang)))
    out.append((t("chart_per_benefit", lang), _per_benefit_chart(plt, report, lang)))
    out.append((t("chart_trend", lang), _trend_chart(plt, ucs, report, lang)))
    out.append((t("chart_breakdown", lang), _breakdown_chart(plt, report, lang)))
    return out


_LEGEND_ABOVE = {"loc": "lower right", "bbox_to_anchor": (1.0, 1.0), "ncol": 3, "frameon": False}


def _finish(plt, fig, ax, xlabel: str, lang: str, legend: dict | None = None) -> str:
    """The x axis (label, numbers in the report's language), the legend if any, then the SVG URI."""
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(_formatter(lang))
    if legend is not None:
        ax.legend(**legend)
    return _to_uri(fig, plt)


def _figure(plt, height: float, bottom_in: float = 0.55):
    fig, ax = plt.subplots(figsize=(7.5, height))
    fig.subplots_adjust(left=0.22, right=0.97, top=1 - 0.4 / height, bottom=bottom_in / height)
    return fig, ax


def _impact_chart(plt, ucs, report, lang) -> str:
    labels = [u["slug"] for u in ucs] + [t("idle", lang).split(" ")[0].lower() if lang == "en" else "repos"]
    totals = [u["gco2e"]["value"] for u in ucs] + [report["idle"]["gco2e"]["value"]]
    scale, unit = best_carbon_unit(max(totals + [0.0]))
    fig, ax = _figure(plt, 0.45 * len(labels) + 1.2)
    left = [0.0] * len(labels)
    shares = [u["method_shares"] for u in ucs] + [{"measured": 1.0, "modelled": 0.0, "estimated": 0.0}]
    for kind in ("measured", "modelled", "estimated"):
        widths = [tot * scale * s[kind] for tot, s in zip(totals, shares)]
        ax.barh(labels, widths, left=left, color=COLOURS[kind], label=t(kind, lang))
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    return _finish(plt, fig, ax, unit, lang, legend=_LEGEND_ABOVE)


def _per_benefit_chart(plt, report, lang) -> str:
    rows = [u for u in report["use_cases"] if u["gco2e_per_benefit_unit"]]
    fig, ax = _figure(plt, 0.45 * max(1, len(rows)) + 1.2)
    if rows:
        labels = [f"{u['slug']}" for u in rows]
        values = [u["gco2e_per_benefit_unit"]["value"] for u in rows]
        lows = [v - u["gco2e_per_benefit_unit"]["low"] for v, u in zip(values, rows)]
        highs = [u["gco2e_per_benefit_unit"]["high"] - v for v, u in zip(values, rows)]
        ax.barh(labels, values, xerr=[lows, highs], color=COLOURS["current"], ecolor="#555555", capsize=3)
        ax.invert_yaxis()
        for i, u in enumerate(rows):
            ax.annotate(f" g / {u['benefit']['unit'][:30]}".replace("$", ""), (0, i), xytext=(2, -10),
                        textcoords="offset points", fontsize=7, color="#333333")
    else:
        ax.text(0.5, 0.5, t("no_benefit", lang), ha="center", va="center", transform=ax.transAxes)
    return _finish(plt, fig, ax, "gCO2e", lang)


def _trend_chart(plt, ucs, report, lang) -> str:
    labels = [u["slug"] for u in ucs]
    cur = [u["gco2e"]["value"] for u in ucs]
    prev = [(u["previous"] or {}).get("gco2e", 0.0) for u in ucs]
    scale, unit = best_carbon_unit(max(cur + prev + [0.0]))
    fig, ax = _figure(plt, 0.55 * max(1, len(labels)) + 1.2)
    ys = list(range(len(labels)))
    prev_label = report["previous_period"]["label"] if report.get("previous_period") else t("previous", lang)
    ax.barh([y - 0.2 for y in ys], [p * scale for p in prev], height=0.4, color=COLOURS["previous"], label=prev_label)
    ax.barh([y + 0.2 for y in ys], [c * scale for c in cur], height=0.4, color=COLOURS["current"],
            label=report["period"]["label"])
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    return _finish(plt, fig, ax, unit, lang, legend=_LEGEND_ABOVE)


def _breakdown_chart(plt, report, lang) -> str:
    b = report["totals"]["breakdown_kwh"]
    keys = ["gpu", "cpu", "ram", "facility_overhead", "estimated"]
    values = [b[k] for k in keys]
    fig, ax = _figure(plt, 2.2, bottom_in=1.2)
    left = 0.0
    for k, v in zip(keys, values):
        ax.barh([report["period"]["label"]], [v], left=left, color=COLOURS.get(k, COLOURS["estimated"]),
                label=f"{t(k, lang)} ({number(v, lang)} kWh)")
        left += v
    return _finish(plt, fig, ax, "kWh", lang,
                   legend={"loc": "upper center", "bbox_to_anchor": (0.45, -0.5), "ncol": 3, "frameon": False, "fontsize": 8})
