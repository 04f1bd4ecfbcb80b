"""The panels of an explanation figure (the command line's and the web app's): the thermogram
with its temperature scale and the patient's sides, the Grad-CAM overlay, the mirror image and
the left/right difference."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from thermocad.inference.notes import called, shown

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ASYMMETRY_SPAN_C = 2.5  # colour scale of the mirror-difference panel, +- degrees C
WARNING = "#a05a00"  # a model that makes no result, under the title: dark amber, in bold


def mirror(array: np.ndarray) -> np.ndarray:
    """The thermogram flipped left/right about the body's midline; NaN (drawn blank) in columns
    whose mirror lies outside the frame, where unflipped columns had shown as a seam."""
    from thermocad.preprocess.regions import body_mask, midline, mirror_columns

    array = np.asarray(array, dtype=np.float32)
    columns, inside = mirror_columns(array.shape[1], midline(body_mask(array)))
    flipped = np.full_like(array, np.nan)
    flipped[:, inside] = array[:, columns[inside]]
    return flipped


def _unit_label(unit: str) -> str:
    return "°C" if unit == "celsius" else "intensity"


def _limits(array: np.ndarray) -> tuple[float, float]:
    # Robust limits so a hot calibration marker does not wash out the breasts.
    low, high = np.nanpercentile(array, [1, 99.5])
    return float(low), float(max(high, low + 1e-6))


def mark_sides(ax) -> None:
    """R and L in the top corners: the woman's right and left as she faces the camera (her
    right on the image's left), as DMR-IR's and the synthetic thermograms are taken."""
    for x, ha, side in ((0.02, "left", "R"), (0.98, "right", "L")):
        ax.text(x, 0.98, side, transform=ax.transAxes, ha=ha, va="top", color="white",
                fontsize=10, fontweight="bold", bbox={"fc": "black", "alpha": 0.5, "lw": 0})  # fmt: skip


SIDES = "R, L: her right, her left"


def draw_thermogram(fig: Figure, ax, array: np.ndarray, unit: str,
                    title: str | None = "thermogram", sides: bool = True) -> None:  # fmt: skip
    """The thermogram in its own unit with a colour bar; `sides`: R and L marked (mark_sides);
    `title` None: none drawn (the web app says it in the page's own text)."""
    low, high = _limits(array)
    image = ax.imshow(array, cmap="inferno", vmin=low, vmax=high)
    # The scale is clipped (a hot marker would wash out the breasts): arrows say so, and the
    # label gives the hottest pixel, often the one of interest.
    under, over = bool(np.nanmin(array) < low), bool(np.nanmax(array) > high)
    extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (under, over), "neither")  # fmt: skip
    label = _unit_label(unit) + (f" (hottest pixel {np.nanmax(array):.1f})" if over else "")
    fig.colorbar(image, ax=ax, shrink=0.85, label=label, extend=extend)
    if sides:
        mark_sides(ax)
    if title is not None:
        ax.set_title(f"{title}\n{SIDES}" if sides else title)
    ax.set_axis_off()


def draw_overlay(fig: Figure, ax, array: np.ndarray, heatmap: np.ndarray, prob: float,
                 threshold: float, cnn: float | None = None, call: bool = True,
                 seen: tuple[int, int, int, int] | None = None,
                 one_pass: bool = False, either_side: bool = False,
                 titled: bool = True) -> None:  # fmt: skip
    """Grad-CAM heatmap over the grey thermogram, titled with P(Sick) and the decision (none
    when not `call`: a score without meaning here), and the CNN half's own P(Sick), which is
    what the map explains, when the model averages it with the baseline (`cnn`; `one_pass`:
    of the image alone, where the model's P(Sick) also averages augmented copies). `seen`
    (`seen_box`): the map is drawn inside the box the network saw, framed, and not outside it,
    where it would read as "no evidence". `either_side`: the network sees left/right differences
    only (explain.differences_only), so its map cannot tell which breast a difference is from.
    `titled` False: no title (the web app puts `overlay_title` in the page's own text)."""
    from matplotlib.patches import Rectangle

    low, high = _limits(array)
    ax.imshow(array, cmap="gray", vmin=low, vmax=high)
    shown_map = heatmap
    if seen is not None:
        top, bottom, left, right = seen
        outside = np.ones(heatmap.shape, bool)
        outside[top:bottom, left:right] = False
        shown_map = np.ma.masked_where(outside, heatmap)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                               ls="--", lw=1, ec="white"))  # fmt: skip
    # viridis, not jet: one direction of lightness, so the order reads without hue (a rainbow
    # map is misread by colour-blind readers and puts false edges where its hues change).
    overlay = ax.imshow(shown_map, cmap="viridis", alpha=0.45, vmin=0, vmax=1)
    # Scaled to its own maximum: where the CNN half looked, not how strongly (a Healthy call
    # has its brightest spot too), and not the baseline half's statistics.
    # (the web app's, in large type on a small figure: short; its caption says the rest)
    label = "CNN's Grad-CAM for Sick (scaled per image)" if titled else "Grad-CAM, per image"
    fig.colorbar(overlay, ax=ax, shrink=0.85, label=label)
    mark_sides(ax)
    if titled:
        title = overlay_title(prob, threshold, cnn, call, seen is not None, one_pass,
                              either_side, not heatmap.any())  # fmt: skip
        ax.set_title("\n".join(title), fontsize=10)
    ax.set_axis_off()


def overlay_title(prob: float, threshold: float, cnn: float | None, call: bool, boxed: bool,
                  one_pass: bool, either_side: bool, empty: bool) -> list[str]:  # fmt: skip
    """The lines that say what the Grad-CAM overlay shows (draw_overlay's arguments; `boxed`:
    the network saw a box of the frame; `empty`: the map is all zero)."""
    made = called(prob, threshold, call)
    p, t = shown(prob, threshold)
    lines = [f"{f'Called {made}' if made else 'No call'}: P(Sick) {p} (threshold {t})"]
    if not call:
        lines.append("shown only for completeness (see the note)")
    if boxed:
        lines.append("the network saw the dashed box only")
    if cnn is not None:
        alone = ",\nof the image without its augmented copies" if one_pass else ""
        lines.append(f"the map explains the CNN half (its P(Sick) {cnn:.4f}{alone})")
        if made and called(cnn, threshold) != made:  # the call the map seems to explain
            lines.append(f"the CNN alone would not call {made}: the call is the baseline's")
    if either_side:
        lines.append("a spot may mean either breast (L-R input only)")
    if empty:  # Grad-CAM keeps only positive evidence; none is worth saying so
        lines.append("the CNN's Grad-CAM map is empty: nothing in the image raised its P(Sick)")
    return lines


def draw_asymmetry(fig: Figure, ax, array: np.ndarray, unit: str) -> None:
    """Thermogram minus its left/right mirror where a point and its mirror are both on the body:
    warm spots on one side only stand out."""
    import matplotlib

    from thermocad.preprocess.morphology import erode
    from thermocad.preprocess.regions import (
        body_mask,
        find_marker,
        midline,
        mirror_columns,
        mirror_difference,
    )

    # Skin minus room where the two outlines do not overlay measures where the woman stood, not
    # a temperature difference (as the default model's input): blank, as the room itself. So is
    # the calibration marker and its mirror image (the default model paints it over too).
    body = body_mask(array)
    centre = midline(body)
    if marker := find_marker(array, body, "celsius" if unit == "celsius" else "intensity"):
        body = body.copy()
        body[marker.slices()] = False
    cols, inside = mirror_columns(body.shape[1], centre)  # a column mirrored off the frame: none
    both = np.zeros_like(body)
    both[:, inside] = body[:, inside] & body[:, cols[inside]]
    # Less the rim where skin and room blend (4 px of a 640 px frame, as the model's input).
    both = erode(both, max(1, round(array.shape[1] / 160)))
    diff = np.where(both, mirror_difference(array, centre), np.nan)
    # Clinicians grade left/right differences as <1, 1-2 and >2 C: a fixed +-2.5 C scale keeps
    # that reading, where a data-driven one would be set by the misaligned body outline.
    shown = np.abs(diff[np.isfinite(diff)])
    span = ASYMMETRY_SPAN_C if unit == "celsius" or not shown.size else max(
        float(np.percentile(shown, 95)), 1e-6)  # fmt: skip
    cmap = matplotlib.colormaps["coolwarm"].with_extremes(bad="black")  # 0 is light grey
    image = ax.imshow(diff, cmap=cmap, vmin=-span, vmax=span)
    fig.colorbar(image, ax=ax, shrink=0.85, label=f"difference ({_unit_label(unit)})")
    mark_sides(ax)
    ax.set_title("asymmetry: thermogram - mirror\n(black: not skin on both sides, or the marker)")
    ax.set_axis_off()
