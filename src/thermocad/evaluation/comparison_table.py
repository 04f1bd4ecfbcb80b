"""The comparison's table: one row per candidate (comparison.csv), the name each is served
by, and its Markdown (comparison.md); the study report's section reads the same rows."""

from __future__ import annotations

import pandas as pd

from thermocad.evaluation import periods as P
from thermocad.evaluation.runs import cnn_alone_auc
from thermocad.models.words import served_name
from thermocad.utils.markdown import md_cell
from thermocad.utils.tables import fmt_ci, tidy

TABLE_COLUMNS = [
    "model", "status", "n_folds", "n_images", "n_patients", "accuracy", "tn", "fp", "fn", "tp",
    "sensitivity", "sensitivity_lo", "sensitivity_hi", "specificity", "specificity_lo",
    "specificity_hi", "roc_auc", "roc_auc_lo", "roc_auc_hi", "patient_roc_auc",
    "patient_roc_auc_lo", "patient_roc_auc_hi", "batch", "batch_roc_auc", "batch_roc_auc_lo",
    "batch_roc_auc_hi", "batch_n", "period_roc_auc", "period_roc_auc_lo", "period_roc_auc_hi",
    "period_n", "cnn_alone_patient_roc_auc", "served", "threshold", "parameters", "train_time_s",
]  # fmt: skip


def table_row(name: str, result: dict, n_folds: int) -> dict:
    """One line of the comparison table from a model's validation evaluation: the calls
    (accuracy, counts, sensitivity, specificity) are the women's, at the threshold chosen on
    them; AUC is given per image and per woman."""
    ev = result["eval"]
    img, pat = ev["image"], ev["patient"]
    row = {"model": name, "status": "ok", "n_folds": n_folds, "n_images": img["n"],
           "n_patients": pat["n"], "accuracy": pat["accuracy"], **pat["counts"],
           "threshold": tidy(ev["threshold"]), "parameters": result.get("parameters"),
           "train_time_s": round(result["train_time_s"], 1)}  # fmt: skip
    for key, source, ci in (("sensitivity", pat, "proportion_ci"), ("specificity", pat, "proportion_ci"),
                            ("roc_auc", img, "bootstrap_ci"), ("patient_roc_auc", pat, "bootstrap_ci")):  # fmt: skip
        metric = key.removeprefix("patient_")
        lo, hi = source[ci].get(metric, (float("nan"), float("nan")))
        row.update({key: source[metric], f"{key}_lo": lo, f"{key}_hi": hi})
    row.update(P.period_columns(ev.get("by_period", {})))  # patient level, like patient_roc_auc
    row["cnn_alone_patient_roc_auc"] = cnn_alone_auc(result["pred"]) if "pred" in result else None
    row["served"] = served_name(name, "pred" in result and "prob_cnn" in result["pred"])
    return row


def display_name(row) -> str:
    """The model as served: 'efficientnet_lite0+baseline' for a CNN averaged with the baseline
    (the nested section's name for it)."""
    if isinstance(row.get("served"), str):  # else a comparison.csv from before the column:
        return row["served"]  # the CNN alone was scored only for an average
    return served_name(row["model"], pd.notna(row.get("cnn_alone_patient_roc_auc")))


def batch_label(table: pd.DataFrame) -> str:
    """'batch A': the batch the table's within-batch columns are about."""
    named = [b for b in table.get("batch", pd.Series(dtype=str)).dropna().astype(str) if b]
    return f"batch {named[0]}" if named else "within-batch"


def with_n(n) -> str:
    return "n/a" if n is None or pd.isna(n) else f"n={int(n)}"


def comparison_markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table like the study's Tables 3-4 (with 95% intervals):
    one (header, cell) pair per column; a column a table lacks (one written before it
    existed) reads n/a."""

    def ci(key: str, n: str | None = None):
        def cell(r) -> str:
            text = fmt_ci(r.get(key), (r.get(f"{key}_lo"), r.get(f"{key}_hi")))
            return f"{text} ({with_n(r.get(n))})" if n else text

        return cell

    def number(key: str, form: str):
        return lambda r: "n/a" if key not in r else "" if pd.isna(r[key]) else form.format(r[key])

    def counts(r) -> str:
        keys = ("tn", "fp", "fn", "tp")
        return " ".join(str(int(r[k])) for k in keys) if all(k in r for k in keys) else "n/a"

    columns = [("model", display_name), ("accuracy", number("accuracy", "{:.3f}")),
               ("TN FP FN TP", counts),
               ("sensitivity", ci("sensitivity")), ("specificity", ci("specificity")),
               ("AUC", ci("roc_auc")), ("patient AUC", ci("patient_roc_auc")),
               (f"{batch_label(table)} AUC (n)", ci("batch_roc_auc", "batch_n")),
               ("period-matched AUC (n)", ci("period_roc_auc", "period_n")),
               ("CNN alone: patient AUC", number("cnn_alone_patient_roc_auc", "{:.3f}")),
               ("parameters", number("parameters", "{:,.0f}")),
               ("train s", number("train_time_s", "{}"))]  # fmt: skip
    lines = ["| " + " | ".join(md_cell(h) for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    for _, r in table.iterrows():
        failed = [r["model"], r["status"], *[""] * (len(columns) - 2)]
        cells = [cell(r) for _, cell in columns] if r["status"] == "ok" else failed
        lines.append("| " + " | ".join(map(md_cell, cells)) + " |")
    return "\n".join(lines) + "\n"
