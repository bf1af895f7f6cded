"""`footprint compare`: side by side, same engine as the report."""

from __future__ import annotations

import json

from footprint.store import open_store
from report_helpers import small_org


def test_compare_json_and_table(invoke, db_path):
    with open_store(db_path) as store:
        small_org(store)
    result = invoke("compare", "chat", "batch", "--quarter", "2026-Q3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "2026-Q3"
    assert [u["slug"] for u in data["use_cases"]] == ["chat", "batch"]
    for u in data["use_cases"]:
        assert {"energy_kwh", "gco2e", "water_l", "gco2e_per_benefit_unit", "measured_share", "model",
                "deployment"} <= set(u)
    result = invoke("compare", "chat", "docs", "--quarter", "2026-Q3")
    assert result.exit_code == 0
    assert "no benefit" in result.stdout and "footprint estimate" in result.stdout


def test_compare_rejects_unknown_or_single(invoke, db_path):
    with open_store(db_path) as store:
        small_org(store)
    assert invoke("compare", "chat", "--quarter", "2026-Q3").exit_code == 1
    result = invoke("compare", "chat", "nope", "--quarter", "2026-Q3")
    assert result.exit_code == 1
