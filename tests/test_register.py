"""The use-case register and benefits, through the CLI runner."""

import json

import pytest

ADD = ["usecase", "add", "tender-analysis", "--name", "Tender analysis", "--team", "Purchasing IT",
       "--status", "pilot", "--deployment", "api", "--provider", "mistralai",
       "--model", "mistral-large-latest", "--country", "fra"]


def test_add_then_list_json_has_contract_keys(invoke):
    result = invoke(*ADD)
    assert result.exit_code == 0, result.output
    assert "added use case tender-analysis" in result.output
    listed = invoke("usecase", "list", "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in ("slug", "name", "team", "status", "deployment", "provider", "model", "country")} == {
        "slug": "tender-analysis", "name": "Tender analysis", "team": "Purchasing IT", "status": "pilot",
        "deployment": "api", "provider": "mistralai", "model": "mistral-large-latest", "country": "FRA",
    }
    assert row["region"] is None and row["hardware"] is None and row["tags"] == []


def test_unset_fields_are_null_in_json(invoke):
    assert invoke("usecase", "add", "bare", "--name", "B", "--team", "T", "--status", "idea",
                  "--deployment", "cloud").exit_code == 0
    row = json.loads(invoke("usecase", "list", "--json").stdout)[0]
    assert row["provider"] is None and row["model"] is None and row["country"] is None


def test_list_filters_by_status_and_prints_a_table(invoke):
    invoke(*ADD)
    invoke("usecase", "add", "chat", "--name", "Chat", "--team", "IT", "--status", "production", "--deployment", "api")
    assert [r["slug"] for r in json.loads(invoke("usecase", "list", "--status", "production", "--json").stdout)] == ["chat"]
    table = invoke("usecase", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["slug", "name", "team"]
    assert table[1].startswith("chat") and table[2].startswith("tender-analysis")


def test_show_includes_benefits(invoke):
    invoke(*ADD)
    invoke("benefit", "set", "tender-analysis", "--period", "2026-Q3", "--value", "120", "--unit", "hours saved",
           "--evidence", "pilot survey")
    shown = json.loads(invoke("usecase", "show", "tender-analysis", "--json").stdout)
    assert shown["slug"] == "tender-analysis"
    assert shown["benefits"][0]["value"] == 120 and shown["benefits"][0]["unit"] == "hours saved"
    text = invoke("usecase", "show", "tender-analysis").stdout
    assert "benefit 2026-Q3: 120 hours saved (pilot survey)" in text


def test_edit_changes_only_given_fields(invoke):
    invoke(*ADD)
    result = invoke("usecase", "edit", "tender-analysis", "--hardware", "H100-SXM x8", "--tag", "rag,pilot", "--tag", "eu")
    assert result.exit_code == 0, result.output
    row = json.loads(invoke("usecase", "show", "tender-analysis", "--json").stdout)
    assert row["hardware"] == "H100-SXM x8" and row["tags"] == ["eu", "pilot", "rag"]
    assert row["name"] == "Tender analysis" and row["country"] == "FRA"


def test_edit_without_fields_is_a_user_error(invoke):
    invoke(*ADD)
    result = invoke("usecase", "edit", "tender-analysis")
    assert result.exit_code == 1 and "nothing to change" in result.stderr


def test_retire_sets_status_and_date(invoke):
    invoke(*ADD)
    assert invoke("usecase", "retire", "tender-analysis", "--date", "2026-09-30").exit_code == 0
    row = json.loads(invoke("usecase", "show", "tender-analysis", "--json").stdout)
    assert row["status"] == "retired" and row["retired"] == "2026-09-30"


def test_benefit_set_again_replaces_and_keeps_history(invoke, db_path):
    invoke(*ADD)
    invoke("benefit", "set", "tender-analysis", "--period", "2026-Q3", "--value", "120", "--unit", "hours saved")
    invoke("benefit", "set", "tender-analysis", "--period", "2026-Q3", "--value", "90", "--unit", "hours saved",
           "--evidence", "audited")
    rows = json.loads(invoke("benefit", "list", "tender-analysis", "--json").stdout)
    assert [(r["period"], r["value"], r["evidence"]) for r in rows] == [("2026-Q3", 90, "audited")]
    from footprint.register import benefit_history
    from footprint.store import open_store

    with open_store(db_path) as store:
        history = benefit_history(store, "tender-analysis")
    assert [(h["value"], h["evidence"]) for h in history] == [(120, None)]


def test_benefit_list_all(invoke):
    invoke(*ADD)
    invoke("usecase", "add", "chat", "--name", "Chat", "--team", "IT", "--status", "production", "--deployment", "api")
    invoke("benefit", "set", "chat", "--period", "2026-Q2", "--value", "5", "--unit", "documents")
    invoke("benefit", "set", "tender-analysis", "--period", "2026-Q3", "--value", "7", "--unit", "tenders")
    rows = json.loads(invoke("benefit", "list", "--json").stdout)
    assert [(r["use_case"], r["period"]) for r in rows] == [("chat", "2026-Q2"), ("tender-analysis", "2026-Q3")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["usecase", "show", "nope"], "unknown use case 'nope'"),
        (ADD, "already exists"),
        (["benefit", "set", "tender-analysis", "--period", "2026-Q7", "--value", "1", "--unit", "h"], "bad period '2026-Q7'"),
        (["usecase", "add", "x2", "--name", "X", "--team", "T", "--status", "pilot", "--deployment", "api",
          "--country", "ZZZZ"], "unknown country 'ZZZZ'"),
        (["usecase", "add", "Bad_Slug", "--name", "X", "--team", "T", "--status", "pilot", "--deployment", "api"], "bad slug"),
        (["benefit", "set", "nope", "--period", "2026-Q1", "--value", "1", "--unit", "h"], "unknown use case 'nope'"),
        (["benefit", "set", "tender-analysis", "--period", "2026-Q1", "--value", "-1", "--unit", "h"], "bad benefit value"),
        (["benefit", "set", "tender-analysis", "--period", "2026-Q1", "--value", "nan", "--unit", "h"], "bad benefit value"),
        (["usecase", "retire", "tender-analysis", "--date", "31/12/2026"], "bad --date"),
        (["usecase", "add", "x3", "--name", " ", "--team", "T", "--status", "pilot", "--deployment", "api"], "name must not be empty"),
        (["usecase", "edit", "tender-analysis", "--pue", "0.5"], "bad pue"),
    ],
)
def test_user_errors_exit_1_with_one_line(invoke, args, message):
    assert invoke(*ADD).exit_code == 0
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["usecase", "add", "x", "--name", "X", "--team", "T", "--status", "bogus", "--deployment", "api"],
        ["usecase", "add", "x", "--name", "X", "--team", "T", "--status", "pilot", "--deployment", "moon"],
        ["usecase", "list", "--frobnicate"],
        ["usecase", "add", "x", "--name", "X"],
        ["benefit", "set", "x", "--period", "2026-Q1", "--value", "lots", "--unit", "h"],
    ],
)
def test_bad_usage_exits_2(invoke, args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
