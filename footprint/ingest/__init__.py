"""Ingest usage logs and CodeCarbon measurements: DuckDB's readers, exactly once, no personal data.

    ingest_paths(store, ["logs/*.jsonl"], fmt=None, use_case="chat") -> IngestSummary

Each file is read by DuckDB (read_csv / read_json / read_parquet) naming only whitelisted fields,
validated and keyed in SQL, and inserted in one transaction: a bad row rejects the whole file
(FILE:LINE: field NAME: problem) unless skip_bad, which writes bad rows to an owner-only reject file.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from footprint.errors import NotFoundError, ValidationError
from footprint.ingest.pipeline import FileResult, ProgressFn, run_plan
from footprint.ingest.source import Source, first_char, open_file, open_stdin, sample_objects, without_bom
from footprint.store import Store

FORMATS = ("csv", "jsonl", "parquet", "openai", "anthropic", "litellm", "ollama", "codecarbon")
_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
# UTC: timestamps with offsets convert to naive UTC. memory_limit: DuckDB spills to <db>.tmp beyond
# it (whitelisted columns only), keeping a 10M-row ingest well under 2 GB of RSS.
# max_vacuum_tasks: a checkpoint after a bulk load otherwise rewrites ("vacuums") every new row group,
# ~4 s of CPU for 3M rows (as long as the load itself); the rows are already compressed on disk.
# Progress: DuckDB tracks it (query_progress() feeds the CLI's bar) but never prints its own bar.
_SESSION_SETTINGS = {
    "TimeZone": "UTC", "memory_limit": "1GB", "max_vacuum_tasks": "0",
    "enable_progress_bar": "true", "enable_progress_bar_print": "false",
}

__all__ = ["FORMATS", "FileResult", "IngestSummary", "detect_format", "ingest_paths", "list_ingests"]


@dataclass(frozen=True)
class IngestSummary:
    files: list[FileResult]
    rows_added: int
    rows_present: int
    rows_rejected: int = 0
    rows_skipped: int = 0
    fields_dropped: dict[str, int] = field(default_factory=dict)  # name -> rows it was dropped from
    measurements_added: int = 0  # CodeCarbon interval records

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    def to_json(self) -> dict:
        return {
            "files": [
                {"file": f.file, "format": f.source_format, "rows_read": f.rows_read, "rows_added": f.rows_added,
                 "rows_present": f.rows_present, "rows_rejected": f.rows_rejected, "rows_skipped": f.rows_skipped,
                 "rows_without_time": f.rows_without_time, "fields_dropped": list(f.fields_dropped),
                 "reject_file": f.reject_file}
                for f in self.files
            ],
            "rows_read": self.rows_read,
            "rows_added": self.rows_added,
            "rows_present": self.rows_present,
            "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped,
            "measurements_added": self.measurements_added,
            "fields_dropped": dict(sorted(self.fields_dropped.items())),
        }


def detect_format(source: Source, columns_hint: list[str] | None = None) -> str:
    """Guess a format from the extension and the first bytes."""
    ext = source.extension
    if ext in (".parquet", ".pq") or source.head[:4] == b"PAR1":
        return "parquet"
    if first_char(source) in ("{", "["):
        return _detect_json(sample_objects(source))
    header = source.head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[:1]
    names = {n.strip().strip('"').lower() for n in (header[0].replace(";", ",").split(",") if header else [])}
    if {"cpu_energy", "duration"} <= names or {"ram_energy", "project_name"} <= names:
        return "codecarbon"
    if {"starttime", "prompt_tokens"} <= names or {"spend", "prompt_tokens", "request_id"} <= names:
        return "litellm"
    return "csv"


def _detect_json(objects: list[dict]) -> str:
    """The first sampled record that names a vendor decides: a log may open with records that carry no
    usage (stream chunks, a failed batch line, Ollama's model-load reply)."""
    for obj in objects:
        found = _detect_object(obj)
        if found != "jsonl":
            return found
    return "jsonl"


def _detect_object(first: dict) -> str:
    keys = set(first)
    kind = first.get("object")
    if kind in ("chat.completion", "chat.completion.chunk", "text_completion", "response", "page", "list") \
            or {"custom_id", "response"} <= keys:
        return "openai"
    if first.get("type") == "message" or ("result" in keys and "custom_id" in keys):
        return "anthropic"
    if keys & {"cache_read_input_tokens", "cache_creation_input_tokens"} and "timestamp" not in keys:
        return "anthropic"
    if keys & {"prompt_eval_count", "eval_count"} or ({"done", "created_at", "model"} <= keys and keys & {"response", "message"}):
        return "ollama"
    if "startTime" in keys and keys & {"prompt_tokens", "spend"}:
        return "litellm"
    if "usage" in keys and isinstance(first.get("usage"), dict) and "prompt_tokens" in first["usage"]:
        return "openai"
    return "jsonl"


def expand_paths(paths: list[str | Path]) -> list[str]:
    """Files named directly, by glob, or inside a directory (data files only, sorted); '-' is stdin."""
    out: list[str] = []
    for raw in paths:
        text = str(raw)
        if text == "-":
            out.append("-")
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(
                str(p) for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in _EXTENSIONS and not p.name.startswith(".")
                and ".rejected." not in p.name
            )
            if not found:
                raise NotFoundError(f"{text}: directory holds no .csv, .jsonl, .json or .parquet file")
            out.extend(found)
        elif path.exists():
            out.append(str(path))
        elif glob.has_magic(text):
            found = sorted(p for p in glob.glob(os.path.expanduser(text), recursive=True) if os.path.isfile(p))
            if not found:
                raise NotFoundError(f"{text}: no file matches")
            out.extend(found)
        else:
            raise NotFoundError(f"{text}: no such file")
    seen: set[str] = set()
    unique = []
    for p in out:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def _reject_path(source: Source) -> Path:
    if source.stdin:
        return Path.cwd() / "stdin.rejected.csv"
    path = Path(source.path)
    return path.with_name(path.name + ".rejected.csv")


def _known_use_cases(store: Store) -> list[str]:
    return list(store.query("ingest/known_use_cases").fetchone()[0] or [])


def _plan(store: Store, source: Source, fmt: str, mapping, use_case):
    from footprint.ingest import anthropic, generic, litellm, ollama, openai

    has_default = use_case is not None
    if fmt in ("csv", "jsonl", "parquet"):
        table_format = "jsonl" if fmt == "jsonl" else fmt
        return generic.plan_table(store.conn, source, table_format, mapping, has_default)
    if mapping and fmt != "litellm":
        raise ValidationError(f"--map applies to csv, jsonl, parquet and litellm files, not {fmt}")
    if fmt == "litellm":
        return litellm.plan(store.conn, source, mapping, has_default)
    if not has_default:
        raise ValidationError(f"{source.display}: {fmt} records name no use case: give --use-case SLUG")
    return {"openai": openai.plan, "anthropic": anthropic.plan, "ollama": ollama.plan}[fmt](source)


def _ingest_codecarbon(store, source, use_case, known, skip_bad) -> tuple[FileResult, int]:
    from footprint.ingest import codecarbon
    from footprint.measurements import insert_records

    if source.stdin:
        raise ValidationError("codecarbon files are read from a file, not stdin")
    records, dropped, rejects = codecarbon.read_records(store.conn, source, use_case, known, skip_bad)
    reject_file = None
    if rejects:
        reject_file = _reject_path(source)
        with open(reject_file, "w", encoding="utf-8") as out:
            out.write("line,problem\n")
            for line, problem in rejects:
                out.write(f"{line},\"{problem.replace(chr(34), chr(39))}\"\n")
        reject_file.chmod(0o600)
    with store.transaction():
        added = insert_records(store, records)
        ingest_id = store.query("ingest/next_ingest_id").fetchone()[0]
        result = FileResult(
            file=source.display, source_format="codecarbon", rows_read=len(records) + len(rejects),
            rows_added=added, rows_present=len(records) - added, rows_rejected=len(rejects), rows_skipped=0,
            fields_dropped=dropped, reject_file=str(reject_file) if reject_file else None,
        )
        store.query("ingest/insert_ingest", {
            "ingest_id": ingest_id, "file_name": Path(source.display).name, "file_bytes": source.size,
            "source_format": "codecarbon", "rows_read": result.rows_read, "rows_added": added,
            "rows_present": result.rows_present, "rows_rejected": result.rows_rejected, "rows_skipped": 0,
            "fields_dropped": list(dropped),
        })
    return result, added


def ingest_paths(
    store: Store,
    paths: list[str | Path],
    fmt: str | None = None,
    use_case: str | None = None,
    mapping: dict[str, str] | None = None,
    skip_bad: bool = False,
    progress: ProgressFn | None = None,
) -> IngestSummary:
    """Ingest every file (each in its own transaction, in order). Raises on the first bad file;
    the files before it stay ingested (re-running is safe: ingest is exactly once)."""
    if fmt is not None and fmt not in FORMATS:
        raise ValidationError(f"bad format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not paths:
        raise ValidationError("no file given")
    files = expand_paths(paths)
    if files.count("-") > 1:
        raise ValidationError("stdin ('-') can be read only once")
    known = _known_use_cases(store)
    if use_case is not None and use_case not in known:
        raise NotFoundError(f"unknown use case {use_case!r} (see `footprint usecase list`)")
    results: list[FileResult] = []
    measurements = 0
    previous = {k: store.conn.execute("SELECT current_setting($k)", {"k": k}).fetchone()[0] for k in _SESSION_SETTINGS}
    for key, value in _SESSION_SETTINGS.items():
        store.conn.execute(f"SET {key} = '{value}'")
    try:
        for name in files:
            source = open_stdin() if name == "-" else open_file(Path(name), name)
            try:
                if not source.head.lstrip(b"\xef\xbb\xbf").strip():
                    results.append(FileResult(name if name != "-" else "stdin", fmt or "empty", 0, 0, 0, 0, 0, ()))
                    continue
                file_format = fmt or detect_format(source)
                source = without_bom(source)
                if file_format == "codecarbon":
                    result, added = _ingest_codecarbon(store, source, use_case, known, skip_bad)
                    measurements += added
                else:
                    plan = _plan(store, source, file_format, mapping, use_case)
                    result = run_plan(
                        store, plan, known_use_cases=known, default_use_case=use_case, skip_bad=skip_bad,
                        reject_path=_reject_path(source), piped=source.piped, progress=progress,
                    )
                results.append(result)
            finally:
                source.close()
        # Checkpoint now, while vacuuming is off (else closing the store would, with it on).
        store.conn.execute("CHECKPOINT")
    finally:
        for key, value in previous.items():
            if key == "memory_limit":  # shown rounded (18.8 GiB): setting it back would lower it
                store.conn.execute("RESET memory_limit")
            else:
                store.conn.execute(f"SET {key} = '{value}'")
    dropped: dict[str, int] = {}
    for r in results:
        for name in r.fields_dropped:
            dropped[name] = dropped.get(name, 0) + r.rows_read
    return IngestSummary(
        files=results,
        rows_added=sum(r.rows_added for r in results if r.source_format != "codecarbon"),
        rows_present=sum(r.rows_present for r in results if r.source_format != "codecarbon"),
        rows_rejected=sum(r.rows_rejected for r in results),
        rows_skipped=sum(r.rows_skipped for r in results),
        fields_dropped=dropped,
        measurements_added=measurements,
    )


def list_ingests(store: Store) -> list[dict]:
    return store.rows_as_dicts("ingest/select_ingests")

