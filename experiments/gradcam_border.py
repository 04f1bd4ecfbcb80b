"""How much of a model's Grad-CAM map lies on the edges of the box the network saw.

For each frame: the share of the map's mass (the map scaled to [0, 1] over the box, as the app
draws it) in the outer band of the box, `--band` of its height and width on each side, against
the band's share of the box's area (what a map spread evenly would put there).

    .venv/bin/python experiments/gradcam_border.py RUN ../shared/data/dmr-ir-frontal --band 0.12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from thermocad.inference.explain import gradcam, seen_box
from thermocad.io.thermal import read_thermal
from thermocad.models.bundle import load_bundle


def band_share(heat: np.ndarray, band: float) -> tuple[float, float]:
    """(share of the map's mass in the outer band, the band's share of the area)."""
    h, w = heat.shape
    dy, dx = max(1, round(band * h)), max(1, round(band * w))
    inner = np.zeros_like(heat, dtype=bool)
    inner[dy : h - dy, dx : w - dx] = True
    total = float(heat.sum())
    return (float(heat[~inner].sum()) / total if total > 0 else np.nan), float((~inner).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--band", type=float, default=0.12)
    args = parser.parse_args()
    bundle = load_bundle(args.run)
    shares, areas = [], []
    for path in sorted(args.folder.glob("T*.txt")):
        array = read_thermal(path).array
        heat = gradcam(bundle, array)
        box = seen_box(bundle, array) or (0, array.shape[0], 0, array.shape[1])
        share, area = band_share(heat[box[0] : box[1], box[2] : box[3]], args.band)
        shares.append(share)
        areas.append(area)
    s = np.asarray(shares)
    print(f"{len(s)} frames; outer {args.band:.0%} band = {np.mean(areas):.0%} of the box's area")
    print(f"share of the map in it: median {np.nanmedian(s):.0%} (quartiles "
          f"{np.nanpercentile(s, 25):.0%}-{np.nanpercentile(s, 75):.0%}); over half on "
          f"{int((s > 0.5).sum())} frames")  # fmt: skip


if __name__ == "__main__":
    main()
