"""Anatomy and rendering of one synthetic breast thermogram (used by thermocad.synth.cohort).

Geometry lives in a canonical 4:3 frame: X in [-0.5, 0.5] (image left = patient's right),
Y in [0, 0.75] from top to bottom, both in units of the image width, stretched to any H x W.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from thermocad.synth.bioheat import tumour_surface_signal

# View name -> camera yaw in degrees (DMR views 1.1 .. 1.5; positive turns the patient's right
# side toward the camera).
VIEW_YAW = {"frontal": 0.0, "right45": 45.0, "right90": 80.0, "left45": -45.0, "left90": -80.0}


@dataclass
class Breast:
    """One breast: centre angle on the torso cylinder, height, radii, thermal features."""

    phi: float  # radians around the torso axis (negative = patient's right = image left)
    y: float
    rx: float
    ry: float
    offset: float  # diffuse temperature offset of this breast (C)
    vessels: list[np.ndarray] = field(default_factory=list)  # polylines in breast-local units
    vessel_amp: float = 0.6
    rim_cool: float = 1.5
    spots: list[tuple[float, float, float, float]] = field(default_factory=list)  # u, v, r, amp
    present: bool = True


@dataclass
class Tumour:
    """A tumour in one breast: position in breast-local units and its radial surface profile."""

    side: int  # index into Body.breasts (0 = patient's right)
    u: float
    v: float
    diameter_mm: float
    depth_mm: float
    q: float
    radii_mm: np.ndarray
    profile: np.ndarray

    @property
    def peak(self) -> float:
        return float(self.profile[0])


@dataclass
class Body:
    """All random parameters of one patient's thermal appearance."""

    skin: float  # core skin temperature (C)
    room: float
    half_width: float
    arm_extra: float
    neck_half: float
    width_mm: float  # physical width of the frame
    breasts: list[Breast]
    smooth: np.ndarray  # coefficients of the smooth skin field
    mottle: np.ndarray  # finer skin texture
    edge_cool: float
    fold_amp: float
    tumour: Tumour | None = None
    deodorant: bool = False
    cooling: float = 2.0  # skin deficit right after cooling, dynamic protocol (C)
    tau_s: float = 150.0  # re-warming time constant (s)
    posture_deg: float = 0.0  # the torso turned from the camera, added to every view's yaw
    fold_width: float = 0.2  # SD of the fold's warm band across the lower contour (radii)


def _branch(rng: np.random.Generator, start: np.ndarray, angle: float, length: float) -> list:
    """A wandering vessel polyline with occasional side branches (breast-local units)."""
    steps = max(8, int(length / 0.03))
    # A slowly drifting curvature draws smooth arcs rather than a jagged random walk.
    bend = np.clip(rng.normal(0, 0.03) + np.cumsum(rng.normal(0, 0.015, steps)), -0.07, 0.07)
    ang = angle + np.cumsum(bend)
    pts = start + np.cumsum(0.03 * np.stack([np.cos(ang), np.sin(ang)], 1), axis=0)
    pts = np.vstack([start, pts])
    lines = [pts]
    if length > 0.6:  # one level of side branches keeps trees from turning into tangles
        for i in np.flatnonzero(rng.random(steps) < 0.03):
            side = 0.9 if rng.random() < 0.5 else -0.9
            lines += _branch(rng, pts[i + 1], float(ang[i]) + side, length * 0.45)
    return lines


def make_vessels(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """n vessel trees entering from the upper-outer quadrant and running toward the nipple."""
    lines = []
    for _ in range(n):
        ang0 = rng.uniform(-np.pi, np.pi)
        start = 1.1 * np.array([np.cos(ang0), np.sin(ang0)])
        heading = np.arctan2(-start[1], -start[0]) + rng.normal(0, 0.5)
        lines += _branch(rng, start, heading, rng.uniform(1.2, 2.2))
    return lines


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    x = ((np.arange(width, dtype=np.float32) + 0.5) / width - 0.5)[None, :]
    y = ((np.arange(height, dtype=np.float32) + 0.5) / height * 0.75)[:, None]
    return x, y


@functools.lru_cache(maxsize=16)
def _basis(n_pixels: int, n_nodes: int) -> np.ndarray:
    """Gaussian bumps centred on n_nodes lattice points, sampled at n_pixels (cached)."""
    d = np.linspace(0, 1, n_pixels)[:, None] - np.linspace(0, 1, n_nodes)[None, :]
    return np.exp(-((d * (n_nodes - 1)) ** 2) / 0.8).astype(np.float32)


def _smooth_field(coef: np.ndarray, height: int, width: int) -> np.ndarray:
    """Low-frequency random field: Gaussian bumps on a coarse lattice (fast separable form)."""
    ny, nx = coef.shape
    return (_basis(height, ny) @ coef.astype(np.float32)) @ _basis(width, nx).T


def _silhouette(body: Body, x: np.ndarray, y: np.ndarray, px: float) -> np.ndarray:
    """Soft body mask (1 inside skin, 0 background) and signed depth-like coordinate."""
    arms = body.arm_extra / (1.0 + np.exp((y - 0.16) / 0.03))
    half = body.half_width + arms + 0.02 * np.sin(y * 6.0)
    inside = half - np.abs(x)
    # The V-shaped gap between neck and raised arms at the top of the frame.
    gap_c = body.neck_half + 0.1
    gap_hw = 0.09 * (1.0 - y / 0.19)
    # Below the gap's apex the term grows fast, so it leaves no seam in the skin gradient.
    gap = np.abs(np.abs(x) - gap_c) - np.where(gap_hw > 0, gap_hw, 5.0 * gap_hw)
    inside = np.minimum(inside, gap)
    return np.clip(0.5 + inside / (2.0 * px), 0.0, 1.0), inside


def breast_projection(body: Body, br: Breast, yaw: float) -> tuple[float, float, float]:
    """Where breast `br` lies in a view turned by `yaw`: its centre's image x on the torso
    cylinder, its visibility cos(angle) (<= 0: hidden) and its drawn horizontal radius (the
    radius foreshortened, to no less than 35%). Every layer of the breast places itself so."""
    ang = br.phi + yaw
    vis = float(np.cos(ang))
    return float(body.half_width * 1.05 * np.sin(ang)), vis, float(br.rx * max(vis, 0.35))


def _breast_coords(body: Body, br: Breast, yaw: float, x: np.ndarray, y: np.ndarray):
    """Breast-local coordinates (u, v) of the pixels and the visibility."""
    xc, vis, sx = breast_projection(body, br, yaw)
    return (x - xc) / sx, (y - float(br.y)) / float(br.ry), vis


# Points stamped per polyline segment at the demo's 160 px width (the size the vessels were
# tuned and the Sick cues calibrated at); other widths take as many more points (or lighter
# ones) as their segments are longer in pixels, so a vessel's warmth per pixel of its length,
# and hence its streak after the blur, is the same at every size.
POINTS_AT_160 = 4


def _stamp_lines(lines, u0, su, v0, sv, height, width, amp) -> np.ndarray:
    """Rasterise polylines (breast-local) into an image of point hits, as many per pixel of a
    vessel's length at any width (POINTS_AT_160)."""
    img = np.zeros((height, width), np.float32)
    if not lines:
        return img
    wanted = POINTS_AT_160 * width / 160
    n = max(2, round(wanted))
    amp = amp * wanted / n  # n points carry what `wanted` would
    pts = np.concatenate([np.linspace(ln[:-1], ln[1:], n, axis=0).reshape(-1, 2) for ln in lines])
    cols = ((pts[:, 0] * su + u0 + 0.5) * width).astype(int)
    rows = ((pts[:, 1] * sv + v0) / 0.75 * height).astype(int)
    ok = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    np.add.at(img, (rows[ok], cols[ok]), amp)
    return img


def _breast_reach(body: Body) -> float:
    """Half-size (breast radii) of the window a breast's local layers are drawn in: what they
    leave outside it is under 0.002 C (rim, nipple, spots), the fold's band under 0.0004 of
    its warmth (4 SD beyond the contour). The diffuse offset, wider, is drawn everywhere."""
    return max(1.8, 1.0 + 4.0 * body.fold_width)


def _breast_window(body: Body, br: Breast, yaw: float, height: int, width: int):
    """Pixel slices that hold the breast's local layers (rendering only there is faster)."""
    xc, _, sx = breast_projection(body, br, yaw)
    reach = _breast_reach(body)
    hx, hy = reach * sx, reach * br.ry
    c0, c1 = int((xc - hx + 0.5) * width), int(np.ceil((xc + hx + 0.5) * width))
    r0, r1 = int((br.y - hy) / 0.75 * height), int(np.ceil((br.y + hy) / 0.75 * height))
    return slice(max(r0, 0), max(min(r1, height), 0)), slice(max(c0, 0), max(min(c1, width), 0))


def _halo(body: Body, br: Breast, yaw: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The breast's diffuse offset (C) over the whole frame: it spreads beyond the outline
    (chest wall perfusion) as exp(-r^2 / 2), never zero, so no window may cut it (a cut left a
    step of a fifth of the offset). Separable, so it costs one product over the frame."""
    u, v, vis = _breast_coords(body, br, yaw, x, y)
    if not br.present or vis <= 0.0:
        return np.zeros((y.shape[0], x.shape[1]), np.float32)
    return (np.float32(br.offset) * np.exp(-(v**2) / 2.0)) * np.exp(-(u**2) / 2.0)


def _breast_layer(body: Body, br: Breast, yaw: float, x, y, height: int, width: int):
    """Temperature change (C) inside the breast window, vessel hits and its cooling weight."""
    u, v, vis = _breast_coords(body, br, yaw, x, y)
    r2 = u**2 + v**2
    if not br.present or vis <= 0.0:
        # Mastectomy or hidden: a flat chest with a faint warm horizontal scar.
        scar = 0.4 * np.exp(-(v**2) / 0.003) * np.exp(-(u**2) / 0.4) if not br.present else 0
        return scar + 0 * r2, None, 0 * r2
    inside = 1.0 / (1.0 + np.exp(np.minimum((r2 - 1.0) / 0.12, 50.0)))
    # The lower and outer breast surface faces away from the camera and from the chest wall:
    # cooler toward the rim, while the upper pole blends into the chest.
    lower = 1.0 / (1.0 + np.exp(-v / 0.25))
    # (The breast's diffuse offset is _halo's, drawn over the whole frame.)
    temp = -inside * br.rim_cool * np.minimum(r2, 1.2) ** 2 * lower
    # Inframammary fold: skin-on-skin contact along the lower contour is warm.
    across = (np.sqrt(r2) - 1.0) ** 2 / (2 * body.fold_width**2)
    fold = body.fold_amp * np.exp(-across) * np.clip(v, 0, 1) ** 2
    nipple = -1.2 * np.exp(-((u - 0.05) ** 2 + (v - 0.15) ** 2) / 0.003)
    temp = temp + fold + inside * nipple
    for su, sv, rr, amp in br.spots:
        temp = temp + amp * np.exp(-((u - su) ** 2 + (v - sv) ** 2) / (2 * rr**2))
    xc, _, sx = breast_projection(body, br, yaw)
    hits = _stamp_lines(br.vessels, xc, sx, br.y, br.ry, height, width, br.vessel_amp)
    return temp, hits, inside


def render_static(body: Body, view: str, height: int, width: int) -> tuple[np.ndarray, ...]:
    """Noise-free steady-state image (C) and the skin-cooling weight map of one view."""
    from scipy.ndimage import gaussian_filter

    yaw = np.deg2rad(VIEW_YAW[view] + body.posture_deg)
    x, y = _grid(height, width)
    px = 1.0 / width
    alpha, inside = _silhouette(body, x, y, px)
    depth = np.clip(inside / 0.1, 0.0, 1.0)
    skin = body.skin - body.edge_cool * (1.0 - np.sqrt(depth)) - 0.6 * (y - 0.3)
    # Coarse and fine skin texture in one pass: the coarse field sampled on the fine lattice.
    coarse = _smooth_field(body.smooth, *body.mottle.shape)
    skin = skin + _smooth_field(coarse + body.mottle, height, width)
    # Sternum and upper chest sit over warmer tissue than the lateral chest wall.
    skin = skin + 0.4 * np.exp(-(x**2) / 0.01) * np.exp(-((y - 0.45) ** 2) / 0.02)
    # The upper abdomen below the breasts is well perfused and faces the camera: warm.
    skin = skin + 0.8 * np.exp(-(x**2) / 0.03) / (1.0 + np.exp(-(y - 0.68) / 0.02))
    if body.deodorant:
        for s in (-1, 1):
            skin = skin - 0.8 * np.exp(
                -((x - s * (body.half_width - 0.03)) ** 2 + (y - 0.28) ** 2) / 0.002
            )
    hits = np.zeros((height, width), np.float32)
    cool_w = (0.5 + 0.5 * depth) * np.ones_like(skin)
    for br in body.breasts:
        skin += _halo(body, br, yaw, x, y)
        rows, cols = _breast_window(body, br, yaw, height, width)
        temp, h, ins = _breast_layer(body, br, yaw, x[:, cols], y[rows], height, width)
        skin[rows, cols] += temp
        cool_w[rows, cols] += 0.5 * ins
        hits = hits if h is None else hits + h
    if body.tumour is not None:
        skin = skin + _tumour_layer(body, yaw, x, y)
    sigma = max(0.6, 3.2 * width / 640)
    rows, cols = np.nonzero(hits.any(axis=1))[0], np.nonzero(hits.any(axis=0))[0]
    if rows.size:
        # Blur only the box that holds vessels (the rest of the hit image is zero).
        pad = int(4 * sigma) + 1
        box = (slice(max(rows[0] - pad, 0), rows[-1] + pad + 1),
               slice(max(cols[0] - pad, 0), cols[-1] + pad + 1))  # fmt: skip
        skin[box] += np.minimum(gaussian_filter(hits[box], sigma) * (1.5 * sigma), 1.2)
    background = body.room + 1.2 * np.exp(np.minimum(inside, 0) / 0.03) - 0.8 * (y - 0.4)
    return (alpha * skin + (1 - alpha) * background).astype(np.float32), alpha * cool_w


def _tumour_layer(body: Body, yaw: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Skin warming (C) from the tumour's bioheat surface profile."""
    tm = body.tumour
    br = body.breasts[tm.side]
    xc, vis, sx = breast_projection(body, br, yaw)
    if vis <= 0.0:
        return 0.0 * x
    xc, yc, squeeze = xc + tm.u * sx, br.y + tm.v * br.ry, sx / br.rx  # squeeze: foreshortening
    # Over the whole frame: beyond the profile's 80 mm it stays at its last value (< 2% of the
    # peak), so nothing is cut.
    rho_mm = np.sqrt(((x - xc) / squeeze) ** 2 + (y - yc) ** 2) * body.width_mm
    return np.interp(rho_mm, tm.radii_mm, tm.profile).astype(np.float32)


def make_tumour(rng: np.random.Generator, side: int, diam: float, depth: float, q: float):
    """A tumour at a random place in breast `side` with its bioheat surface profile."""
    ang = rng.uniform(0, 2 * np.pi)
    rad = 0.65 * np.sqrt(rng.uniform())
    radii, prof = tumour_surface_signal(diam, depth, q, radii_mm=np.linspace(0, 80, 81))
    return Tumour(side, rad * np.cos(ang), rad * np.sin(ang), diam, depth, q, radii, prof)
