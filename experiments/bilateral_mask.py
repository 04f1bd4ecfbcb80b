"""The asymmetry map only where both sides are skin (issue 7)

The default's asymmetry map A = map - mirror(map) is a difference of temperatures only where
a point and its mirror are both on the body. Where one of them is the room (beside the arms,
at the flanks of a woman standing off-centre in the crop), A is skin minus room: bands many
degrees strong along the silhouette that measure where she stood, not her physiology. Here A
is set to 0 (no asymmetry) wherever the body mask or its mirror is off the body:
  asymmetry  A (the asymmetry-map default; reproduces its CNN up to the draw order)
  bilateral  A inside the body mask and its mirror image, 0 elsewhere
The body mask is thermocad's (`regions.body_mask`: Otsu threshold, holes filled, largest
blob) on the original frame, cropped to the default's chest box, resized with the map and
eroded by two pixels (the resized map blends skin and room along the outline).
The frozen body's features do not depend on the fold, so they are computed once for the 120
women (the default's transform: relative window, marker masked, chest crop, 320 px); for each
seed and fold of `real_cv.py`'s splits (run it first with `baseline`) the default's head is
trained the default's way, alone and averaged with the classical baseline fitted on the same
training patients.

Rule written before the first run: the bilateral map replaces the default's input only if,
over split seeds 0-2, it is at least 0.01 above the default in batch-A AUC with the baseline
and no more than 0.01 below it in same-period AUC; it must then hold again over seeds 3-6.

    .venv/bin/python experiments/bilateral_mask.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

from harness import cv_setup, fold_heads, prepared, report
from thermocad.io.thermal import read_thermal
from thermocad.models.registry import create_model
from thermocad.preprocess.regions import body_mask, breast_box
from thermocad.training.config import TrainConfig
from thermocad.training.recipe import body_features


def chest_masks(paths: list[str], size: int) -> np.ndarray:
    """(N, size, size) body masks, cropped to the chest box and resized as the maps are."""
    out = np.empty((len(paths), size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        a = read_thermal(path).array
        mask = body_mask(a)
        top, bottom, left, right = breast_box(a, mask)
        m = torch.from_numpy(mask[top:bottom, left:right].astype(np.float32))[None, None]
        inside = (F.interpolate(m, size=(size, size), mode="bilinear") > 0.5)[0, 0].numpy()
        # Two pixels in from the edge: the resized map blends skin and room along the outline.
        out[i] = ndi.binary_erosion(inside, iterations=2)
    return out


def bilateral_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    transform, maps = prepared(cfg, paths)
    masks = chest_masks(paths, transform.size)
    model = create_model(cfg.arch, True, transform.in_chans, 2)
    (mean,), (std,) = transform.mean, transform.std
    # Map and mask travel together as two channels of one array through body_features.
    both = np.stack([maps, masks], axis=1)

    def bilateral(t: torch.Tensor) -> torch.Tensor:
        m, mask = t[:, 0, :1], t[:, 0, 1:]  # body_features adds a channel axis: (B, 1, 2, S, S)
        return ((m - m.flip(-1)) * mask * mask.flip(-1) - mean) / std

    return {
        "asymmetry": body_features(model, maps, transform.finish, 16).numpy(),
        "bilateral": body_features(model, both, bilateral, 16).numpy(),
    }


def main() -> None:
    args, paths = cv_setup(__doc__)
    cfg = TrainConfig(background="keep")  # the default when this was measured
    assert cfg.channels == ("asymmetry",) and cfg.crop == "breasts"
    feats = bilateral_features(cfg, paths)
    variants = {k: ([k], [], None) for k in feats}
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="asymmetry")


if __name__ == "__main__":
    main()
