"""Metric functions against hand-computed counts (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation import bootstrap as B
from thermocad.evaluation import metrics as M
from thermocad.evaluation.calibration import calibration_intercept_slope
from thermocad.evaluation.periods import subgroup_metrics

# 10 cases: 4 Sick, 6 Healthy. At threshold 0.5:
#   Sick probs    0.9 0.8 0.6 0.3  -> TP=3, FN=1
#   Healthy probs 0.7 0.4 0.2 0.2 0.1 0.1 -> FP=1, TN=5
Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
P = [0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.2, 0.1, 0.1]


def test_counts_and_ratios():
    c = M.get_counts(Y, np.asarray(P) >= 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (3, 1, 5, 1)
    assert M.accuracy(c) == pytest.approx(8 / 10)  # (3 + 5) / 10
    assert M.sensitivity(c) == pytest.approx(3 / 4)  # 3 / (3 + 1)
    assert M.specificity(c) == pytest.approx(5 / 6)  # 5 / (5 + 1)
    assert M.balanced_accuracy(c) == pytest.approx((3 / 4 + 5 / 6) / 2)  # 0.7917
    assert M.ppv(c) == pytest.approx(3 / 4)  # 3 / (3 + 1)
    assert M.npv(c) == pytest.approx(5 / 6)  # 5 / (5 + 1)
    assert M.f1(c) == pytest.approx(6 / 8)  # 2*3 / (2*3 + 1 + 1)


def test_ppv_and_npv_divide_by_the_calls_not_by_the_classes():
    # FP != FN, so a PPV over the Sick (tp + fn) or an NPV over the Healthy (tn + fp) differs.
    c = M.Counts(tp=3, fp=2, tn=4, fn=1)
    assert M.ppv(c) == pytest.approx(3 / 5)  # 3 called Sick rightly of 3 + 2 called Sick
    assert M.npv(c) == pytest.approx(4 / 5)  # 4 called Healthy rightly of 4 + 1 called Healthy
    assert M.proportion_ci("ppv", c) == M.wilson_ci(3, 5)
    assert M.proportion_ci("npv", c) == M.wilson_ci(4, 5)


def test_auc_brier_by_hand():
    # 4 x 6 = 24 Sick/Healthy pairs; Sick ranks higher except 0.6 < 0.7, 0.3 < 0.7 and
    # 0.3 < 0.4: 21 wins / 24 pairs.
    assert M.roc_auc(Y, P) == pytest.approx(21 / 24)
    assert B.fast_auc(np.array(Y), np.array(P)) == pytest.approx(21 / 24)
    # Brier: Sick (0.01 + 0.04 + 0.16 + 0.49) + Healthy (0.49 + 0.16 + 0.04 + 0.04 + 0.01 + 0.01)
    #      = 0.70 + 0.75 = 1.45, / 10
    assert M.brier(Y, P) == pytest.approx(0.145)
    # Average precision: ranked 0.9 S, 0.8 S, 0.7 H, 0.6 S, 0.4 H, 0.3 S
    # precision at each Sick hit: 1/1, 2/2, 3/4, 4/6 -> mean = (1 + 1 + .75 + .6667) / 4
    assert M.pr_auc(Y, P) == pytest.approx((1 + 1 + 0.75 + 4 / 6) / 4)


def test_undefined_is_nan_not_zero():
    c = M.Counts(tp=3, fp=0, tn=0, fn=1)  # only Sick cases
    assert math.isnan(M.specificity(c))
    assert M.sensitivity(c) == pytest.approx(0.75)
    assert math.isnan(M.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))


def test_wilson_matches_textbook():
    # Wilson 95% for 8/10 is (0.490, 0.943) (Newcombe 1998, table I style example)
    lo, hi = M.wilson_ci(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)
    assert M.wilson_ci(0, 10)[0] == 0.0
    assert all(math.isnan(v) for v in M.wilson_ci(0, 0))


def test_calibration_slope_recovers_known_miscalibration():
    rng = np.random.default_rng(0)
    logit = rng.normal(0, 2, 4000)
    y = rng.random(4000) < 1 / (1 + np.exp(-logit))  # the true model
    # Overconfident predictions: logits doubled -> recalibration slope about 0.5
    prob = 1 / (1 + np.exp(-2 * logit))
    a, b = calibration_intercept_slope(y.astype(int), prob)
    assert b == pytest.approx(0.5, abs=0.06)
    assert a == pytest.approx(0.0, abs=0.15)
    # Too high on average (logits shifted by +1): the intercept is calibration-in-the-large,
    # the slope-1 fit, about -1; the intercept of the joint fit (about -0.5) mixes in the slope.
    a, b = calibration_intercept_slope(y.astype(int), 1 / (1 + np.exp(-(2 * logit + 1))))
    assert a == pytest.approx(-1.0, abs=0.1) and b == pytest.approx(0.5, abs=0.06)
    from scipy.optimize import minimize_scalar

    offset = 2 * logit + 1
    nll = lambda t: np.sum(np.logaddexp(0, t + offset) - y * (t + offset))  # noqa: E731
    assert a == pytest.approx(minimize_scalar(nll).x, abs=1e-5)
    # P(Sick) far from the observed rate (another site's women): still the maximum-likelihood
    # intercept, where Newton's method from 0 overshot to -4e5 (and -5e13, +2e12).
    for y_far, p_far in (([0, 1, 1, 0, 0, 0], [0.01, 0.02, 0.03, 0.04, 0.001, 0.002]),
                         ([1, 0, 1, 0, 1, 0], [0.999, 0.9995, 0.998, 0.9999, 0.997, 0.99])):  # fmt: skip
        y_far, off = np.array(y_far, float), np.log(np.array(p_far) / (1 - np.array(p_far)))
        a, _ = calibration_intercept_slope(y_far, p_far)
        nll = lambda t, o=off, y=y_far: np.sum(np.logaddexp(0, t + o) - y * (t + o))  # noqa: E731
        assert a == pytest.approx(
            minimize_scalar(nll, bounds=(-60, 60), method="bounded").x, abs=1e-4
        )
    # Classes separated completely: no finite slope exists, so none is reported; the
    # intercept (the slope held at 1) has one, here 0: P(Sick) averages the observed rate.
    separated = calibration_intercept_slope([0, 0, 1, 1], [0.1, 0.4, 0.6, 0.9])
    assert np.isnan(separated[1]) and separated[0] == pytest.approx(0.0, abs=1e-8)
    # Meeting only at a tied score (one Healthy and one Sick at 0.5) is no overlap either: the
    # fit's slope grows without bound (it once reported 4.8, where its solver stopped).
    tied = calibration_intercept_slope([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])
    assert np.isnan(tied[1]) and np.isfinite(tied[0])
    overlap = calibration_intercept_slope([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9])
    assert np.isfinite(overlap).all()
    from thermocad.evaluation.calibration import _separated

    y4 = np.array([0, 0, 1, 1])
    assert _separated(y4, np.array([0.1, 0.5, 0.5, 0.9]))  # meeting at a tie, either way
    assert _separated(y4, np.array([0.9, 0.5, 0.5, 0.1]))
    assert not _separated(y4, np.array([0.1, 0.6, 0.5, 0.9]))
    # Every P(Sick) at the clip (1e-6, a logit of -13.8) and a quarter Sick: the intercept is
    # logit(0.25) + 13.8 = 12.7, inside the search's [-60, 60].
    a, _ = calibration_intercept_slope([0, 1, 0, 0], [1e-9] * 4)
    assert a == pytest.approx(np.log(1 / 3) - np.log(1e-6 / (1 - 1e-6)), abs=1e-6)


def test_sick_women_all_below_the_healthy_separate_the_classes_too():
    """Reversed separation (every Sick P(Sick) below every Healthy one) has no finite slope
    either: the fit's slope runs off to minus infinity."""
    from thermocad.evaluation.calibration import _separated

    y, p = np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.8, 0.9])
    assert _separated(y, p) and _separated(y, np.array([0.1, 0.5, 0.5, 0.9]))
    assert not _separated(y, np.array([0.1, 0.6, 0.5, 0.9]))
    intercept, slope = calibration_intercept_slope(y, p)
    assert math.isnan(slope) and math.isfinite(intercept)


def test_calibration_slope_is_the_maximum_likelihood_one_where_it_is_steep():
    # Classes that barely overlap: the slope is steep, and scikit-learn's lbfgs at its default
    # tolerance stopped at 70.2 (its bootstrap replicates, fitted by Newton, reached 134.6).
    from scipy.optimize import minimize

    y = np.r_[np.zeros(20), np.ones(20)]
    for gap in (1e-3, 1e-6):
        p = np.r_[np.linspace(0.1, 0.5, 20), np.linspace(0.5 - gap, 0.9, 20)]
        x = np.log(p / (1 - p))
        nll = lambda t, x=x: np.sum(np.logaddexp(0, t[0] + t[1] * x) - y * (t[0] + t[1] * x))  # noqa: E731
        best = minimize(nll, [0, 1], method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 10**5, "maxfev": 10**5})  # fmt: skip
        assert calibration_intercept_slope(y, p)[1] == pytest.approx(best.x[1], rel=1e-6)
    assert np.isnan(calibration_intercept_slope([1, 2, 2, 1], [0.1, 0.6, 0.5, 0.9])).all()


def test_aggregate_patients_mean():
    df = pd.DataFrame({"patient_id": [1, 1, 2], "y": [1, 1, 0], "prob": [0.2, 0.6, 0.1]})
    out = M.aggregate_patients(df)
    assert out.set_index("patient_id")["prob"].to_dict() == pytest.approx({1: 0.4, 2: 0.1})
    assert out["n_images"].tolist() == [2, 1]
    # The mean, not the median: a woman with images 0.1, 0.2 and 0.9 scores 0.4 (not 0.2).
    three = pd.DataFrame({"patient_id": [7, 7, 7], "y": 1, "prob": [0.1, 0.2, 0.9]})
    assert M.aggregate_patients(three)["prob"].tolist() == pytest.approx([0.4])
    bad = df.assign(y=[1, 0, 0])
    with pytest.raises(ValueError, match="conflicting labels"):
        M.aggregate_patients(bad)
    # A NaN P(Sick) was skipped by the mean but counted in n_images; a woman with no number
    # left reached the metrics as NaN (and sklearn raised later, naming nobody).
    from thermocad.utils.errors import CohortError

    missing = df.assign(prob=[0.2, np.nan, np.nan])
    with pytest.raises(CohortError, match=r"2 images without a P\(Sick\).*patients \[1, 2\]"):
        M.aggregate_patients(missing)
    with pytest.raises(CohortError, match="'prob_cnn' empty"):
        M.aggregate_patients(df.assign(prob_cnn=[0.1, None, 0.3]), prob="prob_cnn")
    # An image without a patient id was dropped by the groupby, silently: refused, as the
    # patient bootstrap refuses it.
    no_id = df.astype({"patient_id": float})
    no_id.loc[1, "patient_id"] = np.nan
    with pytest.raises(CohortError, match="^1 rows without a patient id: "):
        M.aggregate_patients(no_id)


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"patient_id": range(len(Y)), "y": Y, "prob": P})


def _frame20() -> pd.DataFrame:
    """20 women, 8 Sick: enough of each class (MIN_PER_CLASS) for bootstrap intervals."""
    rng = np.random.default_rng(7)
    y = np.array([1] * 8 + [0] * 12)
    return pd.DataFrame({"patient_id": range(20), "y": y, "prob": rng.random(20) * 0.6 + 0.3 * y})


def test_bootstrap_seeded_and_brackets_point():
    df = _frame20()
    a = B.bootstrap_ci(df, 0.5, n_boot=200, seed=3)
    b = B.bootstrap_ci(df, 0.5, n_boot=200, seed=3)
    assert a == b
    lo, hi = a["roc_auc"]
    assert lo <= M.roc_auc(df["y"], df["prob"]) <= hi and hi <= 1.0


def test_bootstrap_keeps_patients_together(monkeypatch):
    # Patient 0 has 5 identical Sick images (P 0.95, no other row's); every replicate keeps
    # them as one block, so the number of such images in any replicate is a multiple of 5.
    df = _frame20()
    df = pd.concat(
        [df.assign(prob=df["prob"].where(df.index != 0, 0.95))]
        + [df.iloc[[0]].assign(prob=0.95)] * 4
    )
    groups = [np.flatnonzero(m) for m in B._patient_masks(df)]
    assert [len(g) for g in groups] == [5] + [1] * 19
    block = []
    real = B._replicate

    def spy(y, p, threshold):
        block.append(int((p == 0.95).sum()))
        assert y.sum() in range(8, 8 * 5 + 1)  # never a replicate without a Sick woman
        return real(y, p, threshold)

    monkeypatch.setattr(B, "_replicate", spy)
    B.bootstrap_ci(df, 0.5, n_boot=100, seed=0)
    assert len(block) == 100 and all(k % 5 == 0 for k in block)
    assert len(set(block)) > 1  # drawn 0, 1, 2... times: the draws did vary


def test_bootstrap_draws_each_class_as_many_women_as_it_has(monkeypatch):
    # Stratified: 3 Sick among 13 women unstratified would draw no Sick woman in about 1
    # replicate of 20, which AUC and sensitivity would then skip and specificity not.
    df = _frame20()
    counts = []
    real = B._replicate

    def spy(y, p, threshold):
        counts.append((int(y.sum()), int((1 - y).sum())))
        return real(y, p, threshold)

    monkeypatch.setattr(B, "_replicate", spy)
    B.bootstrap_ci(df, 0.5, n_boot=50, seed=0)
    assert set(counts) == {(8, 12)}


def test_bootstrap_gives_no_interval_with_too_few_women_of_a_class():
    df = _frame()  # 4 Sick women: fewer than MIN_PER_CLASS
    assert M.MIN_PER_CLASS == 5
    ci = B.bootstrap_ci(df, 0.5, n_boot=50, seed=0)
    assert all(math.isnan(lo) and math.isnan(hi) for lo, hi in ci.values())
    assert "roc_auc" in ci and "sensitivity" in ci


def test_bootstrap_refuses_rows_without_a_patient_id():
    df = _frame20().astype({"patient_id": float})
    df.loc[3, "patient_id"] = np.nan
    with pytest.raises(ValueError, match="1 rows without a patient id"):
        B.bootstrap_ci(df, 0.5, n_boot=10)


def test_bootstrap_calls_a_score_at_the_threshold_sick():
    # P(Sick) >= threshold is Sick, in every replicate as in the point estimate.
    df = pd.DataFrame(
        {"patient_id": range(10), "y": [1] * 5 + [0] * 5, "prob": [0.5] * 5 + [0.1] * 5}
    )
    ci = B.bootstrap_ci(df, 0.5, n_boot=50, seed=0)
    assert ci["sensitivity"] == (1.0, 1.0) and ci["specificity"] == (1.0, 1.0)


def test_bootstrap_does_not_depend_on_the_rows_order():
    # One image per woman, rows in another order (an image table sorted by file, a patient
    # table by id): the same women are drawn, so the interval is the same.
    df = _frame20()
    shuffled = df.sample(frac=1.0, random_state=1)
    assert B.bootstrap_ci(df, 0.5, 200, 3) == B.bootstrap_ci(shuffled, 0.5, 200, 3)


def test_summarize_has_intervals():
    s = B.summarize(_frame(), threshold=0.5, n_boot=50)
    assert s["counts"] == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    lo, hi = s["proportion_ci"]["sensitivity"]  # 3 of 4
    assert lo < 0.75 < hi
    assert "roc_auc" in s["bootstrap_ci"] and s["n_patients"] == 10


def test_subgroups_flag_single_class_batch():
    # Batch B holds only Sick cases (as on DMR-IR): AUC there is undefined and flagged.
    df = _frame().assign(acquisition_batch=["A", "A", "B", "B", "A", "A", "A", "A", "A", "A"])
    out = subgroup_metrics(df, "acquisition_batch", threshold=0.5)
    b = out["groups"]["B"]
    assert b["classes"] == [1] and math.isnan(b["roc_auc"]) and math.isnan(b["specificity"])
    assert b["sensitivity"] == pytest.approx(1 / 2)  # 0.6 hit, 0.3 missed
    # Batch A: Sick 0.9, 0.8 vs 6 Healthy -> all 12 pairs won -> AUC 1.0
    assert out["groups"]["A"]["roc_auc"] == pytest.approx(1.0)
    assert out["flag"] and any("only Sick" in n for n in out["notes"])


def test_proportions_of_several_images_per_woman_get_the_patient_bootstraps_interval():
    one = B.summarize(_frame20(), threshold=0.5, n_boot=50)
    tp, fn = one["counts"]["tp"], one["counts"]["fn"]
    assert one["proportion_ci_method"] == "wilson"
    assert one["proportion_ci"]["sensitivity"] == M.wilson_ci(tp, tp + fn)
    # The same women, each imaged 4 times alike: counting images as independent would shrink
    # the interval by half; the women's bootstrap keeps it as wide as the women allow.
    four = pd.concat([_frame20()] * 4, ignore_index=True)
    many = B.summarize(four, threshold=0.5, n_boot=50)
    assert many["proportion_ci_method"].startswith("patient bootstrap")
    assert many["proportion_ci"]["sensitivity"] == many["bootstrap_ci"]["sensitivity"]
    lo, hi = many["proportion_ci"]["sensitivity"]
    as_images = M.wilson_ci(4 * tp, 4 * (tp + fn))
    assert hi - lo > as_images[1] - as_images[0]


def test_a_runs_validation_summary_counts_women_not_images():
    from thermocad.reporting.hub_card import validation_summary

    frames = pd.concat([_frame()] * 4, ignore_index=True)
    preds = frames.assign(label=np.where(frames["y"] == 1, "Sick", "Healthy")).drop(columns="y")
    out = validation_summary(preds, threshold=0.5, n_boot=20)
    assert (out["n"], out["n_sick"], out["n_images"], out["n_patients"]) == (10, 4, 40, 10)


def test_proportion_intervals_are_read_from_old_metrics_files_too():
    new = {"proportion_ci": {"sensitivity": (0.2, 0.8)}}
    old = {"wilson_ci": {"sensitivity": (0.3, 0.7)}}  # a metrics.json before the rename
    assert M.proportion_intervals(new)["sensitivity"] == (0.2, 0.8)
    assert M.proportion_intervals(old)["sensitivity"] == (0.3, 0.7)
    assert M.proportion_intervals({}) == {}


@pytest.mark.parametrize("missed", [0, 9])
def test_the_patient_bootstrap_draws_every_woman(missed):
    """One missed Sick woman among ten, first or last in id order: the sensitivity's interval
    must reach below 1 (a draw that skipped the first or last woman of a class kept it at 1)."""
    sick = [0.9] * 10
    sick[missed] = 0.1
    df = pd.DataFrame({"patient_id": range(20), "y": [1] * 10 + [0] * 10,
                       "prob": sick + [0.2] * 10})  # fmt: skip
    ci = B.bootstrap_ci(df, 0.5, n_boot=200, seed=0, scores=False)
    assert ci["sensitivity"][0] < 0.95 and ci["sensitivity"][1] == 1.0
