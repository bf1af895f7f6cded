"""Vendor formats: our fixtures (written from the documented shapes) and the real samples in ../shared."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from conftest import shared_format
from footprint.errors import InputFileError, ValidationError
from footprint.ingest import detect_format, ingest_paths
from footprint.ingest.source import open_file
from footprint.measurements import list_measurements
from footprint.records import UseCase
from footprint.register import add_use_case

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture
def uc_store(store):
    for slug in ("chat", "legal"):
        add_use_case(store, UseCase(slug=slug, name=slug, team="IT", status="pilot", deployment="api"))
    return store


def _rows(store):
    return store.execute(
        "SELECT ts, model, provider, input_tokens, output_tokens, cached_input_tokens, cache_creation_input_tokens, "
        "requests, source_format FROM usage ORDER BY ts NULLS LAST, model, input_tokens"
    ).fetchall()


@pytest.mark.parametrize("name, fmt", [
    ("openai_chat.jsonl", "openai"), ("openai_batch.jsonl", "openai"), ("openai_usage_page.json", "openai"),
    ("anthropic_messages.jsonl", "anthropic"), ("ollama.jsonl", "ollama"), ("litellm_spend_logs.json", "litellm"),
    ("emissions.csv", "codecarbon"),
])
def test_formats_are_detected_from_content(name, fmt):
    assert detect_format(open_file(FIXTURES / name, name)) == fmt


def test_openai_chat_and_responses(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "openai_chat.jsonl"], use_case="chat")
    # the cancelled response has no usage: skipped and counted, not an error
    assert (summary.rows_added, summary.rows_skipped) == (3, 1)
    assert _rows(uc_store) == [
        (datetime(2025, 7, 1, 10, 0), "gpt-4o-mini", None, 120, 30, 64, None, 1, "openai"),
        (datetime(2025, 7, 1, 11, 0), "gpt-4o-mini", None, 80, 12, None, None, 1, "openai"),
        (datetime(2025, 7, 1, 12, 0), "gpt-4o", None, 300, 50, 100, None, 1, "openai"),
    ]
    assert {"choices", "user", "metadata", "output"} <= set(summary.fields_dropped)


def test_openai_batch_output_skips_failed_lines(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "openai_batch.jsonl"], use_case="chat")
    assert (summary.rows_added, summary.rows_skipped) == (1, 1)
    assert _rows(uc_store)[0][1:5] == ("gpt-4o-mini", None, 22, 2)
    assert "response.body.choices" in summary.fields_dropped


def test_openai_usage_api_buckets_keep_their_request_count(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "openai_usage_page.json"], use_case="chat")
    assert summary.rows_added == 1
    assert _rows(uc_store) == [(datetime(2025, 7, 1), "gpt-4o-mini", None, 5000, 700, 1000, None, 12, "openai-usage")]
    assert {"data.results.user_id", "data.results.api_key_id"} <= set(summary.fields_dropped)


def test_anthropic_cache_tokens_are_kept_apart_and_counted_in_input(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "anthropic_messages.jsonl"], use_case="chat")
    assert summary.rows_added == 2
    assert summary.files[0].rows_without_time == 2
    assert _rows(uc_store) == [
        (None, "claude-haiku-4-5", "anthropic", 10, 3, None, None, 1, "anthropic"),
        (None, "claude-sonnet-4-5", "anthropic", 3050, 40, 2000, 1000, 1, "anthropic"),
    ]


def test_ollama_counts_and_missing_prompt_count(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "ollama.jsonl"], use_case="chat")
    # the stream chunk (done: false, no counts) is skipped
    assert (summary.rows_added, summary.rows_skipped) == (2, 1)
    assert [r[3:5] for r in _rows(uc_store)] == [(26, 290), (0, 5)]
    assert _rows(uc_store)[0][0] == datetime(2025, 7, 1, 10, 0, 0, 123456)


def test_litellm_spend_logs_drop_people_and_keys(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "litellm_spend_logs.json"], use_case="legal")
    assert summary.rows_added == 2
    assert {"api_key", "user", "end_user", "requester_ip_address", "metadata", "messages", "response"} <= set(summary.fields_dropped)
    assert _rows(uc_store) == [
        (datetime(2025, 7, 1, 9, 0), "gpt-4o-mini", "openai", 50, 20, None, None, 1, "litellm"),
        (datetime(2025, 7, 1, 9, 0), "mistral-small", "mistral", 25, 5, None, None, 1, "litellm"),
    ]


def test_litellm_use_case_from_a_mapped_column(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "litellm_spend_logs.json"], mapping={"team_id": "use_case"})
    assert summary.rows_added == 2
    assert uc_store.execute("SELECT DISTINCT use_case FROM usage").fetchall() == [("legal",)]


def test_vendor_records_need_a_use_case(uc_store):
    with pytest.raises(ValidationError, match="give --use-case"):
        ingest_paths(uc_store, [FIXTURES / "openai_chat.jsonl"])


def test_codecarbon_rows_become_measured_records_once(uc_store):
    summary = ingest_paths(uc_store, [FIXTURES / "emissions.csv"])  # use case from project_name
    assert summary.measurements_added == 2
    records = list_measurements(uc_store)
    assert [(r["start"], r["end"]) for r in records] == [
        (datetime(2025, 7, 1, 9, 59), datetime(2025, 7, 1, 10, 0)),
        (datetime(2025, 7, 1, 10, 0), datetime(2025, 7, 1, 10, 1)),
    ]
    # cumulative rows of one run: the second interval gets the difference (kWh -> J)
    assert records[0]["cpu_j"] == pytest.approx(0.0007 * 3.6e6)
    assert records[1]["cpu_j"] == pytest.approx(0.0007 * 3.6e6)
    assert records[1]["gpu_j"] == pytest.approx(0.003 * 3.6e6)
    assert {r["cpu_method"] for r in records} == {"measured:codecarbon"}
    assert {r["use_case"] for r in records} == {"chat"}
    again = ingest_paths(uc_store, [FIXTURES / "emissions.csv"])
    assert again.measurements_added == 0 and len(list_measurements(uc_store)) == 2
    assert "cpu_model" in summary.fields_dropped


def test_codecarbon_unknown_project_needs_use_case(uc_store, tmp_path):
    text = (FIXTURES / "emissions.csv").read_text().replace(",chat,", ",other-project,")
    f = tmp_path / "emissions.csv"
    f.write_text(text)
    with pytest.raises(InputFileError, match=r"emissions.csv:2: field project_name: unknown use case 'other-project'"):
        ingest_paths(uc_store, [f])
    assert list_measurements(uc_store) == []
    assert ingest_paths(uc_store, [f], use_case="legal").measurements_added == 2


# --- real samples from ../shared/data/formats ------------------------------------------------


@pytest.mark.parametrize("name, fmt, added, skipped", [
    ("openai_chat_completions.jsonl", "openai", 6, 0),  # the docs reuse ids such as chatcmpl-123: one request each
    ("openai_responses.jsonl", "openai", 8, 0),
    ("openai_batch_output.jsonl", "openai", 5, 0),
    ("openai_usage_api_completions_page.jsonl", "openai", 1, 0),
    ("vllm_run_batch_output.jsonl", "openai", 4, 0),
    ("anthropic_messages.jsonl", "anthropic", 21, 0),
    ("anthropic_usage_prompt_caching_doc.jsonl", "anthropic", 2, 0),
    ("ollama_generate_final.jsonl", "ollama", 8, 0),
    ("ollama_chat_final.jsonl", "ollama", 9, 0),  # lines 3 and 9 are the same response: counted once
    ("ollama_embed_final.jsonl", "ollama", 1, 0),
])
def test_real_vendor_samples(uc_store, name, fmt, added, skipped):
    path = shared_format(name)
    assert detect_format(open_file(path, name)) == fmt
    summary = ingest_paths(uc_store, [path], use_case="chat")
    assert (summary.rows_added, summary.rows_skipped) == (added, skipped)
    again = ingest_paths(uc_store, [path], use_case="chat")
    assert (again.rows_added, again.rows_present) == (0, summary.rows_read)


def test_real_anthropic_cache_sample_sums_cache_into_input(uc_store):
    path = shared_format("anthropic_usage_prompt_caching_doc.jsonl")
    ingest_paths(uc_store, [path], use_case="chat")
    for total, fresh, read, created in uc_store.execute(
        "SELECT input_tokens, input_tokens - coalesce(cached_input_tokens, 0) - coalesce(cache_creation_input_tokens, 0), "
        "cached_input_tokens, cache_creation_input_tokens FROM usage"
    ).fetchall():
        assert total >= fresh >= 0 and (read or created)


@pytest.mark.parametrize("name, records", [
    ("codecarbon_emissions_example.csv", None),
    ("codecarbon_emissions_valid_headers_v3.csv", 1),
])
def test_real_codecarbon_samples(uc_store, name, records):
    path = shared_format(name)
    assert detect_format(open_file(path, name)) == "codecarbon"
    summary = ingest_paths(uc_store, [path], use_case="chat")
    stored = list_measurements(uc_store)
    assert summary.measurements_added == len(stored) > 0
    if records is not None:
        assert len(stored) == records
    for r in stored:
        assert r["start"] <= r["end"]
        assert all(v is None or v >= 0 for v in (r["cpu_j"], r["gpu_j"], r["ram_j"]))
    assert ingest_paths(uc_store, [path], use_case="chat").measurements_added == 0
