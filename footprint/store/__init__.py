"""The DuckDB store: one file, numbered .sql migrations, bound parameters only."""

from footprint.store.db import LATEST_SCHEMA_VERSION, Store, open_store, sql
from footprint.store.paths import resolve_db_path

__all__ = ["LATEST_SCHEMA_VERSION", "Store", "open_store", "resolve_db_path", "sql"]
