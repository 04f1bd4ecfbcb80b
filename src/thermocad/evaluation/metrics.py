"""Pure metric functions over labels and P(Sick): counts first, then one-line ratios.

Labels are 0 (Healthy) / 1 (Sick); probabilities are P(Sick). Undefined ratios (0/0) are NaN,
never silently 0, so a subgroup with one class reports what it can and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from thermocad.evaluation.calibration import calibration_intercept_slope, replicate_intercept_slope
from thermocad.evaluation.intervals import (
    MIN_PER_CLASS,
    auc_interval,
    fast_auc,
    fast_average_precision,
    percentile_interval,
    undefined_reason,
    wilson_ci,
)
from thermocad.utils.errors import CohortError


@dataclass(frozen=True)
class Counts:
    """Confusion-matrix counts with Sick as the positive class."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn


def _ratio(num: float, den: float) -> float:
    return float(num) / den if den else float("nan")


def get_counts(y_true, y_pred) -> Counts:
    """Count TP, FP, TN, FN of binary predictions (1 = Sick)."""
    t, p = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    return Counts(
        tp=int(((t == 1) & (p == 1)).sum()),
        fp=int(((t == 0) & (p == 1)).sum()),
        tn=int(((t == 0) & (p == 0)).sum()),
        fn=int(((t == 1) & (p == 0)).sum()),
    )


# The proportions, each once as (numerator, denominator) of the counts: the value is their
# ratio and its Wilson interval is drawn from the same two numbers.
PROPORTIONS: dict[str, tuple[Callable[[Counts], int], Callable[[Counts], int]]] = {
    "accuracy": (lambda c: c.tp + c.tn, lambda c: c.n),
    "sensitivity": (lambda c: c.tp, lambda c: c.tp + c.fn),
    "specificity": (lambda c: c.tn, lambda c: c.tn + c.fp),
    "ppv": (lambda c: c.tp, lambda c: c.tp + c.fp),
    "npv": (lambda c: c.tn, lambda c: c.tn + c.fn),
}


def proportion(name: str, c: Counts) -> float:
    """PROPORTIONS[name] of the counts `c` (NaN with a zero denominator)."""
    numerator, denominator = PROPORTIONS[name]
    return _ratio(numerator(c), denominator(c))


def proportion_ci(name: str, c: Counts) -> tuple[float, float]:
    """The Wilson 95% interval of PROPORTIONS[name] of the counts `c`."""
    numerator, denominator = PROPORTIONS[name]
    return wilson_ci(numerator(c), denominator(c))


def accuracy(c: Counts) -> float:
    return proportion("accuracy", c)


def sensitivity(c: Counts) -> float:
    return proportion("sensitivity", c)


def specificity(c: Counts) -> float:
    return proportion("specificity", c)


def balanced_accuracy(c: Counts) -> float:
    return (sensitivity(c) + specificity(c)) / 2


def ppv(c: Counts) -> float:
    return proportion("ppv", c)


def npv(c: Counts) -> float:
    return proportion("npv", c)


def f1(c: Counts) -> float:
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


def two_classes(y_true) -> bool:
    return len(np.unique(np.asarray(y_true))) == 2


def roc_auc(y_true, prob) -> float:
    """Area under the ROC curve; NaN when only one class is present (undefined)."""
    if not two_classes(y_true):
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, prob))


def pr_auc(y_true, prob) -> float:
    """Average precision (area under the precision-recall curve); NaN without both classes."""
    if not two_classes(y_true):
        return float("nan")
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y_true, prob))


def brier(y_true, prob) -> float:
    """Mean squared error of P(Sick) against the 0/1 label."""
    return float(np.mean((np.asarray(prob, float) - np.asarray(y_true, float)) ** 2))


def roc_points(y_true, prob, every: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds of the ROC curve; `every`
    keeps every distinct score (sklearn drops collinear points, enough to draw the curve)."""
    from sklearn.metrics import roc_curve

    return roc_curve(y_true, prob, drop_intermediate=not every)


def classification_metrics(y_true, prob, threshold: float) -> dict:
    """Every point metric at `threshold` (Sick when prob >= threshold), plus the counts."""
    y, p = np.asarray(y_true).astype(int), np.asarray(prob, float)
    c = get_counts(y, p >= threshold)
    intercept, slope = calibration_intercept_slope(y, p)
    return {
        "n": c.n,
        "n_sick": int(y.sum()),
        "counts": asdict(c),
        "accuracy": accuracy(c),
        "sensitivity": sensitivity(c),
        "specificity": specificity(c),
        "balanced_accuracy": balanced_accuracy(c),
        "ppv": ppv(c),
        "npv": npv(c),
        "f1": f1(c),
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier(y, p),
        "calibration_intercept": intercept,
        "calibration_slope": slope,
    }


def aggregate_patients(df: pd.DataFrame, prob: str = "prob") -> pd.DataFrame:
    """One row per patient (`check_women`): label `y` (when the rows have one), the mean
    P(Sick) of her images (column `prob`) and `n_images`; a NaN P(Sick) is refused, not skipped."""
    check_women(df, "one row per woman")
    if (missing := pd.to_numeric(df[prob], errors="coerce").isna()).any():
        bad = df.loc[missing, "patient_id"].drop_duplicates().tolist()
        raise CohortError(f"{int(missing.sum())} images without a P(Sick) (column {prob!r} empty or NaN), of patients {bad[:5]}")  # fmt: skip
    columns = {"y": ("y", "first")} if "y" in df.columns else {}
    columns |= {"prob": (prob, "mean"), "n_images": (prob, "size")}
    return df.groupby("patient_id").agg(**columns).reset_index()


def check_women(df: pd.DataFrame, needs: str) -> None:
    """CohortError (a ValueError) on rows without a patient id or a woman with two labels."""
    if n := int(df["patient_id"].isna().sum()):
        raise CohortError(f"{n} rows without a patient id: {needs} needs every woman's")
    if "y" in df.columns and (labels := df.groupby("patient_id")["y"].nunique()).gt(1).any():
        raise CohortError(f"patients with conflicting labels: {labels[labels > 1].index[:5].tolist()}")  # fmt: skip


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


def too_few(counts: dict[str, int]) -> str:
    """'fewer than 5 Sick women' (or 'Sick and Healthy', ...) for the groups of `counts`
    (name: women) too small for a bootstrap interval, else ''."""
    small = [name for name, k in counts.items() if k < MIN_PER_CLASS]
    return f"fewer than {MIN_PER_CLASS} {' and '.join(small)} women" if small else ""


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


def proportion_intervals(summary: dict) -> dict:
    """A summary's intervals for proportions (a metrics.json written before 2026-12-05 names
    them `wilson_ci`)."""
    return summary.get("proportion_ci") or summary.get("wilson_ci") or {}
