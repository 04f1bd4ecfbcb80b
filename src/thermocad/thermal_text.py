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
_BLOCK = 64  # lines parsed at a time (about 250 KB of text)
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
    from strided views of the bytes. Both run on blocks of lines so that the temporaries
    stay in the CPU cache. None means the layout is not uniform, and the general paths
    decide (and name the bad line).
    """
    line_len = data.find(b"\n") + 1
    tail = data[-256:]
    size = len(data) - (len(tail) - len(tail.rstrip()))  # trailing whitespace is no line
    if line_len < 2 or size <= len(data) - len(tail):
        return None
    rows = -(-size // line_len)
    raw = np.frombuffer(data, dtype=np.uint8)
    layout = _first_line_layout(raw[:line_len], lut)
    if layout is None or layout[0] * (layout[1] + 1) > line_len:  # a short last token
        return None
    fixed = _FixedWidth(raw[:line_len], *layout)
    # The last line may lack its line end (or part of it), or have blank lines after it.
    last = raw[(rows - 1) * line_len :]
    end, rest = raw[fixed.span : line_len].tobytes(), last[fixed.span :].tobytes()
    if (
        not fixed.separators_ok(lut)
        or last.size < fixed.span
        or not fixed.fits(last[None, : fixed.span])
        or not end.startswith(rest[: len(end)])
        or not (rest[len(end) :].isspace() or len(rest) <= len(end))
    ):
        return None
    lines = raw[: (rows - 1) * line_len].reshape(rows - 1, line_len)  # all but the last
    values = np.empty((rows, layout[0]), dtype=np.float32)
    for start in range(0, rows, _BLOCK):
        if not fixed.fits(lines[start : start + _BLOCK]):
            return None
        fixed.values(raw[start * line_len :], values[start : start + _BLOCK])
    return values, np.arange(1, rows + 1)


class _FixedWidth:
    """The byte layout of line 1 (`cols` tokens of `width` bytes, decimal mark at `dot`).

    `fits` checks lines against it and `values` reads validated lines.
    """

    def __init__(self, line: np.ndarray, cols: int, width: int, dot: int) -> None:
        self.line, self.width, self.dot = line, width, dot
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
        # Reading plan: each read starts a uint16 group of up to 4 digits or adds to the last.
        self.plan: list[tuple[int, str, int, int, bool]] = []  # offset, kind, digits, group, new
        self.group_digits: list[int] = []
        for offset, kind in _digit_reads(width, dot):
            count = 2 if kind == "pair" else 1
            new = not self.group_digits or self.group_digits[-1] + count > 4
            if new:
                self.group_digits.append(count)
            else:
                self.group_digits[-1] += count
            self.plan.append((offset, kind, count, len(self.group_digits) - 1, new))
        self.scale = 10 ** max(width - dot - 1, 0)
        # Work arrays, made once per file (fresh ones would cost page faults on every block).
        self._work = np.empty((_BLOCK, line.size), np.uint8)
        self._digits = np.empty((len(self.group_digits) + 1, _BLOCK, cols), np.uint16)
        self._float = np.empty((_BLOCK, cols), np.float32)

    def separators_ok(self, lut: np.ndarray) -> bool:
        """The separator and the bytes before the line end are whitespace (or ';', ',')."""
        ends = lut[self.line[self.span : -1]]
        return (self.span == self.width or lut[self.line[self.width]] == _SEP) and bool(
            (ends == _SEP).all()
        )

    def fits(self, lines: np.ndarray) -> bool:
        """Whether every line matches the template: byte ^ template <= limit, byte by byte.

        A digit xor '0' is 0..9 and any other byte (non-ASCII included) gives more, so one
        xor and one comparison check digits, decimal marks, separators and line ends at once.
        """
        n, size = lines.shape
        xor = np.bitwise_xor(lines, self.template[:size], out=self._work[:n, :size])
        bad = np.greater(xor, self.limit[:size], out=xor.view(bool))  # in place
        return not bad.any()

    def values(self, raw: np.ndarray, out: np.ndarray) -> None:
        """Write the float32 values of validated lines (`raw` starts at the first) to `out`.

        Bit-identical to loadtxt's float64 parse cast to float32. Each digit pair is one
        strided uint16 read ("29" is 0x3932 little-endian; minus 0x3030, times 2561, shifted
        right by 8, gives 10 * 2 + 9), so a token costs one read per two digits instead of
        several passes per digit. Pairs collect in uint16 groups of up to 4 digits, and one
        division scales the number. With at most 7 digits it is exact in float32, and a
        correctly rounded float32 division then equals loadtxt's float64 value rounded to
        float32 (double rounding is innocuous when 53 >= 2 * 24 + 2 bits: Figueroa, SIGNUM
        Newsletter 30(3), 1995); longer numbers (up to 15 digits) go through float64.
        """
        rows, cols = out.shape
        strides = (self.line.size, self.width + 1)

        def column(offset: int, dtype: str) -> np.ndarray:  # byte(s) at `offset` of each token
            return np.ndarray(out.shape, dtype, buffer=raw, offset=offset, strides=strides)

        work = self._digits[:, :rows, :cols]  # the groups, then the value being read
        value = work[-1]
        for offset, kind, count, group, new in self.plan:
            target = work[group] if new else value
            if kind == "pair":
                np.subtract(column(offset, "<u2"), 0x3030, out=target)
                target *= 2561
                target >>= 8
            elif kind == "low":
                np.bitwise_and(column(offset, "<u2"), 0x0F, out=target)
            elif kind == "high":
                np.right_shift(column(offset, "<u2"), 8, out=target)
                target &= 0x0F
            else:
                np.subtract(column(offset, "u1"), 48, out=target, dtype=np.uint16)
            if not new:
                work[group] *= 10**count
                work[group] += value
        counts = self.group_digits
        if sum(counts) <= 7:
            np.copyto(out, work[0], casting="unsafe")
            spare = self._float[:rows, :cols]
            for group, count in zip(work[1:-1], counts[1:], strict=True):
                out *= np.float32(10**count)
                np.copyto(spare, group, casting="unsafe")
                out += spare
            out /= np.float32(self.scale)
        else:
            total = work[0].astype(np.float64)
            for group, count in zip(work[1:-1], counts[1:], strict=True):
                total *= 10.0**count
                total += group
            np.divide(total, float(self.scale), out=out, casting="same_kind")


def _digit_reads(width: int, dot: int) -> list[tuple[int, str]]:
    """How to read a token's digits, most significant first: (byte offset, kind).

    "pair": two adjacent digits as one little-endian uint16; "low"/"high": one digit, the
    low or high byte of a uint16 read (cheaper than a uint8 read widened to uint16); "byte":
    a lone one-byte token. Pairs are taken from the end of each run of digits, so an odd
    digit out is the first of its run and the byte after it is still inside the token.
    """
    reads = []
    runs = [range(0, min(dot, width)), range(dot + 1, width)]
    for run in runs:
        offset = run.stop - 2
        while offset >= run.start:
            reads.append((offset, "pair"))
            offset -= 2
        if offset + 1 == run.start:  # an odd digit out
            first = run.start
            if first + 1 < width:
                reads.append((first, "low"))
            elif first >= 1:
                reads.append((first - 1, "high"))
            else:
                reads.append((first, "byte"))
    return sorted(reads, key=lambda read: read[0] + (read[1] == "high"))


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
