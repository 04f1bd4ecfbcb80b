"""Architecture comparison with a stand-in trainer (real training is covered in test_study)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad.cohort.split import fold_rows
from thermocad.evaluation import compare as C
from thermocad.evaluation.runs import AllModelsFailedError, valid_predictions
from thermocad.utils.errors import ConfigError, OutputExistsError


def coin_trainer(split_csv, run_dir, config):
    """A 'model' that guesses: writes model.json and valid_predictions.csv like train does."""
    if config["arch"] == "broken":
        raise RuntimeError("CUDA out of memory (simulated)")
    df = pd.read_csv(split_csv)
    valid = df[df["split"] == "valid"]
    run_dir.mkdir(parents=True)
    (run_dir / "model.json").write_text(json.dumps({"tensors": {"w": [3, 4], "b": [2]}}))
    prob = np.random.default_rng(len(valid)).random(len(valid))
    valid.assign(prob=prob)[["path", "prob"]].to_csv(run_dir / "valid_predictions.csv", index=False)
    return run_dir


def test_fold_splits_rotate_valid(split_csv):
    df = pd.read_csv(split_csv)
    folds = C.fold_splits(df)
    assert [k for k, _ in folds] == [0, 1, 2]
    for k, f in folds:
        dev = f[f["split"] != "test"]
        assert (dev.loc[dev["fold"] == k, "split"] == "valid").all()
        assert (dev.loc[dev["fold"] != k, "split"] == "train").all()
        assert (f.loc[df["split"] == "test", "split"] == "test").all()
    assert len(C.fold_splits(df.drop(columns="fold"))) == 1
    # A development woman of fold -1 (a hand-made split) is in no fold's training set, as
    # split.fold_rows and the baseline's folds leave her out (a property review).
    out = df.index[(df["split"] != "test")][0]
    df.loc[df["patient_id"] == df.at[out, "patient_id"], "fold"] = -1
    for k, f in C.fold_splits(df):
        assert df.at[out, "path"] not in set(f["path"])
        train, valid = fold_rows(df, k)
        assert set(f.loc[f["split"] == "train", "path"]) == set(train["path"])
        assert set(f.loc[f["split"] == "valid", "path"]) == set(valid["path"])


def test_compare_records_failures_and_picks_on_validation(split_csv, tmp_path):
    out = C.compare(split_csv, ["coin", "broken"], tmp_path / "cmp", config={}, n_boot=50,
                    trainer=coin_trainer)  # fmt: skip
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert table["model"].tolist() == ["baseline", "coin", "broken"]
    status = dict(zip(table["model"], table["status"], strict=True))
    assert status["coin"] == "ok" and status["broken"].startswith("failed: RuntimeError")
    coin = table.set_index("model").loc["coin"]
    assert coin["n_images"] == 18 and coin["parameters"] == 3 * 4 + 2  # out-of-fold: all dev rows
    assert coin["tn"] + coin["fp"] + coin["fn"] + coin["tp"] == 18
    # the hot spot makes the baseline near-perfect, the coin is not: baseline is chosen
    assert out["best"] == "baseline"
    assert out["test"]["image"]["n"] == 6
    assert (tmp_path / "cmp" / "test" / "metrics.json").exists()
    assert (tmp_path / "cmp" / "broken" / "error.txt").read_text().count("out of memory")
    md = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| broken | failed" in md and "| baseline |" in md


def test_a_full_disk_stops_the_comparison_before_the_test(split_csv, tmp_path):
    """A candidate failing because the disk is full is the machine's failure, not the model's:
    the comparison stops (to --resume once there is room) instead of choosing among the others
    and opening the test women (a resource review: a full disk had dropped the CNN)."""

    def full(split_csv, run_dir, config):
        raise RuntimeError("Error while serializing: I/O error: No space left on device (os "
                           "error 28)")  # safetensors' words  # fmt: skip

    with pytest.raises(RuntimeError, match="No space left on device"):
        C.compare(split_csv, ["cnn"], tmp_path / "cmp", config={}, n_boot=50, trainer=full)
    assert (
        not (tmp_path / "cmp" / "test").exists() and not (tmp_path / "cmp" / "best.json").exists()
    )


def averaging_trainer(split_csv, run_dir, config):
    """A 'CNN averaged with the baseline': writes prob and its CNN half prob_cnn, as train does."""
    coin_trainer(split_csv, run_dir, config)
    pred = pd.read_csv(run_dir / "valid_predictions.csv")
    labels = pd.read_csv(split_csv).set_index("path").loc[pred["path"], "label"]
    cnn = np.where(labels.to_numpy() == "Sick", 0.9, 0.1)  # a perfect CNN half
    pred.assign(prob_cnn=cnn, prob_baseline=0.5).to_csv(run_dir / "valid_predictions.csv",
                                                         index=False)  # fmt: skip
    return run_dir


def test_an_averaged_model_shows_its_cnn_half(split_csv, tmp_path):
    C.compare(split_csv, ["coin"], tmp_path / "cmp", config={}, n_boot=20,
              trainer=averaging_trainer)  # fmt: skip
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv").set_index("model")
    assert table.loc["coin", "cnn_alone_patient_roc_auc"] == 1.0
    assert table.loc["coin", "patient_roc_auc"] < 1.0  # the served model: the coin's prob
    assert pd.isna(table.loc["baseline", "cnn_alone_patient_roc_auc"])
    md = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| coin+baseline |" in md and "| 1.000 |" in md and "| baseline |" in md
    from thermocad.reporting.report import comparison_section

    html = comparison_section(tmp_path / "cmp")
    assert "coin+baseline" in html and "CNN alone: patient AUC" in html
    # Nothing the reader need not see: every model finished (no status column), each woman
    # has one image (one AUC), and the batch's n is the same for all (in its header).
    headers = re.findall(r"<th>([^<]*)</th>", html)
    assert "status" not in headers and "image AUC" not in headers
    assert "AUC (one image per woman)" in headers
    assert any(re.fullmatch(r"batch \w+ AUC \(n=\d+\)", h) for h in headers), headers
    assert ", n=" not in html


@pytest.mark.parametrize("name", ["../escaped", "/tmp/victim", ".hidden", "a/b", "test", "Nested",
                                  "baseline", "", "coin.", "x" * 101, "con", "Nul.x"])  # fmt: skip
def test_a_candidate_name_is_never_a_path_or_one_of_compares_own_folders(split_csv, tmp_path,
                                                                        name):  # fmt: skip
    """A candidate trains into OUT/NAME, which compare clears first: a study config's variant
    named '/tmp/victim' had deleted that folder."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.txt").write_text("mine")
    name = name.replace("/tmp/victim", str(victim))
    with pytest.raises(ConfigError, match="cannot name a candidate: each trains into a folder"):
        C.compare(split_csv, ["coin", name], tmp_path / "cmp", config={}, trainer=coin_trainer)
    assert not (tmp_path / "cmp").exists() and (victim / "thesis.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="given twice among the candidates"):
        C.compare(split_csv, ["coin", "Coin"], tmp_path / "cmp", config={}, trainer=coin_trainer)


def test_force_removes_a_link_planted_for_a_results_folder_and_never_follows_it(split_csv,
                                                                               tmp_path):  # fmt: skip
    """A candidate's folder or test/ replaced by a link elsewhere: --force had written the fold
    runs and the test's metrics into the link's target."""
    cmp = tmp_path / "cmp"
    C.compare(split_csv, ["coin"], cmp, config={}, n_boot=0, trainer=coin_trainer)
    victim = tmp_path / "victim"
    for name in ("coin", "test"):
        (victim / name).mkdir(parents=True)
        (victim / name / "mine.txt").write_text("mine")
        shutil.rmtree(cmp / name)
        (cmp / name).symlink_to(victim / name)
    C.compare(split_csv, ["coin"], cmp, config={}, n_boot=0, trainer=coin_trainer, force=True)
    for name in ("coin", "test"):
        assert not (cmp / name).is_symlink() and (cmp / name).is_dir()
        assert [p.name for p in (victim / name).iterdir()] == ["mine.txt"]


def test_comparison_markdown_reads_a_column_an_older_table_lacks_as_n_a(split_csv, tmp_path):
    C.compare(split_csv, ["coin"], tmp_path / "cmp", config={}, n_boot=0, trainer=coin_trainer)
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    old = table.drop(columns=["parameters", "train_time_s", "tn", "period_roc_auc", "served"])
    lines = C.comparison_markdown(old).splitlines()
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    coin = dict(zip(header, (c.strip() for c in lines[3].strip("|").split("|")), strict=True))
    assert coin["model"] == "coin" and coin["parameters"] == coin["train s"] == "n/a"
    assert coin["TN FP FN TP"] == "n/a" and coin["period-matched AUC (n)"].startswith("n/a")
    assert coin["sensitivity"] != "n/a"


def test_pick_best_ignores_failures():
    t = pd.DataFrame({"model": ["a", "b", "c"], "status": ["ok", "ok", "failed: x"],
                      "patient_roc_auc": [0.7, 0.8, np.nan], "roc_auc": [0.9, 0.7, np.nan]})  # fmt: skip
    assert C.pick_best(t) == "b"
    with pytest.raises(AllModelsFailedError, match="^every model failed; see comparison.csv$"):
        C.pick_best(t.assign(status="failed"))


def test_target_sensitivity_threshold(split_csv, tmp_path):
    out = C.compare(split_csv, [], tmp_path / "cmp", n_boot=20, target_sensitivity=1.0)
    row = out["table"].set_index("model").loc["baseline"]
    assert row["sensitivity"] == 1.0 and row["fn"] == 0  # every Sick validation image caught


def test_default_threshold_reaches_sensitivity_0_9_on_validation(split_csv, tmp_path):
    from thermocad.evaluation.thresholds import choose_threshold
    from thermocad.pipeline import DEFAULTS

    assert DEFAULTS["target_sensitivity"] == 0.9 and "threshold_method" not in DEFAULTS
    out = C.compare(split_csv, [], tmp_path / "cmp", n_boot=20)
    row = out["table"].set_index("model").loc["baseline"]
    pred = pd.read_csv(tmp_path / "cmp" / "baseline" / "valid_predictions.csv")
    y = (pred["label"] == "Sick").astype(int)
    assert row["threshold"] == pytest.approx(choose_threshold(y, pred["prob"], 0.9))
    assert row["sensitivity"] >= 0.9


def test_the_threshold_is_written_without_float_noise(split_csv, tmp_path, monkeypatch):
    noisy = 0.17475601999999998  # a float32's picked score less NOISE_MARGIN, as chosen
    monkeypatch.setattr(C.T, "choose_patient_threshold", lambda *a, **k: noisy)
    C.compare(split_csv, [], tmp_path / "cmp", n_boot=20)
    shortest = str(np.float32(noisy))  # 0.17475602
    cells = pd.read_csv(tmp_path / "cmp" / "comparison.csv", dtype=str)
    assert cells["threshold"].tolist() == [shortest]
    assert cells["sensitivity_lo"].str.len().max() > 10  # the metrics as they were
    best = (tmp_path / "cmp" / "best.json").read_text()
    assert f'"threshold": {shortest},' in best and repr(noisy) not in best


@pytest.mark.train
def test_missing_or_leaky_split_is_one_error_and_creates_nothing(tmp_path, capsys, split_csv):
    from thermocad.cli import main
    from thermocad.utils.errors import SplitLeakError, ThermocadError

    with pytest.raises(ThermocadError, match="nope.csv: split file not found"):
        C.compare(tmp_path / "nope.csv", [], tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()
    leaky = pd.read_csv(split_csv)
    leaky.loc[0, "patient_id"] = leaky.loc[
        len(leaky) - 1, "patient_id"
    ]  # a dev row joins a test patient (renamed: its DMR name would give it away first)
    leaky.loc[0, "path"] = str(Path(leaky.loc[0, "path"]).with_name("renamed.npy"))
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    with pytest.raises(SplitLeakError, match="leaky.csv: 1 patients appear in more than one split"):
        C.compare(tmp_path / "leaky.csv", [], tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()
    assert (
        main(["compare", "--split", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "c")]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("thermocad: error:") and "Traceback" not in err
    assert "nope.csv: split file not found" in err
    assert not (tmp_path / "c").exists()


def test_a_split_whose_files_moved_is_refused_before_anything_trains(split_csv, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in sorted(tmp_path.glob("T*.npy"))[:5]:  # five women's files moved away
        f.rename(moved / f.name)

    def trainer(*args, **kwargs):
        raise AssertionError("trained on a split whose files are gone")

    with pytest.raises(ConfigError, match=r"split\.csv: 5 of its 24 files are missing or "
                       r"unreadable, e\.g\. .*T0000\.npy"):  # fmt: skip
        C.compare(split_csv, ["a"], tmp_path / "cmp", {"arch": None}, trainer=trainer)
    assert not (tmp_path / "cmp").exists()


def test_every_model_failing_names_the_table(split_csv, tmp_path):
    with pytest.raises(C.AllModelsFailedError, match=r"comparison\.csv: every model failed"):
        C.compare(split_csv, ["broken"], tmp_path / "cmp", config={}, baseline=False,
                  trainer=coin_trainer)  # fmt: skip
    assert (tmp_path / "cmp" / "comparison.csv").exists()


def test_unknown_architecture_fails_before_any_training(split_csv, tmp_path):
    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown architecture 'resnet_typo'"):
        C.compare(split_csv, ["resnet18", "resnet_typo"], tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()


def test_a_candidate_without_weights_offline_is_left_out_before_training(
    split_csv, tmp_path, monkeypatch, capsys
):
    from thermocad.evaluation.runs import untrainable
    from thermocad.models import weights
    from thermocad.training.config import TrainConfig
    from thermocad.utils.errors import ConfigError

    monkeypatch.setattr(weights, "hub_reachable", lambda host="huggingface.co": False)
    monkeypatch.setattr(weights, "weights_available", lambda spec: spec.name != "resnet18")
    skipped = untrainable(["resnet18", "efficientnet_lite0"], TrainConfig())
    assert (
        list(skipped) == ["resnet18"]
        and "ImageNet weights are not installed" in skipped["resnet18"]
    )
    assert "warning: resnet18 is left out of this comparison" in capsys.readouterr().err
    # None left: the baseline alone would be compared with nothing and open the test set.
    with pytest.raises(ConfigError, match="none of resnet18 can train here"):
        C.compare(split_csv, ["resnet18"], tmp_path / "cmp", n_boot=0)
    assert not (tmp_path / "cmp").exists()  # nothing trained, no test set opened


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_sensitivity": 1.5}, r"target_sensitivity must be a number in \(0, 1\], got 1.5"),
        ({"target_sensitivity": 0}, r"target_sensitivity must be a number in \(0, 1\], got 0"),
        (
            {"nested": True, "inner_folds": 60},
            "inner_folds 60: an outer training set holds as few as 6",
        ),
        ({"nested": True, "inner_folds": 1}, "inner_folds 1"),
    ],
)
def test_bad_options_fail_before_any_training(split_csv, tmp_path, options, message):
    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        C.compare(split_csv, ["coin"], tmp_path / "cmp", trainer=coin_trainer, **options)
    assert not (tmp_path / "cmp").exists()
    no_folds = tmp_path / "no_folds.csv"
    pd.read_csv(split_csv).drop(columns="fold").to_csv(no_folds, index=False)
    with pytest.raises(ConfigError, match="needs the split's folds"):
        C.compare(no_folds, ["coin"], tmp_path / "cmp", trainer=coin_trainer, nested=True)
    assert not (tmp_path / "cmp").exists()


def test_a_recipe_variant_names_its_architecture_and_bad_ones_fail_first(split_csv, tmp_path):
    from thermocad.utils.errors import ConfigError

    typo = {"grey": {"arch": "efficientnet_typo", "channels": ["temperature"]}}
    with pytest.raises(ConfigError, match="unknown architecture 'efficientnet_typo'"):
        C.compare(split_csv, ["grey"], tmp_path / "cmp", overrides=typo)
    bad = {"grey": {"arch": "efficientnet_lite0", "crop": "head"}}
    with pytest.raises(ConfigError, match="unknown crop 'head'"):
        C.compare(split_csv, ["efficientnet_lite0", "grey"], tmp_path / "cmp", overrides=bad)
    assert not (tmp_path / "cmp").exists()


@pytest.mark.slow
def test_forced_compare_replaces_runs_left_by_an_interrupted_one(split_csv, tmp_path):
    from thermocad.training.config import TrainConfig

    out = tmp_path / "cmp"
    stale = out / "efficientnet_lite0" / "fold0"
    stale.mkdir(parents=True)
    (stale / "checkpoint").mkdir()  # what an interrupted training leaves behind
    (out / ".thermocad").write_text("written by thermocad compare\n")  # as compare's start
    config = TrainConfig.smoke(pretrained=False, tta=0, size=32)
    result = C.compare(split_csv, ["efficientnet_lite0"], out, config, baseline=False,
                       force=True, n_boot=0)  # fmt: skip
    table = result["table"].set_index("model")
    assert table.loc["efficientnet_lite0", "status"] == "ok"
    assert (stale / "model.json").exists() and not (stale / "checkpoint").exists()


def test_out_of_fold_predictions_keep_an_ensembles_parts(split_csv, tmp_path):
    """A run that averaged the CNN with the baseline wrote both parts; they travel along."""
    fold_df = pd.read_csv(split_csv)
    valid = fold_df[fold_df["split"] == "valid"]
    run = tmp_path / "run"
    run.mkdir()
    parts = valid[["path"]].assign(prob_cnn=0.2, prob_baseline=0.6, prob=0.4)
    parts.to_csv(run / "valid_predictions.csv", index=False)
    pred = valid_predictions(run, fold_df, 1)
    assert len(pred) == len(valid) and (pred["fold"] == 1).all()
    assert pred[["prob", "prob_cnn", "prob_baseline"]].drop_duplicates().values.tolist() == [
        [0.4, 0.2, 0.6]
    ]
    valid[["path"]].assign(prob=0.3).to_csv(run / "valid_predictions.csv", index=False)
    assert "prob_cnn" not in valid_predictions(run, fold_df, 1).columns


def test_a_cnns_final_test_uses_the_comparisons_threshold(tmp_path, monkeypatch):
    """The test set is scored at the threshold the table shows, chosen by the configured rule
    on every fold (as the baseline's), not at fold 0's model.json threshold."""
    import thermocad.evaluation.evaluate as E

    seen = {}
    monkeypatch.setattr(E, "evaluate_run", lambda *a, **k: seen.update(k) or {"threshold": 0})
    C._final_test("coin", {"runs": [tmp_path / "fold0"], "threshold": 0.42}, tmp_path / "s.csv",
                  tmp_path, None, 0, False)  # fmt: skip
    assert seen["threshold"] == (0.42, C.POOLED)


def test_the_tables_calls_are_the_womens(tmp_path):
    from thermocad.evaluation.evaluate import evaluate_predictions

    # Woman 1 (Sick) imaged four times, women 2-4 once: the counts are of four women.
    pred = pd.DataFrame({"patient_id": [1, 1, 1, 1, 2, 3, 4], "path": list("abcdefg"),
                         "label": ["Sick"] * 5 + ["Healthy"] * 2,
                         "prob": [0.9, 0.8, 0.9, 0.7, 0.2, 0.1, 0.6]})  # fmt: skip
    ev = evaluate_predictions(pred, 0.5, None, n_boot=0)
    row = C.table_row("m", {"eval": ev, "train_time_s": 1.0}, 2)
    assert (row["n_images"], row["n_patients"]) == (7, 4)
    assert (row["tp"], row["fn"], row["tn"], row["fp"]) == (1, 1, 1, 1)
    assert row["sensitivity"] == 0.5 and row["specificity"] == 0.5
    assert C.display_name(row) == "m"  # no CNN half: served as it is named
    # An average whose CNN half cannot be scored (validation women of one class: NaN AUC) is
    # still served as the average.
    one_class = pred.assign(label="Sick", prob_cnn=0.5)
    averaged = {"eval": evaluate_predictions(one_class, 0.5, None, n_boot=0),
                "pred": one_class, "train_time_s": 1.0}  # fmt: skip
    row = C.table_row("m", averaged, 2)
    assert pd.isna(row["cnn_alone_patient_roc_auc"]) and C.display_name(row) == "m+baseline"
    # ... in comparison.csv too, whose rows best.json and the report read back.
    written = C._write_table([row], tmp_path)
    assert C.display_name(written.iloc[0]) == "m+baseline"
    assert pd.read_csv(tmp_path / "comparison.csv")["served"].tolist() == ["m+baseline"]


def test_the_studys_seed_reaches_the_nested_inner_folds(split_csv, tmp_path, monkeypatch):
    import thermocad.evaluation.nested as N

    seen = {}

    def fake_nested_cv(split_df, archs, out_dir, config, trainer, baseline, inner_folds, seed,
                       *rest, **kwargs):  # fmt: skip
        seen["seed"] = seed
        return {"selection_rule": "", "folds": [], "metrics": {}}

    monkeypatch.setattr(N, "nested_cv", fake_nested_cv)
    C.compare(split_csv, [], tmp_path / "cmp", n_boot=0, nested=True, seed=7)
    assert seen["seed"] == 7


def test_a_split_made_before_the_period_column_says_so(split_csv, tmp_path, capsys):
    df = pd.read_csv(split_csv).assign(acquisition_date="2014-01-01")
    df.to_csv(tmp_path / "old.csv", index=False)
    C.compare(tmp_path / "old.csv", [], tmp_path / "cmp", n_boot=0)
    assert "has no period_matched column" in capsys.readouterr().err


def test_a_rerun_clears_the_earlier_test_and_nested_results(split_csv, tmp_path):
    no_test = tmp_path / "dev.csv"
    df = pd.read_csv(split_csv)
    df[df["split"] != "test"].to_csv(no_test, index=False)
    for stale in ("test/metrics.json", "nested/nested.json"):  # an earlier run's, test rows then
        (tmp_path / "cmp" / stale).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cmp" / stale).write_text("{}")
    (tmp_path / "cmp" / "comparison.csv").write_text("model\n")  # as every comparison writes
    C.compare(no_test, [], tmp_path / "cmp", n_boot=0, force=True)
    assert not (tmp_path / "cmp" / "test").exists() and not (tmp_path / "cmp" / "nested").exists()
    # A folder thermocad did not make is not cleared, --force or not: its `test` is someone's.
    (tmp_path / "mine" / "test").mkdir(parents=True)
    (tmp_path / "mine" / "test" / "T0101.txt").write_text("36 36\n")
    with pytest.raises(
        OutputExistsError, match=r"mine: holds files thermocad did not write \(e\.g\. test\)"
    ):
        C.compare(no_test, [], tmp_path / "mine", n_boot=0, force=True)
    assert [p.name for p in (tmp_path / "mine").rglob("*")] == ["test", "T0101.txt"]


def test_an_unwritable_ledger_is_refused_before_anything_trains(split_csv, tmp_path):
    import shutil

    (tmp_path / "ro").mkdir()
    split = Path(shutil.copy(split_csv, tmp_path / "ro" / "split.csv"))
    (tmp_path / "ro" / "split.test_openings.jsonl").mkdir()  # the ledger cannot take a line
    with pytest.raises(ConfigError, match="keep the split in a writable folder"):
        C.compare(split, [], tmp_path / "cmp", n_boot=0)
    assert not (tmp_path / "cmp").exists()


def test_compare_says_which_study_config_keys_it_leaves_to_the_split(split_csv, tmp_path, capsys):
    import json

    from thermocad.pipeline import run_compare

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"folds": 5, "test": 0.2}))
    run_compare(split_csv, tmp_path / "cmp", archs=[], config_file=cfg)
    err = capsys.readouterr().err
    assert "cfg.json: folds, test shape a study's split; compare takes the folds of" in err
