"""LiteLLM proxy spend logs (the LiteLLM_SpendLogs table exported as CSV, or /spend/logs JSON).

Read: request_id, startTime, model, custom_llm_provider, prompt_tokens, completion_tokens. Never
read: api_key, user, end_user, requester_ip_address, metadata (user_api_key_* inside), messages,
response, proxy_server_request, session_id. The use case comes from --use-case, or from a column
named with --map (e.g. --map team_alias=use_case).
"""

from __future__ import annotations

from dataclasses import replace

from footprint.ingest.generic import looks_like_json, plan_table
from footprint.ingest.plan import Plan
from footprint.ingest.source import Source

PRESET = {
    "startTime": "timestamp",
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "custom_llm_provider": "provider",
    "request_id": "request_id",
    "model": "model",
}


def plan(conn, source: Source, mapping: dict[str, str] | None, has_default_use_case: bool) -> Plan:
    table_format = "jsonl" if looks_like_json(source) else "csv"
    built = plan_table(conn, source, table_format, mapping, has_default_use_case, preset=PRESET, source_format="litellm")
    return replace(built, source_format="litellm")
