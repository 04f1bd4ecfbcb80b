"""Where Healthy women's pixelwise left-right differences lie, real against synthetic (issue 17).

The baseline's `mirror_mean` and `mirror_p99` are the mean and 99th percentile of
|left - mirrored right| over the chest box (`thermocad.models.baseline`). This draws that
difference map for the first Healthy women of real batch A and of the default generator, both
at the demo's 120 x 160, and measures where each woman's top 1% of differences lies: the
fraction in the lower third of the chest box, where the breasts' lower outlines and the
inframammary folds are. With `--profiles`, a second figure: the mean row profiles of the
difference and of the temperature over the chest box's height, real against synthetic; with
`--frames`, whole frames with the chest box drawn. No model is involved; nothing is chosen here.

    .venv/bin/python experiments/asymmetry_maps.py --data ../shared/data/dmr-ir-frontal \
        --out docs/img/asymmetry_maps.png --profiles docs/img/asymmetry_profiles.png \
        --frames docs/img/asymmetry_frames.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import thermocad
from thermocad.io.thermal import read_thermal
from thermocad.models.baseline import chest_region, mirrored_halves
from thermocad.preprocess.regions import remove_marker
from thermocad.preprocess.resize import resize
from thermocad.synth.cohort import DIFFICULTIES, synth_patient
from thermocad.utils.files import atomic_path

SIZE = (120, 160)  # the demo's rendering size


def halves(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chest box's left half (C) and |left - mirrored right| (NaN off the body), as the
    baseline computes them."""
    a = remove_marker(np.asarray(array, np.float32))
    mask, (top, bottom, left, right) = chest_region(a)
    lhs, rhs, lmask, rmask = mirrored_halves(
        a[top:bottom, left:right], mask[top:bottom, left:right]
    )
    return lhs, np.where(lmask & rmask, np.abs(lhs - rhs), np.nan)


def lower_third_share(diff: np.ndarray) -> float:
    """Fraction of the top 1% of differences that lie in the lower third of the box."""
    top = diff >= np.nanpercentile(diff, 99)
    rows = np.nonzero(top)[0]
    return float(np.mean(rows >= 2 * diff.shape[0] / 3))


def fold_contrast(image: np.ndarray) -> float:
    """Mean temperature of the chest box's rows at 0.75-0.85 of its height minus rows 0.5-0.6
    (left half): positive where the folds under the breasts are warmer than the breasts."""
    lhs, _ = halves(image)
    h = lhs.shape[0]
    return float(
        lhs[int(0.75 * h) : int(0.85 * h)].mean() - lhs[int(0.5 * h) : int(0.6 * h)].mean()
    )


def real_healthy(data: Path) -> list[np.ndarray]:
    table = thermocad.prepare(data, data / "labels.csv")
    keep = (table["excluded_reason"].fillna("") == "") & (table["acquisition_batch"] == "A")
    paths = table.loc[keep & (table["label"] == "Healthy"), "path"]
    return [resize(read_thermal(p).array, SIZE) for p in paths]


def synthetic_healthy(n: int, seed: int = 21) -> list[np.ndarray]:
    d = DIFFICULTIES["default"]
    return [synth_patient(np.random.default_rng([seed, i + 1]), False, *SIZE, d)[0][("frontal", 1)]
            for i in range(n)]  # fmt: skip


def save(fig, title: str, out: Path, dpi: int = 70) -> None:
    """Title the figure, write it atomically as PNG, close it."""
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)


def figure(groups: dict[str, list[np.ndarray]], shown: int, out: Path) -> None:
    fig, axes = plt.subplots(2 * len(groups), shown, figsize=(2.1 * shown, 5.2 * len(groups)))
    for g, (name, images) in enumerate(groups.items()):
        for j, image in enumerate(images[:shown]):
            lhs, diff = halves(image)
            axes[2 * g, j].imshow(lhs, cmap="inferno")
            axes[2 * g, j].set_title(f"{name} {j + 1}", fontsize=9)
            axes[2 * g + 1, j].imshow(diff, cmap="viridis", vmin=0, vmax=3)
            axes[2 * g + 1, j].set_title(f"p99 {np.nanpercentile(diff, 99):.1f} C", fontsize=9)
    for ax in axes.ravel():
        ax.axis("off")
    save(fig, "Healthy women: the chest box's left half, and |left - mirrored right| (0-3 C), "
         "120 x 160", out)  # fmt: skip


def row_profiles(images: list[np.ndarray], bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean over women of each chest-box row's difference (over the woman's mean difference) and
    temperature (minus the woman's mean), on `bins` rows of relative height."""
    diffs, temps = [], []
    for image in images:
        lhs, diff = halves(image)
        edges = np.linspace(0, diff.shape[0], bins + 1).astype(int)
        d = np.array([np.nanmean(diff[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
        t = np.array([np.mean(lhs[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
        diffs.append(d / np.nanmean(diff))
        temps.append(t - lhs.mean())
    return np.nanmean(diffs, axis=0), np.mean(temps, axis=0)


def profile_figure(groups: dict[str, list[np.ndarray]], out: Path, bins: int = 20) -> None:
    height = (np.arange(bins) + 0.5) / bins
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for name, images in groups.items():
        diff, temp = row_profiles(images, bins)
        left.plot(diff, height, label=name)
        right.plot(temp, height, label=name)
    left.set(xlabel="row's |left - mirrored right| / the woman's mean", ylabel="height in the "
             "chest box (0 = top)", title="where the differences are")  # fmt: skip
    right.set(xlabel="row's temperature - the woman's mean (C)", title="the temperature profile")
    left.invert_yaxis()
    left.legend()
    counts = ", ".join(f"{k} {len(v)}" for k, v in groups.items())
    save(fig, f"Healthy women, chest box, mean over women ({counts})", out, dpi=80)


def frames_figure(groups: dict[str, list[np.ndarray]], shown: int, out: Path) -> None:
    """Whole frames (marker removed) with the chest box and its rows at 0.75-0.85 drawn."""
    fig, axes = plt.subplots(len(groups), shown, figsize=(2.6 * shown, 2.3 * len(groups)))
    for g, (name, images) in enumerate(groups.items()):
        for j, image in enumerate(images[:shown]):
            a = remove_marker(np.asarray(image, np.float32))
            _, (top, bottom, left, right) = chest_region(a)
            ax = axes[g, j]
            ax.imshow(a, cmap="inferno", vmin=22, vmax=37)
            ax.add_patch(plt.Rectangle((left, top), right - left, bottom - top, fill=False,
                                       color="cyan", lw=1))  # fmt: skip
            for f in (0.75, 0.85):
                ax.axhline(top + f * (bottom - top), color="lime", lw=0.6)
            ax.set_title(f"{name} {j + 1}", fontsize=9)
            ax.axis("off")
    save(fig, "Whole frames, 120 x 160, 22-37 C: the chest box (cyan), its rows at 0.75-0.85 "
         "(green)", out)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="real data folder (labels.csv)")
    parser.add_argument("--out", type=Path, required=True, help="figure to write (.png)")
    parser.add_argument("--shown", type=int, default=8, help="women drawn per group")
    parser.add_argument("--profiles", type=Path, help="also write the row profiles' figure")
    parser.add_argument("--frames", type=Path, help="also write whole frames with the chest box")
    args = parser.parse_args()
    real = real_healthy(args.data)
    groups = {"real": real, "synthetic": synthetic_healthy(len(real))}
    for name, images in groups.items():
        shares = [lower_third_share(halves(im)[1]) for im in images]
        p99 = [np.nanpercentile(halves(im)[1], 99) for im in images]
        fold = [fold_contrast(im) for im in images]
        print(f"{name}: {len(images)} Healthy women; top 1% of differences in the lower third "
              f"of the box: median {np.median(shares):.2f} (IQR {np.percentile(shares, 25):.2f}"
              f"-{np.percentile(shares, 75):.2f}); median p99 {np.median(p99):.2f} C; median "
              f"fold contrast {np.median(fold):+.2f} C")  # fmt: skip
    figure(groups, args.shown, args.out)
    print(f"wrote {args.out}")
    if args.profiles:
        profile_figure(groups, args.profiles)
        print(f"wrote {args.profiles}")
    if args.frames:
        frames_figure(groups, 6, args.frames)
        print(f"wrote {args.frames}")


if __name__ == "__main__":
    main()
