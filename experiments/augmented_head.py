"""The default head trained on augmented copies as well? Nested estimate (issue 17; protocol
and rule in records/augmented_head.md).

    .venv/bin/python experiments/augmented_head.py --nested /tmp/nested
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from nested_default import (
    baseline,
    cached,
    candidate_args,
    cohort,
    date_drift,
    head_sgd,
    run_nested,
    summarise,
)
from thermocad.models.baseline import feature_table
from thermocad.models.registry import create_model
from thermocad.preprocess.augment import Augmentation, augmented_input
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, prepared_maps

COPIES = 4


def augmented_features(paths: list[str], copies: int = COPIES) -> np.ndarray:
    """(copies, n, features): the frozen body's pooled features of `copies` augmented views of
    each woman's prepared map, drawn once (generator seed 0)."""
    import torch

    cfg = TrainConfig()
    transform, maps = prepared_maps(cfg, paths)
    model = create_model(cfg.arch, cfg.pretrained, transform.in_chans, 2, cfg.weights).eval()
    gen = torch.Generator().manual_seed(0)
    out = np.zeros((copies, len(maps), model.num_features), np.float32)
    with torch.no_grad():
        for k in range(copies):
            for i in range(0, len(maps), 16):
                x = augmented_input(torch.from_numpy(maps[i : i + 16])[:, None], transform,
                                    Augmentation(), gen)  # fmt: skip
                out[k, i : i + 16] = model.forward_head(model.forward_features(x),
                                                        pre_logits=True).numpy()  # fmt: skip
    index = {p: i for i, p in enumerate(dict.fromkeys(paths))}
    return out[:, [index[p] for p in paths]]


def head_aug(feats, aug, df, tr, te, seed) -> np.ndarray:
    """The default head on the training women's clean and augmented features; clean test."""
    x = np.concatenate([feats[tr], *aug[:, tr]])
    y = np.tile(df["y"].to_numpy()[tr], 1 + len(aug))
    return fit_head(x, y, feats[te], TrainConfig(seed=seed))


def parts(f, df, tr, te, seed) -> dict[str, np.ndarray]:
    base = baseline(f["b"], df, tr, te, seed)
    cnn, cnn_a = (
        head_sgd(f["cnn"], df, tr, te, seed),
        head_aug(f["cnn"], f["aug"], df, tr, te, seed),
    )
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "cnn_aug": cnn_a, "default_aug": (cnn_a + base) / 2}  # fmt: skip


def inputs(out: Path, df) -> dict:
    """The cached features both augmentation candidates read: the default's clean features
    (`cnn`), the baseline's (`b`) and the augmented views (`aug`, made here once)."""
    paths = df["path"].tolist()
    return {"cnn": np.load(out / "features_default.npy"),
            "b": cached(out / "baseline_features.pkl", lambda: feature_table(paths)),
            "aug": cached(out / "features_augmented.npy", lambda: augmented_features(paths))}  # fmt: skip


def main() -> None:
    args = candidate_args(__doc__)
    df = cohort(args.nested)
    out = args.nested
    f = inputs(out, df)
    preds = run_nested(partial(parts, f, df), df, args.seeds)
    preds.to_csv(out / "nested_augmented.csv", index=False)

    summarise(preds, out / "augmented_summary.json", date_drift)


if __name__ == "__main__":
    main()
