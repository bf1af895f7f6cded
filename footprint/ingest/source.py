"""One input to ingest (a file or stdin), its first bytes for detection, and JSON key sampling.

The head sample is parsed in memory to detect the format and to name the fields that will be
dropped; it is never written anywhere.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from footprint.errors import InputFileError

HEAD_BYTES = 256 * 1024
BOM = b"\xef\xbb\xbf"
SAMPLE_RECORDS = 200
# A pretty-printed object larger than the head is decoded whole (format detection) up to this size.
WHOLE_JSON_BYTES = 64 * 1024 * 1024


@dataclass
class Source:
    display: str  # as the user named it ("-" → "stdin")
    path: str  # what DuckDB reads
    head: bytes
    size: int | None
    stdin: bool = False
    _feeder: threading.Thread | None = None
    _read_fd: int | None = None
    _objects: list[dict] | None = None  # sample_objects, decoded once (detection and every plan reuse it)

    @property
    def piped(self) -> bool:
        """Read through a pipe (stdin, or a file fed without its BOM): readable once."""
        return self._read_fd is not None

    @property
    def extension(self) -> str:
        name = self.display.lower()
        for ext in (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq", ".txt"):
            if name.endswith(ext):
                return ext
        return ""

    def close(self) -> None:
        if self._read_fd is not None:
            try:
                os.close(self._read_fd)
            except OSError:
                pass
            self._read_fd = None
        if self._feeder is not None:
            self._feeder.join(timeout=5)


def open_file(path: Path, display: str) -> Source:
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read: {exc.strerror}") from None
    return Source(display=display, path=str(path), head=head, size=size)


def open_stdin() -> Source:
    """Stdin through a pipe DuckDB reads once: the head is kept for detection, then fed back in front.

    Nothing is copied to a file; the feeder thread streams stdin into the pipe as DuckDB reads it.
    A UTF-8 BOM is left out (DuckDB's JSON reader refuses one; its CSV reader skips it anyway).
    """
    stream = sys.stdin.buffer
    head = stream.read(HEAD_BYTES) or b""
    if head.startswith(BOM):
        head = head[len(BOM):]
    read_fd, feeder = _pipe(head, stream)
    return Source(display="stdin", path=f"/dev/fd/{read_fd}", head=head, size=None, stdin=True,
                  _feeder=feeder, _read_fd=read_fd)


def without_bom(source: Source) -> Source:
    """A JSON file that starts with a UTF-8 BOM (as Windows tools write it), fed to DuckDB without it.

    DuckDB's JSON reader refuses a BOM; the file is streamed through a pipe from its fourth byte (no copy
    is written) and, like stdin, read once. Any other source is returned as it is.
    """
    if source.piped or not source.head.startswith(BOM) or first_char(source) not in ("{", "["):
        return source
    try:
        stream = open(source.path, "rb")
        stream.seek(len(BOM))
    except OSError as exc:
        raise InputFileError(f"{source.display}: cannot read: {exc.strerror}") from None
    read_fd, feeder = _pipe(b"", stream)
    return Source(display=source.display, path=f"/dev/fd/{read_fd}", head=source.head[len(BOM):], size=source.size,
                  _feeder=feeder, _read_fd=read_fd, _objects=source._objects)


def _pipe(head: bytes, stream) -> tuple[int, threading.Thread]:
    """A pipe and the thread that writes `head`, then the rest of `stream`, into it (closing it at the end)."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=1 << 20) as out:
                out.write(head)
                while True:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
        except (BrokenPipeError, OSError, ValueError):
            pass
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    return read_fd, feeder


def head_text(source: Source) -> str:
    return source.head.decode("utf-8", errors="replace")


def first_char(source: Source) -> str:
    text = head_text(source).lstrip("\ufeff \t\r\n")
    return text[:1]


def sample_objects(source: Source) -> list[dict]:
    """Up to SAMPLE_RECORDS JSON objects from the head (NDJSON lines, or the items of a JSON array);
    decoded once per source (a pretty-printed object may be read whole)."""
    if source._objects is None:
        source._objects = _sample_objects(source)
    return source._objects


def _sample_objects(source: Source) -> list[dict]:
    text = head_text(source).lstrip("\ufeff \t\r\n")
    objects: list[dict] = []
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:  # the head cut the array: its complete items
            data = _decode_values(text, 1, " \t\r\n,")
        if isinstance(data, list):
            objects = [d for d in data[:SAMPLE_RECORDS] if isinstance(d, dict)]
        return objects
    if text.startswith("{") and json_format(source) == "unstructured":
        # Pretty-printed objects (a saved API response): decode them one after another. One larger than
        # the head (a Usage API page of many buckets) is decoded from the whole file, if not too large.
        objects = _decode_objects(text)
        if not objects and len(source.head) >= HEAD_BYTES and not source.piped and (source.size or 0) <= WHOLE_JSON_BYTES:
            try:
                with open(source.path, "rb") as handle:
                    whole = handle.read().decode("utf-8", errors="replace")
            except OSError as exc:
                raise InputFileError(f"{source.display}: cannot read: {exc.strerror}") from None
            objects = _decode_objects(whole.lstrip("\ufeff \t\r\n"))
        return objects
    lines = text.splitlines()
    if len(source.head) >= HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    for line in lines:
        if len(objects) >= SAMPLE_RECORDS:
            break
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            objects.append(item)
    return objects


def _decode_values(text: str, pos: int, separators: str) -> list:
    """Up to SAMPLE_RECORDS JSON values written one after another from `pos`, apart by `separators`."""
    decoder = json.JSONDecoder()
    values: list = []
    while len(values) < SAMPLE_RECORDS:
        while pos < len(text) and text[pos] in separators:
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        values.append(item)
    return values


def _decode_objects(text: str) -> list[dict]:
    """The JSON objects among values written one after another (pretty-printed), from the start of `text`."""
    return [v for v in _decode_values(text, 0, " \t\r\n") if isinstance(v, dict)]


def dropped_paths(objects: list[dict], kept: dict) -> tuple[str, ...]:
    """Names of the fields present in `objects` that the whitelist tree `kept` does not read.

    `kept` maps a key to True (read whole: only numbers and ids inside) or to a nested tree.
    """
    found: set[str] = set()

    def walk(obj: dict, tree: dict, prefix: str) -> None:
        for key, value in obj.items():
            sub = tree.get(key)
            name = f"{prefix}{key}"
            if sub is None:
                found.add(name)
            elif isinstance(sub, dict) and isinstance(value, dict):
                walk(value, sub, name + ".")

    for obj in objects:
        walk(obj, kept, "")
    return tuple(sorted(found))


def json_format(source: Source) -> str:
    """read_json's format for this input: 'newline_delimited' reads in parallel, 'auto' cannot.

    An array is 'array'; one complete object on the first line means NDJSON; anything else
    (a pretty-printed object) is 'unstructured'.
    """
    text = head_text(source).lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "array"
    first = text.split("\n", 1)[0].strip()
    try:
        json.loads(first)
    except ValueError:
        return "unstructured"
    return "newline_delimited"


def record_word(source: Source) -> str:
    """How messages number JSON records: by line for NDJSON, as 'record N' for an array or pretty-printed objects."""
    return "" if json_format(source) == "newline_delimited" else "record "


def json_relation(columns: dict[str, str], source: Source | None = None) -> str:
    """read_json over $path reading only `columns` (name -> DuckDB type); every other key is skipped."""
    spec = ", ".join(f"'{_sq(name)}': '{_sq(kind)}'" for name, kind in columns.items())
    fmt = json_format(source) if source is not None else "auto"
    return f"read_json($path, format = '{fmt}', records = true, columns = {{{spec}}})"


def _sq(text: str) -> str:
    return text.replace("'", "''")


CSV_AS_TEXT = "read_csv($path, header = true, all_varchar = true)"


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB's next lines quote the raw input)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def file_columns(conn, source: Source, relation: str, fmt_name: str) -> list[str]:
    """Column names of a file as DuckDB's reader sees them; `relation` binds the path as $path."""
    import duckdb

    try:
        rows = conn.execute(f"DESCRIBE SELECT * FROM {relation}", {"path": source.path}).fetchall()
    except duckdb.Error as exc:
        raise InputFileError(f"{source.display}: cannot read as {fmt_name}: {first_line(exc)}") from None
    return [r[0] for r in rows]
