"""Generic usage tables (CSV, JSONL, Parquet): columns, --map, --use-case, exactly once, validation."""

from __future__ import annotations

import json
import os
import stat

import duckdb
import pytest

from footprint.errors import InputFileError, NotFoundError, ValidationError
from footprint.ingest import ingest_paths, list_ingests
from footprint.records import UseCase
from footprint.register import add_use_case
from footprint.usage import usage_rows

HEADER = "timestamp,use_case,model,input_tokens,output_tokens,request_id\n"


def _register(store, *slugs):
    for slug in slugs:
        add_use_case(store, UseCase(slug=slug, name=slug.title(), team="IT", status="pilot", deployment="api"))


@pytest.fixture
def uc_store(store):
    _register(store, "chat", "docs")
    return store


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _totals(store):
    rows = usage_rows(store)
    return (sum(r["requests"] for r in rows), sum(r["input_tokens"] for r in rows), sum(r["output_tokens"] for r in rows))


def _count(store):
    return store.execute("SELECT count(*) FROM usage").fetchone()[0]


def test_csv_rows_are_stored_with_their_fields(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER + "2026-07-01T10:00:00Z,chat,gpt-4o,100,20,r1\n"
               "2026-07-01T12:00:00+02:00,docs,mistral-small,7,3,r2\n")
    summary = ingest_paths(uc_store, [f])
    assert (summary.rows_added, summary.rows_present) == (2, 0)
    rows = uc_store.execute("SELECT ts, use_case, model, input_tokens, output_tokens, source_format FROM usage ORDER BY ts").fetchall()
    # The +02:00 offset is converted: 12:00+02:00 is 10:00 UTC.
    assert [r[0].isoformat() for r in rows] == ["2026-07-01T10:00:00", "2026-07-01T10:00:00"]
    assert {r[1:] for r in rows} == {("chat", "gpt-4o", 100, 20, "csv"), ("docs", "mistral-small", 7, 3, "csv")}


def test_same_file_twice_changes_nothing(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER + "2026-07-01T10:00:00,chat,gpt-4o,100,20,r1\n2026-07-01T10:00:01,chat,gpt-4o,5,5,r2\n")
    ingest_paths(uc_store, [f])
    before = _totals(uc_store)
    again = ingest_paths(uc_store, [f])
    assert (again.rows_added, again.rows_present) == (0, 2)
    assert _totals(uc_store) == before == (2, 105, 25)


def test_overlapping_files_and_new_version_add_only_new_rows(uc_store, tmp_path):
    a = _write(tmp_path / "a.csv", HEADER + "2026-07-01T10:00:00,chat,gpt-4o,1,1,r1\n2026-07-01T10:00:01,chat,gpt-4o,2,2,r2\n")
    b = _write(tmp_path / "b.csv", HEADER + "2026-07-01T10:00:01,chat,gpt-4o,2,2,r2\n2026-07-01T10:00:02,chat,gpt-4o,3,3,r3\n")
    ingest_paths(uc_store, [a])
    second = ingest_paths(uc_store, [b])
    assert (second.rows_added, second.rows_present) == (1, 1)
    # a new version of a.csv: its old rows plus one appended
    _write(a, a.read_text() + "2026-07-01T10:00:03,chat,gpt-4o,4,4,r4\n")
    third = ingest_paths(uc_store, [a])
    assert (third.rows_added, third.rows_present) == (1, 2)
    assert _totals(uc_store) == (4, 10, 10)


def test_rows_without_request_id_are_keyed_by_their_fields(uc_store, tmp_path):
    text = "timestamp,use_case,model,input_tokens,output_tokens\n2026-07-01T10:00:00,chat,m,1,1\n2026-07-01T10:00:00,chat,m,1,2\n"
    f = _write(tmp_path / "u.csv", text)
    assert ingest_paths(uc_store, [f]).rows_added == 2
    g = _write(tmp_path / "v.csv", text + "2026-07-01T10:00:05,chat,m,1,1\n")
    assert (ingest_paths(uc_store, [g]).rows_added, _count(uc_store)) == (1, 3)


def test_repeated_row_within_one_file_counts_once(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER + "2026-07-01T10:00:00,chat,m,1,1,r1\n2026-07-01T10:00:00,chat,m,1,1,r1\n")
    summary = ingest_paths(uc_store, [f])
    assert (summary.rows_added, summary.rows_present, _count(uc_store)) == (1, 1, 1)


def test_map_renames_columns_and_use_case_fills_missing(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", "time,llm,prompt_tokens,completion_tokens,user\n"
               "2026-07-01T10:00:00,gpt-4o,10,2,marie\n")
    summary = ingest_paths(uc_store, [f], use_case="chat", mapping={
        "time": "timestamp", "llm": "model", "prompt_tokens": "input_tokens", "completion_tokens": "output_tokens"})
    assert summary.rows_added == 1
    assert summary.fields_dropped == {"user": 1}
    assert uc_store.execute("SELECT use_case, model, input_tokens FROM usage").fetchall() == [("chat", "gpt-4o", 10)]


def test_bad_map_target_is_refused(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER)
    with pytest.raises(ValidationError, match="FIELD must be one of"):
        ingest_paths(uc_store, [f], mapping={"x": "email"})


@pytest.mark.parametrize(
    "row, field, problem",
    [
        ("2026-07-01T10:00:01,chat,gpt-4o,10,-5,r2", "output_tokens", "not a non-negative integer: '-5'"),
        ("2026-07-01T10:00:01,chat,gpt-4o,12.5,5,r2", "input_tokens", "not a non-negative integer: '12.5'"),
        ("2026-07-01T10:00:01,chat,gpt-4o,abc,5,r2", "input_tokens", "not a non-negative integer: 'abc'"),
        ("2026-07-01T10:00:01,chat,gpt-4o,NaN,5,r2", "input_tokens", "not a non-negative integer"),
        ("2026-07-01T10:00:01,chat,gpt-4o,1e309,5,r2", "input_tokens", "not a non-negative integer"),
        ("2026-07-01T10:00:01,chat,gpt-4o,99999999999999999999,5,r2", "input_tokens", "not a non-negative integer"),
        ("yesterday,chat,gpt-4o,1,5,r2", "timestamp", "not a timestamp: 'yesterday'"),
        (",chat,gpt-4o,1,5,r2", "timestamp", "missing"),
        ("2026-07-01T10:00:01,sales,gpt-4o,1,5,r2", "use_case", "unknown use case 'sales'"),
        ("2026-07-01T10:00:01,,gpt-4o,1,5,r2", "use_case", "missing"),
        ("2026-07-01T10:00:01,chat,gpt-4o,,5,r2", "input_tokens", "missing"),
    ],
)
def test_a_bad_row_rejects_the_whole_file_naming_line_and_field(uc_store, tmp_path, row, field, problem):
    f = _write(tmp_path / "bad.csv", HEADER + "2026-07-01T10:00:00,chat,gpt-4o,10,5,r1\n" + row + "\n")
    with pytest.raises(InputFileError) as info:
        ingest_paths(uc_store, [f])
    message = str(info.value)
    assert message.startswith(f"{f}:3: field {field}: ")
    assert problem in message
    assert "\n" not in message
    assert _count(uc_store) == 0
    assert list_ingests(uc_store) == []


def test_missing_required_column_is_named(uc_store, tmp_path):
    f = _write(tmp_path / "bad.csv", "timestamp,use_case,model,input_tokens\n2026-07-01,chat,m,1\n")
    with pytest.raises(InputFileError, match=r"bad.csv:1: field output_tokens: missing column"):
        ingest_paths(uc_store, [f])
    assert _count(uc_store) == 0


def test_jsonl_bad_row_names_its_line(uc_store, tmp_path):
    lines = [
        {"timestamp": "2026-07-01T10:00:00Z", "use_case": "chat", "model": "m", "input_tokens": 1, "output_tokens": 1},
        {"timestamp": "2026-07-01T10:00:01Z", "use_case": "chat", "model": "m", "input_tokens": 1.5, "output_tokens": 1},
    ]
    f = _write(tmp_path / "u.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InputFileError, match=r"u.jsonl:2: field input_tokens: not a non-negative integer: '1.5'"):
        ingest_paths(uc_store, [f])
    assert _count(uc_store) == 0


def test_skip_bad_keeps_good_rows_and_writes_an_owner_only_reject_file(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", "timestamp,use_case,model,input_tokens,output_tokens,email\n"
               "2026-07-01T10:00:00,chat,m,1,1,marie@example.org\n"
               "2026-07-01T10:00:01,chat,m,-1,1,paul@example.org\n"
               "2026-07-01T10:00:02,nope,m,1,1,jean@example.org\n")
    summary = ingest_paths(uc_store, [f], skip_bad=True)
    assert (summary.rows_added, summary.rows_rejected) == (1, 2)
    reject = tmp_path / "u.csv.rejected.csv"
    assert summary.files[0].reject_file == str(reject)
    assert stat.S_IMODE(os.stat(reject).st_mode) == 0o600
    text = reject.read_text()
    assert "field input_tokens" in text and "unknown use case 'nope'" in text
    assert "example.org" not in text and "email" not in text
    assert text.splitlines()[1].startswith("3,")


def test_parquet_is_read_with_read_parquet(uc_store, tmp_path):
    path = tmp_path / "u.parquet"
    duckdb.connect().execute(
        "COPY (SELECT TIMESTAMP '2026-07-01 10:00:00' + to_seconds(i) AS timestamp, 'chat' AS use_case, 'm' AS model, "
        "i::INTEGER AS input_tokens, 2::BIGINT AS output_tokens, 'secret prompt' AS prompt FROM range(5) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    summary = ingest_paths(uc_store, [path])
    assert (summary.rows_added, summary.fields_dropped) == (5, {"prompt": 5})
    assert _totals(uc_store) == (5, 10, 10)


def test_directories_and_globs(uc_store, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    _write(d / "a.csv", HEADER + "2026-07-01T10:00:00,chat,m,1,1,r1\n")
    _write(d / "b.csv", HEADER + "2026-07-01T10:00:01,chat,m,1,1,r2\n")
    _write(d / "notes.txt", "not a log\n")
    assert ingest_paths(uc_store, [d]).rows_added == 2
    assert ingest_paths(uc_store, [str(d / "*.csv")]).rows_present == 2
    with pytest.raises(NotFoundError):
        ingest_paths(uc_store, [str(tmp_path / "nothing-*.csv")])
    with pytest.raises(NotFoundError):
        ingest_paths(uc_store, [tmp_path / "missing.csv"])


def test_empty_and_header_only_files_add_nothing(uc_store, tmp_path):
    empty = _write(tmp_path / "empty.csv", "")
    header = _write(tmp_path / "header.csv", HEADER)
    summary = ingest_paths(uc_store, [empty, header])
    assert summary.rows_added == 0 and _count(uc_store) == 0


def test_unknown_use_case_option_is_refused(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER)
    with pytest.raises(NotFoundError, match="unknown use case 'sales'"):
        ingest_paths(uc_store, [f], use_case="sales")


def test_ingests_table_records_counts_not_contents(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", "timestamp,use_case,model,input_tokens,output_tokens,user\n2026-07-01,chat,m,1,1,marie\n")
    ingest_paths(uc_store, [f])
    ingest_paths(uc_store, [f])
    rows = list_ingests(uc_store)
    assert [(r["file_name"], r["rows_added"], r["rows_present"], r["fields_dropped"]) for r in rows] == [
        ("u.csv", 1, 0, ["user"]), ("u.csv", 0, 1, ["user"])]
    columns = {r[0] for r in uc_store.execute("SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name IN ('usage', 'ingests')").fetchall()}
    assert not columns & {"user", "email", "user_id", "api_key", "prompt", "content", "ip", "person"}


# --- CLI -------------------------------------------------------------------------------------


def test_cli_ingest_reports_added_present_and_dropped(invoke, tmp_path):
    invoke("usecase", "add", "chat", "--name", "Chat", "--team", "IT", "--status", "pilot", "--deployment", "api")
    f = _write(tmp_path / "u.csv", "timestamp,use_case,model,input_tokens,output_tokens,email\n2026-07-01,chat,m,3,4,a@b.c\n")
    first = invoke("ingest", str(f))
    assert first.exit_code == 0, first.output
    assert "1 rows added, 0 already present" in first.output
    assert "dropped 1 fields, never read: email" in first.output
    second = invoke("ingest", str(f), "--json")
    data = json.loads(second.output)
    assert (data["rows_added"], data["rows_present"], data["fields_dropped"]) == (0, 1, {"email": 1})


def test_cli_bad_file_is_one_line_exit_1(tmp_path, db_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "footprint"
    env = {**os.environ, "FOOTPRINT_DB": str(db_path)}
    subprocess.run([str(exe), "usecase", "add", "chat", "--name", "C", "--team", "T", "--status", "pilot",
                    "--deployment", "api"], env=env, check=True, capture_output=True)
    f = _write(tmp_path / "bad.csv", "timestamp,use_case,model,input_tokens,output_tokens\n"
               "2026-07-02T00:00:00,chat,gpt-4o,10,5\n2026-07-02T00:00:01,chat,gpt-4o,10,-5\n")
    done = subprocess.run([str(exe), "ingest", str(f)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {f}:3: field output_tokens: not a non-negative integer: '-5'"
    assert done.stdout == ""


def test_cli_stdin_needs_no_file(invoke, tmp_path):
    invoke("usecase", "add", "chat", "--name", "Chat", "--team", "IT", "--status", "pilot", "--deployment", "api")
    text = HEADER + "2026-07-01T10:00:00,chat,m,1,2,r1\n"
    result = invoke("ingest", "-", "--format", "csv", input=text)
    assert result.exit_code == 0, result.output
    assert "stdin (csv): 1 rows added" in result.output
    again = invoke("ingest", "-", input=text)  # detected from content
    assert "0 rows added, 1 already present" in again.output


def test_cli_map_needs_column_equals_field(invoke, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER)
    result = invoke("ingest", str(f), "--map", "nonsense")
    assert result.exit_code == 2


def test_progress_bar_only_on_a_terminal_for_big_files(tmp_path, monkeypatch):
    from footprint import cli

    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (cli._PROGRESS_MIN_BYTES + 1))
    small = _write(tmp_path / "small.csv", HEADER)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    assert cli._wants_progress([str(big)], as_json=False)
    assert not cli._wants_progress([str(big)], as_json=True)
    assert not cli._wants_progress([str(small)], as_json=False)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: False, raising=False)
    assert not cli._wants_progress([str(big)], as_json=False)


def test_progress_callback_and_session_settings_restored(uc_store, tmp_path):
    f = _write(tmp_path / "u.csv", HEADER + "".join(f"2026-07-01T10:00:00,chat,m,{i},1,r{i}\n" for i in range(2000)))
    before = uc_store.execute("SELECT current_setting('TimeZone'), current_setting('memory_limit')").fetchone()
    calls = []
    ingest_paths(uc_store, [f], progress=lambda label, pct: calls.append((label, pct)))
    assert uc_store.execute("SELECT current_setting('TimeZone'), current_setting('memory_limit')").fetchone() == before
    assert all(label == str(f) and 0 <= pct <= 100 for label, pct in calls)
