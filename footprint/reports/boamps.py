"""Boavizta BoAmps export: the AI energy report format CodeCarbon 3.x emits (`BoAmpsOutput`), one
report per use case and period, as one JSON array (sorted keys, stable floats: same data, same bytes).

Mapping (documented in README, section "BoAmps export"):
- measures: one measure for measured and modelled IT energy (GPU + CPU + RAM, kWh, without the
  facility overhead, which BoAmps has no field for), one for energy estimated from tokens (kWh as the
  estimator gives it, PUE included); a use case with no energy in the period gets no report.
- quality: high when >= 90 % of the energy is measured, low when >= 50 % is estimated, else medium.
- header.reportId: a UUID derived from (use case, period), so a re-issued report keeps its identity;
  header.reportDatetime: the end of the period (the report carries no generation time).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

FORMAT_VERSION = "0.1"  # the BoAmps version CodeCarbon 3.2.6+ writes
FORMAT_SPEC_URI = "https://github.com/Boavizta/BoAmps/tree/main/model"
_NAMESPACE = uuid.UUID("5d7f3b0e-5c43-4d0f-9a51-6f6f7470726e")  # footprint's BoAmps report ids
_INFRA = {"on-prem": "onPremise", "cloud": "publicCloud", "api": "publicCloud"}
_GPU_WORDS = re.compile(r"\b(gpu|[ahlbv]\d{2,3}|h200|gh200|mi\d{3}|rtx|tesla)\b", re.I)
_COUNT = re.compile(r"^\s*(\d+)\s*[x×]\s*(.+)$", re.I)


def render_boamps(report: dict) -> str:
    reports = [boamps_report(u, report) for u in report["use_cases"] if u["energy_kwh"]["value"] > 0]
    return json.dumps(reports, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def boamps_report(u: dict, report: dict) -> dict:
    period = report["period"]
    end = date.fromisoformat(period["end"]) + timedelta(days=1)
    out = {
        "header": {
            "formatVersion": FORMAT_VERSION,
            "formatVersionSpecificationUri": FORMAT_SPEC_URI,
            "reportId": str(uuid.uuid5(_NAMESPACE, f"{u['slug']}|{period['label']}")),
            "reportDatetime": f"{end.isoformat()} 00:00:00",
            "reportStatus": "final" if end <= date.today() else "draft",
            "publisher": {"division": u["team"], "projectName": u["name"], "confidentialityLevel": "internal"},
        },
        "task": _task(u),
        "measures": _measures(u, period),
        "infrastructure": _infrastructure(u),
        "environment": _environment(u),
        "quality": _quality(u),
    }
    return out


def _task(u: dict) -> dict:
    estimates = u.get("estimates") or []
    algorithm = {"algorithmType": "llm"}
    if u.get("model"):
        algorithm["foundationModelName"] = u["model"]
    dataset = []
    for usage, key in (("input", "input_tokens"), ("output", "output_tokens")):
        item = {"dataUsage": usage, "dataType": "token"}
        if estimates:
            item["dataQuantity"] = sum(int(g.get(key) or 0) for g in estimates)
        dataset.append(item)
    task = {
        "taskStage": "inference",
        "taskFamily": u.get("purpose") or "other",
        "algorithms": [algorithm],
        "dataset": dataset,
        "taskDescription": u["name"] + (f": {u['description']}" if u.get("description") else ""),
    }
    if estimates:
        task["nbRequest"] = sum(int(g.get("requests") or 0) for g in estimates)
    return task


def _tracking(methods: list[str], words: tuple[str, ...]) -> str | None:
    hows = sorted({m.split(":", 1)[-1] for m in methods if any(w in m for w in words)})
    return "+".join(hows) or None


def _measures(u: dict, period: dict) -> list[dict]:
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"]) + timedelta(days=1)
    common = {"measurementDuration": float((end - start).days * 86400),
              "measurementDateTime": f"{start.isoformat()} 00:00:00"}
    b = u["breakdown_kwh"]
    measures = []
    it_kwh = b["gpu"] + b["cpu"] + b["ram"]
    if it_kwh > 0:
        from footprint import __version__

        measure = {"measurementMethod": "footprint", "version": __version__, "powerConsumption": _num(it_kwh), **common}
        methods = [m for m in u.get("methods") or [] if not m.startswith("estimated")]
        gpu = _tracking(methods, ("nvml", "dcgm", "gpu"))
        cpu = _tracking(methods, ("rapl", "cpu"))
        if gpu:
            measure["gpuTrackingMode"] = gpu
        if cpu:
            measure["cpuTrackingMode"] = cpu
        measures.append(measure)
    if b["estimated"] > 0 or not measures:
        # BoAmps has no range field: the 80 % interval stays in footprint's JSON report; `quality` says "low".
        measures.append({"measurementMethod": "footprint-estimate:tokens", "powerConsumption": _num(b["estimated"]), **common})
    return measures


def _infrastructure(u: dict) -> dict:
    infra = {"infraType": _INFRA.get(u["deployment"], "other"), "components": [_component(u)]}
    if u["deployment"] == "api" and u.get("provider"):
        infra["cloudService"] = u["provider"]
    elif u["deployment"] == "cloud" and u.get("provider"):
        infra["cloudProvider"] = u["provider"]
    return infra


def _component(u: dict) -> dict:
    hardware = (u.get("hardware") or "").strip()
    if not hardware:
        return {"componentType": "other", "nbComponent": 1,
                "componentName": "not disclosed" if u["deployment"] == "api" else "not recorded"}
    count, name = 1, hardware
    match = _COUNT.match(hardware)
    if match:
        count, name = int(match.group(1)), match.group(2).strip()
    return {"componentType": "gpu" if _GPU_WORDS.search(name) else "other", "nbComponent": count,
            "componentName": name}


def _environment(u: dict) -> dict:
    env = {"country": u.get("country") or "unknown"}
    if u.get("site"):
        env["location"] = u["site"]
    energy, carbon = u["energy_kwh"]["value"], u["gco2e"]["value"]
    if energy > 0:
        env["powerSourceCarbonIntensity"] = float(f"{carbon / energy:.6g}")
    return env


def _quality(u: dict) -> str:
    shares = u["method_shares"]
    if u["measured_share"] >= 0.9:
        return "high"
    if shares.get("estimated", 0) >= 0.5:
        return "low"
    return "medium"


def _num(x: float) -> float:
    """12 significant digits, as the JSON report: sums of floats give the same bytes every run."""
    return float(f"{x:.12g}")
