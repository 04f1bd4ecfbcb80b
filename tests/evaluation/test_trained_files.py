"""Weights of a thermocad run are refused for a training that scores a woman they trained on."""

from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest

from thermocad.evaluation.trained_files import check_weights_apart, scored_paths
from thermocad.utils.errors import ConfigError


def _split(run_dir):
    return run_dir.parent / "data" / "split.csv"  # the smoke run's own split (tests.helpers.app)


def test_a_training_refuses_weights_trained_on_the_women_it_scores(run_dir, tmp_path):
    # A leakage review: a fine-tuned run's weights passed into compare and nested unchecked,
    # so its validation women were scored by a body that had seen them.
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    config = TrainConfig.smoke(arch="efficientnet_lite0", pretrained=False, cycles=1,
                               weights=str(run_dir / "model.safetensors"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"--weights .*model.safetensors: the run that made "
                       r"them trained on 8 file\(s\) that training on .*split.csv scores "
                       r"\(p0\d\d.npy = byte for byte a file of training patient"):  # fmt: skip
        train(_split(run_dir), tmp_path / "run", config)
    assert not (tmp_path / "run" / "model.json").exists()


def test_the_women_scored_are_those_outside_the_training_rows(run_dir):
    split = pd.read_csv(_split(run_dir))
    by_split = {s: set(split.loc[split["split"] == s, "path"]) for s in ("valid", "test")}
    assert set(scored_paths(_split(run_dir), None)) == by_split["valid"] | by_split["test"]
    assert set(scored_paths(_split(run_dir), "all")) == by_split["test"]
    # Its test women never trained it nor chose its threshold: a final model may start there.
    check_weights_apart(run_dir / "model.safetensors", by_split["test"], "the final model")


def test_weights_of_another_tool_or_renamed_are_not_checked(run_dir, tmp_path):
    elsewhere = tmp_path / "body.safetensors"
    shutil.copy(run_dir / "model.safetensors", elsewhere)
    check_weights_apart(elsewhere, scored_paths(_split(run_dir), None), "a training")


def test_the_nested_fast_path_refuses_them_too(run_dir):
    from thermocad.evaluation.heads import HeadRuns
    from thermocad.training.config import TrainConfig

    config = dataclasses.replace(TrainConfig(), weights=str(run_dir / "model.safetensors"))
    paths = pd.read_csv(_split(run_dir))["path"].tolist()
    with pytest.raises(ConfigError, match="that the nested cross-validation scores"):
        HeadRuns(config, None, paths).features("efficientnet_lite0")


def test_two_training_women_sharing_a_frame_are_warned_of_and_the_first_is_named(tmp_path, capsys):
    """A review of files changed between stages: patient 2's file copied over patient 3's after
    prepare trained in silence, and model.json named the second for both."""
    import numpy as np

    from thermocad.evaluation.trained_files import training_record

    frames = [np.random.default_rng(i).uniform(25, 35, (48, 64)).astype(np.float32) for i in (2, 4)]
    paths = [tmp_path / f"T000{i}.npy" for i in (2, 3, 4)]
    for path, frame in zip(paths, [frames[0], frames[0], frames[1]], strict=True):
        np.save(path, frame)
    train = pd.DataFrame({"path": [str(p) for p in paths[:2]], "patient_id": [2, 3]})
    record = training_record(train, pd.DataFrame({"path": [str(paths[2])], "patient_id": [4]}))
    assert sorted(record["files"].values()) == ["2", "4"]  # the first woman's, not the last
    said = capsys.readouterr().err
    assert "warning: patients 2 and 3 have an identical image (" in said
    assert "1 such pair(s) among this run's training and validation women): one woman" in said
    training_record(train.iloc[:1], None)
    assert "identical image" not in capsys.readouterr().err
