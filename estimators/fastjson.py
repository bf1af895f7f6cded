"""Vectorised JSON writing for many rows of non-negative numbers.

Formatting 2 million floats one by one in Python takes seconds; here every number is written as
fixed-width scientific notation (6 significant digits, e.g. 1.23456e-03, valid JSON) by integer
arithmetic on whole columns, and the rows are assembled as one byte matrix from a template.
Six significant digits is far finer than the estimates' own ranges.
"""

from __future__ import annotations

import numpy as np

WIDTH = 12  # d.ddddde+XX
_SLOT = "\x00" * WIDTH


# Lookup tables: three ASCII digits for 0..999, and 'e+XX' / 'e-XX' for exponents -99..99.
_THREE = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8)
_EXPONENT = np.array([list(f"e{e:+03d}".encode()) for e in range(-99, 100)], dtype=np.uint8)
_POW10 = 10.0 ** np.arange(-110, 111)  # _POW10[k + 110] = 10**k (exact enough for rounding to 6 digits)


def sci_digits(values: np.ndarray) -> np.ndarray:
    """(n, 12) uint8 matrix of the ASCII of each value in d.ddddde+XX form; values must be >= 0."""
    x = np.asarray(values, dtype=float)
    if (x < 0).any() or not (x < 9.99999e99).all():
        raise ValueError("fast JSON writer takes finite non-negative numbers below 1e100 only")
    positive = x >= 1e-99  # smaller values are written as 0
    safe = np.where(positive, x, 1.0)
    # Decimal exponent from the binary one (frexp is exact and cheap), corrected by one table lookup.
    _, binary = np.frexp(safe)
    exponent = np.floor((binary - 1) * 0.30102999566398120).astype(np.int64)
    exponent += safe >= _POW10[exponent + 111]
    mantissa = np.rint(safe * _POW10[115 - exponent]).astype(np.int64)
    # log10 can land a hair off: renormalise into [100000, 999999].
    high = mantissa >= 1_000_000
    low = mantissa < 100_000
    mantissa = np.where(high, (mantissa + 5) // 10, np.where(low, mantissa * 10, mantissa))
    exponent = exponent + high - low
    mantissa = np.where(positive, mantissa, 0)
    exponent = np.where(positive, exponent, 0)
    out = np.empty((x.size, WIDTH), dtype=np.uint8)
    first = _THREE[mantissa // 1000]
    out[:, 0] = first[:, 0]
    out[:, 1] = ord(".")
    out[:, 2:4] = first[:, 1:]
    out[:, 4:7] = _THREE[mantissa % 1000]
    out[:, 7:11] = _EXPONENT[exponent + 99]
    out[:, 11] = ord(" ")  # padding inside the slot: JSON allows whitespace after a number
    return out


def rows_to_json(template: str, columns: list[np.ndarray]) -> bytes:
    """A JSON array: one `template` per row, its `{}` placeholders filled in order from `columns`.
    Returns bytes (or a bytes-like view of the assembled rows, to spare a 60 MB copy)."""
    pieces = template.split("{}")
    if len(pieces) - 1 != len(columns):
        raise ValueError("template placeholders and columns differ")
    row_text = _SLOT.join(pieces)
    row_bytes = np.frombuffer(row_text.encode("ascii"), dtype=np.uint8)
    n = columns[0].size if columns else 0
    if n == 0:
        return b"[]\n"
    # One buffer: "[\n", then each row followed by ",\n" (the last by "\n]"), then "\n".
    body = np.empty(2 + n * (row_bytes.size + 2) + 1, dtype=np.uint8)
    body[:2] = np.frombuffer(b"[\n", dtype=np.uint8)
    body[-1] = ord("\n")
    rows = body[2:-1].reshape(n, row_bytes.size + 2)
    rows[:, :-2] = row_bytes
    rows[:, -2] = ord(",")
    rows[:, -1] = ord("\n")
    rows[-1, -2] = ord("\n")
    rows[-1, -1] = ord("]")
    offset = 0
    for piece, column in zip(pieces, columns):
        offset += len(piece.encode("ascii"))
        rows[:, offset : offset + WIDTH] = sci_digits(column)
        offset += WIDTH
    return memoryview(body).cast("B")
