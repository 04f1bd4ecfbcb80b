"""Fuzzing the thermal reader: generated and mutated DMR text files, and a loadtxt reference
(the same cases for the same seed: gzip headers carry no time).

Shared by tests/io/test_fuzz.py (about 1,500 cases on every CI run) and
benchmarks/fuzz_reader.py (20,000 or more, with hang timeouts and peak memory). A case is
a file's bytes; `judge` reads it with `read_thermal` and sorts the outcome:

- "accepted" / "refused": the reader agrees with the reference (equal values, or both
  refuse);
- "mismatch": different values, or the reader accepts what the reference refuses (or the
  other way round, for input that is unambiguously a valid matrix);
- "crash": any exception other than ThermalFormatError.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thermocad.io import limits
from thermocad.io.thermal import PLAUSIBLE_CELSIUS, read_thermal
from thermocad.utils.errors import ThermalFormatError

BOM = b"\xef\xbb\xbf"
# Plain numbers, one space or line end apart: what a file may hold to be unambiguously valid.
_NUMBER = r"[+-]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][+-]?\d++)?"  # possessive: linear time
PLAIN_LINES = re.compile(rf"{_NUMBER}(?:[ \n]{_NUMBER})*\Z")
INTERESTING = [b" ", b";", b",", b".", b"-", b"+", b"e", b"E", b"\n", b"\r", b"\t", b"\x00",
               b"nan", b"inf", b"9", b"0", b"\xff", b"1e999", b"99999", b"\xef\xbb\xbf"]  # fmt: skip
SEPARATORS = [" ", ";", "\t", "  ", "; ", " ;"]
EOLS = ["\n", "\r\n", "\r\r\n", "\r"]


@dataclass(frozen=True)
class Case:
    """One fuzz input: its bytes, how it was made, and the file name to write it under."""

    data: bytes
    kind: str
    name: str = "T0001.txt"
    hostile: bool = False  # must be refused (bombs, huge shapes); no reference is computed


def dmr_text(
    rng: np.random.Generator,
    rows: int,
    cols: int,
    sep: str = " ",
    decimals: int = 2,
    comma: bool = False,
    eol: str = "\n",
    trailing: bool = False,
    final_eol: bool = True,
    low: float = 18.0,
    high: float = 37.0,
) -> bytes:
    """A temperature matrix in a DMR layout (batch A: ' ', 2 decimals; B: ';', 5 decimals)."""
    values = np.round(rng.uniform(low, high, (rows, cols)), decimals)
    row_format = sep.join([f"%.{decimals}f"] * cols) + (sep if trailing else "")
    lines = [row_format % tuple(row) for row in values.tolist()]  # one % per row: fast
    if comma:
        lines = [line.replace(".", ",") for line in lines]
    return (eol.join(lines) + (eol if final_eol else "")).encode()


def generated(rng: np.random.Generator, max_rows: int = 40, max_cols: int = 60) -> Case:
    """A random but valid layout: shape, separator, decimals, line ends, BOM, gzip."""
    comma = rng.random() < 0.2
    sep = str(rng.choice(["; ", ";", " "] if comma else SEPARATORS))
    style = int(rng.integers(0, 5))
    rows, cols = int(rng.integers(1, max_rows + 1)), int(rng.integers(1, max_cols + 1))
    if style == 4:  # exponents, signs and %g widths go to the general parser
        values = rng.uniform(18, 37, (rows, cols))
        fmt = str(rng.choice(["%.3e", "%+.2f", "%g", "%.0f"]))
        data = "".join(sep.join(fmt % v for v in row) + "\n" for row in values).encode()
    else:
        data = dmr_text(
            rng, rows, cols, sep=sep, decimals=int(rng.integers(0, 8)), comma=comma,
            eol=str(rng.choice(EOLS)), trailing=rng.random() < 0.3,
            final_eol=rng.random() < 0.8,
        )  # fmt: skip
    if rng.random() < 0.05:
        data = BOM + data
    if rng.random() < 0.15:
        return Case(gzip.compress(data, compresslevel=1, mtime=0), "generated-gzip", "T0001.txt.gz")
    return Case(data, "generated")


def mutate(rng: np.random.Generator, data: bytes) -> bytes:
    """One to three edits: bytes, tokens, lines, decimal marks, truncation, BOM, gzip."""
    for _ in range(int(rng.integers(1, 4))):
        data = EDITS[int(rng.integers(0, len(EDITS)))](rng, data)
    return data


def _pos(rng: np.random.Generator, data: bytes) -> int:
    return int(rng.integers(0, len(data) + 1))


def _token_edit(rng: np.random.Generator, data: bytes) -> bytes:
    """Replace one token by NaN, inf, a huge, negative or non-numeric value, or nothing."""
    tokens = list(re.finditer(rb"[^\s;]+", data))
    if not tokens:
        return data
    hit = tokens[int(rng.integers(0, len(tokens)))]
    new = [b"nan", b"NaN", b"inf", b"-inf", b"1e999", b"1e38", b"99999.5", b"-3.2", b"abc",
           b"", b"30.1 30.2", b"3.0.2", b".", b"+30.5", b"3e1", b"0x1F", b"30,5", b"1_0"]  # fmt: skip
    return data[: hit.start()] + new[int(rng.integers(0, len(new)))] + data[hit.end() :]


def _line_edit(rng: np.random.Generator, data: bytes) -> bytes:
    """Delete, duplicate, swap or blank a line, or make it ragged."""
    lines = data.split(b"\n")
    i, j = int(rng.integers(0, len(lines))), int(rng.integers(0, len(lines)))
    op = int(rng.integers(0, 5))
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[j])
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3:
        lines.insert(i, b"  \r" if rng.random() < 0.5 else b"")
    else:
        lines[i] = lines[i] + b" 30.25"
    return b"\n".join(lines)


EDITS = [
    lambda rng, d: d[: (p := _pos(rng, d))] + bytes([int(rng.integers(0, 256))]) + d[p + 1 :],
    lambda rng, d: d[: (p := _pos(rng, d))] + INTERESTING[int(rng.integers(0, len(INTERESTING)))] + d[p:],
    lambda rng, d: d[: (p := _pos(rng, d))] + d[p + int(rng.integers(1, 8)) :],
    lambda rng, d: d[: _pos(rng, d)],  # truncation
    _token_edit,
    _line_edit,
    lambda rng, d: d.replace(b".", b",") if rng.random() < 0.5 else d.replace(b";", b","),
    lambda rng, d: d.replace(b" ", b";", int(rng.integers(1, 20))),
    lambda rng, d: d.replace(b"\n", b"\r\n") if rng.random() < 0.5 else d.replace(b"\n", b"\r"),
    lambda rng, d: BOM + d,
    lambda rng, d: (z := gzip.compress(d, compresslevel=1, mtime=0))[: _pos(rng, z)],  # truncated gzip
]  # fmt: skip


def random_bytes(rng: np.random.Generator) -> Case:
    """Binary garbage, sometimes behind a gzip or PNG magic, or text of one repeated byte."""
    size = int(rng.integers(0, 2000))
    data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    prefix = [b"", b"", b"\x1f\x8b", b"\x89PNG\r\n\x1a\n", b"\x93NUMPY"][int(rng.integers(0, 5))]
    if rng.random() < 0.2:
        data = bytes(rng.choice(list(b"0123456789 ;,.\n\r-e"), 1)) * size
    name = "T0001.bin" if rng.random() < 0.5 else "T0001.txt"  # .bin: sniffed by magic
    return Case(prefix + data, "random-bytes", name)


@functools.cache
def _bomb() -> bytes:
    """80 MiB of zeros in about 80 KB: larger than limits.MAX_TEXT_BYTES once unpacked."""
    return gzip.compress(bytes(80 * 2**20), compresslevel=9, mtime=0)


def hostile(rng: np.random.Generator, big: bool = True) -> Case:
    """Input the limits must refuse: too many lines or columns, and (`big`) bombs, 9 MB files."""
    pick = int(rng.integers(0, 4 if big else 2))
    if pick == 0:
        data = b"1\n" * int(rng.integers(limits.MAX_SIDE + 1, 200_000))
    elif pick == 1:
        data = b" ".join([b"30"] * int(rng.integers(limits.MAX_SIDE + 1, 100_000))) + b"\n"
    elif pick == 2:
        return Case(_bomb() + bytes(int(rng.integers(0, 9))), "hostile", "T0001.txt.gz", True)
    else:  # more than MAX_VALUES one-character values in few enough lines
        cols = limits.MAX_SIDE // 2
        data = (b"1 " * cols + b"\n") * (limits.MAX_VALUES // cols + int(rng.integers(1, 99)))
    return Case(data, "hostile", "T0001.txt", True)


def cases(
    seed: int,
    count: int,
    max_rows: int = 40,
    max_cols: int = 60,
    hostile_share: float = 0.0,
    big: bool = False,
) -> Iterator[Case]:
    """`count` cases from `seed`: half mutated DMR files (both formats), a third generated.

    `hostile_share` of them come from `hostile` (`big`: with gzip bombs and 9 MB files).
    """
    rng = np.random.default_rng(seed)
    for _ in range(count):
        pick = rng.random()
        if pick < hostile_share:
            yield hostile(rng, big)
        elif pick < 0.5:
            rows, cols = int(rng.integers(1, max_rows + 1)), int(rng.integers(1, max_cols + 1))
            batch_b = rng.random() < 0.5
            base = dmr_text(rng, rows, cols, ";" if batch_b else " ", 5 if batch_b else 2,
                            comma=rng.random() < 0.15, eol="\r\n" if batch_b else "\n",
                            trailing=batch_b)  # fmt: skip
            yield Case(mutate(rng, base), "mutated-" + ("B" if batch_b else "A"))
        elif pick < 0.85:
            yield generated(rng, max_rows, max_cols)
        else:
            yield random_bytes(rng)


def reference(data: bytes, comma_decimal: bool) -> np.ndarray | str:
    """numpy.loadtxt's matrix, or why the text is no thermogram, with ',' read as given.

    Separators (';', and ',' unless it is the decimal mark) become spaces and blank lines
    go, so loadtxt decides values and ragged rows; the reader's rules for finite,
    plausible and bounded values come after.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            return f"bad gzip ({exc})"
    data = data.removeprefix(BOM)
    block = data[:4096]  # control characters (str.split takes \x1c-\x1f as spaces) over 5%
    if sum(b < 9 or 14 <= b < 32 or b == 127 for b in block) > len(block) / 20:
        return "binary"
    text = data.decode("latin-1")
    text = re.sub("\r(?!\r*\n)", "\n", text)  # a CR ends a line unless an LF follows it
    if _empty_field(text, comma_decimal):
        return "an empty field"
    text = text.replace(";", " ").replace(",", "." if comma_decimal else " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return "empty"
    if not PLAIN_LINES.match("\n".join(lines)):
        return "not a plain number"
    try:
        with np.errstate(over="ignore"):
            array = np.loadtxt(io.StringIO("\n".join(lines)), ndmin=2, comments=None)
            array = array.astype(np.float32)
    except ValueError as exc:
        return f"loadtxt: {exc}"
    low, high = PLAUSIBLE_CELSIUS
    if not np.isfinite(array).all():
        return "not finite"
    if array.min() < low or array.max() > high:
        return "implausible"
    if max(array.shape) > limits.MAX_SIDE or array.size > limits.MAX_VALUES:
        return "too large"
    return array


def _empty_field(text: str, comma_decimal: bool) -> bool:
    """Whether a line holds a field with nothing but spaces between two numbers of it, for one
    separator (';', a tab, and ',' unless it is the decimal mark): loadtxt, reading separators
    as spaces, would close it up and shift every value after it."""
    number = re.compile(r"[-+]?[0-9.,]+" if comma_decimal else r"[-+]?[0-9.]+")
    for sep in ("\t", ";") if comma_decimal else ("\t", ";", ","):
        for line in text.split("\n"):
            fields = [f.strip(" ") for f in line.split(sep)]
            for i in range(1, len(fields) - 1):
                if fields[i] or not fields[i - 1] or not number.search(fields[i - 1][-1:]):
                    continue
                after = next((f for f in fields[i + 1 :] if f), "")  # after the empty ones
                if number.match(after[:1] if after[:1] not in "-+" else after[:2]):
                    return True
    return False


def read(path: Path) -> object:
    """What `read_thermal` gives: a Thermogram, or the exception it raised."""
    try:
        return read_thermal(path, cache=False)
    except Exception as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
        return exc


def compare(data: bytes, path: Path, result: object, hostile: bool = False) -> tuple[str, str]:
    """Sort a read result against the reference: (outcome, detail) as in the module doc.

    `hostile` cases (bombs, huge shapes) must be refused; no reference is computed for them.
    """
    if isinstance(result, ThermalFormatError):
        refused = str(result)
        if "\n" in refused or not refused.startswith(str(path)):
            return "mismatch", f"error is not one line naming the file: {refused!r}"
        if hostile:
            return "refused", refused
        expected = [reference(data, comma) for comma in (False, True)]
        if b"," not in data:
            expected = expected[:1]  # no ',' anywhere: one reading, which must be refused
        if all(isinstance(e, np.ndarray) for e in expected):
            return "mismatch", f"refused valid input: {refused}"
        return "refused", refused
    if isinstance(result, BaseException):
        return "crash", f"{type(result).__name__}: {result}"
    if hostile:
        return "mismatch", f"accepted a hostile input as {result.source_format} {result.shape}"
    expected = reference(data, result.source_format.endswith("comma-decimal"))
    if isinstance(expected, str):
        return (
            "mismatch",
            f"accepted as {result.source_format} {result.shape}, reference: {expected}",
        )
    if expected.shape != result.shape or not np.array_equal(expected, result.array):
        return "mismatch", f"values differ from loadtxt ({result.source_format}, {result.shape})"
    return "accepted", result.source_format


def judge(path: Path) -> tuple[str, str]:
    """Read `path` and compare the result with the reference."""
    return compare(path.read_bytes(), path, read(path))


def judge_case(case: Case, path: Path) -> tuple[str, str]:
    """Read `case` written at `path` and compare the result with the reference."""
    return compare(case.data, path, read(path), case.hostile)
