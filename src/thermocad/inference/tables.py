"""The tables `predict` writes: per file, per patient (when a patient has several files) and
the files that failed, as CSV or JSON records, atomically and never over existing results."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.inference.notes import NO_CALL, NO_TEST_RESULT, called, deciding_half
from thermocad.inference.provenance import content_sha256
from thermocad.io.filenames import name_view, patient_number
from thermocad.models.meta import DIGEST  # model.json's weights digest (no model code)
from thermocad.models.words import model_name, table_warning

if TYPE_CHECKING:
    import pandas as pd

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle


# prob_cnn and prob_baseline: the two halves prob_sick averages (empty for a CNN alone), as the
# app and explain show them.
# What an auditor reads later: which model (model_sha256: its model.json's or .onnx file's, as
# `sha256sum` gives it), what ran it and when, and the input's bytes (file_sha256).
COLUMNS = ("file", "patient_id", "prob_sick", "decision", "threshold", "prob_cnn", "prob_baseline",
           "model", "weights_sha256", "model_sha256", "model_warning", "engine",
           "thermocad_version", "scored_utc", "file_sha256", "note")  # fmt: skip


def file_patient(path: Path) -> int | None:
    """The patient number of a file's name as given, else (a link named "latest.txt") of the
    file it links to; None where neither is a DMR-IR name."""
    from thermocad.io.find import resolved

    number = patient_number(path, copies=True)
    return number if number is not None else patient_number(resolved(path), copies=True)


def file_row(path: Path, prob: float, bundle: ModelBundle | OnnxModel, record: dict,
             note: str = "", void: bool = False, halves: tuple = (None, None),
             content: Path | None = None) -> dict:  # fmt: skip
    """One file's output row; `record`: run_record's; `content`: where the file's bytes are,
    if not at `path` (an upload's copy); `note` empty (null in the output) unless there is one; `void`:
    the note says the score means nothing (notes.void_note), so no decision (notes.NO_CALL).
    Where the mean's halves fall on two sides of the threshold, the note says whose call it
    is, as `explain` and the app do."""
    if not void and halves[1] is not None:
        call = called(prob, bundle.threshold)
        if whose := deciding_half(bundle.threshold, (halves[0],), (halves[1],), call):
            split = (f"the two halves disagree: this call is the {whose}'s alone (CNN "
                     f"{float(halves[0]):.4f}, baseline {float(halves[1]):.4f})")  # fmt: skip
            note = "; ".join(filter(None, [note, split]))
    return {
        "file": str(path),
        "patient_id": file_patient(path),
        "prob_sick": round(prob, 6),
        "decision": called(prob, bundle.threshold, not void) or NO_CALL,
        "threshold": bundle.threshold,
        "prob_cnn": None if halves[1] is None else round(float(halves[0]), 6),
        "prob_baseline": None if halves[1] is None else round(float(halves[1]), 6),
        "model": model_name(bundle.meta),  # ARCH+baseline for the default ensemble
        "weights_sha256": bundle.meta.get(DIGEST),  # which model: its model.json's, or None
        "model_sha256": record["model_sha256"],
        "model_warning": table_warning(bundle.meta),  # a smoke run, synthetic women, ...
        **{key: record[key] for key in ("engine", "thermocad_version", "scored_utc")},
        "file_sha256": content_sha256(content or path),
        "note": note or None,
    }


def copy_name(file) -> str:
    """A file's name as a copy of it keeps it: without its suffix and a copy's mark, in lower
    case (T0501.npy, T0501.txt.gz and T0501 (1).txt alike)."""
    from thermocad.io.filenames import without_copy_mark
    from thermocad.io.find import strip_suffix

    return strip_suffix(without_copy_mark(Path(str(file)).name)).lower()


def patient_table(table: pd.DataFrame, failed: Sequence[int | None] = ()) -> pd.DataFrame:
    """predict's per-patient table: one row per patient, mean P(Sick) over their files and the
    decision at the threshold (unlike evaluation.metrics.aggregate_patients, which averages
    every image of a labelled split, it leaves out files without a call and copies).

    A file without a call (decision "no call": a lateral view, or another unit let through; the
    model says nothing about it, inference/notes.py) is left out of the mean and counted in
    the row's note; a patient with only such files gets no P(Sick) and the decision "no call".
    Files with other notes (the room) count, and the note says how many there are, as it says
    how many of her files were not analysed (`failed`: the patient number of each of predict's
    errors). A copy (a
    file of the same name, its suffix and a copy's mark aside, and the same P(Sick) as another
    of hers: in another folder, downloaded twice, or saved in another format) counts once.
    """
    import pandas as pd

    from thermocad.inference.notes import view_note
    from thermocad.utils.tables import as_text

    known = table.dropna(subset=["patient_id"]).reset_index(drop=True)  # labels: positions
    void = known["decision"].eq(NO_CALL) if "decision" in known else False
    lateral = known["file"].map(lambda f: bool(view_note(f))) | void
    noted = as_text(known.get("note", pd.Series(None, index=known.index))).astype(bool)
    name = known["file"].map(copy_name)
    copy = pd.DataFrame(
        {"id": known["patient_id"], "name": name, "p": known["prob_sick"]}
    ).duplicated()
    unread = pd.Series(list(failed), dtype="Int64").value_counts()
    rows = []
    for pid, files in known.groupby("patient_id", sort=True):
        used = files[~lateral[files.index] & ~copy[files.index]]
        prob = round(float(used["prob_sick"].mean()), 6) if len(used) else None
        threshold = files["threshold"].iloc[0]
        decision = NO_CALL if prob is None else ("Sick" if prob >= threshold else "Healthy")
        copies = int((copy & ~lateral)[files.index].sum())  # among the files that had a call
        left_out = int(lateral[files.index].sum())
        # a training woman's note (training_file_note) on any of her files: said first here
        trained = as_text(files.get("note", pd.Series(index=files.index, dtype=object)))
        notes = [
            "her files say she is one of the women this model was trained on: her P(Sick) "
            "is no test result"
        ] * bool(trained.str.contains(NO_TEST_RESULT, regex=False).any())
        notes += [f"{left_out} file(s) without a call left out"] * (left_out > 0)
        notes += [f"{copies} copy(ies) of a file counted once"] * (copies > 0)
        if (others := int((noted[used.index]).sum())) > 0:
            notes.append(f"{others} file(s) with a note in the per-file table")
        if (lost := int(unread.get(pid, 0))) > 0:  # a clinical reading: a call on part of her
            notes.append(f"{lost} file(s) not analysed (the errors table): her call is of the rest")
        notes += _hidden_by_the_mean(used, threshold) + _visits(used)
        rows.append({"patient_id": pid, "n_files": len(used), "prob_sick": prob,
                     "decision": decision, "threshold": threshold,
                     "model": files["model"].iloc[0],
                     **{key: files.get(key, pd.Series([None])).iloc[0]
                        for key in ("weights_sha256", "model_sha256")},
                     "model_warning": files.get("model_warning", pd.Series([None])).iloc[0],
                     "note": "; ".join(notes) or None})  # fmt: skip
    columns = ["patient_id", "n_files", "prob_sick", "decision", "threshold", "model",
               "weights_sha256", "model_sha256", "model_warning", "note"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype({"patient_id": "Int64"})


def _hidden_by_the_mean(used: pd.DataFrame, threshold: float) -> list[str]:
    """What one row for a patient number hides (a hazard review: two sites' women of one
    number were averaged into one Healthy call, a Sick call among them): files whose calls
    differ, and the folders they come from when more than one (then maybe two women)."""
    calls = used["decision"].eq("Sick") if "decision" in used else used["prob_sick"] >= threshold
    sick = int(calls.sum())  # each file's own call: on its P(Sick) before rounding
    if not 0 < sick < len(used):
        return []
    note = (f"her files' calls differ ({sick} Sick, {len(used) - sick} Healthy): read each in "
            "the per-file table")  # fmt: skip
    folders = sorted({Path(str(f)).parent for f in used["file"]})
    if len(folders) > 1:
        shown = ", ".join(f.name or str(f) for f in folders[:2]) + ", ..." * (len(folders) > 2)
        note += (f"; they come from {len(folders)} folders ({shown}), taken as one woman by "
                 "her number: if they are two women, predict them apart")  # fmt: skip
    return [note]


def _visits(used: pd.DataFrame) -> list[str]:
    """A note when her files' DMR-IR names give more than one day: her row is a mean over
    visits, and a follow-up imaged a year on is a reading of its own."""
    days = sorted({name.acquired[:10] for f in used["file"]
                   if (name := name_view(str(f))) and name.acquired})  # fmt: skip
    if len(days) < 2:
        return []
    shown = ", ".join(days[:3]) + ", ..." * (len(days) > 3)
    return [f"her files were imaged on {len(days)} days ({shown}): her P(Sick) is a mean over "
            "visits; read each visit in the per-file table"]  # fmt: skip


def output_paths(out: str | os.PathLike, fmt: str = "csv") -> dict[str, Path]:
    """Where predictions, the per-patient table and the error list go, beside `out`."""
    from thermocad.io.find import not_a_thermal_name
    from thermocad.utils.errors import ConfigError

    out = Path(out)
    not_a_thermal_name(out, fmt)
    if out.suffix.lower() in (".csv", ".json") and out.suffix.lower() != f".{fmt}":
        raise ConfigError(f"{out}: the name says {out.suffix[1:]}, the format is {fmt}; "
                          f"name it .{fmt} or give --format {out.suffix[1:].lower()}")  # fmt: skip
    stem = out.with_suffix("") if out.suffix else out
    return {
        "files": out,
        "patients": stem.with_name(f"{stem.name}_patients.{fmt}"),
        "errors": stem.with_name(f"{stem.name}_errors.{fmt}"),
    }


def _write_table(path: Path, table: pd.DataFrame, fmt: str, force: bool) -> Path:
    """CSV, or JSON records with the same fields (missing values as null); not `force`: never
    over a file written since the check (another predict to the same --out)."""
    import json

    from thermocad.utils.files import atomic_write_csv, atomic_write_json
    from thermocad.utils.out_names import printable_name
    from thermocad.utils.tables import tidy

    if "threshold" in table:  # written without float noise; the calls were made before
        table = table.assign(threshold=table["threshold"].map(tidy))
    if fmt == "csv":
        return atomic_write_csv(path, table, replace=force)
    # A file name that is not UTF-8 is written with its odd bytes escaped, as in the CSV.
    names = {c: table[c].map(printable_name) for c in ("file", "error") if c in table}
    records = json.loads(table.assign(**names).to_json(orient="records"))
    return atomic_write_json(path, records, replace=force)


def write_predictions(
    table: pd.DataFrame,
    errors: Sequence[tuple[str, str]],  # predict's FileFailure (file, error) pairs
    out: str | os.PathLike,
    force: bool = False,
    fmt: str = "csv",
) -> dict[str, Path]:
    """Write the per-file table, plus per-patient and error tables when there is something to
    say, as CSV or (fmt="json") JSON records; no per-file table when no file was predicted (a
    header alone says nothing). With `force`, an earlier run's table this run does not write
    is removed, and said, so that no file contradicts this run; the last run's stay where
    this one cannot be written whole."""
    import pandas as pd

    from thermocad.cohort.consistency import not_a_labels_table
    from thermocad.utils.files import check_writable
    from thermocad.utils.out_names import shortened
    from thermocad.utils.progress import log
    from thermocad.utils.trees import place_new

    targets = output_paths(out, fmt)
    for path in targets.values():
        not_a_labels_table(path, "predict")
        check_writable(path, force)
    read = table.dropna(subset=["patient_id"])["patient_id"].tolist()  # hers: read or not
    failed = [file_patient(Path(f)) for f, _ in errors]
    files = pd.Series(read + failed, dtype="Int64")
    several = files.value_counts().loc[lambda n: n.index.isin(read)].gt(1).any()
    frames = {
        "files": table if len(table) else None,
        "patients": patient_table(table, failed) if several else None,
        "errors": pd.DataFrame(list(errors), columns=["file", "error"]) if errors else None,
    }
    # This run's tables are written beside their names first, then moved in: a full disk or a
    # stop while writing leaves the last run's as they were (a resource review: --force had
    # removed them first), and with --force an earlier run's table this run has nothing for goes.
    staged = {}
    try:
        for key, frame in frames.items():
            if frame is not None:
                name = f".{shortened(targets[key].name, 200)}.{os.getpid()}.new"
                staged[key] = _write_table(targets[key].with_name(name), frame, fmt, True)
        for key, path in targets.items():  # all written: the stale go before the moves
            if force and key not in staged and path.is_file():
                path.unlink()
                log(f"note: removed {path}, an earlier run's, which this run has nothing for")
        for key, tmp in staged.items():  # not --force: never over a table written meanwhile
            if force:
                os.replace(tmp, targets[key])
            else:
                place_new(tmp, targets[key])
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    if len(table) and (unnamed := int(table["patient_id"].isna().sum())):
        where = f"are not in {targets['patients'].name}" if several else "have none"
        log(f"note: {unnamed} file(s) whose names give no patient number (T0001...) {where}; "
            "their rows' patient_id is empty")  # fmt: skip
    return {key: targets[key] for key in staged}


def notes_summary(table: pd.DataFrame) -> str:
    """'' or predict's line counting the files whose row has a note (its `note` column)."""
    n = int(table["note"].notna().sum()) if "note" in table else 0
    return "" if not n else (
        f"in all, {n} of {len(table)} file(s) have a note in the note column (the room, the "
        "view, the size or sharpness, a training file, halves that disagree...): read their "
        "P(Sick) with it")  # fmt: skip
