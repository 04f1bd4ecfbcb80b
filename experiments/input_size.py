"""Input resolution for the asymmetry map (issue 7)

224 -> 320 px was the largest single gain for the two-channel input, and 384 px added nothing
there. The asymmetry map alone (the default since) carries finer detail than the temperature
map (vessels, fold edges), so its resolution is measured again: the default's evaluation
transform (`TrainConfig(background="keep")`) at 224, 320, 384 and 448 px, the frozen body's features computed
once per size, and for each seed and fold of `real_cv.py`'s splits (run it first with
`baseline`) the default's linear head trained the default's way. Each CNN score is also
averaged with the classical baseline fitted on the same training patients.

    .venv/bin/python experiments/input_size.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

from harness import cv_setup, features, fold_heads, report
from thermocad.training.config import TrainConfig

SIZES = (224, 320, 384, 448)


def main() -> None:
    args, paths = cv_setup(__doc__)
    feats = {f"{s}px": features(TrainConfig(size=s, background="keep"), paths) for s in SIZES}
    variants = {name: ([name], [], None) for name in feats}
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="320px")


if __name__ == "__main__":
    main()
