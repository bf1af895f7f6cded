"""`footprint estimate --input FILE.csv --json`: many estimates at once, in the file's row order.

The csv module reads the file into columns, numpy does the arithmetic (estimate_llm_batch), and
the JSON array is written from a fixed template, so 100,000 rows take well under two seconds.
A bad value stops everything with one line naming the file, line and field.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from estimators.llm import RowValueError, estimate_llm_batch
from footprint.errors import InputFileError

REQUIRED = ("params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens")
OPTIONAL = ("model", "input_tokens", "country")
NUMERIC = ("params", "active_params", "gpus", "batch_size", "output_tokens", "input_tokens")
TEXT = ("gpu", "precision", "model", "country")
FIGURES = ("gpu_wh", "host_wh", "facility_wh", "total_wh", "gco2e", "water_ml", "embodied_gco2e")


def read_columns(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """Columns of the file (numbers as float arrays, NaN for blanks) and the row count."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise InputFileError(f"{path}: empty file (expected a header: {', '.join(REQUIRED)})") from None
        except csv.Error as exc:
            raise InputFileError(f"{path}, line 1: {exc}") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputFileError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
        wanted = [c for c in REQUIRED + OPTIONAL if c in header]
        index = [header.index(c) for c in wanted]
        width = len(header)
        raw: list[list[str]] = []
        try:
            for row in reader:
                if len(row) != width:
                    if not row:
                        raise InputFileError(f"{path}, line {reader.line_num}: empty line")
                    raise InputFileError(f"{path}, line {reader.line_num}: {len(row)} fields, the header has {width}")
                raw.append(row)
        except csv.Error as exc:
            raise InputFileError(f"{path}, line {reader.line_num}: {exc}") from None
    if not raw:
        raise InputFileError(f"{path}: no rows")
    columns: dict[str, np.ndarray] = {}
    for name, i in zip(wanted, index):
        values = np.array([r[i] for r in raw], dtype=object)
        stripped = np.char.strip(values.astype(str))
        if name in NUMERIC:
            columns[name] = _to_float(stripped, path, name)
        else:
            columns[name] = np.where(stripped == "", None, stripped).astype(object)
    return columns, len(raw)


def _to_float(values: np.ndarray, path: Path, field: str) -> np.ndarray:
    blank = values == ""
    out = np.full(values.size, np.nan)
    try:
        out[~blank] = values[~blank].astype(float)
    except ValueError:
        for i, v in enumerate(values):
            if v:
                try:
                    float(v)
                except ValueError:
                    raise InputFileError(f"{path}, line {i + 2}, field {field}: {v!r} is not a number") from None
    bad = ~blank & ~np.isfinite(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputFileError(f"{path}, line {i + 2}, field {field}: {values[i]!r} is not a finite number")
    return out


def estimate_file(path: Path) -> dict[str, np.ndarray]:
    columns, _ = read_columns(path)
    try:
        return estimate_llm_batch(columns)
    except RowValueError as exc:
        raise InputFileError(f"{path}, line {exc.row + 2}, field {exc.field}: {exc.detail}") from None


def to_json_text(result: dict[str, np.ndarray]) -> str:
    """The JSON array, one object per row: energy_wh.{gpu,host,facility,total}, gco2e, water_ml,
    embodied_gco2e (each {value, low, high}) and the GPU J per output token used."""
    names = []
    for figure in FIGURES:
        names.extend([figure, figure + "_low", figure + "_high"])
    names.append("gpu_j_per_output_token")
    matrix = np.column_stack([result[n] for n in names])
    if not np.isfinite(matrix).all():
        raise InputFileError("estimate produced a non-finite number")
    rng = '{{"value": %.7g, "low": %.7g, "high": %.7g}}'
    template = (
        '{{"energy_wh": {{"gpu": ' + rng + ', "host": ' + rng + ', "facility": ' + rng + ', "total": ' + rng + "}}, "
        '"gco2e": ' + rng + ', "water_ml": ' + rng + ', "embodied_gco2e": ' + rng + ', "gpu_j_per_output_token": %.7g}}'
    )
    template = template.replace("{{", "{").replace("}}", "}")
    parts = [template % tuple(row) for row in matrix.tolist()]
    return "[\n" + ",\n".join(parts) + "\n]\n"

