"""The study's recipe end to end on tiny synthetic thermograms (64 px, --smoke preset)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from tests.helpers.training import make_split
from thermocad import read_thermal
from thermocad.models.bundle import load_bundle
from thermocad.training.config import TrainConfig
from thermocad.training.run import lr_find, train
from thermocad.utils.errors import ConfigError, OutputExistsError

# Two cores shared by several jobs: one thread avoids OpenMP oversubscription (35x slower).
torch.set_num_threads(1)
OUTPUTS = ["model.safetensors", "model.json", "history.csv", "lr_find.png", "schedule.png",
           "valid_predictions.csv", "config.json", "README.md"]  # fmt: skip


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def run(split, tmp_path_factory):
    # tta=0: valid_predictions.csv must then equal a fresh load_bundle(...).predict exactly.
    return train(split, tmp_path_factory.mktemp("runs") / "run", TrainConfig.smoke(tta=0))


def test_run_directory_holds_every_output(run):
    assert sorted(p.name for p in run.iterdir()) == sorted(OUTPUTS)
    history = pd.read_csv(run / "history.csv")
    assert list(history["stage"]) == [
        "head (precomputed)",
        "frozen",
        "unfrozen",
        "unfrozen",
        "unfrozen",
    ]
    assert {"train_loss", "valid_loss", "accuracy", "roc_auc", "seconds"} <= set(history.columns)
    meta = json.loads((run / "model.json").read_text())
    # Default inputs: the left/right asymmetry map alone, chest crop, marker masked.
    assert meta["arch"] == "efficientnet_lite0" and meta["in_chans"] == 1
    assert meta["transform"]["channels"] == ["asymmetry"]
    assert meta["transform"]["crop"] == "breasts" and meta["transform"]["marker"] == "remove"
    assert meta["input_size"] == 64 and meta["unit"] == "celsius"
    assert 0 <= meta["threshold"] <= 1 and meta["data"]["train"]["images"]["Sick"] == 8
    assert TrainConfig.from_dict(
        json.loads((run / "config.json").read_text())
    ) == TrainConfig.smoke(tta=0)
    for png in ("lr_find.png", "schedule.png"):
        assert (run / png).read_bytes()[:4] == b"\x89PNG"
    # README.md is a model card carrying model.json's validation metrics.
    from tests.reporting.test_hub_card import card_metrics

    values = card_metrics((run / "README.md").read_text())
    assert values["roc_auc"] == pytest.approx(meta["metrics"]["roc_auc"], abs=1e-4)
    assert values["sensitivity"] == pytest.approx(meta["metrics"]["sensitivity"], abs=1e-4)


def test_saved_model_reproduces_validation_predictions(run):
    valid = pd.read_csv(run / "valid_predictions.csv")
    assert list(valid.columns) == [
        "path",
        "patient_id",
        "label",
        "prob",
        "prob_cnn",
        "prob_baseline",
    ]
    assert len(valid) == 8
    # The default model averages the CNN with the classical baseline fitted on the same patients.
    mean = (valid["prob_cnn"] + valid["prob_baseline"]) / 2
    np.testing.assert_allclose(valid["prob"], mean, rtol=1e-6)  # float32, as predict gives it
    bundle = load_bundle(run)
    assert bundle.meta["ensemble"] == "baseline" and bundle.baseline is not None
    probs = bundle.predict([read_thermal(p).array for p in valid["path"]])
    np.testing.assert_allclose(probs, valid["prob"], atol=1e-5)


def test_broken_baseline_entry_is_refused_at_load(run, tmp_path):
    import shutil

    from thermocad.utils.errors import ModelFormatError

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    meta = json.loads((copy / "model.json").read_text())
    del meta["baseline"]["coef"]
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match=r"model\.json.*baseline.*incomplete"):
        load_bundle(copy)


def test_cnn_alone_without_ensemble(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    run = train(
        split, tmp_path / "cnn", TrainConfig.smoke(cycles=1, tta=0, ensemble="none"), fold=1
    )
    valid = pd.read_csv(run / "valid_predictions.csv")
    assert list(valid.columns) == ["path", "patient_id", "label", "prob"]
    meta = json.loads((run / "model.json").read_text())
    assert meta["ensemble"] == "none" and "baseline" not in meta
    assert load_bundle(run).baseline is None
    with pytest.raises(ConfigError, match="ensemble"):
        TrainConfig(ensemble="stack")


def test_mirror_trains_on_both_sides_and_predicts_the_same_for_a_mirror(tmp_path, monkeypatch):
    import thermocad.training.run as trainer

    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    sizes = []
    feature_dls = trainer.feature_dls

    def spy(train_x, y_train, valid_x, y_valid, *args):
        sizes.append((len(train_x), len(y_train), len(valid_x)))
        return feature_dls(train_x, y_train, valid_x, y_valid, *args)

    monkeypatch.setattr(trainer, "feature_dls", spy)
    # The whole frame: a chest box found on the mirrored frame may be a pixel off the mirror.
    cfg = TrainConfig.smoke(cycles=0, frozen_cycles=0, tta=0, mirror=True, batch_size=2,
                            crop="none")  # fmt: skip
    run = train(split, tmp_path / "mirror", cfg, fold=1)
    assert sizes == [(8, 8, 4)]  # 4 training women, each also mirrored; 4 validation
    valid = pd.read_csv(run / "valid_predictions.csv")
    bundle = load_bundle(run)
    assert bundle.meta["config"]["mirror"] is True
    arrays = [read_thermal(p).array for p in valid["path"]]
    np.testing.assert_allclose(bundle.predict(arrays), valid["prob"], atol=1e-5)
    mirrored = bundle.predict([a[:, ::-1].copy() for a in arrays], cnn_only=True)
    np.testing.assert_allclose(mirrored, bundle.predict(arrays, cnn_only=True), atol=1e-5)


def test_existing_run_dir_is_refused(run, split):
    with pytest.raises(OutputExistsError, match="--force"):
        train(split, run, TrainConfig.smoke())
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(split, run, TrainConfig.smoke(), resume=True)


def test_lr_find_writes_plot(split, tmp_path):
    lr = lr_find(split, tmp_path / "lr.png", TrainConfig.smoke(lr_find_iters=12))
    assert (tmp_path / "lr.png").exists() and 1e-7 <= lr <= 10


@pytest.mark.slow
def test_resume_after_interruption(split, tmp_path, monkeypatch):
    import thermocad.training.run as trainer

    real = trainer._run_stage

    def interrupted(learn, ckpt, model, name, *args):
        if name == "unfrozen":
            raise KeyboardInterrupt
        return real(learn, ckpt, model, name, *args)

    cfg = TrainConfig.smoke(tta=1)
    monkeypatch.setattr(trainer, "_run_stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(split, tmp_path / "run", cfg)
    assert not (tmp_path / "run" / "model.json").exists()
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["done"] == {"head (precomputed)": 1, "frozen": 1}
    # The killed run keeps its learning curve so far: history.csv is written every epoch.
    so_far = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(so_far["stage"]) == ["head (precomputed)", "frozen"]
    assert so_far["train_loss"].notna().all()
    monkeypatch.setattr(trainer, "_run_stage", real)
    train(split, tmp_path / "run", cfg, resume=True)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["stage"]).count("frozen") == 1 and len(history) == 5
    assert not (tmp_path / "run" / "checkpoint").exists()


@pytest.mark.slow
def test_seeded_runs_repeat_and_other_options_train(split, tmp_path):
    cfg = TrainConfig.smoke(precompute=False, schedule="one_cycle", balance="sampler", tta=2,
                            channels=("temperature", "asymmetry"))  # fmt: skip
    a = pd.read_csv(train(split, tmp_path / "a", cfg) / "valid_predictions.csv")
    b = pd.read_csv(train(split, tmp_path / "b", cfg) / "valid_predictions.csv")
    np.testing.assert_allclose(a["prob"], b["prob"], atol=1e-6)
    assert load_bundle(tmp_path / "a").model.conv_stem.in_channels == 2
    assert pd.read_csv(tmp_path / "a" / "history.csv")["stage"].iloc[0] == "head"


def test_fold_training(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    run = train(split, tmp_path / "fold1", TrainConfig.smoke(cycles=1, tta=0, batch_size=2), fold=1)
    meta = json.loads((run / "model.json").read_text())
    assert meta["fold"] == 1 and sum(meta["data"]["valid"]["images"].values()) == 4


def test_study_preset_is_the_2019_recipe():
    study = TrainConfig.study()
    assert (study.size, study.head_epochs, study.frozen_cycles, study.cycles) == (None, 1, 2, 3)
    assert (study.cycle_len, study.cycle_mult, study.lrs) == (1, 2, (1e-4, 1e-3, 1e-2))
    assert study.channels == ("temperature",) and study.crop == "none" and study.marker == "keep"
    assert study.ensemble == "none" and TrainConfig().ensemble == "baseline"
    assert study.tta == 4 and TrainConfig().tta == 0
    assert TrainConfig.study(arch="resnet34").arch == "resnet34"


def test_final_model_on_all_patients_needs_a_given_threshold(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    config = TrainConfig.smoke(cycles=1, tta=0, batch_size=2)
    with pytest.raises(ConfigError, match="--threshold"):
        train(split, tmp_path / "refused", config, fold="all")
    assert not (tmp_path / "refused").exists()
    run = train(split, tmp_path / "final", config, fold="all", threshold=0.42)
    meta = json.loads((run / "model.json").read_text())
    # Trained on every non-test image (8 here); nothing in-sample is reported as validation.
    assert sum(meta["data"]["train"]["images"].values()) == 8
    assert meta["threshold"] == 0.42 and meta["threshold_method"] == "given"
    assert meta["metrics"] == {} and not (run / "valid_predictions.csv").exists()
    assert load_bundle(run).threshold == 0.42


@pytest.mark.real
@pytest.mark.slow
def test_smoke_training_on_real_dmr_files(dmr_dir, tmp_path):
    labels = pd.read_csv(dmr_dir / "labels.csv")
    rows = []
    for label in ("Healthy", "Sick"):
        ids = labels.loc[labels["diagnosis"] == label, "patient_id"].head(6)
        for i, pid in enumerate(ids):
            rows.append(dict(path=str(dmr_dir / f"T{pid:04d}.txt"), patient_id=pid, label=label,
                             split="train" if i < 4 else "valid"))  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "split.csv", index=False)
    run = train(tmp_path / "split.csv", tmp_path / "run", TrainConfig.smoke(norm="celsius", tta=0))
    assert json.loads((run / "model.json").read_text())["unit"] == "celsius"
    valid = pd.read_csv(run / "valid_predictions.csv")
    probs = load_bundle(run).predict([read_thermal(p).array for p in valid["path"]])
    np.testing.assert_allclose(probs, valid["prob"], atol=1e-5)


def test_cli_models_and_errors(split, tmp_path, capsys):
    from thermocad.cli import main

    assert main(["models"]) == 0
    assert "efficientnet_lite0" in capsys.readouterr().out
    args = ["train", "--split", str(split), "--out", str(tmp_path / "r"), "--arch", "resnet35"]
    assert main(args) == 2
    assert "unknown architecture 'resnet35'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
