"""Pure metric functions over labels and P(Sick): counts first, then one-line ratios.

Labels are 0 (Healthy) / 1 (Sick); probabilities are P(Sick). Undefined ratios (0/0) are NaN,
never silently 0, so a subgroup with one class reports what it can and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from thermocad.evaluation.calibration import calibration_intercept_slope
from thermocad.evaluation.intervals import (
    MIN_PER_CLASS,
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


def too_few(counts: dict[str, int]) -> str:
    """'fewer than 5 Sick women' (or 'Sick and Healthy', ...) for the groups of `counts`
    (name: women) too small for a bootstrap interval, else ''."""
    small = [name for name, k in counts.items() if k < MIN_PER_CLASS]
    return f"fewer than {MIN_PER_CLASS} {' and '.join(small)} women" if small else ""


def proportion_intervals(summary: dict) -> dict:
    """A summary's intervals for proportions (a metrics.json written before 2026-12-05 names
    them `wilson_ci`)."""
    return summary.get("proportion_ci") or summary.get("wilson_ci") or {}
