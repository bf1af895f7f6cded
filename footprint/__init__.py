"""footprint: environmental footprint accounting for AI use cases.

The package root stays import-light: `footprint --help` must not pay for DuckDB,
CodeCarbon or matplotlib. Heavier entry points are loaded on first attribute access.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "track"]


def __getattr__(name: str):
    if name == "track":
        from footprint.api import track

        return track
    raise AttributeError(f"module 'footprint' has no attribute {name!r}")
