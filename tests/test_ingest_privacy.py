"""No personal data: planted names, emails, prompts and keys leave no byte under the database directory."""

from __future__ import annotations

import json

import pytest

from footprint.ingest import ingest_paths
from footprint.records import UseCase
from footprint.register import add_use_case
from footprint.store import open_store

PLANTED = {
    "user": "jeanne.martin-4411",
    "email": "jeanne.martin@example.org",
    "prompt": "SECRET-PROMPT-7731 résumé du dossier médical",
    "api_key": "sk-PLANTED9921",
    "ip": "203.0.113.77",
    "messages": [{"role": "user", "content": "CONTENT-PLANTED-5521"}],
    "metadata": {"user_api_key_alias": "ALIAS-PLANTED-3301"},
}
NEEDLES = [b"jeanne.martin", b"SECRET-PROMPT-7731", b"sk-PLANTED9921", b"203.0.113.77", b"CONTENT-PLANTED-5521",
           b"ALIAS-PLANTED-3301", b"m\xc3\xa9dical"]


def _everything_under(directory) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def _files(tmp_path):
    rows = [dict(timestamp=f"2026-07-03T10:00:0{i}Z", use_case="chat", model="gpt-4o", input_tokens=12 + i,
                 output_tokens=7, **PLANTED) for i in range(3)]
    jsonl = tmp_path / "in" / "pii.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    csv = tmp_path / "in" / "pii.csv"
    csv.write_text(
        "timestamp,use_case,model,input_tokens,output_tokens,user,email,prompt,api_key\n"
        + "".join(f"2026-07-04T10:00:0{i},chat,m,1,{i},{PLANTED['user']},{PLANTED['email']},\"{PLANTED['prompt']}\","
                  f"{PLANTED['api_key']}\n" for i in range(3)),
        encoding="utf-8",
    )
    chat = tmp_path / "in" / "chat.jsonl"
    chat.write_text(json.dumps({
        "id": "chatcmpl-pii", "object": "chat.completion", "created": 1751364000, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "CONTENT-PLANTED-5521"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1}, "user": PLANTED["user"], "metadata": PLANTED["metadata"],
    }) + "\n", encoding="utf-8")
    return jsonl, csv, chat


def test_planted_personal_data_never_reaches_the_database_directory(tmp_path):
    db = tmp_path / "db" / "footprint.duckdb"
    jsonl, csv, chat = _files(tmp_path)
    with open_store(db) as store:
        add_use_case(store, UseCase(slug="chat", name="Chat", team="IT", status="pilot", deployment="api"))
        summary = ingest_paths(store, [jsonl, csv])
        assert summary.rows_added == 6
        assert {"user", "email", "prompt", "api_key"} <= set(summary.fields_dropped)
        assert ingest_paths(store, [chat], fmt="openai", use_case="chat").rows_added == 1
        # a rejected file is rolled back: its data must not linger either
        bad = tmp_path / "in" / "bad.csv"
        bad.write_text(csv.read_text() + f"2026-07-04T10:00:09,chat,m,-1,1,{PLANTED['user']},x,y,z\n")
        with pytest.raises(Exception):
            ingest_paths(store, [bad])
        store.execute("CHECKPOINT")
    blob = _everything_under(db.parent)
    assert blob  # the database and whatever DuckDB left beside it
    for needle in NEEDLES:
        assert needle not in blob, needle


def test_skip_bad_reject_file_carries_no_personal_field(tmp_path):
    db = tmp_path / "db" / "footprint.duckdb"
    jsonl, csv, _ = _files(tmp_path)
    bad = tmp_path / "in" / "mixed.csv"
    bad.write_text(csv.read_text() + f"2026-07-04T10:00:09,chat,m,-1,1,{PLANTED['user']},{PLANTED['email']},p,k\n")
    with open_store(db) as store:
        add_use_case(store, UseCase(slug="chat", name="Chat", team="IT", status="pilot", deployment="api"))
        summary = ingest_paths(store, [bad], skip_bad=True)
    assert summary.rows_rejected == 1
    text = (tmp_path / "in" / "mixed.csv.rejected.csv").read_bytes()
    for needle in NEEDLES:
        assert needle not in text
    assert b"field input_tokens" in text
