"""models/meta.py: what a model.json says in words."""

from __future__ import annotations


def test_a_model_of_synthetic_women_or_a_smoke_run_is_said_to_be_no_model():
    from thermocad.models.words import not_a_model_warning

    assert (
        not_a_model_warning({"config": {"max_batches": None}, "data": {"synthetic_share": 0}}) == ""
    )
    both = not_a_model_warning({"config": {"max_batches": 2}, "data": {"synthetic_share": 1.0}})
    assert both == ("warning: this model was trained on synthetic thermograms (thermocad synth), "
                    "not on women; it is a smoke run (2 batches per epoch), a check of the code: "
                    "its P(Sick) says nothing about patients")  # fmt: skip


def test_what_fits_cross_validation_found_is_said_again():
    from thermocad.models.words import not_a_model_warning

    meta = {"config": {}, "data": {}, "cv": {"warnings": ["out of fold the procedure cannot be "
                                                          "told from chance"]}}  # fmt: skip
    assert not_a_model_warning(meta) == ("warning: the cross-validation that made this model "
                                         "found: out of fold the procedure cannot be told from "
                                         "chance")  # fmt: skip
    meta["config"]["max_batches"] = 2
    assert not_a_model_warning(meta).splitlines()[1].startswith("warning: the cross-validation")


def test_a_grey_image_model_from_before_grey_levels_were_read_as_now_is_said():
    from thermocad.models.words import not_a_model_warning
    from thermocad.training.data import GREY_LEVELS

    old = {"unit": "intensity", "config": {}, "data": {"unit": "intensity"},
           "transform": {"marker": "remove"}}  # fmt: skip
    assert "trained on grey images before thermocad read them" in not_a_model_warning(old)
    # Neither the marker nor the levels' scale touched (the study's recipe): nothing changed.
    study = {**old, "transform": {"marker": "keep", "normalization": {"method": "robust"}}}
    assert not_a_model_warning(study) == ""
    new = {**old, "data": {"unit": "intensity", "grey_levels": GREY_LEVELS}}
    assert not_a_model_warning(new) == ""
    assert not_a_model_warning({"unit": "celsius", "config": {}, "data": {}}) == ""


def test_the_app_header_warns_of_a_stale_grey_image_model():
    from types import SimpleNamespace

    from thermocad.inference.app import _header

    meta = {"arch": "efficientnet_lite0", "unit": "intensity", "config": {}, "data": {},
            "transform": {"marker": "remove"}}  # fmt: skip
    bundle = SimpleNamespace(meta=meta, unit="intensity", threshold=0.4, views=lambda: 0)
    assert "**This model was trained on grey images before thermocad read them" in _header(bundle)


def test_a_model_of_other_preprocessing_is_warned_about():
    from thermocad.models.words import not_a_model_warning
    from thermocad.preprocess import PREPROCESS_VERSION
    from thermocad.utils.versions import library_versions

    assert not_a_model_warning({"preprocess_version": PREPROCESS_VERSION}) == ""
    assert not_a_model_warning({}) == ""  # not a trained model's record
    before = not_a_model_warning({"arch": "efficientnet_lite0"})  # written before the field
    assert (
        "written before thermocad recorded the preprocessing" in before and "may differ" in before
    )
    old = not_a_model_warning({"preprocess_version": "2026-12-01"})
    assert "preprocessing of 2026-12-01" in old and "train it again" in old
    assert {"torch", "numpy"} <= set(library_versions())  # written into model.json


def test_a_model_json_without_threshold_is_said_to_call_at_a_default():
    from thermocad.inference.claims import operating_note
    from thermocad.models.words import edited_threshold_note

    note = edited_threshold_note({"arch": "efficientnet_lite0"})
    assert "model.json has no threshold: Sick is called at P(Sick) >= 0.5" in note
    assert operating_note({}).startswith("Model.json has no threshold")
    assert edited_threshold_note({"threshold": 0.3}) == ""


def test_predicts_tables_say_the_warnings_in_a_few_words():
    from thermocad.models.words import PREPROCESS_VERSION, table_warning

    clean = {"config": {}, "data": {}, "preprocess_version": PREPROCESS_VERSION, "arch": "x",
             "threshold": 0.35, "threshold_provenance": {"threshold": 0.35}}  # fmt: skip
    assert table_warning(clean) is None
    # A hazard review: an edited threshold had been said in the log alone, not in the rows.
    assert table_warning({**clean, "threshold": 0.6}) == (
        "Its threshold is not the one its cross-validation chose: no sensitivity or "
        "specificity was measured at it."
    )
    assert table_warning({k: v for k, v in clean.items() if k != "threshold"}) == (
        "No threshold stored (Sick at P(Sick) >= 0.5): no sensitivity or specificity was "
        "measured at it."
    )
    assert table_warning({**clean, "cv": {"warnings": ["cannot be told from chance"]}}) == (
        "Its own cross-validation found it of no use (its model card says why)."
    )
    old = {**clean, "preprocess_version": "2020-01-01"}
    assert table_warning(old) == "Trained on other preprocessing: train it again."
    smoke = {**clean, "config": {"max_batches": 2}}
    assert table_warning(smoke) == "Smoke-run model: not a result."


def test_the_cnns_input_is_said_as_the_transform_makes_it():
    """A CLAIM review: the fit card said "320 px, celsius input" of the default, whose CNN sees
    the asymmetry of a window on the body's median temperature."""
    from thermocad.models.words import input_words

    default = {"unit": "celsius", "transform": {
        "size": 320, "normalization": {"method": "relative", "width": 14.0},
        "channels": ["asymmetry"], "crop": "breasts", "marker": "remove"}}  # fmt: skip
    assert input_words(default) == (
        "the left-right asymmetry (the map minus its mirror) of the thermogram in a 14 °C "
        "window on the body's median temperature (the calibration marker removed, cropped to "
        "the chest, 320 px)"
    )
    study = {"transform": {"size": 224, "normalization": {"method": "robust"},
                           "channels": ["temperature"], "crop": "none", "marker": "keep"}}  # fmt: skip
    assert (
        input_words(study) == "the thermogram in each image's 0.5-99.5 percentile window (224 px)"
    )
