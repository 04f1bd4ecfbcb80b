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
from numpy.lib.stride_tricks import as_strided

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
    first = data.lstrip()[:65536].split(b"\n", 1)[0].strip()
    raw = np.frombuffer(data, dtype=np.uint8)
    commas = np.flatnonzero(raw == ord(","))
    # A decimal comma always sits between digits, and then the file has no '.' at all.
    inside = (commas > 0) & (commas < raw.size - 1)
    between = inside.all() and _is_digit(raw[commas - 1]).all() and _is_digit(raw[commas + 1]).all()
    inner_space = b" " in first or b"\t" in first
    if b"." not in data and between and (b";" in data or inner_space):
        return "dmr-comma-decimal", True
    if b"." not in data and between and commas.size == len(data.split()):
        return "dmr-comma-decimal", True  # one column: "29,52" reads as a decimal, not as 2 ints
    return "csv-comma", False


def _is_digit(values: np.ndarray) -> np.ndarray:
    return (values - np.uint8(48)) < 10


def parse_text(data: bytes, name: str) -> tuple[np.ndarray, str, np.ndarray]:
    """Parse a text matrix; return (float32 array, source_format, 1-based line of each row)."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark from Windows editors
    if not data or data.isspace():
        raise ThermalFormatError(f"{name}: the file is empty")
    source_format, comma_decimal = sniff_text(data)
    newline = ord("\n") if b"\n" in data else ord("\r")  # classic Mac files end lines with CR
    lut = _lut(comma_decimal, newline)
    parsed = _parse_uniform(data, lut) if newline == ord("\n") else None
    if parsed is None:
        raw = np.frombuffer(data, dtype=np.uint8)
        cls = lut[raw]
        parsed = None if (cls == _OTHER).any() else _parse_fast(raw, cls, newline, name)
    if parsed is None:
        parsed = _parse_general(data, comma_decimal, newline, name)
    values, lines = parsed
    return values, source_format, lines


def _parse_uniform(data: bytes, lut: np.ndarray):
    """Fastest path: every line has the same byte layout (fixed-width tokens, one separator).

    The file is then a strided (rows, cols, token + separator) view of its bytes whose
    columns are checked and summed one at a time; None means the layout is not uniform and
    the general path decides.
    """
    line_len = data.find(b"\n") + 1
    tail = data[-256:]
    size = len(data) - (len(tail) - len(tail.rstrip()))  # trailing whitespace is no line
    if line_len < 2 or size <= len(data) - len(tail):
        return None
    rows = -(-size // line_len)
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size < rows * line_len:  # the last line may lack its line end: pad it
        raw = np.frombuffer(data.ljust(rows * line_len), dtype=np.uint8)
    if not (raw[line_len - 1 : (rows - 1) * line_len : line_len] == ord("\n")).all():
        return None
    layout = _first_line_layout(raw[:line_len], lut)
    if layout is None:
        return None
    cols, width, dot = layout
    period = width + 1
    view = as_strided(raw, shape=(rows, cols, period), strides=(line_len, period, 1))
    ends = as_strided(
        raw[cols * period - 1 :], shape=(rows, line_len - cols * period), strides=(line_len, 1)
    )
    if not (view[:, :-1, width] == raw[width]).all() or not (lut[ends] == _SEP).all():
        return None
    if dot < width and not (view[..., dot] == raw[dot]).all():
        return None
    values = _sum_digits(view, width, dot)  # None: a non-digit byte, the general path names it
    return None if values is None else (values, np.arange(1, rows + 1))


def _sum_digits(view: np.ndarray, width: int, dot: int) -> np.ndarray | None:
    """Values of fixed-width tokens: digits accumulated column by column, then scaled.

    Groups of 4 digits accumulate in uint16 (at most 9999), half the memory traffic of int32;
    groups combine exactly (uint32, or float64 past 9 digits), and one division scales it so
    it rounds exactly like a float64 parse cast to float32 (what numpy.loadtxt gives).
    """
    shape = view.shape[:2]
    digit = np.empty(shape, dtype=np.uint8)
    highest = np.zeros(shape, dtype=np.uint8)
    offsets = [offset for offset in range(width) if offset != dot]
    total = None
    for start in range(0, len(offsets), 4):
        digits = offsets[start : start + 4]
        group = np.zeros(shape, dtype=np.uint16)
        for offset in digits:
            np.subtract(view[..., offset], 48, out=digit, casting="unsafe")
            np.maximum(highest, digit, out=highest)  # bytes below '0' wrap around to > 9
            group *= 10
            group += digit
        if total is not None:  # uint32 holds 9 digits exactly, float64 up to 15
            wide = np.uint32 if start + len(digits) <= 9 else np.float64
            total = total.astype(wide) * wide(10 ** len(digits))
            total += group
        else:
            total = group
    if highest.max() > 9:
        return None
    values = np.empty(shape, dtype=np.float32)
    decimals = max(width - dot - 1, 0)
    np.divide(total, 10.0**decimals, out=values, dtype=np.float64, casting="same_kind")
    return values


def _first_line_layout(line: np.ndarray, lut: np.ndarray) -> tuple[int, int, int] | None:
    """(tokens, token width, decimal mark position) when line 1 has evenly spaced tokens."""
    cls = lut[line[:-1]]
    tok = cls <= _DOT
    starts = np.flatnonzero(tok & ~np.concatenate(([False], tok[:-1])))
    if starts.size == 0 or tok.all():
        return None
    width = int(np.argmin(tok))
    if (
        width == 0
        or width > _MAX_DIGITS + 1
        or (starts != np.arange(starts.size) * (width + 1)).any()
    ):
        return None
    dots = np.flatnonzero(cls[:width] == _DOT)
    if dots.size > 1 or width == dots.size:
        return None
    return int(starts.size), width, int(dots[0]) if dots.size else width


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


def _parse_general(data: bytes, comma_decimal: bool, newline: int, name: str):
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
