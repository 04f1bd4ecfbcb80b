"""The study's galleries: correct, incorrect, most confident and most uncertain thermograms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.reporting.plots import pyplot, save

GALLERIES = (
    "random_correct",
    "random_incorrect",
    "confident_healthy_correct",
    "confident_sick_correct",
    "confident_healthy_incorrect",
    "confident_sick_incorrect",
    "most_uncertain",
)


def select_galleries(
    pred: pd.DataFrame, threshold: float, n: int = 4, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Rows for each gallery; "confident Healthy incorrect" means called Healthy but Sick."""
    df = pred.assign(pred=(pred["prob"] >= threshold).astype(int))
    right, wrong = df[df["pred"] == df["y"]], df[df["pred"] != df["y"]]
    rng = np.random.default_rng(seed)

    def sample(part: pd.DataFrame) -> pd.DataFrame:
        idx = rng.permutation(len(part))[:n]
        return part.iloc[np.sort(idx)]

    called_h, called_s = df[df["pred"] == 0], df[df["pred"] == 1]
    return {
        "random_correct": sample(right),
        "random_incorrect": sample(wrong),
        "confident_healthy_correct": called_h[called_h["y"] == 0].nsmallest(n, "prob"),
        "confident_sick_correct": called_s[called_s["y"] == 1].nlargest(n, "prob"),
        "confident_healthy_incorrect": called_h[called_h["y"] == 1].nsmallest(n, "prob"),
        "confident_sick_incorrect": called_s[called_s["y"] == 0].nlargest(n, "prob"),
        "most_uncertain": df.loc[(df["prob"] - threshold).abs().sort_values().index[:n]],
    }


def plot_gallery(
    rows: pd.DataFrame,
    read: Callable[[str], np.ndarray],
    path: str | Path,
    title: str,
    unit: str = "celsius",
) -> Path:
    """One panel per row: the thermogram with a colour bar, titled with label and P(Sick)."""
    plt = pyplot()
    k = max(len(rows), 1)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k, 2.6), squeeze=False)
    for ax, (_, r) in zip(axes[0], rows.iterrows(), strict=False):
        im = ax.imshow(read(r["path"]), cmap="inferno")
        bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        bar.set_label("°C" if unit == "celsius" else "intensity", fontsize=7)
        bar.ax.tick_params(labelsize=6)
        truth = "Sick" if int(r["y"]) else "Healthy"
        ax.set_title(f"{truth} P(Sick)={r['prob']:.3f}\npatient {r['patient_id']}", fontsize=8)
        ax.axis("off")
    if rows.empty:
        axes[0][0].text(0.5, 0.5, "no images in this group", ha="center", va="center")
        axes[0][0].axis("off")
    fig.suptitle(title.replace("_", " "), fontsize=10)
    return save(fig, path)


def write_galleries(
    pred: pd.DataFrame,
    threshold: float,
    out_dir: str | Path,
    read: Callable[[str], np.ndarray] | None = None,
    n: int = 4,
    seed: int = 0,
    unit: str = "celsius",
) -> dict[str, Path]:
    """Write every gallery as gallery_<name>.png; returns name -> path."""
    reader = read or _read_array
    out = Path(out_dir)
    return {
        name: plot_gallery(rows, reader, out / f"gallery_{name}.png", name, unit)
        for name, rows in select_galleries(pred, threshold, n, seed).items()
    }


def _read_array(path: str) -> np.ndarray:
    from thermocad.io.thermal import read_thermal

    return read_thermal(path).array
