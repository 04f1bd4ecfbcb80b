"""The calibration marker found on grey images against the one found on temperature matrices.

Each real frame is exported as an 8-bit grey image (mapped to 0-255 over its own range, as an
export with automatic range is) and the marker box found there is compared with the box found
on the temperature matrix (records/marker_on_images.md).

    .venv/bin/python experiments/marker_on_images.py ../shared/data/dmr-ir-frontal
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np

from thermocad.io.thermal import read_thermal
from thermocad.preprocess.regions import Box, body_mask, find_marker


def grey(array: np.ndarray, bits: int = 8) -> np.ndarray:
    """The grey levels an export with automatic range writes: 0 .. 2**bits - 1 over min..max."""
    lo, hi = float(array.min()), float(array.max())
    return np.round((array - lo) / max(hi - lo, 1e-6) * (2**bits - 1)).astype(np.float32)


def iou(a: Box | None, b: Box | None) -> float:
    """Intersection over union of two boxes; 1 when neither exists, 0 when one does."""
    if a is None or b is None:
        return float(a is None and b is None)
    rows = max(0, min(a.bottom, b.bottom) - max(a.top, b.top))
    cols = max(0, min(a.right, b.right) - max(a.left, b.left))
    inter = rows * cols
    area = (a.bottom - a.top) * (a.right - a.left) + (b.bottom - b.top) * (b.right - b.left)
    return inter / (area - inter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--bits", type=int, default=8)
    args = parser.parse_args()
    takes_unit = "unit" in inspect.signature(find_marker).parameters  # the code before did not
    agree, rows = 0, []
    paths = sorted(args.folder.glob("T*.txt"))
    for path in paths:
        array = read_thermal(path).array
        image = grey(array, args.bits)
        on_matrix = find_marker(array, body_mask(array))
        extra = {"unit": "intensity"} if takes_unit else {}
        on_image = find_marker(image, body_mask(image), **extra)
        overlap = iou(on_matrix, on_image)
        agree += overlap >= 0.8
        if overlap < 0.8:
            rows.append(f"  {path.name}: matrix {on_matrix}, image {on_image}, IoU {overlap:.2f}")
    print(f"{agree} of {len(paths)} frames: the {args.bits}-bit image's marker box matches "
          "the temperature matrix's (IoU >= 0.8, or neither has one)")  # fmt: skip
    print("\n".join(rows))


if __name__ == "__main__":
    main()
