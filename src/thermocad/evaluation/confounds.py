"""Confound audit: how well quantities that are not disease separate Sick from Healthy alone.

Each quantity is scored as a classifier (AUC of the better direction: 0.5 = no information),
over all patients and within each batch holding both classes. A high value means a model can
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

from thermocad.evaluation.metrics import roc_auc
from thermocad.evaluation.periods import (
    DATE,
    batch_values,
    dates,
    first_dates,
    sick,
    two_class_batches,
)

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


def separation(y, x) -> float:
    """AUC of the better direction, NaN when undefined (one class, or no values)."""
    y, x = np.asarray(y, int), np.asarray(x, float)
    keep = np.isfinite(x)
    if len(np.unique(y[keep])) < 2:
        return float("nan")
    auc = roc_auc(y[keep], x[keep])
    return max(auc, 1 - auc)


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


def confound_audit(cohort: pd.DataFrame) -> pd.DataFrame:
    """One row per quantity: AUC alone overall and within each two-class batch, and a flag.

    `cohort`: cohort.csv or split.csv rows (one row per image; the first image per patient is
    used). Quantities the table lacks are left out; a date column without dates reads n/a.
    """
    kept = cohort
    if "excluded_reason" in cohort.columns:
        kept = cohort[cohort["excluded_reason"].fillna("").astype(str) == ""]
    # Her first row whole (not each column's first non-empty value, which could mix images).
    patients = kept.groupby("patient_id", as_index=False, sort=True).head(1)
    patients = patients.sort_values("patient_id").reset_index(drop=True)
    if DATE in kept.columns:  # her first date, as the period-matched subset dates her
        patients[DATE] = patients["patient_id"].map(first_dates(kept))
    y, batch = sick(patients), batch_values(patients)
    rows, pvalues = [], []
    for column, name in QUANTITIES.items():
        if column not in patients.columns and column != "acquisition_date":
            continue
        x = _values(patients, column) if column in patients.columns else pd.Series(np.nan, index=patients.index)  # fmt: skip
        row = {"quantity": name, "patients with a value": int(x.notna().sum()),
               "AUC overall": separation(y, x)}  # fmt: skip
        cells = [(row["AUC overall"], p_value(y, x))]
        for value in two_class_batches(patients):
            inside = (batch == value).to_numpy()
            row[f"AUC within batch {value}"] = separation(y[inside], x[inside])
            cells.append((row[f"AUC within batch {value}"], p_value(y[inside], x[inside])))
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
        aucs = ", ".join(f"{k.removeprefix('AUC ')} {v:.3f}" for k, v in r.items()
                         if str(k).startswith("AUC") and np.isfinite(v))  # fmt: skip
        notes.append(f"{r['quantity']} alone separates the classes (AUC {aucs}): anything in "
                     "the images that drifts with it can stand in for disease")  # fmt: skip
    return notes
