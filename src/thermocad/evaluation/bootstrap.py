"""Patient-bootstrap intervals of the metrics (evaluation.metrics), and `summarize`: a table's
metrics with their intervals, as metrics.json holds them.

Whole women are resampled, stratified by class; every interval of a table comes from the same
replicates (percentile intervals, the ROC AUC's BCa: evaluation.intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from thermocad.evaluation.calibration import replicate_intercept_slope
from thermocad.evaluation.intervals import (
    auc_interval,
    fast_auc,
    fast_average_precision,
    percentile_interval,
    undefined_reason,
)
from thermocad.evaluation.metrics import (
    PROPORTIONS,
    Counts,
    balanced_accuracy,
    brier,
    check_women,
    classification_metrics,
    f1,
    get_counts,
    proportion,
    proportion_ci,
    too_few,
)


def _replicate(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    c = get_counts(y, p >= threshold)
    out = {name: proportion(name, c) for name in PROPORTIONS}
    out.update(balanced_accuracy=balanced_accuracy(c), f1=f1(c))
    out.update(roc_auc=fast_auc(y, p), brier=brier(y, p))
    return out


def _score_replicate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The figures of P(Sick) beyond the AUC and Brier, each as its point estimate defines it:
    PR AUC, calibration intercept and slope (the slope NaN where P(Sick) separates the classes)."""
    intercept, slope = replicate_intercept_slope(y, p)
    return {"pr_auc": fast_average_precision(y, p), "calibration_intercept": intercept,
            "calibration_slope": slope}  # fmt: skip


BOOTSTRAPPED = [*PROPORTIONS, "balanced_accuracy", "f1", "roc_auc", "brier"]
SCORE_FIGURES = ["pr_auc", "calibration_intercept", "calibration_slope"]


def bootstrap_ci(
    df: pd.DataFrame, threshold: float, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    scores: bool = True,
) -> dict[str, tuple[float, float]]:  # fmt: skip
    """The intervals of `bootstrap_intervals` (NaN where it gives a reason instead)."""
    return bootstrap_intervals(df, threshold, n_boot, seed, alpha, scores)[0]


def bootstrap_intervals(
    df: pd.DataFrame, threshold: float, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    scores: bool = True,
) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:  # fmt: skip
    """Intervals resampling whole patients (columns patient_id, y, prob), seeded, stratified by
    class (each replicate draws as many Sick and as many Healthy women as the table holds), all
    from the same replicates: percentile intervals, the ROC AUC's BCa (intervals.auc_interval);
    `scores` adds PR AUC and the calibration intercept and slope.

    Returns (intervals, reasons): an interval is (NaN, NaN), with its reason, when a class
    has fewer than MIN_PER_CLASS women, or when the figure is undefined (the PPV where no one
    is called Sick; the calibration slope where P(Sick) separates the classes) in more than 5%
    (1 - intervals.MIN_DEFINED_SHARE) of the replicates; otherwise those replicates are dropped.

    Resampling patients, not images, keeps a patient's correlated images together, so the
    interval reflects how many women were studied rather than how many frames.
    """
    rng = np.random.default_rng(seed)
    y, p = df["y"].to_numpy(int), df["prob"].to_numpy(float)
    groups = [np.flatnonzero(m) for m in _patient_masks(df)]
    strata = [[g for g in groups if y[g[0]] == label] for label in (0, 1)]
    names = BOOTSTRAPPED + (SCORE_FIGURES if scores else [])
    few = too_few({"Sick": len(strata[1]), "Healthy": len(strata[0])})
    if few:
        return dict.fromkeys(names, (float("nan"), float("nan"))), dict.fromkeys(names, few)
    reps: list[dict[str, float]] = []
    for _ in range(n_boot):
        idx = np.concatenate([s[i] for s in strata for i in rng.integers(0, len(s), len(s))])
        reps.append(_replicate(y[idx], p[idx], threshold))
        if scores:
            reps[-1].update(_score_replicate(y[idx], p[idx]))
    intervals, reasons = {}, {}
    for name in names:
        vals = [r[name] for r in reps]
        intervals[name], undefined = (auc_interval(y, p, vals, groups, alpha) if name == "roc_auc"
                                      else percentile_interval(vals, alpha))  # fmt: skip
        if not np.isfinite(intervals[name][0]):
            reasons[name] = undefined_reason(name, undefined, n_boot)
    return intervals, reasons


def _patient_masks(df: pd.DataFrame) -> list[np.ndarray]:
    """One mask per patient in id order: whatever the rows' order, the same women are drawn.
    Every row needs a patient id and a woman one label (`check_women`)."""
    check_women(df, "a patient bootstrap")
    codes, ids = pd.factorize(df["patient_id"])
    rank = np.argsort(np.argsort([str(i) for i in ids], kind="stable"), kind="stable")
    codes = rank[codes] if len(ids) else codes
    return [codes == k for k in range(codes.max() + 1)] if len(codes) else []


def summarize(df: pd.DataFrame, threshold: float, n_boot: int = 1000, seed: int = 0) -> dict:
    """Point metrics, intervals for proportions (`proportion_ci`) and patient-bootstrap
    intervals (`bootstrap_ci`; `bootstrap_ci_reasons`: why a figure has none; the AUC's BCa).

    With one row per patient the proportions get Wilson intervals. Rows that are several
    images of a woman are not independent counts, so there `proportion_ci` holds the patient
    bootstrap's intervals instead (NaN without a bootstrap), as `proportion_ci_method` says."""
    y, p = df["y"].to_numpy(int), df["prob"].to_numpy(float)
    out = classification_metrics(y, p, threshold)
    c = Counts(**out["counts"])
    out["n_patients"] = int(df["patient_id"].nunique())
    out["bootstrap_ci"], out["bootstrap_ci_reasons"] = (
        bootstrap_intervals(df, threshold, n_boot, seed) if n_boot else ({}, {}))  # fmt: skip
    out["auc_ci_method"] = "BCa" if n_boot else None  # absent before 2026-12-06: percentile
    if out["n_patients"] == len(df):
        out["proportion_ci"] = {name: proportion_ci(name, c) for name in PROPORTIONS}
        out["proportion_ci_method"] = "wilson"
    else:
        none = (float("nan"), float("nan"))
        out["proportion_ci"] = {name: out["bootstrap_ci"].get(name, none) for name in PROPORTIONS}
        out["proportion_ci_method"] = "patient bootstrap (a woman's images drawn together)"
    return out
