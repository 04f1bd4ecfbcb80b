"""The model card's Evaluation section for a `thermocad fit` folder: its cross-validation's
figures as model.json's `cv` records them (the served model by subset, its halves, the 2 x 2
table and calibration at the stored threshold, the drift and the room stress)."""

from __future__ import annotations

from thermocad.evaluation.periods import ROOM_DRIFT_UNMEASURED, room_drift_words
from thermocad.utils.tables import finite_interval, fmt_ci


def _n(n) -> str:
    return "" if n is None else f" (n={int(n)})"


def cv_evaluation(cv: dict) -> list[str]:
    """`thermocad fit`'s cross-validation: the served model by subset, its halves, the drift."""

    def auc(value, lo=None, hi=None) -> str:
        return fmt_ci(value, (lo, hi))

    ci = cv.get("patient_roc_auc_ci") or [None, None]
    batch = cv.get("batch") or "-"
    lines = [f"Cross-validated by `thermocad fit` over {cv.get('folds')} patient-grouped folds: "
             "each woman predicted once by a model that never saw her, the threshold chosen on "
             "the same pooled predictions (so its sensitivity and specificity are "
             "optimistic). Patient-level AUC, 95% bootstrap intervals."
             + (" Read the period-matched column first: there the acquisition date separates "
                "the classes least." if cv.get("period_n") else ""), "",
             f"| model | AUC (n={cv.get('patients', '?')}) | batch {batch}{_n(cv.get('batch_n'))} "
             f"| period-matched{_n(cv.get('period_n'))} |", "|---|---|---|---|",
             f"| served (this model) | {auc(cv.get('patient_roc_auc'), *ci)} "
             f"| {auc(cv.get('batch_roc_auc'), cv.get('batch_roc_auc_lo'), cv.get('batch_roc_auc_hi'))} "
             f"| {auc(cv.get('period_roc_auc'), cv.get('period_roc_auc_lo'), cv.get('period_roc_auc_hi'))} |"]  # fmt: skip
    for name, row in (cv.get("halves") or {}).items():
        label = {"cnn": "CNN"}.get(name, name)
        lines.append(f"| its {label} alone | {auc(row.get('patient_roc_auc'), *(row.get('patient_roc_auc_ci') or []))} "
                     f"| {auc(row.get('batch_roc_auc'), row.get('batch_roc_auc_lo'), row.get('batch_roc_auc_hi'))} "
                     f"| {auc(row.get('period_roc_auc'), row.get('period_roc_auc_lo'), row.get('period_roc_auc_hi'))} |")  # fmt: skip
    lines += _kept_over_a_half(cv)
    lines += ["", f"At the stored threshold, out of fold (95% Wilson intervals): sensitivity "
              f"{auc(cv.get('sensitivity'), *(cv.get('sensitivity_ci') or []))}, specificity "
              f"{auc(cv.get('specificity'), *(cv.get('specificity_ci') or []))}."]  # fmt: skip
    lines += (
        _two_by_two(cv.get("counts")) + _whose(cv.get("wrong_calls")) + _ppv(cv) + _calibration(cv)
    )
    drift = cv.get("healthy_date_drift")
    if drift:
        lines += ["", f"Date drift: among the Healthy women of batch {drift['batch']}, P(Sick) "
                  f"tells the {drift['n_inside']} imaged in the period when Sick women were also "
                  f"imaged from the {drift['n_outside']} imaged outside it with AUC "
                  f"{auc(drift['roc_auc'], *(drift.get('ci') or [None, None]))} (0.5: the model "
                  f"does not follow the date; {_date_reading(drift.get('ci'))})."]  # fmt: skip
    room = cv.get("healthy_room_drift")
    if room or "healthy_room_drift" in cv:  # measured, or said not to be
        lines += ["", room_drift_words(room) + " (0: the model does not follow the room)."
                  if room else ROOM_DRIFT_UNMEASURED + "."]  # fmt: skip
    stress = cv.get("room_stress")
    if stress:
        cool, warm = stress["rooms"]
        lines += ["", f"Room stress: of the {stress['n_healthy']} Healthy women, "
                  f"{stress['own']['called_sick']} called Sick in their own rooms, "
                  f"{cool['called_sick']} when re-rendered as if imaged at {cool['room']:.1f} °C "
                  f"and {warm['called_sick']} at {warm['room']:.1f} °C (each by the fold model "
                  "that never saw her; thermocad.evaluation.room)."]  # fmt: skip
    return lines


def _reading(ci, null: float, above: str, below: str) -> str:
    """What an interval says against the value of no effect (`null`): `above` or `below` it
    (after "its interval lies above/below NULL: "), "its interval holds NULL", or no interval."""
    ci = finite_interval(ci)
    if ci is None:
        return "no interval"
    if ci[0] > null:
        return f"its interval lies above {null:g}: {above}"
    if ci[1] < null:
        return f"its interval lies below {null:g}: {below}"
    return f"its interval holds {null:g}"


def _date_reading(ci) -> str:
    """What the date drift's interval says, as the calibration's and the room's are read."""
    return _reading(ci, 0.5, "P(Sick) follows the date", "P(Sick) follows the date the other way")


def _two_by_two(counts: dict | None) -> list[str]:
    """The out-of-fold calls at the stored threshold against the labels (model.json's since
    2026-12-07; nothing for an older fit)."""
    if not counts or not all(isinstance(counts.get(k), int) for k in ("tp", "fn", "fp", "tn")):
        return []
    tp, fn, fp, tn = (counts[k] for k in ("tp", "fn", "fp", "tn"))
    return ["", "Out of fold, at the stored threshold:", "",
            "| | called Sick | called Healthy |", "|---|---|---|",
            f"| truly Sick ({tp + fn}) | {tp} | {fn} (missed) |",
            f"| truly Healthy ({fp + tn}) | {fp} (false alarms) | {tn} |"]  # fmt: skip


def headline(cv: dict) -> list[str]:
    """The card's first result (a reading of the card: the figure that matters sat in a
    table's third column): the period-matched AUC, where the date cannot tell the classes
    apart, with what its interval says; else the AUC over all women."""
    auc, ci = cv.get("patient_roc_auc"), cv.get("patient_roc_auc_ci") or [None, None]
    if not isinstance(auc, int | float):
        return []
    overall = fmt_ci(auc, ci)
    period, lo, hi = (cv.get(k) for k in ("period_roc_auc", "period_roc_auc_lo", "period_roc_auc_hi"))  # fmt: skip
    if not isinstance(period, int | float) or not cv.get("period_n"):
        return [f"**Main result:** cross-validated AUC {overall} over {cv.get('patients')} women "
                "(no dates: how much of it the acquisition date explains is not measured).", ""]  # fmt: skip
    chance = ", not shown better than chance" if isinstance(lo, float) and lo <= 0.5 else ""
    interval = f" (95% CI {fmt_ci(lo)}-{fmt_ci(hi)}{chance})" if isinstance(lo, float) else ""
    return [f"**Main result:** cross-validated AUC {fmt_ci(period)}{interval} among the "
            f"{cv['period_n']} women of batch {cv.get('batch', '?')} imaged in the shared period, "
            "when both Healthy and Sick women were imaged and the date separates them least. All "
            f"{cv.get('patients')} women: {overall}, which date differences can inflate (see "
            "\"Limitations and confounds measured\").", ""]  # fmt: skip


def _kept_over_a_half(cv: dict) -> list[str]:
    """Why the served mean is kept where a half alone scores higher period-matched (a reading
    of the card: 0.792 against 0.704, unexplained)."""
    served, out = cv.get("period_roc_auc"), []
    for name, row in (cv.get("halves") or {}).items():
        alone = row.get("period_roc_auc")
        if isinstance(served, int | float) and isinstance(alone, int | float) and alone > served:
            label = {"cnn": "CNN"}.get(name, name)
            ends = [row.get("period_roc_auc_lo"), cv.get("period_roc_auc_hi")]
            overlap = all(isinstance(v, float) for v in ends) and ends[0] <= ends[1]
            out += ["", f"Its {label} alone scores higher in the shared period "
                    f"({fmt_ci(alone)} against {fmt_ci(served)}"
                    + ("; the intervals overlap" if overlap else "") + "). The served model, "
                    "the mean of both, was fixed before these women were seen: switching to "
                    "whichever part looks best on them afterwards would not carry over to new "
                    "women."]  # fmt: skip
    return out


def _whose(wrong: dict | None) -> list[str]:
    """Whose out-of-fold calls were wrong, by batch (missed) and by period (false alarms):
    model.json's `wrong_calls` since 2026-12-07 (nothing for an older fit)."""
    missed = [f"{k} of {n} in {name}" for name, (k, n) in (wrong or {}).get("missed", {}).items()]
    alarms = [f"{k} of {n} imaged {name}"
              + (f" (specificity there {1 - k / n:.2f})" if "shared" in name else "")
              for name, (k, n) in (wrong or {}).get("false_alarms", {}).items()]  # fmt: skip
    parts = [f"{what}: {', '.join(items)}" for what, items in
             (("Sick women missed", missed), ("Healthy women called Sick", alarms)) if items]  # fmt: skip
    return ["", f"Errors by group, cross-validated: {'; '.join(parts)}."] if parts else []


def _ppv(cv: dict) -> list[str]:
    """The out-of-fold sensitivity and specificity as a screening clinic would meet them (a
    clinical reading: only the study's HTML card said it)."""
    counts = cv.get("counts") or {}
    if not all(isinstance(counts.get(k), int) for k in ("tp", "fn", "fp", "tn")):
        return []
    p = {"sensitivity": cv.get("sensitivity"), "specificity": cv.get("specificity"),
         "n": sum(counts[k] for k in ("tp", "fn", "fp", "tn")), "n_sick": counts["tp"] + counts["fn"],
         "proportion_ci": {k: cv.get(f"{k}_ci") for k in ("sensitivity", "specificity")}}  # fmt: skip
    words = prevalence_words(p, "women cross-validated")
    return ["", words.strip()] if words else []


def _calibration(cv: dict) -> list[str]:
    """Calibration of the pooled out-of-fold P(Sick): slope and Brier score with intervals."""
    slope, brier = cv.get("calibration_slope"), cv.get("brier")
    if not isinstance(brier, float):  # an older fit's model.json
        return []
    ci = cv.get("calibration_slope_ci") or [None, None]
    reading = _reading(ci, 1, "the P(Sick) sit too close to the middle, under-confident",
                       "the P(Sick) are too extreme, over-confident")  # fmt: skip
    return ["", f"Calibration of the out-of-fold P(Sick) (the fold models'): slope "
            f"{fmt_ci(slope, ci)} (1 is ideal; {reading}), Brier score "
            f"{fmt_ci(brier, cv.get('brier_ci') or [None, None])} (0 is perfect). Read P(Sick) "
            "as a score to rank women by and compare with the threshold, not as a probability "
            "of cancer."]  # fmt: skip


SCREENING_PREVALENCE = 0.005  # about 5 cancers per 1,000 women screened


# What a PPV at screening prevalence assumes (a CLAIM review: the labels' Sick taken for cancer).
_IF = ("; this assumes its Sick means cancer, and rates measured on women chosen by their "
       "diagnosis usually fall in screening (spectrum bias)")  # fmt: skip


def prevalence_words(p: dict, who: str = "test patients") -> str:
    """PPV as the share of Sick among `who` makes it, and at a screening prevalence, with the
    range the ends of the sensitivity's and specificity's intervals give (`p`: a metrics
    summary: sensitivity, specificity, n, n_sick and their proportion_ci)."""
    from thermocad.evaluation.metrics import proportion_intervals

    sens, spec, n, sick = p.get("sensitivity"), p.get("specificity"), p.get("n"), p.get("n_sick")
    if not all(isinstance(v, int | float) and v == v for v in (sens, spec, n, sick)) or not n:
        return ""
    q = SCREENING_PREVALENCE

    def ppv(se: float, sp: float) -> float:
        alarms = se * q + (1 - sp) * (1 - q)
        return se * q / alarms if alarms > 0 else float("nan")

    ci = proportion_intervals(p)
    ends = (finite_interval(ci.get("sensitivity")), finite_interval(ci.get("specificity")))
    (se, sp), known = ends, all(ends)  # the lowest PPV: both low ends; the highest: both high
    # Not written x (lo-hi), the form of a 95% interval everywhere else: it is not one.
    span = (f"; between {fmt_ci(ppv(se[0], sp[0]))} and {fmt_ci(ppv(se[1], sp[1]))} with both at the "
            "low or both at the high ends of their 95% intervals (a range, not a confidence "
            "interval)") if known else ""  # fmt: skip
    point = ppv(sens, spec)  # said per 1,000 where it is a share (not n/a, nor 1 of no alarms)
    per = (f" (of 1,000 women it calls Sick there, about {1000 * point:.0f} have cancer)"
           if 0 < point < 1 else "")  # fmt: skip
    return (f"PPV and NPV depend on how common the disease is: {sick / n:.0%} of the {who} "
            f"are Sick; at a screening prevalence of {q:.1%} (about 5 cancers per 1,000 women "
            f"screened) this sensitivity and specificity give a PPV of "
            f"{fmt_ci(point)}{per}{span}{_IF * (0 < point <= 1)}. ")  # fmt: skip
