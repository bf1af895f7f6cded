"""Anthropic Messages API responses (and Message Batches result lines, and bare `usage` objects).

`usage.input_tokens` excludes the prompt tokens written to or read from the cache; footprint stores
all prompt tokens in input_tokens and the cache parts in their own columns. Messages carry no
time: their rows have no timestamp (the summary counts them).
"""

from __future__ import annotations

from footprint.ingest.plan import Plan
from footprint.ingest.source import Source, dropped_paths, json_relation, record_word, sample_objects

_COLUMNS = {
    "id": "VARCHAR",
    "type": "VARCHAR",
    "model": "VARCHAR",
    "usage": "JSON",  # counts only
    # Batch results: {"custom_id", "result": {"type": "succeeded", "message": {…}}}
    "result": "STRUCT(type VARCHAR, message STRUCT(id VARCHAR, model VARCHAR, usage JSON))",
    # A bare usage object per line (as the prompt-caching docs show them)
    "input_tokens": "VARCHAR",
    "output_tokens": "VARCHAR",
    "cache_creation_input_tokens": "VARCHAR",
    "cache_read_input_tokens": "VARCHAR",
}
_KEPT = {
    "id": True, "type": True, "model": True, "usage": True, "custom_id": True,
    "result": {"type": True, "message": {"id": True, "type": True, "model": True, "usage": True}},
    "input_tokens": True, "output_tokens": True, "cache_creation_input_tokens": True,
    "cache_read_input_tokens": True, "cache_creation": True, "service_tier": True, "server_tool_use": True,
}


def plan(source: Source) -> Plan:
    objects = sample_objects(source)
    u = "coalesce(result.message.usage, usage)"

    def pick(name: str) -> str:
        return f"coalesce({u}->>'{name}', {name})"

    return Plan(
        display=source.display,
        source_format="anthropic",
        relation=json_relation(_COLUMNS, source),
        path=source.path,
        exprs={
            "model": "coalesce(result.message.model, model)",
            "request_id": "coalesce(result.message.id, id)",
            "input_tokens": pick("input_tokens"),
            "output_tokens": pick("output_tokens"),
            "cached_input_tokens": pick("cache_read_input_tokens"),
            "cache_creation_input_tokens": pick("cache_creation_input_tokens"),
        },
        ts_required=False,
        keep=f"{pick('input_tokens')} IS NOT NULL OR {pick('output_tokens')} IS NOT NULL",
        cache_in_input=False,
        provider="anthropic",
        line_offset=0,
        record_word=record_word(source),
        fields_dropped=dropped_paths(objects, _KEPT),
        file_bytes=source.size,
    )
