"""The decision threshold on P(Sick), chosen on validation predictions: the highest that reaches
a target sensitivity, thermocad's one rule (kept against Youden's J, which measured worse:
experiments/records/decisions.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from thermocad.evaluation.metrics import aggregate_patients, roc_points, two_classes
from thermocad.utils.errors import ConfigError

TARGET_SENSITIVITY = 0.9  # the rule's target when none is given
# How far below the picked score the threshold is stored: ten times the largest difference in
# P(Sick) measured between PyTorch batchings, the memory layout and ONNX (1.2e-6).
NOISE_MARGIN = 1e-5
# The rule older versions also offered (`threshold_method`), removed: a file naming it is
# refused where it would choose a threshold again, and read where it only records one.
REMOVED_RULE = "youden"


def check_target(target_sensitivity: float | None) -> float:
    """The sensitivity target to reach (None, as older study configs wrote the default:
    TARGET_SENSITIVITY); ConfigError outside (0, 1], before any training."""
    target = TARGET_SENSITIVITY if target_sensitivity is None else target_sensitivity
    number = isinstance(target, int | float | np.number) and not isinstance(target, bool)
    if not number or not 0 < float(target) <= 1:  # "0.8" or true in a JSON config: refused
        raise ConfigError(
            f"target_sensitivity must be a number in (0, 1], got {target_sensitivity!r}"
        )
    return float(target)


def drop_threshold_method(d: dict) -> dict:
    """`d` (a study config) without `threshold_method`, an option older versions had: dropped
    at "sensitivity", the rule thermocad always uses now; any other value refused in one line."""
    d = dict(d)
    method = d.pop("threshold_method", "sensitivity")
    if method != "sensitivity":
        raise ConfigError(
            f"threshold_method {method!r} was removed (Youden's J measured worse, "
            "experiments/records/decisions.md): thermocad chooses the highest threshold reaching "
            f"target_sensitivity (default {TARGET_SENSITIVITY:.2f}) on validation; drop "
            "threshold_method"
        )
    return d


def rule_words(target_sensitivity: float | None = None, method: str | None = None) -> str:
    """The rule in words, e.g. 'the highest reaching sensitivity 0.90'. `method`: what an older
    record names (its "youden": a threshold chosen by the removed rule, read, not chosen again)."""
    if method == REMOVED_RULE:
        return "Youden's J (a rule thermocad has since removed)"
    target = TARGET_SENSITIVITY if target_sensitivity is None else target_sensitivity
    return f"the highest reaching sensitivity {target:.2f}"


def choose_threshold(y_true, prob, target_sensitivity: float | None = TARGET_SENSITIVITY) -> float:
    """Decision threshold on P(Sick) from validation data: the highest whose sensitivity
    reaches `target_sensitivity` (default 0.90, the rule decisions.md kept; None: the default).
    Falls back to 0.5 (with a warning) when the data hold a single class.

    The threshold returned is the picked score less NOISE_MARGIN (never below the midpoint to
    the next lower score), not the picked woman's score itself: the same women are called
    Sick, and a score moved by numerical noise (another batch size, ONNX: 1e-8 to 1e-6)
    cannot flip the woman it was picked on.

    Only thresholds model.json can hold are candidates (0..1, Sick when P(Sick) >= threshold):
    calling nobody Sick is one while no P(Sick) is exactly 1, and is out of reach otherwise.
    """
    target = check_target(target_sensitivity)
    y, p = np.asarray(y_true).astype(int), np.asarray(prob, float)
    if not two_classes(y):
        from thermocad.utils.progress import log

        log("WARNING: the validation predictions hold one class: threshold 0.5, chosen on nothing")
        return 0.5
    # Every distinct score is a candidate: the points a drawn curve drops include the top of a
    # run of Sick scores, which is the threshold the rule asks for.
    fpr, tpr, thr = roc_points(y, p, every=True)
    # sklearn puts +inf first (nobody Sick); stored as 1.0 it calls P(Sick) = 1 Sick, a point
    # the curve has already, so it is a candidate only where no score is 1.
    keep = np.isfinite(thr) | (p.max() < 1.0)
    tpr, thr = tpr[keep], np.minimum(thr[keep], 1.0)
    return _below(float(thr[np.argmax(tpr >= target - 1e-12)]), p)


def _below(picked: float, scores: np.ndarray) -> float:
    """Just below the picked score: NOISE_MARGIN under it, or halfway to the next lower distinct
    score (0 below the lowest) where that is closer, so every score >= picked stays at or
    above the threshold and every lower score below it."""
    lower = scores[scores < picked]
    midpoint = (picked + (float(lower.max()) if lower.size else 0.0)) / 2
    return max(picked - NOISE_MARGIN, midpoint)


def choose_patient_threshold(pred: pd.DataFrame,
                             target_sensitivity: float | None = TARGET_SENSITIVITY) -> float:  # fmt: skip
    """choose_threshold() on one row per woman (`aggregate_patients`): the threshold is applied
    to each woman's P(Sick), so it is chosen on women, not on frames (a woman imaged four times
    would count four times). Needs columns patient_id, y and prob."""
    pat = aggregate_patients(pred)
    return choose_threshold(pat["y"], pat["prob"], target_sensitivity)
