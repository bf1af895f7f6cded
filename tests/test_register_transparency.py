"""Transparency register fields (issue 18): where data is processed, last consultation of staff representatives."""

import json

from footprint.periods import parse_quarter
from footprint.reports import build_report

ADD = ["usecase", "add", "mail-triage", "--name", "Mail triage", "--team", "Secretariat", "--status", "pilot",
       "--deployment", "api", "--provider", "openai", "--model", "gpt-4o-mini"]


def test_add_and_edit_register_fields(invoke):
    added = invoke(*ADD, "--data-location", "outside-eu", "--last-consultation", "2026-03-02", "--json")
    assert added.exit_code == 0, added.output
    row = json.loads(added.stdout)
    assert row["data_location"] == "outside-eu" and row["last_consultation"] == "2026-03-02"
    edited = invoke("usecase", "edit", "mail-triage", "--data-location", "eu", "--last-consultation", "2026-09-15")
    assert edited.exit_code == 0, edited.output
    assert "data_location, last_consultation" in edited.stdout
    shown = json.loads(invoke("usecase", "show", "mail-triage", "--json").stdout)
    assert shown["data_location"] == "eu" and shown["last_consultation"] == "2026-09-15"


def test_fields_are_optional_and_null_when_unset(invoke):
    assert invoke(*ADD).exit_code == 0
    row = json.loads(invoke("usecase", "list", "--json").stdout)[0]
    assert row["data_location"] is None and row["last_consultation"] is None


def test_bad_values_are_one_line_errors(invoke):
    bad_place = invoke(*ADD, "--data-location", "moon")
    assert bad_place.exit_code == 2 and "moon" in bad_place.output
    bad_date = invoke(*ADD, "--last-consultation", "2026-13-40")
    assert bad_date.exit_code == 1 and "Traceback" not in bad_date.output
    assert "--last-consultation" in bad_date.output and len(bad_date.output.strip().splitlines()) == 1
    assert json.loads(invoke("usecase", "list", "--json").stdout) == []  # nothing half-written


def test_report_dict_carries_the_register_fields(invoke, db_path):
    invoke(*ADD, "--data-location", "outside-eu", "--last-consultation", "2026-03-02", "--started", "2026-01-05")
    from footprint.store import open_store

    with open_store(db_path) as store:
        report = build_report(store, parse_quarter("2026-Q3"))
    (entry,) = report["use_cases"]
    assert (entry["data_location"], entry["last_consultation"], entry["started"]) == ("outside-eu", "2026-03-02", "2026-01-05")
