"""Evaluate predictions like a clinical study: image- and patient-level metrics with intervals,
a function of a predictions table (path, patient_id, y or label, prob, ...) and a threshold
chosen beforehand; `evaluate_run` adds the model's predictions on a split and writes
metrics.json with the plots."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.cohort.missing import check_split_table
from thermocad.evaluation import bootstrap as B
from thermocad.evaluation import metrics as M
from thermocad.evaluation import periods as P
from thermocad.inference.provenance import run_record
from thermocad.io.labels import with_y
from thermocad.models.words import model_name, not_a_model_warning
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import atomic_write_csv, atomic_write_json
from thermocad.utils.lock import writes_folder
from thermocad.utils.progress import log
from thermocad.utils.tables import fmt_ci, read_table, require_columns


def patient_frame(df: pd.DataFrame, subgroup: str | None) -> pd.DataFrame:
    """One row per patient, with the subgroup, batch and date columns carried over."""
    pat = M.aggregate_patients(df)
    for column in dict.fromkeys([subgroup, P.BATCH, P.DATE, P.PERIOD, P.ROOM]):
        if column and column in df.columns:
            pat[column] = pat["patient_id"].map(P.per_woman(df, column))
    return pat


def by_period(pat: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """Patient-level AUC (bootstrap interval) and n: overall, within each two-class batch, and
    period-matched (None values and a note when the table has no dates)."""
    out, available = {}, P.dates_available(pat)
    for name, mask in P.subsets(pat).items():
        part = pat[mask]
        entry = {"n": int(len(part)), "n_sick": int(part["y"].sum()), "roc_auc": None, "ci": None}
        if part["y"].nunique() == 2:
            entry["roc_auc"] = M.roc_auc(part["y"], part["prob"])
            if n_boot:
                entry["ci"] = B.bootstrap_ci(part, 0.5, n_boot, seed, scores=False)["roc_auc"]
        out[name] = entry
    if not available:
        out["period-matched"] = {"n": None, "n_sick": None, "roc_auc": None, "ci": None,
                                 "note": "n/a: no acquisition dates"}  # fmt: skip
    batches = P.two_class_batches(pat)
    primary = batches[0] if batches else None
    drift = P.healthy_date_drift(pat, primary, n_boot, seed) if available else None
    return {
        "subsets": out,
        "primary_batch": primary,
        "dates": available,
        "period_ranges": {b: P.period_range(pat, b) for b in batches} if available else {},
        "healthy_date_drift": drift,
        "healthy_room_drift": P.healthy_room_drift(pat, primary, n_boot, seed),
    }


def period_metrics(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """`by_period` of image-level predictions (mean P(Sick) per patient)."""
    return by_period(patient_frame(with_y(pred), None), n_boot, seed)


def halves_by_period(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """A CNN+baseline model's halves scored alone by period, from predict_split's `prob_cnn`
    and `prob_baseline` columns (empty for a single model): is each earning its place?"""
    return {name: period_metrics(pred.assign(prob=pred[column].astype(float)), n_boot, seed)
            for name, column in (("cnn", "prob_cnn"), ("baseline", "prob_baseline"))
            if column in pred.columns}  # fmt: skip


def evaluate_predictions(
    pred: pd.DataFrame,
    threshold: float,
    subgroup: str | None = "acquisition_batch",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Image- and patient-level metrics at a fixed threshold, with intervals and subgroups."""
    df = with_y(pred)
    if df.empty:
        raise ConfigError("no predictions to evaluate")
    pat = patient_frame(df, subgroup)
    result = {
        "threshold": float(threshold),
        "patient_aggregation": "mean",  # a woman's P(Sick): the mean over her images
        "image": B.summarize(df, threshold, n_boot, seed),
        "patient": B.summarize(pat, threshold, n_boot, seed),
        "by_period": by_period(pat, n_boot, seed),
    }
    if subgroup and subgroup in df.columns:
        result["subgroups"] = {
            "image": P.subgroup_metrics(df, subgroup, threshold),
            "patient": P.subgroup_metrics(pat, subgroup, threshold),
        }
    return result


def write_plots(
    pred: pd.DataFrame,
    threshold: float,
    out_dir: str | Path,
    history: str | Path | None = None,
    read=None,
    unit: str = "celsius",
    galleries: bool = True,
    on: str = "",
) -> dict[str, str]:
    """Confusion matrix, ROC, reliability diagram, training curves and galleries as PNGs;
    `on`: whose predictions, in each title, so that a file opened alone says: "test" gives
    "(test images)" on the confusion matrix and ROC, which count images, and "(test women)"
    on the reliability diagram, which counts women."""
    from thermocad.reporting import plots

    out, df = Path(out_dir), with_y(pred)
    images, whose = (f" ({on} images)", f" ({on} women)") if on else ("", "")
    y, p = df["y"].to_numpy(), df["prob"].to_numpy()
    counts = M.get_counts(y, p >= threshold)
    made = {
        "confusion": plots.plot_confusion(
            counts.__dict__, out / "confusion.png", "Confusion matrix" + images
        ),  # fmt: skip
        "roc": plots.plot_roc(y, p, threshold, out / "roc.png", "ROC" + images),
    }
    women = M.aggregate_patients(df)  # Wilson intervals count independent units: women
    made["reliability"] = plots.plot_reliability(women["y"], women["prob"], out / "reliability.png",
                                                 title="Calibration" + whose)  # fmt: skip
    if history and Path(history).exists():
        made["history"] = plots.plot_history(history, out / "history.png")
    if galleries:
        from thermocad.reporting.galleries import write_galleries

        made.update(write_galleries(df, threshold, out, read=read, unit=unit))
    return {k: str(v) for k, v in made.items()}


def predict_split(bundle, split_df: pd.DataFrame, tta: bool | None = None) -> pd.DataFrame:
    """The bundle's P(Sick) for every row of a split table (files read through read_thermal),
    with `prob_cnn` and `prob_baseline` when the model averages a CNN with the baseline."""
    from thermocad.inference.notes import tta_note, view_note
    from thermocad.io.thermal import read_thermal

    if note := tta_note(bundle.meta, tta, bundle.views(tta)):
        log(note)
    arrays, units = [], {}
    for path in split_df["path"]:
        t = read_thermal(path)
        arrays.append(t.array)
        units.setdefault(t.unit, path)
    if lateral := [p for p in split_df["path"] if view_note(p)]:  # predict would make no call
        log(f"warning: {len(lateral)} file(s) of the split are lateral views by their names "
            f"(e.g. {Path(str(lateral[0])).name}), which predict and the app make no call on; "
            "scored here as the split lists them")  # fmt: skip
    other = sorted(set(units) - {bundle.unit})
    if other:
        raise ConfigError(
            f"the model was trained on {bundle.unit} input but the split holds {sorted(units)} "
            f"(e.g. {units[other[0]]} is {other[0]})"
        )
    out = with_y(split_df.reset_index(drop=True))
    cnn, base = bundle.predict_parts(arrays, tta=tta, unit=bundle.unit)  # checked above
    out["prob"] = np.asarray(bundle.average(cnn, base), float)
    if base is not None:  # the CNN averaged with the baseline: keep each half's P(Sick)
        out["prob_cnn"], out["prob_baseline"] = np.asarray(cnn, float), np.asarray(base, float)
    return out


def split_rows(split, on: str, subgroup: str | None, name: str = "the split table") -> pd.DataFrame:
    """The `on` rows of a split table (split.csv, or a DataFrame called `name`); refused without
    them, the `subgroup` column or their files (a table without its period is said)."""
    if isinstance(split, str | os.PathLike):
        name, split = str(split), read_table(split, "split file", "thermocad split")
    if "split" not in split.columns:
        raise ConfigError(f"{name}: no `split` column; make it with `thermocad split`")
    require_columns(split, name, ("path", "patient_id", "label"), "split file", "thermocad split")
    rows = split[split["split"] == on]
    if rows.empty:  # a `fit` split has none held out: its model trained on every woman
        new = "; a fit's model trained on all of them: score new women with --data" * (on == "test")
        raise ConfigError(f"{name}: no rows with split == {on!r} (it has "
                          f"{', '.join(map(str, sorted(split['split'].unique())))}){new}")  # fmt: skip
    check_split_table(split, rows, subgroup, name)  # and every file gone, counted
    if P.PERIOD not in rows.columns and P.dates_available(rows):  # as compare says it
        log(f"{name} has no {P.PERIOD} column (an older thermocad made it): the period is the "
            f"date range of these {on} women alone; make the split again")  # fmt: skip
    return rows


def score_split(bundle, rows: pd.DataFrame, on: str, threshold: float, tta: bool | None = None,
                subgroup: str | None = "acquisition_batch", n_boot: int = 1000,
                ledger: str | os.PathLike | None = None, source: str = "a loaded model",
                chosen_on_valid: bool = True) -> tuple[dict, pd.DataFrame]:  # fmt: skip
    """(metrics, predictions) of `bundle` on the `on` rows at `threshold`. A test scoring is
    recorded in the ledger file `ledger` (evaluation.lockbox.ledger_path), when given."""
    if not 0.0 <= float(threshold) <= 1.0:
        raise ConfigError(f"threshold must be a probability in 0..1, got {threshold}")
    if on == "valid" and chosen_on_valid and bundle.meta.get("threshold_method") != "given":
        log("note: the threshold was chosen on these validation women: their sensitivity and "
            "specificity are optimistic (the AUC too, if this model was chosen among others "
            "on them)")  # fmt: skip
    pred = predict_split(bundle, rows, tta=tta)
    result = evaluate_predictions(pred, threshold, subgroup, n_boot=n_boot)
    if on == "test" and ledger is not None:
        from thermocad.evaluation.lockbox import record_opening
        from thermocad.evaluation.model_identity import model_identity

        identity = model_identity(bundle.meta, bundle.views(tta))  # None: known by its scores
        result["lockbox"] = record_opening(ledger, pred, source, result["patient"].get("roc_auc"),
                                           threshold, identity)  # fmt: skip
    return result, pred


def evaluate_run(
    run_dir: str | os.PathLike,
    split_csv: str | os.PathLike,
    on: str = "test",
    tta: bool | None = None,
    out_dir: str | os.PathLike | None = None,
    subgroup: str | None = "acquisition_batch",
    force: bool = False,
    n_boot: int = 1000,
    device: str = "auto",
    threshold: tuple[float, str] | None = None,
    ledger: str | os.PathLike | None = None,
    apart: bool | None = None,
) -> dict:
    """Predict the `on` split with the run's model, at its validation threshold (or at
    `threshold`: (value, where it was chosen), e.g. compare's pooled out-of-fold one). A test
    scoring is counted in `ledger` (default: beside the split file). `apart`: refuse an out_dir
    inside or around a folder of the thermograms (default: a given one; not compare's own)."""
    from thermocad.evaluation.lockbox import ledger_path

    run_dir = Path(run_dir)
    home = run_dir if run_dir.is_dir() else run_dir.parent  # an exported .onnx: beside it
    out = Path(out_dir) if out_dir else home / f"eval_{on}"
    book = ledger_path(split_csv, ledger) if on == "test" else None  # writable, before any work
    apart = bool(out_dir) if apart is None else apart
    return _evaluate_into(out, run_dir, Path(split_csv), on, tta, subgroup, force, n_boot,
                          device, threshold, book, apart=apart)  # fmt: skip


@writes_folder("out")  # one evaluation at a time writes a folder: two at once mixed them
def _evaluate_into(out: Path, run_dir: Path, split_csv: Path, on: str, tta: bool | None,
                   subgroup: str | None, force: bool, n_boot: int, device: str,
                   threshold: tuple[float, str] | None, ledger: Path | None,
                   apart: bool = False) -> dict:  # fmt: skip
    """evaluate_run() into `out` (`apart`: as evaluate_run's), held against other writers."""
    from thermocad.evaluation import outputs
    from thermocad.evaluation.lockbox import check_split_rows
    from thermocad.evaluation.trained_files import check_loaded
    from thermocad.inference.loading import load_model

    rows = split_rows(split_csv, on, subgroup)  # the inputs first: their problem is the real one
    check_split_rows(rows, on, run_dir, split_csv)  # test women new to it, valid not trainers
    outputs.check_apart_from_rows(out, rows["path"], apart)  # not among the thermograms it scores
    outputs.check_results(out, force, outputs.SPLIT_ALSO)  # the user's files: only with --force
    bundle = load_model(run_dir, device)
    check_loaded(bundle, rows, on, run_dir, split_csv)  # training files; a smoke run's warning
    outputs.clear_results(out, outputs.SPLIT_ALSO)  # an earlier one's: a failed rerun leaves none
    thr, source = threshold or (bundle.threshold, "model.json (validation data)")
    log(f"evaluating {model_name(bundle.meta)} ({run_dir}) on {len(rows)} {on} images (threshold "
        f"{float(thr):.3f})")  # fmt: skip
    result, pred = score_split(bundle, rows, on, thr, tta, subgroup, n_boot, ledger=ledger,
                               source=str(run_dir), chosen_on_valid=threshold is None)  # fmt: skip
    result.update(
        run=str(run_dir),
        split_csv=str(split_csv),
        on=on,
        tta=bundle.views(tta),  # the augmented copies each prediction averaged
        arch=bundle.meta.get("arch"),
        model=model_name(bundle.meta),  # as the comparison names it: ARCH+baseline
        scored_by=run_record(bundle),  # its file's digest, run how, when (inference/provenance)
        threshold_source=source,
        model_warnings=not_a_model_warning(bundle.meta).splitlines(),
    )
    result["plots"] = write_plots(pred, thr, out, run_dir / "history.csv", unit=bundle.unit, on=on)
    atomic_write_csv(out / "predictions.csv", pred)
    atomic_write_json(out / "metrics.json", result)
    log(f"wrote {out / 'metrics.json'}")
    return {**result, "out_dir": str(out)}  # where it went: for the caller, not metrics.json


def headline(result: dict, level: str = "patient") -> str:
    """One line: sensitivity, specificity and AUC with their intervals."""
    m = result[level]

    def fmt(name: str, ci: dict) -> str:
        return f"{name} {fmt_ci(m.get(name), ci.get(name))}"

    return (
        f"{level}-level (n={m['n']}, threshold {result['threshold']:.3f}): "
        f"{fmt('sensitivity', M.proportion_intervals(m))}, "
        f"{fmt('specificity', M.proportion_intervals(m))}, "
        f"{fmt('roc_auc', m['bootstrap_ci'])}"
    )
