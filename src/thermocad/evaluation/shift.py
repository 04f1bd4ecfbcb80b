"""How new women's frames compare with the files that trained the model: the room, the skin
and the sharpness outside the training ranges model.json keeps (`data.room_range_c`,
`skin_range_c`, `sharpness_range`, written by `train`), counted for `evaluate --data`'s
external.md. A site whose camera, calibration or room differs shows here first; predict's notes
say the same of each file (inference/notes.py)."""

from __future__ import annotations

import pandas as pd

# what is compared: key in the result -> (cohort.csv's column, model.json's range)
FRAME_RANGES = {
    "skin": ("skin_median", "skin_range_c"),
    "sharpness": ("sharpness", "sharpness_range"),
}


def rooms_outside(rows: pd.DataFrame, meta: dict) -> dict | None:
    """How many new women stood in a room outside the training women's (model.json's
    data.room_range_c; None when either side lacks rooms)."""
    span = (meta.get("data") or {}).get("room_range_c")
    if not span or "room_median" not in rows.columns:
        return None
    room = pd.to_numeric(rows.groupby("patient_id")["room_median"].first(), errors="coerce")
    room = room.dropna()
    outside = (room < span[0]) | (room > span[1])
    return {"training_range_c": list(span), "patients": int(len(room)),
            "outside": int(outside.sum()), "new_range_c": [float(room.min()), float(room.max())]
            if len(room) else None}  # fmt: skip


def frames_outside(rows: pd.DataFrame, meta: dict) -> dict:
    """For the skin and the sharpness (FRAME_RANGES): how many scored frames lie below and
    above the training files' range; a measure the model or the table lacks is left out."""
    out = {}
    for key, (column, range_key) in FRAME_RANGES.items():
        span = (meta.get("data") or {}).get(range_key)
        values = pd.to_numeric(rows.get(column, pd.Series(dtype=float)), errors="coerce").dropna()
        if span and len(values):
            out[key] = {"training_range": list(span), "frames": int(len(values)),
                        "below": int((values < span[0]).sum()),
                        "above": int((values > span[1]).sum())}  # fmt: skip
    return out
