"""New women: a fitted model scored once on a labelled folder of women it never saw.

What an unseen-women check does (experiments/records/external_check.md), as one call: the
new women are prepared with the study's filters (`prepare_cohort`), every kept thermogram is scored at the threshold stored in
model.json, and the table says how the served model and, when it averages a CNN with the
baseline, each half alone did: patient AUC overall, within the two-class batch and
period-matched, with bootstrap intervals, and the served model's sensitivity and specificity
at the stored threshold (Wilson intervals). Beside it: the Healthy women's date and room
drift, the new women's confound audit, and how many of them stood in a room outside the
training women's. Every labelled woman is accounted for (evaluation.coverage): external.md
opens with how many were scored, per class, and lists the others with why; one left without a
score by a fault of the folder (no file, only unreadable ones, or ones in another unit than
the model's) is refused unless `allow_unscored`; women of one class only are refused always.

Women who trained the model are refused (its folder's trained_on.csv or split.csv, or an
exported model's metadata: evaluation.lockbox.run_patients): they are not new; so are files
that are its training files (byte for byte, or their frames saved again), whatever their
names (evaluation.trained_files). Each scoring
is a lockbox opening counted in a ledger beside the labels file
(LABELS.test_openings.jsonl, evaluation/lockbox.py): from the second model scored on the same
women, a choice among models made on them is no longer an unseen-women estimate.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from thermocad.evaluation.coverage import plural, scored_rows
from thermocad.evaluation.evaluate import (
    evaluate_predictions,
    halves_by_period,
    predict_split,
    write_plots,
)
from thermocad.evaluation.external_report import markdown
from thermocad.evaluation.metrics import proportion_intervals
from thermocad.evaluation.outputs import check_results, clear_results
from thermocad.evaluation.periods import period_columns
from thermocad.evaluation.shift import frames_outside, rooms_outside
from thermocad.models.words import log_model_warnings, model_name
from thermocad.utils.errors import CohortError, OutputExistsError, OutputPathError
from thermocad.utils.files import (
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_apart,
)
from thermocad.utils.progress import log
from thermocad.utils.random_state import keeps_random_state
from thermocad.utils.tables import fmt_ci, markdown_table, tidy

HALVES = {"cnn": "its CNN half alone", "baseline": "its baseline half alone"}


def external_table(result: dict) -> str:
    """The result as the unseen-women check tabulates it: one row per model, AUC by period, and the served
    model's sensitivity / specificity at the stored threshold."""
    batch = result["served"]["by_period"].get("primary_batch")
    head = ["model", "AUC (95% CI)", f"batch {batch}" if batch else "batch", "period-matched",
            "sensitivity", "specificity"]  # fmt: skip

    def cell(value, lo, hi, n=None, few: str = "") -> str:
        shown = fmt_ci(value, (lo, hi))
        if few and shown != "n/a" and "(" not in shown:  # no interval: say why
            shown += f" (no interval: {few})"
        return shown + (f", n={n}" if n is not None and shown != "n/a" else "")

    rows = []
    for name, periods, patient in _models(result):
        overall = periods["subsets"]["overall"]
        lo, hi = overall.get("ci") or (float("nan"), float("nan"))
        c = period_columns(periods)
        subsets = periods["subsets"]
        batch_few = _few(subsets.get(f"batch {batch}") or {"n": None}, result)
        period_few = _few(subsets.get("period-matched") or {"n": None}, result)
        cells = [name, cell(overall["roc_auc"], lo, hi, few=_few(overall, result)),
                 cell(c["batch_roc_auc"], c["batch_roc_auc_lo"], c["batch_roc_auc_hi"], c["batch_n"], batch_few),
                 cell(c["period_roc_auc"], c["period_roc_auc_lo"], c["period_roc_auc_hi"], c["period_n"], period_few)]  # fmt: skip
        for key in ("sensitivity", "specificity"):
            if patient is None:
                cells.append("")
                continue
            cells.append(
                cell(patient[key], *proportion_intervals(patient)[key])
            )  # n/a with no women
        rows.append(cells)
    return markdown_table(head, rows)


def _few(overall: dict, result: dict) -> str:
    """'fewer than 5 Sick women' when a class of the scored women is too small for a bootstrap
    interval (evaluation.metrics.MIN_PER_CLASS), else ''."""
    from thermocad.evaluation.metrics import too_few

    patient = result["served"].get("patient") or {}  # for the overall cell, when it lacks n
    n, sick = overall.get("n", patient.get("n")), overall.get("n_sick", patient.get("n_sick"))
    if n is None or sick is None:
        return ""
    return too_few({"Sick": sick, "Healthy": n - sick})


def _models(result: dict):
    """(name, by_period, patient metrics or None) for the served model and its halves."""
    yield result["model"] + " (served)", result["served"]["by_period"], result["served"]["patient"]
    for key, name in HALVES.items():
        if key in result["halves"]:
            yield name, result["halves"][key], None


def score_predictions(pred: pd.DataFrame, threshold: float, model: str, n_boot: int = 1000) -> dict:
    """What `external_table` shows, from new women's predictions: the served model's metrics at
    `threshold` and, when `pred` has `prob_cnn` / `prob_baseline`, each half's AUC by period."""
    halves = halves_by_period(pred, n_boot)
    served = evaluate_predictions(pred, threshold, n_boot=n_boot)
    return {"model": model, "threshold": threshold, "served": served, "halves": halves}


def _check_given(data_dir, labels_csv) -> None:
    """A missing folder or table, said as such (not as a ledger that cannot be written)."""
    from thermocad.io.labels import labels_file

    labels_file(labels_csv, "evaluate --data", "the ledger of test openings is kept beside it")
    for given, what in ((data_dir, "data folder"), (labels_csv, "labels file")):
        if not Path(given).exists():
            raise CohortError(f"{given}: no such {what} (--data DIR --labels LABELS.csv: the new "
                              "women's thermograms and their diagnoses)")  # fmt: skip


@keeps_random_state
def evaluate_external(
    run_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    labels_csv: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    tta: bool | None = None,
    force: bool = False,
    n_boot: int = 1000,
    device: str = "auto",
    ledger: str | os.PathLike | None = None,
    numbered_apart: bool = False,
    allow_unscored: bool = False,
) -> dict:
    """Score the model in `run_dir` once on the labelled women of `data_dir`; write OUT
    (default RUN/external_<folder>): cohort/, predictions.csv, metrics.json, external.md and
    the plots. Returns metrics.json's content with the table under "table". A labelled woman
    left without a score by a fault of the folder (no file, an unreadable one) is refused
    before anything is scored unless `allow_unscored` (evaluation.coverage)."""
    from thermocad.utils.lock import folder_lock
    from thermocad.utils.values import check_path

    for name, path in (("run_dir", run_dir), ("data_dir", data_dir)):  # labels: _check_given
        check_path(name, path)
    check_path("out_dir", out_dir, "none")
    check_path("ledger", ledger, "none")
    run_dir = Path(run_dir)
    _check_given(data_dir, labels_csv)
    out = _out_path(run_dir, data_dir, out_dir)
    with folder_lock(out):  # one evaluation writes a folder at a time: two at once mixed them
        _check_out(out, data_dir, bool(out_dir), force)
        return _score_into(out, run_dir, data_dir, labels_csv, tta, force, n_boot, device,
                           ledger, numbered_apart, allow_unscored)  # fmt: skip


def _score_into(out: Path, run_dir: Path, data_dir, labels_csv, tta, force: bool, n_boot: int,
                device: str, ledger, numbered_apart: bool, allow_unscored: bool) -> dict:  # fmt: skip
    """evaluate_external's work, into `out`, which this process holds."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.evaluation.lockbox import check_unseen, ledger_path, record_opening
    from thermocad.evaluation.model_identity import model_identity
    from thermocad.inference.loading import load_model
    from thermocad.io.labels import read_labels
    from thermocad.models.words import synthetic_women_note

    book = ledger_path(labels_csv, ledger)  # the opening is counted, or nothing is scored
    bundle = load_model(run_dir, device)  # a bad model fails before the folder is read
    log_model_warnings(bundle.meta)
    threshold = float(bundle.threshold)  # the calls and the ledger: as predict makes them
    labels = read_labels(labels_csv)
    apart = _numbered_apart(bundle.meta, run_dir, data_dir, labels, numbered_apart)
    check_unseen(labels["patient_id"], run_dir, labels_csv, numbered_apart=numbered_apart)
    clear_results(out)
    prepare_cohort(data_dir, labels_csv, out / "cohort", force=force)
    rows, cohort, women = scored_rows(labels, bundle.unit, data_dir, labels_csv, out,
                                      allow_unscored)  # fmt: skip
    log(f"external: scoring {plural(rows['patient_id'].nunique(), 'new woman', 'new women')} "
        f"({plural(len(rows), 'file', 'files')}) with {run_dir.name} at its stored threshold "
        f"{threshold:.4f}")  # fmt: skip
    pred = predict_split(bundle, rows, tta=tta)
    result = score_predictions(pred, threshold, model_name(bundle.meta), n_boot)
    for part in (result, result["served"]):  # written without float noise; called as it is
        if isinstance(part.get("threshold"), float):
            part["threshold"] = tidy(part["threshold"])
    result.update(women=women, run=str(run_dir), data=str(data_dir), labels=str(labels_csv),
                  numbered_apart=apart, **_context(bundle, tta, rows, cohort))  # fmt: skip
    if said := synthetic_women_note(bundle.meta, rows["path"]):  # a result that reads as real
        log(f"warning: {said}")
        result["model_warnings"].append(said)
    result["lockbox"] = record_opening(book, pred, str(run_dir),
                                       result["served"]["patient"]["roc_auc"], threshold,
                                       model_identity(bundle.meta, bundle.views(tta)))  # fmt: skip
    result["table"] = external_table(result)
    result["plots"] = write_plots(pred, threshold, out, unit=bundle.unit, on="new")
    atomic_write_csv(out / "predictions.csv", pred)
    atomic_write_json(out / "metrics.json", result)
    atomic_write_text(out / "external.md", markdown(result))
    log(f"wrote {out / 'external.md'}")
    return {**result, "out_dir": str(out)}  # where it went: for the caller, not metrics.json


def _numbered_apart(meta: dict, run_dir: Path, data_dir, labels, given: bool) -> dict:
    """metrics.json's `numbered_apart`: whether the user set the check against the training
    women aside (--numbered-apart) and how many labelled patient numbers are also training
    women's. First, files that are the model's own training files are refused whatever
    their numbers (evaluation.trained_files)."""
    from thermocad.evaluation.lockbox import seen_patients
    from thermocad.evaluation.trained_files import check_not_training_files, synthetic_note

    check_not_training_files(meta, run_dir, data_dir, labels["patient_id"])
    seen = seen_patients(run_dir)  # empty: the run keeps no record, so not known (None)
    shared = len(set(labels["patient_id"].astype(int).astype(str)) & seen) if seen else None
    if not given:
        synthetic_note(meta, run_dir, data_dir, shared)
    return {"given": bool(given), "shared_with_training": shared}


def _context(bundle, tta, rows: pd.DataFrame, cohort: pd.DataFrame) -> dict:
    """What metrics.json says beside the figures: the views averaged, where the threshold was
    chosen, the rooms, the new women's confound audit."""
    from thermocad.evaluation.confounds import audit_notes, confound_audit
    from thermocad.evaluation.periods import dated_women
    from thermocad.inference.notes import tta_row_note
    from thermocad.inference.provenance import run_record
    from thermocad.models.words import not_a_model_warning

    audit = confound_audit(cohort)
    return {
        "scored_by": run_record(bundle),  # which model (its file's digest), run how, and when
        # a smoke run, a model of synthetic women, one its own CV found of no use: as predict
        "model_warnings": not_a_model_warning(bundle.meta).splitlines(),
        "tta": bundle.views(tta),  # the augmented copies each prediction averaged
        "tta_note": tta_row_note(bundle.meta, tta, bundle.views(tta)),  # scored without them
        "threshold_chosen_on": (bundle.meta.get("threshold_provenance") or {}).get("chosen_on"),
        "rooms": rooms_outside(rows, bundle.meta),
        "frames_outside": frames_outside(rows, bundle.meta),  # the skin, the sharpness
        "dated": dated_women(rows),  # who can be period-matched
        "confound_audit": audit.to_dict(orient="records"),
        "audit_notes": audit_notes(audit),
    }


def _out_path(run_dir: Path, data_dir, out_dir) -> Path:
    """evaluate_external's output folder: `out_dir`, or RUN/external_<data folder's name>
    (beside an exported .onnx file), outside the data."""
    home = run_dir if run_dir.is_dir() else run_dir.parent
    out = Path(out_dir) if out_dir else home / f"external_{Path(data_dir).resolve().name}"
    if not out_dir and home.is_dir() and not out.exists() and not os.access(home, os.W_OK):
        raise OutputPathError(f"{out}: cannot write the default --out inside the model's "
                              f"folder {home}; give --out a writable folder")  # fmt: skip
    check_apart(out, data_dir)
    return out


def _check_out(out: Path, data_dir, given: bool, force: bool) -> None:
    """Before any work: not another command's folder (a model's, a study's), nor an earlier
    evaluation's unless `force` (`given`: the folder was named, not the default)."""
    from thermocad.utils.files import OWN_FILES, maker

    if (other := maker(out)) or any((out / name).exists() for name in OWN_FILES):
        raise OutputExistsError(f"{out}: is the folder of a thermocad {other or 'run'}, not "
                                "an evaluation's; --out names a folder of its own")  # fmt: skip
    if not force and (out / "cohort").exists():  # an earlier evaluation, maybe interrupted
        default = "" if given else (f", the default folder for data in a folder named "
                                      f"{Path(data_dir).resolve().name}")  # fmt: skip
        what = ("an earlier evaluation" if (out / "metrics.json").exists()
                else "an evaluation stopped before its metrics.json")  # fmt: skip
        raise OutputExistsError(f"{out} holds {what}{default}; --force replaces it, --out "
                                "writes elsewhere (for other women, e.g. another site's)")  # fmt: skip
    check_results(out, force)
