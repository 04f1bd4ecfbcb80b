"""Classical baseline on tiny synthetic 64 x 80 arrays."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.helpers.training import torso
from thermocad.models import baseline as B
from thermocad.utils.errors import ConfigError


def test_features_symmetric_vs_asymmetric():
    rng = np.random.default_rng(0)
    healthy, sick = B.baseline_features(torso(rng, False)), B.baseline_features(torso(rng, True))
    assert healthy["mean"] == pytest.approx(33.0, abs=0.1)  # body only, room excluded
    assert healthy["asym_mean"] < 0.05  # symmetric torso: sides agree to noise
    assert sick["asym_max"] > 1.0  # the +1.5 C spot is on one side only
    assert sick["mirror_p99"] > healthy["mirror_p99"] + 0.5
    assert sick["hot_area"] < 0.2  # the spot is a small part of the region
    assert all(np.isfinite(v) for v in sick.values())


def _split(n_per_class: int = 12, folds: int = 3) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(1)
    rows, arrays = [], {}
    for i in range(2 * n_per_class):
        sick = i % 2 == 1
        path = f"mem://{i}.npy"
        arrays[path] = torso(rng, sick)
        is_test = i >= 2 * n_per_class - 6
        rows.append(
            {
                "path": path,
                "patient_id": i,
                "label": "Sick" if sick else "Healthy",
                "split": "test" if is_test else ("valid" if (i // 2) % folds == 0 else "train"),
                "fold": -1 if is_test else (i // 2) % folds,
            }
        )
    return pd.DataFrame(rows), arrays


def test_cross_validation_out_of_fold_and_test():
    df, arrays = _split()
    feats = B.feature_table(df["path"], reader=arrays.__getitem__)
    out = B.cross_validate_baseline(df, feats)
    valid, test = out["valid"], out["test"]
    assert sorted(valid["path"]) == sorted(df.loc[df["split"] != "test", "path"])
    assert set(valid["fold"]) == {0, 1, 2} and len(test) == 6
    for col in ("path", "patient_id", "label", "y", "prob", "fold"):
        assert col in valid.columns
    # the hot spot is an easy signal: out-of-fold predictions separate the classes
    assert valid.loc[valid.y == 1, "prob"].min() > valid.loc[valid.y == 0, "prob"].max()


def test_train_valid_without_folds():
    df, arrays = _split()
    df = df.drop(columns="fold")
    feats = B.feature_table(df["path"], reader=arrays.__getitem__)
    valid = B.cross_validate_baseline(df, feats)["valid"]
    assert set(valid["split"]) == {"valid"}


def test_single_class_training_is_a_clear_error():
    df, arrays = _split()
    feats = B.feature_table(df["path"], reader=arrays.__getitem__)
    with pytest.raises(ConfigError, match="single class"):
        B.fit_baseline(df[df.label == "Sick"], feats)


def test_linear_baseline_matches_sklearn_and_round_trips():
    from thermocad.utils.errors import ModelFormatError

    df, arrays = _split()
    feats = B.feature_table(df["path"], reader=arrays.__getitem__)
    train = df[df["split"] != "test"]
    model = B.fit_baseline(train, feats)
    linear = B.fit_linear_baseline(train, feats)
    np.testing.assert_allclose(linear.predict(feats), model.predict(feats), rtol=1e-9)
    again = B.LinearBaseline.from_dict(json.loads(json.dumps(linear.to_dict())))
    assert again == linear
    test = df[df["split"] == "test"]["path"]
    np.testing.assert_allclose(
        linear.predict_arrays([arrays[p] for p in test]), model.predict(feats.loc[test]), rtol=1e-9
    )
    with pytest.raises(ModelFormatError, match="incomplete"):
        B.LinearBaseline.from_dict({"columns": ["mean"]})
    with pytest.raises(ModelFormatError, match="length"):
        B.LinearBaseline.from_dict({**linear.to_dict(), "coef": [1.0]})


def test_grey_images_have_their_marker_found_in_grey_levels(tmp_path):
    from PIL import Image

    from thermocad.synth.cohort import Nuisances, synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(2), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    grey = np.round((a - a.min()) / (a.max() - a.min()) * 255).astype(np.uint8)
    png = tmp_path / "export.png"
    Image.fromarray(grey).save(png)
    as_grey = B.baseline_features(grey, unit="intensity")
    assert as_grey != B.baseline_features(grey)  # 2.5 grey levels finds no marker here
    # The file is read in its own unit, and the model averages it so, one unit per array.
    assert B.feature_table([str(png)]).loc[str(png)].to_dict() == pytest.approx(as_grey)
    feats = pd.DataFrame([as_grey, B.baseline_features(a)])
    base = B.LinearBaseline(list(feats.columns), [0.0] * feats.shape[1], [1.0] * feats.shape[1],
                            [0.01] * feats.shape[1], 0.0)  # fmt: skip
    np.testing.assert_allclose(
        base.predict_arrays([grey, a], ["intensity", "celsius"]), base.predict(feats)
    )


def test_the_feature_list_is_what_baseline_features_computes():
    from thermocad.models.baseline import FEATURES, baseline_features

    rng = np.random.default_rng(0)
    array = 30 + rng.normal(0, 1, (96, 128)).astype(np.float32)
    array[20:90, 20:108] += 4  # a warm body in a cool room
    assert tuple(baseline_features(array)) == FEATURES


def test_a_damaged_baseline_entry_is_refused_when_the_model_loads(run_dir, tmp_path):
    """Edited or damaged: an unknown feature gave a pandas KeyError at the first prediction."""
    import json
    import shutil

    from thermocad.models.bundle import load_bundle
    from thermocad.utils.errors import ModelFormatError

    run = shutil.copytree(run_dir, tmp_path / "run")
    meta = json.loads((run / "model.json").read_text())
    for column, scale, says in (("x", 1.0, r"features thermocad does not compute: \['x'\]"),
                                (None, 0.0, "every scale must be a number above 0")):  # fmt: skip
        entry = json.loads(json.dumps(meta["baseline"]))
        entry["columns"][0] = column or entry["columns"][0]
        entry["scale"][0] = scale
        (run / "model.json").write_text(json.dumps({**meta, "baseline": entry}))
        with pytest.raises(
            ModelFormatError, match=r"model\.json: field 'baseline' is invalid.*" + says
        ):
            load_bundle(run)


def test_no_skin_on_both_sides_gives_undefined_mirror_features_quietly():
    """Noise without a torso: no point whose mirror is skin; NaN (0 in the model), no warning."""
    import warnings

    noise = np.random.default_rng(0).uniform(20, 36, (50, 70)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feats = B.baseline_features(noise)
    assert np.isnan(feats["mirror_mean"]) and np.isnan(feats["mirror_p99"])


def test_each_frames_features_are_computed_once_per_process(monkeypatch):
    """fit's folds and final model had computed the same files' features six times (a scale
    review); they are kept by the frame's bytes, so another frame is computed afresh."""
    calls = []
    real = B.baseline_features
    monkeypatch.setattr(
        B, "baseline_features", lambda a, unit: calls.append(1) or real(a, unit=unit)
    )
    monkeypatch.setattr(B, "_KEPT", {})
    rng = np.random.default_rng(0)
    frames = {"a": torso(rng, True), "b": torso(rng, False)}
    first = B.feature_table(["a", "b"], reader=frames.__getitem__)
    again = B.feature_table(["b", "a"], reader=frames.__getitem__)
    assert len(calls) == 2 and again.loc[["a", "b"]].equals(first)
    frames["b"] = frames["b"] + 0.5  # the same name, another frame: its own features
    assert B.feature_table(["b"], reader=frames.__getitem__).loc["b", "mean"] == pytest.approx(
        first.loc["b", "mean"] + 0.5, abs=1e-3)  # fmt: skip
    assert len(calls) == 3
