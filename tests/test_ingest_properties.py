"""Property-based: random and malformed input either ingests (exactly once) or fails with one line."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footprint.errors import FootprintError
from footprint.ingest import FORMATS, ingest_paths
from footprint.records import UseCase
from footprint.register import add_use_case

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

nasty_numbers = st.sampled_from(["NaN", "nan", "inf", "-inf", "-0", "0", "1e309", "-1e309", "1e3", "12.5", "-5",
                                 "99999999999999999999", "9007199254740993", "0x10", " 7 ", "", "1_000", "true"])
numbers = st.one_of(nasty_numbers, st.integers(min_value=-(2**70), max_value=2**70).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))
timestamps = st.one_of(
    st.sampled_from(["2026-07-01T10:00:00Z", "2026-07-01 10:00:00", "2026-07-01T10:00:00+02:00",
                     "2026-07-01T10:00:00-05:30", "2026-13-45", "yesterday", "", "0", "9999-12-31T23:59:59"]),
    st.datetimes().map(lambda d: d.isoformat()),
)
text = st.text(max_size=12)
use_cases = st.sampled_from(["chat", "docs", "nope", "", "CHAT"])

_counter = itertools.count()


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@pytest.fixture
def uc_store(store):
    for slug in ("chat", "docs"):
        add_use_case(store, UseCase(slug=slug, name=slug, team="IT", status="pilot", deployment="api"))
    return store


def _check_outcome(store, path, **kwargs):
    """Either a summary (and a re-ingest adds nothing) or a one-line FootprintError, never a traceback."""
    try:
        summary = ingest_paths(store, [path], **kwargs)
    except FootprintError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip()
        assert "Traceback" not in message
        return None
    again = ingest_paths(store, [path], **kwargs)
    assert again.rows_added == 0
    return summary


@SETTINGS
@given(rows=st.lists(st.tuples(timestamps, use_cases, text, numbers, numbers, st.one_of(st.none(), text)), max_size=6))
def test_random_csv_rows_never_traceback(uc_store, tmp_path, rows):
    path = tmp_path / f"r{next(_counter)}.csv"
    lines = ["timestamp,use_case,model,input_tokens,output_tokens,request_id"]
    for ts, uc, model, inp, out, rid in rows:
        lines.append(",".join(_csv_cell(v) for v in (ts, uc, model, inp, out, rid or "")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = uc_store.execute("SELECT count(*) FROM usage").fetchone()[0]
    summary = _check_outcome(uc_store, path)
    after = uc_store.execute("SELECT count(*) FROM usage").fetchone()[0]
    if summary is None:
        assert after == before  # rejected whole: nothing written
    else:
        assert after - before == summary.rows_added
        assert uc_store.execute("SELECT count(*) FROM usage WHERE input_tokens < 0 OR output_tokens < 0").fetchone()[0] == 0


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=8,
)


@SETTINGS
@given(
    objects=st.lists(st.fixed_dictionaries(
        {}, optional={"timestamp": st.one_of(timestamps, json_values), "use_case": st.one_of(use_cases, json_values),
                      "model": json_values, "input_tokens": st.one_of(json_values, numbers),
                      "output_tokens": st.one_of(json_values, numbers), "user": json_values, "usage": json_values}),
        max_size=5),
    fmt=st.sampled_from(["jsonl", "openai", "anthropic", "ollama", "litellm", None]),
)
def test_random_json_objects_never_traceback(uc_store, tmp_path, objects, fmt):
    path = tmp_path / f"r{next(_counter)}.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    _check_outcome(uc_store, path, fmt=fmt, use_case="chat" if fmt not in ("jsonl", None) else None)


@SETTINGS
@given(blob=st.binary(max_size=300), ext=st.sampled_from([".csv", ".jsonl", ".json", ".parquet", ".txt"]),
       fmt=st.sampled_from([None, *FORMATS]))
def test_binary_junk_and_bad_encodings_never_traceback(uc_store, tmp_path, blob, ext, fmt):
    path = tmp_path / f"j{next(_counter)}{ext}"
    path.write_bytes(blob)
    _check_outcome(uc_store, path, fmt=fmt, use_case="chat")


@pytest.mark.parametrize("content", [
    b"", b"\n\n", b"\xef\xbb\xbf", b"timestamp,use_case,model,input_tokens,output_tokens\n2026-07-01,chat,m,\xff\xfe,1\n",
    b"timestamp,use_case,model,input_tokens,output_tokens\n2026-07-01,ch\xe9at,m,1,1\n",
    b'{"timestamp": "2026-07-01", "use_case": "chat", "input_tokens": 1, "output_tokens": 1}\n{not json\n',
    b"[1, 2, 3]", b'"just a string"', b"\x00\x01\x02PAR1",
])
def test_known_malformed_inputs(uc_store, tmp_path, content):
    path = tmp_path / f"m{next(_counter)}.csv"
    path.write_bytes(content)
    for fmt in (None, "csv", "jsonl"):
        _check_outcome(uc_store, path, fmt=fmt)
