"""The words beside a prediction: what the halves and the model's cross-validation say."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from thermocad.inference.claims import period_note
from thermocad.inference.notes import result_line

CV = {"folds": 5, "patients": 120, "sensitivity": 0.918, "specificity": 0.8451,
      "patient_roc_auc": 0.939, "batch": "A", "period_roc_auc": 0.754, "period_n": 31,
      "period_roc_auc_lo": 0.5625, "period_roc_auc_hi": 0.912}  # fmt: skip


def _model(threshold: float = 0.4131, cv: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        threshold=threshold, meta={"threshold": threshold, "cv": CV if cv is None else cv}
    )


def test_a_call_one_half_makes_alone_is_named():
    # 0.002 and 0.941 average 0.4714, above 0.4131: Sick, which the baseline alone would say.
    line = result_line(_model(), "a.txt", 0.4714, np.array([0.002]), np.array([0.9409]))
    assert "called Sick" in line
    assert (
        "the CNN's is below the threshold and the baseline's at or above it (a threshold "
        "chosen for their mean, at which neither half alone was validated)"
    ) in line
    assert "this call is the baseline's" in line
    agree = result_line(_model(), "b.txt", 0.7, np.array([0.6]), np.array([0.8]))
    assert "disagree" not in agree
    cnn_only = result_line(_model(), "c.txt", 0.7, np.array([0.7]), None)
    assert "disagree" not in cnn_only and "baseline" not in cnn_only


def test_the_call_box_says_which_half_made_a_call_the_halves_disagree_on():
    """A reviewer: the large call said a plain 'Called Sick' at a mean of a CNN's 0.0001 and a
    baseline's 1.0; only the long Result said the halves disagree."""
    from thermocad.inference.verdict import call_box

    model = SimpleNamespace(threshold=0.4131, meta={"threshold": 0.4131, "cv": CV})
    split = call_box(model, "a.txt", 0.4714, "", "", {}, (np.array([0.002]), np.array([0.9409])))
    assert "The two halves disagree: this call is the baseline&#x27;s alone." in split  # escaped
    agree = call_box(model, "b.txt", 0.7, "", "", {}, (np.array([0.6]), np.array([0.8])))
    assert "disagree" not in agree and "View not checked" in agree
    # Said where the call is read (a clinical reading): not on an error, which is no result.
    from thermocad.inference.verdict import NOT_A_DIAGNOSIS, verdict

    assert NOT_A_DIAGNOSIS in split and NOT_A_DIAGNOSIS in agree
    assert NOT_A_DIAGNOSIS not in verdict("error", "c.txt: not analysed")


def test_the_period_matched_auc_is_said_beside_sensitivity_and_specificity():
    line = result_line(_model(), "a.txt", 0.7, np.array([0.6]), np.array([0.8]))
    assert "sensitivity 0.92 and specificity 0.85" in line  # an older fit's: no counts kept
    assert ("AUC (0.5: no better than chance, 1: every Sick woman scored above every Healthy "
            "one) was 0.94 over all, but 0.75 (0.56-0.91) among the 31 women of batch A") in line  # fmt: skip
    # With its counts and intervals (a clinical reading: a rate without its denominator)
    counted = {**CV, "counts": {"tp": 45, "fn": 4, "tn": 60, "fp": 11},
               "sensitivity_ci": [0.8081, 0.9678], "specificity_ci": [0.7449, 0.9140]}  # fmt: skip
    line = result_line(_model(cv=counted), "a.txt", 0.7, np.array([0.6]), np.array([0.8]))
    assert ("found sensitivity 0.92 (45 of 49 Sick, Wilson 95% CI 0.81-0.97) and specificity "
            "0.85 (60 of 71 Healthy, Wilson 95% CI 0.74-0.91), on the predictions") in line  # fmt: skip
    assert period_note({**CV, "period_roc_auc": None}) == ""  # no period-matched women
    assert period_note({**CV, "period_roc_auc": float("nan")}) == ""
    no_interval = period_note({**CV, "period_roc_auc_lo": None})
    assert "but 0.75 among" in no_interval
    # Every woman in the period: nothing set apart, nothing said; the same AUC: no "but".
    assert period_note({**CV, "period_n": 120}) == ""
    same = period_note({**CV, "period_roc_auc": 0.939}, "synthetic patients")
    assert "0.94 over all, and 0.94 (0.56-0.91) among the 31 synthetic patients" in same
    assert "may be lower" not in same


def test_a_downloaded_copys_name_still_says_the_view_and_the_woman():
    from thermocad.inference.notes import training_note, view_note

    assert "left90" in view_note("T0602.1.5.S.2026-06-04.01 (1).txt")
    assert "patient number 12 is one of the women this model was trained on" in training_note(
        "T0012 (1).txt", {"12"}
    )


def test_a_name_with_an_impossible_date_still_says_its_view():
    """The view is read from the name when its date cannot be one: a lateral view makes no call
    whatever its date field, and a frontal one is said to be frontal."""
    from thermocad.inference.notes import view_note
    from thermocad.inference.verdict import _view_line

    for name in ("T0030.1.2.S.2014-02-30.txt", "T0030.1.4.S.2014-13-01 (1).txt"):
        assert "trained on frontal views only" in view_note(name), name
    assert view_note("T0030.1.1.S.2014-02-30.txt") == ""
    assert _view_line("T0030.1.1.S.2014-02-30.txt").startswith("View: frontal")
    assert _view_line("T0030.txt").startswith("View not checked")


def test_a_synthetic_models_training_numbers_are_not_said_to_be_real_womens():
    from thermocad.inference.notes import training_note
    from thermocad.inference.verdict import _headlines

    seen = {"2"}
    real = training_note("T0002.txt", seen, {"data": {"synthetic_share": 0.0}})
    assert real.startswith("patient number 2 is one of the women this model was trained on")
    assert _headlines(real, {})[0].startswith("Not a test result: patient number 2")
    synthetic = training_note("T0002.txt", seen, {"data": {"synthetic_share": 1.0}})
    assert "is also a synthetic woman's" in synthetic and "someone else" in synthetic
    assert not any(h.startswith("Not a test result") for h in _headlines(synthetic, {}))
    assert training_note("T0003.txt", seen, {"data": {"synthetic_share": 1.0}}) == ""


def _frame(rows_cover: np.ndarray) -> SimpleNamespace:
    """A 40 x 40 'thermogram': each row's body (34 °C) covers the share given, centred, in a
    24 °C room."""
    a = np.full((40, 40), 24.0, np.float32)
    for i, share in enumerate(rows_cover):
        half = int(round(20 * share))
        a[i, 20 - half : 20 + half] = 34.0
    return SimpleNamespace(array=a, unit="celsius", path="a.txt")


def test_a_frame_wider_at_the_bottom_is_asked_whether_it_is_upside_down():
    from thermocad.inference.notes import input_notes, orientation_note

    upright = _frame(np.linspace(0.9, 0.6, 40))  # shoulders and raised arms on top, the waist below
    real, synthetic = {"data": {}}, {"data": {"synthetic_share": 1.0}}
    assert orientation_note(real, upright) == ""
    flipped = SimpleNamespace(**{**vars(upright), "array": upright.array[::-1]})
    note = orientation_note(real, flipped)
    assert note.startswith("the body covers 86% of the frame's bottom quarter and 62% of its top")
    assert "is the image upside down, or on its side? Read its P(Sick) with care" in note
    wide = np.pad(flipped.array, ((0, 0), (10, 10)), constant_values=24.0)  # not square: on
    wide_note = orientation_note(real, SimpleNamespace(**{**vars(flipped), "array": wide}))
    assert "is the image upside down? Read its P(Sick)" in wide_note  # its side, another size
    assert input_notes(real, flipped)["orientation"] == note
    assert orientation_note(synthetic, flipped) == ""  # the synthetic women have no raised arms
    level = SimpleNamespace(**{**vars(upright), "array": _frame(np.full(40, 0.6)).array})
    assert orientation_note(real, level) == ""  # within the margin: said of no frame
    # A frame of another size than the training ones (cut short?) is said so, not turned over.
    shaped = {"data": {"frame_shapes": [[480, 640]]}}
    assert (
        input_notes(shaped, flipped)["orientation"] == "" and input_notes(shaped, flipped)["shape"]
    )


@pytest.mark.real
def test_no_real_frame_is_said_upside_down_and_each_turned_over_is(dmr_dir):
    from thermocad import read_thermal
    from thermocad.inference.notes import orientation_note

    meta = {"data": {}}
    files = sorted(dmr_dir.glob("*.txt"))
    assert len(files) == 120
    for f in files:
        t = read_thermal(f)
        assert orientation_note(meta, t) == "", f.name
        turned = SimpleNamespace(array=t.array[::-1], unit=t.unit, path=t.path)
        assert "upside down" in orientation_note(meta, turned), f.name


def test_the_verdict_asks_upside_down_in_a_few_words():
    from thermocad.inference.verdict import _headlines

    assert _headlines("", {"orientation": "the body covers ..."}) == [
        "Upside down? Read with care.", "Details in Result."]  # fmt: skip
    assert _headlines("", {"orientation": ""}) == []


def test_the_verdict_says_a_body_in_pieces_in_a_few_words():
    from thermocad.inference.verdict import _headlines

    assert _headlines("", {"pieces": "the body is in pieces (...)"}) == [
        "The body was found in pieces: read with care.", "Details in Result."]  # fmt: skip


def test_a_frame_blurrier_than_the_training_files_is_noted_in_the_result_and_verdict(tmp_path):
    import numpy as np
    from scipy.ndimage import gaussian_filter

    from tests.helpers.training import thermogram
    from thermocad.inference.notes import input_notes
    from thermocad.inference.verdict import _headlines
    from thermocad.io.thermal import Thermogram
    from thermocad.preprocess.plausible import sharpness

    sharp = thermogram(np.random.default_rng(0), True)
    meta = {"data": {"sharpness_range": [0.9 * sharpness(sharp), 2 * sharpness(sharp)]}}
    blurred = Thermogram(gaussian_filter(sharp, 2), "celsius", tmp_path / "a.txt", "npy")
    notes = input_notes(meta, blurred)
    assert notes["sharpness"].startswith("the image is less sharp (sharpness ")
    assert "Less sharp than any training image: read with care." in _headlines("", notes)
    same = Thermogram(sharp, "celsius", tmp_path / "a.txt", "npy")
    assert input_notes(meta, same)["sharpness"] == ""
    noisy = sharp + np.random.default_rng(1).normal(0, 0.5, sharp.shape)  # another sensor
    notes = input_notes(meta, Thermogram(noisy, "celsius", tmp_path / "a.txt", "npy"))
    assert notes["sharpness"].startswith("the image is sharper or noisier (sharpness ")
    assert "Sharper or noisier than any training image: read with care." in _headlines("", notes)


def test_a_call_made_by_one_half_alone_says_how_that_half_did_where_the_date_cannot_tell():
    """A clinical reading: a call the baseline makes alone (the halves on either side of the
    threshold) came from a half whose period-matched AUC was 0.55, and nothing said so."""
    from thermocad.inference.verdict import call_box

    halves = {"cnn": {"period_roc_auc": 0.79, "period_roc_auc_lo": 0.57,
                      "period_roc_auc_hi": 0.91, "period_n": 31, "batch": "A"},
              "baseline": {"period_roc_auc": 0.55, "period_roc_auc_lo": 0.32,
                           "period_roc_auc_hi": 0.74, "period_n": 31, "batch": "A"}}  # fmt: skip
    model = _model(cv={**CV, "halves": halves})
    sick = result_line(model, "a.txt", 0.47, np.array([0.002]), np.array([0.94]))
    assert ("so this call is the baseline's. Alone, the baseline half's AUC was 0.55 (0.32-0.74, "
            "not shown better than chance) among the 31 women of batch A imaged in the period") in sick  # fmt: skip
    healthy = result_line(model, "b.txt", 0.30, np.array([0.01]), np.array([0.59]))
    assert "Alone, the CNN half's AUC was 0.79 (0.57-0.91) among the 31" in healthy
    assert "Alone," not in result_line(_model(), "c.txt", 0.47, np.array([0.002]), np.array([0.94]))
    box = call_box(model, "a.txt", 0.47, "", "", {}, (np.array([0.002]), np.array([0.94])))
    assert "alone, a half not shown better than chance where the date cannot tell." in box
    # The served model's own interval gets the same words (a diff review)
    assert "0.75 (0.56-0.91) among" in sick  # CV's: above 0.5, nothing said
    held = result_line(_model(cv={**CV, "period_roc_auc_lo": 0.48}), "d.txt", 0.7, np.array([0.6]),
                       np.array([0.8]))  # fmt: skip
    assert "0.75 (0.48-0.91, not shown better than chance) among the 31 women" in held
    box = call_box(model, "b.txt", 0.30, "", "", {}, (np.array([0.01]), np.array([0.59])))
    assert "the CNN&#x27;s alone.</div>" in box and "chance" not in box


def test_the_call_box_gives_each_qualification_a_line_of_its_own():
    """A run-on of sentences in one small line was hard to read one by one."""
    from thermocad.inference.verdict import NOT_A_DIAGNOSIS, call_box

    model = SimpleNamespace(threshold=0.4131, meta={"threshold": 0.4131, "cv": CV})
    box = call_box(model, "a.txt", 0.47, "", "", {"room": "a room note", "skin": "a skin note"},
                   (np.array([0.002]), np.array([0.94])))  # fmt: skip
    lines = [part.split(">", 1)[1] for part in box.split("</div>") if "color:#444" in part]
    assert lines == ["The two halves disagree: this call is the baseline&#x27;s alone.",
                     "Imaged in a room outside the training women&#x27;s range: read with care.",
                     "Skin warmer or cooler than any training woman&#x27;s: read with care.",
                     "Details in Result.", NOT_A_DIAGNOSIS]  # fmt: skip


def test_the_skin_note_reads_the_bodys_median_of_a_temperature_frame_only():
    """A mutation review: the unit, the empty mask, the median and the range's rounded edge."""
    from thermocad.inference.notes import skin_note
    from thermocad.io.thermal import Thermogram
    from thermocad.preprocess.regions import body_mask

    rng = np.random.default_rng(0)
    frame = np.full((60, 80), 22.0, np.float32)
    frame[10:55, 15:65] = rng.uniform(30.0, 36.0, (45, 50))  # a body, skewed warm
    mask = body_mask(frame)
    median = float(np.median(frame[mask]))
    meta = {"data": {"skin_range_c": [20.0, 25.0]}}
    note = skin_note(meta, Thermogram(frame, "celsius", None, "npy"), mask)
    assert note.startswith(f"skin {median:.1f} °C (the body's median) is warmer than the 20.0-25.0")
    assert skin_note(meta, Thermogram(frame, "intensity", None, "png"), mask) == ""
    assert skin_note(meta, Thermogram(frame, "celsius", None, "npy"), np.zeros_like(mask)) == ""
    edge = {"data": {"skin_range_c": [20.0, round(median, 1)]}}  # rounds onto its top: inside
    assert skin_note(edge, Thermogram(frame, "celsius", None, "npy"), mask) == ""


def test_a_rate_without_its_interval_is_said_with_its_counts_alone():
    counted = {**CV, "counts": {"tp": 45, "fn": 4, "tn": 60, "fp": 11},
               "sensitivity_ci": [None, None], "specificity_ci": "n/a"}  # fmt: skip
    line = result_line(_model(cv=counted), "a.txt", 0.7, np.array([0.6]), np.array([0.8]))
    assert "sensitivity 0.92 (45 of 49 Sick) and specificity 0.85 (60 of 71 Healthy)" in line
    boolean = {**CV, "counts": {"tp": True, "fn": 4, "tn": 60, "fp": 11}}
    assert "sensitivity 0.92 and" in result_line(_model(cv=boolean), "a.txt", 0.7,
                                                  np.array([0.6]), np.array([0.8]))  # fmt: skip


def test_an_interval_with_0_5_at_its_end_is_not_shown_better_than_chance():
    from thermocad.inference.claims import not_above_chance

    assert not_above_chance({"period_roc_auc_lo": 0.5, "period_roc_auc_hi": 0.8})
    assert not not_above_chance({"period_roc_auc_lo": 0.51, "period_roc_auc_hi": 0.8})


def test_a_no_call_box_says_it_is_no_diagnosis_too():
    from thermocad.inference.verdict import NOT_A_DIAGNOSIS, call_box

    model = SimpleNamespace(threshold=0.4131, meta={"threshold": 0.4131, "cv": CV})
    box = call_box(model, "a.txt", 0.47, "the file name says view 1.2", "", {})
    assert "No call" in box and NOT_A_DIAGNOSIS in box


def test_a_file_without_a_call_and_a_body_in_pieces_get_only_the_notes_that_hold(tmp_path):
    """A review of frames with many notes: a lateral view (no call) was told to read its
    P(Sick) with care three times over, and a body cut by a cold column had its other piece
    read as the room (32.9 °C for a 25.3 °C room), a false room note."""
    from tests.helpers.training import thermogram
    from thermocad.inference.notes import input_notes
    from thermocad.io.thermal import Thermogram
    from thermocad.preprocess.regions import room_temperature

    whole = thermogram(np.random.default_rng(0), True)
    cut = whole.copy()
    cut[:, cut.shape[1] * 2 // 3 : cut.shape[1] * 2 // 3 + 3] = 18.0  # a 3 px cold column
    room = room_temperature(whole)
    meta = {"data": {"room_range_c": [room - 0.05, room + 0.05], "sharpness_range": [1e6, 2e6]}}
    notes = input_notes(meta, Thermogram(cut, "celsius", tmp_path / "T0012.txt", "npy"))
    assert notes["pieces"] and notes["sharpness"] and notes["room"] == ""
    assert abs(room_temperature(cut) - room) > 0.05  # read outside the range: had been noted
    lateral = tmp_path / "T0012.1.2.S.2013-10-14.10.txt"  # right 45 degrees: no call
    notes = input_notes(meta, Thermogram(cut, "celsius", lateral, "npy"))
    assert [kind for kind, note in notes.items() if note] == ["view"]


def test_each_note_reads_whole_when_a_cell_is_split_on_its_separator(tmp_path):
    """A review of frames with many notes: a file's notes are joined with '; ', and the room,
    skin, shape and export notes held '; ' of their own, so a spreadsheet splitting the cell
    on it left fragments ("on DMR-IR the default model's P(Sick) rose with the room, ...")."""
    from tests.helpers.training import thermogram
    from thermocad.inference.notes import input_notes
    from thermocad.io.thermal import Thermogram

    frame = thermogram(np.random.default_rng(0), True)
    meta = {"data": {"room_range_c": [0.0, 1.0], "skin_range_c": [0.0, 1.0],
                     "frame_shapes": [list(frame.shape)]}}  # fmt: skip
    notes = input_notes(meta, Thermogram(frame, "celsius", tmp_path / "a.txt", "npy"))
    assert notes["room"] and notes["skin"]
    assert not [note for note in notes.values() if "; " in note]
    turned = input_notes(meta, Thermogram(frame.T.copy(), "celsius", tmp_path / "a.txt", "npy"))
    assert turned["shape"] and "; " not in turned["shape"]
