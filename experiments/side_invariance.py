"""Which side is warmer should not matter: side-invariant asymmetry maps (issue 7)

The default shows the network the asymmetry map A = map - mirror(map). A is antisymmetric
(A at a point is minus A at its mirror point), and a tumour in the left breast gives the
mirror image of one in the right, with the colours swapped. So the head must learn two
patterns for one finding from 96 women. Clinicians score the size of the left/right
difference whatever its side. Two inputs remove the side, each computed from the default's
prepared maps (relative window, marker masked, chest crop, 320 px) and normalised as the
default's:
  asymmetry  A (the asymmetry-map default; reproduces its CNN up to the draw order)
  absolute   |A|: the size of the difference at each point, symmetric about the midline
  canonical  A turned so that the warmer half of the chest is always on the same side
             (multiplied by the sign of A's mean over the image's left half)
The frozen body's features do not depend on the fold, so they are computed once for the 120
women; for each seed and fold of `real_cv.py`'s splits (run it first with `baseline`) the
default's head is trained the default's way, alone and averaged with the classical baseline
fitted on the same training patients.

Rule written before the first run: a variant replaces the default's input only if, over
split seeds 0-2, it is at least 0.01 above the default in batch-A AUC with the baseline and
no more than 0.01 below it in same-period AUC; it must then hold again over seeds 3-6.

    .venv/bin/python experiments/side_invariance.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np
import torch

from harness import cv_setup, fold_heads, prepared, report
from thermocad.models.registry import create_model
from thermocad.training.config import TrainConfig
from thermocad.training.recipe import body_features


def canonical(a: torch.Tensor) -> torch.Tensor:
    """A (B, 1, S, S) multiplied per image by the sign of its mean over the left half."""
    side = torch.sign(a[..., : a.shape[-1] // 2].mean((1, 2, 3), keepdim=True))
    return a * torch.where(side == 0, torch.ones_like(side), side)


def side_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    transform, maps = prepared(cfg, paths)
    model = create_model(cfg.arch, True, transform.in_chans, 2)
    (mean,), (std,) = transform.mean, transform.std
    asym = lambda t: t - t.flip(-1)  # noqa: E731
    inputs = {
        "asymmetry": transform.finish,
        "absolute": lambda t: (asym(t).abs() - mean) / std,
        "canonical": lambda t: (canonical(asym(t)) - mean) / std,
    }
    return {k: body_features(model, maps, f, 16).numpy() for k, f in inputs.items()}


def main() -> None:
    args, paths = cv_setup(__doc__)
    cfg = TrainConfig(background="keep")  # the default when this was measured
    assert cfg.channels == ("asymmetry",)
    feats = side_features(cfg, paths)
    variants = {k: ([k], [], None) for k in feats}
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="asymmetry")


if __name__ == "__main__":
    main()
