"""Parse DMR-IR temperature text matrices fast: vectorised over the raw bytes with numpy.

The files hold fixed-width decimal tokens ("29.52" or "30.19511") separated by spaces, `;`
or tabs, with `,` as the decimal mark in some files. The fast path classifies every byte,
finds token boundaries and accumulates digits as integers per (width, decimal position)
group, so no Python code runs per value. Anything else (signs, exponents, nan, very long
tokens) goes to a slower general parser that reports the line of the first bad token.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from thermocad.errors import ThermalFormatError

_DIGIT, _DOT, _SEP, _NL, _OTHER = 0, 1, 2, 3, 4
_BLOCK = 64  # lines parsed at a time (about 250 KB of text)
_MAX_DIGITS = 15  # integers up to 10**15 are exact in float64, so the division rounds once
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)\Z", re.IGNORECASE
)


_local = threading.local()


def _work_array(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A work array kept for the next file of the same layout read by this thread.

    Fresh arrays of this size come from the system as new pages, and faulting them in costs
    as much as a third of the parse; the arrays of a file's layout are reused instead.
    """
    store = _local.__dict__.setdefault("arrays", {})
    key = (name, shape, np.dtype(dtype).str)
    if key not in store:
        if len(store) > 64:  # many layouts in one thread: start over rather than grow
            store.clear()
        store[key] = np.empty(shape, dtype)
    return store[key]


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
    padded = fixed.template.copy()  # the last line with line 1's line end
    padded[: fixed.span] = last[: fixed.span]
    lines = raw[: (rows - 1) * line_len].reshape(rows - 1, line_len)  # all but the last
    values = np.empty((rows, fixed.cols), dtype=np.float32)
    for start in range(0, rows, _BLOCK):
        block = lines[start : start + _BLOCK]
        final = padded if start + _BLOCK >= rows else None
        if not fixed.read(block, final, values[start : start + _BLOCK]):
            return None
    return values, np.arange(1, rows + 1)


def _fixed_width(line: np.ndarray, lut: np.ndarray) -> _FixedWidth | None:
    """The layout of line 1, or None; the previous file's when line 1 fits its template.

    A folder's files share one layout, and its work arrays and reading plan are then reused.
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

    `read` checks a block of lines against it and reads their values.
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
        # Work arrays: the block xor the template (digit values where digits are, 0 at the
        # other valid bytes), the check, and strided views of each token's digits in the xor.
        self._xor = _work_array("xor", (_BLOCK, line.size), np.uint8)
        self._bad = _work_array("bad", (_BLOCK, line.size), bool)
        self._float = _work_array("float", (_BLOCK, cols), np.float32)
        strides = (line.size, width + 1)
        # Reading plan: each read starts a group (uint16 of up to 4 digits; a "quad" read is
        # its own uint32 group) or adds to the last group.
        self.plan: list[tuple[np.ndarray, str, int, np.ndarray, np.ndarray, int]] = []
        self.groups: list[tuple[np.ndarray, int]] = []  # (array, digits)
        scratch = _work_array("scratch", (_BLOCK, cols), np.uint16)
        for offset, kind, count, join in _digit_reads(width, dot):
            dtype = {"quad": "<u4", "byte": "u1"}.get(kind, "<u2")
            view = np.ndarray(
                (_BLOCK, cols), dtype, buffer=self._xor, offset=offset, strides=strides
            )
            last = self.groups[-1] if self.groups else None
            if kind == "quad" or last is None or last[0].dtype != np.uint16 or last[1] + count > 4:
                dtype = np.uint32 if kind == "quad" else np.uint16
                target = _work_array(f"group{len(self.groups)}", (_BLOCK, cols), dtype)
                self.groups.append((target, count))
                self.plan.append((view, kind, join, target, target, 0))  # 0: starts the group
            else:
                self.groups[-1] = (last[0], last[1] + count)
                self.plan.append((view, kind, join, scratch, last[0], 10**count))
        self.digits = sum(count for _, count in self.groups)
        self.scale = 10 ** max(width - dot - 1, 0)

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

    def read(self, lines: np.ndarray, final: np.ndarray | None, out: np.ndarray) -> bool:
        """Check `lines` (and the padded `final` line) against the template; read their values.

        The check: a digit xor '0' is 0..9 and any other byte (non-ASCII included) gives
        more, so one xor and one comparison with the limit check digits, decimal marks,
        separators and line ends at once. False: a line does not fit, and `out` is undefined.

        The values, bit-identical to loadtxt's float64 parse cast to float32, come from
        strided reads of the xor block, where each byte already holds its digit's value.
        A digit pair is one uint16 read (bytes 2, 9 are 0x0902 little-endian; times 2561,
        shifted right by 8, gives 10 * 2 + 9) and four bytes one uint32 read (the same
        multiply gives two pairs P, Q; times 65536 * 10**digits(Q) + 1, shifted right by
        16, joins them; a decimal mark is 0 in the xor block, so "27.1" reads as 27 and 1,
        joined to 271), so a token costs one strided read per two to four digits, and the
        rest runs on contiguous arrays. With at most 7 digits the number is exact in
        float32, and a correctly rounded float32 division then equals loadtxt's float64
        value rounded to float32 (double rounding is innocuous when 53 >= 2 * 24 + 2 bits:
        Figueroa, SIGNUM Newsletter 30(3), 1995); longer numbers (up to 15 digits) go
        through float64.
        """
        n = len(lines) + (final is not None)
        xor = self._xor[:n]
        np.bitwise_xor(lines, self.template, out=xor[: len(lines)])
        if final is not None:
            np.bitwise_xor(final, self.template, out=xor[-1])
        if np.greater(xor, self.limit, out=self._bad[:n]).any():
            return False
        for view, kind, join, target, group, factor in self.plan:
            view, target = view[:n], target[:n]
            if kind == "pair":
                np.multiply(view, 2561, out=target)
                target >>= 8
            elif kind == "quad":
                np.multiply(view, 2561, out=target)
                target >>= 8
                target &= 0x00FF00FF
                target *= 65536 * join + 1
                target >>= 16
            elif kind == "low":
                np.bitwise_and(view, 0xFF, out=target)
            else:
                np.copyto(target, view)
            if factor:
                group = group[:n]
                group *= factor
                group += target
        self._scale(out, n)
        return True

    def _scale(self, out: np.ndarray, n: int) -> None:
        """out = the groups joined into one number per token, divided by 10**decimals."""
        groups = [(g[:n], c) for g, c in self.groups]
        if self.digits <= 9 and all(g.dtype == np.uint32 for g, _ in groups):  # join as integers
            total = groups[0][0]
            for group, count in groups[1:]:
                total *= 10**count
                total += group
            groups = [(total, self.digits)]
        groups = [(g.view(np.int32) if g.dtype == np.uint32 else g, c) for g, c in groups]
        if self.digits <= 7:
            np.copyto(out, groups[0][0], casting="unsafe")
            spare = self._float[:n]
            for group, count in groups[1:]:
                out *= np.float32(10**count)
                np.copyto(spare, group, casting="unsafe")
                out += spare
            out /= np.float32(self.scale)
        else:
            total = groups[0][0].astype(np.float64)
            for group, count in groups[1:]:
                total *= 10.0**count
                total += group
            np.divide(total, float(self.scale), out=out, casting="same_kind")


def _digit_reads(width: int, dot: int) -> list[tuple[int, str, int, int]]:
    """How to read a token's digits, most significant first: (byte offset, kind, digits, join).

    "quad": four bytes as one little-endian uint32, read as two pairs joined by 10**join
    digits; "pair": two bytes as one uint16; "low": the first digit alone, the low byte of
    a uint16 read (cheaper than a uint8 read widened to uint16); "byte": a one-byte token. Reads are taken from the end of the token, widest first. A read may hold the
    decimal mark (0 in the xor block) only as the first byte of a pair, where the pair
    reads as its second digit alone; a mark at the end of what is left is skipped.
    """

    def fits(start: int) -> bool:  # no mark as the second byte of a pair
        return start >= 0 and (dot < start or dot >= end or (dot - start) % 2 == 0)

    reads = []
    end = width
    while end > 0:
        if end - 1 == dot:
            end -= 1
        elif end - 4 >= 0 and fits(end - 4):
            high = 2 - (dot == end - 2)  # digits of the second pair
            reads.append((end - 4, "quad", 4 - (end - 4 <= dot < end), 10**high))
            end -= 4
        elif fits(end - 2):
            reads.append((end - 2, "pair", 2 - (dot == end - 2), 0))
            end -= 2
        else:  # the first byte alone: read with the byte after it, if the token has one
            reads.append((0, "low" if width > 1 else "byte", 1, 0))
            end = 0
    return reads[::-1]


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
