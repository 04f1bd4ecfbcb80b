"""Train/valid/test splits grouped by patient and stratified by label, with a leak guard."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.cohort.consistency import not_a_labels_table, warn_one_class
from thermocad.cohort.leaks import SPLITS, check_no_leak, shared_patients, warn_image_level
from thermocad.evaluation.periods import PERIOD, period_matched
from thermocad.io.find import not_a_thermal_name
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import atomic_write_csv, check_writable
from thermocad.utils.progress import log
from thermocad.utils.tables import as_text, read_table, require_columns
from thermocad.utils.values import check_value, is_number, is_whole

UNITS = ("patient", "image")


def _kept_rows(cohort_csv: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """The kept rows of cohort.csv (or of a cohort table), checked: one label per patient."""
    from thermocad.cohort.prepare import kept_rows

    if isinstance(cohort_csv, pd.DataFrame):
        df, cohort_csv = cohort_csv.copy(), "the cohort table"
        require_columns(df, cohort_csv, ("path", "patient_id", "label"))
    else:
        df = read_table(cohort_csv, "cohort file", "thermocad prepare", ("path", "patient_id",
                        "label"), keep_default_na=False, na_values=[""])  # fmt: skip
    if made := [c for c in ("split", "fold", "split_unit", PERIOD) if c in df.columns]:
        log(f"{cohort_csv} is already split: its {', '.join(made)} column(s) are made again")
        df = df.drop(columns=made)
    df = kept_rows(df)
    if df.empty:
        raise ConfigError(f"{cohort_csv}: no kept images to split")
    df = checked_rows(df, cohort_csv)  # excluded rows may lack an id; kept rows never may
    if ((mixed := df.groupby("patient_id")["label"].nunique()) > 1).any():
        raise ConfigError(f"{cohort_csv}: patients with both labels: "
                          f"{mixed[mixed > 1].index[:10].tolist()}")  # fmt: skip
    return df.reset_index(drop=True)


def checked_rows(df: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """The rows with integer patient ids ('T0001', '0001' and ' 1' are patient 1, so the leak
    guard sees one woman however her number is written) and labels Healthy or Sick; a blank
    or other value is refused naming its line (the row's index + 2: the table as read)."""
    digits = df["patient_id"].astype(str).str.strip()
    digits = digits.str.extract(r"^[Tt]?0*([0-9]{1,18})(?:\.0)?$", expand=False)
    for column, bad, wanted in (("patient_id", digits.isna(), "a patient number"),
                                ("label", ~df["label"].isin(["Healthy", "Sick"]), "Healthy or Sick")):  # fmt: skip
        if bad.any():
            row, value = df.index[bad.to_numpy()][0], df.loc[bad, column].iloc[0]
            what = f"{str(value)!r} is not {wanted}"
            if pd.isna(value):
                what = f"is empty (expected {wanted})"
            raise ConfigError(f"{source}: line {row + 2}: {column} {what}")
    return df.assign(patient_id=digits.astype("int64"))


def _targets(
    n: int, valid: float, test: float, counts: Sequence[int] | None
) -> tuple[float, float]:
    """Numbers of images wanted in (valid, test) for a class of n images."""
    if counts is not None:
        return float(counts[1]), float(counts[2])
    return valid * n, test * n


def _assign(
    groups: pd.Series,
    valid_n: float,
    test_n: float,
    rng: np.random.Generator,
    keep: int = 1,
    whole: bool = False,
) -> pd.Series:
    """Shuffle the groups and fill test, then valid, then train; a group goes where its middle
    falls, each group counted by its rows (images), or once (`whole`: targets in patients). A
    split asked for (target > 0) that no middle reached still gets one group when the class
    has one left for train beside it: 3 Sick women at 0.2/0.2 put one in each split
    instead of none in valid (the middles fall at 0.5, 1.5, 2.5 against cuts at 0.6 and 1.2).
    `keep`: the groups train must keep (the folds' count: each fold needs one of the class)."""
    sizes = groups.value_counts().sort_index()
    if whole:
        sizes[:] = 1
    order = sizes.index.to_numpy()[rng.permutation(len(sizes))]
    middle = sizes.loc[order].cumsum().to_numpy() - sizes.loc[order].to_numpy() / 2
    where = np.where(middle < test_n, "test", np.where(middle < test_n + valid_n, "valid", "train"))
    asked = [name for name, n in (("test", test_n), ("valid", valid_n)) if n > 0]
    if len(order) > len(asked):
        for name in asked:
            train = np.flatnonzero(where == "train")
            if name not in where and len(train) > keep:
                where[train[0]] = name
    return groups.map(dict(zip(order, where, strict=True)))


def _subsample(df: pd.DataFrame, per_class: dict[str, int], key: str, rng) -> pd.DataFrame:
    """Keep about `per_class[label]` images per class, drawing whole groups then trimming the last."""
    parts = []
    for label, part in df.groupby("label"):
        want = per_class[label]
        if len(part) < want:
            raise ConfigError(f"{want} {label} images requested but only {len(part)} are available")
        part = part.sort_values([key, "path"], kind="stable")  # the rows' order picks nothing
        chosen = part.set_index(key).loc[rng.permutation(part[key].unique())].reset_index()
        parts.append(chosen.iloc[:want])
    return pd.concat(parts, ignore_index=True)


def make_split(
    cohort_csv: str | os.PathLike | pd.DataFrame,
    valid: float = 0.2,
    test: float = 0.2,
    folds: int | None = None,
    seed: int = 0,
    unit: str = "patient",
    balance: bool = False,
    counts: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Split the kept cohort rows; returns them with `split` (and `fold`), reproducible for a seed."""
    check_options(valid, test, folds, unit, counts, seed)
    df = _kept_rows(cohort_csv)
    # Period-matched women: decided once, on the whole cohort, for every table of this split.
    df[PERIOD] = period_matched(df, own_range=True).to_numpy()
    columns = list(df.columns)
    rng = np.random.default_rng(seed)
    key = "patient_id" if unit == "patient" else "_image"
    # (patient, path) order, not row order: a reordered cohort splits alike at image level too
    df["_image"] = np.argsort(np.lexsort((df["path"].astype(str), df["patient_id"])))
    if balance or counts is not None:
        available = df["label"].value_counts()
        n = int(sum(counts)) if counts is not None else int(available.min())
        df = _subsample(df, dict.fromkeys(available.index, n), key, rng)
    df["split"] = ""
    # By patient, the fractions are of each class's women, each once however many frames she
    # has (a review of the full database's layout: sized by images, a test set asked to hold 2
    # Healthy and 2 Sick women of 20 held 1 to 7 and 1 to 5); --counts stay images.
    whole = unit == "patient" and counts is None
    for _label, part in df.groupby("label"):
        n = part[key].nunique() if whole else len(part)
        valid_n, test_n = _targets(n, 0.0 if folds else valid, test, counts)
        df.loc[part.index, "split"] = _assign(part[key], valid_n, test_n, rng, folds or 1, whole)
    if folds:
        _add_folds(df, folds, key, seed)
    warn_one_class(df, {"valid": 1.0 if folds else valid, "test": test}, counts)  # fold 0
    df["split_unit"] = unit
    df = df[columns + ["split"] + (["fold"] if folds else []) + ["split_unit"]]
    if unit == "image" and (shared := len(shared_patients(df))):
        log(
            f"WARNING: IMAGE-level split (the 2019 study's protocol): {shared} of "
            f"{df['patient_id'].nunique()} patients have images in more than one split or fold, so "
            "validation and test scores will be optimistic. Use --unit patient for honest numbers."
        )
    elif unit == "image":
        log("note: image-level split, but every patient's images fell on one side")
    check_no_leak(df)
    return df.sort_values(["split", "label", "patient_id", "path"]).reset_index(drop=True)


def check_options(valid, test, folds, unit, counts, seed) -> None:
    """Refuse split options make_split cannot honour, naming the option."""
    for name, value in (("valid", valid), ("test", test)):
        check_value(is_number(value), name, "a fraction in [0, 1)", value)
    check_value(folds is None or is_whole(folds), "folds", "a whole number, at least 2", folds)
    check_value(is_whole(seed) and seed >= 0, "seed", "a whole number, at least 0", seed)
    if unit not in UNITS:
        raise ConfigError(f"unknown split unit {unit!r}; choose one of {', '.join(UNITS)}")
    used = 0.0 if folds else valid  # with folds, valid is ignored (fold 0 is the valid split)
    if not (0 <= valid < 1 and 0 <= test < 1 and used + test < 1):
        raise ConfigError(
            f"valid={valid} and test={test} must be fractions in [0, 1) summing below 1"
        )
    check_value(folds is None or folds >= 2, "folds", "a whole number, at least 2", folds)
    if counts is not None and (isinstance(counts, str) or len(counts) != 3
                               or not all(map(is_whole, counts)) or min(counts) < 0 or counts[0] == 0):  # fmt: skip
        raise ConfigError(f"--counts (counts in Python) must be 3 whole numbers, train, valid and "
                          f"test images per class (train at least 1), got {counts!r}")  # fmt: skip


def _add_folds(df: pd.DataFrame, folds: int, key: str, seed: int) -> None:
    """Patient-grouped, label-stratified folds over non-test rows; fold 0 is the `valid` split."""
    from sklearn.model_selection import StratifiedGroupKFold

    rest = df.index[df["split"] != "test"]
    groups = df.loc[rest, key]
    advice = "use fewer --folds" + (" or a lower --test" if len(rest) < len(df) else "")
    if groups.nunique() < folds:
        unit = "patients" if key == "patient_id" else "images"
        raise ConfigError(f"{folds} folds need at least {folds} {unit} outside the test set; "
                          f"only {groups.nunique()}: {advice}")  # fmt: skip
    per_class = df.loc[rest].groupby("label")[key].nunique()
    if per_class.min() < folds:  # every fold must hold each class (stratified)
        raise ConfigError(f"{folds} folds need at least {folds} patients of each class outside "
                          f"the test set; {per_class.idxmin()} has {per_class.min()}: {advice}")  # fmt: skip
    df["fold"] = -1
    # One row a group: folds balanced in women (in images at image level), not in frames.
    one = df.loc[rest].drop_duplicates(key)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, held) in enumerate(splitter.split(one, one["label"], one[key])):
        df.loc[rest[groups.isin(one[key].iloc[held])], "fold"] = k
    df.loc[rest, "split"] = np.where(df.loc[rest, "fold"] == 0, "valid", "train")


def folds_of(df: pd.DataFrame) -> list[int]:
    """The cross-validation folds of a split table's non-test rows ([] without a fold column)."""
    if "fold" not in df.columns:
        return []
    dev = df[df["split"] != "test"] if "split" in df.columns else df
    return sorted(int(k) for k in dev["fold"].unique() if k >= 0)


def fold_rows(df: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fold k's training rows (the other folds) and validation rows (fold k); test rows in neither."""
    dev = df[df["split"] != "test"] if "split" in df.columns else df
    dev = dev[dev["fold"] >= 0]
    return dev[dev["fold"] != k], dev[dev["fold"] == k]


def with_folds(df: pd.DataFrame, folds: int, seed: int = 0) -> pd.DataFrame:
    """A copy of split rows re-divided into patient-grouped, stratified folds (fold 0 = valid);
    nested cross-validation draws its inner folds inside an outer training set this way."""
    out = df.copy()
    out["split"] = out["split"].where(out["split"] == "test", "train")
    _add_folds(out, folds, "patient_id", seed)
    return out


def write_split(df: pd.DataFrame, out_csv: str | os.PathLike, force: bool = False) -> Path:
    """Check for leaks and write split.csv atomically (refusing to overwrite without force)."""
    out = check_writable(out_csv, force=force)
    check_no_leak(df, str(out))
    return atomic_write_csv(out, df, replace=force)  # never over one written since the check


def read_split(csv: str | os.PathLike) -> pd.DataFrame:
    """Read split.csv and run the leak guard on it."""
    df = read_table(csv, "split file", "thermocad split", ("path", "patient_id", "label", "split"),
                    keep_default_na=False, na_values=[""])  # fmt: skip
    df = checked_rows(df, csv)
    out = as_text(df.get("excluded_reason", pd.Series(dtype=str))).str.strip()
    if out.ne("").any():  # (a forward-compatibility review: such a row had been trained on)
        row = df.index[out.ne("").to_numpy()][0]
        raise ConfigError(f"{csv}: line {row + 2}: excluded_reason is {out[row]!r}, but a split "
                          "holds only images prepare kept: split the cohort again, or empty "
                          "that cell to use the image")  # fmt: skip
    check_no_leak(df, str(csv))
    warn_image_level(df, csv)
    return df


def split_summary(df: pd.DataFrame) -> list[str]:
    """Lines: patients and images per split and class."""
    lines = []
    for name in SPLITS:
        part = df[df["split"] == name]
        if part.empty:
            continue
        per_class = ", ".join(
            f"{label} {len(rows)} images / {rows['patient_id'].nunique()} patients"
            for label, rows in part.groupby("label")
        )
        n = part["patient_id"].nunique()
        lines.append(f"{name}: {len(part)} images, {n} patients ({per_class})")
    if "fold" in df:
        sizes = df[df["fold"] >= 0].groupby("fold")["patient_id"].nunique()
        lines.append("patients per fold: " + ", ".join(f"{k}: {v}" for k, v in sizes.items()))
    shared = shared_patients(df)
    if shared:
        lines.append(f"patients on more than one side: {len(shared)}")
    return lines


def run_split(
    cohort_csv: str | os.PathLike, out_csv: str | os.PathLike, force: bool = False, **options
) -> pd.DataFrame:
    """make_split + write_split + a printed summary (what `thermocad split` does)."""
    if Path(out_csv).resolve() == Path(cohort_csv).resolve():  # --force would lose the cohort
        raise ConfigError(f"{out_csv}: is the cohort being split; write the split elsewhere")
    not_a_thermal_name(out_csv)  # --force would replace a thermogram with the table
    not_a_labels_table(out_csv, "split")  # or the labels
    # The options before the output: a user fixing one refusal does not meet the next.
    given = inspect.signature(make_split).bind(cohort_csv, **options)
    given.apply_defaults()  # make_split's own defaults, not a copy of them
    check_options(
        *(given.arguments[k] for k in ("valid", "test", "folds", "unit", "counts", "seed"))
    )
    check_writable(out_csv, force=force)
    df = make_split(cohort_csv, **options)
    write_split(df, out_csv, force=force)
    for line in split_summary(df):
        log(line)
    log(f"wrote {out_csv}")
    return df
