"""The study's galleries: correct, incorrect, most confident and most uncertain thermograms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.reporting.plots import save, subplots

GALLERIES = (
    "random_correct",
    "random_incorrect",
    "confident_healthy_correct",
    "confident_sick_correct",
    "confident_healthy_incorrect",
    "confident_sick_incorrect",
    "most_uncertain",
)
LISTING = "galleries.csv"  # who is in each gallery, beside the images
EMPTY = "no images in this group"  # an empty gallery's PNG says it, and the report in words
# What each gallery shows, as its title says it ("called": at the threshold).
TITLES = {
    "random_correct": "correct calls, drawn at random",
    "random_incorrect": "wrong calls, drawn at random",
    "confident_healthy_correct": "called Healthy, truly Healthy: lowest P(Sick) first",
    "confident_sick_correct": "called Sick, truly Sick: highest P(Sick) first",
    "confident_healthy_incorrect": "called Healthy, truly Sick (missed): lowest P(Sick) first",
    "confident_sick_incorrect": "called Sick, truly Healthy (false alarms): highest P(Sick) first",
    "most_uncertain": "closest to the threshold",
}


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
    scale: tuple[float, float] | None = None,
) -> Path:
    """One panel per row: the thermogram on one colour scale (one bar: `scale`, else the
    gallery's own), titled with the true diagnosis and P(Sick)."""
    k = max(len(rows), 1)
    fig, axes = subplots(1, k, figsize=(2.6 * k + 0.6, 2.8), squeeze=False,
                             layout="constrained")  # fmt: skip
    arrays = [read(p) for p in rows["path"]]
    low, high = scale or shared_scale(arrays)
    im = None
    for ax, a, (_, r) in zip(axes[0], arrays, rows.iterrows(), strict=False):
        im = ax.imshow(a, cmap="inferno", vmin=low, vmax=high)
        ax.set_title(panel_title(r), fontsize=8)
        ax.axis("off")
    if im is not None:
        bar = fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03, pad=0.01)
        bar.set_label("°C" if unit == "celsius" else "intensity", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if rows.empty:
        axes[0][0].text(0.5, 0.5, EMPTY, ha="center", va="center")
        axes[0][0].axis("off")
    fig.suptitle(title, fontsize=10)
    return save(fig, path)


def shared_scale(arrays) -> tuple[float, float]:
    """One colour scale for thermograms shown to be compared: from the lowest 0.5th to the
    highest 99.5th percentile (no stray pixel sets it)."""
    low = min((float(np.percentile(a, 0.5)) for a in arrays), default=0.0)
    return low, max((float(np.percentile(a, 99.5)) for a in arrays), default=1.0)


def panel_title(row) -> str:
    """'truly Sick, P(Sick) 0.810' over 'patient 244, batch A, 2013-10-14': the batch and the
    date where the cohort has them, so that a gallery of false alarms shows what they share
    when it is the acquisition (the confound audit's question, seen)."""
    truth = "Sick" if int(row["y"]) else "Healthy"
    when = [f"batch {b}" for b in [row.get("acquisition_batch")] if isinstance(b, str) and b]
    when += [d[:10] for d in [row.get("acquisition_date")] if isinstance(d, str) and d]
    pid = row["patient_id"]  # a row of numbers only comes as floats: 244.0 is patient 244
    pid = int(pid) if isinstance(pid, float) and pid.is_integer() else pid
    from thermocad.utils.out_names import plot_text

    return plot_text(f"truly {truth}, P(Sick) {row['prob']:.3f}\npatient {pid}" + "".join(
        f", {w}" for w in when))  # fmt: skip


def write_galleries(
    pred: pd.DataFrame,
    threshold: float,
    out_dir: str | Path,
    read: Callable[[str], np.ndarray] | None = None,
    n: int = 4,
    seed: int = 0,
    unit: str = "celsius",
) -> dict[str, Path]:
    """Write every gallery as gallery_<name>.png, and who is in each (LISTING: the gallery, the
    woman, her diagnosis and P(Sick), panel by panel); returns name -> path."""
    from thermocad.utils.files import atomic_write_csv

    out, chosen = Path(out_dir), select_galleries(pred, threshold, n, seed)
    # Each woman read once; one scale for every gallery, which are shown to be compared
    paths = dict.fromkeys(p for rows in chosen.values() for p in rows["path"])
    arrays = {p: (read or _read_array)(p) for p in paths}
    scale = shared_scale(arrays.values())
    made = {name: plot_gallery(rows, arrays.__getitem__, out / f"gallery_{name}.png",
                               f"{TITLES[name]} (threshold {threshold:.3f})", unit, scale)
            for name, rows in chosen.items()}  # fmt: skip
    listing = pd.concat(
        [
            pd.DataFrame(
                {
                    "gallery": name,
                    "patient_id": rows["patient_id"].to_numpy(),
                    "truth": np.where(rows["y"].astype(int) == 1, "Sick", "Healthy"),
                    "prob": rows["prob"].round(6).to_numpy(),
                    "path": rows["path"].to_numpy(),
                }
            )
            for name, rows in chosen.items()
        ]  # fmt: skip
    )
    made["listing"] = atomic_write_csv(out / LISTING, listing)
    return made


def gallery_alt(folder: str | Path, name: str) -> str:
    """A gallery's alt text: its title and each panel's woman, diagnosis and P(Sick), as the
    image shows them (from LISTING in `folder`; the title alone without it)."""
    try:
        listing = pd.read_csv(Path(folder) / LISTING)
    except (OSError, ValueError):
        return TITLES[name]
    rows = listing[listing["gallery"] == name]
    panels = [f"patient {r.patient_id}, truly {r.truth}, P(Sick) {r.prob:.3f}"
              for r in rows.itertuples()]  # fmt: skip
    return f"{TITLES[name]}: " + ("; ".join(panels) or EMPTY)


def _read_array(path: str) -> np.ndarray:
    from thermocad.io.thermal import read_thermal

    return read_thermal(path).array
