"""prepare's checks across the whole cohort: one file against the others, the labels against
the files; and the guard that keeps predict and split off a labels table (not_a_labels_table).
A file cut at the end of a line reads as a smaller matrix, which no check of the file alone can
tell from a smaller camera's frame; among the cohort's frames it is the odd one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from thermocad.utils.errors import CohortError
from thermocad.utils.tables import as_text

MIXED_SHAPES_FLAG = "--allow-mixed-shapes"  # prepare_cohort(allow_mixed_shapes=True)
SHOWN = 5  # patients named in a note


def check_labels_match(data_dir, labels_csv, labelled: set[int]) -> set[int]:
    """Refuse labels naming none of the data's women (another cohort's) before any write;
    returns the patient numbers the data folder's file names give."""
    from thermocad.io.filenames import patient_number
    from thermocad.io.find import walk_thermal_files
    from thermocad.io.labels import labels_name

    if Path(data_dir).is_file():
        raise CohortError(f"{data_dir}: is a file; give the folder that holds the thermal files")
    if not Path(data_dir).is_dir():
        raise CohortError(f"{data_dir}: data folder not found")
    # The files the walk that reads them will find (it reports what it skips; this is silent).
    names = walk_thermal_files(data_dir, say=False)[0]
    numbers = {n for n in map(patient_number, names) if n is not None}
    if numbers and labelled and not numbers & labelled:
        raise CohortError(f"{labels_name(labels_csv)}: names none of the {len(numbers)} patients of {data_dir} "
                          f"(their numbers run {min(numbers)}-{max(numbers)}, the labels' "
                          f"{min(labelled)}-{max(labelled)}): another cohort's table?")  # fmt: skip
    both = len(numbers & labelled)
    if numbers and 2 * both < len(numbers) and 2 * both < len(labelled):  # a labels review:
        # row numbers for ids gave 42 of 120 women another woman's diagnosis, with no error
        gapless = labelled == set(range(1, len(labelled) + 1))
        rows = (
            f" (they run 1 to {len(labelled)} without a gap, as row numbers do)" if gapless else ""
        )
        raise CohortError(f"{labels_name(labels_csv)}: only {both} of its {len(labelled)} women "
                          f"have a file in {data_dir}, and only {both} of the {len(numbers)} women there "
                          f"have a label. Patient ids must be the numbers in the file names (T0012 "
                          f"is 12){rows}; if they are, keep only the rows of this folder's women")  # fmt: skip
    return numbers


def _kept(table: pd.DataFrame) -> pd.Series:
    return as_text(table["excluded_reason"]) == ""


def _shape(table: pd.DataFrame) -> pd.Series:
    return table["height"].astype(int).astype(str) + "x" + table["width"].astype(int).astype(str)


def cohort_shape(table: pd.DataFrame) -> str | None:
    """The kept images' most common frame size ("480x640"); a tie goes to the larger frame (a
    file cut short is smaller), then to the size met first. None when nothing is kept."""
    kept = table[_kept(table) & table["height"].notna() & table["width"].notna()]
    if kept.empty:
        return None
    shapes = _shape(kept).reset_index(drop=True)
    counts = shapes.value_counts()

    def rank(shape: str) -> tuple[int, int, int]:
        height, width = map(int, shape.split("x"))
        return -int(counts[shape]), -height * width, int(shapes.eq(shape).idxmax())

    return min(counts.index, key=rank)


def exclude_odd_shapes(table: pd.DataFrame, allow: bool) -> None:
    """Exclude (in place) the kept images whose frame size is not the cohort's, naming both
    sizes, unless `allow` (another camera on purpose): a file cut at a line end is one of them,
    and it would train or be scored as a whole thermogram."""
    common = cohort_shape(table)
    if allow or common is None:
        return
    rows = _kept(table) & table["height"].notna() & table["width"].notna()
    shapes = _shape(table[rows])
    odd = shapes[shapes != common]
    if odd.empty:
        return
    table["excluded_reason"] = table["excluded_reason"].astype(object)
    table.loc[odd.index, "excluded_reason"] = [
        f"frame size {shape} unlike the cohort's {common}: a file cut short at the end of a "
        f"line, or another camera? ({MIXED_SHAPES_FLAG} keeps it)"
        for shape in odd
    ]


def _patients(ids) -> str:
    ids = sorted({int(i) for i in ids})
    return ", ".join(map(str, ids[:SHOWN])) + (", ..." if len(ids) > SHOWN else "")


def clear_mixed_batches(table: pd.DataFrame) -> str:
    """'' or a line on the women whose files give different batches (the text format of one
    file says A, another's B: re-saved copies, another export): their batch is unknown, so it
    is cleared on all their rows (in place) instead of taken from whichever file comes first;
    they then count in no batch's table."""
    rows = table[_kept(table) & table["patient_id"].notna() & table["acquisition_batch"].notna()]
    kinds = rows.groupby("patient_id")["acquisition_batch"].nunique()
    if not (mixed := kinds[kinds > 1].index).size:
        return ""
    table.loc[table["patient_id"].isin(mixed), "acquisition_batch"] = float("nan")
    return (f"warning: acquisition batches: the files of {len(mixed)} patient(s) ({_patients(mixed)}) "
            "give different batches (their text formats differ), so theirs is left empty and "
            "they count in no batch's table; give acquisition_batch in the labels to set it")  # fmt: skip


def settle_batches(table: pd.DataFrame, labels: pd.DataFrame) -> str:
    """The batches of a cohort table settled (`clear_mixed_batches`, in place), and '' or the
    lines on what was done: `batch_note`'s and that one's."""
    return "\n".join(n for n in (clear_mixed_batches(table), batch_note(table, labels)) if n)


def batch_note(table: pd.DataFrame, labels: pd.DataFrame) -> str:
    """'' or a line saying how many kept images took their batch from the file's text format
    (no acquisition_batch in the labels, or an empty cell there), and whose."""
    kept = table[_kept(table) & table["patient_id"].notna()]
    if "acquisition_batch" in labels:
        given = as_text(labels.set_index("patient_id")["acquisition_batch"])
    else:
        given = pd.Series(dtype=str)
    theirs = as_text(kept["patient_id"].astype(int).map(given))
    filled = kept[(theirs == "") & as_text(kept["acquisition_batch"]).ne("")]
    if filled.empty:
        return ""
    how = "the file's text format gave it, as in DMR-IR (space-separated: A, semicolon: B)"
    if "acquisition_batch" not in labels:
        return (f"acquisition batches: the labels have no acquisition_batch column, so for the "
                f"{len(filled):,} kept images {how}; for other data, add the column to the "
                "labels")  # fmt: skip
    return (f"acquisition batches: {len(filled):,} kept images have no acquisition_batch in the "
            f"labels (patients {_patients(filled['patient_id'])}), so {how}; fill those cells "
            "to set it yourself")  # fmt: skip


def date_note(table: pd.DataFrame) -> str:
    """'' or a line on the images whose labels' acquisition_date differs by more than a day
    from the date in their file name (`acquired`): the labels' is used, said once."""
    both = table[table["acquired"].notna() & table["acquisition_date"].notna()]
    if both.empty:
        return ""
    named = pd.to_datetime(both["acquired"].astype(str).str[:10], errors="coerce")
    labelled = pd.to_datetime(both["acquisition_date"].astype(str).str[:10], errors="coerce")
    apart = both[(named - labelled).abs() > pd.Timedelta(days=1)]
    if apart.empty:
        return ""
    first = apart.iloc[0]
    name, label = named[apart.index], labelled[apart.index]  # wrong only in order: a locale
    swapped = bool(((name.dt.day == label.dt.month) & (name.dt.month == label.dt.day)).all())
    return ("warning: " * swapped + f"acquisition dates: for {len(apart):,} images (patients "
            f"{_patients(apart['patient_id'])}) the labels' acquisition_date differs by more "
            f"than a day from the file name's (e.g. patient {int(first['patient_id'])}: "
            f"{str(first['acquisition_date'])[:10]} in the labels, {str(first['acquired'])[:10]} "
            "in the name); the labels' is used (cohort.csv: acquisition_date; the name's: "
            "acquired)" + ("; in each, day and month are swapped: were the labels' dates read "
                           "month first? Correct them, or leave the cells empty to take the "
                           "names'" if swapped else ""))  # fmt: skip


UNLABELLED = "patient not in labels"  # the reason a file of a woman not labelled is left out


def same_frames(table: pd.DataFrame, numbers: str = "other") -> list[str]:
    """Kept files that hold one another's frame (byte for byte, or saved again: other line
    endings, gzipped, .npy), one 'a = b' per set of such files: under another patient number
    (`numbers` "other": one woman under two numbers), or all under one ("same": a copy,
    T0002.txt beside T2.txt, counted twice)."""
    from thermocad.io.digest import file_digest, file_frame_digest

    kept = table[_kept(table) & table["patient_id"].notna()]
    digests = kept["path"].astype(str).map(lambda p: file_frame_digest(p) or file_digest(p))
    ids = kept["patient_id"].astype(int).groupby(digests)
    sets = ids.nunique() > 1 if numbers == "other" else (ids.nunique() == 1) & (ids.size() > 1)
    shared = digests[digests.isin(sets.index[sets])]
    return [" = ".join(Path(p).name for p in kept.loc[group.index, "path"].astype(str))
            for _, group in shared.groupby(shared, sort=False)]  # fmt: skip


def same_frames_note(table: pd.DataFrame) -> str:
    """'' or a warning naming kept files that hold the frame of a file of another patient
    number: one woman under two numbers, whom a split by patient would put on two sides and
    an evaluation would count twice."""
    notes = []
    for numbers, what, why in (
        ("other", "copies of files of another patient number", "one woman under two numbers would be "
         "split onto two sides, or counted twice by an evaluation; remove the copy or correct "
         "its number"),
        ("same", "copies of a file of the same patient number", "her image would count twice "
         "in training and in every per-image figure; remove the copy"),
    ):  # fmt: skip
        if pairs := same_frames(table, numbers):
            files = sum(len(pair.split(" = ")) for pair in pairs)
            more = f" and {len(pairs) - SHOWN} more" if len(pairs) > SHOWN else ""
            notes.append(f"WARNING: {files:,} kept files are {what}, byte for byte or "
                         f"saved again ({', '.join(pairs[:SHOWN])}{more}): {why}")  # fmt: skip
    return "\n".join(notes)


def unknown_views(kept: pd.DataFrame) -> int:
    """How many kept images have no view in their file name (a short name, T0042.txt), which
    prepare keeps as frontal, unchecked; `thermocad synth`'s own short names (frontal by
    construction) are not counted."""
    from thermocad.synth.files import synthetic_share

    short = kept.loc[kept["view"] == "unknown", "path"].astype(str).tolist()
    return round(len(short) * (1 - synthetic_share(short)))


def class_note(patients: dict[str, int], labelled: int, unmatched: int) -> str:
    """'' or prepare's warning on a kept cohort with one class only, or fewer than 2 women of a
    class (`patients`: kept women per class), saying how many of the labels' `labelled` women
    a file matched (`unmatched`: those none did): labels of another folder, or a part of it."""
    few = [c for c in ("Healthy", "Sick") if patients.get(c, 0) < 2]
    if not few or not any(patients.values()):  # nothing kept: prepare refuses it, saying so
        return ""
    held = " and ".join(f"{patients.get(c, 0):,} {c}" for c in ("Healthy", "Sick"))
    return (f"warning: the kept cohort holds {held} women: too few {' and '.join(few)} women to "
            "train on or to measure a model on (a model, and an AUC, need women of both "
            f"classes, at least 2 of each); {labelled - unmatched:,} of the labels' "
            f"{labelled:,} women matched a file here: do the labels cover these files' women, "
            "of both diagnoses?")  # fmt: skip


def warn_one_class(df: pd.DataFrame, fractions: dict[str, float], counts) -> None:
    """split's warning of a split asked for that holds one class only: its AUC is undefined.
    A cohort of one class is said as such, once."""
    from thermocad.utils.progress import log

    if len(held := set(df["label"])) == 1:
        (only,) = held
        other = "Sick" if only == "Healthy" else "Healthy"
        log(f"WARNING: the cohort holds no {other} women at all (only {df['patient_id'].nunique():,} "
            f"{only}): no split of it can train or test a model that tells them apart; prepare "
            "it with labels of both classes")  # fmt: skip
        return
    for k, name in enumerate(fractions, start=1):
        asked = counts[k] if counts is not None else fractions[name]
        part = df[df["split"] == name]
        missing = sorted({"Healthy", "Sick"} - set(part["label"]))
        if asked and missing:
            have = df[df["label"] == missing[0]]["patient_id"].nunique()
            log(f"WARNING: {name} holds no {missing[0]} patient (the cohort has {have}): its AUC "
                "is undefined; add women of that class, or change --valid/--test or --folds")  # fmt: skip


def not_a_labels_table(path: str | os.PathLike, command: str) -> None:
    """Refuse to write over a patient table, --force or not: a CSV whose header names a patient
    and a diagnosis column in any spelling read_labels accepts, and no `path` or `file` column
    (the tables thermocad writes name each woman's files, or hold no diagnosis). Such a file
    is a user's labels: `--out DATA/labels.csv --force` would lose them."""
    import re

    from thermocad.io.label_columns import ALIASES, column_key
    from thermocad.utils.errors import OutputExistsError

    path = Path(path)
    if not path.is_file():  # none there, or a pipe (opening it would wait for a writer)
        return
    try:
        with open(path, "rb") as fh:
            header = fh.readline(8192).decode("utf-8-sig", "replace")
    except OSError:  # unreadable: check_writable says what it must
        return
    names = {column_key(n.strip().strip("\"'")) for n in re.split(r"[,;\t]", header)}
    ours = names & {"path", "file"}
    if not ours and all(names & set(ALIASES[c]) for c in ("patient_id", "diagnosis")):
        raise OutputExistsError(f"{path}: is a patient table (its header names patients and "
                                f"their diagnosis); {command} never writes over one, even with "
                                "--force: choose another --out")  # fmt: skip


def odd_shapes(kept: pd.DataFrame) -> list[str]:
    """'name: HxW' of the kept images whose size is not the most common one."""
    if kept.empty or not {"height", "width"} <= set(kept.columns):
        return []
    shape = kept["height"].astype(int).astype(str) + "x" + kept["width"].astype(int).astype(str)
    odd = kept[shape != shape.mode().iloc[0]]
    return [f"{Path(p).name}: {s}" for p, s in zip(odd["path"], shape[odd.index], strict=True)]
