"""Input transforms: temperature normalisation and the EvalTransform shared by training and
inference (augmentation: preprocess/augment.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from thermocad.utils.errors import ConfigError

if TYPE_CHECKING:
    import torch

NORMS = ("robust", "relative", "intensity")
CHANNELS = ("temperature", "asymmetry")
CROPS = ("none", "breasts")
MARKERS = ("keep", "remove")
BACKGROUNDS = ("keep", "symmetric")  # "remove" (only the body in view) measured worse
# A fixed Celsius window carries the room and the season into the input; measured worse and
# removed (experiments/records/decisions.md). Models trained with it are refused by name.
REMOVED_CELSIUS = ("the fixed Celsius window (norm 'celsius') was removed: it carries the room "
                   "and the season into the input (experiments/records/decisions.md); retrain "
                   "with norm 'relative'")  # fmt: skip


@dataclass(frozen=True)
class Normalization:
    """Map raw values to about [0, 1]: per-image percentile window, a window `width` degrees
    wide centred on the skin's median, or 8/16-bit levels."""

    method: str = "robust"
    width: float = 14.0  # the relative window, degrees C from black to white
    percentiles: tuple[float, float] = (0.5, 99.5)

    def __post_init__(self) -> None:
        if self.method == "celsius":
            raise ConfigError(REMOVED_CELSIUS)
        if self.method not in NORMS:
            raise ConfigError(f"unknown normalisation {self.method!r}; choose one of {NORMS}")
        if self.in_degrees and not self.width > 0:
            raise ConfigError(f"the {self.method} window needs a positive width, got {self.width}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalization:
        """From model.json's transform, including those that gave the window as low..high."""
        d = legacy_width(dict(d), "low", "high", "width")
        if "percentiles" in d:
            d["percentiles"] = tuple(d["percentiles"])
        return cls(**d)

    @property
    def in_degrees(self) -> bool:
        """A window measured in degrees: the inputs must be temperatures, not image levels."""
        return self.method == "relative"

    def __call__(self, array: np.ndarray, level: float | None = None) -> np.ndarray:
        """`level`: the skin's temperature for "relative" (default: the array's median)."""
        a = np.asarray(array, dtype=np.float32)
        if self.method == "robust":
            lo, hi = np.percentile(a, self.percentiles)
            # Not clipped: a small hot spot above the window is exactly what must survive.
            return ((a - lo) / max(hi - lo, 1e-3)).astype(np.float32)
        if self.method == "relative":
            # Degrees above or below the skin's own level, on a fixed scale: a 1 C difference
            # looks the same in every woman, and the level (room, season) is gone.
            level = float(np.median(a)) if level is None else level
            return np.clip((a - level) / self.width + 0.5, 0, 1).astype(np.float32)
        return (a / 255.0).astype(np.float32)  # grey levels on the 8-bit scale (io.thermal)


def legacy_width(d: dict, low: str, high: str, width: str) -> dict:
    """`d` with the window given as low..high (before the fixed Celsius window was removed;
    22..36 C by default) turned into its width."""
    if low in d or high in d:
        lo, hi = d.pop(low, None), d.pop(high, None)
        d.setdefault(width, float(36.0 if hi is None else hi) - float(22.0 if lo is None else lo))
    return d


def symmetric_outside_body(array: np.ndarray, mask: np.ndarray, rim: int = 2) -> np.ndarray:
    """`array` made left/right symmetric wherever a pixel or its mirror is off the body.

    The body `mask` is first eroded by `rim` pixels, where skin and room blend along the
    outline (the prepared map is resized with antialiasing). Inside the body and its mirror
    image nothing changes; elsewhere each pixel and its mirror both take their mean, so
    `array - array[:, ::-1]` is exactly 0 there.
    """
    from thermocad.preprocess.regions import erode

    a = np.asarray(array, dtype=np.float32)
    body = erode(mask, rim)
    both = body & body[:, ::-1]
    return np.where(both, a, (a + a[:, ::-1]) / 2).astype(np.float32)


@dataclass(frozen=True)
class EvalTransform:
    """float32 array (H, W) -> tensor (C, size, size); identical in training and inference."""

    size: int = 224
    normalization: Normalization = field(default_factory=Normalization)
    mean: tuple[float, ...] = (0.449,)
    std: tuple[float, ...] = (0.226,)
    channels: tuple[str, ...] = ("temperature",)
    crop: str = "none"
    marker: str = "keep"  # "remove": paint over the calibration marker (a known shortcut)
    # "symmetric": where a pixel or its mirror image (about the centre of the prepared map,
    # the axis of the asymmetry channel) is not on the body, both take their mean, so the
    # asymmetry map is 0 there: skin minus room along an off-centre outline measures where
    # the woman stood, not a temperature difference (experiments/records/decisions.md).
    background: str = "keep"

    def __post_init__(self) -> None:
        bad = [c for c in self.channels if c not in CHANNELS]
        if bad or not self.channels:
            raise ConfigError(
                f"unknown channels {bad}; choose one or more of {', '.join(CHANNELS)}"
            )
        if self.crop not in CROPS:
            raise ConfigError(f"unknown crop {self.crop!r}; choose one of {CROPS}")
        if self.marker not in MARKERS:
            raise ConfigError(f"unknown marker option {self.marker!r}; choose one of {MARKERS}")
        if self.background not in BACKGROUNDS:
            raise ConfigError(
                f"unknown background {self.background!r}; choose one of {', '.join(BACKGROUNDS)}"
            )
        if len(self.mean) != len(self.channels) or len(self.std) != len(self.channels):
            raise ConfigError("mean/std need one value per channel")

    @property
    def in_chans(self) -> int:
        return len(self.channels)

    def prepare(self, array: np.ndarray, unit: str = "celsius") -> np.ndarray:
        """Mask the marker, crop, normalise and resize one array to (size, size). `unit` is
        the array's: "celsius", or "intensity" for grey levels (how cold the marker is).

        numpy only (no torch), so that ONNX Runtime deployments prepare inputs exactly as
        training did; the resizing is torch's bilinear interpolate (thermocad.preprocess.resize).
        """
        from thermocad.preprocess.resize import resize

        a = np.asarray(array, dtype=np.float32)
        if a.ndim != 2:
            raise ConfigError(f"expected a 2-D thermal array, got shape {a.shape}")
        box = mask = level = None
        relative = self.normalization.method == "relative"
        if self.crop == "breasts" or self.background != "keep" or relative:
            from thermocad.preprocess.regions import body_mask, breast_box

            mask = body_mask(a)
        if self.crop == "breasts":
            box = breast_box(a, mask)  # on the original frame, as explain.py maps heatmaps back
        if self.marker == "remove":
            from thermocad.preprocess.regions import find_marker, remove_marker

            # The body mask of `a` once (find_marker makes it when none was needed here), and
            # no second search by remove_marker on a frame without a marker.
            marker = find_marker(a, mask, unit)
            if marker is not None:
                a = remove_marker(a, marker)
        if relative and mask.any():
            level = float(np.median(a[mask]))
        if box is not None:
            top, bottom, left, right = box
            a, mask = a[top:bottom, left:right], mask[top:bottom, left:right]
        shape = (self.size, self.size)
        t = resize(self.normalization(a, level), shape, antialias=True)
        if self.background == "symmetric":
            # On the resized map, so that the rim the resizing blends is eroded away too.
            m = resize(mask.astype(np.float32), shape, antialias=False) > 0.5
            return symmetric_outside_body(t, m)
        return t

    def finish_numpy(self, maps: np.ndarray) -> np.ndarray:
        """finish() in numpy: prepared maps (B, S, S) -> network input (B, C, S, S), float32."""
        m = np.asarray(maps, dtype=np.float32)[:, None]
        parts = {"temperature": m, "asymmetry": m - m[..., ::-1]}
        x = np.concatenate([parts[c] for c in self.channels], axis=1)
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return np.ascontiguousarray((x - mean) / std, dtype=np.float32)

    def finish(self, maps: torch.Tensor) -> torch.Tensor:
        """Prepared maps (B, 1, S, S) -> network input (B, C, S, S): channels, then mean/std."""
        return self.normalise(self.channels_of(maps))

    def channels_of(self, maps: torch.Tensor) -> torch.Tensor:
        """Prepared maps (B, 1, S, S) -> the input channels (B, C, S, S), not yet normalised.
        The asymmetry is the map minus its mirror about the image's centre column, where
        `prepare` put the body's midline."""
        import torch

        parts = {"temperature": maps, "asymmetry": maps - maps.flip(-1)}
        return torch.cat([parts[c] for c in self.channels], dim=1)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Channels (B, C, S, S) -> network input: each channel's mean/std."""
        import torch

        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std

    def __call__(self, array: np.ndarray, unit: str = "celsius") -> torch.Tensor:
        import torch

        return self.finish(torch.from_numpy(self.prepare(array, unit))[None, None])[0]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # Only what its method uses (a deployment review: an unused field read as a step)
        norm = self.normalization
        d["normalization"] = {"method": norm.method, **({"percentiles": list(norm.percentiles)}
                              if norm.method == "robust" else {"width": norm.width}
                              if norm.in_degrees else {})}  # fmt: skip
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalTransform:
        return cls(
            size=int(d["size"]),
            normalization=Normalization.from_dict(d.get("normalization", {})),
            mean=tuple(d["mean"]),
            std=tuple(d["std"]),
            channels=tuple(d.get("channels", ("temperature",))),
            crop=d.get("crop", "none"),
            marker=d.get("marker", "keep"),
            background=d.get("background", "keep"),
        )
