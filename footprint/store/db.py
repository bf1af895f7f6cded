"""Opening the store: owner-only files, lock waiting, schema migrations."""

from __future__ import annotations

import functools
import os
import re
import time
from importlib import resources
from pathlib import Path

import duckdb

from footprint.errors import DatabaseError, DatabaseLockedError, SchemaTooNewError
from footprint.store.paths import enforce_owner_only_umask, ensure_parent_dir, resolve_db_path

ENV_LOCK_TIMEOUT = "FOOTPRINT_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 30.0
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@functools.cache
def _migrations() -> tuple[tuple[int, str, str], ...]:
    """(version, file name, SQL) of every shipped migration, in order."""
    folder = resources.files("footprint.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return tuple(found)


LATEST_SCHEMA_VERSION = max(v for v, _, _ in _migrations())


@functools.cache
def sql(name: str) -> str:
    """A named query from footprint/store/queries/NAME.sql."""
    return resources.files("footprint.store").joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


class Store:
    """An open database. Use as a context manager; `conn` is the DuckDB connection."""

    def __init__(self, path: Path, conn: duckdb.DuckDBPyConnection):
        self.path = path
        self.conn = conn
        self.drain_result = None  # what open_store ingested from the collectors' spool

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def execute(self, query: str, params=None):
        return self.conn.execute(query, params or [])

    def query(self, name: str, params=None):
        return self.conn.execute(sql(name), params or [])

    def rows_as_dicts(self, name: str, params=None) -> list[dict]:
        cursor = self.query(name, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def transaction(self):
        return _Transaction(self)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on an exception. A nested use joins the outer transaction
    (e.g. ingest writes CodeCarbon records through insert_records and its bookkeeping row at once)."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self):
        depth = getattr(self.store, "_transaction_depth", 0)
        if depth == 0:
            self.store.conn.execute("BEGIN TRANSACTION")
        self.store._transaction_depth = depth + 1
        return self.store.conn

    def __exit__(self, exc_type, exc, tb):
        self.store._transaction_depth -= 1
        if self.store._transaction_depth == 0:
            self.store.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def _lock_timeout_s(explicit: float | None) -> float:
    if explicit is not None:
        return explicit
    raw = os.environ.get(ENV_LOCK_TIMEOUT)
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT_S


def _connect(path: Path, lock_timeout_s: float, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # Offline: never autoload or autoinstall an extension from the network.
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    deadline = time.monotonic() + lock_timeout_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise DatabaseLockedError(
                    f"database {path} is locked by another process; waited {lock_timeout_s:g} s "
                    f"(set {ENV_LOCK_TIMEOUT} to wait longer)"
                ) from None
            raise DatabaseError(f"cannot open database {path}: {text.splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise DatabaseError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None


def _schema_version(conn) -> int:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = 'main'"
    ).fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def _migrate(conn, path: Path) -> None:
    current = _schema_version(conn)
    if current > LATEST_SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"database {path} has schema version {current}, newer than this footprint understands "
            f"({LATEST_SCHEMA_VERSION}); upgrade footprint"
        )
    pending = [m for m in _migrations() if m[0] > current]
    if not pending:
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        for version, name, text in pending:
            conn.execute(text)
            conn.execute("INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [version, name])
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def open_store(path: str | os.PathLike | None = None, *, lock_timeout_s: float | None = None) -> Store:
    """Open (creating and migrating if needed) the database at `path` (default: resolve_db_path())."""
    db_path = resolve_db_path(path)
    enforce_owner_only_umask()
    if db_path.is_dir():
        raise DatabaseError(f"cannot open database {db_path}: it is a directory")
    creating = not db_path.exists()
    if creating:
        try:
            ensure_parent_dir(db_path)
        except OSError as exc:
            raise DatabaseError(f"cannot create directory for database {db_path}: {exc.strerror}") from None
    elif not os.access(db_path, os.R_OK | os.W_OK):
        raise DatabaseError(f"cannot open database {db_path}: permission denied")
    conn = _connect(db_path, _lock_timeout_s(lock_timeout_s))
    if creating:
        os.chmod(db_path, 0o600)
    try:
        _migrate(conn, db_path)
    except duckdb.Error as exc:
        conn.close()
        raise DatabaseError(f"cannot use database {db_path}: {str(exc).splitlines()[0]}") from None
    except BaseException:
        conn.close()
        raise
    store = Store(db_path, conn)
    # Collectors never hold the database: whoever opens it ingests what they spooled (exactly once).
    from footprint import spool

    try:
        store.drain_result = spool.drain(store)
    except BaseException:
        conn.close()
        raise
    return store


def open_store_readonly(path: str | os.PathLike | None = None, *, lock_timeout_s: float | None = None) -> Store:
    """Open an existing database read-only (the dashboard): no migration, no spool drain, nothing written.

    Hold it briefly: while it is open, a writing command waits for it (DuckDB locks the file)."""
    db_path = resolve_db_path(path)
    if not db_path.is_file():
        raise DatabaseError(f"no database at {db_path}: run `footprint demo` or register a use case first")
    if not os.access(db_path, os.R_OK):
        raise DatabaseError(f"cannot open database {db_path}: permission denied")
    conn = _connect(db_path, _lock_timeout_s(lock_timeout_s), read_only=True)
    try:
        current = _schema_version(conn)
    except duckdb.Error as exc:
        conn.close()
        raise DatabaseError(f"cannot use database {db_path}: {str(exc).splitlines()[0]}") from None
    if current != LATEST_SCHEMA_VERSION:
        conn.close()
        if current > LATEST_SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"database {db_path} has schema version {current}, newer than this footprint understands "
                f"({LATEST_SCHEMA_VERSION}); upgrade footprint"
            )
        raise DatabaseError(
            f"database {db_path} has schema version {current}, older than this footprint's ({LATEST_SCHEMA_VERSION}): "
            "run any footprint command that opens it (e.g. `footprint usecase list`) once to migrate it"
        )
    return Store(db_path, conn)
