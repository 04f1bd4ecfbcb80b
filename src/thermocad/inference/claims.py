"""What a model's own cross-validation found, said beside each of its results (the app's Result
line, `explain`): its sensitivity and specificity at the stored threshold, with their counts
and intervals, and its AUC where the date, the room and the camera cannot tell the classes
apart (evaluation.periods). A clinician reads them where a call is read, not only in the
docs (a clinical reading, 2026-12-07)."""

from __future__ import annotations

import math
from typing import Any

from thermocad.models.words import edited_threshold_note, synthetic_training


def operating_note(meta: dict[str, Any]) -> str:
    """What the stored threshold did in `thermocad fit`'s cross-validation ('' without one)."""
    if edited := edited_threshold_note(meta):
        return edited[0].upper() + edited[1:]
    cv = meta.get("cv") or {}
    sens, spec, women = cv.get("sensitivity"), cv.get("specificity"), cv.get("patients")
    if not all(isinstance(v, int | float) for v in (sens, spec, women)):
        return ""
    who = f"{synthetic} patients" if (synthetic := synthetic_training(meta)) else "women"
    counts = cv.get("counts") or {}
    sick = _rate(sens, counts.get("tp"), counts.get("fn"), cv.get("sensitivity_ci"), "Sick")
    healthy = _rate(spec, counts.get("tn"), counts.get("fp"), cv.get("specificity_ci"), "Healthy")
    return (f"At this threshold the {cv.get('folds', 5)}-fold cross-validation of the procedure "
            f"that made this model ({women} {who}) found sensitivity {sick} and specificity "
            f"{healthy}, on the predictions that chose the threshold, so optimistic for new "
            f"women{period_note(cv, who)}")  # fmt: skip


def _rate(value: float, hits: Any, misses: Any, ci: Any, of: str) -> str:
    """'0.92 (45 of 49 Sick, Wilson 95% CI 0.81-0.97)' (fit's interval of a proportion), or the
    value alone where model.json (an older fit) keeps no counts."""
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (hits, misses)):
        return f"{value:.2f}"
    interval = ""
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(x, float) for x in ci):
        interval = f", Wilson 95% CI {ci[0]:.2f}-{ci[1]:.2f}"
    return f"{value:.2f} ({hits} of {hits + misses} {of}{interval})"


def period_note(cv: dict[str, Any], who: str = "women") -> str:
    """'' or how the model's cross-validation scored the women (`who`) imaged when both classes
    were (evaluation.periods): what is left when the date, the room and the camera cannot
    tell; '' too where that period holds every one of them (nothing to set apart)."""
    auc, period, n = cv.get("patient_roc_auc"), cv.get("period_roc_auc"), cv.get("period_n")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (auc, period, n)):
        return ""
    if n >= (cv.get("patients") or float("inf")):
        return ""
    ci = _auc_interval(cv)
    lower = round(period, 2) < round(auc, 2)
    return (f"; its AUC (0.5: no better than chance, 1: every Sick woman scored above every "
            f"Healthy one) was {auc:.2f} over all, {'but ' if lower else 'and '}{period:.2f}{ci} "
            f"among the {int(n)} {who} of batch {cv.get('batch', '?')} imaged in the period when "
            "both Healthy and Sick ones were, where the date, the room and the camera cannot "
            "tell them apart" + (": sensitivity and specificity on new women may be lower too"
                                 if lower else ""))  # fmt: skip


def _auc_interval(row: dict[str, Any]) -> str:
    """' (lo-hi)' of a row's period-matched AUC, saying when it holds 0.5 (a diff review: 'near
    chance' had been said of a half alone, and not of the served model's like interval)."""
    lo, hi = row.get("period_roc_auc_lo"), row.get("period_roc_auc_hi")
    if not (isinstance(lo, float) and isinstance(hi, float)):
        return ""
    return f" ({lo:.2f}-{hi:.2f}{', not shown better than chance' * not_above_chance(row)})"


def not_above_chance(row: dict[str, Any]) -> bool:
    """Whether a row's period-matched AUC interval (fit's cv, or one of cv.halves) holds 0.5."""
    lo, hi = row.get("period_roc_auc_lo"), row.get("period_roc_auc_hi")
    return isinstance(lo, float) and isinstance(hi, float) and lo <= 0.5 <= hi


def half(meta: dict[str, Any], whose: str) -> dict[str, Any]:
    """fit's cv.halves row of `whose` ("CNN" or "baseline"), {} without one."""
    return (((meta.get("cv") or {}).get("halves") or {}).get(whose.lower())) or {}


def half_note(meta: dict[str, Any], whose: str) -> str:
    """'' or how the half that makes a call alone (`whose`: "CNN" or "baseline") scored by
    itself among the women imaged when both classes were (`fit`'s cv.halves): a clinical
    reading found the baseline's calls near chance there (AUC 0.55)."""
    row = half(meta, whose)
    auc, n = row.get("period_roc_auc"), row.get("period_n")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (auc, n)):
        return ""
    who = f"{synthetic} patients" if (synthetic := synthetic_training(meta)) else "women"
    return (f" Alone, the {whose} half's AUC was {auc:.2f}{_auc_interval(row)} among the "
            f"{int(n)} {who} of batch {row.get('batch', '?')} imaged in the period when both "
            "Healthy and Sick ones were.")  # fmt: skip
