"""Reading the pipeline's CSV tables (labels, cohort, split) with errors that name the file."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.files import INCOMPLETE


def read_table(
    csv: str | os.PathLike,
    what: str,
    make_with: str | None = None,
    columns: Sequence[str] = (),
    error: type[ThermocadError] = ConfigError,
    **read_csv: Any,
) -> pd.DataFrame:
    """pd.read_csv, but a missing, binary or malformed file or a missing column raises `error`.

    `what` names the table in messages ("split file"); `make_with` is the command that writes it.
    """
    csv = Path(csv)
    check_table_file(csv, what, make_with, error)
    try:
        table = pd.read_csv(csv, **read_csv)
    except UnicodeDecodeError as exc:  # a binary file, or a Latin-1 / Windows-1252 export
        if b"\x00" in exc.object[:4096]:
            raise error(f"{csv}: not a readable CSV table (a binary file)") from exc
        raise error(f"{csv}: not UTF-8 text ({_first_bad_byte(csv)}); "
                    "save it as UTF-8 (in Excel: CSV UTF-8)") from exc  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        why = " ".join(str(exc).split())  # pandas' message may end in a line break
        raise error(f"{csv}: not a readable CSV table ({why})") from exc
    if "index_col" not in read_csv and not isinstance(table.index, pd.RangeIndex):
        # pandas takes rows with one field more than the header as having an index column
        raise error(f"{csv}: its rows have more fields than its header "
                    f"({', '.join(map(str, table.columns))}); a stray comma?")  # fmt: skip
    return require_columns(table, str(csv), columns, what, make_with, error)


def require_columns(table: pd.DataFrame, name: str, columns: Sequence[str], what: str = "",
                    make_with: str | None = None, error: type[ThermocadError] = ConfigError
                    ) -> pd.DataFrame:  # fmt: skip
    """`table` (called `name` in messages: its file, or "the cohort table"), or `error` naming
    the `columns` it lacks and, with `make_with`, the command that writes such a table."""
    if missing := [c for c in columns if c not in table.columns]:
        hint = f" (is it the {what} that `{make_with}` writes?)" if make_with else ""
        raise error(f"{name}: missing columns {missing}{hint}")
    return table


def check_subgroup_column(table: pd.DataFrame, subgroup: str | None, name) -> None:
    """ConfigError for a subgroup a split table has no column for (a misspelt name); the
    default, acquisition_batch, may be missing from a table written by hand: its audit is
    then left out."""
    if subgroup and subgroup != "acquisition_batch" and subgroup not in table.columns:
        raise ConfigError(f"{name}: no column {subgroup!r} for the subgroup; it has "
                          f"{', '.join(map(str, table.columns))}")  # fmt: skip


def read_written(csv: str | os.PathLike, what: str) -> pd.DataFrame:
    """A table thermocad wrote (cohort.csv, split.csv, predictions.csv), read as its writers
    and `read_split` read it: only an empty cell is missing; "NA" or "None" is a patient id."""
    return read_table(csv, what, keep_default_na=False, na_values=[""])


def check_table_file(csv: Path, what: str, make_with: str = "",
                     error: type[ThermocadError] = ConfigError) -> None:  # fmt: skip
    """Refuse, in one line naming `csv`, what no table reader can take: a folder, a missing
    file, a pipe or device (reading would block or never end), a compressed file or a
    spreadsheet workbook (read as text they give garbled columns)."""
    if csv.is_dir():
        raise error(f"{csv}: is a folder, not the {what}")
    if not csv.exists():
        hint = f" (make it with `{make_with}`)" if make_with else ""
        if (csv.parent / INCOMPLETE).is_file():  # e.g. a synth stopped before its labels.csv
            hint = (f" ({csv.parent} is marked {INCOMPLETE}: what writes it was interrupted or "
                    "is still running; finish or redo it, synth with --force)")  # fmt: skip
        raise error(f"{csv}: {what} not found{hint}")
    if not csv.is_file():
        raise error(f"{csv}: not a regular file (a pipe or a device); save it to a file and "
                    "give that")  # fmt: skip
    try:
        with open(csv, "rb") as fh:
            start = fh.read(4)
    except OSError as exc:
        raise error(f"{csv}: cannot be read ({exc.strerror or exc})") from exc
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text"
        raise error(f"{csv}: UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)")
    if (
        len(start) == 4
        and start.count(0) == 2
        and (start[1] == start[3] == 0 or start[0] == start[2] == 0)
    ):
        # Text in UTF-16 without the mark: every other byte is 0 (UTF-8 to pandas)
        raise error(f"{csv}: UTF-16 text (without a byte order mark); save it as UTF-8")
    if start[:2] == b"\x1f\x8b":
        raise error(f"{csv}: a gzip-compressed file; decompress it and give the CSV")
    if start == b"PK\x03\x04":
        raise error(f"{csv}: a zip archive or a spreadsheet workbook (.xlsx), not a CSV "
                    "table; save it as CSV (UTF-8)")  # fmt: skip


def as_text(values: pd.Series, missing: str = "") -> pd.Series:
    """A column as text, `missing` where a cell is: a column read with no text in it is float
    (all NaN), which pandas 3 fills with text only with a warning and pandas 4 not at all."""
    return values.astype(object).where(values.notna(), missing).astype(str)


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], floats: str = "{:.3f}"
) -> str:
    """A GitHub markdown table: one line per row, float cells formatted with `floats`; a | or a
    line break in a cell (a name from the data) kept inside it."""
    from thermocad.utils.markdown import md_cell

    def cell(value: Any) -> str:
        return md_cell(floats.format(value) if isinstance(value, float) else value)

    lines = ["| " + " | ".join(map(md_cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def finite_interval(ci: Sequence[Any] | None) -> tuple[float, float] | None:
    """(low, high) when both ends are numbers, else None: metrics.json stores an undefined
    interval (fewer than 5 women of a class) as [null, null], and in memory it is NaN."""
    if ci is None or len(ci) != 2:
        return None
    if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in ci):
        return None
    return float(ci[0]), float(ci[1])


def fmt_ci(value: Any, ci: Sequence[Any] | None = None, digits: int = 3) -> str:
    """'0.912 (0.850-0.960)' (`ci`: low, high; '-0.120 (-0.300 to 0.050)' with a negative
    bound), the value alone without an interval, or 'n/a' for a missing or undefined value:
    the one way every table writes an estimate."""

    def missing(v: Any) -> bool:
        # None, pandas' NA, or NaN of any float type (numpy's float32 is no Python float)
        return v is None or v is pd.NA or (isinstance(v, numbers.Real) and math.isnan(v))

    if missing(value):
        return "n/a"
    if not ci or missing(ci[0]) or missing(ci[1]):
        return f"{value:.{digits}f}"
    dash = " to " if min(ci) < 0 else "-"  # "-0.300--0.050" would misread
    return f"{value:.{digits}f} ({ci[0]:.{digits}f}{dash}{ci[1]:.{digits}f})"


def _first_bad_byte(path: Path) -> str:
    """'byte 0xf3 on line 3': where the file stops being UTF-8 (pandas' error counts within
    its read buffer, not the file)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return f"byte {data[exc.start]:#x} on line {line}"
    return "an undecodable byte"


def tidy(threshold: float) -> float:
    """A threshold as the reports and tables write it, without float noise (model.json's
    0.12078164000000001: a float32 printed as a float64): a float32's own shortest repr when
    it is one, else the shortest decimal within a few units in the last place (no float32
    probability falls between the two). Only the written value: calls use the threshold as is."""
    import numpy as np

    x = float(threshold)
    if float(np.float32(x)) == x:
        return float(str(np.float32(x)))
    for digits in range(1, 18):
        short = float(f"{x:.{digits}g}")
        if abs(short - x) <= 4 * np.spacing(x):
            return short
    return x
