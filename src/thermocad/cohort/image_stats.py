"""The per-image columns of cohort.csv: size, range, sharpness, whether it can be a breast
thermogram at all, and the confounds the study audits (skin, room, marker)."""

from __future__ import annotations

import numpy as np

from thermocad.io.thermal import Thermogram


def image_stats(thermogram: Thermogram) -> dict:
    """The per-image columns of cohort.csv (runs in the reader's worker processes), and
    `implausible`: why it cannot be a breast thermogram ('' when it can), as predict asks."""
    from thermocad.preprocess.plausible import MIN_SIDE, implausibility, sharpness
    from thermocad.preprocess.regions import body_mask

    array = thermogram.array
    usable = min(array.shape) >= MIN_SIDE and np.isfinite(array).all()
    mask = body_mask(array) if usable else None
    return {
        "implausible": implausibility(array, thermogram.unit, mask) or "",
        "unit": thermogram.unit,
        "source_format": thermogram.source_format,
        "height": array.shape[0],
        "width": array.shape[1],
        "t_min": round(float(array.min()), 4),
        "t_max": round(float(array.max()), 4),
        "sharpness": round(sharpness(array), 4),
        **_confound_stats(thermogram, mask),
    }


def _confound_stats(thermogram: Thermogram, mask: np.ndarray | None) -> dict:
    """Median skin and room temperature (the background's median: the room as the camera sees
    it) and the calibration marker's area: not disease, audited as shortcuts
    (thermocad.evaluation.confounds); NaN where they mean nothing (tiny frames; temperatures
    for images, whose marker is found in grey levels: a review saw its audit dropped there)."""
    from thermocad.preprocess.regions import find_marker, room_temperature

    array = thermogram.array
    none = {"skin_median": np.nan, "room_median": np.nan, "marker_px": np.nan}
    if mask is None or not mask.any():
        return none
    box = find_marker(array, mask, unit=thermogram.unit)
    top, bottom, left, right = box if box is not None else (0, 0, 0, 0)
    area = (bottom - top) * (right - left)
    if thermogram.unit != "celsius":
        return {**none, "marker_px": int(area)}
    room = room_temperature(array, mask)
    room = np.nan if room is None else round(room, 3)
    return {"skin_median": round(float(np.median(array[mask])), 3), "room_median": room,
            "marker_px": int(area)}  # fmt: skip
