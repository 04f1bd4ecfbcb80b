"""The mirror axis of the asymmetry map: the torso's midline or the chest's own symmetry (issue 7)

The default's network sees only the asymmetry map, the chest minus its left/right mirror, and
the mirror axis is the centre of the chest box: the midline of the torso's edges in the lowest
quarter of the frame (`regions.midline`), moved where the box meets the frame's edge. A woman
who leans or stands turned a little has a chest whose own axis of symmetry is elsewhere, and
her map then shows the body's contours and the inframammary folds as false asymmetry. Here
the axis is registered instead: the shift (within +-20 px, in half pixels) that minimises the
mean |T - mirrored T| over the chest box's skin, and the box is made symmetric about it. The
default's evaluation transform (`TrainConfig(background="keep")`) prepares every file with each box; the frozen
body's features are computed once per variant, and for each seed and fold of `real_cv.py`'s
splits (run it first with `baseline`) the default's linear head is trained the default's way
on:
  midline      the default's box (reproduces the default's CNN up to the draw order)
  registered   the box symmetric about the registered axis
Each CNN score is also averaged with the classical baseline fitted on the same training
patients (real_cv.py's `baseline` recipe, unchanged: the default's other half).

    .venv/bin/python experiments/mirror_axis.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np

from harness import cv_setup, features, fold_heads, report
from thermocad.preprocess import regions
from thermocad.training.config import TrainConfig

MIDLINE_BOX = regions.breast_box
SHIFTS = np.arange(-40, 41) / 2  # axis shifts tried, pixels of the original frame
SHIFTS_FOUND: list[float] = []


def mirror_error(a: np.ndarray, skin: np.ndarray, axis: float) -> float:
    """Mean |T - mirrored T| over the pixels that are skin on both sides of `axis`."""
    cols = np.arange(a.shape[1])
    mirrored = np.round(2 * axis - cols).astype(int)
    ok = (mirrored >= 0) & (mirrored < a.shape[1])
    both = skin[:, ok] & skin[:, mirrored[ok]]
    diff = np.abs(a[:, ok] - a[:, mirrored[ok]])[both]
    return float(diff.mean()) if diff.size else np.inf


def registered_box(array: np.ndarray, mask: np.ndarray | None = None) -> regions.Box:
    """The chest box made symmetric about the axis that best mirrors the chest's skin."""
    mask = regions.body_mask(array) if mask is None else mask
    top, bottom, left, right = MIDLINE_BOX(array, mask)
    if (left, right) == (0, array.shape[1]) and top == 0:
        return regions.Box(top, bottom, left, right)  # no torso found: the whole frame
    a, skin = np.asarray(array, np.float32)[top:bottom], mask[top:bottom]
    centre = regions.midline(mask)
    errors = [mirror_error(a, skin, centre + s) for s in SHIFTS]
    axis = centre + float(SHIFTS[int(np.argmin(errors))])
    SHIFTS_FOUND.append(axis - centre)
    half = min((right - left) / 2, axis, array.shape[1] - axis)
    return regions.Box(top, bottom, int(round(axis - half)), int(round(axis + half)))


def box_features(paths: list[str], box) -> np.ndarray:
    """The default's frozen-body features, the chest cut out with `box`."""
    regions.breast_box = box  # the transform looks it up when it prepares a file
    try:
        return features(TrainConfig(background="keep"), paths)
    finally:
        regions.breast_box = MIDLINE_BOX


def main() -> None:
    args, paths = cv_setup(__doc__)
    feats = {
        "midline": box_features(paths, MIDLINE_BOX),
        "registered": box_features(paths, registered_box),
    }
    shifts = np.abs(SHIFTS_FOUND)
    print(f"registered axis - midline, |px| of the original frame: median {np.median(shifts):.1f}, "
          f"90th percentile {np.percentile(shifts, 90):.1f}, at the search limit "
          f"{int((shifts >= SHIFTS.max()).sum())} of {len(shifts)}")  # fmt: skip
    variants = {"midline": (["midline"], [], None), "registered": (["registered"], [], None)}
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="midline")


if __name__ == "__main__":
    main()
