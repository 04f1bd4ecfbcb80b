"""Temperature and asymmetry as two streams through the frozen body (issue 7)

Until this measurement the default recipe's input had two channels, the temperature map and
its asymmetry (the map minus its left/right mirror), and timm adapts the ImageNet stem to two
channels by giving them the red and green filters (scaled by 3/2), so from the first layer on
every feature mixes the two maps. ImageNet filters were learnt on natural images; a grey
image shown through all three of them is the usual way to reuse them. Here each map goes
through the same frozen body on its own, as a grey image (timm's one-channel stem: the three filters summed), and the head
sees the feature vectors side by side. The feature maps do not depend on the fold, so they are
computed once for the 120 women (the default's evaluation transform as it was when this was
measured: relative window, marker masked, chest crop, 320 px); for each seed and fold of
`real_cv.py`'s splits (run it first with `baseline`) the default's linear head is trained the
default's way (fastai, SGD momentum 0.9, lr 1e-2, 30 epochs of SGDR, class-weighted loss,
batch 8) on:
  mixed        the two-channel features (reproduces that default's CNN)
  temperature  the temperature stream alone
  asymmetry    the asymmetry stream alone (what `channels=("asymmetry",)` gives)
  two_stream   temperature and asymmetry streams side by side (2 x 1,280 features)
Each CNN score is also averaged with the classical baseline fitted on the same training
patients (real_cv.py's `baseline` recipe: the default's other half).

    .venv/bin/python experiments/two_stream.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np

from harness import cv_setup, fold_heads, prepared, report
from thermocad.models.registry import create_model, get_arch
from thermocad.training.config import TrainConfig
from thermocad.training.recipe import body_features


def stream_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    """Pooled features of the two-channel input, and of each channel as a grey image."""
    transform, maps = prepared(cfg, paths)
    mixed = create_model(cfg.arch, True, transform.in_chans, 2)
    grey = create_model(cfg.arch, True, 1, 2)  # the stem's three filters summed
    (mean,), (std,) = get_arch(cfg.arch).norm_stats(1)
    streams = {
        "mixed": (mixed, transform.finish),
        "temperature": (grey, lambda t: (t - mean) / std),
        "asymmetry": (grey, lambda t: (t - t.flip(-1) - mean) / std),
    }
    return {k: body_features(m, maps, finish, 16).numpy() for k, (m, finish) in streams.items()}


def main() -> None:
    args, paths = cv_setup(__doc__)
    # The default when this was measured: temperature + asymmetry channels.
    feats = stream_features(
        TrainConfig(channels=("temperature", "asymmetry"), background="keep"), paths
    )
    variants = {
        "mixed": (["mixed"], [], None),
        "temperature": (["temperature"], [], None),
        "asymmetry": (["asymmetry"], [], None),
        "two_stream": (["temperature", "asymmetry"], [], None),
    }
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="mixed")


if __name__ == "__main__":
    main()
