"""Running a read plan: validate, key and insert a whole file in one transaction, in SQL only.

Fast path: one INSERT … SELECT straight from DuckDB's reader, where a bad value makes the query fail
(`error()`), then two key-only queries that drop what was already stored. Only when that fails does
a second, slower scan number the rows to name the first bad one (FILE:LINE: field NAME: problem).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb

from footprint.errors import DatabaseError, FootprintError, InputFileError
from footprint.ingest.plan import FIELDS, TOKEN_FIELDS, Plan
from footprint.ingest.source import first_line as _first_line
from footprint.store import Store

ProgressFn = Callable[[str, float], None]  # (file display name, percent done 0-100)

_PROBLEM_VALUE_CHARS = 40  # how much of a bad value a message shows


@dataclass(frozen=True)
class FileResult:
    file: str
    source_format: str
    rows_read: int
    rows_added: int
    rows_present: int
    rows_rejected: int
    rows_skipped: int
    fields_dropped: tuple[str, ...]
    reject_file: str | None = None
    rows_without_time: int = 0


def _col(name: str) -> str:
    return f"r_{name}"


def _ts_parse(plan: Plan) -> str:
    raw = _col("timestamp")
    if plan.ts_kind == "epoch":
        # Unix seconds; out-of-range numbers give NULL (then "not a timestamp"), never an error.
        seconds = f"try_cast({raw} AS DOUBLE)"
        return f"CASE WHEN abs({seconds}) < 1e11 THEN make_timestamp(CAST({seconds} * 1000000 AS BIGINT)) END"
    # An offset (+02:00, -0500) needs TIMESTAMPTZ (session zone UTC, so the cast back is naive UTC);
    # it costs 4x a TIMESTAMP cast, which reads 'Z' right but ignores offsets: used only without one.
    # '+' appears only in an offset, and '-' after a ':' only in a negative one (the date's come first).
    iso = (
        f"CASE WHEN contains({raw}, '+') OR {raw} LIKE '%:%-%' "
        f"THEN CAST(try_cast({raw} AS TIMESTAMPTZ) AS TIMESTAMP) ELSE try_cast({raw} AS TIMESTAMP) END"
    )
    if plan.ts_kind == "zoned":  # a zone name ('Europe/Paris') needs the TIMESTAMPTZ cast on every row
        return f"CAST(try_cast({raw} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if plan.ts_kind != "unix":
        return iso
    # Sampled as numbers: Unix seconds or milliseconds since 2001-09-09 (1e9 s), told apart by size;
    # ISO 8601 where a value is not one; other numbers (20260701, 12) stay "not a timestamp". Only
    # for such files: DuckDB computes the number for every row, 25% of an ISO file's ingest.
    number = f"try_cast({raw} AS DOUBLE)"
    return (
        f"coalesce(CASE WHEN {number} >= 1e9 AND {number} < 1e11 THEN make_timestamp(CAST({number} * 1000000 AS BIGINT)) "
        f"WHEN {number} >= 1e12 AND {number} < 1e14 THEN make_timestamp(CAST({number} * 1000 AS BIGINT)) END, {iso})"
    )


def _shown(raw: str) -> str:
    return f"'''' || left({raw}, {_PROBLEM_VALUE_CHARS}) || ''''"


def _checks(plan: Plan, has_default_use_case: bool) -> list[tuple[str, str]]:
    """(condition, message) pairs over the parsed relation; a row is bad when any condition holds."""
    checks = []
    ts = _col("timestamp")
    if plan.ts_required:
        checks.append((f"{ts} IS NULL", "'field timestamp: missing'"))
    checks.append((f"{ts} IS NOT NULL AND p_timestamp IS NULL", f"'field timestamp: not a timestamp: ' || {_shown(ts)}"))
    missing_uc = "missing (add a use_case column or give --use-case)" if not has_default_use_case else "missing"
    checks.append(("p_use_case IS NULL", f"'field use_case: {missing_uc}'"))
    checks.append(
        ("NOT list_contains($known, p_use_case)",
         f"'field use_case: unknown use case ' || {_shown('p_use_case')} || ' (register it with footprint usecase add)'")
    )
    for name in TOKEN_FIELDS:
        raw = _col(name)
        if name not in plan.exprs:  # always NULL: nothing to check
            continue
        if name in plan.required:
            checks.append((f"{raw} IS NULL", f"'field {name}: missing'"))
        # Counts are read as DOUBLE (typed readers parse them fastest) and must be whole, finite,
        # >= 0 and exact in a double (< 2**53): 12.5, NaN, inf, 1e309 and -3 are all refused.
        checks.append((
            f"{raw} IS NOT NULL AND NOT coalesce(isfinite(n_{name}) AND n_{name} >= 0 "
            f"AND n_{name} = floor(n_{name}) AND n_{name} < 9007199254740992, false)",
            f"'field {name}: not a non-negative integer: ' || {_shown(f'CAST({raw} AS VARCHAR)')}",
        ))
    return checks


def _good(plan: Plan) -> str:
    """A row passes every check of `_checks` exactly when this holds (NULL counts as failing)."""
    terms = ["list_contains($known, p_use_case)"]
    ts = _col("timestamp")
    terms.append("p_timestamp IS NOT NULL" if plan.ts_required else f"({ts} IS NULL OR p_timestamp IS NOT NULL)")
    for name in TOKEN_FIELDS:
        if name not in plan.exprs:
            continue
        # NaN compares above every number in DuckDB and inf is not < 2**53: both fail here.
        number = f"n_{name} >= 0 AND n_{name} < 9007199254740992 AND n_{name} = floor(n_{name})"
        terms.append(f"({number})" if name in plan.required else f"({_col(name)} IS NULL OR ({number}))")
    return " AND ".join(terms)


class _Sql:
    """The SQL texts of one plan. Identifiers come from the plan's whitelist; values are all bound."""

    def __init__(self, plan: Plan, has_default_use_case: bool, base_table: str | None = None, text_only: bool = False):
        self.plan = plan
        # Token fields keep the reader's type (DOUBLE from a typed CSV read, else text).
        exprs = ", ".join(
            f"{plan.exprs.get(f, 'NULL')} AS {_col(f)}" if f in TOKEN_FIELDS
            else f"CAST({plan.exprs.get(f, 'NULL')} AS VARCHAR) AS {_col(f)}"
            for f in FIELDS
        )
        keep = plan.keep or "true"
        if base_table is None:
            fast = plan.diag_relation if (text_only and plan.diag_relation) else plan.relation
            base = f"SELECT {exprs}, coalesce({keep}, false) AS __keep FROM {fast}"
            # The slow path re-reads everything as text, so any value, even one the typed reader
            # refused, is found and named with its line.
            diag = f"SELECT {exprs}, coalesce({keep}, false) AS __keep FROM {plan.diag_relation or plan.relation}"
            self.base_with_rn = f"SELECT row_number() OVER () AS __rn, * FROM ({diag})"
        else:  # a pipe (stdin, a file fed without its BOM), read once into a temp table of whitelisted text columns
            base = f"SELECT * EXCLUDE (__rn) FROM {base_table}"
            self.base_with_rn = f"SELECT * FROM {base_table}"
        self.materialise = (
            f"SELECT row_number() OVER () AS __rn, {exprs}, coalesce({keep}, false) AS __keep "
            f"FROM {plan.diag_relation or plan.relation}"
        )
        self.base = base
        parsed_cols = [f"{_ts_parse(plan)} AS p_timestamp", "coalesce(r_use_case, $default_use_case) AS p_use_case"]
        parsed_cols += [
            f"try_cast({_col(n)} AS DOUBLE) AS n_{n}" if n in plan.exprs else f"NULL::DOUBLE AS n_{n}"
            for n in TOKEN_FIELDS
        ]
        self.parsed_cols = ", ".join(parsed_cols)
        self.checks = _checks(plan, has_default_use_case)
        # The fast path tests one conjunction of what a good row is (cheaper than OR-ing each check);
        # the checks, in order, only name the problem once a bad row is known to exist.
        self.bad = "NOT coalesce(" + _good(plan) + ", false)"
        self.problem = "CASE " + " ".join(f"WHEN coalesce({c}, false) THEN {m}" for c, m in self.checks) + " END"

    def parsed(self, with_rn: bool) -> str:
        base = self.base_with_rn if with_rn else self.base
        ints = ", ".join(
            f"try_cast(n_{n} AS BIGINT) AS p_{n}"
            if n in self.plan.exprs else f"NULL::BIGINT AS p_{n}"
            for n in TOKEN_FIELDS
        )
        return f"SELECT *, {ints} FROM (SELECT *, {self.parsed_cols} FROM ({base}) WHERE __keep)"

    def insert(self, strict: bool) -> str:
        plan = self.plan
        input_expr = "p_input_tokens"
        if not plan.cache_in_input:
            input_expr = "p_input_tokens + coalesce(p_cached_input_tokens, 0) + coalesce(p_cache_creation_input_tokens, 0)"
        by_fields = ", ".join(
            f"coalesce(CAST({c} AS VARCHAR), '')"
            for c in ("p_timestamp", "r_model", "provider_v", "p_input_tokens", "p_output_tokens",
                      "p_cached_input_tokens", "p_cache_creation_input_tokens", "p_images", "p_requests")
        )
        key = (
            "md5_number(CASE WHEN r_request_id IS NOT NULL "
            "THEN concat_ws(chr(31), 'id', p_use_case, r_request_id) "
            f"ELSE concat_ws(chr(31), 'row', p_use_case, {by_fields}) END)"
        )
        ts = "CASE WHEN " + self.bad + " THEN error('footprint: bad row') ELSE p_timestamp END" if strict else "p_timestamp"
        where = "" if strict else f"WHERE NOT ({self.bad})"
        return (
            "INSERT INTO usage (row_key, ts, use_case, model, provider, input_tokens, output_tokens, "
            "cached_input_tokens, cache_creation_input_tokens, images, requests, source_format, ingest_id) "
            f"SELECT {key}, {ts}, p_use_case, r_model, provider_v, {input_expr}, p_output_tokens, "
            "p_cached_input_tokens, p_cache_creation_input_tokens, p_images, coalesce(p_requests, 1), "
            "$source_format, $ingest_id "
            f"FROM (SELECT *, coalesce(r_provider, $provider) AS provider_v FROM ({self.parsed(False)})) {where}"
        )

    def first_bad(self) -> str:
        return f"SELECT __rn, {self.problem} FROM ({self.parsed(True)}) WHERE {self.bad} ORDER BY __rn LIMIT 1"

    def count_bad(self) -> str:
        return f"SELECT count(*) FROM ({self.parsed(False)}) WHERE {self.bad}"

    def rejects(self) -> str:
        raw = ", ".join(f"CAST({_col(f)} AS VARCHAR) AS {f}" for f in FIELDS if f in self.plan.exprs)
        return (
            f"SELECT __rn + {int(self.plan.line_offset)} AS line, {self.problem} AS problem, {raw} "
            f"FROM ({self.parsed(True)}) WHERE {self.bad} ORDER BY __rn"
        )

    def count_skipped(self) -> str:
        return f"SELECT count(*) FILTER (WHERE NOT __keep), count(*) FROM ({self.base})"


def _bind(sql: str, params: dict) -> dict:
    """Only the parameters the statement names (DuckDB rejects unused named parameters)."""
    return {k: v for k, v in params.items() if re.search(r"\$" + k + r"\b", sql)}


def reader_error(plan: Plan, exc: BaseException) -> InputFileError:
    """A DuckDB reader/conversion error as one line naming the file (and the line when DuckDB knows it).

    Only the first line of DuckDB's message is kept: the next ones quote the raw input line.
    """
    message = _first_line(exc)
    message = re.sub(r"^[A-Za-z ]*Error: ", "", message)
    match = re.search(r"[Ll]ine:? (\d+)", str(exc))
    if match and plan.record_word == "":
        return InputFileError(f"{plan.display}:{match.group(1)}: cannot read as {plan.source_format}: {message}")
    return InputFileError(f"{plan.display}: cannot read as {plan.source_format}: {message}")


class _Progress:
    """Polls the connection's query progress from a thread while one statement runs."""

    def __init__(self, conn, label: str, callback: ProgressFn | None):
        self.conn, self.label, self.callback = conn, label, callback
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.callback is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.1):
            try:
                value = self.conn.query_progress()
            except Exception:  # the statement may have just finished
                continue
            if value is not None and value >= 0:
                self.callback(self.label, float(value))

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False


def _execute(conn, sql: str, params: dict, progress: _Progress | None = None):
    if progress is None:
        return conn.execute(sql, _bind(sql, params))
    with progress:
        return conn.execute(sql, _bind(sql, params))


def run_plan(
    store: Store,
    plan: Plan,
    *,
    known_use_cases: list[str],
    default_use_case: str | None,
    skip_bad: bool,
    reject_path: Path | None,
    piped: bool = False,
    progress: ProgressFn | None = None,
) -> FileResult:
    """Ingest one file described by `plan` in one transaction; raises InputFileError on a bad row."""
    conn = store.conn
    params = {
        "path": plan.path,
        "known": known_use_cases,
        "default_use_case": default_use_case,
        "provider": plan.provider,
        "source_format": plan.source_format,
    }
    base_table = "__footprint_ingest_piped" if piped else None
    # --skip-bad reads everything as text: a value the typed reader refuses is a bad row, not an abort.
    sql = _Sql(plan, default_use_case is not None, base_table, text_only=skip_bad)
    watcher = _Progress(conn, plan.display, progress) if progress else None
    if piped:
        # A pipe can be read once: keep its whitelisted text columns (only those) in a temp table.
        text = f"CREATE OR REPLACE TEMP TABLE {base_table} AS {sql.materialise}"
        try:
            _execute(conn, text, params, watcher)
        except duckdb.Error as exc:
            raise reader_error(plan, exc) from None
    conn.execute("BEGIN TRANSACTION")
    try:
        try:
            skipped, total = 0, None
            if plan.keep:
                skipped, total = conn.execute(sql.count_skipped(), _bind(sql.count_skipped(), params)).fetchone()
            ingest_id = store.query("ingest/next_ingest_id").fetchone()[0]
            params["ingest_id"] = ingest_id
            rejected = 0
            reject_file = None
            if skip_bad:
                rejected = conn.execute(sql.count_bad(), _bind(sql.count_bad(), params)).fetchone()[0]
                if rejected and reject_path is not None:
                    _write_rejects(conn, sql, params, reject_path)
                    reject_file = str(reject_path)
            stored_before = conn.execute("SELECT count(*) FROM usage").fetchone()[0]  # from metadata: instant
            text = sql.insert(strict=not skip_bad)
            inserted = _execute(conn, text, params, watcher).fetchone()[0]
        except duckdb.Error as exc:
            conn.execute("ROLLBACK")
            raise _diagnose(store, plan, sql, params, exc) from None
        except UnicodeDecodeError:  # DuckDB's message (or a value) cut inside a UTF-8 character
            conn.execute("ROLLBACK")
            raise _undecodable(plan) from None
        # Key-only queries: cheap checks first, the DELETE (which counts what it removes) only when needed.
        key = {"ingest_id": ingest_id}
        repeated = store.query("ingest/count_repeated", key).fetchone()[0]
        present = store.query("ingest/count_present", key).fetchone()[0] if stored_before else 0
        dropped = 0
        if present or repeated:
            dropped = store.query("ingest/delete_duplicates", {"ingest_id": ingest_id}).fetchone()[0]
        without_time = 0
        if not plan.ts_required:
            without_time = conn.execute(
                "SELECT count(*) FROM usage WHERE ingest_id = $ingest_id AND ts IS NULL", {"ingest_id": ingest_id}
            ).fetchone()[0]
        result = FileResult(
            file=plan.display,
            source_format=plan.source_format,
            rows_read=inserted + rejected,
            rows_added=inserted - dropped,
            rows_present=dropped,
            rows_rejected=rejected,
            rows_skipped=skipped,
            fields_dropped=plan.fields_dropped,
            reject_file=reject_file,
            rows_without_time=without_time,
        )
        store.query("ingest/insert_ingest", {
            "ingest_id": ingest_id,
            "file_name": Path(plan.display).name or plan.display,
            "file_bytes": plan.file_bytes,
            "source_format": plan.source_format,
            "rows_read": result.rows_read,
            "rows_added": result.rows_added,
            "rows_present": result.rows_present,
            "rows_rejected": result.rows_rejected,
            "rows_skipped": result.rows_skipped,
            "fields_dropped": list(plan.fields_dropped),
        })
        conn.execute("COMMIT")
        return result
    except FootprintError:
        raise
    except BaseException as exc:
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            pass
        if isinstance(exc, duckdb.Error):
            raise DatabaseError(f"{plan.display}: ingest failed, nothing written: {_first_line(exc)}") from None
        raise
    finally:
        if piped:
            try:
                conn.execute(f"DROP TABLE IF EXISTS {base_table}")
            except duckdb.Error:
                pass


def _undecodable(plan: Plan) -> FootprintError:
    return InputFileError(f"{plan.display}: cannot be read: a value or the reader's message is not valid UTF-8; "
                          "nothing written")


def _diagnose(store: Store, plan: Plan, sql: _Sql, params: dict, exc: duckdb.Error) -> FootprintError:
    """After a failed fast path: find and name the first bad row, else explain the reader's error."""
    conn = store.conn
    try:
        found = conn.execute(sql.first_bad(), _bind(sql.first_bad(), params)).fetchone()
    except duckdb.Error as again:
        return reader_error(plan, again)
    except UnicodeDecodeError:
        return _undecodable(plan)
    if found is None:
        return reader_error(plan, exc)
    row_number, problem = found
    return InputFileError(f"{plan.display}:{plan.record_word}{row_number + plan.line_offset}: {problem}")


def _write_rejects(conn, sql: _Sql, params: dict, reject_path: Path) -> None:
    """Bad rows (whitelisted fields only, plus line and problem) to an owner-only CSV."""
    reject_path.parent.mkdir(parents=True, exist_ok=True)
    text = f"COPY ({sql.rejects()}) TO $reject_path (HEADER, DELIMITER ',')"
    conn.execute(text, _bind(text, {**params, "reject_path": str(reject_path)}))
    reject_path.chmod(0o600)
