"""split.csv -> fastai DataLoaders: selection, folds, caching, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from tests.helpers.training import make_split
from thermocad.preprocess.augment import Augmentation
from thermocad.preprocess.transforms import EvalTransform, Normalization
from thermocad.training.data import build_data, select_rows
from thermocad.utils.errors import ConfigError

T = EvalTransform(size=32)


def test_select_rows_by_split_and_fold(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 2, "test": 1}, folds=2)
    train, valid = select_rows(split)
    assert (len(train), len(valid)) == (6, 4)
    train, valid = select_rows(split, fold=1)
    df = pd.read_csv(split)
    assert set(valid["path"]) == set(df.loc[df["fold"] == 1, "path"])
    assert not set(train["path"]) & set(valid["path"]) and (train["fold"] >= 0).all()
    with pytest.raises(ConfigError, match="no fold 5"):
        select_rows(split, fold=5)
    with pytest.raises(ConfigError, match="fold must be a whole number, 'all' or None, got '0'"):
        select_rows(split, fold="0")  # it said "no fold 0; folds are [0, 1]"


def test_missing_class_is_refused(tmp_path):
    split = make_split(tmp_path, {"train": 3, "valid": 2})
    df = pd.read_csv(split)
    df[~((df["split"] == "valid") & (df["label"] == "Sick"))].to_csv(split, index=False)
    with pytest.raises(ConfigError, match="valid rows have no Sick"):
        select_rows(split)


def test_too_few_images_for_a_batch(tmp_path):
    split = make_split(tmp_path, {"train": 2, "valid": 1})
    with pytest.raises(ConfigError, match="fewer than one batch of 8"):
        build_data(split, T, Augmentation(), batch_size=8)


def test_mixed_units_are_refused(tmp_path):
    split = make_split(tmp_path, {"train": 2, "valid": 1})
    df = pd.read_csv(split)
    png = tmp_path / "exported.png"
    Image.fromarray(np.full((64, 80), 128, np.uint8)).save(png)
    df.loc[0, "path"] = str(png)
    df.to_csv(split, index=False)
    with pytest.raises(ConfigError, match="mixed input units"):
        build_data(split, T, Augmentation(), batch_size=2)


def test_batches_and_class_weights(tmp_path):
    split = make_split(tmp_path, {"train": 4, "valid": 2})
    df = pd.read_csv(split)
    df = df.drop(df.index[(df["split"] == "train") & (df["label"] == "Sick")][:2])  # 4 H, 2 S
    df.to_csv(split, index=False)
    data = build_data(split, T, Augmentation(), batch_size=3)
    x, y = data.dls.one_batch()
    assert x.shape == (3, 1, 32, 32) and set(y.tolist()) <= {0, 1}
    # 6 images: Healthy weight 6/(2*4) = 0.75, Sick 6/(2*2) = 1.5
    np.testing.assert_allclose(data.class_weights().numpy(), [0.75, 1.5])
    # The losses train and its head stage use are weighted so, always (the balance option that
    # could turn it off is gone).
    from thermocad.training.config import TrainConfig
    from thermocad.training.recipe import head_learner
    from thermocad.training.run import _setup

    cfg = TrainConfig.smoke(pretrained=False, size=32, batch_size=3)
    loss = _setup(split, cfg, None, False)[4]
    np.testing.assert_allclose(loss.func.weight.cpu().numpy(), [0.75, 1.5])
    y, x = np.array([0, 0, 0, 0, 1, 1]), torch.zeros(6, 3)
    head = head_learner(x, y, x[:2], y[:2], lambda: torch.nn.Linear(3, 2), cfg,
                        torch.device("cpu"), tmp_path)  # fmt: skip
    np.testing.assert_allclose(head.loss_func.func.weight.cpu().numpy(), [0.75, 1.5])
    # Validation batches are the EvalTransform of the files, in order, un-augmented.
    xv, _ = data.dls.valid.one_batch()
    from thermocad import read_thermal

    first = T(read_thermal(data.valid["path"][0]).array)
    np.testing.assert_allclose(xv[0].cpu().numpy(), first.numpy(), atol=1e-6)
    assert data.summary()["train"]["images"] == {"Healthy": 4, "Sick": 2}
    assert "room_range_c" not in data.summary()  # the split has no room column
    assert "skin_range_c" not in data.summary()
    df.assign(skin_median=np.linspace(29.0, 33.0, len(df))).to_csv(split, index=False)
    skin = build_data(split, T, Augmentation(), batch_size=3).summary()["skin_range_c"]
    train_skin = df.assign(s=np.linspace(29.0, 33.0, len(df))).query("split == 'train'")["s"]
    assert skin[0] <= train_skin.min() - 0.05 and skin[1] >= train_skin.max() + 0.05
    assert "synthetic_share" not in data.summary()  # no synth_truth.csv beside the files
    df.assign(room_median=np.linspace(20.0, 25.0, len(df))).to_csv(split, index=False)
    rooms = build_data(split, T, Augmentation(), batch_size=3).summary()["room_range_c"]
    train_rooms = df.assign(r=np.linspace(20.0, 25.0, len(df)))
    train_rooms = train_rooms.loc[train_rooms["split"] == "train", "r"]
    lo, hi = train_rooms.min(), train_rooms.max()  # training rows only, widened to 0.1 °C
    assert rooms[0] <= lo - 0.05 and rooms[1] >= hi + 0.05 and rooms[1] - rooms[0] < hi - lo + 0.3
    assert "frame_shapes" not in data.summary()  # the split has no height and width
    sizes = np.where(df["split"] == "train", 480, 240)  # only the training rows' sizes count
    df.assign(height=sizes, width=640).to_csv(split, index=False)
    assert build_data(split, T, Augmentation(), batch_size=3).summary()["frame_shapes"] == [
        [480, 640]
    ]
    assert "source_formats" not in data.summary()  # the split has no source_format column
    formats = np.where(df["split"] == "train", "dmr-space", "csv")  # training rows only count
    df.assign(source_format=formats).to_csv(split, index=False)
    summary = build_data(split, T, Augmentation(), batch_size=3).summary()
    assert summary["source_formats"] == {"dmr-space": 6}
    assert "sharpness_range" not in summary  # the split has no sharpness column
    sharp = np.where(df["split"] == "train", np.linspace(2.123, 9.001, len(df)), 0.1)
    df.assign(sharpness=sharp).to_csv(split, index=False)
    span = build_data(split, T, Augmentation(), batch_size=3).summary()["sharpness_range"]
    trained = sharp[(df["split"] == "train").to_numpy()]  # training rows only, widened
    assert span[0] <= trained.min() and span[1] >= trained.max() and span[0] > 2.11


def test_exported_images_train_as_intensity(tmp_path):
    split = make_split(tmp_path, {"train": 2, "valid": 1})
    df = pd.read_csv(split)
    for i in range(len(df)):
        png = tmp_path / f"img{i}.png"
        Image.fromarray(np.full((64, 80), 40 + 30 * i, np.uint8)).save(png)
        df.loc[i, "path"] = str(png)
    df.to_csv(split, index=False)
    intensity = EvalTransform(size=32, normalization=Normalization("intensity"))
    data = build_data(split, intensity, Augmentation(), batch_size=2)
    assert data.unit == "intensity"
    assert data.summary()["grey_levels"] == "8-bit scale, marker in grey levels"  # model.json
    assert "grey_full_range_share" not in data.summary()  # the split says nothing of the ends
    lows = np.where(np.arange(len(df)) % 2, 9, 0)  # every other image not down to 0
    df.assign(t_min=lows, t_max=255).to_csv(split, index=False)
    share = build_data(split, intensity, Augmentation(), batch_size=2).summary()
    trained = lows[(df["split"] == "train").to_numpy()]  # the training rows' alone
    assert share["grey_full_range_share"] == round(float((trained == 0).mean()), 4)
    np.testing.assert_allclose(data.maps[1], 70 / 255, rtol=1e-5)  # constant image, 8-bit scale
    degrees = EvalTransform(size=32, normalization=Normalization("relative"))
    with pytest.raises(ConfigError, match="8/16-bit images.*img0.png.*--norm relative"):
        build_data(split, degrees, Augmentation(), batch_size=2)  # a window in degrees


def test_acquisition_date_is_never_a_model_input(tmp_path):
    """The date is for audits only: changing it changes nothing the model is given."""
    split = make_split(tmp_path)
    df = pd.read_csv(split)
    inputs = []
    for offset in (0, 3000):
        days = pd.Timestamp("2013-01-01") + pd.to_timedelta(np.arange(len(df)) * 7 + offset, "D")
        df.assign(acquisition_date=days.strftime("%Y-%m-%d")).to_csv(split, index=False)
        data = build_data(split, T, Augmentation(), batch_size=3)
        batch = data.dls.valid.one_batch()
        inputs.append((data.maps.copy(), data.y.copy(), [t.clone() for t in batch]))
    (maps0, y0, b0), (maps1, y1, b1) = inputs
    assert np.array_equal(maps0, maps1) and np.array_equal(y0, y1)
    assert all(bool((a == b).all()) for a, b in zip(b0, b1, strict=True))


def test_class_weights_are_sklearns_balanced_weights_and_allow_an_absent_class():
    """class_weights gives scikit-learn's compute_class_weight("balanced") exactly (kept as
    our own: that one refuses a class missing from the labels, which a head trained on one
    class's rows must not)."""
    from sklearn.utils.class_weight import compute_class_weight

    from thermocad.training.data import class_weights

    rng = np.random.default_rng(0)
    for n in range(2, 120):
        y = rng.integers(0, 2, n)
        if len(set(y)) < 2:
            continue
        expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
        got = class_weights(y)
        assert got.dtype == torch.float32
        assert np.array_equal(got.numpy(), expected.astype(np.float32))
    np.testing.assert_array_equal(class_weights(np.array([0, 0, 0])).numpy(), [0.5, 1.5])


def test_a_split_whose_files_have_gone_is_refused_with_a_count(tmp_path):
    """A review of files changed between stages: train and evaluate stopped at the first file
    deleted since the split, with no count; compare counted them. All three count them now."""
    from thermocad.evaluation.evaluate import split_rows
    from thermocad.utils.errors import ConfigError

    split = make_split(tmp_path, {"train": 4, "valid": 2, "test": 2})
    df = pd.read_csv(split)
    for path in df.loc[[0, len(df) - 1], "path"]:  # a training file and a test file
        Path(path).unlink()
    (tmp_path / "p001.npy").unlink()  # a second training file
    gone = rf"{split}: 2 of its 12 files are missing or unreadable, e.g. .*p000.npy .moved since"
    with pytest.raises(ConfigError, match=gone):  # the train and valid rows' (8 + 4)
        build_data(split, EvalTransform(size=32), Augmentation(), batch_size=2)
    with pytest.raises(ConfigError, match=rf"{split}: 1 of its 4 files is missing"):
        split_rows(split, "test", None)  # the test rows', as evaluate scores them


def test_a_split_of_windows_or_relative_paths_says_so(tmp_path, monkeypatch):
    """A filesystem review: a split table written on Windows, or by hand with paths relative
    to itself, was called "moved since the split was made"."""
    from thermocad.cohort.missing import check_split_paths

    for path, why in ((r"C:\data\T0010.txt", "a Windows path"),
                      (r"data\T0010.txt", "a Windows path"),
                      ("data/T0010.txt", f"a relative path is read from the folder thermocad runs in, {tmp_path}); run thermocad "
                       "from the folder the paths start from"),
                      (str(tmp_path / "T0010.txt"), "moved since the split was made")):  # fmt: skip
        monkeypatch.chdir(tmp_path)
        with pytest.raises(ConfigError, match=re.escape(f"e.g. {path} ({why}")):
            check_split_paths(pd.DataFrame({"path": [path]}), "split.csv")
