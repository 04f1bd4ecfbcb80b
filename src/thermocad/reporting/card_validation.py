"""The model card's held-out evaluation: its validation patients' headline figures, each with
its 95% interval (the patient bootstrap's for AUC, Wilson's over the women for proportions),
or 'n/a' and why where it has none."""

from __future__ import annotations

import pandas as pd

from thermocad.evaluation.metrics import proportion_intervals
from thermocad.io.labels import with_y
from thermocad.utils.tables import finite_interval, fmt_ci

# (key in evaluation.bootstrap.summarize, label)
HEADLINE = (
    ("roc_auc", "ROC AUC"),
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
    ("balanced_accuracy", "Balanced accuracy"),
)


def validation_summary(preds: pd.DataFrame, threshold: float, n_boot: int = 1000) -> dict:
    """Patient-level point metrics (P(Sick) averaged over a woman's images, as the threshold
    was chosen) and 95% intervals (patient bootstrap; Wilson for proportions), with the
    number of images and of bootstrap resamples (`n_boot`) the card names."""
    from thermocad.evaluation.bootstrap import summarize
    from thermocad.evaluation.metrics import aggregate_patients

    df = with_y(preds)
    out = summarize(aggregate_patients(df), threshold, n_boot=n_boot)
    return {**out, "n_images": len(df), "n_boot": n_boot}


def ci_text(summary: dict, key: str) -> str:
    """A headline figure's 95% interval, '0.512-0.901', or 'n/a' (with the bootstrap's reason
    where it gives one: 'n/a: fewer than 5 Sick women'), never 'nan-nan'."""
    ci = summary.get("bootstrap_ci", {}).get(key)
    if key in proportion_intervals(summary):  # proportions: Wilson, or the patient bootstrap's
        ci = proportion_intervals(summary)[key]
    if (ends := finite_interval(ci)) is not None:
        return f"{ends[0]:.3f}-{ends[1]:.3f}"
    why = (summary.get("bootstrap_ci_reasons") or {}).get(key)
    return f"n/a: {why}" if why else "n/a"


def _methods(summary: dict) -> str:
    """How the intervals were drawn, with the bootstrap's actual number of resamples."""
    n_boot = summary.get("n_boot")
    boot = ("patient bootstrap" if n_boot is None else
            f"patient bootstrap ({n_boot:,} resamples)" if n_boot else "none (no bootstrap)")  # fmt: skip
    if n_boot != 0:  # the AUC's interval; a summary from before 2026-12-06 has none said
        boot += f", {summary.get('auc_ci_method') or 'percentile'},"
    return f"{boot} for AUC, Wilson for proportions"  # over women: one row per patient


def evaluation_lines(summary: dict | None, threshold: float) -> list[str]:
    """The card's evaluation section for a run with held-out validation patients."""
    if not summary:
        return ["No held-out validation patients (a final model on every non-test patient): "
                "nothing measured here. Report the cross-validated figures that chose it."]  # fmt: skip
    images = summary.get("n_images", summary["n"])
    lines = [f"On this run's {summary['n_patients']} validation patients ({summary['n_sick']} "
             f"Sick; {images} images, P(Sick) averaged per patient), at threshold "
             f"{threshold:.4g}; 95% intervals: {_methods(summary)}.", "",
             "| metric | value | 95% CI |", "|---|---|---|"]  # fmt: skip
    for key, label in HEADLINE:
        lines.append(f"| {label} | {fmt_ci(summary[key])} | {ci_text(summary, key)} |")
    return lines
