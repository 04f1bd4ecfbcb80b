"""Notes beside a prediction: when the training data say little about a thermogram's score.

- The room: on DMR-IR the models' P(Sick) follows the room temperature (docs/evaluation.md,
  "Room drift"): a room outside the training women's (`data.room_range_c`) is noted.
- The skin: a body's median temperature outside the training women's (`data.skin_range_c`):
  a camera's calibration or emissivity, the room, the acclimatisation.
- The unit: a file of image intensities scored by a model trained on temperatures (or the
  reverse), which only --allow-unit-mismatch lets through.
- The view: models are trained on frontal views only, so a file whose DMR-IR name says it is
  a lateral view (`T0287.1.2...`: right 45 degrees) gets no call.
- The frame: a file whose size is none of the training frames' (`data.frame_shapes`) may be
  cut short at a row's end (a copy still being written) or come from another camera.
- The orientation: in every upright DMR-IR frontal frame the body covers more of the top
  quarter (shoulders, raised arms) than of the bottom one (the waist), by 9 points or more on
  the 120, so a frame whose body covers more of its bottom quarter, by more than
  `UPSIDE_DOWN_MARGIN`, is probably upside down (turned over, those 120 differ by 9-39 points).
  The synthetic generator's women have no raised arms (-10 to +9 points over 600 of them), so
  a model of synthetic women gets no such note.
- The sharpness: a frame less sharp than every training file (`data.sharpness_range`;
  `plausible.sharpness_note`): blurred or enlarged; or sharper: a noisier sensor or camera.
- The woman: a run folder keeps its training women (trained_on.csv; an older `fit` folder,
  its split.csv), so a file whose DMR-IR patient number trained the model can say so
  (`training_note`): her P(Sick) is then no held-out score.

`predict`, `explain` and the web app add the notes; the score itself is not changed.
`tta_note` is a log line for the whole run: a model validated with TTA scored without it;
`tta_row_note` says it on each row predict writes.
`shown` and `result_line` say the score itself, as the app and `explain` print it; where a
`void_note` applies (another unit, a lateral view, a frame on its side) they make no call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from thermocad.inference.claims import half_note, operating_note
from thermocad.models.words import UNIT_WORDS, statistics_words, synthetic_training, tta_views

if TYPE_CHECKING:
    from thermocad.io.thermal import Thermogram

UPSIDE_DOWN_MARGIN = 0.05  # bottom-quarter minus top-quarter body cover (`orientation_note`)
NO_TEST_RESULT = "this P(Sick) is no test result"  # every training woman's note says it


NOTE_KINDS = ("unit", "view", "room", "skin", "shape", "orientation", "pieces", "sharpness",
              "export")  # fmt: skip


def input_notes(meta: dict[str, Any], thermogram: Thermogram) -> dict[str, str]:
    """Each note on this thermogram by its kind (NOTE_KINDS), '' where none. A file without a
    call (void_note's) gets those notes alone: the others say how to read a score not made. A
    body in pieces gets no room note (part of her is read as room: 32.9 °C for a 25.3 °C one)."""
    from thermocad.preprocess.plausible import export_note, pieces_note, sharpness_note
    from thermocad.preprocess.regions import body_mask

    shape = shape_note(meta, thermogram)  # a frame cut short has no bottom to read: no orientation
    unit, view = unit_note(meta, thermogram), view_note(thermogram.path)
    if unit or view or _turned(shape):  # no call (void_note): nothing to qualify
        return dict.fromkeys(NOTE_KINDS, "") | {"unit": unit, "view": view, "shape": shape}
    mask = body_mask(thermogram.array)  # once, for the room and the orientation
    pieces = pieces_note(thermogram)  # then the room is read on the largest piece's background
    return {"unit": unit, "view": view,
            "room": "" if pieces else room_note(meta, thermogram, mask),
            "skin": skin_note(meta, thermogram, mask), "shape": shape,
            "orientation": "" if shape else orientation_note(meta, thermogram, mask),
            "pieces": pieces, "sharpness": sharpness_note(meta, thermogram),
            "export": export_note(meta, thermogram)}  # fmt: skip


def input_note(meta: dict[str, Any], thermogram: Thermogram) -> str:
    """'' or every note on this thermogram, joined by '; '."""
    return "; ".join(n for n in input_notes(meta, thermogram).values() if n)


def shape_note(meta: dict[str, Any], thermogram: Thermogram) -> str:
    """'' or a note when the file's frame size is none the model was trained on
    (`data.frame_shapes`): a file cut short at a row's end, or another camera."""
    shapes = (meta.get("data") or {}).get("frame_shapes")
    if not shapes or list(thermogram.array.shape[:2]) in [list(s) for s in shapes]:
        return ""
    h, w = thermogram.array.shape[:2]
    trained = ", ".join(f"{a} x {b}" for a, b in shapes)
    if [w, h] in [list(x) for x in shapes]:  # a frame on its side: no call (void_note)
        return (f"the file is {h} x {w} px but the model was trained on {trained} frames "
                "(turned on its side, or a matrix written transposed?): its P(Sick) says "
                "nothing about this image: turn it upright to score it")  # fmt: skip
    return (f"the file is {h} x {w} px but the model was trained on {trained} frames (a file "
            "cut short, or another camera?): read its P(Sick) with care")  # fmt: skip


def orientation_note(meta: dict[str, Any], thermogram: Thermogram, mask=None) -> str:
    """'' or a note when the body covers more of the frame's bottom quarter than of its top one
    (by more than UPSIDE_DOWN_MARGIN), unlike any upright DMR-IR frontal thermogram; none for
    a model of synthetic women, whose frames the cue does not fit (module docstring). `mask`:
    the body_mask, when the caller has it."""
    from thermocad.preprocess.regions import body_mask

    if synthetic_training(meta):
        return ""
    mask = body_mask(thermogram.array) if mask is None else mask
    quarter = mask.shape[0] // 4
    top, bottom = float(mask[:quarter].mean()), float(mask[-quarter:].mean())
    if bottom - top <= UPSIDE_DOWN_MARGIN:
        return ""
    side = ", or on its side" if len(set(thermogram.array.shape[:2])) == 1 else ""  # square
    return (f"the body covers {bottom:.0%} of the frame's bottom quarter and {top:.0%} of its "
            "top one, the other way round from every upright frontal thermogram of DMR-IR: "
            f"is the image upside down{side}? Read its P(Sick) with care")  # fmt: skip


def void_note(meta: dict[str, Any], thermogram: Thermogram) -> str:
    """'' or the notes that leave the score without meaning (another unit than the model's, a
    lateral view, a frame on its side: a camera review saw one called): no Sick/Healthy call
    is then made."""
    notes = (unit_note(meta, thermogram), view_note(thermogram.path),
             _turned(shape_note(meta, thermogram)))  # fmt: skip
    return "; ".join(n for n in notes if n)


def _turned(shape: str) -> str:
    """shape_note's note when it says the frame is on its side (no call), else ''."""
    return shape if "turned on its side" in shape else ""


def above(call: str) -> str:
    """Where a score lies against the threshold, from its call."""
    return "at or above" if call == "Sick" else "below"


def training_note(path: str | Path | None, seen: frozenset[str] | set[str],
                  meta: dict[str, Any] | None = None) -> str:  # fmt: skip
    """'' or a note when the file's DMR-IR patient number is among `seen`, the patients that
    trained the model (evaluation.lockbox.seen_patients). A model of synthetic women (`meta`'s
    data.synthetic_share 1) says the number is a synthetic woman's: a real woman's file with
    it is another woman's."""
    from thermocad.io.filenames import patient_number

    if not path or not seen:
        return ""
    pid = patient_number(path, copies=True)
    if pid is None or str(pid) not in seen:
        return ""
    if synthetic_training(meta or {}) == "synthetic":
        return (f"patient number {pid} is also a synthetic woman's (thermocad synth) this model "
                f"was trained on: if this file is her thermogram, {NO_TEST_RESULT}, and "
                "a real woman with this number is someone else")  # fmt: skip
    return (f"patient number {pid} is one of the women this model was trained on (its training "
            f"record): if she is the same woman, {NO_TEST_RESULT}")  # fmt: skip


def unit_note(meta: dict[str, Any], thermogram: Thermogram) -> str:
    """'' or a note when the file's unit is not the model's (allowed by --allow-unit-mismatch)."""
    unit = meta.get("unit")
    if not unit or thermogram.unit == unit:
        return ""
    held, trained = (UNIT_WORDS.get(u, f"{u} values") for u in (thermogram.unit, unit))
    return (f"the file holds {held} but the model was trained on {trained}: its P(Sick) is not "
            "a measurement")  # fmt: skip


def room_note(meta: dict[str, Any], thermogram: Thermogram, mask=None) -> str:
    """'' or a note naming the room and the training range (temperature maps only); `mask`:
    the body_mask, when the caller has it."""
    from thermocad.preprocess.regions import room_temperature

    span = (meta.get("data") or {}).get("room_range_c")
    if not span or thermogram.unit != "celsius":
        return ""
    room = room_temperature(thermogram.array, mask)
    if room is None or span[0] <= room <= span[1]:
        return ""
    return (f"room {room:.1f} °C (the background) is outside the {span[0]:.1f}-{span[1]:.1f} °C "
            "the model was trained in (on DMR-IR the default model's P(Sick) rose with the room), "
            "so read it with care")  # fmt: skip


def skin_note(meta: dict[str, Any], thermogram: Thermogram, mask) -> str:
    """'' or a note when the body's median temperature (cohort.image_stats' skin_median) lies
    outside the training women's (`data.skin_range_c`): a camera's calibration or emissivity,
    the room, the acclimatisation (a clinical reading: 4 °C added to a Healthy woman's frame
    made her Sick, unnoted)."""
    import numpy as np

    span = (meta.get("data") or {}).get("skin_range_c")
    if not span or thermogram.unit != "celsius" or mask is None or not mask.any():
        return ""
    skin = float(np.median(thermogram.array[mask]))
    if span[0] <= round(skin, 1) <= span[1]:
        return ""
    side = "warmer" if skin > span[1] else "cooler"
    return (f"skin {skin:.1f} °C (the body's median) is {side} than the {span[0]:.1f}-"
            f"{span[1]:.1f} °C of the women the model was trained on (a camera's calibration or "
            "emissivity setting, the room, too short an acclimatisation?): its P(Sick) says "
            "little here (on DMR-IR warmer skin went with the Sick women, imaged in later "
            "years: a confound, not evidence of cancer)")  # fmt: skip


def view_note(path: str | Path | None) -> str:
    """'' or a note when the file's DMR-IR name says it is not a frontal view."""
    from thermocad.io.filenames import name_view

    if not path:
        return ""
    name = name_view(path)  # "T0602.1.5... (1).txt": a browser's copy; a bad date: the rest
    if name is None or name.view in ("frontal", "unknown"):  # None: not a DMR-IR name
        return ""
    return (f"the file name says view {name.view_code} ({name.view}), but the model was trained "
            "on frontal views only: its P(Sick) says nothing about this image")  # fmt: skip


def copies(n: int) -> str:
    """'1 augmented copy', '4 augmented copies'."""
    return f"{n} augmented cop{'y' if n == 1 else 'ies'}"


def tta_note(meta: dict[str, Any], tta: bool | None, used: int | None = None) -> str:
    """'' or a note when a model whose threshold was chosen on TTA predictions is scored
    without its augmented copies (`tta=False`, or `used` 0: the ONNX model without PyTorch),
    or when --tta is asked of a model validated without them (it has none to average)."""
    n = tta_views(meta)
    used = tta_views(meta, tta) if used is None else used
    if tta and not n and "config" in meta:
        return ("note: --tta changes nothing for this model: it was validated without test-time "
                "augmentation (tta=0), so it averages no augmented copies")  # fmt: skip
    if used or not n:
        return ""
    why = ("--no-tta leaves them out" if tta is False else
           "they are drawn with PyTorch, which is not installed (pip install 'thermocad[train]')")  # fmt: skip
    return (f"note: this model's threshold was chosen on predictions averaged over the image and "
            f"{copies(n)}; {why}, so P(Sick) differs from the validated one and a call near the "
            "threshold may change")  # fmt: skip


def tta_row_note(meta: dict[str, Any], tta: bool | None, used: int | None = None) -> str:
    """tta_note's case (a model validated with TTA scored without it) as a file's note, or ''."""
    n = tta_views(meta)
    if (tta_views(meta, tta) if used is None else used) or not n:
        return ""
    why = "--no-tta" if tta is False else "no PyTorch to draw them"
    return (f"scored without the {copies(n)} its threshold was chosen with ({why}): a call "
            "near the threshold may differ")  # fmt: skip


# The decision column's word for a file without a call: not "n/a", "NA" or "None", which
# pandas and spreadsheets read as a missing value.
NO_CALL = "no call"


def called(prob: float, threshold: float, made: bool = True) -> str | None:
    """The call at `threshold`: "Sick" (P(Sick) at or above it) or "Healthy"; None when no
    call is `made` (a `void_note` applies)."""
    if not made:
        return None
    return "Sick" if prob >= threshold else "Healthy"


def shown(prob: float, threshold: float) -> tuple[str, str]:
    """P(Sick) and the threshold as text, with four decimals or as many more as it takes for
    two different numbers not to read the same (the decision differs between them)."""
    for places in range(4, 10):
        text = f"{prob:.{places}f}", f"{threshold:.{places}f}"
        if text[0] != text[1] or prob == threshold:
            break
    return text


def deciding_half(threshold: float, cnn, base, call: str) -> str:
    """'CNN' or 'baseline' when the served mean's halves fall on two sides of the threshold
    (the mean's `call` is then that half's), '' when they agree or there is no baseline."""
    if base is None:
        return ""
    alone = called(float(cnn[0]), threshold), called(float(base[0]), threshold)
    return "" if alone[0] == alone[1] else ("CNN" if alone[0] == call else "baseline")


def result_line(bundle, name: str, prob: float, cnn, base, void: str = "") -> str:
    """What the model says of one file, named (a result left on the page is never taken for
    the next file's), with what the threshold meant in the model's own cross-validation.
    `void` (`void_note`): why the score means nothing here, said first, and no call made."""
    p, t = shown(prob, bundle.threshold)  # never the same text for a different call
    if void:
        return (f"{name}: no Sick/Healthy call: {void}. (The model's P(Sick) = {p}, threshold "
                f"{t}, is shown only for completeness.)")  # fmt: skip
    call = called(prob, bundle.threshold)
    line = f"{name}: P(Sick) = {p}, {above(call)} the threshold {t}: called {call}."
    if base is not None:  # say what the mean is made of: Grad-CAM explains the CNN's part
        line += (f" It is the mean of the CNN's {cnn[0]:.4f} and the "
                 f"{statistics_words(bundle.meta.get('unit'), True)} baseline's {base[0]:.4f}.")  # fmt: skip
        if whose := deciding_half(bundle.threshold, cnn, base, call):  # the other: across it
            across = "below" if call == "Sick" else "at or above"
            cnn_side, base_side = (above(call), across) if whose == "CNN" else (across, above(call))
            line += (f" The two halves disagree: the CNN's is {cnn_side} the threshold "
                     f"and the baseline's {base_side} it (a threshold chosen for their "
                     f"mean, at which neither half alone was validated), so this call is the "
                     f"{whose}'s.") + half_note(bundle.meta, whose)  # fmt: skip
    if note := operating_note(bundle.meta):
        line += f" {note}."
    return line
