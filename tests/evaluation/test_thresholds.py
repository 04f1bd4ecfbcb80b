"""The decision threshold rule against hand-computed ROC points (the arithmetic is in the
comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.evaluation.test_metrics import P, Y
from thermocad.evaluation import thresholds as T
from thermocad.utils.errors import ConfigError


def test_choose_threshold_reaches_the_target_sensitivity():
    # Each threshold is stored NOISE_MARGIN below the picked score: 0.3 -> 0.29999
    m = T.NOISE_MARGIN
    # Highest threshold reaching sensitivity 0.75 is 0.6 (3 of 4 Sick at >= 0.6)
    assert T.choose_threshold(Y, P, target_sensitivity=0.75) == pytest.approx(0.6 - m, abs=1e-12)
    # The default: sensitivity 0.90, reached only with all 4 Sick, at 0.3 (None: the default,
    # as older study configs wrote it)
    assert T.choose_threshold(Y, P) == pytest.approx(0.3 - m, abs=1e-12)
    assert T.choose_threshold(Y, P, None) == T.choose_threshold(Y, P)
    assert T.choose_threshold([1, 1], [0.2, 0.3]) == 0.5  # one class: fall back
    for bad in (0, 1.5, float("nan"), "high"):  # refused as check_target refuses it before training
        with pytest.raises(ConfigError, match=r"target_sensitivity must be a number in \(0, 1\]"):
            T.choose_threshold(Y, P, bad)


def test_the_removed_youden_rule_is_refused_by_name_and_read_in_records():
    assert T.drop_threshold_method({"threshold_method": "sensitivity", "n_boot": 5}) == {
        "n_boot": 5
    }
    with pytest.raises(
        ConfigError, match=r"^threshold_method 'youden' was removed .*default 0\.90"
    ):
        T.drop_threshold_method({"threshold_method": "youden"})
    assert T.rule_words() == "the highest reaching sensitivity 0.90"
    assert T.rule_words(0.8, "sensitivity") == "the highest reaching sensitivity 0.80"
    assert T.rule_words(None, "youden").startswith("Youden's J")


def test_target_sensitivity_takes_the_top_of_a_run_of_sick_scores():
    # Ten Sick women (0.95 down to 0.60) all above ten Healthy: 9 of 10 Sick are called at
    # 0.639, the 9th Sick score, the highest threshold reaching 0.9. The ROC curve sklearn
    # draws keeps only the run's ends, and the rule then fell to its bottom, 0.60.
    sick = np.linspace(0.95, 0.60, 10)
    y, p = [1] * 10 + [0] * 10, np.r_[sick, np.linspace(0.5, 0.05, 10)]
    t = T.choose_threshold(y, p, target_sensitivity=0.9)
    assert t == pytest.approx(sick[8] - T.NOISE_MARGIN, abs=1e-12)
    # two scores closer than the margin: halfway between them, so the lower one stays below
    assert T.choose_threshold([1, 1, 0], [0.9, 0.5, 0.499996]) == pytest.approx(0.499998)
    # halfway to the NEXT lower score (0.499996), not to the lowest (0.1): a midpoint of 0.3
    # would leave the threshold at 0.49999, calling the Healthy woman at 0.499996 Sick
    t = T.choose_threshold([1, 1, 0, 0], [0.9, 0.5, 0.499996, 0.1])
    assert t == pytest.approx(0.499998, abs=1e-9) and 0.499996 < t < 0.5


def test_patient_threshold_counts_each_woman_once():
    # Woman 1 (Sick) has four frames at 0.9; women 2-5 (Sick) one frame each at 0.2-0.5; six
    # Healthy women at 0.1. On frames, 0.9 already reaches sensitivity 4/8 = 0.5; on women, 1/5.
    rows = [(1, 1, 0.9)] * 4 + [(k, 1, 0.1 * k) for k in (2, 3, 4, 5)]
    rows += [(k, 0, 0.1) for k in range(6, 12)]
    pred = pd.DataFrame(rows, columns=["patient_id", "y", "prob"])
    m = T.NOISE_MARGIN
    assert T.choose_threshold(pred["y"], pred["prob"], target_sensitivity=0.5) == pytest.approx(
        0.9 - m
    )
    assert T.choose_patient_threshold(pred, target_sensitivity=0.5) == pytest.approx(0.4 - m)


def test_the_threshold_calls_the_same_women_and_leaves_room_for_numerical_noise():
    # The picked woman used to sit on the threshold itself: 4e-7 of noise (another batch size,
    # ONNX) called her Healthy. Just below it, the calls on the validation women are those of
    # the picked score, and no call moves under noise well below the margin (or half a gap).
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.integers(0, 2, 30)
        y[:2] = [0, 1]
        p = np.round(rng.random(30) * 0.5 + 0.3 * y, 3)  # ties included
        t = T.choose_threshold(y, p)
        fpr, tpr, thr = roc_curve(y, p, drop_intermediate=False)  # every distinct score
        picked = min(thr[np.argmax(tpr >= 0.9 - 1e-12)], 1.0)  # the score the rule picks
        assert ((p >= t) == (p >= picked)).all() and t < picked
        gap = min(np.diff(np.unique(p)).min() / 2, T.NOISE_MARGIN)
        for noise in (-0.8 * gap, 0.8 * gap):
            assert ((p + noise >= t) == (p >= t)).all()


@pytest.mark.parametrize("given", ["0.8", True, [0.8]])
def test_a_target_that_is_not_a_number_is_refused_where_the_config_is_read(tmp_path, given):
    """ "0.8" in a study config ran the whole study, then the report failed formatting it."""
    import json

    from thermocad.pipeline import load_settings

    with pytest.raises(ConfigError, match="target_sensitivity must be a number in"):
        T.check_target(given)
    config = tmp_path / "study.json"
    config.write_text(json.dumps({"target_sensitivity": given}))
    with pytest.raises(ConfigError, match=rf"^{config}: target_sensitivity must be a number"):
        load_settings(config)
    config.write_text(json.dumps({"target_sensitivity": 0.85}))
    assert load_settings(config)["target_sensitivity"] == 0.85


def test_a_record_written_before_options_were_removed_still_resumes(tmp_path):
    """An interrupted fit or comparison recorded precompute: true, threshold_method
    "sensitivity" and the default target as null; today's same options are the same job."""
    import json

    from thermocad import __version__
    from thermocad.training.fit_resume import read_record

    today = {"config": {"arch": "efficientnet_lite0", "head_epochs": 30}, "target_sensitivity": 0.9}
    old = {"config": {**today["config"], "precompute": True}, "threshold_method": "sensitivity",
           "target_sensitivity": None}  # fmt: skip
    (tmp_path / "record.json").write_text(json.dumps({"options": old, "version": __version__}))
    given = {"options": today, "version": __version__}
    assert read_record(tmp_path, "record.json", "fit", given)["options"] == old
    other = {"options": {**today, "target_sensitivity": 0.8}, "version": __version__}
    with pytest.raises(ConfigError, match=r"target_sensitivity \(0\.9 -> 0\.8\)"):
        read_record(tmp_path, "record.json", "fit", other)
    unlike = {**old, "config": {**old["config"], "precompute": False}}  # not today's behaviour
    (tmp_path / "record.json").write_text(json.dumps({"options": unlike, "version": __version__}))
    with pytest.raises(ConfigError, match="precompute"):
        read_record(tmp_path, "record.json", "fit", given)
