"""Ollama final responses (/api/generate, /api/chat, /api/embed): prompt_eval_count and eval_count.

Ollama omits prompt_eval_count when the whole prompt came from its cache, and embeddings have no
eval_count: a missing count is 0. Stream chunks without counts are skipped. No id: the row's
fields (time to the microsecond, model, counts) are its key.
"""

from __future__ import annotations

from footprint.ingest.plan import Plan
from footprint.ingest.source import Source, dropped_paths, json_relation, record_word, sample_objects

_COLUMNS = {"model": "VARCHAR", "created_at": "VARCHAR", "prompt_eval_count": "VARCHAR", "eval_count": "VARCHAR"}
_KEPT = {k: True for k in (
    "model", "created_at", "prompt_eval_count", "eval_count", "done", "done_reason", "total_duration",
    "load_duration", "prompt_eval_duration", "eval_duration",
)}


def plan(source: Source) -> Plan:
    return Plan(
        display=source.display,
        source_format="ollama",
        relation=json_relation(_COLUMNS, source),
        path=source.path,
        exprs={
            "timestamp": "created_at",
            "model": "model",
            "input_tokens": "coalesce(prompt_eval_count, '0')",
            "output_tokens": "coalesce(eval_count, '0')",
        },
        ts_required=False,  # the embed response has no created_at
        keep="prompt_eval_count IS NOT NULL OR eval_count IS NOT NULL",
        provider="ollama",
        line_offset=0,
        record_word=record_word(source),
        fields_dropped=dropped_paths(sample_objects(source), _KEPT),
        file_bytes=source.size,
    )
