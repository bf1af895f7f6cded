"""`footprint report --format boamps`: Boavizta BoAmps JSON, validated against the vendored published schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footprint.periods import parse_quarter
from footprint.reports import build_report, render
from report_helpers import StandInEstimator, small_org

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "boamps"
Q3 = parse_quarter("2026-Q3")


def validator():
    """A draft-04 validator whose https $refs resolve to the vendored files, never to the network."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    resources = []
    for path in sorted(SCHEMAS.glob("*_schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)))
    def refuse(uri):
        raise AssertionError(f"schema reference {uri} is not vendored")

    registry = Registry(retrieve=refuse).with_resources(resources)
    report_schema = json.loads((SCHEMAS / "report_schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(report_schema)
    return jsonschema.Draft4Validator(report_schema, registry=registry)


@pytest.fixture
def report(store):
    small_org(store, with_usage=True)
    return build_report(store, Q3, estimator=StandInEstimator())


def test_every_report_validates_against_the_published_schema(report):
    reports = json.loads(render(report, "boamps"))
    with_energy = [u["slug"] for u in report["use_cases"] if u["energy_kwh"]["value"] > 0]
    assert len(reports) == len(with_energy) >= 2
    v = validator()
    for item in reports:
        errors = sorted(v.iter_errors(item), key=str)
        assert not errors, [e.message for e in errors]


def test_the_validator_rejects_what_the_schema_forbids(report):
    """The check can fail: a report without measures or with a bad quality is refused."""
    item = json.loads(render(report, "boamps"))[0]
    v = validator()
    assert not list(v.iter_errors(item))
    broken = dict(item, quality="excellent")
    assert list(v.iter_errors(broken))
    del broken["measures"]
    assert any("measures" in e.message for e in v.iter_errors(broken))


def test_figures_match_the_json_report(report):
    by_name = {r["header"]["publisher"]["projectName"]: r for r in json.loads(render(report, "boamps"))}
    for u in report["use_cases"]:
        if u["energy_kwh"]["value"] <= 0:
            assert u["name"] not in by_name
            continue
        r = by_name[u["name"]]
        b = u["breakdown_kwh"]
        total = sum(m["powerConsumption"] for m in r["measures"])
        assert total == pytest.approx(b["gpu"] + b["cpu"] + b["ram"] + b["estimated"], rel=1e-9)
        assert r["infrastructure"]["infraType"] == {"on-prem": "onPremise", "api": "publicCloud", "cloud": "publicCloud"}[u["deployment"]]
        assert r["header"]["reportDatetime"] == "2026-10-01 00:00:00"
        assert r["measures"][0]["measurementDuration"] == 92 * 86400
        if u["method_shares"]["estimated"] == 1.0:
            assert r["quality"] == "low" and r["task"]["nbRequest"] == sum(g["requests"] for g in u["estimates"])


def test_same_data_gives_same_bytes_and_stable_ids(report):
    first, second = render(report, "boamps"), render(report, "boamps")
    assert first == second
    ids = [r["header"]["reportId"] for r in json.loads(first)]
    assert len(set(ids)) == len(ids)


def test_cli_writes_boamps_for_the_demo(invoke, db_path, tmp_path):
    assert invoke("demo").exit_code == 0
    out = tmp_path / "b.json"
    result = invoke("report", "--quarter", "2026-Q3", "--format", "boamps", "-o", str(out))
    assert result.exit_code == 0, result.output
    reports = json.loads(out.read_text(encoding="utf-8"))
    assert len(reports) == 7  # every demo use case has energy in 2026-Q3
    v = validator()
    assert all(not list(v.iter_errors(r)) for r in reports)
    locations = {r["header"]["publisher"]["projectName"]: r["infrastructure"]["infraType"] for r in reports}
    assert locations["Tender documents analysis"] == "publicCloud"
    assert locations["Code assistant for the development teams"] == "onPremise"
