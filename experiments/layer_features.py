"""Which depth of the frozen ImageNet body carries the signal? (issue 7)

The default recipe's body (efficientnet_lite0, frozen, ImageNet weights) sees the default
evaluation transform as it was when this was measured (marker masked, chest crop, per-image
percentile window, temperature + asymmetry channels, 320 px: `real_cv.py`'s
`chest_asym_320_ens_notta`).
Its pooled features do not depend on the fold (nothing in the body is trained), so they are
computed once for the 120 women: the final 1,280 features the default head uses, and the
globally averaged output of every block (stages of 16, 24, 40, 80, 112, 192, 320 channels).
For each seed and fold of `real_cv.py`'s splits (run it first, with that recipe), a
linear head is trained exactly as the default's (fastai, SGD momentum 0.9, lr 1e-2, 30 epochs
of SGDR, class-weighted loss, batch 8) on:
  final        the default's features (reproduces the default's CNN up to the draw order)
  blocks4-6    the pooled outputs of the three last blocks (112 + 192 + 320 channels)
  final+4-6    both
  siamese      each half of the chest through the body, the right half mirrored (a siamese
               pair with shared weights): |f_left - f_right| and (f_left + f_right) / 2
  final+siamese
Intermediate features are standardised on the training folds (they have no BN+activation
scale). Each CNN score is also averaged with the classical baseline fitted on the same
training patients (real_cv.py's `baseline` recipe: the default's other half).

    .venv/bin/python experiments/layer_features.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np
import torch

from harness import cv_setup, fold_heads, prepared, report
from thermocad.models.registry import create_model
from thermocad.training.config import TrainConfig


def block_features(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Global-average-pooled output of every block, then the final pre-logits features."""
    out = []
    with torch.inference_mode():
        h = model.bn1(model.conv_stem(x))
        for block in model.blocks:
            h = block(h)
            out.append(h.mean((2, 3)))
        out.append(model.forward_head(model.bn2(model.conv_head(h)), pre_logits=True))
    return out


def all_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    transform, maps = prepared(cfg, paths)
    model = create_model(cfg.arch, True, transform.in_chans, 2).eval()
    parts, sides = [], []
    for i in range(0, len(maps), 16):
        x = transform.finish(torch.from_numpy(maps[i : i + 16])[:, None])
        parts.append([f.numpy() for f in block_features(model, x)])
        # Siamese: each half of the chest, the right one mirrored onto the left, through the
        # same body (its asymmetry channel: this side minus the mirrored other side).
        half = x.shape[-1] // 2
        with torch.inference_mode():
            left, right = (model.forward_head(model.forward_features(h), pre_logits=True)
                           for h in (x[..., :half], x[..., half:].flip(-1)))  # fmt: skip
        sides.append(torch.cat([(left - right).abs(), (left + right) / 2], 1).numpy())
    feats = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
    return {
        "final": feats[-1],
        "siamese": np.concatenate(sides),
        **{f"block{k}": f for k, f in enumerate(feats[:-1])},
    }


def main() -> None:
    args, paths = cv_setup(__doc__)
    # The default's inputs when this was measured: per-image window, both channels.
    cfg = TrainConfig(norm="robust", channels=("temperature", "asymmetry"), background="keep")
    feats = all_features(cfg, paths)
    variants = {
        "final": (["final"], [], None),
        "blocks4-6": ([], ["block4", "block5", "block6"], None),
        "final+4-6": (["final"], ["block4", "block5", "block6"], None),
        "siamese": (["siamese"], [], None),
        "final+siamese": (["final", "siamese"], [], None),
    }
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="final")


if __name__ == "__main__":
    main()
