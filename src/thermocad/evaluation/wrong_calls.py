"""Which women a model's calls get wrong, by the groups the confounds run through: the Sick
women it misses by acquisition batch, and the Healthy women it calls Sick by period (imaged
when Sick women were too, or not). A CLAIM review: the fit card counted its errors without
saying whose they were."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def wrong_calls(rows: pd.DataFrame, threshold: float) -> dict:
    """{"missed": {batch: [missed, Sick women]}, "false_alarms": {"in the shared period" /
    "outside it": [called Sick, Healthy women]}} from image rows with `patient_id`, `y`, `prob`
    and, where they have them, `acquisition_batch` and `period_matched` (a woman's call: her
    mean P(Sick) against `threshold`); a group the rows lack is left out."""
    from thermocad.evaluation.metrics import aggregate_patients
    from thermocad.evaluation.periods import BATCH, PERIOD

    women = aggregate_patients(rows).set_index("patient_id")
    first = rows.groupby("patient_id").first()
    women["sick_call"] = women["prob"] >= threshold
    out: dict[str, dict[str, list[int]]] = {"missed": {}, "false_alarms": {}}
    sick, healthy = women[women["y"] == 1], women[women["y"] == 0]
    if BATCH in first:
        batch = first[BATCH].astype("string").fillna("?")
        for name, group in sick.groupby(batch.reindex(sick.index)):
            out["missed"][f"batch {name}"] = [int((~group["sick_call"]).sum()), len(group)]
    if PERIOD in first and first[PERIOD].astype(bool).any():
        inside = first[PERIOD].astype(bool).reindex(healthy.index)
        for name, mask in (("in the shared period", inside), ("outside it", ~inside)):
            group = healthy[mask.to_numpy()]
            out["false_alarms"][name] = [int(group["sick_call"].sum()), len(group)]
    return {k: v for k, v in out.items() if v}
