"""How does a model's P(Sick) move on valid but unusual frames of one woman? (docs/application.md)

One real thermogram re-made as another camera, posture or artefact would give it: tilted 5
and 10 degrees, blurred by 1 pixel, 1 C warmer as a whole (a calibration offset), and crossed
by a 3-pixel cold column (a dead sensor column, a strap). Each is scored by the run's model
with its halves, beside the share of its second warm piece (the pieces note's statistic). Then,
over every frame of the data folder, how many get that note with 15% of the frame cut off each
side (little room in view). An inspection: nothing is chosen.

    .venv/bin/python experiments/unusual_inputs.py RUN DATA [--woman T0012.txt]   # 1 min, CPU
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from thermocad.io.thermal import read_thermal
from thermocad.models.bundle import load_bundle
from thermocad.preprocess.plausible import MAX_PIECE_SHARE, second_piece_share
from thermocad.preprocess.regions import body_mask
from thermocad.utils.tables import markdown_table


def variants(array: np.ndarray) -> dict[str, np.ndarray]:
    """The frame as found, and as each unusual acquisition would give it."""
    room = float(np.median(array[~body_mask(array)]))
    cut = array.copy()
    column = array.shape[1] * 2 // 3
    cut[:, column : column + 3] = 18.0
    return {
        "as found": array,
        "tilted 5 degrees": ndi.rotate(array, 5, reshape=False, order=1, cval=room),
        "tilted 10 degrees": ndi.rotate(array, 10, reshape=False, order=1, cval=room),
        "blurred 1 px": ndi.gaussian_filter(array, 1.0),
        "1 C warmer as a whole": array + 1.0,
        "3 px cold column": cut,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (e.g. from `thermocad fit`)")
    parser.add_argument("data", type=Path, help="the folder of the women's thermograms")
    parser.add_argument("--woman", default="T0012.txt", help="the file to re-make")
    args = parser.parse_args()
    bundle = load_bundle(args.run)
    array = read_thermal(args.data / args.woman).array
    rows = []
    for name, frame in variants(array).items():
        cnn, base = bundle.predict_parts([frame])
        prob = float(bundle.average(cnn, base)[0])
        rows.append([name, prob, "Sick" if prob >= bundle.threshold else "Healthy",
                     float(cnn[0]), None if base is None else float(base[0]),
                     second_piece_share(frame)])  # fmt: skip
    head = ["frame", "P(Sick)", "call", "CNN half", "baseline half", "second piece share"]
    print(f"{args.woman}, threshold {bundle.threshold:.4f}\n")
    print(markdown_table(head, rows))
    files = sorted(args.data.glob("*.txt"))
    noted = 0
    for f in files:
        a = read_thermal(f).array
        side = a.shape[1] * 15 // 100
        noted += second_piece_share(a[:, side:-side]) > MAX_PIECE_SHARE
    print(f"\nnoted with 15% cut off each side: {noted} of {len(files)} frames")


if __name__ == "__main__":
    main()
