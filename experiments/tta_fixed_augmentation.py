"""Test-time augmentation for the default head, on the fixed augmentation? Nested estimate
(issue 17; protocol and rule in records/tta_fixed_augmentation.md). Needs the augmented views
that augmented_head.py caches.

    .venv/bin/python experiments/tta_fixed_augmentation.py --nested /tmp/nested
"""

from __future__ import annotations

import numpy as np

from augmented_head import run_candidate
from nested_default import baseline, head_sgd
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head


def head_tta(feats, aug, df, tr, te, seed) -> np.ndarray:
    """The default head trained on clean features; P(Sick) averaged over the clean and the
    augmented views of each held-out woman."""
    views = np.concatenate([feats[te], *aug[:, te]])
    p = fit_head(feats[tr], df["y"].to_numpy()[tr], views, TrainConfig(seed=seed))
    return p.reshape(1 + len(aug), len(te)).mean(0)


def parts(f, df, tr, te, seed) -> dict[str, np.ndarray]:
    base = baseline(f["b"], df, tr, te, seed)
    cnn = head_sgd(f["cnn"], df, tr, te, seed)
    cnn_t = head_tta(f["cnn"], f["aug"], df, tr, te, seed)
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "cnn_tta": cnn_t, "default_tta": (cnn_t + base) / 2}  # fmt: skip


def main() -> None:
    run_candidate(__doc__, parts, "tta")


if __name__ == "__main__":
    main()
