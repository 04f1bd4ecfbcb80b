"""What nested cross-validation reports: its metrics by subset (`nested_metrics`) and
nested.md (`markdown`), the outer estimate first, then each outer fold's choice."""

from __future__ import annotations

import pandas as pd

from thermocad.evaluation import metrics as M
from thermocad.evaluation import periods as P
from thermocad.evaluation.evaluate import by_period, patient_frame
from thermocad.io.labels import with_y
from thermocad.utils.tables import fmt_ci


def nested_metrics(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """Patient-level AUC (bootstrap interval) and sensitivity / specificity at each fold's own
    threshold (Wilson intervals): overall, within each two-class batch, period-matched."""
    df = with_y(pred)
    pat = patient_frame(df, "threshold")  # each woman's fold threshold, batch, date
    result = by_period(pat, n_boot, seed)
    masks = P.subsets(pat)
    for name, entry in result["subsets"].items():
        if entry.get("n") is None:  # the period-matched subset without dates
            continue
        part = pat[masks[name]]
        c = M.get_counts(part["y"], part["prob"] >= part["threshold"])
        entry.update(counts=c.__dict__, sensitivity=M.sensitivity(c), specificity=M.specificity(c),
                     sensitivity_ci=M.proportion_ci("sensitivity", c),
                     specificity_ci=M.proportion_ci("specificity", c))  # fmt: skip
    return result


def _estimate_rows(metrics: dict, who: str = "") -> list[str]:
    rows = []
    for name, e in P.shown_subsets(metrics["subsets"]).items():
        n = "n/a" if e.get("n") is None else f"{e['n']} ({e['n_sick']})"
        rows.append(f"| {name}{who} | {n} | {fmt_ci(e.get('roc_auc'), e.get('ci'))} "
                    f"| {fmt_ci(e.get('sensitivity'), e.get('sensitivity_ci'))} "
                    f"| {fmt_ci(e.get('specificity'), e.get('specificity_ci'))} |")  # fmt: skip
    return rows


def markdown(summary: dict) -> str:
    """The outer estimate by subset (and the baseline alone's, by the same protocol, when it
    was not the only candidate), then each outer fold's choice."""
    lines = ["| patients | n (Sick) | AUC (95% CI) | sensitivity (95% CI) | specificity (95% CI) |",
             "|---|---|---|---|---|", *_estimate_rows(summary["metrics"])]  # fmt: skip
    if alone := summary.get("baseline_alone"):
        lines += _estimate_rows(alone, ", the baseline alone (yardstick)")
    lines += ["", "| outer fold | chosen | threshold | inner patient AUC per candidate |",
              "|---|---|---|---|"]  # fmt: skip
    for f in summary["folds"]:
        scores = ", ".join(f"{k} {fmt_ci(v, None)}" for k, v in f["inner_patient_auc"].items())
        lines.append(f"| {f['outer_fold']} | {f['chosen']} | {f['threshold']:.3f} | {scores} |")
    if resumed := summary.get("resumed_inside"):
        lines += ["", f"Resumed inside a training stage: {', '.join(resumed)}; their weights "
                  "(and possibly the choices) differ from an uninterrupted run's."]  # fmt: skip
    return "\n".join(lines) + "\n"
