"""What the dashboard shows, built from the report dicts (one engine): the register, one use case
across quarters, carbon against benefit. No web framework here: plain data for the templates.

The database is opened read-only for each question and closed at once: a writing command waits at
most one report's time (collectors never wait: they write to their spool)."""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from datetime import date
from pathlib import Path

from footprint.errors import NotFoundError
from footprint.periods import Period, parse_quarter, quarter_label
from footprint.reports import build_report, report_text
from footprint.reports.i18n import best_carbon_unit, number, quantity, t
from footprint.store import open_store_readonly, resolve_db_path

_CACHE_SIZE = 16


class Dashboard:
    def __init__(self, db_path: str | os.PathLike | None = None, lang: str = "en"):
        self.db_path: Path = resolve_db_path(db_path)
        self.lang = lang
        self._reports: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # --- data ----------------------------------------------------------------------------------

    def _version(self) -> tuple:
        """Changes whenever the database file (or its WAL) is written: the cache key."""
        out = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")):
            try:
                st = path.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def quarters(self) -> list[str]:
        from footprint.accounting.periods import data_quarters

        with open_store_readonly(self.db_path) as store:
            return data_quarters(store)

    def default_quarter(self, quarters: list[str] | None = None, today: date | None = None) -> str:
        """The last complete quarter with data, else the last with data, else the current one."""
        today = today or date.today()
        quarters = self.quarters() if quarters is None else quarters
        complete = [q for q in quarters if parse_quarter(q).end <= today]
        return (complete or quarters or [quarter_label(today)])[-1]

    def period(self, quarter: str | None) -> Period:
        return parse_quarter(quarter) if quarter else parse_quarter(self.default_quarter())

    def report(self, quarter: str) -> dict:
        period = parse_quarter(quarter)
        key = (period.label, self._version())
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
        with open_store_readonly(self.db_path) as store:
            report = build_report(store, period)
        with self._lock:
            self._reports[key] = report
            while len(self._reports) > _CACHE_SIZE:
                self._reports.popitem(last=False)
        return report

    def report_json(self, quarter: str | None) -> str:
        """Exactly what `footprint report --quarter Q --format json` prints (the same function)."""
        with open_store_readonly(self.db_path) as store:
            from footprint.accounting import default_period

            period = parse_quarter(quarter) if quarter else default_period(store)
            return report_text(store, period, "json")

    # --- pages ---------------------------------------------------------------------------------

    def register_page(self, quarter: str | None) -> dict:
        quarters = self.quarters()
        label = self.period(quarter).label if quarter else self.default_quarter(quarters)
        report = self.report(label)
        return {"quarters": _with(quarters, label), "quarter": label, "report": report}

    def use_case_page(self, slug: str) -> dict:
        quarters = self.quarters() or [self.default_quarter([])]
        columns = []
        for label in quarters:
            entry = next((u for u in self.report(label)["use_cases"] if u["slug"] == slug), None)
            if entry is None:
                raise NotFoundError(f"unknown use case {slug!r}")
            columns.append({"quarter": label, "u": entry, "report": self.report(label)})
        changes = [{"from": a["quarter"], "to": b["quarter"], "lines": what_changed(a, b, self.lang)}
                   for a, b in zip(columns, columns[1:])]
        return {"slug": slug, "u": columns[-1]["u"], "columns": columns, "changes": changes}

    def pareto_page(self, quarter: str | None, team: str | None) -> dict:
        quarters = self.quarters()
        label = self.period(quarter).label if quarter else self.default_quarter(quarters)
        report = self.report(label)
        teams = sorted({u["team"] for u in report["use_cases"]})
        rows = [u for u in report["use_cases"] if not team or u["team"] == team]
        points = pareto_points(rows)
        return {"quarters": _with(quarters, label), "quarter": label, "teams": teams, "team": team or "",
                "rows": rows, "points": points, "chart": pareto_chart(points, self.lang)}


def _with(quarters: list[str], label: str) -> list[str]:
    return quarters if label in quarters else sorted(quarters + [label])


# --- what changed between two quarters ---------------------------------------------------------

_FIGURES = (("energy_kwh", "energy", "kWh"), ("gco2e", "carbon_location", "gCO2e"), ("water_l", "water", "L"))


def what_changed(a: dict, b: dict, lang: str) -> list[str]:
    """Plain sentences: figures that moved, methods and estimate sources that appeared or went,
    a benefit unit that changed, and the estimator generation when the report dict names one."""
    ua, ub, pa, pb = a["u"], b["u"], a["quarter"], b["quarter"]
    lines = []
    for key, label, unit in _FIGURES:
        x, y = ua[key]["value"], ub[key]["value"]
        if x == y:
            continue
        delta = (("+" if y > x else "") + quantity(100.0 * (y - x) / x, "%", lang, 0)) if x > 0 else t("new", lang)
        scale = 1.0
        if unit == "gCO2e":
            scale, unit = best_carbon_unit(max(x, y))
        lines.append(t("changed_figure", lang, what=t(label, lang), a=quantity(x * scale, unit, lang), p=pa,
                       b=quantity(y * scale, unit, lang), q=pb, d=delta))
    for key, label in (("measured_share", "measured_share"),):
        x, y = ua[key], ub[key]
        if abs(x - y) >= 0.005:
            lines.append(t("changed_figure", lang, what=t(label, lang), a=quantity(100 * x, "%", lang, 0), p=pa,
                           b=quantity(100 * y, "%", lang, 0), q=pb, d=("+" if y > x else "") + number(100 * (y - x), lang, 0) + " pt"))
    added = sorted(set(ub["methods"]) - set(ua["methods"]))
    dropped = sorted(set(ua["methods"]) - set(ub["methods"]))
    method_change = bool(added or dropped)
    if method_change:
        lines.append(t("changed_methods", lang, q=pb, add=", ".join(added) or t("none", lang),
                       drop=", ".join(dropped) or t("none", lang)))
    sa, sb = estimate_sources(ua), estimate_sources(ub)
    if sa != sb:
        method_change = True
        lines.append(f"{t('estimate_sources', lang)} ({pb}): + " + ("; ".join(sorted(sb - sa)) or t("none", lang))
                     + " / − " + ("; ".join(sorted(sa - sb)) or t("none", lang)))
    ga, gb = estimator_generation(a), estimator_generation(b)
    if ga != gb:
        method_change = True
        lines.append(f"{t('estimator_generation', lang)}: {ga or '–'} ({pa}) → {gb or '–'} ({pb})")
    if ua.get("benefit") and ub.get("benefit") and ua["benefit"]["unit"] != ub["benefit"]["unit"]:
        lines.append(t("changed_benefit_unit", lang, a=ua["benefit"]["unit"], b=ub["benefit"]["unit"]))
    if not method_change:
        lines.append(t("nothing_changed", lang))
    return lines


def estimate_sources(u: dict) -> set[str]:
    return {s for g in u.get("estimates") or () for s in g.get("sources") or ()}


def estimator_generation(column: dict) -> str | None:
    """The estimator generation, where the report dict carries one (per use case, else per report)."""
    u, report = column["u"], column["report"]
    for holder in (u, report):
        value = holder.get("estimator_generation") or (holder.get("estimator") or {}).get("generation")
        if value:
            return str(value)
    generations = report.get("serving_generations") or []  # the estimator's serving-software generations
    return ", ".join(g["generation"] for g in generations) or None


# --- carbon against benefit --------------------------------------------------------------------


def pareto_points(rows: list[dict]) -> list[dict]:
    """One point per use case with carbon and a claimed benefit; on the front when no use case with
    the same benefit unit claims at least as much for at most as much carbon (one of them strictly)."""
    points = [{"slug": u["slug"], "team": u["team"], "unit": u["benefit"]["unit"], "benefit": float(u["benefit"]["value"]),
               "gco2e": u["gco2e"]["value"], "per_unit": u["gco2e_per_benefit_unit"]}
              for u in rows if u.get("benefit") and u["benefit"]["value"] > 0 and u["gco2e"]["value"] > 0]
    for p in points:
        p["front"] = not any(
            q is not p and q["unit"] == p["unit"] and q["gco2e"] <= p["gco2e"] and q["benefit"] >= p["benefit"]
            and (q["gco2e"] < p["gco2e"] or q["benefit"] > p["benefit"]) for q in points)
    return points


def _log_axis(values: list[float]) -> tuple[float, float]:
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    return (lo, hi if hi > lo else lo + 1)


def pareto_chart(points: list[dict], lang: str) -> dict | None:
    """Coordinates of an inline SVG scatter (log-log); the template draws it (and escapes labels)."""
    if not points:
        return None
    width, height, left, right, top, bottom = 720, 400, 70, 20, 20, 50
    scale, unit = best_carbon_unit(max(p["gco2e"] for p in points))
    xs = [p["gco2e"] * scale for p in points]
    ys = [p["benefit"] for p in points]
    (x0, x1), (y0, y1) = _log_axis(xs), _log_axis(ys)

    def px(v):
        return left + (math.log10(v) - x0) / (x1 - x0) * (width - left - right)

    def py(v):
        return height - bottom - (math.log10(v) - y0) / (y1 - y0) * (height - top - bottom)

    dots = [{"x": round(px(x), 1), "y": round(py(y), 1), "label": p["slug"], "front": p["front"],
             "title": f"{p['slug']}: {quantity(x, unit, lang)}, {quantity(y, p['unit'], lang)}"}
            for p, x, y in zip(points, xs, ys)]
    xticks = [{"at": round(px(10.0 ** k), 1), "text": number(10.0 ** k, lang)} for k in range(x0, x1 + 1)]
    yticks = [{"at": round(py(10.0 ** k), 1), "text": number(10.0 ** k, lang)} for k in range(y0, y1 + 1)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top,
            "bottom": height - bottom, "dots": dots, "xticks": xticks, "yticks": yticks, "xlabel": unit}
