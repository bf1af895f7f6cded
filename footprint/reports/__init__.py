"""Report renderers (json, csv, md, html) over one report dict built by the accounting engine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from footprint.errors import FootprintError, ValidationError
from footprint.reports.build import build_report, report_dict
from footprint.reports.i18n import check_lang

FORMATS = ("html", "md", "json", "csv", "boamps")


def render(report: dict, fmt: str, lang: str = "en") -> str:
    check_lang(lang)
    if fmt == "json":
        from footprint.reports.json_report import render_json

        return render_json(report)
    if fmt == "csv":
        from footprint.reports.csv_report import render_csv

        return render_csv(report)
    if fmt == "md":
        from footprint.reports.md_report import render_md

        return render_md(report, lang)
    if fmt == "boamps":
        from footprint.reports.boamps import render_boamps

        return render_boamps(report)
    if fmt == "html":
        from footprint.reports.html_report import render_html

        return render_html(report, lang)
    raise ValidationError(f"bad format {fmt!r}: expected one of {', '.join(FORMATS)}")


def report_text(store, period, fmt: str = "json", lang: str = "en", *, allocate_idle: bool = False) -> str:
    """The report of `period` rendered as `fmt`: what `footprint report` prints and the dashboard's
    /api/report serves (one function, so the two are the same bytes)."""
    return render(build_report(store, period, allocate_idle=allocate_idle), fmt, lang)


def check_target(path: str | os.PathLike) -> Path:
    """Fail before any work when the output file's folder is missing or not writable."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FootprintError(f"cannot write {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FootprintError(f"cannot write {target}: folder {folder} is not writable")
    if target.is_dir():
        raise FootprintError(f"cannot write {target}: it is a directory")
    return target


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` owner-only, through a temporary file in the same folder and a rename:
    readers see the old file or the whole new one, never half of it."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FootprintError(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FootprintError(f"cannot write {target}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise FootprintError(f"cannot write {target}: {exc.strerror}") from None
        raise
    return target


__all__ = ["FORMATS", "build_report", "check_target", "render", "report_dict", "report_text", "write_atomic"]
