"""Tiny synthetic thermograms and split.csv files for the training tests (64 x 80 arrays)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def thermogram(rng: np.random.Generator, sick: bool, shape=(64, 80)) -> np.ndarray:
    """Skin about 31-33 C over a 24 C room; Sick ones carry a +1.5 C spot on one breast."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    body = np.exp(-(((xx - w / 2) / (w / 3)) ** 2) - (((yy - h / 2) / (h / 2)) ** 2))
    a = 24 + 8.5 * body + rng.normal(0, 0.05, shape)
    if sick:
        cx = w / 2 + rng.choice([-1, 1]) * w / 5
        a += 1.5 * np.exp(-((xx - cx) ** 2 + (yy - h * 0.6) ** 2) / 18)
    return a.astype(np.float32)


def torso(rng: np.random.Generator, sick: bool) -> np.ndarray:
    """Room at 22 C, an elliptic body at ~33 C, and for Sick a +1.5 C spot on the left breast."""
    a = np.full((64, 80), 22.0, np.float32)
    yy, xx = np.mgrid[:64, :80]
    body = ((yy - 40) / 26) ** 2 + ((xx - 40) / 34) ** 2 < 1
    a[body] = 33.0 + rng.normal(0, 0.1, body.sum())
    if sick:
        a[body & ((yy - 40) ** 2 + (xx - 25) ** 2 < 16)] += 1.5
    return a


def make_split(
    root: Path, n_per_class: dict[str, int] | None = None, seed: int = 0, folds: int = 0
) -> Path:
    """Write .npy thermograms and a split.csv (train/valid/test, optional fold column)."""
    n_per_class = n_per_class or {"train": 8, "valid": 4, "test": 2}
    rng = np.random.default_rng(seed)
    rows, pid = [], 0
    for split, n in n_per_class.items():
        for label in ("Healthy", "Sick"):
            for _ in range(n):
                path = root / f"p{pid:03d}.npy"
                np.save(path, thermogram(rng, label == "Sick"))
                rows.append(dict(path=str(path), patient_id=pid, label=label, split=split,
                                 unit="celsius"))  # fmt: skip
                pid += 1
    df = pd.DataFrame(rows)
    if folds:
        non_test = df["split"] != "test"
        df["fold"] = -1
        df.loc[non_test, "fold"] = np.arange(non_test.sum()) % folds
    out = root / "split.csv"
    df.to_csv(out, index=False)
    return out
