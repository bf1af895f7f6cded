"""Real-world variants of the vendor and generic formats, through the CLI: the counts `footprint usage
--json` shows, exactly once on a second ingest, or a one-line error naming the file, exit 1, nothing written.

Each variant is written from the vendor's documented shape into tmp_path.
"""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def cli(invoke):
    assert invoke("usecase", "add", "chat", "--name", "Chat", "--team", "IT", "--status", "pilot",
                  "--deployment", "api").exit_code == 0
    return invoke


def _jsonl(*objects) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def _ingest(cli, path, *args) -> dict:
    result = cli("ingest", str(path), "--use-case", "chat", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _ingest_twice(cli, path, *args) -> dict:
    """Ingest, check a second ingest adds nothing, and return the first summary."""
    first = _ingest(cli, path, *args)
    again = _ingest(cli, path, *args)
    assert (again["rows_added"], again["rows_present"]) == (0, first["rows_added"] + first["rows_present"])
    return first


def _usage(cli) -> list[tuple]:
    result = cli("usage", "--json")
    assert result.exit_code == 0, result.output
    return [(r["model"], r["requests"], r["input_tokens"], r["output_tokens"], r["cached_input_tokens"])
            for r in json.loads(result.output)]


def _refused(cli, path, *args) -> str:
    """Ingest must fail with one line naming the file, exit 1, nothing written; returns the line."""
    before = _usage(cli)
    result = cli("ingest", str(path), "--use-case", "chat", *args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = result.output.strip()
    assert "\n" not in message and str(path) in message
    assert _usage(cli) == before
    return message


_PAGE = {
    "object": "page",
    "data": [
        {"object": "bucket", "start_time": 1730419200, "end_time": 1730505600, "results": [
            {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 500,
             "input_cached_tokens": 800, "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": 5,
             "project_id": None, "user_id": None, "api_key_id": None, "model": None, "batch": None}]},
        {"object": "bucket", "start_time": 1730505600, "end_time": 1730592000, "results": []},
    ],
    "has_more": False,
    "next_page": None,
}


def test_pretty_printed_usage_page_and_single_response_are_read(cli, tmp_path):
    """`curl … > usage.json` saves one pretty-printed object: detected and read like its one-line form."""
    page = tmp_path / "usage.json"
    page.write_text(json.dumps(_PAGE, indent=2), encoding="utf-8")
    summary = _ingest_twice(cli, page)
    assert summary["files"][0]["format"] == "openai-usage"
    assert "data.results.user_id" in summary["fields_dropped"]
    response = tmp_path / "response.json"
    response.write_text(json.dumps({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Bonjour"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 30,
                  "output_tokens": 7, "service_tier": "standard"}}, indent=2), encoding="utf-8")
    assert _ingest_twice(cli, response)["files"][0]["format"] == "anthropic"
    assert sorted(_usage(cli), key=str) == sorted([(None, 5, 1000, 500, 800), ("claude-sonnet-4-5", 1, 40, 7, 30)], key=str)


def _bucket(start, *results):
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": list(results)}


def test_usage_api_embeddings_and_images_pages_count_beside_completions(cli, tmp_path):
    """Embeddings and moderations results carry no output tokens, images results an image count only; each
    endpoint's page of the same window is its own usage (model null: not grouped by model)."""
    day = 1730419200
    completions = {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 500,
                   "input_cached_tokens": 0, "num_model_requests": 5, "project_id": None, "model": None, "batch": None}
    embeddings = {"object": "organization.usage.embeddings.result", "input_tokens": 16, "num_model_requests": 2,
                  "project_id": None, "user_id": None, "api_key_id": None, "model": None}
    images = {"object": "organization.usage.images.result", "images": 3, "num_model_requests": 2, "size": None,
              "source": None, "project_id": None, "user_id": None, "api_key_id": None, "model": None}
    speech = {"object": "organization.usage.audio_speeches.result", "characters": 45, "num_model_requests": 1,
              "project_id": None, "model": None}
    for name, result in (("completions", completions), ("embeddings", embeddings), ("images", images),
                         ("speeches", speech)):
        page = tmp_path / f"usage_{name}.jsonl"
        page.write_text(_jsonl({"object": "page", "data": [_bucket(day, result)], "has_more": False,
                                "next_page": None}), encoding="utf-8")
        summary = _ingest_twice(cli, page)
        assert (summary["rows_added"], summary["rows_skipped"]) == ((0, 1) if name == "speeches" else (1, 0))
    rows = json.loads(cli("usage", "--json").output)
    assert [(r["requests"], r["input_tokens"], r["output_tokens"], r["images"]) for r in rows] == [(9, 1016, 500, 3)]


def test_usage_api_page_grouped_by_user_keeps_every_result_without_reading_the_user(cli, tmp_path):
    """group_by=user_id (or api_key_id) gives several results per bucket and model: all are counted, the user
    ids are never read, and the page repeated in the same file still counts once."""
    def result(user, tokens, requests):
        return {"object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": tokens // 10,
                "input_cached_tokens": 0, "num_model_requests": requests, "project_id": "proj_a", "user_id": user,
                "api_key_id": None, "model": "gpt-4o-2024-08-06", "batch": False}
    page = {"object": "page", "data": [_bucket(1730419200, result("user-a", 100, 1), result("user-b", 200, 2),
                                               result("user-c", 100, 1))], "has_more": False, "next_page": None}
    path = tmp_path / "usage_by_user.jsonl"
    path.write_text(_jsonl(page, page), encoding="utf-8")
    summary = _ingest_twice(cli, path)
    assert (summary["rows_added"], summary["rows_present"]) == (3, 3)
    assert "data.results.user_id" in summary["fields_dropped"]
    assert _usage(cli) == [("gpt-4o-2024-08-06", 4, 400, 40, 0)]


def test_streamed_logs_are_detected_past_their_first_records(cli, tmp_path):
    """A saved stream opens with records that carry no usage: OpenAI chunks (usage only on the last one, with
    stream_options.include_usage) and Ollama chunks, or Ollama's model-load reply. Each response counts once."""
    chunk = {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1741569952, "model": "gpt-4o-mini",
             "system_fingerprint": "fp_1", "choices": [{"index": 0, "delta": {"content": "Bon"}, "finish_reason": None}]}
    openai = tmp_path / "openai_stream.jsonl"
    openai.write_text(_jsonl(
        {**chunk, "usage": None}, chunk, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**chunk, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
                                          "prompt_tokens_details": {"cached_tokens": 0},
                                          "completion_tokens_details": {"reasoning_tokens": 0}}}), encoding="utf-8")
    summary = _ingest_twice(cli, openai)
    assert (summary["files"][0]["format"], summary["rows_added"], summary["rows_skipped"]) == ("openai", 1, 3)
    base = {"model": "llama3.2", "created_at": "2025-07-01T10:00:00.1Z"}
    ollama = tmp_path / "ollama_stream.jsonl"
    ollama.write_text(_jsonl(
        {**base, "response": "", "done": True, "done_reason": "load"},
        {**base, "created_at": "2025-07-01T10:00:01.2Z", "response": "Le", "done": False},
        {**base, "created_at": "2025-07-01T10:00:01.3Z", "response": "", "done": True, "done_reason": "stop",
         "total_duration": 5043500667, "prompt_eval_count": 26, "prompt_eval_duration": 325953000,
         "eval_count": 290, "eval_duration": 4709213000}), encoding="utf-8")
    summary = _ingest_twice(cli, ollama)
    assert (summary["files"][0]["format"], summary["rows_added"], summary["rows_skipped"]) == ("ollama", 1, 2)
    assert _usage(cli) == [("gpt-4o-mini", 1, 9, 12, 0), ("llama3.2", 1, 26, 290, None)]


def test_openai_batch_embeddings_lines_have_no_time_and_are_counted(cli, tmp_path):
    """OpenAI's embeddings responses carry no `created`: a Batch output of them is read, rows without a time."""
    def line(n, body):
        return {"id": f"batch_req_{n}", "custom_id": f"doc-{n}", "error": None,
                "response": {"status_code": 200, "request_id": f"req_{n}", "body": body}}
    body = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093]}],
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}}
    path = tmp_path / "batch_embeddings.jsonl"
    path.write_text(_jsonl(line(1, body), line(2, {**body, "usage": {"prompt_tokens": 5, "total_tokens": 5}}),
                           {"id": "batch_req_3", "custom_id": "doc-3", "response": None,
                            "error": {"code": "batch_expired", "message": "not run in time"}}), encoding="utf-8")
    summary = _ingest_twice(cli, path)
    assert (summary["rows_added"], summary["rows_skipped"], summary["files"][0]["rows_without_time"]) == (2, 1, 2)
    assert _usage(cli) == [("text-embedding-3-small", 2, 13, 0, None)]


def _completion(n, prompt, completion):
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1751364000 + n, "model": "gpt-4o-mini",
            "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                     "total_tokens": prompt + completion}}


def test_json_with_a_utf8_bom_is_read_from_a_file_and_stdin(cli, tmp_path):
    """Windows tools write a BOM before JSON Lines (and CRLF ends): read without it, nothing copied; a bad line
    is still named by its number."""
    path = tmp_path / "completions.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _jsonl(_completion(1, 100, 20), _completion(2, 5, 1)).replace("\n", "\r\n").encode())
    summary = _ingest_twice(cli, path)
    assert (summary["files"][0]["format"], summary["rows_added"]) == ("openai", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["completions.jsonl", "db"]  # no copy
    stdin = b"\xef\xbb\xbf" + _jsonl(_completion(3, 7, 3)).encode()
    result = cli("ingest", "-", "--use-case", "chat", input=stdin)
    assert result.exit_code == 0, result.output
    assert _usage(cli) == [("gpt-4o-mini", 3, 112, 24, None)]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xef\xbb\xbf" + _jsonl(_completion(4, 1, 1), _completion(5, -1, 1)).encode())
    result = cli("ingest", str(bad), "--use-case", "chat")
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {bad}:2: field input_tokens: not a non-negative integer: '-1'"
    assert _usage(cli) == [("gpt-4o-mini", 3, 112, 24, None)]


def test_generic_timestamps_in_unix_seconds_or_milliseconds(cli, tmp_path, db_path):
    """Exports often write Unix times: seconds or milliseconds (told apart by size) are read as UTC, beside
    ISO 8601 with 'Z' or an offset; a number that is neither (a YYYYMMDD date) is still refused."""
    import duckdb

    csv_file = tmp_path / "usage.csv"
    csv_file.write_text("timestamp,model,input_tokens,output_tokens,request_id\r\n"
                        "1751364000,m,1,1,a\r\n1751364000123,m,1,1,b\r\n1751364000.5,m,1,1,c\r\n"
                        "2025-07-01T10:00:00Z,m,1,1,d\r\n2025-07-01T12:00:00+02:00,m,1,1,e\r\n", encoding="utf-8")
    jsonl = tmp_path / "usage.jsonl"
    jsonl.write_text(_jsonl({"timestamp": 1751364000, "model": "m", "input_tokens": 1, "output_tokens": 1},
                            {"timestamp": 1751364000123, "model": "m", "input_tokens": 2, "output_tokens": 1}),
                     encoding="utf-8")
    assert _ingest_twice(cli, csv_file)["rows_added"] == 5
    assert _ingest_twice(cli, jsonl)["rows_added"] == 2
    with duckdb.connect(str(db_path), read_only=True) as conn:
        stamps = [r[0].isoformat() for r in conn.execute("SELECT ts FROM usage ORDER BY ts").fetchall()]
    assert stamps == ["2025-07-01T10:00:00"] * 4 + ["2025-07-01T10:00:00.123000"] * 2 + ["2025-07-01T10:00:00.500000"]
    bad = tmp_path / "dates.csv"
    bad.write_text("timestamp,model,input_tokens,output_tokens\n20250701,m,1,1\n", encoding="utf-8")
    assert _refused(cli, bad).endswith(f"{bad}:2: field timestamp: not a timestamp: '20250701'")


def test_unix_times_are_chosen_per_file_from_its_first_rows(cli, tmp_path):
    """Parsing every time as a number too would cost a quarter of an ISO file's ingest, so a file is read as
    Unix times only when its first rows hold one: a Unix time far into an ISO file is refused, line named."""
    rows = "".join(f"2025-07-01T10:{i // 60:02d}:{i % 60:02d}Z,m,1,1\n" for i in range(60))
    late = tmp_path / "late.csv"
    late.write_text("timestamp,model,input_tokens,output_tokens\n" + rows + "1751364000,m,1,1\n", encoding="utf-8")
    assert _refused(cli, late).endswith(f"{late}:62: field timestamp: not a timestamp: '1751364000'")
    early = tmp_path / "early.csv"
    early.write_text("timestamp,model,input_tokens,output_tokens\n1751367600,m,1,1\n" + rows, encoding="utf-8")
    assert _ingest_twice(cli, early)["rows_added"] == 61


def test_zone_names_are_applied_not_ignored(cli, tmp_path, db_path):
    """DuckDB's plain TIMESTAMP cast accepts '10:00:00 Europe/Paris' and drops the zone (10:00 UTC, two hours
    off): a file whose times carry zone names is read with the zone-aware cast."""
    import duckdb

    path = tmp_path / "zoned.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n"
                    "2026-07-01 10:00:00 Europe/Paris,m,1,1\n2026-07-01 10:00:00 America/New_York,m,2,1\n"
                    "2026-07-01 10:00:00 UTC,m,3,1\n2026-07-01T10:00:00Z,m,4,1\n", encoding="utf-8")
    assert _ingest_twice(cli, path)["rows_added"] == 4
    with duckdb.connect(str(db_path), read_only=True) as conn:
        stamps = conn.execute("SELECT input_tokens, strftime(ts, '%H:%M') FROM usage ORDER BY input_tokens").fetchall()
    assert stamps == [(1, "08:00"), (2, "14:00"), (3, "10:00"), (4, "10:00")]


def test_a_pretty_printed_page_larger_than_the_sampled_head_is_detected(cli, tmp_path):
    """A month of daily buckets grouped by model, saved pretty-printed, is larger than the 256 KB head that
    format detection samples: it is still read as a Usage API page, every result counted."""
    result = {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 500,
              "input_cached_tokens": 0, "num_model_requests": 5, "project_id": None, "batch": None}
    buckets = [_bucket(1730419200 + 86400 * day, *({**result, "model": f"model-{m}"} for m in range(40)))
               for day in range(31)]
    page = tmp_path / "usage.json"
    page.write_text(json.dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}, indent=2),
                    encoding="utf-8")
    assert page.stat().st_size > 256 * 1024
    summary = _ingest_twice(cli, page)
    assert summary["files"][0]["format"] == "openai-usage"
    assert summary["rows_added"] == 31 * 40
    assert sum(r["requests"] for r in json.loads(cli("usage", "--json").output)) == 31 * 40 * 5
