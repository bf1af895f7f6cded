"""The JSON report contract: keys, completeness, sums, ranges, determinism."""

from __future__ import annotations

import json

import pytest

from footprint.periods import parse_quarter
from footprint.register import list_use_cases
from footprint.reports import build_report, render
from report_helpers import StandInEstimator, small_org

Q3 = parse_quarter("2026-Q3")


@pytest.fixture
def report(store):
    small_org(store, with_usage=True)
    return build_report(store, Q3, estimator=StandInEstimator())


def test_contract_keys_and_every_registered_use_case(store, report):
    assert {"period", "totals", "idle", "factors", "use_cases"} <= set(report)
    assert report["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    slugs = [u["slug"] for u in report["use_cases"]]
    assert set(slugs) == {u.slug for u in list_use_cases(store)}
    old = next(u for u in report["use_cases"] if u["slug"] == "old")
    assert old["status"] == "retired" and old["energy_kwh"]["value"] == 0
    for u in report["use_cases"]:
        for key in ("energy_kwh", "gco2e", "water_l", "embodied_gco2e"):
            r = u[key]
            assert set(r) == {"value", "low", "high"} and r["low"] <= r["value"] <= r["high"]
        assert 0 <= u["measured_share"] <= 1
        assert u["name"] and "benefit" in u and "gco2e_per_benefit_unit" in u


def test_totals_are_use_cases_plus_idle(report):
    for key in ("energy_kwh", "gco2e", "water_l", "embodied_gco2e", "gco2e_market"):
        listed = sum(u[key]["value"] for u in report["use_cases"]) + report["idle"][key]["value"]
        assert report["totals"][key]["value"] == pytest.approx(listed, rel=1e-9)
        assert report["totals"][key]["value"] > 0
    assert report["idle"]["unallocated_energy_kwh"]["value"] > 0
    assert report["idle"]["idle_energy_kwh"]["value"] > 0
    assert report["conservation"]["holds"] is True


def test_benefit_and_carbon_per_benefit_unit(report):
    by = {u["slug"]: u for u in report["use_cases"]}
    chat = by["chat"]
    assert chat["benefit"] == {"value": 120.0, "unit": "hours saved", "evidence": "survey <b>Q3</b>"}
    assert chat["gco2e_per_benefit_unit"]["value"] == pytest.approx(chat["gco2e"]["value"] / 120, rel=1e-9)
    assert by["docs"]["benefit"] is None and by["docs"]["gco2e_per_benefit_unit"] is None
    assert by["docs"]["benefit_missing"] is True
    # trend against 2026-Q2
    assert chat["previous"]["gco2e"] > 0 and chat["trend_gco2e_pct"] is not None


def test_measured_and_estimated_shares(report):
    by = {u["slug"]: u for u in report["use_cases"]}
    assert by["xss"]["measured_share"] == 0 and by["xss"]["energy_kwh"]["value"] > 0
    assert by["xss"]["methods"] == ["estimated:tokens"]
    assert 0.5 < by["chat"]["measured_share"] < 1  # RAM is modelled, not measured
    assert report["esrs"]["e1_6_scope3_cat1_tco2e"]["value"] > 0
    assert report["esrs"]["e1_6_scope2_market_tco2e"]["value"] < report["esrs"]["e1_6_scope2_location_tco2e"]["value"]


def test_factors_and_methods_are_listed_with_sources(report):
    for f in report["factors"]:
        assert f["source"] and f["used_for"]
    methods = {m["method"] for m in report["methods"]}
    assert {"measured:nvml-counter", "measured:rapl", "modelled:ram", "estimated:tokens"} <= methods


def test_same_data_gives_byte_identical_json(store):
    small_org(store, with_usage=True)
    first = render(build_report(store, Q3, estimator=StandInEstimator()), "json")
    second = render(build_report(store, Q3, estimator=StandInEstimator()), "json")
    assert first == second
    assert json.loads(first)["schema"] == "footprint.report/1"
    assert "generated" not in first


def test_allocate_idle_moves_idle_into_use_cases(store):
    small_org(store)
    plain = build_report(store, Q3, estimator=StandInEstimator())
    shared = build_report(store, Q3, allocate_idle=True, estimator=StandInEstimator())
    assert shared["idle"]["idle_energy_kwh"]["value"] == 0
    assert shared["idle"]["allocated_energy_kwh"] > 0
    assert shared["totals"]["energy_kwh"]["value"] == pytest.approx(plain["totals"]["energy_kwh"]["value"], rel=1e-9)
