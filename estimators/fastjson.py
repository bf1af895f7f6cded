"""Vectorised JSON writing for many rows of non-negative numbers.

Formatting 2 million floats one by one in Python takes seconds. Here every number is written as
fixed-width scientific notation, 6 significant digits (`1.23456e-03 `, valid JSON), from three
4-byte look-up tables indexed by integer arithmetic on whole columns, and the rows are assembled in
one buffer from a template whose number slots are padded (with JSON whitespace) to 4-byte
boundaries, so each number is three aligned 32-bit stores. Six significant digits is far finer
than the estimates' own ranges.
"""

from __future__ import annotations

import numpy as np

WIDTH = 12  # d.ddddde+XX and a space
_WORD = 4

# 'd.dd' for mantissa // 1000 (100..999), 'ddde' for mantissa % 1000, '+XX ' / '-XX ' for -99..99.
_LEAD = np.frombuffer(b"".join(f"{i // 100}.{i % 100:02d}".encode() for i in range(1000)), dtype=np.uint32)
_TAIL = np.frombuffer(b"".join(f"{i:03d}e".encode() for i in range(1000)), dtype=np.uint32)
_EXPONENT = np.frombuffer(b"".join(f"{e:+03d} ".encode() for e in range(-99, 100)), dtype=np.uint32)
_POW10 = 10.0 ** np.arange(-110, 111)  # _POW10[k + 110] = 10**k (exact enough for rounding to 6 digits)


def _words(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three 32-bit words of `d.ddddde+XX ` for each value (values >= 0, < 1e100)."""
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
    carry = mantissa >= 1_000_000  # rounding 9.999996 gives 1000000: renormalise
    mantissa = np.where(carry, (mantissa + 5) // 10, mantissa)
    exponent += carry
    mantissa = np.where(positive, mantissa, 0)
    exponent = np.where(positive, exponent, 0)
    return _LEAD[mantissa // 1000], _TAIL[mantissa % 1000], _EXPONENT[exponent + 99]


def sci_digits(values: np.ndarray) -> np.ndarray:
    """(n, 12) uint8 matrix of the ASCII of each value as `d.ddddde+XX `; values must be >= 0."""
    words = _words(values)
    return np.column_stack(words).view(np.uint8).reshape(-1, WIDTH)


def _pad(piece: str) -> str:
    return piece + " " * (-len(piece) % _WORD)


class TextColumn:
    """A column of JSON text chosen per row from a few `choices` (`codes[i]` indexes them): each
    choice is padded with trailing spaces (JSON whitespace) to one fixed width, so the slot is a
    plain byte copy. For short per-row lists such as the assumed inputs."""

    def __init__(self, codes, choices):
        self.codes = np.asarray(codes, dtype=np.intp)
        self.size = self.codes.size
        width = max(len(c) for c in choices) if choices else 0
        self.width = width + (-width % _WORD)
        self.table = np.frombuffer("".join(c.ljust(self.width) for c in choices).encode("ascii"), dtype=np.uint8)
        self.table = self.table.reshape(len(choices), self.width) if choices else self.table.reshape(0, 0)


def rows_to_json(template: str, columns: list):
    """A JSON array: one `template` per row, its `{}` placeholders filled in order from `columns`
    (number arrays, or TextColumn for fixed-width text).
    Returns a bytes-like object (a view of the assembled buffer, sparing a copy)."""
    pieces = template.split("{}")
    if len(pieces) - 1 != len(columns):
        raise ValueError("template placeholders and columns differ")
    n = columns[0].size if columns else 0
    if n == 0:
        return b"[]\n"
    # Each piece before a number is padded so the number starts on a 4-byte boundary; the row
    # (with its ",\n" or the closing "\n]") is padded to a multiple of 4 as well.
    padded = [_pad(p) for p in pieces[:-1]]
    ending = pieces[-1]
    widths = [c.width if isinstance(c, TextColumn) else WIDTH for c in columns]
    fixed = sum(len(p) for p in padded) + sum(widths) + len(ending) + 2
    ending += " " * (-fixed % _WORD)
    row_len = fixed + (-fixed % _WORD)
    prefix = b"[\n  "  # 4 bytes keep the rows aligned
    body = np.empty(len(prefix) + n * row_len + 1, dtype=np.uint8)
    body[: len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    body[-1] = ord("\n")
    rows = body[len(prefix) : -1].reshape(n, row_len)
    text = "".join(p + " " * w for p, w in zip(padded, widths)) + ending + ",\n"
    rows[:] = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    rows[-1, -2:] = np.frombuffer(b"\n]", dtype=np.uint8)
    words = rows.view(np.uint32)
    offset = 0
    for piece, column, width in zip(padded, columns, widths):
        offset += len(piece)
        if isinstance(column, TextColumn):
            rows[:, offset : offset + width] = column.table[column.codes]
            offset += width
            continue
        slot = offset // _WORD
        lead, tail, exponent = _words(column)
        words[:, slot] = lead
        words[:, slot + 1] = tail
        words[:, slot + 2] = exponent
        offset += WIDTH
    return memoryview(body)
