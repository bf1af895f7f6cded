"""A read plan: how one file becomes usage rows, as SQL over one of DuckDB's readers.

Each format module builds a `Plan`: a FROM clause over read_csv / read_json / read_parquet that
names only whitelisted fields (so a prompt, a user name or a key is never materialised, let alone
written), and one SQL expression per usage field over that relation, giving raw text. The pipeline
validates and converts the raw text in SQL; no Python code touches a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Usage fields a plan can fill, in the order of the raw relation's columns.
FIELDS = (
    "timestamp", "use_case", "model", "provider", "request_id", "input_tokens", "output_tokens",
    "cached_input_tokens", "cache_creation_input_tokens", "images", "requests",
)
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_creation_input_tokens", "images", "requests")

# Field names (lower case, any nesting level) that identify or describe a person, or carry content.
# They are never read; the summary names them. Everything not whitelisted is dropped anyway: this list
# only decides which dropped names the reject file must never carry and which tests plant.
PERSONAL_FIELDS = frozenset({
    "user", "user_id", "email", "api_key", "api_key_id", "ip", "prompt", "messages", "completion", "content",
    "metadata", "end_user", "requester_ip_address", "user_api_key", "user_api_key_alias", "user_email",
    "user_api_key_user_id", "user_api_key_team_alias", "proxy_server_request", "response", "choices", "output",
    "input", "instructions", "context", "message", "system", "session_id", "name", "text",
})


def quote_ident(name: str) -> str:
    """A column name from a file, quoted as a DuckDB identifier (never formatted in as a value)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Plan:
    display: str  # the file as the user named it (messages only; never stored whole)
    source_format: str
    relation: str  # FROM clause; the file path is bound as $path
    diag_relation: str | None = None  # all-text reader for naming a bad row (default: relation)
    path: str = ""
    exprs: dict[str, str] = field(default_factory=dict)  # usage field -> SQL expression (absent = NULL)
    ts_kind: str = "iso"  # iso: ISO 8601; epoch: unix seconds; unix: s or ms by size, else ISO; zoned: ISO with zone names
    ts_required: bool = True
    required: tuple[str, ...] = ("input_tokens", "output_tokens")
    keep: str | None = None  # rows failing this predicate carry no usage: skipped and counted
    cache_in_input: bool = True  # False: input_tokens excludes cached tokens (Anthropic) and is summed
    provider: str | None = None  # constant provider when the format implies one
    line_offset: int = 1  # file line of raw row n is n + line_offset (header lines)
    record_word: str = ""  # "" for FILE:LINE, "record " where lines are not records (JSON arrays)
    fields_dropped: tuple[str, ...] = field(default_factory=tuple)
    file_bytes: int | None = None
