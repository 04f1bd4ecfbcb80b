"""Gallery panels say what a reader needs to see a shortcut: diagnosis, P(Sick), batch, date."""

from __future__ import annotations

import pandas as pd


def test_a_panel_says_the_batch_and_date_where_the_cohort_has_them():
    """A reviewer: the false alarms were all 2013-2015 women, and nothing on a tile said so."""
    from thermocad.reporting.galleries import panel_title

    row = pd.Series({"y": 0, "prob": 0.81, "patient_id": 244, "acquisition_batch": "A",
                     "acquisition_date": "2013-10-14T10:00"})  # fmt: skip
    assert panel_title(row) == "truly Healthy, P(Sick) 0.810\npatient 244, batch A, 2013-10-14"
    bare = pd.Series({"y": 1.0, "prob": 0.2, "patient_id": 7.0, "acquisition_batch": float("nan")})
    assert panel_title(bare) == "truly Sick, P(Sick) 0.200\npatient 7"
