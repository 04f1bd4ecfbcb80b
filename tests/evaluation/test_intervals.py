"""Bootstrap intervals of PR AUC, Brier and the calibration intercept and slope (the patient
bootstrap's own replicates), and of the confound audit's AUCs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation import bootstrap as B
from thermocad.evaluation import metrics as M
from thermocad.evaluation.calibration import calibration_intercept_slope, replicate_intercept_slope
from thermocad.evaluation.confounds import audit_notes, confound_audit, separation, separation_ci
from thermocad.evaluation.intervals import (
    MIN_DEFINED_SHARE,
    bca_interval,
    fast_auc,
    fast_average_precision,
    jackknife_auc,
    percentile_interval,
    stratified_auc_replicates,
)
from thermocad.utils.values import clean_json

SCORES = ("pr_auc", "brier", "calibration_intercept", "calibration_slope")


def women(n: int = 60, seed: int = 0, signal: float = 1.5) -> pd.DataFrame:
    """`n` women, half Sick, P(Sick) overlapping between the classes."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    prob = 1 / (1 + np.exp(-(rng.normal(0, 1.5, n) + signal * (2 * y - 1))))
    return pd.DataFrame({"patient_id": range(n), "y": y, "prob": prob})


def test_the_fast_replicate_figures_are_the_point_estimates():
    rng = np.random.default_rng(2)
    for k in range(40):
        n = int(rng.integers(8, 120))
        y = np.r_[0, 1, (rng.random(n - 2) < 0.4).astype(int)]
        p = rng.random(n) * 0.7 + 0.3 * y
        p = np.round(p, 1) if k % 2 else p  # ties: one step of the precision-recall curve
        assert fast_average_precision(y, p) == pytest.approx(M.pr_auc(y, p), abs=1e-12)
        a, b = calibration_intercept_slope(y, p)
        fast = replicate_intercept_slope(y, p)
        assert fast == (a, b) or (fast[0] == a and math.isnan(fast[1]) and math.isnan(b))
    tied = replicate_intercept_slope([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])
    assert (
        math.isnan(tied[1])
        and tied[0] == calibration_intercept_slope([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])[0]
    )
    assert all(math.isnan(v) for v in replicate_intercept_slope([1, 1, 1], [0.2, 0.5, 0.9]))


def test_score_intervals_bracket_the_point_and_repeat_with_the_seed():
    df = women()
    s = B.summarize(df, 0.5, n_boot=300, seed=4)
    for key in SCORES:
        lo, hi = s["bootstrap_ci"][key]
        assert lo <= s[key] <= hi and lo < hi, key
    assert s["bootstrap_ci_reasons"] == {}
    again = B.summarize(df, 0.5, n_boot=300, seed=4)
    assert again["bootstrap_ci"] == s["bootstrap_ci"]
    other = B.summarize(df, 0.5, n_boot=300, seed=5)["bootstrap_ci"]
    assert other["calibration_slope"] != s["bootstrap_ci"]["calibration_slope"]
    # The same replicates as the AUC's: adding the scores leaves the others' intervals as they were.
    plain = B.bootstrap_ci(df, 0.5, n_boot=300, seed=4, scores=False)
    assert set(plain) == set(B.BOOTSTRAPPED)
    assert all(plain[k] == s["bootstrap_ci"][k] for k in plain)
    # metrics.json keeps them beside the AUC's, named as the figures are.
    written = json.loads(json.dumps(clean_json(s)))
    assert all(len(written["bootstrap_ci"][key]) == 2 for key in SCORES)


def test_perfect_separation_gives_the_calibration_no_interval_and_says_why():
    df = pd.DataFrame({"patient_id": range(12), "y": [0] * 6 + [1] * 6,
                       "prob": np.r_[np.linspace(0.05, 0.4, 6), np.linspace(0.6, 0.95, 6)]})  # fmt: skip
    s = B.summarize(df, 0.5, n_boot=100, seed=0)
    assert math.isnan(s["calibration_slope"])  # the point estimate, as before
    assert all(math.isnan(v) for v in s["bootstrap_ci"]["calibration_slope"])
    assert s["bootstrap_ci_reasons"]["calibration_slope"] == (
        "undefined in 100 of 100 resamples (P(Sick) separates the classes there); an interval "
        "needs 95% of them defined")  # fmt: skip
    # The intercept (the slope held at 1) is defined in every resample: it has its interval.
    lo, hi = s["bootstrap_ci"]["calibration_intercept"]
    assert lo <= s["calibration_intercept"] <= hi and "calibration_intercept" not in s.get(
        "bootstrap_ci_reasons", {})  # fmt: skip
    assert s["bootstrap_ci"]["pr_auc"] == pytest.approx((1.0, 1.0))  # defined in every resample
    json.dumps(clean_json(s), allow_nan=False)  # null, not NaN, in metrics.json


def test_one_class_or_too_few_women_give_no_interval_and_say_why():
    healthy = women().assign(y=0)
    intervals, reasons = B.bootstrap_intervals(healthy, 0.5, n_boot=50)
    assert all(math.isnan(intervals[key][0]) for key in SCORES)
    assert reasons["calibration_slope"] == "fewer than 5 Sick women"
    four = women(14).assign(y=[1] * 4 + [0] * 10)
    assert B.bootstrap_intervals(four, 0.5, 50)[1]["pr_auc"] == "fewer than 5 Sick women"


def test_a_figure_undefined_in_too_many_replicates_gets_no_interval():
    values = [1.0] * 94 + [float("nan")] * 6  # 94% defined: under MIN_DEFINED_SHARE
    assert MIN_DEFINED_SHARE == 0.95
    assert all(math.isnan(v) for v in percentile_interval(values)[0])
    assert percentile_interval(values)[1] == 6
    (lo, hi), dropped = percentile_interval([1.0, 2.0] * 48 + [float("nan")] * 4)
    assert (lo, hi, dropped) == (1.0, 2.0, 4)  # 96%: the undefined ones are dropped
    # Exactly 95% defined is enough (the boundary): an interval, the 5 undefined dropped.
    (lo, hi), dropped = percentile_interval([1.0] * 95 + [float("nan")] * 5)
    assert (lo, hi, dropped) == (1.0, 1.0, 5)


def test_the_percentile_interval_cuts_alpha_half_at_each_end():
    values = np.arange(1000.0)
    assert percentile_interval(values)[0] == tuple(np.percentile(values, [2.5, 97.5]))
    assert percentile_interval(values, 0.1)[0] == tuple(np.percentile(values, [5, 95]))


def test_the_patient_bootstraps_intervals_come_from_its_own_replicates(monkeypatch):
    """bootstrap_ci's alpha=0.05: the Brier score's is the 2.5th to 97.5th percentile of its
    own replicates; the ROC AUC's the BCa interval of its replicates (caught as they are
    computed), its estimate, and its leave-one-woman-out AUCs (scikit-learn's here)."""
    from sklearn.metrics import roc_auc_score

    caught, real = [], B._replicate

    def spy(y, p, threshold):
        caught.append(real(y, p, threshold))
        return caught[-1]

    monkeypatch.setattr(B, "_replicate", spy)
    df = women()
    ci = B.bootstrap_ci(df, 0.5, n_boot=200, seed=1, scores=False)
    assert len(caught) == 200
    briers = [r["brier"] for r in caught]
    assert ci["brier"] == pytest.approx(tuple(np.percentile(briers, [2.5, 97.5])), abs=1e-12)
    y, p = df["y"].to_numpy(), df["prob"].to_numpy()
    jack = [roc_auc_score(np.delete(y, i), np.delete(p, i)) for i in range(len(y))]
    expected = bca_interval([r["roc_auc"] for r in caught], roc_auc_score(y, p), jack)[0]
    assert ci["roc_auc"] == pytest.approx(expected, abs=1e-12)
    assert ci["roc_auc"] != pytest.approx(
        tuple(np.percentile([r["roc_auc"] for r in caught], [2.5, 97.5])), abs=1e-6
    )  # not the percentile interval: the correction moved it


def test_the_bca_interval_is_scipys_on_the_same_replicates():
    """bca_interval from scipy.stats.bootstrap's own replicates of a mean gives scipy's BCa
    interval: the same bias correction, acceleration and percentiles."""
    from scipy.stats import bootstrap

    data = np.random.default_rng(4).gamma(2.0, size=40)  # skewed: the correction matters
    res = bootstrap((data,), np.mean, method="BCa", n_resamples=999, random_state=0)
    jack = np.array([np.delete(data, i).mean() for i in range(len(data))])
    ours, undefined = bca_interval(res.bootstrap_distribution, data.mean(), jack)
    assert undefined == 0
    assert ours == pytest.approx((res.confidence_interval.low, res.confidence_interval.high),
                                 abs=1e-12)  # fmt: skip


def test_an_auc_interval_of_images_leaves_a_whole_woman_out_of_its_jackknife():
    """Several images of a woman are not independent: the jackknife drops her rows together."""
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    x = np.array([0.1, 0.2, 0.9, 0.4, 0.3, 0.8, 0.7, 0.6, 0.5, 0.35])
    groups = [[0, 1], [2, 3], [4], [5, 6], [7], [8], [9]]
    jack = jackknife_auc(y, x, groups)
    assert len(jack) == 7
    assert jack[0] == fast_auc(y[2:], x[2:]) and jack[3] == fast_auc(np.delete(y, [5, 6]),
                                                                      np.delete(x, [5, 6]))  # fmt: skip


def test_the_jackknife_is_each_womans_auc_left_out_with_ties_and_several_images():
    """jackknife_auc's counting (O(n log n)) against the AUC computed anew without her rows."""
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(12, 50))
        y = np.r_[0, 1, rng.integers(0, 2, n - 2)]
        x = rng.integers(0, 5, n) / 4 if trial % 2 else rng.normal(size=n)  # ties, or none
        groups = []
        for label in (0, 1):
            rows = list(rng.permutation(np.flatnonzero(y == label)))
            while rows:
                k = int(rng.integers(1, 4))
                groups.append(rows[:k])
                rows = rows[k:]
        keep = [np.setdiff1d(np.arange(n), g) for g in groups]
        anew = [fast_auc(y[k], x[k]) for k in keep]
        np.testing.assert_allclose(jackknife_auc(y, x, groups), anew, atol=1e-12)


def test_the_fast_auc_counts_ties_across_the_classes_half():
    from sklearn.metrics import roc_auc_score

    assert fast_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = np.r_[0, 1, rng.integers(0, 2, 28)]
        p = rng.integers(0, 4, 30) / 4  # four distinct scores: many ties, within and across
        assert fast_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_each_stratified_replicate_is_the_auc_of_its_own_draw_with_ties():
    """Tied values (a rounded temperature) count half in every replicate, as roc_auc_score
    counts them: the draw is repeated here with the same seed."""
    from sklearn.metrics import roc_auc_score

    y = np.array([1] * 6 + [0] * 8)
    x = np.array([2, 2, 3, 1, 2, 3, 1, 2, 2, 1, 3, 1, 2, 1], float)
    aucs = stratified_auc_replicates(y, x, n_boot=30, seed=5)
    rng = np.random.default_rng(5)
    pos, neg = x[y == 1], x[y == 0]
    drawn_pos = pos[rng.integers(0, len(pos), (30, len(pos)))]
    drawn_neg = neg[rng.integers(0, len(neg), (30, len(neg)))]
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    expected = [
        roc_auc_score(labels, np.r_[a, b]) for a, b in zip(drawn_pos, drawn_neg, strict=True)
    ]
    assert aucs == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("label", "where"), [(0, 0), (0, -1), (1, 0), (1, -1)])
def test_the_confound_bootstrap_draws_every_woman(label, where):
    """One woman unlike the rest of her class (first or last Healthy, first or last Sick):
    some replicates must draw her (a draw that skipped a class's first or last woman kept
    the AUC at 1 in every replicate)."""
    y = np.array([1] * 10 + [0] * 10)
    x = np.where(y == 1, 0.5, 0.0)
    rows = np.flatnonzero(y == label)
    x[rows[where]] = 1.0 - 2.0 * label  # 1 Healthy, -1 Sick: AUC below 1 wherever drawn
    aucs = stratified_auc_replicates(y, x, n_boot=200, seed=0)
    assert aucs.max() == 1.0 and aucs.min() < 1.0


def test_the_audit_interval_is_of_the_auc_it_shows_in_the_direction_it_chose():
    rng = np.random.default_rng(1)
    y = np.arange(40) % 2
    lower_in_sick = rng.normal(0, 1, 40) - 1.2 * y  # the better direction: lower is Sick
    point = separation(y, lower_in_sick)
    (lo, hi), why = separation_ci(y, lower_in_sick, n_boot=500, seed=0)
    assert point > 0.7 and lo <= point <= hi and lo > 0.5 and why == ""
    assert separation_ci(y, lower_in_sick, n_boot=500, seed=0) == ((lo, hi), why)
    noise = rng.normal(0, 1, 40)  # no signal: the interval reaches below 0.5
    assert separation_ci(y, noise, n_boot=500, seed=0)[0][0] < 0.5
    few = separation_ci([1, 1, 1, 0, 0, 0, 0, 0], np.arange(8.0))
    assert all(math.isnan(v) for v in few[0]) and few[1] == "fewer than 5 Sick women"
    assert separation_ci([0, 0, 0], [1.0, 2.0, 3.0])[1] == ""  # no AUC: nothing to explain


def test_the_confound_audit_stores_an_interval_beside_each_auc():
    n = 60
    cohort = pd.DataFrame({"patient_id": range(n), "label": ["Healthy", "Sick"] * (n // 2),
                           "acquisition_batch": ["A"] * 52 + ["B"] * 8,
                           "room_median": 22 + 2.0 * (np.arange(n) % 2) + np.arange(n) % 3})  # fmt: skip
    audit = confound_audit(cohort).set_index("quantity")
    room = audit.loc["room temperature (background median, C)"]
    lo, hi = room["95% CI of AUC overall"]
    assert lo <= room["AUC overall"] <= hi and room["no interval for AUC overall"] == ""
    assert math.isnan(room["95% CI of AUC within batch B"][0])  # 4 women of each class in B
    assert room["no interval for AUC within batch B"] == "fewer than 5 Sick and Healthy women"
    records = json.loads(json.dumps(clean_json(audit.reset_index().to_dict(orient="records"))))
    assert records[0]["95% CI of AUC overall"] is not None
    notes = audit_notes(audit.reset_index())
    assert any(f"overall {room['AUC overall']:.3f} ({lo:.3f}-{hi:.3f})" in note for note in notes)
    again = confound_audit(cohort).to_dict(orient="records")  # seeded: the same intervals
    assert clean_json(again) == clean_json(audit.reset_index().to_dict(orient="records"))


def test_the_paired_auc_difference_scores_both_on_each_draw():
    """The selected model minus another on the same women: the point is the difference of the
    two AUCs; a score against itself has a zero-width interval (both on one draw), and a
    clearly better score's interval lies above 0."""
    from sklearn.metrics import roc_auc_score

    from thermocad.evaluation.intervals import paired_auc_difference

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    a, b = y + rng.normal(0, 0.5, 80), y + rng.normal(0, 2.0, 80)
    diff, (lo, hi) = paired_auc_difference(y, a, b, 500, seed=0)
    assert diff == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))
    assert 0 < lo < diff < hi
    assert paired_auc_difference(y, a, a, 200)[1] == (0.0, 0.0)
    assert np.isnan(paired_auc_difference(np.ones(5), a[:5], b[:5])[0])  # one class
    # 1-4 women of a class: the difference, no interval (as every other bootstrap interval)
    diff, (lo, hi) = paired_auc_difference([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], [0.2, 0.1, 0.5, 0.3])
    assert diff == pytest.approx(2 / 3) and np.isnan(lo) and np.isnan(hi)
    four = np.r_[np.ones(4), np.zeros(20)].astype(int)
    assert np.isnan(paired_auc_difference(four, four + 0.1, four * 0.5)[1][0])
    few_healthy = np.r_[np.ones(20), np.zeros(2)].astype(int)  # of either class
    assert np.isnan(paired_auc_difference(few_healthy, few_healthy + 0.1, few_healthy * 0.5)[1][0])
    five = np.r_[np.ones(5), np.zeros(20)].astype(int)
    assert not np.isnan(paired_auc_difference(five, five + 0.1, five * 0.5)[1][0])
