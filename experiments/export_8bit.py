"""Copy the DMR-IR frontal set with 8-bit precision: what an exported grey image carries.

    .venv/bin/python experiments/export_8bit.py --out /tmp/dmr8
    .venv/bin/python experiments/real_cv.py --data /tmp/dmr8 --out /tmp/real_cv_8bit \
        --recipes chest_asym_320_notta

Each temperature matrix is mapped to 256 grey levels over its own range (an image export with
automatic range) and back to degrees Celsius, and saved as T*.npy with the same labels.csv.
The network's input window is per image and affine-invariant, so for the CNN this copy is the
same as training on the exported 8-bit grey images, while the Celsius thresholds of marker
and body detection still apply: only the precision differs from the temperature matrices.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from thermocad.io.thermal import read_thermal

DATA = Path(__file__).resolve().parents[2] / "shared/data/dmr-ir-frontal"


def quantize(array: np.ndarray, bits: int = 8) -> np.ndarray:
    """The array rounded to 2**bits levels between its minimum and maximum."""
    lo, hi = float(array.min()), float(array.max())
    levels = 2**bits - 1
    q = np.round((array - lo) / max(hi - lo, 1e-6) * levels)
    return (lo + q * (hi - lo) / levels).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bits", type=int, default=8)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out}: exists and is not empty")
    args.out.mkdir(parents=True, exist_ok=True)
    files = sorted(args.data.glob("T*.txt"))
    for path in files:
        np.save(args.out / f"{path.stem}.npy", quantize(read_thermal(path).array, args.bits))
    shutil.copy(args.data / "labels.csv", args.out / "labels.csv")
    print(f"{len(files)} files -> {args.out} ({args.bits}-bit precision)")


if __name__ == "__main__":
    main()
