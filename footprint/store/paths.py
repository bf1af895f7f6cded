"""Where the database lives, and the owner-only file policy."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB = "FOOTPRINT_DB"
DB_FILENAME = "footprint.duckdb"
_OWNER_ONLY_UMASK = 0o077
_previous_umask: int | None = None


def resolve_db_path(cli_value: str | os.PathLike | None = None) -> Path:
    """--db, else $FOOTPRINT_DB, else the user data directory."""
    if cli_value:
        return Path(cli_value).expanduser()
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("footprint", appauthor=False)) / DB_FILENAME


def enforce_owner_only_umask() -> None:
    """Make every file this process creates (database, WAL, spool, temporaries) owner-only.

    DuckDB creates its WAL lazily, so a chmod after connecting is not enough: the umask is.
    The previous umask is kept for child processes (`footprint run` restores it for the job).
    """
    global _previous_umask
    old = os.umask(_OWNER_ONLY_UMASK)
    if _previous_umask is None:
        _previous_umask = old


def previous_umask() -> int:
    """The umask the process had before footprint tightened it (for child processes)."""
    if _previous_umask is not None:
        return _previous_umask
    current = os.umask(0o022)
    os.umask(current)
    return current


def ensure_parent_dir(db_path: Path) -> None:
    """Create missing parent directories with mode 0700 (existing ones are left as they are)."""
    parent = db_path.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)
