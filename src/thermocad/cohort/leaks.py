"""The leak guard: no woman on two sides of a split, told by her number and by her files.

A split file is checked whenever it is written or read (`split.write_split`, `split.read_split`):
each woman in one split (and one fold), one label per woman, no file under two women or on
two sides, and no file whose DMR-IR name gives one woman's number among another's rows on
another side than hers (a row renumbered by hand would otherwise pass her image into another
split under a new number).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from thermocad.io.filenames import patient_number
from thermocad.utils.errors import ConfigError, SplitLeakError
from thermocad.utils.progress import log

SPLITS = ("train", "valid", "test")
_WARNED: set[str] = set()  # the image-level splits said so in this process


def check_no_leak(df: pd.DataFrame, source: str = "split") -> None:
    """Raise SplitLeakError if a patient is in two splits (or folds), or one of her files is
    elsewhere (`_check_files`); image-level splits pass (`warn_image_level` says so). A
    patient with both labels is refused as well: a woman is Healthy or Sick."""
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


def women_across(df: pd.DataFrame) -> int:
    """How many women an image-level split (split_unit=image) puts on more than one side
    (split or fold): 0 for a split by patient, whose guard refuses any."""
    if "split_unit" not in df or not (df["split_unit"] == "image").all():
        return 0
    return len(shared_patients(df))


def warn_image_level(df: pd.DataFrame, source: str | os.PathLike) -> None:
    """Say so, once per file in a process (compare reads its split many times), when a split
    read from a file is image-level with women on several sides."""
    key = os.path.abspath(source)
    if key in _WARNED:
        return
    if n := women_across(df):
        _WARNED.add(key)
        log(f"warning: {source} is an IMAGE-level split (split_unit=image, the 2019 study's "
            f"protocol): {n} patients have images in more than one split or fold, so its "
            "validation and test scores are optimistic")  # fmt: skip


def _check_files(df: pd.DataFrame, source: str) -> None:
    """No file on two sides or under two women, and no file named for one woman (its DMR
    name) among another's rows on another side than hers (line numbers as read). A file whose
    name gives a number the split holds no woman of is left alone: `prepare` numbers a linked
    file by the link's name and stores the file it points to."""
    paths, side = df["path"].astype(str).map(os.path.normpath), _sides(df)
    owner = side + " " + df["patient_id"].astype(str)
    per = owner.groupby(paths).nunique()  # the same file twice for one woman on one side: no leak
    if (per > 1).any():
        twice = paths.isin(per[per > 1].index)
        rows = [int(i) + 2 for i in df.index[twice.to_numpy()][:4]]
        raise SplitLeakError(f"{source}: lines {rows} list the same file "
                             f"{df['path'][twice].iloc[0]!r} under two women or on two sides; "
                             "each image belongs to one woman, on one side")  # fmt: skip
    named = paths.map(patient_number)
    sides = side.groupby(df["patient_id"]).agg(set)
    for i in np.flatnonzero((named.notna() & (named != df["patient_id"])).to_numpy()):
        hers = sides.get(int(named.iloc[i]))
        if hers is not None and hers != {side.iloc[i]}:
            raise SplitLeakError(
                f"{source}: line {int(df.index[i]) + 2}: {df['path'].iloc[i]} is patient "
                f"{int(named.iloc[i])}'s by its file name, but sits as patient "
                f"{df['patient_id'].iloc[i]} in {side.iloc[i]} while patient "
                f"{int(named.iloc[i])} is in {', '.join(sorted(hers))}; a woman's images keep "
                "her number and her side"
            )


def shared_patients(df: pd.DataFrame) -> list:
    """Patients found in more than one split, or more than one fold (sorted ids)."""
    per_patient = _sides(df).groupby(df["patient_id"]).nunique()
    return sorted(per_patient[per_patient > 1].index.tolist())


def _sides(df: pd.DataFrame) -> pd.Series:
    """Each row's side: its split, and its fold where the table has folds ("train/2")."""
    side = df["split"].astype(str)
    return side + "/" + df["fold"].astype(str) if "fold" in df else side
