"""Nested cross-validation: the outer folds estimate the whole procedure, inner folds choose.

Inside each outer training set, patient-grouped stratified inner folds give out-of-fold
predictions of every candidate: the classical baseline, each architecture's CNN alone, and
each CNN averaged with the baseline. SELECTION_RULE picks one on them, the threshold rule
(evaluation/thresholds.py) sets its threshold on the same pooled predictions, and the chosen candidate
is refitted on the whole outer training set to predict the outer test fold. No choice sees
an outer test woman, so the pooled outer predictions estimate the procedure on new women.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thermocad.cohort.leaks import women_across
from thermocad.cohort.split import folds_of, with_folds
from thermocad.evaluation import metrics as M
from thermocad.evaluation import periods as P
from thermocad.evaluation import thresholds as T
from thermocad.evaluation.heads import HeadRuns
from thermocad.evaluation.nested_summary import markdown, nested_metrics
from thermocad.evaluation.resume import resumed_under
from thermocad.evaluation.runs import (
    BASELINE,
    AllModelsFailedError,
    real_trainer,
    run_arch,
    run_baseline,
)
from thermocad.io.labels import with_y
from thermocad.models.words import served_name
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import atomic_write_csv, atomic_write_json, atomic_write_text
from thermocad.utils.progress import log

SELECTION_RULE = (
    "highest patient-level AUC of the pooled inner out-of-fold predictions; ties go to the "
    "simpler candidate (the baseline, then a CNN alone, then the CNN averaged with the baseline)"
)
KEEP = ("path", "patient_id", "label", "y", "prob", P.BATCH, P.DATE, P.PERIOD, P.ROOM)


@dataclass(frozen=True)
class NestedJob:
    """What every outer fold needs: the candidates, how they train, and how to choose."""

    archs: tuple[str, ...]
    order: tuple[str, ...]  # candidates_of(archs, baseline): the tie-break order
    inner_folds: int
    seed: int
    target_sensitivity: float | None
    baseline: bool = True
    config: Any = None
    trainer: Callable | None = None
    overrides: dict[str, dict] | None = None
    features: pd.DataFrame | None = None  # the baseline's features, read once for every fold
    heads: HeadRuns | None = None  # the fast path for a head on frozen features
    resume: bool = False  # reuse finished fold runs (a resumed comparison), as run_arch does


def candidates_of(archs: Sequence[str], baseline: bool = True) -> list[str]:
    """Every candidate, simplest first: baseline, then per architecture CNN alone and CNN+baseline."""
    names = [BASELINE] if baseline else []
    for arch in archs:
        names += [arch, served_name(arch, True)] if baseline else [arch]
    return names


def candidate_probs(
    cnn: dict[str, pd.DataFrame], base: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """Each candidate's predictions on the same rows: the baseline, each CNN alone (its
    `prob_cnn` when the run also averaged in a baseline) and the mean of the two (as
    ModelBundle.average)."""
    out = {} if base is None else {BASELINE: base}
    for arch, pred in cnn.items():
        alone = pred.assign(prob=pred["prob_cnn" if "prob_cnn" in pred else "prob"].astype(float))
        out[arch] = alone
        if base is not None:
            b = base.set_index("path")["prob"].loc[alone["path"]].to_numpy(float)
            out[served_name(arch, True)] = alone.assign(prob=(alone["prob"].to_numpy() + b) / 2)
    return out


def patient_auc(pred: pd.DataFrame) -> float:
    """AUC of the mean P(Sick) per patient."""
    pat = M.aggregate_patients(with_y(pred))
    return M.roc_auc(pat["y"], pat["prob"])


def select_candidate(preds: dict[str, pd.DataFrame], order: Sequence[str]) -> tuple[str, dict]:
    """SELECTION_RULE over the inner predictions; returns the choice and every score."""
    scores = {name: patient_auc(preds[name]) for name in order if name in preds}
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not finite:
        raise AllModelsFailedError("no candidate could be scored on the inner folds")
    best = max(finite.values())
    return next(k for k in order if finite.get(k, -1.0) >= best - 1e-12), scores


def _cnn_only(overrides: dict | None, arch: str) -> dict:
    """The architecture's overrides with the baseline average off: candidates add it themselves."""
    return {**(overrides or {}).get(arch, {}), "ensemble": "none"}


def _inner(train_rows: pd.DataFrame, out: Path, job: NestedJob) -> dict[str, pd.DataFrame]:
    """Every candidate's out-of-fold predictions over inner folds of one outer training set."""
    inner = with_folds(train_rows, job.inner_folds, job.seed)
    cnn = {}
    heads = job.heads
    for arch in job.archs:
        try:
            if heads is not None and heads.applies(arch):
                cnn[arch] = heads.out_of_fold(arch, inner)
                continue
            cnn[arch] = run_arch(arch, inner, out / "inner", job.config, job.trainer,
                                 _cnn_only(job.overrides, arch), job.resume)["pred"]  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a failing candidate drops out, as in compare
            log(f"nested: {arch} failed on the inner folds ({type(exc).__name__}: {exc})")
    base = run_baseline(inner, job.features)["pred"] if job.baseline else None
    return candidate_probs(cnn, base)


def _refit(chosen: str, train_rows: pd.DataFrame, test_rows: pd.DataFrame, out: Path,
           job: NestedJob) -> pd.DataFrame:  # fmt: skip
    """The chosen candidate fitted on the whole outer training set, predicting the outer test fold.
    The outer test women are the run's `valid` rows only so that train() predicts them: it
    chooses nothing on its validation rows (no early stopping, no best epoch; lr_find runs on
    training batches), and the threshold used is the inner folds'. Anything train() ever
    chooses on validation rows must not run here."""
    df = pd.concat([train_rows.assign(split="train"), test_rows.assign(split="valid")])
    df = df.drop(columns="fold").reset_index(drop=True)
    arch = chosen.removesuffix(served_name("", True))
    uses_baseline = chosen == BASELINE or chosen != arch  # the baseline, or CNN+baseline
    base = run_baseline(df, job.features)["pred"] if uses_baseline else None
    cnn = {}
    heads = job.heads
    if arch != BASELINE and heads is not None and heads.applies(arch):
        cnn[arch] = heads.predict(arch, train_rows, test_rows)
    elif arch != BASELINE:
        cnn[arch] = run_arch(arch, df, out / "refit", job.config, job.trainer,
                             _cnn_only(job.overrides, arch), job.resume)["pred"]  # fmt: skip
    return candidate_probs(cnn, base)[chosen]


def outer_fold(k: int, dev: pd.DataFrame, out: Path, job: NestedJob) -> tuple[pd.DataFrame, dict]:
    """One outer fold: choose on the inner folds, refit, predict the held-out women."""
    train_rows, test_rows = dev[dev["fold"] != k], dev[dev["fold"] == k]
    preds = _inner(train_rows, out, job)
    chosen, scores = select_candidate(preds, job.order)
    inner = preds[chosen]
    threshold = T.choose_patient_threshold(inner, job.target_sensitivity)
    log(f"nested: outer fold {k} chose {chosen} (inner patient AUC {scores[chosen]:.3f}), "
        f"threshold {threshold:.3f}")  # fmt: skip
    if not scores[chosen] > 0.5:  # NaN too: no candidate told the inner women apart
        log(f"warning: nested: outer fold {k}: no candidate did better than chance on its inner "
            f"folds ({train_rows['patient_id'].nunique()} women): the choice and threshold "
            "there are noise; the outer estimate is of that")  # fmt: skip
    pred = _refit(chosen, train_rows, test_rows, out, job)
    pred = with_y(pred)[[c for c in KEEP if c in pred.columns]]
    record = {"outer_fold": int(k), "chosen": chosen, "threshold": float(threshold),
              "inner_patient_auc": scores, "train_patients": int(train_rows["patient_id"].nunique()),
              "test_patients": int(test_rows["patient_id"].nunique())}  # fmt: skip
    return pred.assign(outer_fold=int(k), candidate=chosen, threshold=float(threshold)), record


def _in_folds(split_df: pd.DataFrame) -> pd.DataFrame:
    """The non-test rows of a fold (>= 0): a row of fold -1 is in no outer fold and in no
    training set, as compare's folds leave it (split.fold_rows)."""
    return split_df[(split_df["split"] != "test") & (split_df["fold"] >= 0)]


def check_nested(split_df: pd.DataFrame, archs, baseline: bool, inner_folds: int | None) -> None:
    """Refuse, before anything trains, a nested CV the split cannot hold: no folds, no
    candidate, or more inner folds than an outer training set has women of a class."""
    dev = split_df[split_df["split"] != "test"]
    if "fold" not in dev.columns or not (dev["fold"] >= 0).any():
        raise ConfigError("nested cross-validation needs the split's folds (thermocad split --folds K)")  # fmt: skip
    if not archs and not baseline:
        raise ConfigError("nested cross-validation needs at least one candidate")
    if n := women_across(split_df):
        raise ConfigError(f"nested cross-validation estimates the procedure on women it never "
                          f"saw, but this IMAGE-level split (split_unit=image) puts {n} women "
                          "in more than one fold: split by patient (thermocad split without "
                          "--unit image; a study's config without \"unit\": \"image\")")  # fmt: skip
    dev, outer = _in_folds(split_df), folds_of(split_df)
    inner = inner_folds or len(outer)
    fewest = min(
        dev[dev["fold"] != k].groupby("label")["patient_id"].nunique().min() for k in outer
    )
    if inner < 2 or inner > fewest:
        raise ConfigError(f"inner_folds {inner}: an outer training set holds as few as {fewest} "
                          "women of a class, so 2 to that many inner folds")  # fmt: skip


def baseline_yardstick(dev: pd.DataFrame, outer, out: Path, job: NestedJob) -> pd.DataFrame:
    """The classical baseline alone through the same outer folds, its threshold chosen on its
    own inner folds: the yardstick the procedure's result is read against (the CNN has to beat
    it to earn its cost). Cheap: logistic regressions on the features read once."""
    parts = []
    for k in outer:
        train_rows, test_rows = dev[dev["fold"] != k], dev[dev["fold"] == k]
        inner = with_folds(train_rows, job.inner_folds, job.seed)
        base = candidate_probs({}, run_baseline(inner, job.features)["pred"])[BASELINE]
        threshold = T.choose_patient_threshold(base, job.target_sensitivity)
        pred = with_y(_refit(BASELINE, train_rows, test_rows, out, job))
        parts.append(
            pred[[c for c in KEEP if c in pred.columns]].assign(
                outer_fold=int(k), candidate=BASELINE, threshold=float(threshold)
            )
        )
    return pd.concat(parts, ignore_index=True)


def _own_trainer(
    archs: Sequence[str], config: Any, trainer: Callable | None, overrides: dict[str, dict] | None
) -> tuple[Callable | None, Any, list[str]]:
    """`trainer`, or (None, as in compare) thermocad's train() with its config, the candidates
    that cannot train here left out (real_trainer says which; a typing review: None had been
    called per fold)."""
    if not archs or trainer is not None:
        return trainer, config, list(archs)
    trainer, config, skipped = real_trainer(archs, config, overrides)
    return trainer, config, [a for a in archs if a not in skipped]


def nested_cv(
    split_df: pd.DataFrame,
    archs: Sequence[str],
    out_dir: str | os.PathLike,
    config: Any = None,
    trainer: Callable | None = None,
    baseline: bool = True,
    inner_folds: int | None = None,
    seed: int = 0,
    target_sensitivity: float | None = T.TARGET_SENSITIVITY,
    n_boot: int = 1000,
    overrides: dict[str, dict] | None = None,
    fast_heads: bool = False,
    resume: bool = False,
) -> dict:
    """Nested CV over split.csv's folds (test rows untouched); writes nested_predictions.csv,
    nested.json and nested.md into `out_dir` and returns their content.

    `trainer` None: thermocad's `train()` (_own_trainer). `fast_heads`: the trainer is that
    `train()`, so an architecture whose config trains only the head on frozen features takes
    the fast path of `evaluation.heads` (same head stage, features computed once per file).
    `resume`: a fold run (inner or refit) that finished is reused, one with a checkpoint goes
    on from it; the fast path's heads and the baseline are fitted again (seconds).
    """
    check_nested(split_df, archs, baseline, inner_folds)
    target_sensitivity = T.check_target(target_sensitivity)
    trainer, config, archs = _own_trainer(archs, config, trainer, overrides)
    dev, outer = _in_folds(split_df), folds_of(split_df)
    features = None
    if baseline:
        from thermocad.models.baseline import feature_table

        features = feature_table(dev["path"].tolist())  # read once for every fold
    heads = HeadRuns(config, overrides, dev["path"].tolist()) if fast_heads else None
    job = NestedJob(archs=tuple(archs), order=tuple(candidates_of(archs, baseline)),
                    inner_folds=inner_folds or len(outer), seed=seed,
                    target_sensitivity=target_sensitivity,
                    baseline=baseline, config=config, trainer=trainer, overrides=overrides,
                    features=features, heads=heads, resume=resume)  # fmt: skip
    out = Path(out_dir)
    parts, folds = [], []
    for k in outer:
        pred, record = outer_fold(k, dev, out / f"outer{k}", job)
        parts.append(pred)
        folds.append(record)
    pred = pd.concat(parts, ignore_index=True)
    summary = {"selection_rule": SELECTION_RULE, "candidates": list(job.order),
               "outer_folds": len(outer), "inner_folds": job.inner_folds,
               "target_sensitivity": target_sensitivity,
               "folds": folds, "metrics": nested_metrics(pred, n_boot, seed)}  # fmt: skip
    if baseline and job.order != (BASELINE,):  # the baseline alone, by the same protocol
        alone = baseline_yardstick(dev, outer, out, job)
        summary["baseline_alone"] = nested_metrics(alone, n_boot, seed)
        atomic_write_csv(out / "baseline_alone_predictions.csv", alone)
    if resume and (found := resumed_under(out)):  # not what an uninterrupted run gives
        summary["resumed_inside"] = found
    atomic_write_csv(out / "nested_predictions.csv", pred)
    atomic_write_json(out / "nested.json", summary)
    atomic_write_text(out / "nested.md", markdown(summary))
    return {**summary, "pred": pred, "out_dir": out}
