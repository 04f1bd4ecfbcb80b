"""The labels table's column names: the spellings each column is read under, and a warning
for a near miss (a misspelt `deodorant` column would otherwise keep the women it excludes)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from thermocad.utils.errors import CohortError
from thermocad.utils.progress import log

# Accepted spellings of each column, after lower-casing and turning spaces and dashes into "_".
ALIASES = {
    "patient_id": ("patient_id", "patient", "id", "patient_number"),
    "diagnosis": ("diagnosis", "label", "class"),
    "deodorant": ("deodorant",),
    "single_breast": ("single_breast", "mastectomy"),
    "age": ("age",),
    "acquisition_batch": ("acquisition_batch", "batch"),
    "acquisition_date": ("acquisition_date", "date", "acquired_on", "acquisition", "exam_date"),
}
# The study's filters a labels row can apply, by column: the women `prepare` leaves out.
LABEL_FILTERS = {"deodorant": "deodorant", "single_breast": "single breast"}
FILTERS = tuple(LABEL_FILTERS)
_SAID: set[tuple[str, str]] = set()  # (file, column) near misses warned of in this process


def column_key(name: str) -> str:
    """A column's name as ALIASES spells it: lower case, spaces and dashes as "_"."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def rename_columns(table: pd.DataFrame, csv: Path | str) -> pd.DataFrame:
    """Map accepted spellings to canonical names; the two required columns must be there. A
    column not read under any name but spelt close to one is named in a warning (it is kept
    as it is, as any other column)."""
    # A column without a header (R's row names, a pandas index, a trailing ",") is not read.
    table = table.loc[:, [not str(c).startswith("Unnamed: ") for c in table.columns]]
    table.columns = [unicodedata.normalize("NFC", c) if isinstance(c, str) else c
                     for c in table.columns]  # fmt: skip  # as read_labels' cells
    normal = {c: column_key(c) for c in table.columns}
    renames = {}
    for canonical, spellings in ALIASES.items():
        found = [c for c, n in normal.items() if n in spellings]
        if len(found) > 1:
            raise CohortError(f"{csv}: columns {found} all mean '{canonical}'; keep one")
        if found:
            renames[found[0]] = canonical
    missing = [c for c in ("patient_id", "diagnosis") if c not in renames.values()]
    if missing:
        # A thermal matrix given by mistake has one 'column' of hundreds of numbers: keep it short.
        found = [c if len(c) <= 40 else c[:37] + "..." for c in map(str, table.columns[:10])]
        more = f" and {len(table.columns) - 10} more" if len(table.columns) > 10 else ""
        also = "; ".join(f"{c}: {', '.join(ALIASES[c][1:])}" for c in missing)  # other names
        # predict's output given for the labels (a swapped-arguments review)
        own = "; it is predict's table of P(Sick), not a patient table" * (
            {"prob_sick", "decision"} <= set(map(str, table.columns)))  # fmt: skip
        raise CohortError(f"{csv}: missing required column(s) {missing} (also read as: {also});"
                          f" found {found}{more}{own}")  # fmt: skip
    _warn_near_misses([c for c in table.columns if c not in renames], set(renames.values()), csv)
    ordered = ["patient_id", "diagnosis"]
    table = table.rename(columns=renames)
    return table[ordered + [c for c in table.columns if c not in ordered]]


# What a near miss of these columns costs, said with its warning.
_MISSED = {"deodorant": "nothing is filtered or checked by it",
           "single_breast": "nothing is filtered or checked by it",
           "acquisition_date": "the women's dates come only from full DMR-IR file names, and "
                               "without them the period-matched figures are n/a",
           "acquisition_batch": "the women's batches come only from their files' formats (DMR-IR's A "
                                "and B)"}  # fmt: skip


def _warn_near_misses(others: list, read: set[str], csv: Path | str) -> None:
    """Warn, once per file and column in a process, for each column not read that is spelt
    like a filter, date or batch column this table lacks (a misspelt filter excludes nobody; a
    misspelt date leaves the period-matched figures without the women's dates)."""
    spellings = {s: canonical for canonical, names in ALIASES.items()
                 if canonical in _MISSED and canonical not in read for s in names}  # fmt: skip
    for column in others:
        # Nearer for a date or a batch, which a table may have beside it (acquisition_time).
        key = column_key(column)
        close = [c for c in difflib.get_close_matches(key, spellings, n=1, cutoff=0.8)
                 if spellings[c] in FILTERS or difflib.SequenceMatcher(None, key, c).ratio() >= 0.9]  # fmt: skip
        if close and (said := (str(csv), str(column))) not in _SAID:
            _SAID.add(said)
            canonical = spellings[close[0]]
            log(f"warning: {csv}: column {str(column)!r} is not read as {canonical!r} "
                f"(did you mean {close[0]!r}?); it is kept as an ordinary column, so "
                f"{_MISSED[canonical]}")  # fmt: skip
