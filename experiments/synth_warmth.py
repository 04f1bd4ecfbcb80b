"""How warm are the synthetic frames against the real files? (docs/synthetic.md, parameters)

Per frontal frame: the median of the body's pixels (`thermocad.preprocess.regions.body_mask`)
and its warmest pixel; printed: their medians over the frames, and the share of synthetic frames
warmer than the warmest real frame. Synthetic: N women per difficulty (40% Sick, seed S, one
frontal frame at 480 x 640, no nuisances), drawn in memory as synth_mirror_calibration.py draws
them and rounded to the files' 2 decimals; real: every thermal file in --data.

    .venv/bin/python experiments/synth_warmth.py --data ../shared/data/dmr-ir-frontal  # 1 min
"""

from __future__ import annotations

import argparse

import numpy as np

from thermocad.io.find import walk_thermal_files
from thermocad.io.thermal import read_thermal
from thermocad.preprocess.regions import body_mask
from thermocad.synth.cohort import synth_patient


def warmth(images) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's median body pixel and warmest pixel (C)."""
    frames = list(images)
    return (np.array([np.median(a[body_mask(a)]) for a in frames]),
            np.array([a.max() for a in frames]))  # fmt: skip


def synthetic(n: int, seed: int, difficulty: str):
    """n women's frontal frames (40% Sick), as the calibration scripts draw them."""
    sick = np.random.default_rng(seed).permutation(np.arange(n) < int(0.4 * n))
    for i, s in enumerate(sick):
        images = synth_patient(np.random.default_rng([seed, i + 1]), bool(s), 480, 640, difficulty)
        yield np.round(images[0][("frontal", 1)], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of real thermograms (DMR-IR)")
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files, _ = walk_thermal_files(args.data)
    skin, hot = warmth(read_thermal(p).array for p in files)
    print(f"real ({len(files)} frames): median skin {np.median(skin):.2f} C, median warmest "
          f"pixel {np.median(hot):.2f} C, warmest {hot.max():.2f} C")  # fmt: skip
    for difficulty in ("default", "easy"):
        s_skin, s_hot = warmth(synthetic(args.patients, args.seed, difficulty))
        print(f"synthetic {difficulty} ({args.patients} frames): median skin "
              f"{np.median(s_skin):.2f} C, median warmest pixel {np.median(s_hot):.2f} C, "
              f"{np.mean(s_hot > hot.max()):.0%} warmer than the warmest real frame", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
