"""The leak guard: no woman on two sides of a split, told by her number and by her files.

A split file is checked whenever it is written or read (`split.write_split`, `split.read_split`):
each woman in one split (and one fold), one label per woman, each file listed once, and a
DMR-IR file name's patient number the same as its row's `patient_id` (a row renumbered by hand
would otherwise pass a woman's image into another split under a new number).
"""

from __future__ import annotations

import os

import pandas as pd

from thermocad.io.filenames import patient_number
from thermocad.utils.errors import ConfigError, SplitLeakError
from thermocad.utils.progress import log

SPLITS = ("train", "valid", "test")


def check_no_leak(df: pd.DataFrame, source: str = "split") -> None:
    """Raise SplitLeakError if a patient is in two splits (or folds), a file is listed twice or
    a file's DMR name gives another patient than its row; image-level splits warn. A patient
    with both labels is refused as well: a woman is Healthy or Sick."""
    if not df["split"].isin(SPLITS).all():
        bad = sorted(set(df["split"]) - set(SPLITS))
        raise SplitLeakError(f"{source}: unknown split names {bad}; expected {SPLITS}")
    _check_files(df, source)
    shared = shared_patients(df)
    image_level = "split_unit" in df and (df["split_unit"] == "image").all()
    if shared and not image_level:
        raise SplitLeakError(
            f"{source}: {len(shared)} patients appear in more than one split or fold, e.g. "
            f"{shared[:10]}; splits must be by patient (use --unit image only to reproduce the study)"
        )
    labels = df.groupby("patient_id")["label"].nunique()
    if (labels > 1).any():
        both = labels[labels > 1].index.tolist()
        raise ConfigError(f"{source}: {len(both)} patients have rows labelled both Healthy "
                          f"and Sick, e.g. {both[:10]}; each woman has one label")  # fmt: skip


def warn_image_level(df: pd.DataFrame, source: str | os.PathLike) -> None:
    """Say so when a split read from a file is image-level with women on several sides."""
    if (
        "split_unit" in df
        and (df["split_unit"] == "image").all()
        and (n := len(shared_patients(df)))
    ):
        log(f"warning: {source} is an IMAGE-level split (split_unit=image, the 2019 study's "
            f"protocol): {n} patients have images in more than one split or fold, so its "
            "validation and test scores are optimistic")  # fmt: skip


def _check_files(df: pd.DataFrame, source: str) -> None:
    """Each file once, and under the patient number its DMR name gives (line numbers as read)."""
    paths = df["path"].astype(str).map(os.path.normpath)
    if (twice := paths.duplicated(keep=False)).any():
        rows = [int(i) + 2 for i in df.index[twice.to_numpy()][:4]]
        raise SplitLeakError(f"{source}: lines {rows} list the same file "
                             f"{df['path'].iloc[int(twice.to_numpy().argmax())]!r}; each "
                             "image is listed once")  # fmt: skip
    named = paths.map(patient_number)
    wrong = named.notna() & (named != df["patient_id"])
    if wrong.any():
        i = int(wrong.to_numpy().argmax())
        raise SplitLeakError(
            f"{source}: line {int(df.index[i]) + 2}: {df['path'].iloc[i]} is patient "
            f"{int(named.iloc[i])} by its file name but patient_id is {df['patient_id'].iloc[i]} "
            f"({int(wrong.sum())} such rows); a woman's images keep her number"
        )


def shared_patients(df: pd.DataFrame) -> list:
    """Patients found in more than one split, or more than one fold (sorted ids)."""
    column = df["split"].astype(str)
    if "fold" in df:
        column = column + "/" + df["fold"].astype(str)
    per_patient = column.groupby(df["patient_id"]).nunique()
    return sorted(per_patient[per_patient > 1].index.tolist())
