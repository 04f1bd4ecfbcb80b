"""Parse DMR-IR temperature text matrices fast.

The files hold fixed-width decimal tokens ("29.52" or "30.19511") separated by spaces, `;`
or tabs, with `,` as the decimal mark in some files. When every line has line 1's byte
layout, a compiled loop (`thermocad.io.kernel`) checks and reads them. Otherwise a
numpy path classifies every byte, finds token boundaries and accumulates digits as integers
per (width, decimal position) group, so no Python code runs per value. Anything else
(signs, exponents, nan, very long tokens) goes to a slower general parser that reports the
line of the first bad token.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from thermocad.utils.errors import ThermalFormatError

_DIGIT, _DOT, _SEP, _NL, _OTHER = 0, 1, 2, 3, 4
_MAX_DIGITS = 15  # integers up to 10**15 are exact in float64, so the division rounds once
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)\Z", re.IGNORECASE
)


_local = threading.local()


def warm_up_text_reader() -> None:
    """Load (or, the first time, compile) the fixed-width reader's compiled loop now."""
    parse_text(b"1.5 2.5\r\n3.5 4.5\r\n", "warm-up")


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
    first = data[: data.find(b"\n") + 1]
    if first and b"," not in first:
        # Most files: when every line has line 1's bytes apart from its digits (checked byte
        # by byte), line 1 alone names the format, without sniff_text's whole-file scans.
        parsed = _parse_uniform(data, _lut(False, ord("\n")))
        if parsed is not None:
            return parsed[0], "dmr-semicolon" if b";" in first else "dmr-space", parsed[1]
    source_format, comma_decimal = sniff_text(data)
    newline = ord("\n") if first else ord("\r")  # classic Mac files end lines with CR
    lut = _lut(comma_decimal, newline)
    parsed = _parse_uniform(data, lut) if b"," in first else None  # ',' as mark or separator
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

    Line 1 gives a template (any digit where its tokens have digits, exactly its decimal
    mark, separator and line end elsewhere); when every line fits it, the values are read
    at fixed offsets by a compiled loop (`thermocad.io.kernel`). None means the layout
    is not uniform, and the general paths decide (and name the bad line).
    """
    line_len = data.find(b"\n") + 1
    tail = data[-256:]
    size = len(data) - (len(tail) - len(tail.rstrip()))  # trailing whitespace is no line
    if line_len < 2 or size <= len(data) - len(tail):
        return None
    rows = -(-size // line_len)
    raw = np.frombuffer(data, dtype=np.uint8)
    fixed = _fixed_width(raw[:line_len], lut)
    if fixed is None:
        return None
    # The last line may lack its line end (or part of it), or have blank lines after it.
    last = raw[(rows - 1) * line_len :]
    end, rest = raw[fixed.span : line_len].tobytes(), last[fixed.span :].tobytes()
    if (
        not fixed.separators_ok(lut)
        or last.size < fixed.span
        or not end.startswith(rest[: len(end)])
        or not (rest[len(end) :].isspace() or len(rest) <= len(end))
    ):
        return None
    # A token's 8-byte read may reach up to 7 bytes past its end, into the next line; the
    # lines too close to the end of the data are read from a copy with 8 spare bytes, the
    # last line completed with line 1's line end.
    reach = (fixed.cols - 1) * (fixed.width + 1) + 8  # from a line's start
    head = rows - 1
    while head > 0 and (head - 1) * line_len + reach > raw.size:
        head -= 1
    copy = np.zeros((rows - head) * line_len + 8, dtype=np.uint8)
    copy[: (rows - head) * line_len] = np.tile(fixed.template, rows - head)
    copy[: (rows - 1 - head) * line_len] = raw[head * line_len : (rows - 1) * line_len]
    copy[(rows - 1 - head) * line_len :][: fixed.span] = last[: fixed.span]
    values = np.empty((rows, fixed.cols), dtype=np.float32)
    if not (fixed.read(raw, head, values[:head]) and fixed.read(copy, rows - head, values[head:])):
        return None
    return values, np.arange(1, rows + 1)


def _fixed_width(line: np.ndarray, lut: np.ndarray) -> _FixedWidth | None:
    """The layout of line 1, or None; the previous file's when line 1 fits its template.

    A folder's files share one layout, which is then worked out once per thread.
    """
    previous = getattr(_local, "fixed_width", None)
    if previous is not None and previous.fits(line):
        return previous
    layout = _first_line_layout(line, lut)
    if layout is None or layout[0] * (layout[1] + 1) > line.size:  # a short last token
        return None
    _local.fixed_width = _FixedWidth(line, *layout)
    return _local.fixed_width


class _FixedWidth:
    """The byte layout of line 1 (`cols` tokens of `width` bytes, decimal mark at `dot`).

    `read` checks lines against it and reads their values.
    """

    def __init__(self, line: np.ndarray, cols: int, width: int, dot: int) -> None:
        self.line, self.cols, self.width, self.dot = line.copy(), cols, width, dot
        self.span = cols * (width + 1) - 1  # the tokens and separators of a line
        # Template: '0' with limit 9 at digit positions, else the expected byte with limit 0
        # (the first token's decimal mark and separator, then line 1's own line end).
        pattern = np.full(width + 1, ord("0"), dtype=np.uint8)
        limits = np.full(width + 1, 9, dtype=np.uint8)
        for offset in (dot, width):
            pattern[offset], limits[offset] = line[offset], 0
        repeat = -(-self.span // (width + 1))
        self.template = np.concatenate([np.tile(pattern, repeat)[: self.span], line[self.span :]])
        self.limit = np.zeros(line.size, dtype=np.uint8)
        self.limit[: self.span] = np.tile(limits, repeat)[: self.span]
        # A token is read as one or two 8-byte parts (the high one first): bytes [a, b).
        bounds = [(0, width)] if width <= 8 else [(0, width - 8), (width - 8, width)]
        self.parts = np.array([_part_plan(pattern, a, b, dot) for a, b in bounds], np.uint64)
        low_a, low_b = bounds[-1]
        self.low_digits = low_b - low_a - (low_a <= dot < low_b)
        digits = width - (dot < width)
        self.single = digits <= 7  # exact in float32: divide in float32
        self.scale = 10.0 ** max(width - dot - 1, 0)

    def separators_ok(self, lut: np.ndarray) -> bool:
        """The separator and the bytes before the line end are whitespace (or ';', ',')."""
        ends = lut[self.line[self.span : -1]]
        return (self.span == self.width or lut[self.line[self.width]] == _SEP) and bool(
            (ends == _SEP).all()
        )

    def fits(self, line: np.ndarray) -> bool:
        """Whether `line` (with its line end) has this layout: its own line 1 would do."""
        return (
            line.size == self.template.size
            and not (np.bitwise_xor(line, self.template) > self.limit).any()
        )

    def read(self, text: np.ndarray, rows: int, out: np.ndarray) -> bool:
        """Check the first `rows` lines of `text` against the template; read their values.

        False: a line does not fit, and `out` is undefined. The values are bit-identical to
        loadtxt's float64 parse cast to float32: with at most 7 digits the integer is exact
        in float32, and a correctly rounded float32 division then equals the float64
        division rounded to float32 (double rounding is innocuous when 53 >= 2 * 24 + 2
        bits: Figueroa, SIGNUM Newsletter 30(3), 1995); longer numbers (up to 15 digits)
        are divided in float64.
        """
        if rows == 0:
            return True
        read_lines = _kernel()
        integers = out if self.single else np.empty(out.shape, np.float64)
        args = (self.template.size, self.template, self.limit, self.width + 1, self.parts)
        if not read_lines(text, rows, *args, self.low_digits, integers):
            return False
        if self.single:
            out /= np.float32(self.scale)
        else:
            np.divide(integers, self.scale, out=out, casting="same_kind")
        return True


def _kernel():
    """The compiled line reader, or its numpy twin without numba (imported on first use)."""
    try:
        from thermocad.io.kernel import read_lines
    except ImportError:
        from thermocad.io.kernel_numpy import read_lines
    return read_lines


def _part_plan(pattern: np.ndarray, a: int, b: int, dot: int) -> list[int]:
    """How `thermal_kernel` reads bytes [a, b) of a token: (offset, shift, template, masks).

    The 8 bytes read from the token's byte `a` are shifted left by the bytes that do not
    belong to the part, so its byte a + k lands in byte 8 - (b - a) + k; the masks pick
    the bytes before and after the decimal mark (all bytes count as after when the part
    has none).
    """
    first = 8 - (b - a)
    template = np.zeros(8, dtype=np.uint8)
    template[first:] = pattern[a:b]

    def mask(lo: int, hi: int) -> int:  # bytes lo..hi-1 of a uint64
        return sum(0xFF << (8 * k) for k in range(lo, hi))

    if a <= dot < b:
        mark = first + dot - a
        before, after = mask(first, mark), mask(mark + 1, 8)
    else:
        before, after = 0, mask(first, 8)
    return [a, 8 * first, int(template.view("<u8")[0]), before, after]


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
