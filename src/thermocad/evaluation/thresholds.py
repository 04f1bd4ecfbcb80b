"""The decision threshold on P(Sick), chosen on validation predictions: the highest that reaches
a target sensitivity (the rule kept in experiments/records/decisions.md), or Youden's J."""

from __future__ import annotations

import numpy as np
import pandas as pd

from thermocad.evaluation.metrics import aggregate_patients, roc_points, two_classes

TARGET_SENSITIVITY = 0.9  # the sensitivity rule's target when none is given
# How far below the picked score the threshold is stored: ten times the largest difference in
# P(Sick) measured between PyTorch batchings, the memory layout and ONNX (1.2e-6).
NOISE_MARGIN = 1e-5


def check_threshold_rule(method: str, target_sensitivity: float | None) -> None:
    """Refuse, before any training, a threshold rule choose_threshold() would refuse after it."""
    from thermocad.utils.errors import ConfigError

    if method not in ("sensitivity", "youden"):
        raise ConfigError(f"unknown threshold_method {method!r}; choose sensitivity or youden")
    if target_sensitivity is None:
        return
    if method == "youden":
        raise ConfigError("threshold_method 'youden' takes no target_sensitivity")
    if not 0 < target_sensitivity <= 1:
        raise ConfigError(f"target_sensitivity must be in (0, 1], got {target_sensitivity}")


def choose_threshold(
    y_true, prob, method: str = "sensitivity", target_sensitivity: float | None = None
) -> float:
    """Decision threshold on P(Sick) from validation data: a target sensitivity or Youden's J.

    method="sensitivity" picks the highest threshold whose sensitivity reaches
    `target_sensitivity` (default 0.90, the rule decisions.md kept); method="youden" maximises
    sensitivity + specificity - 1 and takes no target. Falls back to 0.5 (with a warning)
    when the data hold a single class.

    The threshold returned is the picked score less NOISE_MARGIN (never below the midpoint to
    the next lower score), not the picked woman's score itself: the same women are called
    Sick, and a score moved by numerical noise (another batch size, ONNX: 1e-8 to 1e-6)
    cannot flip the woman it was picked on.

    Only thresholds model.json can hold are candidates (0..1, Sick when P(Sick) >= threshold):
    calling nobody Sick is one while no P(Sick) is exactly 1, and is out of reach otherwise.
    When no candidate has a Youden's J above 0 (the scores rank the women no better than
    chance) the rule warns and takes the best of them, the highest on a tie: calling nobody
    Sick where it can, else the J-0 point calling every woman Sick (as the sensitivity rule
    would), never a point of negative J such as one calling only the women at P(Sick) = 1.
    """
    if method == "youden" and target_sensitivity is not None:
        raise ValueError("method='youden' takes no target_sensitivity; use method='sensitivity'")
    y, p = np.asarray(y_true).astype(int), np.asarray(prob, float)
    if not two_classes(y):
        from thermocad.utils.progress import log

        log("WARNING: the validation predictions hold one class: threshold 0.5, chosen on nothing")
        return 0.5
    # Every distinct score is a candidate: the points a drawn curve drops include the top of a
    # run of Sick scores, which is the threshold the sensitivity rule asks for.
    fpr, tpr, thr = roc_points(y, p, every=True)
    # sklearn puts +inf first (nobody Sick); stored as 1.0 it calls P(Sick) = 1 Sick, a point
    # the curve has already, so it is a candidate only where no score is 1.
    keep = np.isfinite(thr) | (p.max() < 1.0)
    fpr, tpr, thr = fpr[keep], tpr[keep], np.minimum(thr[keep], 1.0)
    if method == "sensitivity":
        target = TARGET_SENSITIVITY if target_sensitivity is None else float(target_sensitivity)
        if not 0 < target <= 1:
            raise ValueError(f"target_sensitivity must be in (0, 1], got {target}")
        return _below(float(thr[np.argmax(tpr >= target - 1e-12)]), p)
    if method != "youden":
        raise ValueError(f"unknown threshold method {method!r}; use 'youden' or 'sensitivity'")
    best = int(np.argmax(tpr - fpr))  # the first maximum: the highest threshold on a tie
    threshold = _below(float(thr[best]), p)
    if tpr[best] - fpr[best] <= 0:
        from thermocad.utils.progress import log

        called = int((p >= threshold).sum())
        log(f"WARNING: no threshold has Youden's J above 0 on the validation predictions (they "
            f"rank the women no better than chance): threshold {threshold:.5f} calls {called} "
            f"of {len(p)} Sick")  # fmt: skip
    return threshold


def _below(picked: float, scores: np.ndarray) -> float:
    """Just below the picked score: NOISE_MARGIN under it, or halfway to the next lower distinct
    score (0 below the lowest) where that is closer, so every score >= picked stays at or
    above the threshold and every lower score below it."""
    lower = scores[scores < picked]
    midpoint = (picked + (float(lower.max()) if lower.size else 0.0)) / 2
    return max(picked - NOISE_MARGIN, midpoint)


def choose_patient_threshold(pred: pd.DataFrame, method: str = "sensitivity",
                             target_sensitivity: float | None = None) -> float:  # fmt: skip
    """choose_threshold() on one row per woman (`aggregate_patients`): the threshold is applied
    to each woman's P(Sick), so it is chosen on women, not on frames (a woman imaged four times
    would count four times). Needs columns patient_id, y and prob."""
    pat = aggregate_patients(pred)
    return choose_threshold(pat["y"], pat["prob"], method, target_sensitivity)
