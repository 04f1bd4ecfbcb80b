"""Render temperature maps to PNG: one image, a folder, or a contact sheet (the study's Figure 2)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from thermocad.io.figure_mark import PNG_METADATA
from thermocad.io.find import resolved
from thermocad.io.png_names import output_names
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import (
    INCOMPLETE,
    atomic_path,
    atomic_write_text,
    check_apart,
    check_writable,
    prepare_out_dir,
)
from thermocad.utils.lock import writes_folder
from thermocad.utils.out_names import plot_text, printable_name

# The temporary names atomic_path gives PNGs (".T0064.png." + utils.leftovers' process and
# machine, "1234.a1b2c3-", + mkstemp's 8 of a-z, 0-9, _ + ".png"; before 2026-12-07 without
# the first two): a render killed mid-write (SIGTERM, kill -9) leaves one, hidden, which no
# other render can be writing (the folder is held): the next render removes it.
LEFTOVER = re.compile(r"\.(.+\.png)\.(\d+\.[0-9a-f]{6}-)?[a-z0-9_]{8}\.png")


def _unit_label(unit: str | None) -> str:
    return {"celsius": "temperature (°C)", "intensity": "intensity", None: ""}[unit]


def render_thermogram(
    array: np.ndarray,
    out_png: str | os.PathLike | None = None,
    ax: Any = None,
    cmap: str = "inferno",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
    unit: str | None = "celsius",
    force: bool = False,
) -> Any:
    """Draw a 2-D map on `ax` (or a new figure saved to `out_png`); returns the image artist."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim != 2 or array.size == 0:
        raise ConfigError(f"render_thermogram needs a non-empty 2-D array, got shape {array.shape}")
    own_figure = ax is None
    if own_figure:
        height, width = array.shape
        fig = _figure(figsize=(6.4 * (1.15 if colorbar else 1.0), 6.4 * height / width))
        ax = fig.subplots()
    image = ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label=_unit_label(unit))
    if own_figure and out_png is not None:
        _save(fig, out_png, force)
    return image


def _figure(figsize: tuple[float, float]) -> Any:
    """A Figure outside pyplot: no GUI backend, no global state, safe in the app's threads."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(fig: Any, out_png: str | os.PathLike, force: bool) -> Path:
    out = check_writable(out_png, force=force)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png", metadata=PNG_METADATA)
    return out


def _ranges(arrays: Sequence[np.ndarray], vmin: float | None, vmax: float | None, shared: bool):
    """Per-image (vmin, vmax); with `shared`, one range over all arrays (fixed ends kept)."""
    if shared:
        low = min(float(np.nanmin(a)) for a in arrays) if vmin is None else vmin
        high = max(float(np.nanmax(a)) for a in arrays) if vmax is None else vmax
        return [(low, high)] * len(arrays)
    return [(vmin, vmax)] * len(arrays)


def contact_sheet(
    arrays: Sequence[np.ndarray],
    titles: Sequence[str] | None,
    out_png: str | os.PathLike,
    cmap: str = "inferno",
    vmin: float | None = None,
    vmax: float | None = None,
    ncols: int | None = None,
    colorbar: bool = True,
    force: bool = False,
    shared_range: bool = True,
    unit: str | None | Sequence[str | None] = "celsius",
) -> Path:
    """Grid of thermograms in one PNG; a shared temperature range unless `shared_range=False`.
    `unit`: one for every array, or one per array; arrays of different units (degrees and 8-bit
    levels) never share a scale: each gets its own, with its own labelled colour bar."""
    if len(arrays) == 0:
        raise ConfigError("contact_sheet needs at least one array")
    if titles is not None and len(titles) != len(arrays):
        raise ConfigError(f"contact_sheet got {len(arrays)} arrays but {len(titles)} titles")
    check_writable(out_png, force=force)
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    units = [unit] * len(arrays) if unit is None or isinstance(unit, str) else list(unit)
    if len(units) != len(arrays):
        raise ConfigError(f"contact_sheet got {len(arrays)} arrays but {len(units)} units")
    if len(set(units)) > 1:
        shared_range, vmin, vmax = False, None, None
    ncols = ncols or min(len(arrays), math.ceil(math.sqrt(len(arrays) * 4 / 3)))
    nrows = math.ceil(len(arrays) / ncols)
    height, width = arrays[0].shape
    fig = _figure(
        figsize=(
            (3.2 if colorbar and not shared_range else 2.6) * ncols,
            2.6 * nrows * height / width + 0.4,
        )
    )
    axes = fig.subplots(nrows, ncols, squeeze=False)
    ranges = _ranges(arrays, vmin, vmax, shared_range)
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= len(arrays):
            ax.set_axis_off()
            continue
        low, high = ranges[i]
        title = titles[i] if titles is not None else None
        per_image_bar = colorbar and not shared_range
        image = render_thermogram(
            arrays[i], ax=ax, cmap=cmap, vmin=low, vmax=high, colorbar=per_image_bar,
            title=title, unit=units[i] if per_image_bar else None,
        )  # fmt: skip
    if colorbar and shared_range and image is not None:
        fig.colorbar(
            image, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02, label=_unit_label(units[0])
        )
    return _save(fig, out_png, force=True)  # already checked above, before the slow drawing


@dataclass
class RenderSummary:
    """What `render_folder` wrote and which files it could not read."""

    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sheet: Path | None = None


def _start(data_dir, out_dir, sheet, force: bool) -> tuple[dict[Path, str], Path]:
    """render_folder's files (each with its PNG's name) and output folder, every refusal made
    before anything is drawn."""
    from thermocad.io.find import find_thermal_files, is_thermal_file

    paths = find_thermal_files(data_dir)
    if not paths:
        raise ConfigError(f"{data_dir}: no thermal files found")
    if sheet is not None and resolved(sheet) in {resolved(p) for p in paths}:
        raise ConfigError(f"{sheet}: --sheet names one of the thermograms to render; "
                          "give the sheet a name of its own")  # fmt: skip
    names = output_names(paths, data_dir)
    if sheet is not None and Path(sheet).resolve().parent == Path(out_dir).resolve():
        taken = {name.casefold(): path for path, name in names.items()}
        if (source := taken.get(Path(sheet).name.casefold())) is not None:
            raise ConfigError(f"{sheet}: --sheet has the name of the PNG drawn for {source}; "
                              "give the sheet a name of its own")  # fmt: skip
    check_apart(out_dir, data_dir)
    if sheet is not None and is_thermal_file(sheet):  # a PNG among the thermograms: read as one
        check_apart(sheet, data_dir, "--sheet")
    out = prepare_out_dir(out_dir, force=force, forcing="to write into it (PNGs of the same "
                          "names are replaced, others kept)")  # fmt: skip
    if sheet is not None:
        check_writable(sheet, force=force)
    return names, out


@writes_folder("out_dir")  # two renders into one folder broke each other's files
def render_folder(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    shared_range: bool = False,
    colorbar: bool = False,
    sheet: str | os.PathLike | None = None,
    cmap: str = "inferno",
    force: bool = False,
    workers: int | None = None,
    sheet_max: int = 24,
) -> RenderSummary:
    """Render every thermal file under `data_dir` to `out_dir/<name>.png` (+ optional sheet)."""
    import matplotlib

    from thermocad.io.thermal import iter_read
    from thermocad.utils.progress import progress

    if cmap not in matplotlib.colormaps:  # before any file is read or written
        raise ConfigError(f"unknown colour map {cmap!r}; e.g. inferno, magma, gray, jet "
                          "(matplotlib's colormaps)")  # fmt: skip
    names, out_dir = _start(data_dir, out_dir, sheet, force)
    _clear_leftovers(out_dir)
    paths = list(names)
    # Until the last PNG: an interrupted render's rerun is told so, not only "not empty".
    atomic_write_text(out_dir / INCOMPLETE, "a render being written by thermocad render; "
                      "not finished\n")  # fmt: skip
    summary = RenderSummary()
    ranges: dict[str, tuple[float, float]] = {}
    if shared_range:  # one pass for the ranges first: every PNG of a unit shares one scale
        ranges = _folder_ranges(iter_read(paths, workers=workers))
    thumbs: list[tuple[np.ndarray, str, str]] = []
    for path, result in progress(iter_read(paths, workers=workers), "render", total=len(paths)):
        if not hasattr(result, "array"):
            summary.errors.append(str(result))
            continue
        target = out_dir / names[path]
        low, high = ranges.get(result.unit, (None, None))
        render_thermogram(
            result.array, target, cmap=cmap, vmin=low, vmax=high, colorbar=colorbar,
            title=plot_text(path.name), unit=result.unit, force=True,
        )  # fmt: skip
        summary.written.append(target)
        if sheet is not None and len(thumbs) < sheet_max:
            name = plot_text(names[path][: -len(".png")])
            thumbs.append((result.array[::4, ::4].copy(), name, result.unit))  # small copies
    if sheet is not None and thumbs:
        units = [u for _, _, u in thumbs]  # one scale per sheet when they share a unit
        low, high = ranges.get(units[0], (None, None))
        summary.sheet = contact_sheet(
            [a for a, _, _ in thumbs], [t for _, t, _ in thumbs], sheet, cmap=cmap,
            vmin=low, vmax=high, colorbar=True, force=True, shared_range=True, unit=units,
        )  # fmt: skip
    (out_dir / INCOMPLETE).unlink(missing_ok=True)
    _report(summary, out_dir, len(thumbs))
    return summary


def _clear_leftovers(out_dir: Path) -> None:
    """Remove the temporary PNGs a killed render left in `out_dir` (LEFTOVER): not counted as
    an earlier render's PNGs, nor left beside this one's."""
    from thermocad.utils.progress import log

    left = sorted(p for p in out_dir.iterdir() if LEFTOVER.fullmatch(p.name) and p.is_file())
    for path in left:
        path.unlink(missing_ok=True)
    if left:
        log(f"removed {len(left)} temporary PNG(s) an interrupted render left in {out_dir} "
            f"(e.g. {printable_name(left[0].name)})")  # fmt: skip


def _report(summary: RenderSummary, out_dir: Path, n_thumbs: int) -> None:
    """render_folder's closing lines: what it drew, the PNGs beside them it did not, the sheet,
    the files it could not read."""
    from thermocad.utils.progress import log

    log(f"rendered {len(summary.written)} files to {out_dir}; {len(summary.errors)} unreadable")
    drawn = {Path(p).resolve() for p in [*summary.written, summary.sheet] if p is not None}
    others = sorted(p for p in out_dir.glob("*.png")
                    if p.resolve() not in drawn and not LEFTOVER.fullmatch(p.name))  # fmt: skip
    if others:
        log(f"note: {out_dir} also holds {len(others)} PNG(s) this run did not draw (e.g. "
            f"{others[0].name}: an earlier render's?); an empty --out keeps one run apart")  # fmt: skip
    if summary.sheet is not None:
        log(f"contact sheet of the first {n_thumbs} files: {summary.sheet}")
    for error in summary.errors:
        log(f"  unreadable: {error}")


def _folder_ranges(results: Iterable) -> dict[str, tuple[float, float]]:
    """The (lowest, highest) value of the readable files, per unit (degrees and 8-bit levels
    on one scale would make one of them a single colour)."""
    ranges: dict[str, tuple[float, float]] = {}
    for _, result in results:
        if hasattr(result, "array"):
            low, high = ranges.get(result.unit, (math.inf, -math.inf))
            a = result.array
            ranges[result.unit] = (min(low, float(a.min())), max(high, float(a.max())))
    return ranges
