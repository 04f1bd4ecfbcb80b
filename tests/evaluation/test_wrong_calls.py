"""Whose calls a model gets wrong: missed Sick women by batch, false alarms by period."""

from __future__ import annotations

import pandas as pd

from thermocad.evaluation.wrong_calls import wrong_calls
from thermocad.reporting.fit_card import _whose


def test_wrong_calls_count_women_by_batch_and_period():
    # Sick: 1 (A, missed over two images: mean 0.3), 2 (A, called), 3 (B, missed); Healthy:
    # 4 (shared period, called Sick), 5 (shared period, right), 6 (outside, right).
    rows = pd.DataFrame({
        "patient_id": [1, 1, 2, 3, 4, 5, 6],
        "y": [1, 1, 1, 1, 0, 0, 0],
        "prob": [0.1, 0.5, 0.9, 0.2, 0.7, 0.1, 0.3],
        "acquisition_batch": ["A", "A", "A", "B", "A", "A", "A"],
        "period_matched": [True, True, True, False, True, True, False],
    })  # fmt: skip
    wrong = wrong_calls(rows, 0.4)
    assert wrong == {"missed": {"batch A": [1, 2], "batch B": [1, 1]},
                     "false_alarms": {"in the shared period": [1, 2], "outside it": [0, 1]}}  # fmt: skip
    assert _whose(wrong) == ["", "Errors by group, cross-validated: Sick women missed: 1 of 2 in "
                             "batch A, 1 of 1 in batch B; Healthy women called Sick: 1 of 2 "
                             "imaged in the shared period (specificity there 0.50), 0 of 1 "
                             "imaged outside it."]  # fmt: skip
    # No dates (no woman period-matched), no batch column: only what the rows hold is said.
    bare = rows.drop(columns="acquisition_batch").assign(period_matched=False)
    assert wrong_calls(bare, 0.4) == {}
    # A diff review: blank batches (labels without one) had been "batch ?"; periods as text
    # ("False" had counted as in the period); a label column without y; no empty group.
    text = rows.assign(acquisition_batch=" ", period_matched=rows["period_matched"].astype(str))
    assert wrong_calls(text.drop(columns="y").assign(label=rows["y"].map({1: "Sick", 0: "Healthy"})),
                       0.4) == {"false_alarms": wrong["false_alarms"]}  # fmt: skip
    inside = wrong_calls(rows.assign(period_matched=True), 0.4)["false_alarms"]
    assert inside == {"in the shared period": [1, 3]}  # no "0 of the 0 outside it"
    assert _whose({}) == [] and _whose(None) == []
