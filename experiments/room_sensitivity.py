"""Does the model's P(Sick) move with the room alone? (issue 17; records/room_sensitivity.md)

Each batch-A woman of a `thermocad fit` run, scored by the cross-validation fold model that did
not train on her, re-rendered as if imaged in rooms of 20-26 C: every temperature kept at the
same fraction of the way from the room to the 37 C core. An inspection: nothing is chosen.

    .venv/bin/python experiments/room_sensitivity.py RUN   # RUN from `thermocad fit`; 2 min, CPU
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from thermocad.evaluation.metrics import roc_auc
from thermocad.evaluation.room import in_room
from thermocad.io.thermal import read_thermal
from thermocad.models.bundle import load_bundle
from thermocad.utils.tables import markdown_table

ROOMS = (20.0, 22.0, 24.0, 26.0)


def scores(run: Path) -> pd.DataFrame:
    """Per batch-A woman and room: served, CNN and baseline P(Sick) from her fold's model."""
    oof = pd.read_csv(run / "cv" / "oof_predictions.csv")
    oof = oof[oof["acquisition_batch"] == "A"]
    rows = []
    for fold, part in oof.groupby("fold"):
        bundle = load_bundle(run / "cv" / "efficientnet_lite0" / f"fold{int(fold)}")
        for _, woman in part.iterrows():
            array = read_thermal(woman["path"]).array
            own = float(bundle.average(*bundle.predict_parts([array]))[0])
            for room in ROOMS:
                cnn, base = bundle.predict_parts([in_room(array, room)])
                rows.append({"patient_id": woman["patient_id"], "y": int(woman["y"]),
                             "room": room, "served": float(bundle.average(cnn, base)[0]),
                             "cnn": float(cnn[0]), "baseline": float(base[0]),
                             "own_room_check": abs(own - woman["prob"])})  # fmt: skip
    return pd.DataFrame(rows)


def table(df: pd.DataFrame, threshold: float) -> str:
    body = []
    for room, part in df.groupby("room"):
        healthy, sick = part[part["y"] == 0], part[part["y"] == 1]
        body.append([f"{room:.0f}", healthy["served"].mean(), healthy["cnn"].mean(),
                     healthy["baseline"].mean(),
                     f"{int((healthy['served'] >= threshold).sum())} / {len(healthy)}",
                     sick["served"].mean(), roc_auc(part["y"], part["served"])])  # fmt: skip
    head = ["room (C)", "Healthy: served P(Sick)", "CNN half", "baseline half",
            "Healthy called Sick", "Sick: served P(Sick)", "AUC, all in this room"]  # fmt: skip
    return markdown_table(head, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `thermocad fit` run folder")
    args = parser.parse_args()
    df = scores(args.run)
    threshold = float(json.loads((args.run / "model.json").read_text())["threshold"])
    print(f"check: each woman in her own room against the run's out-of-fold P(Sick), largest "
          f"difference {df['own_room_check'].max():.2e}")  # fmt: skip
    print(f"threshold {threshold:.4f}; {df['patient_id'].nunique()} women of batch A")
    print(table(df, threshold))


if __name__ == "__main__":
    main()
