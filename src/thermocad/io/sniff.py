"""Which text matrix a file is: its separator and decimal mark, decided for the whole file.

',' is the decimal mark of some DMR files ("30,19;30,25" or "30,19 30,25") and a separator
in CSV ("30.19,30.25"). A file whose lines disagree (a stray '.' in one line of a
comma-decimal file) is refused naming the first such line: read as CSV, its every value
would split in two, and the matrix would silently have twice its columns.
"""

from __future__ import annotations

import re

import numpy as np

from thermocad.utils.errors import ThermalFormatError

# Possessive and unambiguous: "\d+\.?\d*" split long digit runs in n ways, so one 20 KB
# token ending in a letter took 46 s to refuse (found by tests/io/test_fuzz.py).
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][+-]?\d++)?|nan|inf|infinity)\Z", re.IGNORECASE
)
_LONE_CR = re.compile(rb"\r(?!\r*\n)")  # a CR that is no part of a line end (\r\n, \r\r\n)
_COMMA_OUTSIDE_NUMBER = re.compile(rb"(?<![0-9]),|,(?![0-9])")
_INNER_SEPARATOR = re.compile(rb"[^ \t;\r][ \t;]+[^ \t;\r]")
_DIGIT_COMMA_DIGIT = re.compile(rb"[0-9],[0-9]")
_COMMA_SPACE = re.compile(rb",[ \t]+")


def lone_crs_as_line_ends(data: bytes) -> bytes:
    """Lone CRs (classic Mac line ends, even with a final LF) made into LFs; CRs before an LF
    (\\r\\n, DMR batch B's \\r\\r\\n) are left to the line end."""
    if b"\r" not in data:
        return data
    raw = np.frombuffer(data, dtype=np.uint8)  # a third of a ms for 2 MB; a regex takes 1 ms
    after = raw[np.minimum(np.flatnonzero(raw == 13) + 1, raw.size - 1)]
    if not ((after != 10) & (after != 13)).any() and not data.endswith(b"\r"):
        return data  # a CR followed by an LF, or by CRs and then an LF: a line end
    return _LONE_CR.sub(b"\n", data)


def sniff_text(data: bytes, name: str = "text") -> tuple[str, bool]:
    """Return (source_format, comma_is_decimal) for a text matrix whose lines end with LF.

    Raises ThermalFormatError naming the first line that disagrees with the others about
    the decimal mark (',' or '.') when some lines read ',' as a decimal mark and others not.
    """
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
        # Named by the separator too: it tells the acquisition batch (cohort.prepare).
        return ("dmr-semicolon-comma-decimal" if b";" in data else "dmr-space-comma-decimal"), True
    if b"." not in data and between and commas.size == len(data.split()):
        return "dmr-comma-decimal", True  # one column: "29,52" reads as a decimal, not as 2 ints
    if b"." not in data and _comma_decimals_between_comma_separators(data):
        raise ThermalFormatError(
            f"{name}: ',' sits both between digits (a decimal mark?) and before spaces (a "
            "separator?): read either way, values would be split or joined; write '.' decimals, "
            "or separate the values with ';', spaces or tabs"
        )
    _check_lines_agree(data, name)
    return "csv-comma", False


def _comma_decimals_between_comma_separators(data: bytes, lines: int = 20) -> bool:
    """Whether the first `lines` lines with ', ' are all of fields that each hold one comma
    between digits ("28,9, 29,5"): a decimal comma and a ', ' separator, which CSV would read as
    twice the columns. CSV of integers spaced unevenly ("30,31, 32") has fields without one."""
    seen = 0
    for line in data.split(b"\n"):
        if not _COMMA_SPACE.search(line):
            continue
        fields = [f for f in _COMMA_SPACE.split(line.strip()) if f.strip(b", \t\r")]
        if not fields or not all(
            f.count(b",") == 1 and _DIGIT_COMMA_DIGIT.search(f) for f in fields
        ):
            return False
        seen += 1
        if seen == lines:
            break
    return seen > 0


def _is_digit(values: np.ndarray) -> np.ndarray:
    return (values - np.uint8(48)) < 10


def _check_lines_agree(data: bytes, name: str) -> None:
    """Refuse a file some of whose lines read ',' as the decimal mark (values with ',' between
    digits, separated by spaces, tabs or ';', no '.') while others use '.' or ',' otherwise,
    naming the first line of the fewer (the stray byte is more likely there).

    Lines of integers, and lines of one comma-joined token ("30,31": two CSV integers or one
    decimal), fit either reading and take no side.
    """
    lines: dict[bool, list[int]] = {True: [], False: []}  # comma is the decimal mark -> lines
    for number, line in enumerate(lone_crs_as_line_ends(data).split(b"\n"), 1):
        comma, dot = b"," in line, b"." in line
        if not (comma or dot):
            continue
        if comma and not dot and _COMMA_OUTSIDE_NUMBER.search(line) is None:
            if _INNER_SEPARATOR.search(line) is None:
                continue  # "30,31": either reading
            lines[True].append(number)
        else:
            lines[False].append(number)
    if not (lines[True] and lines[False]):
        return
    few = min((True, False), key=lambda side: (len(lines[side]), -lines[side][0]))
    many = lines[not few]
    raise ThermalFormatError(
        f"{name}: line {lines[few][0]}: {_reading(few)}, but {len(many)} other line(s) (line "
        f"{many[0]} first) have {_reading(not few)}: the lines disagree about the decimal mark "
        "(a stray byte?)"
    )


def _reading(comma_decimal: bool) -> str:
    return (
        "',' as the decimal mark"
        if comma_decimal
        else "'.' as the decimal mark or ',' as a separator"
    )


def check_one_frame(lines: np.ndarray, name: str, min_rows: int = 32) -> None:
    """Refuse rows that fall in blocks apart, separated by blank lines, each a frame's height
    (`lines`: the 1-based line of each row): several frames in one file, which had read as one
    image twice as tall and been scored (a review of camera exports: P 0.765 against 0.267)."""
    gaps = np.flatnonzero(np.diff(lines) > 1)  # a blank line (or more) between two rows
    if not gaps.size:
        return
    blocks = np.split(lines, gaps + 1)  # frames of one size; a stray blank line is no frame
    if len({len(b) for b in blocks}) == 1 and len(blocks[0]) >= min_rows:
        sizes = ", ".join(str(len(b)) for b in blocks[:4]) + (", ..." if len(blocks) > 4 else "")
        raise ThermalFormatError(
            f"{name}: {len(blocks)} blocks of rows ({sizes}) separated by blank lines, the "
            f"second from line {blocks[1][0]} on: several frames in one file (a sequence "
            "export?); save each frame to a file of its own"
        )


_EMPTY_CELL = {b",": re.compile(rb"[0-9.][ ]*,[ ]*,[ ]*[-+0-9.]"),  # "30.1,,30.3": comma CSV
               b"\t": re.compile(rb"[0-9.,][ ]*\t[ ]*\t[ ]*[-+0-9.,]"),  # ("30.1 ; ; 30.3" too)
               b";": re.compile(rb"[0-9.,][ ]*;[ ]*;[ ]*[-+0-9.,]")}  # fmt: skip


def check_empty_cells(data: bytes, name: str, comma_decimal: bool) -> None:
    """Refuse an empty cell between two values of a row separated by commas or tabs: those
    separators collapse, and a column left empty in every row had read one column short, each
    value after it shifted, without a word (a review of camera exports)."""
    for separator, pattern in _EMPTY_CELL.items():
        if separator == b"," and comma_decimal or separator not in data:
            continue
        if separator * 2 not in data and separator + b" " not in data:  # no regex scan needed
            continue
        if found := pattern.search(data):
            line = data.count(b"\n", 0, found.start()) + 1
            two = "two tabs" if separator == b"\t" else f"two {separator.decode()!r}"
            raise ThermalFormatError(
                f"{name}: line {line}: an empty field ({two} with no value between). Every cell "
                "needs a temperature: fill in the missing value, or delete the empty column"
            )


def export_hint(lines: list[str], number: int, table: dict) -> str | None:
    """The hint for a word on 1-based line `number` of a text matrix where a camera software's
    export has one: a label column on a row of numbers ("Frame 1,30.1,..."), or header lines
    above rows of numbers (a review of camera exports: they had been taken for a labels
    table, or said only 'not a number'); '' when neither, None for a bad value inside a row
    of numbers (no hint at all). `table`: the separators as spaces."""

    def numbers(line: str) -> int:  # how many numbers a row of them holds, else 0
        tokens = line.translate(table).split()
        return len(tokens) if tokens and all(_NUMBER.match(t) for t in tokens) else 0

    tokens = lines[number - 1].translate(table).split()
    lead = next((i for i, t in enumerate(tokens) if _NUMBER.match(t)), len(tokens))
    if 0 < lead <= 3 and numbers(" ".join(tokens[lead:])) >= 32:  # words first, then numbers
        return (". The first column looks like a camera software's label: delete it and keep "
                "only the matrix of temperatures")  # fmt: skip
    if sum(bool(_NUMBER.match(t)) for t in tokens) >= 32:  # a bad value in a row: no hint
        return None
    for k in range(number, min(len(lines), number + 200)):
        if numbers(lines[k]) >= 32:
            return (f". Lines {number}-{k} look like a camera software's header: delete them "
                    "and keep only the matrix of temperatures")  # fmt: skip
    return ""
