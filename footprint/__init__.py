"""footprint: environmental footprint accounting for AI use cases.

The package root stays import-light: `footprint --help` must not pay for DuckDB,
CodeCarbon or matplotlib. Heavier entry points are loaded on first attribute access.
"""

__version__ = "0.1.0"

# The repository keeps cli.py, estimators/ and data/ beside this package; the wheel maps them into it
# (setup.py), so that nothing but `footprint` is installed at the top level. In a source checkout the
# same names (footprint.cli, footprint.estimators, footprint.data) resolve to those folders.
def _source_checkout_path() -> list[str]:
    from os import path

    root = path.dirname(path.dirname(path.abspath(__file__)))
    mapped = path.join(path.dirname(path.abspath(__file__)), "estimators")
    if path.isfile(path.join(root, "cli.py")) and path.isdir(path.join(root, "estimators")) and not path.isdir(mapped):
        return [root]
    return []


__path__ += _source_checkout_path()

__all__ = ["__version__", "track"]


def __getattr__(name: str):
    if name == "track":
        from footprint.api import track

        return track
    raise AttributeError(f"module 'footprint' has no attribute {name!r}")
