"""Classical baseline: breast temperature statistics + left/right asymmetry, logistic regression.

A CNN that does not beat this has not earned its cost. Predictions come out with the same
columns as the CNN's (path, patient_id, label, y, prob, fold, ...), on the same splits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from thermocad.cohort.split import fold_rows, folds_of
from thermocad.io.labels import with_y
from thermocad.utils.errors import ConfigError, ModelFormatError

PERCENTILES = (5, 25, 50, 75, 95)
# What baseline_features computes (a test checks it): a model.json's baseline naming another
# feature is damaged or edited, and is refused when loaded, not at its first prediction.
FEATURES = (*(f"p{q}" for q in PERCENTILES), "mean", "std", "iqr", "range95", "hot_area",
            "asym_mean", "asym_p90", "asym_max", "asym_std", "asym_hot", "mirror_mean",
            "mirror_p99")  # fmt: skip


def chest_region(array: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Body mask and breast box (top, bottom, left, right) from thermocad.preprocess.regions."""
    from thermocad.preprocess.regions import body_mask, breast_box, midline

    mask = np.asarray(body_mask(array), bool)
    box = breast_box(array, mask)
    # Centre the box on the body's midline so the two halves mirror each other.
    centre = int(round(midline(mask)))
    half = min(centre - box.left, box.right - centre)
    if half < 2:
        return mask, (box.top, box.bottom, box.left, box.right)
    return mask, (box.top, box.bottom, centre - half, centre + half)


def mirrored_halves(box: np.ndarray, box_mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """The chest box's left half, its right half mirrored onto it, and both halves' body masks."""
    half = box.shape[1] // 2
    lhs, rhs = box[:, :half], box[:, box.shape[1] - half :][:, ::-1]
    lmask, rmask = box_mask[:, :half], box_mask[:, box.shape[1] - half :][:, ::-1]
    return lhs, rhs, lmask, rmask


def _hot_fraction(values: np.ndarray, cut: float) -> float:
    return float((values >= cut).mean()) if values.size else float("nan")


def _side_stats(values: np.ndarray, cut: float) -> dict[str, float]:
    if not values.size:
        return dict.fromkeys(("mean", "p90", "max", "std", "hot"), float("nan"))
    return {
        "mean": float(values.mean()),
        "p90": float(np.percentile(values, 90)),
        "max": float(values.max()),
        "std": float(values.std()),
        "hot": _hot_fraction(values, cut),
    }


def baseline_features(array: np.ndarray, unit: str = "celsius") -> dict[str, float]:
    """Temperature statistics of the breast region and left/right asymmetry features.

    The calibration marker is painted over first, as the CNN recipe does: its cold square
    inside the region would otherwise feed every percentile. `unit` is the array's ("celsius",
    or "intensity" for grey levels), which sets how cold the marker is.
    """
    from thermocad.preprocess.regions import remove_marker

    a = remove_marker(np.asarray(array, np.float32), unit=unit)
    mask, (top, bottom, left, right) = chest_region(a)
    box, box_mask = a[top:bottom, left:right], mask[top:bottom, left:right]
    values = box[box_mask] if box_mask.any() else box.ravel()
    pct = np.percentile(values, PERCENTILES)
    # A hot spot: the top quarter of the region's range (unit-free, works for images too).
    cut = float(values.max() - 0.25 * (values.max() - values.min()))
    feats = {f"p{q}": float(v) for q, v in zip(PERCENTILES, pct, strict=True)}
    feats.update(
        mean=float(values.mean()),
        std=float(values.std()),
        iqr=float(pct[3] - pct[1]),
        range95=float(pct[4] - pct[0]),
        hot_area=_hot_fraction(values, cut),
    )
    lhs, rhs, lmask, rmask = mirrored_halves(box, box_mask)
    ls, rs = _side_stats(lhs[lmask], cut), _side_stats(rhs[rmask], cut)
    for k in ls:
        feats[f"asym_{k}"] = abs(ls[k] - rs[k])
    both = lmask & rmask
    diff = np.abs(lhs - rhs)[both]
    if np.isfinite(diff).any():
        feats["mirror_mean"] = float(np.nanmean(diff))
        feats["mirror_p99"] = float(np.nanpercentile(diff, 99))
    else:  # no point whose mirror is skin too: undefined (0 in the model), without a warning
        feats["mirror_mean"] = feats["mirror_p99"] = float("nan")
    return feats


def feature_table(
    paths: Sequence[str], reader: Callable[[str], np.ndarray] | None = None
) -> pd.DataFrame:
    """Features for each path (index = path), each file read once; `reader`, if given, returns
    a path's temperature array (by default the file is read, in its own unit)."""
    from thermocad.utils.progress import progress

    read = _read_thermal if reader is None else lambda p: (reader(p), "celsius")
    rows = {}
    for p in progress(list(dict.fromkeys(paths)), "baseline features (files)"):
        array, unit = read(p)
        rows[p] = _kept_features(array, unit)
    return pd.DataFrame.from_dict(rows, orient="index")


# Each frame's features once per process, by its bytes: fit's five folds and final model had
# computed them six times over (about 3 s each on the 120 women; a scale review).
_KEPT: dict[tuple, dict[str, float]] = {}
MAX_KEPT = 100_000  # frames (17 numbers each)


def _kept_features(array: np.ndarray, unit: str) -> dict[str, float]:
    import hashlib

    array = np.ascontiguousarray(array)
    key = (hashlib.sha1(array.view(np.uint8)).hexdigest(), array.shape, str(array.dtype), unit)
    if (row := _KEPT.get(key)) is None:
        row = baseline_features(array, unit=unit)
        if len(_KEPT) >= MAX_KEPT:
            _KEPT.clear()
        _KEPT[key] = row
    return dict(row)


def _read_thermal(path: str) -> tuple[np.ndarray, str]:
    from thermocad.io.thermal import read_thermal

    thermogram = read_thermal(path)
    return thermogram.array, thermogram.unit


@dataclass
class BaselineModel:
    """A fitted standardised logistic regression over the baseline features."""

    pipeline: Any
    columns: list[str]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(Sick) for each row of a feature table."""
        return self.pipeline.predict_proba(features[self.columns].to_numpy(float))[:, 1]


@dataclass(frozen=True)
class LinearBaseline:
    """A fitted baseline as plain numbers (standardise, then logistic regression).

    This is what a model bundle stores in model.json to average the CNN with the baseline:
    readable, and loadable without pickle.
    """

    columns: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @classmethod
    def from_model(cls, model: BaselineModel) -> LinearBaseline:
        scaler, logreg = model.pipeline[0], model.pipeline[-1]
        return cls(
            columns=list(model.columns),
            mean=[float(v) for v in scaler.mean_],
            scale=[float(v) for v in scaler.scale_],
            coef=[float(v) for v in logreg.coef_[0]],
            intercept=float(logreg.intercept_[0]),
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearBaseline:
        try:
            out = cls(**{k: d[k] for k in ("columns", "mean", "scale", "coef", "intercept")})
        except (KeyError, TypeError) as exc:
            raise ModelFormatError(f"baseline entry is incomplete: {exc}") from exc
        if not len(out.columns) == len(out.mean) == len(out.scale) == len(out.coef):
            raise ModelFormatError("baseline entry: columns and coefficients differ in length")
        if unknown := [c for c in out.columns if c not in FEATURES]:
            raise ModelFormatError(f"baseline entry names features thermocad does not compute: "
                                   f"{unknown[:5]}")  # fmt: skip
        scales = [v for v in out.scale if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(scales) < len(out.scale) or not all(np.isfinite(v) and v > 0 for v in scales):
            raise ModelFormatError("baseline entry: every scale must be a number above 0")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(Sick) for each row of a feature table (missing values count as 0, as in fitting)."""
        X = np.nan_to_num(features[self.columns].to_numpy(float))
        z = ((X - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))

    def predict_arrays(
        self, arrays: Sequence[np.ndarray], unit: str | Sequence[str] = "celsius"
    ) -> np.ndarray:
        """P(Sick) for raw thermal arrays, read as the training files were; `unit`: theirs,
        one for all or one per array ("celsius" or "intensity")."""
        if not len(arrays):
            return np.zeros(0)
        units = [unit] * len(arrays) if isinstance(unit, str) else list(unit)
        feats = [baseline_features(a, unit=u) for a, u in zip(arrays, units, strict=True)]
        return self.predict(pd.DataFrame(feats))


def fit_linear_baseline(
    train_df: pd.DataFrame, features: pd.DataFrame | None = None
) -> LinearBaseline:
    """Fit the baseline on the rows of `train_df` (reading their files) as a LinearBaseline."""
    feats = features if features is not None else feature_table(train_df["path"].tolist())
    return LinearBaseline.from_model(fit_baseline(train_df, feats))


def _y(df: pd.DataFrame) -> np.ndarray:
    return with_y(df)["y"].to_numpy(int)


def fit_baseline(train_df: pd.DataFrame, features: pd.DataFrame) -> BaselineModel:
    """Fit StandardScaler + LogisticRegression on the rows of `train_df` (by path)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = _y(train_df)
    if len(np.unique(y)) < 2:
        raise ConfigError("baseline training data hold a single class; cannot fit")
    X = features.loc[train_df["path"]].to_numpy(float)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    pipe.fit(np.nan_to_num(X), y)
    return BaselineModel(pipe, list(features.columns))


def _predict_rows(model: BaselineModel, df: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["y"] = _y(df)
    out["prob"] = model.predict(feats.loc[df["path"]].fillna(0.0))
    return out


def cross_validate_baseline(
    split_df: pd.DataFrame, features: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Out-of-fold (or valid) predictions and test predictions of the baseline.

    With a `fold` column, fold k is predicted by a model fitted on the other folds; else the
    `valid` rows are predicted by a model fitted on `train`. Test rows are predicted by a model
    fitted on all non-test rows. Returns {"valid": DataFrame, "test": DataFrame}.
    """
    feats = features if features is not None else feature_table(split_df["path"].tolist())
    dev = split_df[split_df["split"] != "test"]
    test = split_df[split_df["split"] == "test"]
    parts = []
    if folds_of(dev):
        for k in folds_of(dev):
            train, valid = fold_rows(dev, k)
            parts.append(_predict_rows(fit_baseline(train, feats), valid, feats))
    else:
        model = fit_baseline(dev[dev["split"] == "train"], feats)
        parts.append(_predict_rows(model, dev[dev["split"] == "valid"], feats).assign(fold=0))
    result = {"valid": pd.concat(parts, ignore_index=True)}
    if len(test):
        model = fit_baseline(dev, feats)
        result["test"] = _predict_rows(model, test, feats)
    return result
