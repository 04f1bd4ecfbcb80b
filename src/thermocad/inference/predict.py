"""Predict P(Sick) for thermal files and folders with a trained model bundle."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from thermocad.inference.collect import FileFailure, collect_files
from thermocad.inference.tables import COLUMNS, file_row
from thermocad.io.find import resolved
from thermocad.models.words import UNIT_WORDS, tta_views
from thermocad.utils.errors import ThermalFormatError, ThermocadError

if TYPE_CHECKING:
    import pandas as pd

    from thermocad.inference.onnx import OnnxModel
    from thermocad.io.thermal import Thermogram
    from thermocad.models.bundle import ModelBundle

T = TypeVar("T")
FORMATS = ("csv", "json")
# How a file of another unit is scored anyway, in a refusal; the web page and /score say their
# own way instead (answer.answer_file, score.score_upload).
ALLOW_HINT = "pass --allow-unit-mismatch (allow_unit_mismatch=True in Python)"


def check_unit(thermogram: Thermogram, model_unit: str, allow_mismatch: bool = False) -> None:
    """Refuse input whose unit differs from the model's (e.g. an 8-bit image for a celsius model)."""
    if thermogram.unit == model_unit or allow_mismatch:
        return
    if model_unit == "celsius":
        what = "holds image intensities, not temperatures (°C), but the model was trained on temperatures"
        use = "Use the original thermal matrix"
    else:  # a grey-image model given a thermal matrix (a review: told to use the matrix)
        held, trained = (UNIT_WORDS.get(u, f"{u} values") for u in (thermogram.unit, model_unit))
        what = f"holds {held} but the model was trained on {trained}"
        use = "Use an 8/16-bit grey image exported as the training images were"
    raise ThermalFormatError(
        f"{thermogram.path}: {what}; its predictions would be meaningless. "
        f"{use}, or {ALLOW_HINT} to score it anyway"
    )


def _checked(
    path: Path, result: Thermogram | ThermocadError, unit: str, allow: bool
) -> Thermogram | FileFailure:
    """A read result, or the reason it cannot be predicted (read error, unit, implausible)."""
    from thermocad.preprocess.plausible import check_plausible

    try:
        if isinstance(result, ThermocadError):
            raise result
        check_unit(result, unit, allow)
        check_plausible(result)
    except ThermocadError as exc:
        return FileFailure(str(path), str(exc))
    return result


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def predict_bundle(
    bundle: ModelBundle | OnnxModel,
    files: Sequence[Path],
    tta: bool | None = None,
    allow_unit_mismatch: bool = False,
    batch_size: int = 16,
    workers: int | None = None,
) -> tuple[pd.DataFrame, list[FileFailure]]:
    """Predict `files` with an already loaded bundle; unreadable files are returned as errors."""
    import pandas as pd

    from thermocad.inference.loading import is_onnx
    from thermocad.inference.notes import tta_note, tta_row_note
    from thermocad.inference.provenance import run_record
    from thermocad.io.thermal import iter_read
    from thermocad.utils.progress import log, progress

    if note := tta_note(bundle.meta, tta, bundle.views(tta)):
        log(note)
    row_note = tta_row_note(bundle.meta, tta, bundle.views(tta))  # in each row, as the log says
    if tta and tta_views(bundle.meta) and is_onnx(bundle):
        from thermocad.utils.extras import require

        # TTA views are made with torch's grid_sample: say so before any file, not after.
        require("torch", extra="train", what="PyTorch (test-time augmentation, --tta)")
    if workers is None:  # a process pool only pays off once there are several files to parse
        workers = None if len(files) >= 8 else 1
    rows: list[dict] = []
    errors: list[FileFailure] = []
    # A pipeline: reader threads parse the next files, one thread prepares the next batch
    # (evaluation transform, baseline features) while this one runs the network on the last.
    record = run_record(bundle)  # what scored them, and when: in every row
    results = progress(iter_read(files, workers=workers), desc="predicting files", total=len(files))
    pending: tuple[list[Thermogram], Future] | None = None
    with ThreadPoolExecutor(max_workers=1) as prep:
        for batch in _batches(results, max(1, batch_size)):
            checked = [_checked(path, res, bundle.unit, allow_unit_mismatch) for path, res in batch]
            errors.extend(c for c in checked if isinstance(c, FileFailure))
            good = [c for c in checked if not isinstance(c, FileFailure)]
            if good:  # the first batch prepared here, where its first imports happen: a
                # Ctrl+C inside one had left the thread of a later call waiting for ever on
                # Python's import lock (a notebook review)
                job = prep.submit(_prepared, bundle, good) if pending else _now(bundle, good)
                ready, pending = pending, (good, job)
                rows.extend(_predicted(bundle, ready, tta, record, row_note))
        rows.extend(_predicted(bundle, pending, tta, record, row_note))
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype({"patient_id": "Int64"})
    table["note"] = table["note"].astype(object).where(table["note"].notna(), None)  # not NaN
    return table, errors


def _now(bundle: ModelBundle | OnnxModel, good: list[Thermogram]) -> Future:
    """_prepared run in this thread, as a finished Future."""
    done: Future = Future()
    try:
        done.set_result(_prepared(bundle, good))
    except Exception as exc:  # noqa: BLE001 - raised where the Future is read, as a thread's
        done.set_exception(exc)
    return done


def _prepared(bundle: ModelBundle | OnnxModel, good: list[Thermogram]):
    """The batch's network inputs, its baseline P(Sick) (None without the ensemble) and each
    file's notes (inference/notes.py: room, view)."""
    import numpy as np

    from thermocad.inference.notes import input_note, void_note

    arrays, units = [t.array for t in good], [t.unit for t in good]
    maps = np.stack([bundle.transform.prepare(t.array, t.unit) for t in good])
    base = None if bundle.baseline is None else bundle.baseline.predict_arrays(arrays, units)
    return maps, base, [(input_note(bundle.meta, t), bool(void_note(bundle.meta, t))) for t in good]


def _predicted(bundle, ready, tta: bool | None, record: dict, also: str = "") -> list[dict]:
    """The rows of a prepared batch (none for None): the network runs here. `record`:
    tables.run_record's; `also`: a note for every row, after each file's own."""
    if ready is None:
        return []
    good, future = ready
    maps, base, notes = future.result()
    cnn = bundle.predict_maps(maps, None, tta=tta)  # the CNN's alone, then the ensemble's mean
    probs, halves = (
        bundle.average(cnn, base),
        [cnn, base if base is not None else [None] * len(cnn)],
    )
    return [file_row(Path(t.path), float(p), bundle, record,
                     "; ".join(n for n in (note, also) if n), void, (c, b))
            for t, p, c, b, (note, void) in zip(good, probs, *halves, notes, strict=True)]  # fmt: skip


def predict_paths(
    run_dir: str | os.PathLike | ModelBundle,
    paths: Iterable[str | os.PathLike],
    tta: bool | None = None,
    allow_unit_mismatch: bool = False,
    batch_size: int = 16,
    workers: int | None = None,
    device: str = "auto",
) -> tuple[pd.DataFrame, list[FileFailure]]:
    """Predict every thermal file in `paths` (folders recursed) with the model in `run_dir` (a
    run folder or an exported .onnx file) or an already loaded model."""
    bundle, home = _model(run_dir, device)
    files, errors = collect_files(paths)
    return _predict_files(bundle, home, files, errors, tta, allow_unit_mismatch, batch_size,
                          workers)  # fmt: skip


def _model(run_dir, device: str):
    """The model to predict with, and where its training record is: the folder (or .onnx file)
    given, or the one a loaded model came from."""
    from thermocad.inference.loading import load_model

    if isinstance(run_dir, str | os.PathLike):
        return load_model(run_dir, device), Path(run_dir)
    return run_dir, getattr(run_dir, "path", None)


def _predict_files(bundle, home: Path | None, files: list[Path], errors: list[FileFailure],
                   tta: bool | None, allow_unit_mismatch: bool, batch_size: int = 16,
                   workers: int | None = None) -> tuple[pd.DataFrame, list[FileFailure]]:  # fmt: skip
    """predict_paths() once the model is loaded and its files collected (`errors`: the paths
    that held none); `home`: where the model's training record is (None: nowhere)."""
    from thermocad.inference.copies import note_same_frames
    from thermocad.inference.tables import notes_summary
    from thermocad.inference.training_women import note_training_women
    from thermocad.models.words import edited_threshold_note as edited
    from thermocad.models.words import log_model_warnings, synthetic_women_note
    from thermocad.utils.progress import log

    log_model_warnings(bundle.meta)
    if note := edited(bundle.meta):
        log(f"note: {note}")
    table, read_errors = predict_bundle(
        bundle, files, tta, allow_unit_mismatch, batch_size=batch_size, workers=workers
    )
    note_training_women(table, home, bundle.meta)
    if copies := note_same_frames(table):
        log(f"note: {copies} file(s) hold the frame of another file given (their note names it)")
    for note in (synthetic_women_note(bundle.meta, files), notes_summary(table)):
        if note:
            log(f"note: {note}")
    return table, errors + read_errors


def failure_line(err: FileFailure) -> str:
    """`failed: FILE: REASON`, without repeating FILE when the reason already starts with it."""
    reason = err.error if err.error.startswith(err.file) else f"{err.file}: {err.error}"
    return f"failed: {reason}"


def run_predict(
    run_dir: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    tta: bool | None = None,
    allow_unit_mismatch: bool = False,
    force: bool = False,
    device: str = "auto",
    fmt: str = "csv",
) -> int:
    """CLI entry: predict, write the tables, list failures; returns 1 if any file failed."""
    from thermocad.cohort.consistency import not_a_labels_table
    from thermocad.inference.loading import ONNX_IN_RUN
    from thermocad.inference.tables import output_paths, write_predictions
    from thermocad.models.bundle import META, WEIGHTS
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.files import check_writable
    from thermocad.utils.progress import log

    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {FORMATS}")
    if str(out) == "-":  # not stdout: the failures and per-patient tables go beside it
        raise ConfigError("--out -: give a file name (predict writes its error and per-patient "
                          "tables beside it)")  # fmt: skip
    # The model first: given the data folder in its place, the error says so before the model
    # folder is walked as thermograms.
    bundle, home = _model(run_dir, device)
    files, problems = collect_files(paths)
    if not files:  # nothing to predict: said before any file is written
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise ConfigError("nothing to predict: " + "; ".join(
            failure_line(e).removeprefix("failed: ") for e in problems[:3]) + more)  # fmt: skip
    given = {resolved(p) for p in paths}
    home = resolved(home)  # a run folder: its model's files; an .onnx file: itself
    model = {home / n for n in (META, WEIGHTS, ONNX_IN_RUN)} | {home}
    for path in output_paths(out, fmt).values():
        if resolved(path) in given:  # --force or not: the input would become its own predictions
            raise ConfigError(f"{path}: is one of the files to predict; give --out another name")
        if resolved(path) in model:  # --force or not: the model would become its predictions
            raise ConfigError(f"{path}: is the model's own file; give --out another name")
        not_a_labels_table(path, "predict")  # --force or not: the user's labels
        check_writable(path, force)  # fail before the slow part, not after it
    table, errors = _predict_files(bundle, home, files, problems, tta, allow_unit_mismatch)
    written = write_predictions(table, errors, out, force=force, fmt=fmt)
    for err in errors:
        log(failure_line(err))
    log(f"{len(table)} file{'s' if len(table) != 1 else ''} predicted, {len(errors)} failed -> "
        f"{', '.join(map(str, written.values()))}")  # fmt: skip
    log("research software, not a diagnosis: thermography is an adjunct to mammography")
    # stdout names the tables written, the predictions last (every file failed: the errors)
    for kind, key in (("errors", "errors"), ("predictions", "files")):
        if key in written:
            print(f"{kind}: {written[key]}")
    return 1 if errors else 0
