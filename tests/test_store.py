"""The store: path resolution, owner-only files, migrations, unusable databases."""

import os
import stat
import subprocess
import sys
import time

import duckdb
import pytest

from footprint.errors import DatabaseError, DatabaseLockedError, SchemaTooNewError
from footprint.store import LATEST_SCHEMA_VERSION, open_store, resolve_db_path


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_path_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTPRINT_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path(tmp_path / "cli.duckdb") == tmp_path / "cli.duckdb"
    assert resolve_db_path(None) == tmp_path / "env.duckdb"
    monkeypatch.delenv("FOOTPRINT_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    default = resolve_db_path(None)
    assert default.name == "footprint.duckdb" and "footprint" in default.parent.name


def test_fresh_database_is_owner_only_whatever_the_umask(tmp_path):
    db = tmp_path / "new" / "deeper" / "fp.duckdb"
    old = os.umask(0o000)
    try:
        with open_store(db) as store:
            store.execute("INSERT INTO benefits VALUES ('x', '2026-Q1', 1, 'h', NULL, now()::TIMESTAMP)")
            wal = db.with_name(db.name + ".wal")
            if wal.exists():  # DuckDB creates its WAL lazily; when it exists it must be private too
                assert mode(wal) == 0o600
    finally:
        os.umask(old)
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700


def test_wal_is_owner_only(tmp_path):
    db = tmp_path / "fp.duckdb"
    os.umask(0o022)
    with open_store(db) as store:
        store.execute("SET wal_autocheckpoint = '1GB'")
        store.execute("INSERT INTO benefits VALUES ('x', '2026-Q1', 1, 'h', NULL, now()::TIMESTAMP)")
        wal = db.with_name(db.name + ".wal")
        assert wal.exists()
        assert mode(wal) == 0o600


def test_fresh_db_gets_every_migration_once_and_reopen_is_a_no_op(tmp_path):
    db = tmp_path / "fp.duckdb"
    with open_store(db) as store:
        versions = store.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    from footprint.store.db import _migrations

    assert [v for (v,) in versions] == [v for v, _, _ in _migrations()]
    assert versions[-1][0] == LATEST_SCHEMA_VERSION
    with open_store(db) as store:
        again = store.execute("SELECT version, applied_at FROM schema_version ORDER BY version").fetchall()
    assert [v for v, _ in again] == [v for (v,) in versions]


def test_partial_database_is_brought_up_to_date(tmp_path):
    db = tmp_path / "fp.duckdb"
    from footprint.store.db import _migrations

    version, name, text = _migrations()[0]
    conn = duckdb.connect(str(db))
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    conn.execute(text)
    conn.execute("INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [version, name])
    conn.close()
    with open_store(db) as store:
        assert store.execute("SELECT max(version) FROM schema_version").fetchone()[0] == LATEST_SCHEMA_VERSION
        assert store.execute("SELECT count(*) FROM measurements").fetchone()[0] == 0


def test_newer_schema_is_refused(tmp_path, invoke, db_path):
    with open_store(db_path) as store:
        store.execute("INSERT INTO schema_version VALUES (?, 'from-the-future.sql', now()::TIMESTAMP)", [LATEST_SCHEMA_VERSION + 1])
    with pytest.raises(SchemaTooNewError, match="newer than this footprint"):
        open_store(db_path)
    result = invoke("usecase", "list")
    assert result.exit_code == 1 and "upgrade footprint" in result.stderr


def test_garbage_file_is_a_clear_error(tmp_path, runner):
    from footprint.cli import app

    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_store(bad)
    result = runner.invoke(app, ["--db", str(bad), "usecase", "list"])
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot open database")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_clear_error(tmp_path):
    db = tmp_path / "fp.duckdb"
    open_store(db).close()
    os.chmod(db, 0)
    with pytest.raises(DatabaseError, match="permission denied"):
        open_store(db)


def test_directory_as_database_is_a_clear_error(tmp_path, runner):
    from footprint.cli import app

    result = runner.invoke(app, ["--db", str(tmp_path), "usecase", "list"])
    assert result.exit_code == 1 and "is a directory" in result.stderr


def test_locked_database_waits_then_fails_clearly(tmp_path, monkeypatch, runner):
    from footprint.cli import app

    db = tmp_path / "fp.duckdb"
    open_store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError, match="locked by another process"):
            open_store(db, lock_timeout_s=0.5)
        assert 0.4 < time.monotonic() - started < 5
        monkeypatch.setenv("FOOTPRINT_LOCK_TIMEOUT", "0.3")
        result = runner.invoke(app, ["--db", str(db), "usecase", "list"])
        assert result.exit_code == 1 and "locked by another process" in result.stderr
    finally:
        holder.kill()
        holder.wait()
