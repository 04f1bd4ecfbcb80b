"""Acquisition confounds in DMR-IR: how well non-clinical quantities alone separate Sick from Healthy.

Each quantity is scored as a classifier (ROC AUC, or 1 - AUC when it runs the other way) over
all patients and within acquisition batch A. A model can learn any of them instead of disease.

    .venv/bin/python experiments/confounds.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad import read_thermal
from thermocad.evaluation.confounds import separation  # better direction; NaN if undefined
from thermocad.evaluation.periods import dates
from thermocad.io.labels import read_labels
from thermocad.preprocess.regions import body_mask, find_marker

DATA = Path(__file__).resolve().parents[2] / "shared/data/dmr-ir-frontal"


def quantities(path: Path) -> dict:
    """Per image: calibration marker area, room and skin temperature."""
    a = read_thermal(path).array
    mask = body_mask(a)
    box = find_marker(a, mask)
    area = 0 if box is None else (box.bottom - box.top) * (box.right - box.left)
    return {"marker area (px)": area, "coldest pixel (C)": float(a.min()),
            "median skin temperature (C)": float(np.median(a[mask]))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    labels = read_labels(args.data / "labels.csv")
    rows = [{"patient_id": pid, **quantities(args.data / f"T{pid:04d}.txt")}
            for pid in labels["patient_id"]]  # fmt: skip
    df = labels.merge(pd.DataFrame(rows), on="patient_id")
    df["patient id (acquisition order)"] = df["patient_id"]
    df["acquisition date"] = (dates(df) - pd.Timestamp("1970-01-01")).dt.days  # NaN when absent
    y = (df["diagnosis"] == "Sick").to_numpy(int)
    in_a = (df["acquisition_batch"] == "A").to_numpy()
    print("| quantity | AUC, all 120 | AUC, batch A (91) |")
    print("|---|---|---|")
    for col in ("acquisition date", "patient id (acquisition order)", "marker area (px)", "coldest pixel (C)",
                "median skin temperature (C)"):  # fmt: skip
        x = df[col].to_numpy(float)
        print(f"| {col} | {separation(y, x):.3f} | {separation(y[in_a], x[in_a]):.3f} |")
    a_ids = df.loc[in_a & (y == 1), "patient_id"]
    print(f"\nbatch A Sick patient ids: {a_ids.min()}-{a_ids.max()}; batch A Healthy ids below "
          f"{a_ids.min()}: {int((in_a & (y == 0) & (df['patient_id'] < a_ids.min())).sum())}")  # fmt: skip


if __name__ == "__main__":
    main()
