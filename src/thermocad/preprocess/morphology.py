"""Fast binary morphology for the body mask: scipy's results, by shifted boolean operations and
one labelling (tests/preprocess/test_regions.py checks them against scipy)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def erode(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """ndi.binary_erosion(mask, iterations=n): the 4-neighbour cross, outside counts as off.

    Shifted boolean ANDs, about 8x faster than scipy's general kernel on a 480x640 frame.
    """
    m = np.asarray(mask, dtype=bool)
    for _ in range(iterations):
        out = m.copy()
        out[1:] &= m[:-1]
        out[:-1] &= m[1:]
        out[:, 1:] &= m[:, :-1]
        out[:, :-1] &= m[:, 1:]
        out[[0, -1]] = False
        out[:, [0, -1]] = False
        m = out
    return m


def dilate(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """ndi.binary_dilation(mask, iterations=n) with the 4-neighbour cross."""
    m = np.asarray(mask, dtype=bool)
    for _ in range(iterations):
        out = m.copy()
        out[1:] |= m[:-1]
        out[:-1] |= m[1:]
        out[:, 1:] |= m[:, :-1]
        out[:, :-1] |= m[:, 1:]
        m = out
    return m


def background_blobs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 4-connected blobs of the background (0 on the mask) and, per label, whether it
    touches the border (label 0, the mask itself, does not): the others are holes, so
    `~outside[labels]` is ndi.binary_fill_holes(mask), 10x faster."""
    labels, n = ndi.label(~mask)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    outside = np.zeros(n + 1, dtype=bool)
    outside[edge] = True
    outside[0] = False  # label 0 is the body itself
    return labels, outside
