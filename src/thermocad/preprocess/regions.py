"""Anatomical regions of a frontal thermogram: body, midline, breast region, calibration marker.

Plain thresholding and morphology (no learned model): the body is warmer than the room, the
torso below the armpits is one connected run per image row, and the calibration marker is a
cold, uniform square on the abdomen near the midline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from thermocad.preprocess.morphology import (  # noqa: F401 - re-exported
    background_blobs,
    dilate,
    erode,
)

# The marker is at least this much colder than the median skin temperature.
_MARKER_DELTA_C = 2.5
# The same margin on images that hold no temperatures, in the image's own units: 2.5 °C is, in
# the median over the 120 real frames, 0.30 of the skin-to-room contrast and 1.7 skin
# interquartile ranges (experiments/records/marker_on_images.md).
_MARKER_CONTRAST_FRACTION = 0.30
_MARKER_IQR_MULTIPLE = 1.7
UNITS = ("celsius", "intensity")  # a temperature map, or grey levels (io.thermal.Thermogram)
_MIN_RUN_FRACTION = 0.02  # background gaps narrower than this are noise, not armpits
_CHEST_WIDENING = 0.08


@dataclass(frozen=True)
class Box:
    """A rectangle in pixel coordinates: rows [top, bottom), columns [left, right)."""

    top: int
    bottom: int
    left: int
    right: int

    def __iter__(self):
        """Unpack as `top, bottom, left, right = box`."""
        return iter((self.top, self.bottom, self.left, self.right))

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def _otsu(values: np.ndarray) -> float:
    from skimage.filters import threshold_otsu

    return float(threshold_otsu(values))


def body_mask(array: np.ndarray) -> np.ndarray:
    """Pixels of the patient (warmer than the room): Otsu threshold, largest blob, holes filled
    but the room seen between the arms and the head (`_room_pockets`)."""
    a = np.asarray(array, dtype=np.float32)
    labels, sizes, threshold = warm_pieces(a)
    mask = labels == (int(np.argmax(sizes)) + 1) if sizes.size else labels > 0
    labels, outside = background_blobs(mask)
    filled = ~outside[labels]
    return filled & ~_room_pockets(a, labels, outside, filled, threshold)


def warm_pieces(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The warm regions body_mask keeps the largest of: their labels, sizes and the threshold
    (Otsu's, on a subsample; the regions opened by 2 pixels)."""
    threshold = _otsu(a[:: max(1, a.shape[0] // 120), :: max(1, a.shape[1] // 160)])
    mask = dilate(erode(a > threshold, 2), 2)  # ndi.binary_opening(mask, iterations=2), faster
    labels, n = ndi.label(mask)
    return labels, np.asarray(ndi.sum(mask, labels, index=np.arange(1, n + 1))), threshold


def _room_pockets(a: np.ndarray, labels: np.ndarray, outside: np.ndarray, filled: np.ndarray,
                  threshold: float) -> np.ndarray:  # fmt: skip
    """The holes that are room seen between arms, head and shoulders (hands behind the head):
    centred in the upper half of the frame and nearer the room's temperature than the body
    threshold's. The other holes are body: the calibration marker on the abdomen (often at the
    room's temperature itself), cold skin (experiments/records/room_pockets.md)."""
    none = np.zeros(labels.shape, dtype=bool)
    n = len(outside) - 1
    if filled.all() or outside[1:].all():  # no background, or no hole
        return none
    # On the holes' pixels only: most frames have one hole, the marker, in the lower half.
    ys, xs = np.nonzero(filled & (labels > 0))
    which = labels[ys, xs]
    count = np.bincount(which, None, n + 1)
    rows = np.bincount(which, ys, n + 1) / np.maximum(count, 1)
    upper = np.flatnonzero((count > 0) & (rows < a.shape[0] / 2))  # holes centred up there
    if not upper.size:
        return none
    level = np.asarray(ndi.median(a[ys, xs], which, upper))
    room = float(np.median(a[~filled]))
    pocket = upper[level - room < 0.5 * (threshold - room)]
    return np.isin(labels, pocket) if pocket.size else none


def room_temperature(array: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    """The median outside the body mask: the room as the camera sees it (°C for a temperature
    map); None when the body fills the frame."""
    mask = body_mask(array) if mask is None else mask
    if mask.all():
        return None
    return float(np.median(np.asarray(array)[~mask]))


def torso_columns(mask: np.ndarray) -> tuple[int, int]:
    """Left and right edge of the torso, from the lowest quarter of rows (below the arms)."""
    h, w = mask.shape
    rows = mask[int(h * 0.75) :]
    filled = rows.any(axis=1)
    if not filled.any():
        return 0, w
    left = np.argmax(rows[filled], axis=1)
    right = w - np.argmax(rows[filled][:, ::-1], axis=1)
    return int(np.median(left)), int(np.median(right))


def midline(mask: np.ndarray) -> float:
    """Column of the body's vertical axis of symmetry (centre of the torso)."""
    left, right = torso_columns(mask)
    return (left + right) / 2.0


def armpit_row(mask: np.ndarray) -> int:
    """Lowest row where the arms are still separated from the torso by background."""
    h, w = mask.shape
    left, right = torso_columns(mask)
    margin = int(0.1 * (right - left))
    lo, hi = max(0, left - margin), min(w, right + margin)
    min_gap = max(2, int(_MIN_RUN_FRACTION * w))
    lines = mask[: int(h * 0.6) + 1, lo:hi]
    if lines.shape[1] < min_gap + 2:
        return 0
    # A gap of >= min_gap background pixels between two body pixels of a row is a window of
    # min_gap background pixels that starts after the row's first body pixel and ends before
    # its last one.
    background = np.cumsum(~lines, axis=1, dtype=np.int32)
    background = np.pad(background, ((0, 0), (1, 0)))
    windows = background[:, min_gap:] - background[:, :-min_gap] == min_gap  # start column j
    cols = np.arange(windows.shape[1])
    first = np.argmax(lines, axis=1)
    last = lines.shape[1] - 1 - np.argmax(lines[:, ::-1], axis=1)
    inner = (cols[None] > first[:, None]) & (cols[None] + min_gap - 1 < last[:, None])
    rows = np.flatnonzero((windows & inner).any(axis=1) & lines.any(axis=1))
    return int(rows[-1]) + 1 if rows.size else 0


def breast_box(array: np.ndarray, mask: np.ndarray | None = None) -> Box:
    """The chest region: torso columns, from the armpits to the bottom of the image."""
    mask = body_mask(array) if mask is None else mask
    h, w = mask.shape
    left, right = torso_columns(mask)
    top = min(armpit_row(mask), int(h * 0.45))  # never start below the upper chest
    if right - left < w // 4:  # no recognisable torso: keep the whole image
        return Box(0, h, 0, w)
    # The chest is wider than the abdomen the torso edges come from: widen to keep the breasts.
    pad = int(_CHEST_WIDENING * (right - left))
    # Where the frame clips one side, the other is cut as much: the box stays centred on the
    # body's midline, the axis its left/right halves are compared about (the asymmetry channel
    # mirrors about the box's centre; the baseline compares its halves).
    cut = max(0, pad - left, right + pad - w)
    return Box(top, h, left - pad + cut, right + pad - cut)


def check_unit(unit: str) -> None:
    """Refuse a unit that is neither a temperature map's nor grey levels'."""
    if unit not in UNITS:
        from thermocad.utils.errors import ConfigError

        raise ConfigError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")


def marker_margin(array: np.ndarray, mask: np.ndarray, unit: str = "celsius") -> float:
    """How much colder than the median skin the marker is at least, in the array's units:
    2.5 °C on a temperature map; on a grey image (`unit="intensity"`) the same share of the
    skin-to-room contrast, or of the skin's spread where the body fills the frame."""
    check_unit(unit)
    if unit == "celsius":
        return _MARKER_DELTA_C
    skin = np.asarray(array, dtype=np.float32)[mask]
    room = room_temperature(array, mask)
    contrast = float(np.median(skin)) - room if room is not None else 0.0
    if contrast > 0:
        return _MARKER_CONTRAST_FRACTION * contrast
    q1, q3 = np.percentile(skin, [25, 75])
    return _MARKER_IQR_MULTIPLE * float(q3 - q1)


def find_marker(
    array: np.ndarray, mask: np.ndarray | None = None, unit: str = "celsius"
) -> Box | None:
    """The square calibration marker on the abdomen, if there is one. `unit` is the array's
    ("celsius" for a temperature map, "intensity" for grey levels), which sets how cold it is."""
    check_unit(unit)
    a = np.asarray(array, dtype=np.float32)
    mask = body_mask(a) if mask is None else mask
    if not mask.any():  # no body: no abdomen to carry a marker
        return None
    h, w = a.shape
    centre = midline(mask)
    left, right = torso_columns(mask)
    # Not `& mask`: a marker at the lower image edge is no hole in the body mask.
    cold = a < np.median(a[mask]) - marker_margin(a, mask, unit)
    cold[:, :left] = False
    cold[:, right:] = False
    from skimage.measure import regionprops

    labels, _ = ndi.label(cold)
    best = None
    for region in regionprops(labels):
        top, lft, bottom, rgt = region.bbox
        near_mid = abs((lft + rgt) / 2 - centre) < 0.15 * w
        big_enough = (0.0008 * h * w) < int(region.area) < (0.04 * h * w)
        inside = lft > left and rgt < right
        # On the abdomen, in the lower half (labelled whole). The cheap tests first: of some 46
        # cold regions per frame few pass them, and the moments below took 2/3 of prepare.
        if not (near_mid and big_enough and inside and region.centroid[0] >= h / 2):
            continue
        # Square at any tilt: a compact blob (solidity) whose axes are alike. The bounding box's
        # fill would miss a tilted marker (0.69 of its box on real frames).
        elongation = region.axis_major_length / max(region.axis_minor_length, 1.0)
        if not (elongation < 1.6 and region.solidity > 0.7):
            continue
        # The one that fills its smallest enclosing rectangle best wins, not the largest: a
        # cold patch of skin (under a breast, on the abdomen) can be larger than the marker,
        # and a round one (a disc fills 0.785 of its square) as compact, never as square.
        fill = _rectangle_fill(region.coords)
        if best is None or fill > best[0]:
            best = (fill, (slice(top, bottom), slice(lft, rgt)))
    if best is None:
        return None
    sl = best[1]
    pad = 3  # the marker's edge is blurred by the optics
    return Box(
        max(0, sl[0].start - pad),
        min(h, sl[0].stop + pad),
        max(0, sl[1].start - pad),
        min(w, sl[1].stop + pad),
    )


def _rectangle_fill(coords: np.ndarray) -> float:
    """A region's pixel area over the area of the smallest rectangle, at any tilt, around it
    (rotating calipers on the convex hull of its pixels' corners): 1 for a square or any
    rectangle, about 0.785 for a disc."""
    from scipy.spatial import ConvexHull

    corners = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
    points = (coords[:, None, :] + corners).reshape(-1, 2)
    hull = points[ConvexHull(points).vertices]
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    smallest = np.inf
    for angle in np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2)):
        c, s = np.cos(angle), np.sin(angle)
        turned = hull @ np.array([[c, -s], [s, c]])
        smallest = min(smallest, float(np.ptp(turned[:, 0]) * np.ptp(turned[:, 1])))
    return len(coords) / smallest


def remove_marker(array: np.ndarray, box: Box | None = None, unit: str = "celsius") -> np.ndarray:
    """Replace the marker by interpolating each row between the skin on its left and right
    (`find_marker(array, unit=unit)` unless its box is given)."""
    a = np.array(array, dtype=np.float32, copy=True)
    box = find_marker(a, unit=unit) if box is None else box
    if box is None:
        return a
    left_edge = a[box.top : box.bottom, max(0, box.left - 1)]
    right_edge = a[box.top : box.bottom, min(a.shape[1] - 1, box.right)]
    t = np.linspace(0.0, 1.0, box.right - box.left, dtype=np.float32)
    a[box.top : box.bottom, box.left : box.right] = (
        left_edge[:, None] * (1 - t[None, :]) + right_edge[:, None] * t[None, :]
    )
    return a


def mirror_columns(width: int, centre: float) -> tuple[np.ndarray, np.ndarray]:
    """(each column's mirror about `centre`, whether it lies inside the frame). The midline is
    on pixel edges (torso_columns' right edge is exclusive): column j of a body spanning
    left..right-1 mirrors to left + right - 1 - j, as the model's input does."""
    mirrored = np.round(2 * centre - 1 - np.arange(width)).astype(int)
    return mirrored, (mirrored >= 0) & (mirrored < width)


def mirror_difference(array: np.ndarray, centre: float | None = None) -> np.ndarray:
    """Temperature minus its left-right mirror about the body's midline (0 where undefined).
    `centre` is on pixel edges, as `midline` gives it (32.0: between columns 31 and 32)."""
    a = np.asarray(array, dtype=np.float32)
    centre = midline(body_mask(a)) if centre is None else centre
    mirrored_cols, valid = mirror_columns(a.shape[1], centre)
    diff = np.zeros_like(a)
    diff[:, valid] = a[:, valid] - a[:, mirrored_cols[valid]]
    return diff
