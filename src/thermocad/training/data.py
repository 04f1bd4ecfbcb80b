"""fastai DataLoaders over thermal arrays from split.csv, cached in memory at the input size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from fastai.data.core import DataLoaders, Datasets
from fastai.torch_core import TensorCategory, TensorImage
from fasttransform import Transform

from thermocad.cohort.missing import check_split_paths
from thermocad.io.labels import CLASSES, labels_to_y
from thermocad.preprocess.augment import Augmentation, augment, input_augmentation
from thermocad.preprocess.transforms import EvalTransform
from thermocad.utils.errors import ConfigError, ThermalFormatError
from thermocad.utils.progress import progress

# How grey images are read: levels on the 8-bit scale (a 16-bit image's / 257) and the marker
# found in grey levels. A grey-image model.json without it predates this, and is said so.
GREY_LEVELS = "8-bit scale, marker in grey levels"


@dataclass
class ThermalData:
    """DataLoaders plus the cached maps and labels they draw from (for precompute and TTA)."""

    dls: DataLoaders
    train: pd.DataFrame
    valid: pd.DataFrame
    maps: np.ndarray  # (n_train + n_valid, S, S) prepared maps; train rows first
    y: np.ndarray  # 0 Healthy, 1 Sick
    unit: str
    transform: EvalTransform

    @property
    def n_train(self) -> int:
        return len(self.train)

    def class_weights(self) -> torch.Tensor:
        """The loss's class weights over the training labels (`class_weights`)."""
        return class_weights(self.y[: self.n_train])

    def summary(self) -> dict:
        """Counts of images and patients per class, and the rooms the training women were
        imaged in (`room_median`'s range, when the split has it), for model.json."""
        from thermocad.preprocess.plausible import spans_grey_range
        from thermocad.synth.files import synthetic_share

        out = {"unit": self.unit}
        if self.unit == "intensity":  # how grey images are read since 2026-12-05 (io.thermal)
            out["grey_levels"] = GREY_LEVELS
            if {"t_min", "t_max"} <= set(self.train.columns):  # how they were exported
                ends = (pd.to_numeric(self.train[c], errors="coerce") for c in ("t_min", "t_max"))
                full = spans_grey_range(*ends)
                out["grey_full_range_share"] = round(float(full.mean()), 4)
        # A model trained on `thermocad synth`'s women says so on its cards and in the app.
        if share := synthetic_share(self.train["path"]):
            out["synthetic_share"] = round(share, 4)
        if "source_format" in self.train.columns:  # the card's dataset (models.words.training_data)
            out["source_formats"] = self.train["source_format"].astype(str).value_counts().to_dict()
        # The rooms and the skin widened to the next 0.1 °C, past prepare's rounding; the
        # sharpness (for sharpness_note: a frame blurrier than all) to the next 0.01.
        for column, key, margin, places in (("room_median", "room_range_c", 0.05, 1),
                                            ("skin_median", "skin_range_c", 0.05, 1),
                                            ("sharpness", "sharpness_range", 5e-5, 2)):  # fmt: skip
            if column in self.train.columns and (
                span := _widened(self.train[column], margin, places)
            ):
                out[key] = span
        if {"height", "width"} <= set(self.train.columns):  # the frames' sizes, for shape_note
            sizes = self.train[["height", "width"]].apply(pd.to_numeric, errors="coerce").dropna()
            shapes = sorted({(int(h), int(w)) for h, w in sizes.to_numpy()})
            if 0 < len(shapes) <= 8:  # more sizes than that: no size is unlike the training's
                out["frame_shapes"] = [list(s) for s in shapes]
        for name, df in (("train", self.train), ("valid", self.valid)):
            out[name] = {
                "images": {c: int((df["label"] == c).sum()) for c in CLASSES},
                "patients": {
                    c: int(df.loc[df["label"] == c, "patient_id"].nunique()) for c in CLASSES
                },
            }
        return out


def class_weights(y: np.ndarray) -> torch.Tensor:
    """Inverse-frequency class weights of labels `y` (the training loss's), n / (classes x
    count): each 1 when the classes are balanced, the rarer class's above 1. The values of
    scikit-learn's compute_class_weight("balanced") (a test checks it), which refuses a class
    absent from `y`; here its weight is n / classes, never used by the loss."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(CLASSES)).astype(np.float64)
    return torch.tensor(counts.sum() / (len(CLASSES) * np.maximum(counts, 1)), dtype=torch.float32)


def _widened(column: pd.Series, margin: float, places: int) -> list[float] | None:
    """[low, high] of the column's numbers, each `margin` further out and then rounded outward
    to `places` decimals; None when it holds none."""
    values = pd.to_numeric(column, errors="coerce").dropna()
    if not len(values):
        return None
    scale, lo, hi = 10**places, float(values.min()) - margin, float(values.max()) + margin
    return [math.floor(lo * scale) / scale, math.ceil(hi * scale) / scale]


def select_rows(
    split_csv: str | Path, fold: int | str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and validation rows: by `split`, or fold k validates on fold k (design.md).

    fold="all" trains on every non-test row (a final model); its "validation" rows are the
    training rows themselves, so nothing measured on them may be reported or used for choices.
    """
    from thermocad.cohort.split import fold_rows, read_split

    split_csv = Path(split_csv)
    df = read_split(split_csv)  # readable, has the columns, no patient on two sides
    bad = sorted(set(df["label"]) - set(CLASSES))
    if bad:
        raise ConfigError(f"{split_csv}: unknown labels {bad}; expected {CLASSES}")
    if fold is None:
        train, valid = df[df["split"] == "train"], df[df["split"] == "valid"]
    elif fold == "all":
        train = valid = df[df["split"] != "test"]
    else:
        if not isinstance(fold, int) or isinstance(fold, bool):  # '0' is no fold 0
            raise ConfigError(f"fold must be a whole number, 'all' or None, got {fold!r}")
        if "fold" not in df.columns:
            raise ConfigError(f"{split_csv}: has no fold column (make it with --folds K)")
        if fold not in set(df["fold"]):
            raise ConfigError(
                f"{split_csv}: no fold {fold}; folds are {sorted(set(df['fold']) - {-1})}"
            )
        train, valid = fold_rows(df, fold)
    for name, part in (("train", train), ("valid", valid)):
        absent = [c for c in CLASSES if not (part["label"] == c).any()]
        if absent:
            raise ConfigError(f"{split_csv}: the {name} rows have no {' or '.join(absent)} images")
    return train.reset_index(drop=True), valid.reset_index(drop=True)


def load_maps(paths: list[str], transform: EvalTransform) -> tuple[np.ndarray, str]:
    """Read every file once and keep its prepared (S, S) map; refuse mixed units."""
    from thermocad.io.thermal import iter_read

    # Each distinct file once: a final model's (fold="all") validation rows repeat its training rows.
    distinct = list(dict.fromkeys(map(str, paths)))
    maps = np.empty((len(distinct), transform.size, transform.size), dtype=np.float32)
    units: dict[str, str] = {}
    for i, (path, result) in enumerate(
        progress(iter_read(distinct), "reading thermograms", total=len(distinct))
    ):
        if isinstance(result, ThermalFormatError):
            raise result
        units.setdefault(result.unit, str(path))
        if len(units) > 1:
            raise ConfigError(
                "mixed input units: "
                + ", ".join(f"{u} (e.g. {p})" for u, p in units.items())
                + "; train on temperatures or on images, not both"
            )
        maps[i] = transform.prepare(result.array, result.unit)
    unit = next(iter(units), "celsius")
    if unit == "intensity" and transform.normalization.in_degrees:
        raise ConfigError(
            f"the inputs are 8/16-bit images, which hold no temperatures (e.g. {units['intensity']}): "
            f"--norm {transform.normalization.method} needs temperatures; use --norm robust "
            "or intensity"
        )
    if len(distinct) < len(paths):
        index = {path: i for i, path in enumerate(distinct)}
        maps = maps[[index[str(path)] for path in paths]]
    return maps, unit


class ChannelMaps(Transform):
    """Prepared maps -> input channels (the asymmetry from the map as recorded), every batch."""

    order = 5

    def __init__(self, transform: EvalTransform):
        super().__init__()
        self.transform = transform

    def encodes(self, x: TensorImage) -> TensorImage:
        return TensorImage(self.transform.channels_of(x))


class AugmentMaps(Transform):
    """Random augmentation of the input channels, training batches only (and fastai's TTA)."""

    split_idx, order = 0, 10

    def __init__(self, aug: Augmentation):
        super().__init__()
        self.aug = aug

    def encodes(self, x: TensorImage) -> TensorImage:
        return TensorImage(augment(x, self.aug))


class NormaliseMaps(Transform):
    """Mean/std of each channel; after ChannelMaps, exactly EvalTransform.finish."""

    order = 20

    def __init__(self, transform: EvalTransform):
        super().__init__()
        self.transform = transform

    def encodes(self, x: TensorImage) -> TensorImage:
        return TensorImage(self.transform.normalise(x))


def build_data(
    split_csv: str | Path,
    transform: EvalTransform,
    aug: Augmentation,
    batch_size: int,
    fold: int | str | None = None,
    device: torch.device | None = None,
) -> ThermalData:
    """Read the split once and wrap it in fastai DataLoaders (train shuffled, valid in order)."""
    train, valid = select_rows(split_csv, fold)
    check_split_paths(pd.concat([train, valid]), split_csv)  # every file gone, counted
    if len(train) < batch_size:
        raise ConfigError(
            f"{split_csv}: {len(train)} training images, fewer than one batch of {batch_size}; "
            "use a smaller batch size (train's --batch-size; a study config's train.batch_size)"
        )
    maps, unit = load_maps(list(train["path"]) + list(valid["path"]), transform)
    y = labels_to_y(np.concatenate([train["label"], valid["label"]]))
    dsets = Datasets(
        list(range(len(y))),
        tfms=[
            [lambda i: TensorImage(torch.from_numpy(maps[i])[None])],
            [lambda i: TensorCategory(y[i])],
        ],
        splits=(list(range(len(train))), list(range(len(train), len(y)))),
    )
    kwargs = dict(
        bs=batch_size,
        # = augmented_input (training) and EvalTransform.finish (validation), as at inference
        after_batch=[
            ChannelMaps(transform),
            AugmentMaps(input_augmentation(aug, transform)),
            NormaliseMaps(transform),
        ],  # fmt: skip
        device=device,
        num_workers=0,  # the maps are already in memory
    )
    dls = dsets.dataloaders(**kwargs)
    return ThermalData(dls, train, valid, maps, y, unit, transform)
