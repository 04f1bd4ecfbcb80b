"""Which women a model's calls get wrong, by the groups the confounds run through: the Sick
women it misses by acquisition batch, and the Healthy women it calls Sick by period (imaged
when Sick women were too, or not). A CLAIM review: the fit card counted its errors without
saying whose they were."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def wrong_calls(rows: pd.DataFrame, threshold: float) -> dict:
    """{"missed": {"batch A": [missed, Sick women], ...}, "false_alarms": {"in the shared
    period" / "outside it": [called Sick, Healthy women]}} from image rows with `patient_id`,
    a label (`y` or `label`), `prob` and, where they have them, `acquisition_batch` and
    `period_matched` (a woman's call: her mean P(Sick) against `threshold`, as the 2 x 2
    table's). A table of one batch gives no batches; one without period-matched women, no
    periods; an empty group is left out."""
    from thermocad.evaluation.metrics import aggregate_patients
    from thermocad.evaluation.periods import BATCH, PERIOD, batch_values, period_matched
    from thermocad.io.labels import with_y

    rows = with_y(rows) if "y" not in rows.columns else rows
    women = aggregate_patients(rows).set_index("patient_id")
    sick_call = women["prob"] >= threshold
    first = rows.groupby("patient_id").head(1).set_index("patient_id")  # her batch and period
    out: dict[str, dict[str, list[int]]] = {"missed": {}, "false_alarms": {}}
    batch = batch_values(first.reset_index()).set_axis(first.index)
    sick = women.index[women["y"] == 1]
    if BATCH in first.columns and batch.nunique() > 1:
        for name, ids in batch.reindex(sick).groupby(batch.reindex(sick)).groups.items():
            out["missed"][f"batch {name}"] = [int((~sick_call[ids]).sum()), len(ids)]
    inside = period_matched(first.reset_index()).set_axis(first.index)
    healthy = women.index[women["y"] == 0]
    if PERIOD in first.columns and inside.any():
        for name, ids in (("in the shared period", healthy[inside[healthy].to_numpy()]),
                          ("outside it", healthy[~inside[healthy].to_numpy()])):  # fmt: skip
            if len(ids):
                out["false_alarms"][name] = [int(sick_call[ids].sum()), len(ids)]
    return {k: v for k, v in out.items() if v}
