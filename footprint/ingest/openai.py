"""OpenAI usage as the API writes it: chat / text completion and Responses objects, Batch API output
lines (also vLLM's `run-batch` output, old and new shapes), and Organization Usage API pages.

Only ids, times, model names and the `usage` object are read; `choices`, `output`, `messages`,
`user`, `metadata` and the rest are never materialised.
"""

from __future__ import annotations

from footprint.ingest.plan import Plan
from footprint.ingest.source import Source, dropped_paths, json_relation, record_word, sample_objects

_USAGE = "coalesce(response.body.usage, response.usage, usage)"

_COMPLETION_COLUMNS = {
    "id": "VARCHAR",
    "object": "VARCHAR",
    "created": "VARCHAR",
    "created_at": "VARCHAR",
    "model": "VARCHAR",
    "usage": "JSON",  # numbers only: prompt/completion/input/output tokens and their details
    # Batch output line: {"id","custom_id","response":{"status_code","request_id","body":{…}},"error"};
    # vLLM's older run-batch shape puts the completion in `response` itself.
    "response": "STRUCT(status_code VARCHAR, request_id VARCHAR, "
    "body STRUCT(id VARCHAR, created VARCHAR, created_at VARCHAR, model VARCHAR, usage JSON), "
    "id VARCHAR, created VARCHAR, model VARCHAR, usage JSON)",
}
_COMPLETION_KEPT = {
    "id": True, "object": True, "created": True, "created_at": True, "model": True, "usage": True,
    "custom_id": True, "error": True,
    "response": {"status_code": True, "request_id": True, "id": True, "created": True, "model": True, "usage": True,
                 "body": {"id": True, "object": True, "created": True, "created_at": True, "model": True, "usage": True}},
}

_PAGE_COLUMNS = {
    "object": "VARCHAR",
    "data": "STRUCT(start_time VARCHAR, end_time VARCHAR, results STRUCT(object VARCHAR, input_tokens VARCHAR, "
    "input_cached_tokens VARCHAR, input_cache_write_tokens VARCHAR, output_tokens VARCHAR, "
    "num_model_requests VARCHAR, images VARCHAR, model VARCHAR, project_id VARCHAR, batch VARCHAR, "
    "service_tier VARCHAR)[])[]",
}
_PAGE_KEPT = {"object": True, "data": True, "has_more": True, "next_page": True}


def _is_page(objects: list[dict]) -> bool:
    return bool(objects) and objects[0].get("object") == "page"


def plan(source: Source) -> Plan:
    objects = sample_objects(source)
    if _is_page(objects):
        return _page_plan(source, objects)
    u = _USAGE
    return Plan(
        display=source.display,
        source_format="openai",
        relation=json_relation(_COMPLETION_COLUMNS, source),
        path=source.path,
        exprs={
            "timestamp": "coalesce(response.body.created, response.body.created_at, response.created, created, created_at)",
            "model": "coalesce(response.body.model, response.model, model)",
            "request_id": "coalesce(response.body.id, response.id, id)",
            "input_tokens": f"coalesce({u}->>'prompt_tokens', {u}->>'input_tokens')",
            # Embeddings and score bodies carry no completion count: they produced none.
            "output_tokens": f"coalesce({u}->>'completion_tokens', {u}->>'output_tokens', '0')",
            "cached_input_tokens": f"coalesce({u}->'prompt_tokens_details'->>'cached_tokens', "
            f"{u}->'input_tokens_details'->>'cached_tokens')",
            "cache_creation_input_tokens": f"{u}->'input_tokens_details'->>'cache_write_tokens'",
        },
        ts_kind="epoch",
        # Embeddings bodies carry no time (OpenAI's, in Batch output): such rows are counted without one.
        ts_required=False,
        # Failed batch lines and cancelled responses carry no usage: skipped, and counted.
        keep=f"coalesce({u}->>'prompt_tokens', {u}->>'input_tokens') IS NOT NULL",
        cache_in_input=True,  # OpenAI's prompt/input tokens include the cached ones
        line_offset=0,
        record_word=record_word(source),
        fields_dropped=dropped_paths(objects, _COMPLETION_KEPT),
        file_bytes=source.size,
    )


def _page_plan(source: Source, objects: list[dict]) -> Plan:
    """Usage API buckets: one row per (bucket, result), with its request count.

    Completions results carry input and output tokens; embeddings and moderations results only input
    tokens, images results only an image count: what a result does not carry, it did not produce (0).
    Results with none of these (audio, vector stores, costs) are skipped and counted.
    """
    # Results of one bucket that share a key (a page grouped by user_id or api_key_id, fields never read)
    # are told apart by their position in the bucket: `nth` is NULL otherwise, keeping the usual key, and
    # a page repeated in the file still gives the same keys (counted once).
    relation = (
        "(SELECT *, CASE WHEN min(i) OVER w <> max(i) OVER w THEN i END AS nth FROM ("
        "SELECT b.start_time AS start_time, b.end_time AS end_time, unnest(b.results) AS r, "
        "generate_subscripts(b.results, 1) AS i "
        f"FROM (SELECT unnest(data) AS b FROM {json_relation(_PAGE_COLUMNS, source)})) "
        "WINDOW w AS (PARTITION BY start_time, end_time, r.project_id, r.model, r.batch, r.service_tier, r.object))"
    )
    kept_result = {k: True for k in (
        "object", "input_tokens", "input_cached_tokens", "input_cache_write_tokens", "output_tokens",
        "num_model_requests", "images", "model", "project_id", "batch", "service_tier", "input_uncached_tokens",
    )}
    dropped = set(dropped_paths(objects, _PAGE_KEPT))
    for obj in objects:
        for bucket in obj.get("data") or []:
            if isinstance(bucket, dict):
                for result in bucket.get("results") or []:
                    if isinstance(result, dict):
                        dropped.update(f"data.results.{k}" for k in result if k not in kept_result)
    return Plan(
        display=source.display,
        source_format="openai-usage",
        relation=relation,
        path=source.path,
        exprs={
            "timestamp": "start_time",
            "model": "r.model",
            # A bucket is identified by its window and grouping; its project id only feeds the key. The result
            # type (embeddings, images…) too, so that each endpoint's page of one window counts; completions
            # results leave it out, keeping the keys they always had.
            "request_id": "concat_ws('|', 'usage-bucket', start_time, end_time, r.project_id, r.model, r.batch, "
            "r.service_tier, nullif(r.object, 'organization.usage.completions.result'), nth)",
            "input_tokens": "coalesce(r.input_tokens, '0')",
            "output_tokens": "coalesce(r.output_tokens, '0')",
            "cached_input_tokens": "r.input_cached_tokens",
            "cache_creation_input_tokens": "r.input_cache_write_tokens",
            "images": "r.images",
            "requests": "r.num_model_requests",
        },
        ts_kind="epoch",
        keep="r.input_tokens IS NOT NULL OR r.output_tokens IS NOT NULL OR r.images IS NOT NULL",
        cache_in_input=True,
        line_offset=0,
        record_word="record ",
        fields_dropped=tuple(sorted(dropped)),
        file_bytes=source.size,
    )
