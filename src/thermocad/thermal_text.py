"""Parse DMR-IR temperature text matrices fast: vectorised over the raw bytes with numpy.

The files hold fixed-width decimal tokens ("29.52" or "30.19511") separated by spaces, `;`
or tabs, with `,` as the decimal mark in some files. The fast path classifies every byte,
finds token boundaries and accumulates digits as integers per (width, decimal position)
group, so no Python code runs per value. Anything else (signs, exponents, nan, very long
tokens) goes to a slower general parser that reports the line of the first bad token.
"""

from __future__ import annotations

import re

import numpy as np

from thermocad.errors import ThermalFormatError

_DIGIT, _DOT, _SEP, _NL, _OTHER = 0, 1, 2, 3, 4
_MAX_DIGITS = 15  # integers up to 10**15 are exact in float64, so the division rounds once
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)\Z", re.IGNORECASE
)


def _lut(comma_is_decimal: bool, newline: int) -> np.ndarray:
    lut = np.full(256, _OTHER, dtype=np.uint8)
    lut[ord("0") : ord("9") + 1] = _DIGIT
    lut[ord(".")] = _DOT
    for ch in b" \t\r\f\v;":
        lut[ch] = _SEP
    lut[ord(",")] = _DOT if comma_is_decimal else _SEP
    lut[newline] = _NL
    return lut


def sniff_text(data: bytes) -> tuple[str, bool]:
    """Return (source_format, comma_is_decimal) for a text matrix."""
    if b"," not in data:
        return ("dmr-semicolon" if b";" in data else "dmr-space"), False
    first = data.lstrip()[:4096].split(b"\n", 1)[0].strip()
    # A decimal comma always sits between digits, and then the file has no '.' at all.
    between_digits = re.search(rb"(?<!\d),|,(?!\d)", data) is None
    inner_space = b" " in first or b"\t" in first
    if b"." not in data and between_digits and (b";" in data or inner_space):
        return "dmr-comma-decimal", True
    return "csv-comma", False


def parse_text(data: bytes, name: str) -> tuple[np.ndarray, str, np.ndarray]:
    """Parse a text matrix; return (float32 array, source_format, 1-based line of each row)."""
    if not data.strip():
        raise ThermalFormatError(f"{name}: the file is empty")
    source_format, comma_decimal = sniff_text(data)
    newline = ord("\n") if b"\n" in data else ord("\r")  # classic Mac files end lines with CR
    raw = np.frombuffer(data, dtype=np.uint8)
    cls = _lut(comma_decimal, newline)[raw]
    fast = None if (cls == _OTHER).any() else _parse_fast(raw, cls, newline, name)
    if fast is None:
        fast = _parse_general(data, source_format, comma_decimal, newline, name)
    values, lines = fast
    return values, source_format, lines


def _line_of(raw: np.ndarray, newline: int, pos: np.ndarray) -> np.ndarray:
    """1-based line numbers of byte positions."""
    breaks = np.flatnonzero(raw == newline)
    return np.searchsorted(breaks, pos) + 1


def _parse_fast(raw: np.ndarray, cls: np.ndarray, newline: int, name: str):
    """Vectorised parse of digit/dot tokens; None when a token is too long for it."""
    tok = cls <= _DOT
    edge = np.empty(tok.size + 1, dtype=bool)
    edge[0], edge[-1] = tok[0], tok[-1]
    np.not_equal(tok[1:], tok[:-1], out=edge[1:-1])
    bounds = np.flatnonzero(edge)
    starts, ends = bounds[0::2], bounds[1::2]
    widths = ends - starts
    if widths.size == 0:
        raise ThermalFormatError(f"{name}: the file holds no numbers")
    dots = np.flatnonzero(cls == _DOT)
    owner = np.searchsorted(starts, dots, side="right") - 1
    dot_at = widths.copy()  # a token without a dot is an integer: its point sits at the end
    dot_at[owner] = dots - starts[owner]
    bad = np.zeros(widths.size, dtype=bool)
    bad[owner[1:][owner[1:] == owner[:-1]]] = True  # two dots in one token
    bad |= (widths == 1) & (dot_at == 0)  # a lone "."
    if bad.any():
        first = int(np.argmax(bad))
        token = raw[starts[first] : ends[first]].tobytes().decode("latin-1")
        line = int(_line_of(raw, newline, starts[first : first + 1])[0])
        raise ThermalFormatError(f"{name}: line {line}: {token!r} is not a number")
    if int(widths.max()) > _MAX_DIGITS + 1:
        return None
    values = _accumulate(raw, starts, widths, dot_at)
    return _shape_rows(values, _line_of(raw, newline, starts), name)


def _accumulate(raw: np.ndarray, starts, widths, dot_at) -> np.ndarray:
    """Integer value of the digits of each token, divided by 10**decimals, per token shape."""
    values = np.empty(widths.size, dtype=np.float64)
    shape_key = widths * 64 + dot_at
    keys = np.unique(shape_key)
    for key in keys.tolist():
        width, dot = divmod(key, 64)
        sel = slice(None) if keys.size == 1 else np.flatnonzero(shape_key == key)
        first = starts[sel]
        acc = np.zeros(first.size, dtype=np.int64)
        for offset in range(width):
            if offset != dot:
                acc *= 10
                acc += raw[first + offset] - 48
        decimals = max(width - dot - 1, 0)
        values[sel] = acc / 10.0**decimals if decimals else acc
    return values


def _shape_rows(values: np.ndarray, token_lines: np.ndarray, name: str):
    """Reshape token values into rows (one per non-blank line); ragged rows are an error."""
    lines, counts = np.unique(token_lines, return_counts=True)
    wrong = np.flatnonzero(counts != counts[0])
    if wrong.size:
        i = int(wrong[0])
        raise ThermalFormatError(
            f"{name}: line {lines[i]}: {counts[i]} values, but line {lines[0]} has "
            f"{counts[0]} (rows must all have the same length)"
        )
    return values.astype(np.float32).reshape(lines.size, int(counts[0])), lines


def _parse_general(data: bytes, source_format: str, comma_decimal: bool, newline: int, name: str):
    """Slow, strict parser for unusual tokens (signs, exponents, nan): line-by-line."""
    text = data.decode("latin-1")
    table = {ord(";"): " ", ord(","): "." if comma_decimal else " "}
    rows, lines = [], []
    for number, line in enumerate(text.split(chr(newline)), 1):
        tokens = line.translate(table).split()
        if not tokens:
            continue
        for token in tokens:
            if not _NUMBER.match(token):
                shown = token if len(token) <= 40 else token[:40] + "..."
                raise ThermalFormatError(f"{name}: line {number}: {shown!r} is not a number")
        if rows and len(tokens) != len(rows[0]):
            raise ThermalFormatError(
                f"{name}: line {number}: {len(tokens)} values, but line {lines[0]} has "
                f"{len(rows[0])} (rows must all have the same length)"
            )
        rows.append(np.array(tokens, dtype=np.float64))
        lines.append(number)
    if not rows:
        raise ThermalFormatError(f"{name}: the file holds no numbers")
    with np.errstate(over="ignore"):
        return np.vstack(rows).astype(np.float32), np.asarray(lines)
