"""Fixtures of the evaluation tests: a tiny split with three patient-grouped folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers.training import torso


@pytest.fixture
def split_csv(tmp_path):
    return make_split_csv(tmp_path)


def make_split_csv(tmp_path):
    """24 women (6 of them test) as .npy files in `tmp_path` and its split.csv, 3 folds."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        sick = i % 2 == 1
        path = tmp_path / f"T{i:04d}.npy"
        np.save(path, torso(rng, sick))
        test = i >= 18
        rows.append({"path": str(path), "patient_id": i, "label": "Sick" if sick else "Healthy",
                     "acquisition_batch": "A", "split": "test" if test else ("valid" if (i // 2) % 3 == 0 else "train"),
                     "fold": -1 if test else (i // 2) % 3})  # fmt: skip
    csv = tmp_path / "split.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv
