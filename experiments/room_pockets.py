"""Body masks, chest boxes and marker boxes of every frame, saved, or compared with a saved set.

Run once before a change to `preprocess.regions` (`--save`) and once after (`--against`): the
frames whose mask, chest box or marker box changed are listed, with the pixels that left or
joined the body, and drawn on one sheet to be looked at (records/room_pockets.md).

    .venv/bin/python experiments/room_pockets.py ../shared/data/dmr-ir-frontal --save /tmp/regions_before.npz
    .venv/bin/python experiments/room_pockets.py ../shared/data/dmr-ir-frontal --against /tmp/regions_before.npz --sheet /tmp/changed.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from thermocad.io.find import find_thermal_files
from thermocad.io.thermal import read_thermal
from thermocad.preprocess.regions import body_mask, breast_box, find_marker


def regions_of(path: Path) -> dict[str, np.ndarray]:
    a = read_thermal(path).array
    mask = body_mask(a)
    marker = find_marker(a, mask)
    return {"mask": np.packbits(mask), "shape": np.array(mask.shape),
            "box": np.array(tuple(int(v) for v in breast_box(a, mask))),
            "marker": np.array(tuple(int(v) for v in marker) if marker else (-1, -1, -1, -1))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--sheet", type=Path)
    args = parser.parse_args()
    files = sorted(find_thermal_files(args.data))
    now = {Path(f).stem: regions_of(Path(f)) for f in files}
    if args.save:
        np.savez_compressed(
            args.save, **{f"{k}/{n}": v for k, r in now.items() for n, v in r.items()}
        )
        print(f"saved the regions of {len(now)} frames to {args.save}")
        return
    before = np.load(args.against)
    changed = []
    for name, r in now.items():
        old = {n: before[f"{name}/{n}"] for n in r}
        shape = tuple(r["shape"])
        m_new = np.unpackbits(r["mask"])[: np.prod(shape)].reshape(shape).astype(bool)
        m_old = np.unpackbits(old["mask"])[: np.prod(shape)].reshape(shape).astype(bool)
        left, joined = int((m_old & ~m_new).sum()), int((m_new & ~m_old).sum())
        same_box = (r["box"] == old["box"]).all()
        same_marker = (r["marker"] == old["marker"]).all()
        if left or joined or not same_box or not same_marker:
            changed.append((name, m_old, m_new))
            print(f"{name}: {left} px left the body, {joined} joined; chest box "
                  f"{old['box'].tolist()} -> {r['box'].tolist()}; marker "
                  f"{old['marker'].tolist()} -> {r['marker'].tolist()}")  # fmt: skip
    print(f"{len(changed)} of {len(now)} frames changed")
    if args.sheet and changed:
        sheet(args.data, changed, args.sheet, now)


def sheet(data: Path, changed, out: Path, now) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {Path(f).stem: Path(f) for f in find_thermal_files(data)}
    cols = min(4, len(changed))
    rows = -(-len(changed) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, m_old, m_new) in zip(axes.flat, changed, strict=False):
        ax.imshow(read_thermal(files[name]).array, cmap="inferno")
        ax.contour(m_old & ~m_new, [0.5], colors="cyan", linewidths=1.2)  # left the body
        ax.contour(m_new & ~m_old, [0.5], colors="lime", linewidths=1.2)  # joined it
        top, bottom, left, right = now[name]["box"]
        ax.add_patch(plt.Rectangle((left, top), right - left, bottom - top, fill=False, ec="w"))
        t, b, lft, rgt = now[name]["marker"]
        if t >= 0:
            ax.add_patch(plt.Rectangle((lft, t), rgt - lft, b - t, fill=False, ec="deepskyblue"))
        ax.set_title(f"{name}: cyan left the body, white chest box", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=60)
    print(f"sheet: {out}")


if __name__ == "__main__":
    main()
