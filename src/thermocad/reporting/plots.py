"""Evaluation plots: numbers in, PNG out (matplotlib Agg, imported only when plotting)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.io.figure_mark import PNG_METADATA
from thermocad.utils.files import atomic_path


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
             layout: str | None = None, **kwargs):  # fmt: skip
    """A figure and its axes, as pyplot.subplots gives them, without pyplot: no backend chosen
    and nothing global, so a notebook's own matplotlib backend is left as it is (this had
    switched it to Agg), and the app's threads draw safely."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save(fig, path: str | Path, dpi: int = 110, tight: bool = True, replace: bool = True) -> Path:
    """Save a figure atomically as PNG (tight: crop to the drawn area; not
    `replace`: refused where a file has appeared since the command checked the name)."""
    with atomic_path(path, suffix=".png", replace=replace) as tmp:
        fig.savefig(
            tmp,
            dpi=dpi,
            bbox_inches="tight" if tight else None,
            format="png",
            metadata=PNG_METADATA,
        )
    return Path(path)


def plot_confusion(counts: dict, path: str | Path, title: str = "Confusion matrix") -> Path:
    """2 x 2 confusion matrix (rows: actual, columns: predicted): each cell's count and its
    share of the row, shaded by that share on one 0-100% scale (by count, the larger class
    looked strongest, and each matrix had a scale of its own)."""
    m = np.array([[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]])
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = subplots(figsize=(3.6, 3.2))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{v}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=13,
                color="white" if share[i, j] > 0.5 else "black")  # fmt: skip
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["Healthy", "Sick"],
           yticklabels=["Healthy", "Sick"], xlabel="Predicted (% of the actual row)",
           ylabel="Actual", title=title)  # fmt: skip
    return save(fig, path)


def plot_roc(
    y_true: Sequence[int],
    prob: Sequence[float],
    threshold: float,
    path: str | Path,
    title: str = "ROC",
) -> Path:
    """ROC curve with the operating point at `threshold` marked."""
    from thermocad.evaluation import metrics as M

    y, p = np.asarray(y_true, int), np.asarray(prob, float)
    fig, ax = subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = M.roc_points(y, p)
        ax.plot(fpr, tpr, lw=2, label=f"AUC {M.roc_auc(y, p):.3f}")
        c = M.get_counts(y, p >= threshold)
        ax.plot(
            1 - M.specificity(c),
            M.sensitivity(c),
            "o",
            color="crimson",
            label=f"threshold {threshold:.3f}",
        )
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "one class only: ROC undefined", ha="center")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1))
    return save(fig, path)


def reliability_bins(y_true, prob, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability, observed frequency and count per probability bin."""
    df = pd.DataFrame({"y": np.asarray(y_true, float), "p": np.asarray(prob, float)})
    df["bin"] = np.minimum((df["p"] * n_bins).astype(int), n_bins - 1)
    return df.groupby("bin").agg(mean_prob=("p", "mean"), observed=("y", "mean"), n=("y", "size"))


def plot_reliability(y_true, prob, path: str | Path, n_bins: int = 10,
                     title: str = "Calibration") -> Path:  # fmt: skip
    """Reliability diagram of one row per woman (her mean P(Sick)): observed frequency of Sick
    (Wilson 95% interval) against mean predicted P(Sick), in min(n_bins, max(3, women // 10))
    equal-width bins of P(Sick) (empty ones left out): one per 10 women, but at least 3 (under
    30 women a bin holds fewer than 10 on average) and at most `n_bins`. Below it, a panel of
    how many women each bin holds, each count written on its bar (legible where the points
    and their intervals crowd)."""
    from matplotlib.ticker import MaxNLocator

    from thermocad.evaluation.metrics import wilson_ci

    k = min(n_bins, max(3, len(np.asarray(y_true)) // 10))
    bins = reliability_bins(y_true, prob, k)
    fig, (ax, axn) = subplots(2, 1, figsize=(4, 5.2), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08})  # fmt: skip
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    lo, hi = np.array([wilson_ci(round(o * n), int(n)) for o, n in
                       zip(bins["observed"], bins["n"], strict=True)]).T.reshape(2, -1)  # fmt: skip
    ax.errorbar(bins["mean_prob"], bins["observed"], fmt="o-", capsize=3, label="model (95% CI)",
                yerr=np.clip([bins["observed"] - lo, hi - bins["observed"]], 0, None))  # fmt: skip
    ax.set(ylabel="observed fraction Sick", title=title, xlim=(-0.03, 1.03), ylim=(-0.03, 1.03))
    ax.legend(loc="best", fontsize=8)
    edges = bins.index.to_numpy() / k  # each bin's left edge
    bars = axn.bar(edges, bins["n"], width=1 / k, align="edge", color="#9ab", edgecolor="white")
    axn.bar_label(bars, fontsize=8, padding=1)
    axn.set(xlabel="mean predicted P(Sick)", ylabel="women", ylim=(0, bins["n"].max() * 1.35))
    axn.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))  # women come whole
    return save(fig, path)


def plot_history(history: pd.DataFrame | str | Path, path: str | Path) -> Path:
    """Training curves from history.csv: losses and metrics over all epochs, stages marked."""
    h = history if isinstance(history, pd.DataFrame) else pd.read_csv(history)
    x = np.arange(1, len(h) + 1)  # epochs restart per stage; count them across stages
    skip = {"epoch", "stage", "time", "seconds"}
    numeric = [c for c in h.columns if c not in skip and pd.api.types.is_numeric_dtype(h[c])]
    losses = [c for c in numeric if "loss" in c]
    others = [c for c in numeric if "loss" not in c]
    fig, axes = subplots(1, 2, figsize=(8, 3.2))
    names = {
        "train_loss": "training loss",
        "valid_loss": "validation loss",
        "roc_auc": "ROC AUC",
        "accuracy": "accuracy (at P(Sick) 0.5)",
    }  # fastai's: the larger softmax output
    # each curve a colour of its own across both panels, and no red against green
    for ax, cols, title, unit, colours in ((axes[0], losses, "loss", "cross-entropy", "C0 C1"),
                                           (axes[1], others, "validation metrics", "value",
                                            "C2 C4 C5 C6 C7 C8 C9")):  # fmt: skip
        for col, colour in zip(cols, colours.split() * len(cols), strict=False):
            ax.plot(x, h[col], marker=".", color=colour,
                    label=names.get(col, col.replace("_", " ")))  # fmt: skip
        ax.set(xlabel="epoch (all stages)", ylabel=unit, title=title)
        if ax.lines:
            ax.legend(fontsize=7)
    if "stage" in h.columns:  # a dotted line where each stage of the recipe starts
        starts = np.flatnonzero(h["stage"].ne(h["stage"].shift()).to_numpy())
        for i in starts:
            for ax in axes:
                ax.axvline(x[i] - 0.5, color="grey", ls=":", lw=1)
        # Named above the frame, slanted: inside it a name hid the first points, and stages one
        # epoch long would overlap written across.
        for ax in axes:
            top = ax.secondary_xaxis("top")
            top.set_xticks(x[starts] - 0.5, [str(h["stage"].iloc[i]) for i in starts],
                           fontsize=7, rotation=40, ha="left", color="grey")  # fmt: skip
            top.tick_params(length=0, pad=1)
    if others and h[others].stack().between(0, 1).all():
        axes[1].set_ylim(0, 1.02)
    return save(fig, path)


def plot_bars(values: dict[str, float], errors: dict[str, tuple[float, float]], path, title: str,
              xlabel: str = "") -> Path:  # fmt: skip
    """Points with interval whiskers on an axis from chance (0.5) to 1, e.g. AUC per
    architecture: bars from 0 would hide the differences that matter (0.92 against 0.97)."""
    names = list(values)
    v = np.array([values[n] for n in names], float)
    lo = np.array([errors.get(n, (np.nan, np.nan))[0] for n in names], float)
    hi = np.array([errors.get(n, (np.nan, np.nan))[1] for n in names], float)
    err = np.nan_to_num(np.vstack([v - lo, hi - v]).clip(min=0))
    fig, ax = subplots(figsize=(5, 0.45 * len(names) + 1))
    ax.errorbar(v, names, xerr=err, fmt="o", color="steelblue", capsize=3)
    ax.axvline(0.5, color="grey", ls="--", lw=1)  # chance
    low = min(0.5, np.nanmin(np.append(lo, v)) - 0.02) if np.isfinite(v).any() else 0.5
    ax.set(xlim=(low, 1.01), title=title, xlabel=xlabel)
    ax.invert_yaxis()  # the table's order, top to bottom
    return save(fig, path)


# Training's own figures: lr_find.png and schedule.png.
def plot_curve(
    path: Path, xs: list, ys: list, xlabel: str, ylabel: str, logx: bool, marks=(),
    replace: bool = True, top: float | None = None,
) -> None:  # fmt: skip
    """A line plot written atomically as PNG (marks are labelled vertical lines; `replace` as
    `save`'s; `top`: the y axis cut there, where the curve goes above it)."""
    # Drawn near the size the report shows it (380 px), so that its text stays readable.
    fig, ax = subplots(figsize=(4, 3))
    ax.plot(xs, ys)
    for k, (x, label) in enumerate(marks):  # named in a legend above: labels on lines collide
        # told apart by the line's style too, not by colour alone
        ax.axvline(x, color=f"C{k + 1}", ls=("--", ":", "-.")[k % 3], lw=1.5, label=label)
    if marks:
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1), ncol=2, frameon=False)
    ax.set(xlabel=xlabel, ylabel=ylabel, xscale="log" if logx else "linear")
    finite = [y for y in ys if np.isfinite(y)]
    if top is not None and finite and max(finite) > top:  # a divergence would squash the rest
        ax.set_ylim(top=top)
        ax.set_ylabel(f"{ylabel} (cut at {top:.3g})")
    fig.tight_layout()
    save(fig, path, dpi=100, tight=False, replace=replace)


def plot_lr_find(path: Path, lrs: list, losses: list, marks=(), replace: bool = True) -> None:
    """lr_find.png: loss against learning rate, cut at twice the starting loss, so that the
    divergence at the end leaves the flat part and its descent readable."""
    start = next((y for y in losses if np.isfinite(y)), None)
    top = 2 * start if start is not None and start > 0 else None
    plot_curve(path, lrs, losses, "learning rate", "loss", True, marks, replace, top)


def plot_schedule(path: Path, lrs: dict[str, list[float]]) -> None:
    """Learning rate per iteration across stages (the study's Figures 14-15), each stage a
    line of its own style, named in the legend (a line where a stage starts had stood on the
    axis for the first)."""
    fig, ax = subplots(figsize=(4, 3))
    start = 0
    for k, (stage, values) in enumerate(lrs.items()):
        xs = range(start, start + len(values))
        ax.plot(xs, values, color=f"C{k}", ls=("-", "--", "-.", ":")[k % 4], label=stage)
        start += len(values)
    if lrs:
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1), ncol=2, frameon=False)
    ax.set(xlabel="iteration", ylabel="learning rate (head group)")
    fig.tight_layout()
    save(fig, path, dpi=100, tight=False)
