"""Confound audit: how well quantities that are not disease separate Sick from Healthy alone.

Each quantity is scored as a classifier (AUC of the better direction: 0.5 = no information),
over all patients and within each batch holding both classes, each AUC with a 95% bootstrap
interval over the women (`separation_ci`). A high value means a model can
score by learning that quantity (or anything in the image that drifts with it) instead of
disease. The acquisition date is audited here and nowhere used as a model input.

A quantity is flagged when an AUC of its reaches FLAG_AUC and its two-sided Mann-Whitney p is
below ALPHA divided by the number of AUCs in the audit (Bonferroni): the better direction of
a quantity with no signal averages about 0.58 among 31 women and passes 0.7 in 6% of draws,
so the size of the AUC alone would flag noise in a small cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from thermocad.evaluation.intervals import auc_interval, stratified_auc_replicates
from thermocad.evaluation.metrics import roc_auc, too_few
from thermocad.evaluation.periods import (
    DATE,
    batch_values,
    dates,
    first_dates,
    sick,
    two_class_batches,
)
from thermocad.utils.tables import as_text, finite_interval, fmt_ci

FLAG_AUC = 0.7  # a non-clinical quantity this predictive is a shortcut worth a flag
ALPHA = 0.05  # family-wise, over every AUC of the audit
# cohort.csv column -> what it measures; the patient number is the DMR acquisition order.
QUANTITIES = {
    "acquisition_date": "acquisition date",
    "patient_id": "patient number (acquisition order)",
    "t_min": "coldest pixel (C)",
    "t_max": "warmest pixel (C)",
    "skin_median": "median skin temperature (C)",
    "room_median": "room temperature (background median, C)",
    "marker_px": "calibration marker area (px)",
}
# An 8/16-bit image cohort's: grey levels, and no skin or room temperature to audit (a review
# found "(C)" said of grey levels).
GREY = {"t_min": "darkest pixel (grey level)", "t_max": "brightest pixel (grey level)",
        "skin_median": None, "room_median": None}  # fmt: skip


def separation(y, x) -> float:
    """AUC of the better direction, NaN when undefined (one class, or no values)."""
    y, x = np.asarray(y, int), np.asarray(x, float)
    keep = np.isfinite(x)
    if len(np.unique(y[keep])) < 2:
        return float("nan")
    auc = roc_auc(y[keep], x[keep])
    return max(auc, 1 - auc)


def separation_ci(
    y, x, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[tuple[float, float], str]:
    """The 95% bootstrap interval (BCa: intervals.auc_interval) of `separation`'s AUC, and why
    there is none ('fewer than 5 Sick women'; '' when there is one, or no AUC to bracket).

    Over the women with a value, seeded, stratified by class: each replicate draws as many
    Sick and as many Healthy of them as there are. The direction is the one `separation`
    chose on all of them (higher values Sick when their AUC is at least 0.5, lower values
    Sick otherwise), held in every replicate: the interval is of the AUC the audit shows, in
    that direction, and reaches below 0.5 where the women do not settle which way it goes."""
    y, x = np.asarray(y, int), np.asarray(x, float)
    keep = np.isfinite(x)
    y, x = y[keep], x[keep]
    none = (float("nan"), float("nan"))
    if len(np.unique(y)) < 2:
        return none, ""
    few = too_few({"Sick": int((y == 1).sum()), "Healthy": int((y == 0).sum())})
    if few or not n_boot:
        return none, few
    x = x if roc_auc(y, x) >= 0.5 else -x  # the direction shown: AUC(-x) is 1 - AUC(x)
    return auc_interval(y, x, stratified_auc_replicates(y, x, n_boot, seed), alpha=alpha)[0], ""


def auc_columns(audit: pd.DataFrame) -> list[str]:
    """The audit's AUC columns ('AUC overall', 'AUC within batch A', ...); each has its
    interval in '95% CI of <column>' and, when it has none, why in 'no interval for <column>'."""
    return [c for c in audit.columns if str(c).startswith("AUC ")]


def p_value(y, x) -> float:
    """Two-sided Mann-Whitney p of x between the classes (NaN where `separation` is)."""
    from scipy.stats import mannwhitneyu

    y, x = np.asarray(y, int), np.asarray(x, float)
    keep = np.isfinite(x)
    y, x = y[keep], x[keep]
    if len(np.unique(y)) < 2 or np.ptp(x) == 0:
        return float("nan") if len(np.unique(y)) < 2 else 1.0
    return float(mannwhitneyu(x[y == 1], x[y == 0], alternative="two-sided").pvalue)


def _values(patients: pd.DataFrame, column: str) -> pd.Series:
    if column == "acquisition_date":
        when = dates(patients)
        return (when - pd.Timestamp("1970-01-01")).dt.days.astype(float)
    return pd.to_numeric(patients[column], errors="coerce").astype(float)


def confound_audit(cohort: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per quantity: AUC alone overall and within each two-class batch, each with its
    bootstrap interval (`separation_ci`, `n_boot` replicates seeded with `seed`), and a flag.
    A batch holding every woman (or the one batch "all" of a table naming none) gets no
    column: it would repeat the overall AUC and count twice in the Bonferroni cut.

    `cohort`: cohort.csv or split.csv rows (one row per image; the first image per patient is
    used). Quantities the table lacks are left out; a date column without dates reads n/a.
    """
    kept = cohort
    if "excluded_reason" in cohort.columns:
        kept = cohort[as_text(cohort["excluded_reason"]) == ""]
    # Her first row whole (not each column's first non-empty value, which could mix images).
    patients = kept.groupby("patient_id", as_index=False, sort=True).head(1)
    patients = patients.sort_values("patient_id").reset_index(drop=True)
    if DATE in kept.columns:  # her first date, as the period-matched subset dates her
        patients[DATE] = patients["patient_id"].map(first_dates(kept))
    y, batch = sick(patients), batch_values(patients)
    rows, pvalues = [], []
    grey = "unit" in kept.columns and len(kept) and (kept["unit"].astype(str) == "intensity").all()
    for column, name in (QUANTITIES | GREY if grey else QUANTITIES).items():
        if name is None or (column not in patients.columns and column != "acquisition_date"):
            continue
        x = _values(patients, column) if column in patients.columns else pd.Series(np.nan, index=patients.index)  # fmt: skip
        row, cells = {"quantity": name, "patients with a value": int(x.notna().sum())}, []
        subsets = {"overall": np.ones(len(patients), bool)}
        subsets |= {f"within batch {b}": inside for b in two_class_batches(patients)
                    if not (inside := (batch == b).to_numpy()).all()}  # fmt: skip
        for where, inside in subsets.items():
            key, yi, xi = f"AUC {where}", y[inside], x[inside]
            row[key] = separation(yi, xi)
            row[f"95% CI of {key}"], row[f"no interval for {key}"] = separation_ci(yi, xi, n_boot, seed)  # fmt: skip
            cells.append((row[key], p_value(yi, xi)))
        rows.append(row)
        pvalues.append([(auc, p) for auc, p in cells if np.isfinite(auc)])
    tests = max(1, sum(len(c) for c in pvalues))
    for row, cells in zip(rows, pvalues, strict=True):
        row["flag"] = any(auc >= FLAG_AUC and p < ALPHA / tests for auc, p in cells)
    return pd.DataFrame(rows)


def audit_notes(audit: pd.DataFrame) -> list[str]:
    """One line per flagged quantity, naming its AUCs."""
    notes = []
    for _, r in audit[audit["flag"]].iterrows():
        aucs = ", ".join(f"{k.removeprefix('AUC ')} {fmt_ci(r[k], finite_interval(r.get(f'95% CI of {k}')))}"
                         for k in auc_columns(audit) if np.isfinite(r[k]))  # fmt: skip
        notes.append(f"{r['quantity']} alone separates the classes (AUC {aucs}): anything in "
                     "the images that drifts with it can stand in for disease")  # fmt: skip
    return notes


def confound_notes(rows: pd.DataFrame) -> list[str]:
    """What besides disease separates the classes in these rows: the batch, the acquisition
    date, and every other quantity the confound audit flags (the report's, per woman): the
    model card's notes."""

    def recorded(column: str) -> bool:  # prepare writes both columns, empty when unknown
        return column in rows.columns and as_text(rows[column]).str.strip().any()

    notes = []
    if recorded("acquisition_batch"):
        for batch, g in rows.groupby(as_text(rows["acquisition_batch"], "missing"), sort=True):
            labels = sorted(set(g["label"].astype(str)))
            if len(labels) == 1:
                notes.append(f"acquisition batch {batch} holds only {labels[0]} images: the "
                             "batch alone predicts the label (a shortcut a model can learn)")  # fmt: skip
        if not notes:
            notes.append("every acquisition batch holds both classes")
    else:
        notes.append("no acquisition batch recorded in the split: its confound is not measured")
    audit, date = confound_audit(rows), QUANTITIES["acquisition_date"]
    if recorded("acquisition_date"):  # the date's AUC is said, flagged or not
        row = audit.set_index("quantity").loc[date]
        if np.isfinite(auc := row["AUC overall"]):
            ci = finite_interval(row.get("95% CI of AUC overall"))
            shown = fmt_ci(auc, ci)
            if ci is not None and ci[0] <= 0.5 <= ci[1]:  # said as weakly as its interval
                notes.append(f"the acquisition date alone gives AUC {shown} (0.5 = no "
                             "information): its interval holds 0.5, so these women show no "
                             "clear difference in when the classes were imaged")  # fmt: skip
            else:
                notes.append(f"the acquisition date alone separates Sick from Healthy women "
                             f"with AUC {shown} (0.5 = no information): the classes were imaged "
                             "at different times (room, season, camera set-up)")  # fmt: skip
    else:
        notes.append("no acquisition date recorded in the split: its confound is not measured")
    return notes + audit_notes(audit[audit["quantity"] != date])
