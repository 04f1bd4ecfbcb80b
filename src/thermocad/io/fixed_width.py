"""The fixed-width layout of a text matrix's line 1, checked and read by the compiled loop.

Most DMR-IR files repeat line 1's byte layout on every line: tokens of one width with the
decimal mark at one place. `_fixed_width` works that layout out (once per folder and thread)
and `_FixedWidth.read` checks and reads every line at fixed offsets (`thermocad.io.kernel`).
"""

from __future__ import annotations

import threading

import numpy as np

# Byte classes of the text reader's look-up table.
_DIGIT, _DOT, _SEP, _NL, _OTHER = 0, 1, 2, 3, 4
_MAX_DIGITS = 15  # integers up to 10**15 are exact in float64, so the division rounds once

_local = threading.local()


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
