"""`thermocad fit`: a labelled folder -> the final model for users, with the CV that chose it.

prepare -> patient-grouped K-fold cross-validation of the default procedure (`train()` per
fold) -> `choose_from_oof` makes every choice the procedure makes on the pooled out-of-fold
predictions (today the decision threshold) -> `train(..., fold="all")` on every woman. The
run folder is what `predict`, `explain`, `serve` and `export` take; it also keeps the CV
(cv/oof_predictions.csv, cv/metrics.json) and each stage's seconds (model.json's cv.seconds).

`resume=True` continues an interrupted fit: the cohort and split it wrote are kept, finished
fold runs are reused, an interrupted one continues from its checkpoint (`train(resume=True)`:
the head stage on cached features starts again, so the weights are those of a fit never
stopped), and so does the final training. It refuses other options, another version, or data
changed since it began (fit_resume.json, `training/fit_resume.py`, keeps them till it ends).
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from thermocad.evaluation.resume import record as job_record
from thermocad.fit_checks import check_fold_size, check_labels, check_temperatures, cv_warnings
from thermocad.training.fit_resume import check_unchanged, fingerprint, resumable

if TYPE_CHECKING:
    from thermocad.training.config import TrainConfig
from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.files import (
    FIT_RESUME,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    check_apart,
    prepare_out_dir,
)
from thermocad.utils.lock import writes_folder
from thermocad.utils.progress import Laps, log
from thermocad.utils.random_state import keeps_random_state
from thermocad.utils.stops import clear_stops
from thermocad.utils.trees import remove_tree

DEFAULT_FOLDS = 5


def choose_from_oof(oof: pd.DataFrame, target_sensitivity: float | None = None) -> dict:
    """Every choice the default procedure makes, from its pooled out-of-fold predictions:
    today only the decision threshold on P(Sick), the highest reaching `target_sensitivity`
    (None: TARGET_SENSITIVITY, recorded as the target used)."""
    from thermocad.evaluation.thresholds import check_target, choose_patient_threshold
    from thermocad.io.labels import with_y

    target = check_target(target_sensitivity)
    threshold = choose_patient_threshold(with_y(oof), target)
    return {"threshold": float(threshold), "target_sensitivity": target}


def _cross_validate(split_csv: Path, out: Path, config, resume: bool = False) -> pd.DataFrame:
    """The default procedure trained per fold; its pooled out-of-fold predictions."""
    from thermocad.cohort.split import read_split
    from thermocad.evaluation.runs import run_arch
    from thermocad.training.run import train

    # The fold runs live in fit's own folder, which prepare_out_dir vetted (empty or --force).
    res = run_arch(config.arch, read_split(split_csv), out / "cv", config,
                   partial(train, force=True), resume=resume)  # fmt: skip
    return res["pred"]


def _cv_record(oof: pd.DataFrame, choice: dict, folds: int, seed: int, n_boot: int,
               out: Path) -> dict:  # fmt: skip
    """Write cv/oof_predictions.csv and cv/metrics.json; return what model.json records."""
    from thermocad.evaluation.evaluate import evaluate_predictions, halves_by_period
    from thermocad.evaluation.metrics import proportion_intervals
    from thermocad.evaluation.periods import period_columns
    from thermocad.evaluation.wrong_calls import wrong_calls
    from thermocad.utils.values import clean_json

    metrics = evaluate_predictions(oof, choice["threshold"], n_boot=n_boot, seed=seed)
    halves = halves_by_period(oof, n_boot, seed)
    metrics.update(folds=folds, seed=seed, choices=choice, halves=halves)
    atomic_write_csv(out / "cv" / "oof_predictions.csv", oof)
    atomic_write_json(out / "cv" / "metrics.json", metrics)
    pat = metrics["patient"]
    return clean_json({
        "folds": folds, "seed": seed, "patients": pat["n"],
        "patient_roc_auc": pat["roc_auc"], "patient_roc_auc_ci": pat["bootstrap_ci"].get("roc_auc"),
        "sensitivity": pat["sensitivity"], "specificity": pat["specificity"],
        **{f"{k}_ci": proportion_intervals(pat).get(k) for k in ("sensitivity", "specificity")},
        "counts": pat["counts"], "brier": pat["brier"],
        **{k: pat[k] for k in ("calibration_slope", "calibration_intercept")},
        **{f"{k}_ci": pat["bootstrap_ci"].get(k) for k in ("calibration_slope", "brier")},
        **period_columns(metrics["by_period"]),
        "healthy_date_drift": metrics["by_period"].get("healthy_date_drift"),
        "healthy_room_drift": metrics["by_period"].get("healthy_room_drift"),
        "wrong_calls": wrong_calls(oof, choice["threshold"]),
        "halves": {k: {"patient_roc_auc": v["subsets"]["overall"]["roc_auc"],
                       "patient_roc_auc_ci": v["subsets"]["overall"].get("ci"), **period_columns(v)}
                   for k, v in metrics["halves"].items()},
        "details": "cv/metrics.json", "predictions": "cv/oof_predictions.csv",
    })  # fmt: skip


def _summary(cv: dict) -> str:
    """One log line: the served model's out-of-fold AUCs, and its halves' within the batch."""

    def auc(row: dict, key: str) -> str:
        value = row.get(key)
        return "n/a" if value is None or value != value else f"{value:.3f}"

    line = (f"fit: out-of-fold patient AUC {auc(cv, 'patient_roc_auc')}, batch "
            f"{cv.get('batch') or '-'} {auc(cv, 'batch_roc_auc')}, period-matched "
            f"{auc(cv, 'period_roc_auc')}")  # fmt: skip
    halves = cv.get("halves") or {}
    if halves:
        line += "; within the batch, " + ", ".join(
            f"{name} alone {auc(row, 'batch_roc_auc')}" for name, row in halves.items()
        )
    return line


def _room_stress(oof: pd.DataFrame, folds_dir: Path, threshold: float) -> dict | None:
    """The Healthy women re-rendered in a cool and a warm room (evaluation/room.py), logged."""
    from thermocad.evaluation.room import room_stress

    stress = room_stress(oof, lambda k: folds_dir / f"fold{k}", threshold)
    if stress:
        cool, warm = stress["rooms"]
        log(f"fit: room stress: of the {stress['n_healthy']} Healthy women, "
            f"{stress['own']['called_sick']} called Sick in their own rooms, "
            f"{cool['called_sick']} re-rendered at {cool['room']:.1f} °C and "
            f"{warm['called_sick']} at {warm['room']:.1f} °C")  # fmt: skip
    return stress


def _record(out: Path, cv: dict, choice: dict, folds: int, labels_csv) -> None:
    """Add the CV metrics, the threshold's provenance and the labelled women without files to
    model.json (and its model card)."""
    from thermocad.io.labels import read_labels
    from thermocad.reporting.hub_card import write_model_card

    meta_path = out / "model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["cv"] = cv
    found = set(pd.read_csv(out / "cohort" / "cohort.csv")["patient_id"].dropna().astype(int))
    labelled = set(read_labels(labels_csv)["patient_id"].astype(int))
    meta.setdefault("data", {})["labelled_without_files"] = sorted(labelled - found)
    meta["threshold_provenance"] = {
        **choice,
        "chosen_on": f"pooled out-of-fold predictions of a {folds}-fold patient-grouped "
        "cross-validation of this procedure (thermocad fit); the model itself trained on every woman",
    }
    atomic_write_json(meta_path, meta)
    # The card written by training had nothing held out to report: now it has the CV.
    write_model_card(out, meta, pd.read_csv(out / "split.csv"), None)


@keeps_random_state
@writes_folder("out_dir")
def fit(
    data_dir: str | os.PathLike,
    labels_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int | None = None,
    force: bool = False,
    n_boot: int = 1000,
    resume: bool = False,
) -> Path:
    """Prepare, cross-validate the default procedure, choose from its out-of-fold predictions,
    train on every woman; returns the run folder (model.safetensors + model.json + cv/).
    `seed` draws the folds, the training and the bootstrap (default: the config's, else 0).
    `resume`: continue the interrupted fit in `out_dir` (the same data, labels and options)."""
    from thermocad.io.labels import labels_file
    from thermocad.models.registry import check_trainable
    from thermocad.training.config import TrainConfig
    from thermocad.utils.values import check_path

    for name, path in (("data_dir", data_dir), ("out_dir", out_dir)):  # labels: labels_file
        check_path(name, path)
    if force and resume:
        raise ConfigError("--force starts a fit again, --resume continues one: give one of them")
    if config is not None and seed is not None and seed != config.seed:
        raise ConfigError(f"fit: seed {seed} differs from the config's seed {config.seed}; "
                          "one seed draws the folds and the training, give one")  # fmt: skip
    config = config or TrainConfig(seed=seed or 0)
    seed = config.seed
    labels_file(labels_csv, "fit", "--resume checks that it is unchanged")
    check_apart(out_dir, data_dir)  # the data folder is read again by the next fit
    check_trainable(config.to_dict())  # arch, size, weights: before anything is written
    check_labels(data_dir, labels_csv, folds)
    record = job_record({**config.to_dict(), "folds": folds, "seed": seed},
                        fingerprint(data_dir, labels_csv))  # fmt: skip
    state, clock = resumable(out_dir, record) if resume else None, Laps("fit")
    out = _started(state, data_dir, labels_csv, out_dir, record, folds, seed, force or resume)
    split_csv = out / "split.csv"
    clock.lap("the cohort and its folds")
    log(f"fit: {folds}-fold cross-validation of the procedure ({config.arch})")
    oof = _cross_validate(split_csv, out, config, resume=state is not None)
    choice = choose_from_oof(oof)
    cv = _cv_record(oof, choice, folds, seed, n_boot, out)
    log(f"{_summary(cv)}; threshold {choice['threshold']:.4f}")
    cv["warnings"] = cv_warnings(cv, choice.get("target_sensitivity"))
    for warning in cv["warnings"]:
        log(f"warning: {warning}")
    cv["room_stress"] = _room_stress(oof, out / "cv" / config.arch, choice["threshold"])
    clock.lap("the cross-validation")
    _final_model(out, split_csv, config, choice["threshold"], resumed=state is not None)
    check_unchanged(record["data"], data_dir, labels_csv)  # a change while fit ran
    cv["seconds"] = clock.lap("the final model")  # this run's (a resumed one: since it resumed)
    _record(out, cv, choice, folds, labels_csv)
    (out / FIT_RESUME).unlink(missing_ok=True)  # finished: nothing left to resume
    log(f"wrote {out} (predict, explain, serve and export take this folder)")
    return out


def _started(state: dict | None, data_dir, labels_csv, out_dir, record: dict, folds: int,
             seed: int, force: bool) -> Path:  # fmt: skip
    """The run folder with its cohort and split: prepared, or kept by a fit resumed after them."""
    if state is None or state.get("stage") != "cv":  # a new fit, or one stopped in prepare
        return _prepare(data_dir, labels_csv, out_dir, record, folds, seed, force)
    clear_stops(Path(out_dir))  # running again: no longer stopped (utils/stops.py)
    log(f"fit: resuming {out_dir}: its cohort and split are kept, finished folds reused")
    return Path(out_dir)


def _final_model(out: Path, split_csv: Path, config, threshold: float, resumed: bool) -> None:
    """The model on every woman, in fit's own folder (vetted: it holds cohort/, split.csv and
    cv/); a resumed fit keeps one it finished (killed before _record), or continues it."""
    from thermocad.training.checkpoint import CHECKPOINT, finished_model
    from thermocad.training.run import train
    from thermocad.utils.files import INCOMPLETE

    if resumed and (out / "model.json").is_file() and not (out / INCOMPLETE).exists():
        log("fit: the final model on every woman was finished before, kept")
        return
    # A checkpoint goes on; a model written before the stop (finished_model) is kept as it is.
    go_on = resumed and ((out / CHECKPOINT / "state.json").is_file() or finished_model(out))
    log("fit: the final model on every woman" + (", from its checkpoint" if go_on else ""))
    train(split_csv, out, config, fold="all", force=True, resume=go_on, threshold=threshold)


def _prepare(data_dir, labels_csv, out_dir, record: dict, folds: int, seed: int,
             force: bool) -> Path:  # fmt: skip
    """fit's folder, its cohort and split; an earlier fit's model, files and folds removed."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.cohort.split import make_split, write_split
    from thermocad.training.checkpoint import start_run
    from thermocad.utils.files import INCOMPLETE, MADE_BY
    from thermocad.utils.lock import empty_held, holds_only_lock

    fresh = holds_only_lock(out_dir)  # made by this call
    out = prepare_out_dir(out_dir, force, made_by="fit", replaces=("fit", "train"))
    # INCOMPLETE from here: a rerun that fails on its data (prepare, split) never leaves an
    # earlier model served beside the new cohort; the folder says to fit again.
    atomic_write_text(out / INCOMPLETE, "fit started; this run is not finished\n")
    atomic_write_text(out / MADE_BY, "written by thermocad fit\n")  # over an old train's mark
    atomic_write_json(out / FIT_RESUME, {**record, "stage": "prepare"})
    try:
        prepare_cohort(data_dir, labels_csv, out / "cohort", force=force)
        split = make_split(out / "cohort" / "cohort.csv", test=0.0, folds=folds, seed=seed)
        check_fold_size(split, labels_csv, folds, record["options"]["batch_size"])
        check_temperatures(split, data_dir)
    except ThermocadError:  # the data cannot make the folds: a folder this fit made goes again
        if fresh:
            empty_held(out)
            log(f"removed {out}, which this fit made: its data cannot make the folds")
        raise
    # The data are usable: an earlier fit's model, files and folds go now, and the folder is
    # INCOMPLETE until the final model is written (a killed fit is never taken for a model).
    start_run(out, resume=False)
    remove_tree(out / "cv")
    write_split(split, out / "split.csv", force=force)
    atomic_write_json(out / FIT_RESUME, {**record, "stage": "cv"})  # from here folds are kept
    return out
