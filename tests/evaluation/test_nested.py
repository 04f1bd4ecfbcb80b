"""Nested cross-validation with stand-in trainers (real training: the slow test at the end)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.evaluation.test_compare import coin_trainer
from thermocad.evaluation import compare as C
from thermocad.evaluation import metrics as M
from thermocad.evaluation import nested as N


def oracle_trainer(split_csv, run_dir, config):
    """Writes P(Sick) = the label itself, nudged by patient: a perfect 'model'."""
    if config["arch"] == "coin":
        return coin_trainer(split_csv, run_dir, config)
    df = pd.read_csv(split_csv)
    valid = df[df["split"] == "valid"]
    run_dir.mkdir(parents=True)
    (run_dir / "model.json").write_text(json.dumps({"parameters": 7}))
    prob = (valid["label"] == "Sick") * 0.8 + 0.1 + valid["patient_id"] / 1000
    valid.assign(prob=prob)[["path", "prob"]].to_csv(run_dir / "valid_predictions.csv", index=False)
    return run_dir


def recording(trainer, seen):
    def wrapped(split_csv, run_dir, config):
        seen.append((str(run_dir), pd.read_csv(split_csv)))
        return trainer(split_csv, run_dir, config)

    return wrapped


def test_outer_test_women_are_never_seen_by_a_choice(split_csv, tmp_path):
    seen = []
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["coin"], tmp_path / "nested", config={}, n_boot=20,
                      trainer=recording(coin_trainer, seen))  # fmt: skip
    dev = df[df["split"] != "test"]
    # A CNN that wins every fold, so that each outer fold refits it (the baseline needs no trainer).
    refits = []
    N.nested_cv(df, ["oracle"], tmp_path / "oracle", config={}, baseline=False, n_boot=0,
                trainer=recording(oracle_trainer, refits))  # fmt: skip
    for k in sorted(dev["fold"].unique()):
        held = set(dev.loc[dev["fold"] == k, "patient_id"])
        runs = [(d, s) for d, s in seen if f"outer{k}/" in d]
        inner = [s for d, s in runs if "/inner/" in d]
        assert len(inner) == 3 and all(not held & set(s["patient_id"]) for s in inner)
        refit = [s for d, s in refits if f"outer{k}/" in d and "/refit/" in d]
        assert (
            len(refit) == 1
        )  # the refit trains on the outer training set, predicts the held-out fold
        assert set(refit[0].loc[refit[0]["split"] == "valid", "patient_id"]) == held
        assert (
            set(refit[0].loc[refit[0]["split"] == "train", "patient_id"])
            == set(dev["patient_id"]) - held
        )
    pred = pd.read_csv(tmp_path / "nested" / "nested_predictions.csv")
    assert sorted(pred["patient_id"]) == sorted(dev["patient_id"])  # every dev woman once, no test
    # the hot spot makes the baseline near-perfect and the coin is not: baseline every time
    assert set(pred["candidate"]) == {"baseline"} and len(res["folds"]) == 3
    assert res["candidates"] == ["baseline", "coin", "coin+baseline"]


def test_outer_test_predictions_move_no_choice(split_csv, tmp_path):
    """Whatever the refitted model says of the held-out women, each fold's candidate and
    threshold stay the same: both come from the inner folds alone."""

    def trainer(noise_seed):
        def train(split_csv, run_dir, config):
            run = oracle_trainer(split_csv, run_dir, config)
            if "/refit/" in str(run_dir):  # the held-out women's P(Sick): noise of this seed
                pred = pd.read_csv(run / "valid_predictions.csv")
                pred["prob"] = np.random.default_rng(noise_seed).uniform(size=len(pred))
                pred.to_csv(run / "valid_predictions.csv", index=False)
            return run

        return train

    df = pd.read_csv(split_csv)
    runs = [N.nested_cv(df, ["coin", "oracle"], tmp_path / str(s), config={}, baseline=False, n_boot=0,
                        trainer=trainer(s)) for s in (1, 2)]  # fmt: skip
    assert [f["chosen"] for f in runs[0]["folds"]] == [f["chosen"] for f in runs[1]["folds"]]
    assert [f["threshold"] for f in runs[0]["folds"]] == [f["threshold"] for f in runs[1]["folds"]]
    assert not np.allclose(runs[0]["pred"]["prob"], runs[1]["pred"]["prob"])  # the noise did land


def test_metrics_use_each_folds_own_threshold(split_csv, tmp_path):
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, [], tmp_path / "nested", n_boot=20)
    pred = res["pred"]
    thresholds = {f["outer_fold"]: f["threshold"] for f in res["folds"]}
    assert len(set(thresholds.values())) > 1  # folds that differ, or "own" would test nothing
    call = pred["prob"] >= pred["threshold"]
    tp, fn = int((call & (pred["y"] == 1)).sum()), int((~call & (pred["y"] == 1)).sum())
    overall = res["metrics"]["subsets"]["overall"]
    assert overall["sensitivity"] == pytest.approx(tp / (tp + fn))
    assert tuple(overall["sensitivity_ci"]) == pytest.approx(M.wilson_ci(tp, tp + fn))
    assert overall["n"] == 18 and overall["roc_auc"] == pytest.approx(M.roc_auc(pred["y"], pred["prob"]))  # fmt: skip
    assert res["metrics"]["subsets"]["period-matched"]["roc_auc"] is None  # no dates: n/a
    md = (tmp_path / "nested" / "nested.md").read_text()
    assert "| period-matched | n/a |" in md and "| overall (all batch A) | 18 (9) |" in md


def test_the_outer_predictions_keep_the_splits_period_marks(split_csv, tmp_path):
    """The period-matched women are decided once on the whole cohort (split.csv's column); the
    pooled outer predictions carry that column, never a subset recomputed from themselves."""
    from thermocad.evaluation import periods as P

    df = pd.read_csv(split_csv)
    df[P.DATE] = pd.Timestamp("2014-01-01") + pd.to_timedelta(df["patient_id"] * 7, "D")
    women = df.loc[df["split"] != "test", "patient_id"].drop_duplicates()  # the nested ones
    marked = set(women.sample(5, random_state=0))
    df[P.PERIOD] = df["patient_id"].isin(marked)  # not what the dates alone would give
    pred = N.nested_cv(df, [], tmp_path / "nested", n_boot=20)["pred"]
    assert set(pred.loc[pred[P.PERIOD].astype(bool), "patient_id"]) == marked


def test_best_candidate_wins_and_ties_go_to_the_simpler():
    rows = pd.DataFrame({"path": list("abcd"), "patient_id": [1, 2, 3, 4], "y": [0, 0, 1, 1]})
    good = rows.assign(prob=[0.1, 0.2, 0.8, 0.9])
    poor = rows.assign(prob=[0.9, 0.2, 0.8, 0.1])
    order = ["baseline", "x", "x+baseline"]
    assert N.select_candidate({"baseline": poor, "x": good, "x+baseline": good}, order)[0] == "x"
    chosen, scores = N.select_candidate({"baseline": good, "x": good}, order)
    assert chosen == "baseline" and scores == {"baseline": 1.0, "x": 1.0}


def test_candidate_probs_average_cnn_alone_with_baseline():
    base = pd.DataFrame({"path": ["a", "b"], "prob": [0.2, 0.6]})
    cnn = pd.DataFrame({"path": ["b", "a"], "prob": [0.5, 0.5], "prob_cnn": [0.8, 0.4]})
    out = N.candidate_probs({"x": cnn}, base)
    assert out["x"]["prob"].tolist() == [0.8, 0.4]  # the CNN half, not the run's own average
    assert out["x+baseline"]["prob"].tolist() == pytest.approx(
        [0.7, 0.3]
    )  # (0.8+0.6)/2, (0.4+0.2)/2


def test_perfect_candidate_is_chosen_and_refitted(split_csv, tmp_path):
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["coin", "oracle"], tmp_path / "n", config={}, baseline=False,
                      n_boot=0, trainer=oracle_trainer)  # fmt: skip
    assert {f["chosen"] for f in res["folds"]} == {"oracle"}
    assert res["metrics"]["subsets"]["overall"]["roc_auc"] == 1.0
    assert (tmp_path / "n" / "outer0" / "refit" / "oracle" / "fold0" / "model.json").exists()


def test_compare_nested_writes_the_outer_estimate(split_csv, tmp_path):
    out = C.compare(split_csv, ["coin"], tmp_path / "cmp", config={}, n_boot=20,
                    trainer=coin_trainer, nested=True, inner_folds=2)  # fmt: skip
    best = json.loads((tmp_path / "cmp" / "best.json").read_text())
    assert best["nested"]["selection_rule"] == N.SELECTION_RULE
    assert best["nested"]["folds"][0]["chosen"] == out["nested"]["folds"][0]["chosen"]
    assert (tmp_path / "cmp" / "nested" / "nested_predictions.csv").exists()
    assert np.isfinite(best["nested"]["metrics"]["subsets"]["overall"]["roc_auc"])


def test_a_candidate_failing_on_the_inner_folds_drops_out_and_all_failing_stops(
    split_csv, tmp_path, capsys
):
    """As in compare: a candidate that raises is logged and left out of the choice; with no
    candidate left to score, the nested run stops (a coverage review: neither was run)."""
    from thermocad.evaluation.runs import AllModelsFailedError

    def broken(split_csv, run_dir, config):
        if config["arch"] == "broken":
            raise RuntimeError("out of luck")
        return oracle_trainer(split_csv, run_dir, config)

    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["broken", "oracle"], tmp_path / "n", config={}, baseline=False,
                      n_boot=0, trainer=broken)  # fmt: skip
    assert {f["chosen"] for f in res["folds"]} == {"oracle"}
    assert "nested: broken failed on the inner folds (RuntimeError: out of luck)" in (
        capsys.readouterr().err
    )
    with pytest.raises(AllModelsFailedError, match="no candidate could be scored"):
        N.nested_cv(df, ["broken"], tmp_path / "all", config={}, baseline=False, n_boot=0,
                    trainer=broken)  # fmt: skip


def test_nested_needs_folds(split_csv, tmp_path):
    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="needs the split's folds"):
        N.nested_cv(pd.read_csv(split_csv).drop(columns="fold"), [], tmp_path / "n")


@pytest.mark.slow
@pytest.mark.train
def test_head_only_configs_take_the_fast_path(split_csv, tmp_path):
    from thermocad.evaluation.heads import head_only
    from thermocad.training.config import TrainConfig

    assert head_only(TrainConfig()) and not head_only(TrainConfig.smoke())
    assert not head_only(TrainConfig(lr=None)) and not head_only({"arch": "x"})

    def no_training(*args, **kwargs):
        raise AssertionError("the fast path must not call the trainer")

    config = TrainConfig(pretrained=False, size=32, head_epochs=2, batch_size=4)
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["efficientnet_lite0"], tmp_path / "n", config, no_training,
                      baseline=False, n_boot=0, fast_heads=True)  # fmt: skip
    pred = res["pred"]
    assert len(pred) == 18 and pred["prob"].between(0, 1).all()
    assert set(pred["candidate"]) == {"efficientnet_lite0"}


@pytest.mark.slow
@pytest.mark.train
def test_inner_folds_choose_among_recipe_variants(split_csv, tmp_path):
    """A named variant (an overrides entry with its own "arch") is one more candidate: the
    inner folds choose between input recipes as between architectures."""
    from thermocad.training.config import TrainConfig

    config = TrainConfig(pretrained=False, size=32, head_epochs=2, batch_size=4)
    variants = {"grey_frame": {"arch": "efficientnet_lite0", "channels": ["temperature"],
                               "crop": "none", "background": "keep"}}  # fmt: skip
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["efficientnet_lite0", "grey_frame"], tmp_path / "n", config,
                      None, n_boot=0, overrides=variants, fast_heads=True)  # fmt: skip
    assert res["candidates"] == ["baseline", "efficientnet_lite0", "efficientnet_lite0+baseline",
                                 "grey_frame", "grey_frame+baseline"]  # fmt: skip
    scores = res["folds"][0]["inner_patient_auc"]
    assert set(scores) == set(res["candidates"]) and all(np.isfinite(list(scores.values())))
    # The variant's features differ from the default input's: a different recipe, not a copy.
    from thermocad.evaluation.heads import HeadRuns

    heads = HeadRuns(config, variants, df["path"].tolist())
    assert heads.config_for("grey_frame").channels == ("temperature",)
    assert not np.allclose(heads.features("grey_frame"), heads.features("efficientnet_lite0"))


def test_the_fast_path_fits_the_head_train_fits(split_csv, tmp_path):
    """Nested CV's heads on cached features are the heads `train()` fits on the same women (the
    same initial weights and batch order, from the seed): the nested estimate is of the
    procedure `fit` ships, not of a sibling drawn with other random numbers."""
    from thermocad.evaluation.heads import HeadRuns
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    # Pretrained: a random body would differ between the two (drawn at different points)
    config = TrainConfig(size=32, head_epochs=3, batch_size=4, ensemble="none")
    df = pd.read_csv(split_csv)
    df = df[df["split"] != "test"]
    run = train(split_csv, tmp_path / "run", config, fold=0)
    trained = pd.read_csv(run / "valid_predictions.csv")
    fast = HeadRuns(config, None, df["path"].tolist()).predict(
        "efficientnet_lite0", df[df["fold"] != 0], df[df["fold"] == 0]
    )
    both = trained.merge(fast[["path", "prob"]], on="path", suffixes=("", "_fast"))
    assert len(both) == (df["fold"] == 0).sum() == 6
    np.testing.assert_allclose(both["prob"], both["prob_fast"], atol=1e-5)


def test_a_fold_of_minus_1_is_no_outer_fold_and_trains_nothing(split_csv, tmp_path):
    # Two non-test women with fold -1 (in no fold, as compare's folds leave them) became an
    # outer fold of their own, predicted by a model trained on every other woman.
    df = pd.read_csv(split_csv)
    df.loc[df["patient_id"].isin([0, 1]), "fold"] = -1
    N.check_nested(df, ["oracle"], False, None)
    refits = []
    res = N.nested_cv(df, ["oracle"], tmp_path / "n", config={}, baseline=False, n_boot=0,
                      trainer=recording(oracle_trainer, refits))  # fmt: skip
    assert [f["outer_fold"] for f in res["folds"]] == [0, 1, 2] and res["outer_folds"] == 3
    assert not {0, 1} & set(res["pred"]["patient_id"])
    assert refits and all(not {0, 1} & set(s["patient_id"]) for _, s in refits)


def test_the_fast_path_never_trains_a_head_on_the_women_it_predicts(
    split_csv, tmp_path, monkeypatch
):
    """Every head the fast path fits (inner folds and refit) is trained on women other than
    those it predicts, and no head of outer fold k trains on or predicts k's held-out women
    but the refit, which predicts exactly them from exactly the other development women."""
    from thermocad.evaluation.heads import HeadRuns
    from thermocad.training.config import TrainConfig

    calls, current = [], []

    def fake_predict(self, arch, train_rows, rows):
        calls.append((current[-1], set(train_rows["patient_id"]), set(rows["patient_id"])))
        return N.with_y(rows).assign(prob=0.5 + 0.4 * (rows["label"] == "Sick") - rows["patient_id"] / 1000)  # fmt: skip

    real_outer = N.outer_fold

    def tracked(k, *args, **kwargs):
        current.append(k)
        return real_outer(k, *args, **kwargs)

    monkeypatch.setattr(HeadRuns, "predict", fake_predict)
    monkeypatch.setattr(HeadRuns, "applies", lambda self, arch: True)
    monkeypatch.setattr(N, "outer_fold", tracked)
    df = pd.read_csv(split_csv)
    dev = df[df["split"] != "test"]
    N.nested_cv(df, ["efficientnet_lite0"], tmp_path / "n", TrainConfig(), None,
                baseline=False, n_boot=0, fast_heads=True)  # fmt: skip
    assert calls and all(not train & rows for _, train, rows in calls)
    for k in sorted(dev["fold"].unique()):
        held = set(dev.loc[dev["fold"] == k, "patient_id"])
        others = set(dev["patient_id"]) - held
        fold = [(train, rows) for j, train, rows in calls if j == k]
        refits = [(train, rows) for train, rows in fold if rows == held]
        assert refits == [(others, held)]
        inner = [(train, rows) for train, rows in fold if rows != held]
        assert len(inner) == 3 and all((train | rows) <= others for train, rows in inner)


def _several_images_per_woman() -> pd.DataFrame:
    """Woman 1 (Sick) has four images at 0.9; women 2-5 (Sick) one each at 0.2-0.5; six
    Healthy women at 0.1. On images 0.9 reaches sensitivity 0.5 (4 of 8); on women 0.4 does."""
    rows = [(1, 1, 0.9)] * 4 + [(k, 1, 0.1 * k) for k in (2, 3, 4, 5)]
    rows += [(k, 0, 0.1) for k in range(6, 12)]
    pred = pd.DataFrame(rows, columns=["patient_id", "y", "prob"])
    return pred.assign(path=[f"p{i}" for i in range(len(pred))])


def test_an_outer_fold_chooses_its_threshold_on_women_not_images(monkeypatch, tmp_path):
    inner = _several_images_per_woman()
    monkeypatch.setattr(N, "_inner", lambda train_rows, out, job: {"baseline": inner})
    monkeypatch.setattr(N, "_refit", lambda chosen, train_rows, test_rows, out, job: test_rows)
    dev = inner.assign(fold=[0] * 12 + [1] * 2)
    job = N.NestedJob(archs=(), order=("baseline",), inner_folds=2, seed=0,
                      target_sensitivity=0.5)  # fmt: skip
    _, record = N.outer_fold(1, dev, tmp_path, job)
    assert record["threshold"] == pytest.approx(0.4 - N.T.NOISE_MARGIN)  # not 0.9 - margin


def test_candidates_are_scored_by_the_womens_auc_not_the_images():
    # x: woman 1 (Sick) at 0.9 and 0.1, mean 0.5, above both Healthy: women's AUC 1.0, images'
    # 4/6. baseline: woman 1 twice at 0.9, Sick woman 3 at 0.2 below Healthy 0.5: women's AUC
    # 3/4, images' 5/6. On images the baseline would win.
    rows = pd.DataFrame({"path": list("abcde"), "patient_id": [1, 1, 2, 3, 4],
                         "y": [1, 1, 0, 1, 0]})  # fmt: skip
    x = rows.assign(prob=[0.9, 0.1, 0.4, 0.6, 0.3])
    base = rows.assign(prob=[0.9, 0.9, 0.5, 0.2, 0.1])
    chosen, scores = N.select_candidate({"baseline": base, "x": x}, ["baseline", "x"])
    assert chosen == "x" and scores == pytest.approx({"baseline": 0.75, "x": 1.0})


def test_nested_metrics_give_sensitivity_and_specificity_in_every_subset():
    """Sensitivity and specificity (and their Wilson intervals, not each other's) overall, in
    batch A and period-matched. Batch A: Sick 1-5, Healthy 6-10, dated by month; its shared
    range (months 3-5) holds Sick 3-5 and Healthy 6-8. Batch B: two Sick women."""
    sick_p, healthy_p = [0.9, 0.8, 0.7, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4, 0.6]
    pred = pd.DataFrame({
        "patient_id": range(1, 13), "y": [1] * 5 + [0] * 5 + [1, 1],
        "prob": sick_p + healthy_p + [0.9, 0.9], "threshold": 0.5,
        "acquisition_batch": ["A"] * 10 + ["B"] * 2,
        "acquisition_date": [f"2013-0{m}-01" for m in [1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 9]],
    })  # fmt: skip
    subsets = N.nested_metrics(pred, n_boot=0)["subsets"]
    expected = {"overall": (5, 2, 4, 1), "batch A": (3, 2, 4, 1), "period-matched": (1, 2, 3, 0)}
    assert set(subsets) == set(expected)
    for name, (tp, fn, tn, fp) in expected.items():
        e = subsets[name]
        assert e["counts"] == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}, name
        assert e["sensitivity"] == pytest.approx(tp / (tp + fn)), name
        assert e["specificity"] == pytest.approx(tn / (tn + fp)), name
        assert tuple(e["sensitivity_ci"]) == M.wilson_ci(tp, tp + fn), name
        assert tuple(e["specificity_ci"]) == M.wilson_ci(tn, tn + fp), name


def test_the_baseline_alone_goes_through_the_same_outer_folds(split_csv, tmp_path):
    """The yardstick: where a fold chose the baseline, its predictions are the result's."""
    df = pd.read_csv(split_csv)
    res = N.nested_cv(df, ["coin"], tmp_path / "n", config={}, n_boot=0, trainer=coin_trainer)
    alone = pd.read_csv(tmp_path / "n" / "baseline_alone_predictions.csv")
    assert (
        res["baseline_alone"]["subsets"]["overall"]["n"]
        == res["metrics"]["subsets"]["overall"]["n"]
    )
    for f in res["folds"]:
        if f["chosen"] == "baseline":
            ours = res["pred"][res["pred"]["outer_fold"] == f["outer_fold"]]
            theirs = alone[alone["outer_fold"] == f["outer_fold"]]
            assert ours["prob"].tolist() == pytest.approx(theirs["prob"].tolist())
            assert theirs["threshold"].iloc[0] == pytest.approx(f["threshold"])
    assert "baseline_alone" not in N.nested_cv(df, [], tmp_path / "b", n_boot=0)  # it is the result


def test_a_fold_where_no_candidate_beats_chance_is_warned_about(split_csv, tmp_path, capsys):
    """Tiny inner folds can leave only a candidate worse than chance (AUC 0, threshold 0: every
    woman called Sick); the estimate is still of that procedure, but the log says so."""

    def backwards(split_csv, run_dir, config):  # calls the Healthy women Sick
        df = pd.read_csv(split_csv)
        valid = df[df["split"] == "valid"]
        run_dir.mkdir(parents=True)
        (run_dir / "model.json").write_text("{}")
        prob = (valid["label"] == "Healthy") * 0.8 + 0.1
        valid.assign(prob=prob)[["path", "prob"]].to_csv(
            run_dir / "valid_predictions.csv", index=False
        )
        return run_dir

    N.nested_cv(pd.read_csv(split_csv), ["backwards"], tmp_path / "n", config={}, baseline=False,
                n_boot=0, trainer=backwards)  # fmt: skip
    err = capsys.readouterr().err
    assert "warning: nested: outer fold 0: no candidate did better than chance" in err
    N.nested_cv(pd.read_csv(split_csv), ["oracle"], tmp_path / "o", config={}, baseline=False,
                n_boot=0, trainer=oracle_trainer)  # fmt: skip
    assert "better than chance" not in capsys.readouterr().err


def test_nested_cv_refuses_an_image_level_split_that_puts_women_in_several_folds():
    # Accepted before: 12 of 18 women sat in 2 or 3 outer folds, and the report called the
    # result an estimate on women the procedure never saw.
    from thermocad.cohort.split import make_split
    from thermocad.utils.errors import ConfigError

    table = pd.DataFrame({"path": [f"T{i:04d}_{k}.txt" for i in range(18) for k in range(3)],
                          "patient_id": [i for i in range(18) for _ in range(3)],
                          "label": [("Sick" if i % 2 else "Healthy") for i in range(18)
                                    for _ in range(3)]})  # fmt: skip
    by_image = make_split(table, folds=3, test=0.0, unit="image", seed=0)
    with pytest.raises(ConfigError, match="IMAGE-level split .* women in more than one fold"):
        N.check_nested(by_image, ["oracle"], False, None)
    N.check_nested(make_split(table, folds=3, test=0.0, seed=0), ["oracle"], False, None)


def test_no_trainer_means_thermocads_own_as_in_compare(split_csv, tmp_path, monkeypatch):
    """nested_cv(trainer=None) trains with real_trainer's, leaving out the candidates it cannot
    train (a typing review: None was called per fold, and every candidate 'failed')."""
    asked, seen = [], []  # the runs the trainer was given: never the candidate left out

    def real(archs, config, overrides=None):
        asked.append(list(archs))
        return recording(oracle_trainer, seen), {}, {"offline": "no ImageNet weights here"}

    monkeypatch.setattr(N, "real_trainer", real)
    res = N.nested_cv(pd.read_csv(split_csv), ["oracle", "offline"], tmp_path / "n",
                      baseline=False, n_boot=0)  # fmt: skip
    assert asked == [["oracle", "offline"]]
    assert {f["chosen"] for f in res["folds"]} == {"oracle"}
    assert seen and not any("offline" in run for run, _ in seen)  # never trained
    # A baseline alone asks for no trainer at all.
    monkeypatch.setattr(N, "real_trainer", lambda *a, **k: pytest.fail("no CNN to train"))
    alone = N.nested_cv(pd.read_csv(split_csv), [], tmp_path / "b", baseline=True, n_boot=0)
    assert {f["chosen"] for f in alone["folds"]} == {"baseline"}
