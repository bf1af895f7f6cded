"""Generic tables (CSV, JSONL, Parquet) with the usage columns, renamed by --map where needed.

Columns: timestamp, use_case, model, input_tokens, output_tokens; optional request_id, provider,
images (and cached_input_tokens, cache_creation_input_tokens, requests). Every other column is
dropped unread and named in the summary.
"""

from __future__ import annotations

import csv
import io
import re

from footprint.errors import InputFileError, ValidationError
from footprint.ingest.plan import FIELDS, TOKEN_FIELDS, Plan, quote_ident
from footprint.ingest.source import (
    CSV_AS_TEXT, HEAD_BYTES, Source, dropped_paths, file_columns, first_char, head_text, json_relation, record_word,
    sample_objects,
)

REQUIRED = ("timestamp", "input_tokens", "output_tokens")


def check_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """--map COLUMN=FIELD pairs: FIELD must be a usage field, each at most once."""
    mapping = dict(mapping or {})
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if target not in FIELDS:
            raise ValidationError(f"bad --map {column}={target}: FIELD must be one of {', '.join(FIELDS)}")
        if not column:
            raise ValidationError(f"bad --map ={target}: COLUMN is empty")
        if target in seen:
            raise ValidationError(f"bad --map: columns {seen[target]!r} and {column!r} both map to {target}")
        seen[target] = column
    return mapping


def _head_rows(source: Source, count: int) -> list[list[str]]:
    """The first `count` rows of a CSV's head, parsed by Python's csv with the header line's dialect."""
    lines = head_text(source).lstrip("\ufeff").splitlines()[:count]
    if len(lines) > 1 and len(source.head) >= HEAD_BYTES:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return []
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO("\n".join(lines)), dialect))


def _csv_columns(conn, source: Source) -> list[str]:
    if source.stdin:
        rows = _head_rows(source, 1)
        return rows[0] if rows else []
    return file_columns(conn, source, CSV_AS_TEXT, "csv")


def _parquet_columns(conn, source: Source) -> list[str]:
    return file_columns(conn, source, "read_parquet($path)", "parquet")


_NUMBER = re.compile(r"\s*[0-9]+(\.[0-9]*)?\s*")
_ZONE_NAME = re.compile(r"[0-9]\s*(?!Z\s*$)[A-Za-z][A-Za-z_/+\-0-9]*\s*$")  # after the time; a lone Z is read right
_TIME_SAMPLE_ROWS = 50


def _csv_head_column(source: Source, column: str) -> list[str]:
    """Values of `column` in the first rows of a CSV's head; empty when its header has no such column."""
    rows = _head_rows(source, _TIME_SAMPLE_ROWS + 1)
    if not rows or column not in rows[0]:
        return []
    index = rows[0].index(column)
    return [row[index] for row in rows[1:] if len(row) > index]


def _time_kind(values) -> str:
    """How a file's times are parsed, decided once from its first rows (footprint.ingest.pipeline):
    'unix' when one is a number (seconds or milliseconds since 1970), else 'zoned' when one ends with a
    zone name ('Europe/Paris', 'CET': the plain cast would ignore it), else 'iso'. Checking every row
    instead would cost a quarter (numbers) or a twentieth (zone names) of an ISO file's ingest."""
    kind = "iso"
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
            return "unix"
        if isinstance(value, str) and _ZONE_NAME.search(value):
            kind = "zoned"
    return kind


def _assign(columns: list[str], mapping: dict[str, str], preset: dict[str, str]) -> dict[str, str]:
    """usage field -> source column: --map first, then the format's preset names, then same-name columns."""
    by_field: dict[str, str] = {}
    for column, target in mapping.items():
        by_field[target] = column
    lowered = {c.lower(): c for c in columns}
    for column, target in preset.items():
        if target not in by_field and column.lower() in lowered:
            by_field[target] = lowered[column.lower()]
    for target in FIELDS:
        if target not in by_field and target in lowered and lowered[target] not in mapping:
            by_field[target] = lowered[target]
    return by_field


def plan_table(
    conn,
    source: Source,
    table_format: str,
    mapping: dict[str, str] | None,
    has_default_use_case: bool,
    *,
    preset: dict[str, str] | None = None,
    source_format: str | None = None,
) -> Plan:
    """A plan for a csv / jsonl / parquet table (litellm reuses it with its own column names)."""
    mapping = check_mapping(mapping)
    preset = preset or {}
    fmt_name = source_format or table_format
    if table_format == "csv":
        columns = _csv_columns(conn, source)
        if not columns:
            raise InputFileError(f"{source.display}: empty file: no header line")
        relation = "read_csv($path, header = true, all_varchar = true)"
        offset, word = 1, ""
        diag = relation
    elif table_format == "parquet":
        if source.stdin:
            raise ValidationError("parquet cannot be read from stdin: give a file")
        columns = _parquet_columns(conn, source)
        relation = "read_parquet($path)"
        offset, word = 0, "row "
        diag = relation
    else:  # jsonl / json
        objects = sample_objects(source)
        columns = sorted({k for o in objects for k in o})
        wanted = set(mapping) | set(preset) | set(FIELDS)
        # Every whitelisted name is read even when the sample lacks it (it may appear later).
        relation = json_relation({name: "VARCHAR" for name in sorted(wanted)}, source)
        offset, word = 0, record_word(source)
        columns = sorted(set(columns) | wanted)
        diag = relation
    by_field = _assign(columns, mapping, preset)
    for column in mapping:
        if column not in columns and table_format != "jsonl":
            raise InputFileError(f"{source.display}: --map names column {column!r}, which the file does not have")
    required = list(REQUIRED) + ([] if has_default_use_case else ["use_case"])
    if table_format != "jsonl":
        for target in required:
            if target not in by_field:
                line = "1" if table_format == "csv" else "row 1"
                hint = " (or give --use-case)" if target == "use_case" else " (rename one with --map COLUMN=FIELD)"
                raise InputFileError(f"{source.display}:{line}: field {target}: missing column{hint}")
    used = set(by_field.values())
    if table_format == "jsonl":
        kept = {c: True for c in used}
        dropped = dropped_paths(sample_objects(source), kept)
    else:
        dropped = tuple(sorted(c for c in columns if c not in used))
    exprs = {target: quote_ident(column) for target, column in by_field.items()}
    ts_kind = "iso"
    if "timestamp" in by_field and table_format == "csv":
        ts_kind = _time_kind(_csv_head_column(source, by_field["timestamp"]))
    elif "timestamp" in by_field and table_format == "jsonl":
        ts_kind = _time_kind(o.get(by_field["timestamp"]) for o in sample_objects(source)[:_TIME_SAMPLE_ROWS])
    if table_format == "csv":
        # Counts typed DOUBLE in the reader: several times cheaper than text then casts. A value it
        # cannot parse fails the fast path; the all-text diag relation then names its line.
        typed = {c: "DOUBLE" for t, c in by_field.items() if t in TOKEN_FIELDS}
        if typed:
            spec = ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'DOUBLE'" for c in typed)
            relation = f"read_csv($path, header = true, all_varchar = true, types = {{{spec}}})"
    return Plan(
        display=source.display,
        source_format=fmt_name,
        relation=relation,
        diag_relation=diag,
        path=source.path,
        exprs=exprs,
        ts_kind=ts_kind,
        ts_required=True,
        required=("input_tokens", "output_tokens"),
        line_offset=offset,
        record_word=word,
        fields_dropped=dropped,
        file_bytes=source.size,
    )


def looks_like_json(source: Source) -> bool:
    return first_char(source) in ("{", "[")
