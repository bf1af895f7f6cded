"""The DuckDB store: one file, numbered .sql migrations, bound parameters only.

`db` (and so DuckDB) is imported on first use: collectors import `footprint.store.paths` and must not
pay for DuckDB in the sidecar.
"""

from footprint.store.paths import resolve_db_path

__all__ = ["LATEST_SCHEMA_VERSION", "Store", "open_store", "open_store_readonly", "resolve_db_path", "sql"]


def __getattr__(name: str):
    if name in ("LATEST_SCHEMA_VERSION", "Store", "open_store", "open_store_readonly", "sql"):
        from footprint.store import db

        return getattr(db, name)
    raise AttributeError(f"module 'footprint.store' has no attribute {name!r}")
