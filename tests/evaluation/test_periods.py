"""Batch and period subsets, the per-subset AUC columns and the confound audit, on hand-made tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation import periods as P
from thermocad.evaluation.confounds import audit_notes, confound_audit
from thermocad.evaluation.evaluate import by_period, evaluate_predictions
from thermocad.evaluation.periods import period_columns
from thermocad.io.labels import read_labels


def table(rows):
    return pd.DataFrame(
        rows, columns=["patient_id", "label", "acquisition_batch", "acquisition_date"]
    )


def test_period_matched_per_batch():
    df = table([
        (1, "Healthy", "A", "2012-01-01"),  # before any Sick of A: out
        (2, "Healthy", "A", "2013-05-01"),  # in: A's shared range is 2013-03-01..2013-06-01
        (3, "Healthy", "A", "2013-06-01"),  # in (the last Healthy date closes the range)
        (4, "Sick", "A", "2013-03-01"),  # in (the first Sick date opens it)
        (5, "Sick", "A", "2014-01-01"),  # after the last Healthy: out
        (6, "Sick", "A", ""),  # no date: out
        (7, "Sick", "B", "2019-01-01"),  # batch B has one class: nobody
        (8, "Sick", "B", "2019-02-01"),
    ])  # fmt: skip
    mask = P.period_matched(df)
    assert mask.tolist() == [False, True, True, True, False, False, False, False]
    assert mask.attrs["available"] is True
    assert P.period_range(df, "A") == ("2013-03-01", "2013-06-01")
    assert P.two_class_batches(df) == ["A"]
    assert {k: int(v.sum()) for k, v in P.subsets(df).items()} == {
        "overall": 8, "batch A": 6, "period-matched": 3}  # fmt: skip


def test_period_matched_without_dates_is_na():
    df = table([(1, "Healthy", "A", ""), (2, "Sick", "A", "")]).drop(columns="acquisition_date")
    mask = P.period_matched(df)
    assert not mask.any() and mask.attrs["available"] is False
    mask = P.period_matched(table([(1, "Healthy", "A", ""), (2, "Sick", "A", "")]))
    assert not mask.any() and mask.attrs["available"] is False


def test_no_batch_column_is_one_batch():
    df = table([(1, "Healthy", "", "2013-01-01"), (2, "Sick", "", "2013-02-01"),
                (3, "Healthy", "", "2013-03-01")]).drop(columns="acquisition_batch")  # fmt: skip
    assert P.period_matched(df).tolist() == [False, True, False]  # range: the one Sick date
    assert P.two_class_batches(df) == ["all"]


def test_an_empty_batch_column_is_one_batch_and_a_missing_batch_is_in_none():
    rows = [(1, "Healthy", "", "2013-01-01"), (2, "Sick", "", "2013-02-01"),
            (3, "Healthy", "", "2013-03-01")]  # fmt: skip
    assert P.period_matched(table(rows)).tolist() == [False, True, False]  # as without the column
    assert P.two_class_batches(table(rows)) == ["all"]
    # Beside women of batch A, women without a batch belong to no batch: not "batch ?".
    mixed = table([*rows, (4, "Sick", "A", "2013-02-01"), (5, "Healthy", "A", "2013-02-01")])
    mixed.loc[0, "acquisition_batch"] = None
    assert P.two_class_batches(mixed) == ["A"]
    assert P.period_matched(mixed).tolist() == [False, False, False, True, True]
    assert list(P.subsets(mixed)) == ["overall", "batch A", "period-matched"]


def test_a_woman_is_period_matched_with_all_her_images_by_her_first_date():
    df = table([
        (1, "Healthy", "A", "2013-01-01"),
        (1, "Healthy", "A", "2013-06-01"),  # her second visit lies inside, her first does not
        (2, "Sick", "A", "2013-03-01"),
        (3, "Healthy", "A", "2013-05-01"),  # range: 2013-03-01..2013-05-01, from first dates
        (4, "Sick", "A", "2013-07-01"),
    ])  # fmt: skip
    assert P.period_matched(df).tolist() == [False, False, True, True, False]
    assert P.period_matched(df.iloc[[1, 0, 2, 3, 4]]).tolist() == [False, False, True, True, False]


def pred_table():
    # batch A: 4 Healthy, 4 Sick; B: 2 Sick. Period A: 2013-03-01..2013-06-01 holds patients 2-5.
    rows = [(1, "Healthy", "A", "2012-01-01", 0.1), (2, "Healthy", "A", "2013-05-01", 0.6),
            (3, "Healthy", "A", "2013-06-01", 0.3), (4, "Sick", "A", "2013-03-01", 0.5),
            (5, "Sick", "A", "2013-04-01", 0.7), (6, "Sick", "A", "2014-01-01", 0.9),
            (7, "Healthy", "A", "2012-02-01", 0.2), (8, "Sick", "A", "2014-02-01", 0.8),
            (9, "Sick", "B", "2019-01-01", 0.95), (10, "Sick", "B", "2019-02-01", 0.99)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["patient_id", "label", "acquisition_batch", "acquisition_date", "prob"])  # fmt: skip
    return df.assign(path=[f"p{i}" for i in df["patient_id"]])


def test_by_period_aucs_and_columns():
    result = evaluate_predictions(pred_table(), 0.5, n_boot=50)
    sub = result["by_period"]["subsets"]
    assert result["by_period"]["primary_batch"] == "A"
    assert (sub["overall"]["n"], sub["batch A"]["n"], sub["period-matched"]["n"]) == (10, 8, 4)
    # batch A: Sick probs 0.5 0.7 0.9 0.8 vs Healthy 0.1 0.6 0.3 0.2: 15 of 16 pairs -> 0.9375
    assert sub["batch A"]["roc_auc"] == pytest.approx(15 / 16)
    # period: Sick 0.5 0.7 vs Healthy 0.6 0.3: pairs won 0.5>0.3, 0.7>0.6, 0.7>0.3 -> 3/4
    assert sub["period-matched"]["roc_auc"] == pytest.approx(0.75)
    assert len(sub["period-matched"]["ci"]) == 2
    cols = period_columns(result["by_period"])
    assert cols["batch"] == "A" and cols["batch_n"] == 8 and cols["period_roc_auc"] == 0.75


def test_healthy_date_drift_compares_healthy_women_inside_and_outside_the_period():
    drift = evaluate_predictions(pred_table(), 0.5, n_boot=50)["by_period"]["healthy_date_drift"]
    # batch A Healthy: inside the period (2013-03-01..06-01) patients 2 (0.6) and 3 (0.3);
    # outside it 1 (0.1) and 7 (0.2): every inside one scores higher -> AUC 1.0
    assert drift["batch"] == "A" and (drift["n_inside"], drift["n_outside"]) == (2, 2)
    assert drift["roc_auc"] == 1.0 and len(drift["ci"]) == 2
    # P(Sick) that ignores the date: the same scores inside and outside -> 0.5
    flat = pred_table().assign(prob=lambda d: np.where(d["label"] == "Sick", 0.9, 0.2))
    assert by_period(flat.assign(y=(flat["label"] == "Sick").astype(int)), n_boot=0)[
        "healthy_date_drift"]["roc_auc"] == 0.5  # fmt: skip


def test_healthy_date_drift_is_none_without_dates_or_a_shared_period():
    pat = pred_table().assign(y=lambda d: (d["label"] == "Sick").astype(int))
    assert by_period(pat.drop(columns="acquisition_date"), n_boot=0)["healthy_date_drift"] is None
    early = pat[~pat["patient_id"].isin([2, 3])]  # no Healthy woman inside the period
    assert by_period(early, n_boot=0)["healthy_date_drift"] is None


def test_report_notes_the_drift_and_flags_it_when_its_interval_excludes_half():
    from thermocad.reporting.periods import drift_note

    base = {"batch": "A", "roc_auc": 0.8, "n_inside": 15, "n_outside": 56}
    assert drift_note(None) == ""
    assert drift_note({**base, "ci": (0.68, 0.93)}).startswith("<p class=bad>Date drift")
    assert drift_note({**base, "ci": (0.12, 0.40)}).startswith("<p class=bad>")  # below: too
    plain = drift_note({**base, "roc_auc": 0.55, "ci": (0.4, 0.7)})
    assert plain.startswith("<p>Date drift") and "15 imaged inside" in plain


def test_report_notes_read_back_from_metrics_json_without_intervals():
    """metrics.json stores an undefined interval as [null, null]: the notes and the period
    table read it back as no interval, flag nothing and say why (it raised TypeError)."""
    import json

    from thermocad.reporting.periods import drift_note, period_table, room_note

    periods = json.loads(json.dumps({
        "dates": True, "period_ranges": {"A": ["2013-03-01", "2013-06-01"]},
        "subsets": {"overall": {"n": 24, "n_sick": 8, "roc_auc": 0.8, "ci": [0.6, 0.95]},
                    "batch A": {"n": 17, "n_sick": 3, "roc_auc": 0.5, "ci": [float("nan")] * 2},
                    "period-matched": {"n": 7, "n_sick": 3, "roc_auc": 0.167, "ci": None}},
        "healthy_date_drift": {"batch": "A", "roc_auc": 0.95, "ci": [None, None],
                               "n_inside": 4, "n_outside": 10},
        "healthy_room_drift": {"batch": "A", "rho": 0.3, "ci": [None, None], "n": 14},
    }).replace("NaN", "null"))  # fmt: skip
    note = drift_note(periods["healthy_date_drift"])
    assert note.startswith("<p>Date drift") and (
        "AUC 0.950 (no interval: fewer than 5 Healthy women inside it)" in note
    )
    assert room_note(periods["healthy_room_drift"]).startswith("<p>Room drift")
    assert "is 0.30: no interval" in room_note(periods["healthy_room_drift"])
    shown = period_table(periods)
    assert "0.500 (no interval: fewer than 5 Sick women)" in shown
    assert "0.167 (no interval: fewer than 5 Sick and Healthy women)" in shown
    assert '0.800 <span class="ci">(0.600-0.950)</span>' in shown


def _rooms(n_healthy: int, prob_of_room) -> pd.DataFrame:
    """Healthy women in rooms 20-25 C with P(Sick) a function of the room; 5 Sick women."""
    room = np.linspace(20, 25, n_healthy)
    healthy = pd.DataFrame({"patient_id": range(n_healthy), "y": 0, "room_median": room,
                            "prob": prob_of_room(room)})  # fmt: skip
    sick = pd.DataFrame({"patient_id": range(100, 105), "y": 1, "room_median": 20.0,
                         "prob": 0.9})  # fmt: skip
    return pd.concat([healthy, sick], ignore_index=True)


def test_healthy_room_drift_is_the_healthy_womens_rank_correlation_with_the_room():
    follows = _rooms(20, lambda r: (r - 20) / 10)  # warmer room, higher P(Sick)
    drift = by_period(follows, n_boot=200)["healthy_room_drift"]
    # Only the Healthy: the Sick women (cold room, high P) would pull rho down if counted.
    assert drift["rho"] == pytest.approx(1.0) and drift["n"] == 20 and drift["ci"][0] > 0.9
    reverse = P.healthy_room_drift(_rooms(20, lambda r: (25 - r) / 10), None, n_boot=0)
    assert reverse["rho"] == pytest.approx(-1.0) and reverse["ci"] is None
    rng = np.random.default_rng(0)
    noise = P.healthy_room_drift(_rooms(60, lambda r: rng.uniform(size=len(r))), None, 500)
    assert noise["ci"][0] < 0 < noise["ci"][1]  # an unrelated P(Sick): the interval holds 0
    assert P.healthy_room_drift(_rooms(9, lambda r: r / 30), None) is None  # too few women
    assert P.healthy_room_drift(_rooms(20, lambda r: r * 0 + 0.3), None) is None  # constant
    assert P.healthy_room_drift(follows.drop(columns="room_median"), None) is None
    # One woman in a warmer room than 11 others: a resample without her has no rho (one room
    # value), a third of them; as every interval, none when over 5% of the draws are undefined
    # (the others' interval was taken silently).
    lone = _rooms(12, lambda r: r / 30).assign(
        room_median=lambda d: np.where(d.index == 0, 25.0, 20.0)
    )
    lonely = P.healthy_room_drift(lone, None, n_boot=200)
    assert np.isfinite(lonely["rho"]) and lonely["ci"] is None
    undefined = int(lonely["ci_undefined"].split()[0])
    assert lonely["ci_undefined"] == f"{undefined} of 200" and undefined > 10
    assert P.room_drift_words(lonely).endswith(f"no interval (rho undefined in {undefined} of "
                                               "200 resamples)")  # fmt: skip


def test_report_notes_the_room_drift_with_or_without_dates():
    from thermocad.reporting.periods import period_note, room_note

    drift = {"batch": "A", "rho": 0.32, "ci": [0.08, 0.53], "n": 71}
    assert room_note(None).startswith("<p>Room drift: not measured")  # said, not left out
    assert room_note(drift).startswith("<p class=bad>Room drift")
    assert "is 0.32 (0.08-0.53): P(Sick) rises with the room" in room_note(drift)
    # An interval around 0 claims nothing: no flag, and the words say so.
    unsure = room_note({**drift, "ci": [-0.1, 0.4]})
    assert (
        unsure.startswith("<p>Room drift")
        and "inconclusive, the interval holds 0 and drifts as large as 0.40" in unsure
    )
    falls = P.room_drift_words({**drift, "rho": -0.3, "ci": [-0.5, -0.1]})
    assert "-0.30 (-0.50 to -0.10): P(Sick) falls as the room warms" in falls
    assert P.room_drift_words({**drift, "ci": [None, 0.4]}).endswith("is 0.32: no interval")
    no_dates = period_note({"dates": False, "healthy_room_drift": drift})
    assert "No acquisition dates" in no_dates and "Room drift" in no_dates
    assert "71 Healthy women," in room_note({**drift, "batch": "all"})  # one batch: not named


def test_by_period_without_dates_says_na():
    pat = pred_table().drop(columns=["acquisition_date", "path"]).assign(y=lambda d: (d["label"] == "Sick").astype(int))  # fmt: skip
    out = by_period(pat, n_boot=0)
    assert out["dates"] is False and out["subsets"]["period-matched"]["note"].startswith("n/a")
    assert np.isnan(period_columns(out)["period_roc_auc"])


def test_confound_audit_flags_the_date():
    df = pred_table().assign(t_min=[20.0] * 10)
    audit = confound_audit(df).set_index("quantity")
    # date alone within batch A: every Sick later than... Sick 03-01,04-01,2014-01,2014-02 vs
    # Healthy 2012-01, 05-01, 06-01, 2012-02: Sick later in 12 of 16 pairs -> 0.75
    assert audit.loc["acquisition date", "AUC within batch A"] == pytest.approx(0.75)
    assert audit.loc["coldest pixel (C)", "AUC overall"] == 0.5  # a constant tells nothing
    # 4 against 4 women: an AUC of 0.75 is what chance gives often (Mann-Whitney p 0.2 before
    # any correction), so it is not flagged; the same order among 40 women is
    assert not audit.loc["acquisition date", "flag"]
    big = pd.concat([df.assign(patient_id=df["patient_id"] + 100 * k) for k in range(4)])
    flagged = confound_audit(big).set_index("quantity")
    assert flagged.loc["acquisition date", "AUC within batch A"] == pytest.approx(0.75)
    assert flagged.loc["acquisition date", "flag"]
    assert any(n.startswith("acquisition date alone") for n in audit_notes(flagged.reset_index()))
    # A woman's first image whole: its missing room is not filled from her second image.
    twice = pd.concat([df.iloc[:1].assign(room_median=np.nan), df.assign(room_median=24.0)])
    rooms = confound_audit(twice).set_index("quantity")
    assert rooms.loc["room temperature (background median, C)", "patients with a value"] == 9
    # An 8/16-bit image cohort's: grey levels named as such, no skin or room rows (a review
    # found "(C)" said of grey levels, and empty temperature rows).
    grey = confound_audit(twice.assign(unit="intensity", skin_median=np.nan)).set_index("quantity")
    assert "darkest pixel (grey level)" in grey.index and "coldest pixel (C)" not in grey.index
    assert not any("temperature" in q for q in grey.index)


@pytest.mark.real
def test_real_period_is_15_healthy_and_16_sick(dmr_dir):
    labels = read_labels(dmr_dir / "labels.csv").rename(columns={"diagnosis": "label"})
    mask = P.period_matched(labels)
    counts = labels[mask].groupby(["acquisition_batch", "label"]).size().to_dict()
    assert counts == {("A", "Healthy"): 15, ("A", "Sick"): 16}
    assert P.period_range(labels, "A") == ("2013-08-16", "2015-03-13")


def test_a_split_marks_the_period_once_for_the_whole_cohort():
    from thermocad.cohort.split import make_split

    # Batch A's shared range over all eight women: 2013-03-01 (first Sick) to 2013-09-01 (last
    # Healthy). A table without woman 4 has a range of its own, 2013-03-01..2013-06-01, which
    # leaves out woman 8 (2013-08-01); the split's column keeps the cohort's women.
    cohort = table([
        (1, "Healthy", "A", "2012-01-01"), (2, "Healthy", "A", "2013-05-01"),
        (3, "Healthy", "A", "2013-06-01"), (4, "Healthy", "A", "2013-09-01"),
        (5, "Sick", "A", "2013-03-01"), (6, "Sick", "A", "2013-05-15"),
        (7, "Sick", "A", "2014-01-01"), (8, "Sick", "A", "2013-08-01"),
    ]).assign(path=[f"T{i}.txt" for i in range(1, 9)], excluded_reason="")  # fmt: skip
    split = make_split(cohort, test=0.0, folds=2, seed=0)
    assert split.set_index("patient_id")[P.PERIOD].to_dict() == {
        1: False, 2: True, 3: True, 4: True, 5: True, 6: True, 7: False, 8: True}  # fmt: skip
    part = split[split["patient_id"] != 4]
    assert P.period_matched(part).sum() == 5  # women 2, 3, 5, 6, 8: the cohort's range
    assert P.period_matched(part, own_range=True).sum() == 4  # without 8
    read_back = pd.read_csv(io.StringIO(part.to_csv(index=False)))
    assert P.period_matched(read_back).tolist() == P.period_matched(part).tolist()
    as_text = part.assign(period_matched=part["period_matched"].map({True: "TRUE", False: "false"}))
    assert P.period_matched(as_text).tolist() == P.period_matched(part).tolist()  # R, Excel


def test_per_woman_tables_date_a_woman_by_her_first_image():
    from thermocad.evaluation.evaluate import patient_frame

    rows = table([
        (1, "Healthy", "A", "2015-01-01"),
        (1, "Healthy", "A", "2013-07-01"),  # her first date, in her second row
        (2, "Sick", "A", "2013-06-01"),
        (3, "Healthy", "A", "2013-12-01"),
        (4, "Sick", "A", "2014-02-01"),
    ]).assign(prob=0.5, y=lambda d: (d["label"] == "Sick").astype(int))  # fmt: skip
    image_level = P.period_matched(rows)
    pat = patient_frame(rows, None)
    assert pat.set_index("patient_id")["acquisition_date"].to_dict()[1] == "2013-07-01"
    women = P.period_matched(pat).set_axis(pat["patient_id"]).to_dict()
    assert women == rows.assign(m=image_level).groupby("patient_id")["m"].first().to_dict()
    assert P.period_range(rows, "A") == ("2013-07-01", "2013-12-01")  # first dates, not 2015


def test_the_report_shows_subgroups_by_woman_with_their_sick_counts_and_wilson_intervals():
    from thermocad.reporting.periods import subgroup_section

    result = evaluate_predictions(pred_table(), 0.5, n_boot=0)
    html_text = subgroup_section(result)
    # One image per woman: the image-level table would repeat the patient-level one.
    assert "Patient level, by acquisition batch" in html_text and "Image level" not in html_text
    # Batch A at 0.5: Sick 0.5 0.7 0.9 0.8 all called (4/4); Healthy 0.1 0.3 0.2 below, 0.6 not
    # (3/4). Wilson 95% for 4/4: 0.510-1.000; for 3/4: 0.301-0.954.
    assert "<td>8 (4)</td>" in html_text and "<td>2 (2)</td>" in html_text
    assert '1.000 <span class="ci">(0.510-1.000)</span>' in html_text
    assert '0.750 <span class="ci">(0.301-0.954)</span>' in html_text
    two = pd.concat([pred_table(), pred_table().assign(path=lambda d: d["path"] + "b")])
    assert "Image level" in subgroup_section(evaluate_predictions(two, 0.5, n_boot=0))


def test_confound_audit_has_no_batch_column_repeating_the_overall_one():
    # No batch column: the one batch "all" holds every woman, so a column "within batch all"
    # would repeat "overall" and halve the Bonferroni cut (0.05/4 instead of 0.05/2).
    rng = np.random.default_rng(10)
    y = rng.permutation(np.r_[np.ones(16, int), np.zeros(24, int)])
    room = rng.normal(22, 1, 40) + 0.8 * y
    cohort = pd.DataFrame({"patient_id": np.arange(40), "label": np.where(y == 1, "Sick", "Healthy"),
                           "room_median": room})  # fmt: skip
    audit = confound_audit(cohort, 100).set_index("quantity")
    assert [c for c in audit.columns if c.startswith("AUC ")] == ["AUC overall"]
    assert audit.loc["room temperature (background median, C)", "flag"]  # p 0.023 < 0.05/2
    one_batch = confound_audit(cohort.assign(acquisition_batch="A"), 100)
    assert "AUC within batch A" not in one_batch.columns
    # Two batches, B of one class: batch A keeps its column, B has none.
    two = confound_audit(pred_table(), 0)
    assert [c for c in two.columns if c.startswith("AUC ")] == ["AUC overall", "AUC within batch A"]


def test_subsets_take_the_period_from_the_tables_column_read_as_written():
    """A split's `period_matched` column decides the period-matched subset, not a range of the
    table's own, whether it reads back as booleans, 1/0, 1.0/0.0 or "True"/"False" text."""
    df = table([
        (1, "Healthy", "A", "2012-01-01"),  # its own range (2013-03-01..2013-05-01) leaves her out
        (2, "Healthy", "A", "2013-05-01"),
        (3, "Sick", "A", "2013-03-01"),
        (4, "Sick", "A", "2014-01-01"),  # ... and her
    ])  # fmt: skip
    assert P.period_matched(df).tolist() == [False, True, True, False]
    marked = [True, True, True, True]  # the cohort's range held all four
    for written in (marked, [1, 1, 1, 1], [1.0, 1.0, 1.0, 1.0], ["True"] * 4):
        assert P.subsets(df.assign(period_matched=written))["period-matched"].tolist() == marked
    for written in ([True, False, True, False], [1, 0, 1, 0], [1.0, 0.0, 1.0, 0.0],
                    ["True", "False", "True", "False"]):  # fmt: skip
        mask = P.period_matched(df.assign(period_matched=written))
        assert mask.tolist() == [True, False, True, False], written


def test_the_primary_batch_is_the_most_common_two_class_batch():
    rows = [(1, "Healthy", "A", ""), (2, "Sick", "A", "")]
    rows += [(k, "Healthy" if k % 2 else "Sick", "B", "") for k in range(3, 9)]  # 6 women of B
    assert P.two_class_batches(table(rows)) == ["B", "A"]  # B first, though A comes first by name
    assert by_period(table(rows).assign(prob=0.5, y=lambda d: (d["label"] == "Sick").astype(int)),
                     n_boot=0)["primary_batch"] == "B"  # fmt: skip


def test_an_undated_healthy_woman_is_not_counted_outside_the_period():
    pat = pred_table().assign(y=lambda d: (d["label"] == "Sick").astype(int))
    undated = pd.DataFrame([{**pat.iloc[0].to_dict(), "patient_id": 11, "acquisition_date": None,
                             "path": "p11", "prob": 0.05}])  # fmt: skip
    outside, inside = P.healthy_outside_inside(pd.concat([pat, undated], ignore_index=True), "A")
    assert (int(outside.sum()), int(inside.sum())) == (2, 2)  # women 1 and 7 outside, not 11
    assert not outside.iloc[-1]


def test_room_drift_is_spearmans_rho_with_its_95_percent_interval():
    # A monotone, not linear, P(Sick) of the room: Spearman's rho is 1 (Pearson's r is not).
    curved = P.healthy_room_drift(_rooms(20, lambda r: np.exp(r - 20) / 200), None, n_boot=0)
    assert curved["rho"] == pytest.approx(1.0)
    rng = np.random.default_rng(4)
    df = _rooms(30, lambda r: rng.uniform(size=len(r)))
    drift = P.healthy_room_drift(df, None, n_boot=300, seed=2)
    healthy = df[df["y"] == 0]
    prob, room = healthy["prob"].to_numpy(), healthy["room_median"].to_numpy()
    draws = np.random.default_rng(2).integers(0, 30, (300, 30))
    boots = [P._spearman(prob[i], room[i]) for i in draws]
    assert drift["ci"] == pytest.approx(list(np.nanpercentile(boots, [2.5, 97.5])), abs=1e-12)


def test_room_drift_counts_only_the_batchs_healthy_women():
    a = _rooms(20, lambda r: (r - 20) / 10).assign(acquisition_batch="A")
    b = _rooms(12, lambda r: (25 - r) / 10).assign(acquisition_batch="B",
                                                  patient_id=lambda d: d["patient_id"] + 200)  # fmt: skip
    drift = P.healthy_room_drift(pd.concat([a, b], ignore_index=True), "A", n_boot=0)
    assert drift["n"] == 20 and drift["rho"] == pytest.approx(1.0)


def test_a_subgroup_well_below_the_overall_auc_is_flagged_too():
    # Batch A (16 women): every Sick above every Healthy, AUC 1.0; batch B (4 women): reversed,
    # AUC 0.0. Overall 96 of 100 pairs, 0.96: A is 0.04 above, B 0.96 below: B is noted.
    y = [1] * 8 + [0] * 8 + [1, 1, 0, 0]
    prob = [0.9] * 8 + [0.1] * 8 + [0.2, 0.2, 0.8, 0.8]
    df = pd.DataFrame({"patient_id": range(20), "y": y, "prob": prob,
                       "acquisition_batch": ["A"] * 16 + ["B"] * 4})  # fmt: skip
    out = P.subgroup_metrics(df, "acquisition_batch", 0.5)
    assert out["flag"] and [n.split(":")[0] for n in out["notes"]] == ["acquisition_batch=B"]


def test_a_batch_is_named_the_overall_row_only_with_the_same_women_and_sick_women():
    overall = {"n": 10, "n_sick": 4, "roc_auc": 0.8}
    same = P.shown_subsets({"overall": overall, "batch A": {"n": 10, "n_sick": 4}})
    assert list(same) == ["overall (all batch A)"]
    other = P.shown_subsets({"overall": overall, "batch A": {"n": 10, "n_sick": 3}})
    assert list(other) == ["overall", "batch A"]  # as many women, not the same ones: both rows


def _room_audit(sick_rooms, healthy_rooms, copies: int = 1) -> pd.Series:
    """The confound audit's room row for Sick and Healthy women with these rooms (each woman
    `copies` times). Sick women get even, Healthy odd numbers: the patient number separates
    nothing, and the audit holds two AUCs (room, patient number; no dates): Bonferroni 0.025."""
    sick, healthy = np.tile(sick_rooms, copies), np.tile(healthy_rooms, copies)
    cohort = pd.DataFrame({"patient_id": np.r_[np.arange(len(sick)) * 2, np.arange(len(healthy)) * 2 + 1],
                           "label": ["Sick"] * len(sick) + ["Healthy"] * len(healthy),
                           "room_median": np.r_[sick, healthy]})  # fmt: skip
    audit = confound_audit(cohort, n_boot=0).set_index("quantity")
    assert audit["AUC overall"].notna().sum() == 2
    return audit.loc["room temperature (background median, C)"]


def test_the_audit_flags_an_auc_of_at_least_0_7_with_a_bonferroni_small_p():
    healthy = np.arange(10.0)  # rooms 0-9 (a scale that makes the AUCs exact)
    # Every Sick woman at 6.5: above 7 of the 10 Healthy, AUC 0.7 exactly; p 2e-7 among 200
    exactly = _room_audit(np.full(10, 6.5), healthy, copies=10)
    assert exactly["AUC overall"] == 0.7 and exactly["flag"]
    # Lower in Sick (the rooms negated): the same AUC in the better direction, p two-sided
    lower = _room_audit(-np.full(10, 6.5), -healthy, copies=10)
    assert lower["AUC overall"] == pytest.approx(0.7) and lower["flag"]
    # AUC 0.65 (Sick at 5.5 and 6.5), p 1e-7 among 400 women: small p, too small an AUC
    weak = _room_audit(np.r_[np.full(5, 5.5), np.full(5, 6.5)], healthy, copies=20)
    assert weak["AUC overall"] == pytest.approx(0.65) and not weak["flag"]
    # AUC 0.75 (Sick at 7) among 20 women, p 0.043: under 0.05, not under 0.05 / 2
    chance = _room_audit(np.full(10, 7.0), healthy)
    assert chance["AUC overall"] == pytest.approx(0.75) and not chance["flag"]


def test_the_audit_dates_a_woman_by_her_first_image_and_leaves_excluded_rows_out():
    cohort = table([
        (1, "Healthy", "A", "2014-01-01"),  # her first row; her first date is in her second
        (1, "Healthy", "A", "2012-01-01"),
        (2, "Healthy", "A", "2012-06-01"),
        (3, "Sick", "A", "2013-01-01"),
        (4, "Sick", "A", "2013-06-01"),
        (5, "Sick", "A", "2011-01-01"),  # excluded: left out of every AUC
    ]).assign(excluded_reason=["", "", "", "", "", "deodorant"])  # fmt: skip
    audit = confound_audit(cohort, n_boot=0).set_index("quantity")
    date = audit.loc["acquisition date"]
    # by first dates every Healthy woman (2012) before every Sick one (2013): AUC 1.0 (by her
    # first row, 2014, woman 1 would come after both Sick women: 0.5)
    assert date["patients with a value"] == 4 and date["AUC overall"] == 1.0
    assert audit.loc["patient number (acquisition order)", "patients with a value"] == 4
