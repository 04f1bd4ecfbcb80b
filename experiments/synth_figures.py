"""Figures for docs/synthetic.md: tumour surface signal vs size and depth, a contact sheet, and
the peak tumour warming of Sick women per difficulty (median and 10th-90th percentiles).

Usage: python experiments/synth_figures.py [--out docs/img]
       python experiments/synth_figures.py --warming-draws 300 --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from thermocad.synth.bioheat import peak_signal, tumour_surface_signal


def tumour_signal_plot(out_png: Path) -> Path:
    """Peak skin warming against diameter for several depths, and radial profiles."""
    from thermocad.reporting.plots import save, subplots

    fig, (ax1, ax2) = subplots(1, 2, figsize=(10, 4))
    diameters = np.linspace(4, 35, 32)
    for k, depth in enumerate((10, 15, 20, 30, 40)):  # told apart by line style too
        peaks = [peak_signal(d, depth) if depth > d / 2 + 1 else np.nan for d in diameters]
        # a curve ends where the tumour would reach the skin (depth <= diameter / 2 + 1 mm)
        ax1.plot(diameters, peaks, label=f"depth {depth} mm", ls=("-", "--", ":", "-.", "-")[k])
    ax1.fill_between(
        [5, 8], 0.15, 0.30, color="grey", alpha=0.4, label="5-8 mm, Acero Mendoza 2024"
    )
    ax1.set(xlabel="tumour diameter (mm)", ylabel="peak skin warming (°C)", yscale="log",
            title="Pennes steady state, Q = 45 kW/m³")  # fmt: skip
    ax1.legend(fontsize=8)
    for diameter, depth in ((8, 10), (15, 15), (15, 25), (25, 20)):
        radii, rise = tumour_surface_signal(diameter, depth)
        ax2.plot(radii, rise, label=f"{diameter} mm at {depth} mm")
    ax2.set(xlabel="distance on the skin from above the tumour (mm)", ylabel="warming (°C)",
            title="radial surface profile")  # fmt: skip
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, out_png, tight=False)


def contact_sheet_png(out_png: Path, n: int = 8, seed: int = 3) -> Path:
    """Frontal synthetic thermograms with labels and tumour facts, on one temperature scale."""
    from thermocad.io.render import contact_sheet
    from thermocad.synth.cohort import Nuisances, synth_patient

    arrays, titles = [], []
    for i in range(n):
        nuis = Nuisances(marker=i % 3 == 0)
        images, label, meta = synth_patient(np.random.default_rng([seed, i]), i % 2 == 1,
                                            nuisances=nuis)  # fmt: skip
        arrays.append(images[("frontal", 1)])
        extra = (f" {meta['tumour_diameter_mm']:.0f} mm {meta['tumour_side']}, "
                 f"+{meta['tumour_peak_c']:.2f} °C" if label == "Sick" else "")  # fmt: skip
        titles.append(f"{label}{extra}")
    return contact_sheet(arrays, titles, out_png, ncols=4, force=True)


def peak_warming(draws: int, seed: int, difficulty: str) -> np.ndarray:
    """The peak skin warming (C) over the tumour of `draws` Sick women (tiny frames: the
    tumour is drawn in millimetres, whatever the frame's size)."""
    from thermocad.synth.cohort import synth_patient

    peaks = [synth_patient(np.random.default_rng([seed, i]), True, height=48, width=64,
                           difficulty=difficulty)[2]["tumour_peak_c"] for i in range(draws)]  # fmt: skip
    return np.array(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--warming-draws", type=int, default=0,
                        help="print the peak tumour warming of this many Sick women per "
                        "difficulty and seed instead of drawing the figures")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    if args.warming_draws:
        for difficulty in ("easy", "default", "hard"):
            for seed in args.seeds:
                low, mid, high = np.percentile(peak_warming(args.warming_draws, seed, difficulty),
                                               [10, 50, 90])  # fmt: skip
                print(f"{difficulty} seed {seed}: {mid:.2f} [{low:.2f}-{high:.2f}] C")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print(tumour_signal_plot(args.out / "tumour_signal.png"))
    print(contact_sheet_png(args.out / "synth_contact_sheet.png"))


if __name__ == "__main__":
    main()
