"""Augmentation of training images and test-time augmentation (TTA).

The study's geometric augmentation (rotation, translation, zoom, left-right flips) plus a small
intensity gain and offset. `augmented_input` is what training batches and TTA views go through:
the input channels are built from the map as recorded and then moved together, so the
asymmetry channel is always the map minus its mirror about the body's midline. (Moving the map
first would misalign the mirror: a 5% shift alone more than doubles the asymmetry channel's
spread with edges that are not in the woman.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from thermocad.io.figure_mark import PNG_METADATA
from thermocad.preprocess.transforms import EvalTransform, Normalization

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Augmentation:
    """The study's augmentation plus a small temperature offset/scale (in normalised units)."""

    rotate: float = 10.0  # degrees, +-
    translate: float = 0.05  # fraction of the image, +-
    zoom: float = 1.1  # maximum zoom-in
    flip: bool = True  # left-right (side-on) flips
    offset: float = 0.03  # about 0.4 C on a 14 C window
    scale: float = 0.05

    def __post_init__(self) -> None:
        """Refuse values that would train on garbage (a zoom of 0, a flip of "no")."""
        import math
        from numbers import Real

        from thermocad.utils.errors import ConfigError

        if not isinstance(self.flip, bool | np.bool_):  # numpy's too (a sweep's values)
            raise ConfigError(f"augmentation flip must be true or false, got {self.flip!r}")
        for name in ("rotate", "translate", "zoom", "offset", "scale"):
            value = getattr(self, name)
            if (
                isinstance(value, bool | np.bool_)
                or not isinstance(value, Real)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"augmentation {name} must be a number >= 0, got {value!r}")
        if self.zoom < 1:
            raise ConfigError(
                f"augmentation zoom is the largest zoom-in, at least 1, got {self.zoom!r}"
            )


def augment(
    maps: torch.Tensor,
    aug: Augmentation,
    generator: torch.Generator | None = None,
    shared: bool = False,
) -> torch.Tensor:
    """Randomly rotate, translate, zoom, flip and shift intensities of maps (B, C, S, S),
    every channel of an image moved alike.

    `shared`: one random draw for the whole batch (TTA views that do not depend on batching).
    """
    import math

    import torch
    import torch.nn.functional as F

    b, dev = maps.shape[0], maps.device

    def uniform(lo: float, hi: float) -> torch.Tensor:
        draw = torch.rand(1 if shared else b, generator=generator).expand(b)
        return draw.to(dev) * (hi - lo) + lo

    angle = uniform(-aug.rotate, aug.rotate) * math.pi / 180
    zoom = 1 / uniform(1.0, aug.zoom)
    flip = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0) if aug.flip else torch.ones(b, device=dev)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-aug.translate, aug.translate) * 2], 1),
            torch.stack([sin * flip, cos, uniform(-aug.translate, aug.translate) * 2], 1),
        ],
        1,
    ).to(maps.dtype)
    grid = F.affine_grid(theta, list(maps.shape), align_corners=False)
    out = F.grid_sample(maps, grid, padding_mode="reflection", align_corners=False)
    gain = uniform(1 - aug.scale, 1 + aug.scale).view(-1, 1, 1, 1).to(maps.dtype)
    shift = uniform(-aug.offset, aug.offset).view(-1, 1, 1, 1).to(maps.dtype)
    return out * gain + shift


def augmented_input(
    maps: torch.Tensor,
    transform: EvalTransform,
    aug: Augmentation,
    generator: torch.Generator | None = None,
    shared: bool = False,
) -> torch.Tensor:
    """Network input (B, C, S, S) of randomly augmented prepared maps (B, 1, S, S): channels
    first, then `augment`, then mean/std. With an asymmetry channel there is no intensity
    offset: a uniform offset (a camera's, say) cancels in the map minus its mirror, so adding
    one would invent an asymmetry. A temperature-only input is augmented exactly as the map
    itself would be."""
    aug = input_augmentation(aug, transform)
    return transform.normalise(augment(transform.channels_of(maps), aug, generator, shared))


def input_augmentation(aug: Augmentation, transform: EvalTransform) -> Augmentation:
    """`aug` as applied to `transform`'s channels: no intensity offset with an asymmetry channel."""
    return replace(aug, offset=0.0) if "asymmetry" in transform.channels else aug


def augment_preview(
    array: np.ndarray,
    out_png: str | Path,
    transform: EvalTransform,
    aug: Augmentation,
    n: int = 8,
    seed: int = 0,
    unit: str = "celsius",
    replace: bool = True,
) -> Path:
    """Write a grid of the original and `n` augmented copies (like the study's Figure 13);
    `unit`: the array's; not `replace`: refused where a file appeared since the name was
    checked."""
    import torch
    from matplotlib.figure import Figure  # not pyplot: a notebook's backend is left alone

    from thermocad.utils.files import atomic_path
    from thermocad.utils.out_names import check_suffix

    check_suffix(out_png, ".png", "a PNG image")
    base = torch.from_numpy(transform.prepare(array, unit))[None, None]
    gen = torch.Generator().manual_seed(seed)
    maps = [base[0, 0]] + [augment(base, aug, gen)[0, 0] for _ in range(n)]
    cols = 3
    rows = (len(maps) + cols - 1) // cols
    fig = Figure(figsize=(3 * cols, 3 * rows))
    for i, ax in enumerate(np.ravel(fig.subplots(rows, cols))):
        ax.axis("off")
        if i < len(maps):
            ax.imshow(maps[i].numpy(), cmap="inferno", vmin=0, vmax=1)
            ax.set_title("original" if i == 0 else f"augmented {i}", fontsize=9)
    fig.tight_layout()
    with atomic_path(out_png, suffix=".png", replace=replace) as tmp:
        fig.savefig(tmp, dpi=80, format="png", metadata=PNG_METADATA)
    return Path(out_png)


SIZES, COPIES = (16, 1024), (1, 64)  # augment-preview's --size and -n


def preview_file(
    path: str | Path, out_png: str | Path, size: int = 224, n: int = 8, seed: int = 0,
    force: bool = False,
) -> Path:  # fmt: skip
    """augment-preview: read one thermal file and write its augmentation grid, on the study
    recipe's input (the whole frame, per-image grey levels; temperatures keep their offset)."""
    from thermocad.io.thermal import read_thermal
    from thermocad.preprocess.plausible import check_plausible
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.files import check_apart, check_writable
    from thermocad.utils.out_names import check_suffix

    check_suffix(out_png, ".png", "a PNG image")
    for flag, value, (low, high) in (("--size", size, SIZES), ("-n", n, COPIES)):
        if not low <= value <= high:  # a grid a screen can show
            raise ConfigError(f"augment-preview: {flag} must be {low}..{high}, got {value}")
    if Path(path).is_file():  # its folder is data: a PNG there would be read as a thermogram
        folder = Path(path).parent
        check_apart(out_png, folder if folder != Path(".") else Path.cwd())
    check_writable(out_png, force)
    thermogram = read_thermal(path)
    check_plausible(thermogram)  # as prepare and predict: a 2x3 table is no thermogram
    method = "intensity" if thermogram.unit == "intensity" else "robust"
    transform = EvalTransform(size=size, normalization=Normalization(method))
    return augment_preview(thermogram.array, out_png, transform, Augmentation(), n, seed,
                           thermogram.unit, replace=force)  # fmt: skip
