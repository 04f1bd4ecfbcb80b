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


def run_candidate(doc: str, candidate_parts, name: str) -> None:
    """An augmentation candidate's main: `candidate_parts(inputs, df, tr, te, seed)` run on the
    nested folds; writes nested_NAME.csv and NAME_summary.json beside the cached inputs."""
    args = candidate_args(doc)
    df = cohort(args.nested)
    out = args.nested
    preds = run_nested(partial(candidate_parts, inputs(out, df), df), df, args.seeds)
    preds.to_csv(out / f"nested_{name}.csv", index=False)
    summarise(preds, out / f"{name}_summary.json", date_drift)


def main() -> None:
    run_candidate(__doc__, parts, "augmented")


if __name__ == "__main__":
    main()
