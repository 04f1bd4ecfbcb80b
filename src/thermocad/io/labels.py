"""Read the patient table: one row per patient with the diagnosis and optional clinical columns."""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.io.label_columns import LABEL_FILTERS, rename_columns
from thermocad.utils.errors import CohortError
from thermocad.utils.tables import check_table_file, read_table

CLASSES = ("Healthy", "Sick")  # index 1 is the positive class: probabilities are P(Sick)
DIAGNOSES = {"healthy": "Healthy", "normal": "Healthy", "sick": "Sick", "cancer": "Sick"}
BOOLEANS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}  # fmt: skip
BOOLEAN_COLUMNS = ("deodorant", "single_breast")
MAX_AGE = 120
# A missing value as R's write.csv (NA) and many sheets (N/A) write it, in an optional column.
MISSING = ("NA", "N/A", "#N/A")  # any case; #N/A: a spreadsheet's lookup that found nothing
OPTIONAL = (*BOOLEAN_COLUMNS, "age", "acquisition_date", "acquisition_batch")


def labels_to_y(labels: Iterable) -> np.ndarray:
    """The class index of each label: 1 for Sick (CLASSES[1], the positive class), else 0."""
    return (np.asarray(list(labels), dtype=str) == CLASSES[1]).astype(np.int64)


def with_y(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with the 0/1 column `y` (1 = Sick): its own `y`, else from `label`."""
    from thermocad.utils.errors import ConfigError

    if "y" in table.columns:
        return table.assign(y=table["y"].astype(int))
    if "label" not in table.columns:
        raise ConfigError("predictions need a `y` or `label` column")
    return table.assign(y=labels_to_y(table["label"]))


def label_filters(row) -> list[str]:
    """The study's filters a labels row (a mapping) applies; a missing value (NA) is no, as the
    table gives no reason to drop her."""
    return [name for column, name in LABEL_FILTERS.items()
            if (v := row.get(column)) is not None and not pd.isna(v) and bool(v)]  # fmt: skip


def labels_name(labels: str | os.PathLike | pd.DataFrame) -> str | os.PathLike:
    """How messages name the labels: their file, or "the labels table" for a DataFrame."""
    return labels if isinstance(labels, str | os.PathLike) else "the labels table"


def labels_file(labels, command: str, why: str) -> Path:
    """The labels table of a command that keeps the file's name (`why`: what for), or a
    one-line refusal of a DataFrame (prepare and split take one; these commands need a file)."""
    if isinstance(labels, str | os.PathLike):
        return Path(labels)
    if not hasattr(labels, "to_csv"):  # an int, a list: no table to save
        raise CohortError(f"{command}: labels must be a CSV file's path (str or pathlib.Path), "
                          f"got {labels!r:.60}")  # fmt: skip
    raise CohortError(f"{command}: labels must be a CSV file's path, not a "
                      f"{type(labels).__name__} ({why}): save it with .to_csv(path, "
                      "index=False) and pass the path")  # fmt: skip


def read_labels(csv: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Read and check the labels CSV (or table); returns patient_id (int), diagnosis, then
    optional columns."""
    if isinstance(csv, pd.DataFrame):  # checked as if read from a file: text, "" for missing
        # Each cell as a file would hold it: "" for missing, a whole float as an integer (a
        # column of ids with one NaN is float: 1.0 is patient 1). Rows are numbered as the
        # lines of a file would be (the header is line 1), whatever the frame's index.
        table, csv = csv.map(_cell_text), labels_name(csv)
        table.index = pd.RangeIndex(2, len(table) + 2)
    else:
        csv = Path(csv)
        check_table_file(csv, "labels file", error=CohortError)  # before the header is read
        sep, skip = _separator(csv)
        table = read_table(csv, "labels file", error=CohortError, sep=sep, skiprows=skip,
                           dtype=str, keep_default_na=False, skipinitialspace=True)  # fmt: skip
        _check_header(csv, sep, skip)
        # Each row's index is the line of the file it starts on, for error messages: blank
        # lines and quoted cells over several lines counted, the sep= line included.
        lines = _record_lines(csv, sep, skip)
        table.index = lines if len(lines) == len(table) else table.index + skip + 2
    table = rename_columns(table, csv)
    # One spelling of each text: a Mac writes accents apart (NFD), Windows joined (NFC)
    table = table.apply(lambda col: col.str.normalize("NFC").str.strip())
    table = table[(table != "").any(axis=1)]  # a spreadsheet's empty rows (",,,,") at the end
    for column in (c for c in OPTIONAL if c in table):
        table[column] = table[column].mask(table[column].str.upper().isin(MISSING), "")
    if table.empty:
        raise CohortError(f"{csv}: holds no patients (a header without rows)")
    table["patient_id"] = _patient_ids(table["patient_id"], csv)
    table["diagnosis"] = _diagnoses(table["diagnosis"], csv)
    for column in BOOLEAN_COLUMNS:
        if column in table:
            table[column] = _booleans(table[column], column, csv)
    if "age" in table:
        table["age"] = _ages(table["age"], csv)
    if "acquisition_date" in table:
        table["acquisition_date"] = _dates(table["acquisition_date"], csv)
    if "acquisition_batch" in table:  # stripped above; `a` and `A` are one batch
        table["acquisition_batch"] = table["acquisition_batch"].str.upper()
    twice = table["patient_id"][table["patient_id"].duplicated()].unique()
    if len(twice):  # each with her lines (the index: header = 1), however spelt (T0196, 196)

        def where(p) -> str:  # her lines, and whether they say the same
            rows = table[table["patient_id"] == p]
            same = len(rows.astype(str).drop_duplicates()) == 1
            return f"{p} (lines {', '.join(map(str, rows.index))}: " + (
                "the same, keep one)" if same else "they differ, keep the right one)"
            )

        shown = "; ".join(map(where, sorted(twice.tolist())[:10]))
        raise CohortError(f"{csv}: duplicate patients {shown}")
    return table.reset_index(drop=True)


def _cell_text(value) -> str:
    """A labels table's cell as text: "" for missing, 12 for 12.0."""
    if isinstance(value, float | np.floating) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return "" if pd.isna(value) else str(value)  # None and NaN; inf stays "inf"


def _separator(csv: Path) -> tuple[str, int]:
    """(separator, lines to skip): what an Excel `sep=;` first line says, else of comma,
    semicolon and tab (spreadsheets in many locales write ';') the one found as often on each
    of the first lines (a header "notes (a, b)" of a ';' table holds commas, its rows not),
    else the header's most frequent."""
    try:
        with open(csv, encoding="utf-8-sig", errors="replace") as fh:
            lines = [fh.readline(65536) for _ in range(6)]
    except OSError:
        return ",", 0  # read_table says what is wrong with the file
    header = lines[0].rstrip("\r\n")
    if header.startswith("sep=") and len(header) == 5:  # sep=; or sep=<tab>
        return header[4], 1
    rows = [line for line in lines if line.strip()]
    steady = [s for s in (",", ";", "\t") if len({r.count(s) for r in rows}) == 1 and s in header]
    if len(rows) > 1 and len(steady) == 1:
        return steady[0], 0
    return max((",", ";", "\t"), key=header.count), 0  # a tie (none of them): the comma


def _check_header(csv: Path, sep: str, skip: int) -> None:
    """Refuse a header that names a column twice (pandas would keep the second as 'name.1',
    and the first would silently win)."""
    import csv as csv_module
    from collections import Counter

    with open(csv, encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = csv_module.reader(fh, delimiter=sep)
        header = next((row for i, row in enumerate(rows) if i == skip), [])
    names = Counter(name.strip().lower() for name in header if name.strip())
    twice = sorted(name for name, n in names.items() if n > 1)
    if twice:
        raise CohortError(f"{csv}: the header names {twice} more than once; keep one of each")


def _patient_ids(values: pd.Series, csv: Path) -> pd.Series:
    """Integers; 'T0287' and '0287' both mean patient 287."""
    # 12.0 too: a column of ids saved from a float column (a spreadsheet, pandas with a gap)
    digits = values.str.extract(r"^[Tt]?0*([0-9]+)(?:\.0+)?$", expand=False)
    bad = values[digits.isna()]
    if len(bad):
        row = int(bad.index[0])  # the line of the file (the header is line 1)
        raise CohortError(f"{csv}: line {row}: patient_id {bad.iloc[0]!r} is not a patient number")
    long = values[digits.str.len() > 18]  # int64 holds 18 digits; more would overflow
    if len(long):
        row = int(long.index[0])
        shown = long.iloc[0] if len(long.iloc[0]) <= 40 else long.iloc[0][:37] + "..."
        raise CohortError(
            f"{csv}: line {row}: patient_id {shown!r} is too long (at most 18 digits)"
        )
    return digits.astype("int64")


def _diagnoses(values: pd.Series, csv: Path) -> pd.Series:
    mapped = values.str.lower().map(DIAGNOSES)
    bad = values[mapped.isna()]
    if len(bad):
        row = int(bad.index[0])
        raise CohortError(
            f"{csv}: line {row}: unknown diagnosis {bad.iloc[0]!r} (unknown values: "
            f"{sorted(set(bad))[:10]}); use Healthy/Sick (or normal/cancer)"
            + (_cut_short(csv) if row == values.index.max() else "")
        )
    return mapped


def _cut_short(csv) -> str:
    """What to add when the bad line is the file's last and has no line end: a copy or a
    download stopped partway ('' otherwise, and for a DataFrame)."""
    try:
        with open(csv, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            ends = fh.read(1) in (b"\n", b"\r")
    except (OSError, TypeError, ValueError):  # a DataFrame's name, an empty file
        return ""
    return (
        "" if ends else "; it is the file's last line and has no line end: was the file cut short?"
    )


def _booleans(values: pd.Series, column: str, csv: Path) -> pd.Series:
    """yes/no/true/false/1/0 (any case); empty cells stay missing."""
    mapped = values.str.lower().map(BOOLEANS)
    bad = values[mapped.isna() & (values != "")]
    if len(bad):
        row = int(bad.index[0])
        raise CohortError(
            f"{csv}: line {row}: {column} value {bad.iloc[0]!r} is not yes/no/true/false/1/0"
        )
    return mapped.astype("boolean")


def _ages(values: pd.Series, csv: Path) -> pd.Series:
    """Years, 0 to 120 (a decimal comma, 50,5, as locales that separate fields by ';' write
    it); empty cells stay missing."""
    age = pd.to_numeric(values.str.replace(",", ".").replace("", None), errors="coerce")
    bad = values[(values != "") & ~age.between(0, MAX_AGE)]  # NaN, inf, -4 and 999 alike
    if len(bad):
        raise CohortError(
            f"{csv}: line {int(bad.index[0])}: age {bad.iloc[0]!r} is not an age in years "
            f"(a number from 0 to {MAX_AGE})"
        )
    return age


# ISO 8601's calendar date, optionally with a time as the DMR file names give (2015-07-20T18:00),
# and a time zone as exports write it (Z, +01:00): the day is kept.
_ISO_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)


def _dates(values: pd.Series, csv: Path) -> pd.Series:
    """ISO dates (YYYY-MM-DD, a time after it is dropped); empty cells stay empty."""

    def parse(value: str) -> str | None:
        match = _ISO_DATE.fullmatch(value)
        try:
            if match is None:
                return None
            if match[2]:
                datetime.time.fromisoformat(match[2])  # 25:00 is no time
            return datetime.date.fromisoformat(match[1]).isoformat()
        except ValueError:
            return None

    parsed = values.map(lambda v: parse(v) if v else "")
    bad = values[parsed.isna()]
    if len(bad):
        row, value = int(bad.index[0]), bad.iloc[0]
        shaped = _ISO_DATE.fullmatch(value)  # 2015-02-30, or 2015-07-20T24:00
        day_ok = shaped is not None and parse(shaped[1]) is not None
        what = (
            "is not an ISO date (YYYY-MM-DD, or with a time: 2015-07-20T18:00)" if not shaped
            else "has no valid time of day (00:00 to 23:59)" if day_ok
            else "is no date in the calendar"
        )  # fmt: skip
        raise CohortError(f"{csv}: line {row}: acquisition_date {value!r} {what}")
    today = datetime.date.today()  # a day's grace: the labels may be written a zone ahead
    if len(later := parsed[parsed > (today + datetime.timedelta(days=1)).isoformat()]):
        row = int(later.index[0])
        raise CohortError(f"{csv}: line {row}: acquisition_date {values[row]!r} is after today "
                          f"({today}): a typo in the year?")  # fmt: skip
    return parsed


def _record_lines(csv: Path, sep: str, skip: int) -> list[int]:
    """The line each data row of the file starts on, as pandas reads its rows: blank lines
    (pandas skips them) are not rows, a quoted cell may span lines."""
    import csv as csv_module

    lines, end = [], 0
    with open(csv, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv_module.reader(fh, delimiter=sep, skipinitialspace=True)
        try:
            for number, row in enumerate(reader):
                start, end = end + 1, reader.line_num
                if number > skip and (len(row) > 1 or (row and row[0].strip())):
                    lines.append(start)
        except csv_module.Error:
            return []  # pandas read it: the caller falls back to counting rows
    return lines
