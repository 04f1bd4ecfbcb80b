"""What the room alone does to a model's score: its Healthy women re-rendered in other rooms.

In steady state a skin point sits at a fixed fraction of the way from the room to the 37 °C
core, so a thermogram taken in room r can be re-rendered as if taken in room R by keeping
theta = (T - r) / (37 - r) for every pixel: a warmer room raises the skin and shrinks every
contrast. `room_stress` scores the Healthy women of a cross-validation, each with the fold
model that never trained on her, in two such rooms (the 10th and 90th percentile of the
cross-validated women's rooms, both classes, one value per image) and counts how many the stored threshold calls Sick in each. A model that has
learnt the room calls more of them Sick in the warmer one (on DMR-IR, the `fit` model: 9
against 18 of 71 between 21.0 and 24.7 °C, experiments/records/room_sensitivity.md). It reads the physics, not a
measured second acquisition: a stress test of the model, not an estimate of its accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

T_CORE = 37.0  # °C, the body core the skin is warmed from
MIN_HEALTHY = 10  # fewer Healthy women with a room: no stress test


def in_room(array: np.ndarray, room: float, own: float | None = None) -> np.ndarray:
    """The thermogram as if imaged in `room` (°C): theta = (T - own) / (37 - own) kept for
    every pixel, `own` = its room (the median outside the body mask, when not given)."""
    from thermocad.preprocess.regions import room_temperature

    own = room_temperature(array) if own is None else own
    if own is None:
        raise ValueError("the body fills the frame: no room to re-render from")
    scale = (T_CORE - room) / (T_CORE - own)
    return (room + scale * (np.asarray(array, np.float32) - own)).astype(np.float32)


def stress_rooms(rooms: pd.Series) -> tuple[float, float]:
    """The 10th and 90th percentile of `rooms` (one per image; room_stress passes every
    cross-validated image's, both classes), to 0.1 °C."""
    lo, hi = np.nanpercentile(rooms.astype(float), [10, 90])
    return round(float(lo), 1), round(float(hi), 1)


def room_stress(oof: pd.DataFrame, fold_model: Callable[[int], Path], threshold: float,
                rooms: tuple[float, float] | None = None) -> dict | None:  # fmt: skip
    """The Healthy women of `oof` (out-of-fold predictions with `path`, `patient_id`, `fold`,
    `prob` and `room_median`), each scored by `fold_model(k)` (the run that did not train on
    her) after re-rendering in each of `rooms` (default `stress_rooms`): mean P(Sick) and how
    many are called Sick at `threshold` (a woman's P(Sick): the mean over her images), beside
    the same in their own rooms. None for images (no temperatures), too few Healthy women,
    rooms that do not spread (the percentiles one room), or a fold model that cannot be found."""
    from thermocad.evaluation.periods import ROOM, sick
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    if ROOM not in oof.columns or ("unit" in oof.columns and (oof["unit"] != "celsius").any()):
        return None
    rooms_c = pd.to_numeric(oof[ROOM], errors="coerce")
    healthy = oof[(sick(oof) == 0) & rooms_c.notna()].copy()
    if healthy["patient_id"].nunique() < MIN_HEALTHY:
        return None
    rooms = rooms or stress_rooms(rooms_c)
    if len(set(rooms)) < len(rooms):  # the rooms do not spread (a degenerate-cohorts review:
        return None  # one room twice had crashed fit at its end): nothing to stress
    columns = [f"prob_at_{room}" for room in rooms]
    for k, part in healthy.groupby("fold"):
        run = fold_model(int(k))
        if not (run / "model.json").exists():
            return None
        bundle = load_bundle(run)
        arrays = [read_thermal(p).array for p in part["path"]]
        for room, column in zip(rooms, columns, strict=True):
            shifted = [in_room(a, room) for a in arrays]  # °C, the split's checked unit
            healthy.loc[part.index, column] = bundle.predict(shifted, unit=bundle.unit)
    women = healthy.groupby("patient_id")[["prob", *columns]].mean()

    def row(p: pd.Series) -> dict:
        return {"mean_prob": float(p.mean()), "called_sick": int((p >= threshold).sum())}

    return {"n_healthy": int(len(women)), "threshold": float(threshold), "own": row(women["prob"]),
            "rooms": [{"room": r, **row(women[c])} for r, c in zip(rooms, columns, strict=True)]}  # fmt: skip
