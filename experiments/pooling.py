"""How the frozen body's last feature map is pooled, and the head on top (issue 7)

The default recipe's body (efficientnet_lite0, frozen, ImageNet weights) sees the default
evaluation transform as it was when this was measured (marker masked, chest crop, relative
temperature window, temperature + asymmetry channels, 320 px). Its head is timm's: a linear layer on the *average*
of the last feature map (1,280 channels x 10 x 10 positions). A tumour is a local hot spot,
and averaging over the whole chest dilutes what one region shows; the study's own fastai head
(`create_head`, fastai 0.7's ConvLearner alike) pools by the concatenated average and maximum
(AdaptiveConcatPool2d) and has a hidden layer. The feature maps do not depend on the fold, so
they are computed once for the 120 women; for each seed and fold of `real_cv.py`'s splits
(run it first with `baseline`) a head is trained the default's way (fastai, SGD momentum 0.9,
lr 1e-2, 30 epochs of SGDR, class-weighted loss, batch 8) on:
  avg          the default's features (reproduces the default's CNN up to the draw order)
  max          the maximum over positions (timm's global_pool="max")
  avg+max      both side by side, the concat pooling of fastai's heads (timm's "catavgmax")
  avg+max_std  the same with the maximum standardised on the training folds
  fastai_head  avg+max into fastai's create_head layers (BatchNorm, dropout 0.25, 512 hidden,
               ReLU, BatchNorm, dropout 0.5, linear), as fastai builds it for a frozen body
Each CNN score is also averaged with the classical baseline fitted on the same training
patients (real_cv.py's `baseline` recipe: the default's other half).

    .venv/bin/python experiments/pooling.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np
import torch

from harness import cv_setup, fold_heads, prepared, report
from thermocad.models.registry import create_model
from thermocad.training.config import TrainConfig


def pooled_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    """Average and maximum pooling of the body's last feature map."""
    transform, maps = prepared(cfg, paths)
    model = create_model(cfg.arch, True, transform.in_chans, 2).eval()
    out: dict[str, list] = {"avg": [], "max": []}
    for i in range(0, len(maps), 16):
        x = transform.finish(torch.from_numpy(maps[i : i + 16])[:, None])
        with torch.inference_mode():
            fmap = model.forward_features(x)
        out["avg"].append(fmap.mean((2, 3)).numpy())
        out["max"].append(fmap.amax((2, 3)).numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def fastai_head(n_features: int) -> torch.nn.Module:
    """fastai's create_head for `n_features` already-pooled features (its pooling removed)."""
    from fastai.vision.learner import (
        create_head,
    )  # here: thermocad.training silences its import's warning

    head = create_head(n_features // 2, 2, concat_pool=True)  # n_features = 2 x channels
    return torch.nn.Sequential(*list(head.children())[2:])  # drop the pool and the flatten


def main() -> None:
    args, paths = cv_setup(__doc__)
    # The default when this was measured: temperature + asymmetry channels.
    feats = pooled_features(
        TrainConfig(channels=("temperature", "asymmetry"), background="keep"), paths
    )
    # name: (raw features, features standardised on the training folds, head)
    variants = {
        "avg": (["avg"], [], None),
        "max": (["max"], [], None),
        "avg+max": (["avg", "max"], [], None),
        "avg+max_std": (["avg"], ["max"], None),
        "fastai_head": (["avg"], ["max"], fastai_head),
    }
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="avg")


if __name__ == "__main__":
    main()
