"""Is any woman of the development set there twice, under two patient numbers?

The public DMR-IR database re-registered some women under new numbers; if two numbers of
the 120 were one woman, a split by patient would put her on both sides. Every pair of frames
is compared three ways: byte for byte (and as read, to 2 decimals), the coarse temperature
pattern (4 px blocks, each frame's median removed, best of shifts up to 8 px) and the
vessel-scale pattern inside the body (a band-pass of the frame at half resolution, the body
by Otsu's threshold, eroded 24 px; best of shifts up to 4 px). One woman imaged twice would
stand out above the tail of the distribution; the most alike pairs are printed with their
classes, batches and dates, for looking at.

    .venv/bin/python experiments/duplicate_women.py ../shared/data/dmr-ir-frontal
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import binary_erosion, gaussian_filter
from skimage.filters import threshold_otsu

from thermocad.io.labels import read_labels
from thermocad.io.thermal import read_thermal

SHIFTS = range(-2, 3)  # up to 8 px either way in 4 px blocks, 4 px at half resolution


def frames(data: Path, labels: pd.DataFrame) -> tuple[list[int], np.ndarray, pd.DataFrame]:
    ids, arrays, digests = [], [], []
    for pid in labels["patient_id"]:
        path = data / f"T{pid:04d}.txt"
        array = read_thermal(path, cache=False).array.astype(np.float64)
        ids.append(int(pid))
        arrays.append(array)
        digests.append({"bytes": hashlib.sha256(path.read_bytes()).hexdigest(),
                        "frame": hashlib.sha256(np.round(array, 2).tobytes()).hexdigest()})  # fmt: skip
    return ids, np.stack(arrays), pd.DataFrame(digests)


def best_correlation(x: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
    """Each pair's highest Pearson correlation over the shifts (inside both masks, if given)."""
    n, h, w = x.shape
    best = np.full((n, n), -1.0)
    for dy in SHIFTS:
        for dx in SHIFTS:
            ys, xs = slice(max(0, dy), h + min(0, dy)), slice(max(0, dx), w + min(0, dx))
            yo, xo = slice(max(0, -dy), h + min(0, -dy)), slice(max(0, -dx), w + min(0, -dx))
            p, q = x[:, ys, xs].reshape(n, -1), x[:, yo, xo].reshape(n, -1)
            if masks is None:
                p = p - p.mean(1, keepdims=True)
                q = q - q.mean(1, keepdims=True)
                c = (p / np.linalg.norm(p, axis=1, keepdims=True)) @ (
                    q / np.linalg.norm(q, axis=1, keepdims=True)
                ).T
            else:
                pm, qm = masks[:, ys, xs].reshape(n, -1), masks[:, yo, xo].reshape(n, -1)
                c = np.stack([_masked(p[i], pm[i], q, qm) for i in range(n)])
            best = np.maximum(best, c)
    best = np.maximum(best, best.T)
    np.fill_diagonal(best, np.nan)
    return best


def _masked(p, pm, q, qm) -> np.ndarray:
    both = (pm[None] & qm).astype(float)
    count = both.sum(1)
    a, b = p[None] * both, q * both
    am, bm = a.sum(1) / count, b.sum(1) / count
    cov = (a * b).sum(1) / count - am * bm
    var = ((a * a).sum(1) / count - am**2) * ((b * b).sum(1) / count - bm**2)
    return np.where(count > 2000, cov / np.sqrt(var), -1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--labels", type=Path, help="default: DATA/labels.csv")
    args = parser.parse_args()
    labels = read_labels(args.labels or args.data / "labels.csv")
    ids, x, digests = frames(args.data, labels)
    print(f"{len(ids)} frames; the same bytes twice: {int(digests['bytes'].duplicated().sum())}; "
          f"the same frame to 2 decimals twice: {int(digests['frame'].duplicated().sum())}")  # fmt: skip
    n = len(ids)
    coarse = x.reshape(n, x.shape[1] // 4, 4, x.shape[2] // 4, 4).mean((2, 4))
    coarse -= np.median(coarse.reshape(n, -1), 1)[:, None, None]
    half = x.reshape(n, x.shape[1] // 2, 2, x.shape[2] // 2, 2).mean((2, 4))
    vessels = np.stack([gaussian_filter(a, 1) - gaussian_filter(a, 6) for a in half])
    bodies = np.stack([binary_erosion(a > threshold_otsu(a), iterations=12) for a in half])
    lab = labels.set_index("patient_id")
    upper = np.triu_indices(n, 1)
    for name, sim in (("coarse pattern", best_correlation(coarse)),
                      ("vessel pattern in the body", best_correlation(vessels, bodies))):  # fmt: skip
        v = sim[upper]
        top = np.argsort(-v)[:8]
        print(f"\n{name}: {len(v)} pairs, mean {v.mean():.3f} (SD {v.std():.3f}), 99.9th "
              f"percentile {np.quantile(v, 0.999):.3f}; the most alike:")  # fmt: skip
        for k in top:
            a, b = ids[upper[0][k]], ids[upper[1][k]]
            print(f"  {a:>4} ~ {b:<4} {v[k]:.3f} (z {(v[k] - v.mean()) / v.std():.1f})  "
                  + " / ".join(f"{lab.loc[p, 'diagnosis']} {lab.loc[p, 'acquisition_batch']} "
                               f"{lab.loc[p, 'acquisition_date']}" for p in (a, b)))  # fmt: skip


if __name__ == "__main__":
    main()
