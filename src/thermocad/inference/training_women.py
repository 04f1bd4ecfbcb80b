"""predict's notes on the files of women a model was trained on, counted for the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thermocad.inference.notes import NO_TEST_RESULT, training_note
from thermocad.models.words import synthetic_training


def note_training_women(table, run_dir: Path | None, meta: dict[str, Any] | None) -> None:
    """Note (in place, in the `note` column) each file of a woman the model trained on: by
    her DMR-IR patient number (the training record of its run folder or .onnx file, `run_dir`;
    None: no record to read), or by its bytes (model.json's `trained_files`: a copy under any
    name or number); and say in the log how many. A model of synthetic women shares numbers
    with real women who are someone else: those are counted apart."""
    from thermocad.evaluation.lockbox import seen_patients
    from thermocad.evaluation.trained_files import has_record
    from thermocad.utils.progress import log

    seen = seen_patients(run_dir) if run_dir is not None else frozenset()
    if not seen and not has_record(meta or {}) and (meta or {}).get("arch"):
        log("note: this model keeps no record of the women it trained on (an older thermocad's "
            "model): a file of one of them is not recognised, and her P(Sick) would be no "
            "held-out score")  # fmt: skip
    counts = {"bytes": 0, "frame": 0, "number": 0}
    for i, file in enumerate(table["file"] if seen or has_record(meta or {}) else []):
        note, kind = training_file_note(file, seen, meta)
        if note:
            counts[kind] += 1
            table.at[i, "note"] = "; ".join(n for n in (note, table.at[i, "note"]) if n)  # first
    of = f"of {len(table)} file(s)"
    if copies := counts["bytes"] + counts["frame"]:
        log(f"note: {copies} {of} are files this model was trained on, byte for byte or saved "
            "again (their note says whose): their P(Sick) is no held-out score")  # fmt: skip
    if counts["number"] and synthetic_training(meta or {}) == "synthetic":  # as training_note
        log(f"note: {counts['number']} {of} share a patient number with a synthetic patient "
            "this model was trained on: a real woman's file is someone else's (their note)")  # fmt: skip
    elif counts["number"]:
        log(f"note: {counts['number']} {of} have the patient number of a woman this model was "
            "trained on (their note): if they are the same women, their P(Sick) is no "
            "held-out score")  # fmt: skip


def training_file_note(file, seen: frozenset[str], meta: dict[str, Any] | None,
                       array=None) -> tuple[str, str]:  # fmt: skip
    """The note on one file of a woman the model trained on, and how she was known: ("...",
    "bytes") when the file is byte for byte a training file, ("...", "frame") when it holds a
    training file's frame saved again (model.json's `trained_files`; `array`: the frame, when
    already read), ("...", "number") when only its patient number is among `seen`
    (notes.training_note), ("", "") otherwise. predict's table and the app's answer both."""
    from thermocad.evaluation.trained_files import same_file, training_patient

    if found := training_patient(file, meta or {}, array):
        pid, how = found
        again = "" if how == "bytes" else ", saved again"
        return (f"{same_file(how)} a file of training patient {pid}{again} (the model's record "
                f"of its training files): whatever its name, {NO_TEST_RESULT}"), how  # fmt: skip
    note = training_note(file, seen, meta)
    return note, "number" if note else ""
