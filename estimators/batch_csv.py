"""`footprint estimate --input FILE.csv --json`: many estimates at once, in the file's row order.

A row of a file describes a deployment: a blank `batch_size` cell means one request at a time
(batch 1), which is how ML.ENERGY records its unbatched (v1) runs and the conservative, highest-
energy reading; the row lists it in `inputs.assumed`. (The single `footprint estimate` without
`--batch` keeps the unknown-API default, 128 in a range of 16-1024.)

The csv module reads the file into columns, numpy does the arithmetic (estimate_llm_batch), and
the JSON array is written from a fixed template, so 100,000 rows take well under two seconds.
A bad value stops everything with one line naming the file, line and field.
"""

from __future__ import annotations

import csv
import io
from itertools import repeat
from operator import itemgetter
from pathlib import Path

import numpy as np

from footprint.estimators import physics
from footprint.estimators.fastjson import TextColumn, rows_to_json
from footprint.estimators.llm import RowValueError, estimate_llm_batch
from footprint.errors import InputFileError

REQUIRED = ("params", "active_params", "gpu", "gpus", "batch_size", "precision", "output_tokens")
OPTIONAL = ("model", "input_tokens", "country", "requests", "serving_year")
NUMERIC = ("params", "active_params", "gpus", "batch_size", "output_tokens", "input_tokens", "requests", "serving_year")
TEXT = ("gpu", "precision", "model", "country")
# A blank batch_size cell in a file: one request at a time.
BLANK_FILE_BATCH = 1.0
# Inputs a row can leave to a default, in the order they are listed in `inputs.assumed` (the names
# the single estimate uses); pue is not a file column, so it is always assumed.
ASSUMABLE = ("gpu", "precision", "country", "gpus", "batch", "input_tokens", "pue")
FIGURES = ("gpu_wh", "host_wh", "facility_wh", "total_wh", "gco2e", "water_ml", "embodied_gco2e")


def _split_plain(text: str, path: Path, width: int) -> list[list[str]] | None:
    """Columns of a CSV body without quoting, split in C (str.split) rather than row by row;
    None when the text has quotes (the csv module handles those)."""
    if '"' in text:
        return None
    body = text.replace("\r\n", "\n")
    if body.endswith("\n"):
        body = body[:-1]
    if not body:
        return [[] for _ in range(width)]
    lines = body.split("\n")
    commas = list(map(str.count, lines, repeat(",", len(lines))))
    if commas.count(width - 1) != len(lines):
        i = next(i for i, c in enumerate(commas) if c != width - 1)
        what = "empty line" if not lines[i] else f"{commas[i] + 1} fields, the header has {width}"
        raise InputFileError(f"{path}, line {i + 2}: {what}")
    flat = body.replace("\n", ",").split(",")
    return [flat[i::width] for i in range(width)]


def _split_csv(text: str, path: Path, width: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw = list(reader)
    except csv.Error as exc:
        raise InputFileError(f"{path}, line {reader.line_num + 1}: {exc}") from None
    if {len(row) for row in raw} - {width}:
        i = next(i for i, row in enumerate(raw) if len(row) != width)
        # one record per line for files without quoted newlines (the usual case)
        what = "empty line" if not raw[i] else f"{len(raw[i])} fields, the header has {width}"
        raise InputFileError(f"{path}, line {i + 2}: {what}")
    return [list(map(itemgetter(i), raw)) for i in range(width)]


def read_columns(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """Columns of the file (numbers as float arrays, NaN for blanks) and the row count."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    first, _, body = text.partition("\n")
    try:
        header = [h.strip() for h in next(csv.reader([first.rstrip("\r")]))]
    except (StopIteration, csv.Error):
        raise InputFileError(f"{path}: empty file (expected a header: {', '.join(REQUIRED)})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputFileError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
    width = len(header)
    split = _split_plain(body, path, width)
    if split is None:
        split = _split_csv(body, path, width)
    n = len(split[0])
    if n == 0:
        raise InputFileError(f"{path}: no rows")
    columns: dict[str, np.ndarray] = {}
    for name in REQUIRED + OPTIONAL:
        if name not in header:
            continue
        cells = split[header.index(name)]
        if name in NUMERIC:
            try:  # fast path: every cell a number
                columns[name] = np.array(cells, dtype=float)
                if np.isfinite(columns[name]).all():
                    continue
            except ValueError:
                pass
            columns[name] = _to_float(np.array(cells, dtype=str), path, name)
        else:
            columns[name] = np.array(cells, dtype=str)  # blank strings take the defaults
    return columns, n


def _to_float(values: np.ndarray, path: Path, field: str) -> np.ndarray:
    blank = values == ""
    if not blank.all() and (np.strings.str_len(values) != np.strings.str_len(np.strings.strip(values))).any():
        values = np.strings.strip(values)
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


def _blank(columns: dict[str, np.ndarray], name: str, n: int) -> np.ndarray:
    if name not in columns:
        return np.ones(n, dtype=bool)
    values = columns[name]
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.strings.strip(values) == ""


def assumed_codes(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per row, a bit mask over ASSUMABLE of the inputs left blank (taken from defaults)."""
    inputs = columns.get("input_tokens")
    flags = {
        "gpu": _blank(columns, "gpu", n),
        "precision": _blank(columns, "precision", n),
        "country": _blank(columns, "country", n),
        "gpus": _blank(columns, "gpus", n),
        "batch": _blank(columns, "batch_size", n),
        "input_tokens": np.ones(n, dtype=bool) if inputs is None else ~(inputs > 0),
        "pue": np.ones(n, dtype=bool),
    }
    code = np.zeros(n, dtype=np.intp)
    for bit, name in enumerate(ASSUMABLE):
        code |= flags[name].astype(np.intp) << bit
    return code


def estimate_file(path: Path) -> dict[str, np.ndarray]:
    columns, n = read_columns(path)
    code = assumed_codes(columns, n)
    batch = columns["batch_size"]
    columns["batch_size"] = np.where(np.isnan(batch), BLANK_FILE_BATCH, batch)
    try:
        result = estimate_llm_batch(columns)
    except RowValueError as exc:
        raise InputFileError(f"{path}, line {exc.row + 2}, field {exc.field}: {exc.detail}") from None
    result["assumed_code"] = code
    return result


def _assumed_text(code: int) -> str:
    return "[" + ", ".join(f'"{name}"' for bit, name in enumerate(ASSUMABLE) if code >> bit & 1) + "]"


def to_json_bytes(result: dict[str, np.ndarray]):
    """The JSON array, one object per row: energy_wh.{gpu,host,facility,total}, gco2e, water_ml,
    embodied_gco2e (each {value, low, high}), the GPU J per output token used and `inputs`
    (`batch` used and the list `assumed`); numbers have 6 significant digits. Returns a bytes-like
    object."""
    rng = '{"value": {}, "low": {}, "high": {}}'
    template = (
        '{"energy_wh": {"gpu": ' + rng + ', "host": ' + rng + ', "facility": ' + rng + ', "total": ' + rng + "}, "
        '"gco2e": ' + rng + ', "water_ml": ' + rng + ', "embodied_gco2e": ' + rng + ', "gpu_j_per_output_token": {}, "inputs": {"batch": {}, "assumed": {}, "serving_generation": {}}}'
    )
    columns = []
    for figure in FIGURES:
        columns.extend(result[figure + suffix] for suffix in ("", "_low", "_high"))
    columns.append(result["gpu_j_per_output_token"])
    columns.append(result["batch"])
    present, index = np.unique(result["assumed_code"], return_inverse=True)
    columns.append(TextColumn(index, [_assumed_text(int(c)) for c in present]))
    generations, index = np.unique(result["serving_generation"], return_inverse=True)
    columns.append(TextColumn(index, [f'"{physics.SERVING_GENERATIONS[int(g)][0]}"' for g in generations]))
    try:
        return rows_to_json(template, columns)
    except ValueError as exc:
        raise InputFileError(f"cannot write the estimates: {exc}") from None
