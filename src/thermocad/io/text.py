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

import numpy as np

from thermocad.io.find import DICOM, FOREIGN
from thermocad.io.fixed_width import _DIGIT, _DOT, _MAX_DIGITS, _NL, _OTHER, _SEP, _fixed_width
from thermocad.io.limits import check_text_size
from thermocad.io.sniff import (
    _NUMBER,
    check_empty_cells,
    check_one_frame,
    export_hint,
    lone_crs_as_line_ends,
    sniff_text,
)
from thermocad.utils.errors import ThermalFormatError


def warm_up_text_reader() -> None:
    """Load (or, the first time, compile) the fixed-width reader's compiled loop now: both of
    its variants, numbers of up to 7 digits (read into float32) and longer ones (float64)."""
    parse_text(b"1.5 2.5\r\n3.5 4.5\r\n", "warm-up")
    parse_text(b"30.798122 33.853958\r\n20.813337 21.353045\r\n", "warm-up")


def _lut(comma_is_decimal: bool, newline: int) -> np.ndarray:
    lut = np.full(256, _OTHER, dtype=np.uint8)
    lut[ord("0") : ord("9") + 1] = _DIGIT
    lut[ord(".")] = _DOT
    for ch in b" \t\r\f\v;":
        lut[ch] = _SEP
    lut[ord(",")] = _DOT if comma_is_decimal else _SEP
    lut[newline] = _NL
    return lut


# Control bytes (not tabs, line ends or form feeds), which no text matrix holds.
_CONTROL = bytes([*range(9), *range(14, 32), 127])


def check_head(data: bytes, name: str) -> bytes:
    """`data` without a UTF-8 byte order mark, once its start shows text (not UTF-16, not
    binary: a NUL, or more than 1 control byte in 20 of its first 4 KiB) that holds something;
    before any count of its lines, which binary data has by chance."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark from Windows editors
    # A PDF or a ZIP named .txt: by a magic of 4 bytes at least (BM or MZ may begin a text)
    if what := next((w for m, w in FOREIGN.items() if len(m) >= 4 and data.startswith(m)), None):
        raise ThermalFormatError(f"{name}: {what}, not a text matrix")
    if data[128:132] == b"DICM":  # DICOM's mark, after its 128-byte preamble
        raise ThermalFormatError(f"{name}: {DICOM}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and not data[2:].strip(b"\x00 \t\r\n"):
        raise ThermalFormatError(f"{name}: the file is empty")  # a UTF-16 mark and nothing
    if not data.strip(b"\x00") and data:  # space kept for a copy that never came (preallocated)
        raise ThermalFormatError(f"{name}: only zero bytes: a copy or save that did not finish?")
    head = data[:64]
    alternate = len(head) > 3 and (not any(head[0::2]) or not any(head[1::2]))
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or alternate:  # Notepad's "Unicode": every
        # other byte NUL, with or without a byte order mark.
        raise ThermalFormatError(f"{name}: UTF-16 text; save the matrix as plain text (ASCII or "
                                 "UTF-8)")  # fmt: skip
    block = data[:4096]
    if b"\x00" in head or len(block) - len(block.translate(None, _CONTROL)) > len(block) / 20:
        raise ThermalFormatError(f"{name}: binary data, not a text matrix")
    if not data or data.isspace():
        raise ThermalFormatError(f"{name}: the file is empty" if not data else
                                 f"{name}: holds only spaces and line ends, no numbers")  # fmt: skip
    return data


def parse_text(data: bytes, name: str) -> tuple[np.ndarray, str, np.ndarray]:
    """Parse a text matrix; return (float32 array, source_format, 1-based line of each row).
    Its head is checked first, then its size (binary data is said as such, not by its size)."""
    data = check_head(data, name)
    check_text_size(data, name)
    first = data[: data.find(b"\n") + 1]
    if not first or b"\r" in first.rstrip(b"\r\n"):  # lines that end with a lone CR (classic
        # Mac), perhaps with a final LF: each CR not before an LF ends a line
        data = lone_crs_as_line_ends(data)
        first = data[: data.find(b"\n") + 1]
    if first and b"," not in first:
        # Most files: when every line has line 1's bytes apart from its digits (checked byte
        # by byte), line 1 alone names the format, without sniff_text's whole-file scans.
        parsed = _parse_uniform(data, _lut(False, ord("\n")))
        if parsed is not None:
            check_empty_cells(first, name, False)  # every line has line 1's layout
            check_one_frame(parsed[1], name)
            return parsed[0], "dmr-semicolon" if b";" in first else "dmr-space", parsed[1]
    source_format, comma_decimal = sniff_text(data, name)
    check_empty_cells(data, name, comma_decimal)
    newline = ord("\n")
    lut = _lut(comma_decimal, newline)
    parsed = _parse_uniform(data, lut) if b"," in first else None  # ',' as mark or separator
    try:
        if parsed is None:  # lone CRs in a later line (line 1's were seen above) end lines
            data = lone_crs_as_line_ends(data)  # (a uniform layout has none past line 1's)
            raw = np.frombuffer(data, dtype=np.uint8)
            cls = lut[raw]
            parsed = None if (cls == _OTHER).any() else _parse_fast(raw, cls, newline, name)
        if parsed is None:
            parsed = _parse_general(data, comma_decimal, newline, name)
    except ThermalFormatError as exc:
        _empty_field(data, newline, name, exc)  # a missing value read as a short row: say so
        raise
    values, lines = parsed
    check_one_frame(lines, name)
    return values, source_format, lines


def _empty_field(data: bytes, newline: int, name: str, cause: Exception) -> None:
    """Raise the error naming the first empty field (`30.1;;30.3`) when there is one: the
    separators around it collapse, so the row reads short, and the error would otherwise
    blame the next row of the right length."""
    text = data.replace(b"\r\n", b"\n") if newline == ord("\n") else data.replace(b"\r", b"\n")
    for line_no, line in enumerate(text.split(b"\n"), 1):
        body = line.rstrip(b" \t;")  # DMR batch B's rows end with a ';'
        if re.search(rb";[ \t]*;", body.lstrip(b" \t;")):  # inside the row, not at its ends
            raise ThermalFormatError(
                f"{name}: line {line_no}: an empty field (two ';' with no value between): a "
                "missing value? Every cell needs a temperature: fill it in, or delete the empty column"
            ) from cause


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
    # Long tokens, or more decimal marks than tokens, go to the general parser (which names
    # the bad token) before the per-mark arrays below: 60 MB of '.' made them take 2.3 GB.
    if int(widths.max()) > _MAX_DIGITS + 1 or np.count_nonzero(cls == _DOT) > widths.size:
        return None
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
    if (counts != counts[0]).any():
        raise _ragged(name, lines, counts, values[: counts[0]])
    return values.astype(np.float32).reshape(lines.size, int(counts[0])), lines


def _ragged(name: str, lines: np.ndarray, counts: np.ndarray,
            line1: np.ndarray | None = None) -> ThermalFormatError:  # fmt: skip
    """The error for rows of different lengths: the lines whose length is not the most common
    one (a tie: the one met first) are named, so a short line 1 is blamed, not line 2. `line1`:
    its values (column numbers 0, 1, 2...: a header, said)."""
    lengths, first, freq = np.unique(counts, return_index=True, return_counts=True)
    common = int(lengths[np.lexsort((first, -freq))[0]])
    odd = np.flatnonzero(counts != common)
    agree = lines.size - odd.size
    more = ""
    if odd.size > 1:
        shown = ", ".join(f"{lines[i]} ({counts[i]} values)" for i in odd[1:4])
        more = f"; line(s) {shown}{f' and {odd.size - 4} more' if odd.size > 4 else ''} too"
    others = f"{agree} of the {lines.size} lines have"  # one line alone (a tie): named
    if agree == 1:
        others = f"line {lines[np.flatnonzero(counts == common)[0]]} has"
    # Line 1 the column numbers, one short: a header over rows led by their index, as a table
    # exported with both (pandas' to_csv) is.
    header = (odd.size == 1 and odd[0] == 0 and counts[0] == common - 1 and line1 is not None
              and np.array_equal(line1 - line1[0], np.arange(line1.size)))  # fmt: skip
    hint = "; line 1 numbers the columns: save the matrix without a header or index" * bool(header)
    size = odd.size == 1 and odd[0] == 0 and line1 is not None and line1.size == 2  # Optris's
    if size and sorted(line1.tolist()) == sorted([common, lines.size - 1]):  # width, height
        hint = "; line 1 gives the frame's size: keep only the matrix of temperatures"
    return ThermalFormatError(
        f"{name}: line {lines[odd[0]]}: {counts[odd[0]]} values, but {others} {common}{more} "
        f"(rows must all have the same length{hint})"
    )


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
                csv = any(s in line for s in ",;\t") and any(c.isalpha() for c in token)
                hint = ": a table's header? (a labels CSV, say): not a temperature matrix"
                said = export_hint(text.split(chr(newline)), number, table) if not rows else ""
                said = said or (hint if csv and not rows and said is not None else "")
                raise ThermalFormatError(f"{name}: line {number}: {shown!r} is not a number{said}")
        rows.append(np.array(tokens, dtype=np.float64))
        lines.append(number)
    if not rows:
        raise ThermalFormatError(f"{name}: the file holds no numbers")
    counts = np.array([row.size for row in rows])
    if (counts != counts[0]).any():
        raise _ragged(name, np.asarray(lines), counts)
    with np.errstate(over="ignore"):
        return np.vstack(rows).astype(np.float32), np.asarray(lines)
