"""A split table whose files have gone since it was made: refused at once, counted, before
anything trains or is scored (compare, train and evaluate alike; a review found train and
evaluate stopping at the first missing file, with no count)."""

from __future__ import annotations

import os
import re

import pandas as pd

from thermocad.utils.errors import ConfigError


def check_split_paths(split_df: pd.DataFrame, split_csv) -> None:
    """ConfigError naming the first of the rows' files that is not a readable file (moved,
    deleted, another machine's paths) and how many are."""
    missing = [p for p in split_df["path"] if not (os.path.isfile(p) and os.access(p, os.R_OK))]
    if missing:
        are = "is" if len(missing) == 1 else "are"
        why, todo = _why(str(missing[0]))
        raise ConfigError(f"{split_csv}: {len(missing)} of its {len(split_df)} files {are} missing "
                          f"or unreadable, e.g. {missing[0]} ({why}); {todo}")  # fmt: skip


def check_split_table(split: pd.DataFrame, rows: pd.DataFrame, subgroup: str | None, name) -> None:
    """A split table's `subgroup` column (utils.tables.check_subgroup_column) and the files of
    the `rows` to score."""
    from thermocad.utils.tables import check_subgroup_column

    check_subgroup_column(split, subgroup, name)
    check_split_paths(rows, name)


def _why(path: str) -> tuple[str, str]:
    """What a missing file's path may say, and what to do: another system's (C:\\data\\T0002.txt
    on Linux), relative (read from the folder thermocad runs in, not the table's), or moved."""
    again = "prepare and split the data where it now is (a new split draws other test women)"
    if os.sep == "/" and (re.match(r"[A-Za-z]:[\\/]", path) or ("\\" in path and "/" not in path)):
        return "a Windows path, which this system cannot open", again
    if not os.path.isabs(path):
        return (f"a relative path is read from the folder thermocad runs in, {os.getcwd()}",
                "run thermocad from the folder the paths start from, or write whole paths")  # fmt: skip
    return "moved since the split was made?", f"put them back, or {again}"
