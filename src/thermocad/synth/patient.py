"""One synthetic patient in memory: anatomy sampled per difficulty, rendered with nuisances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermocad.synth.body import Body, Breast, make_tumour, make_vessels, render_static
from thermocad.utils.errors import ConfigError

FRAME_INTERVAL_S = 15.0  # DMR dynamic protocol: one frame every 15 s while the skin re-warms
NOISE_C = 0.05  # camera NETD, FLIR SC620 class


@dataclass(frozen=True)
class Difficulty:
    """How strongly disease shows: tumour size/depth ranges and its vascular/asymmetry cues."""

    diameter_mm: tuple[float, float] = (8.0, 30.0)  # log-uniform
    depth_mm: tuple[float, float] = (10.0, 30.0)  # centre depth below the skin
    # The default's cues are measured on DMR-IR batch A, at the demo's 120 x 160
    # (experiments/records/synth_calibration.md, synth_mirror_calibration.md):
    # Diffuse warming of the sick breast (C): the Sick women's mean left-right breast difference
    # has batch A's median (0.29 against 0.30 C). It was 0.4-1.3 by hand.
    sick_asymmetry: tuple[float, float] = (0.3, 1.05)
    # Neoangiogenesis: extra, warmer vessels in the sick breast. None in the default: batch-A
    # Sick women show no added pixelwise left-right difference (it was 2-5 vessels, x1.0-1.4).
    sick_extra_vessels: tuple[int, int] = (0, 0)
    sick_vessel_warming: tuple[float, float] = (1.0, 1.0)  # factor on the sick breast's vessels
    healthy_asymmetry_sd: float = 0.25  # natural left/right difference (C)
    healthy_spots: tuple[int, int] = (0, 3)
    # Natural posture: no woman faces the camera exactly. The torso's turn (deg, normal SD)
    # moves the two breasts unequally in the image, as a mirror comparison meets in real women
    # (a third of their pixelwise asymmetry beyond the hand-tuned generator's; the texture,
    # breasts and folds below make the rest).
    posture_sd_deg: float = 10.0
    # Fine skin texture (C, SD of an 18 x 24 lattice of bumps), drawn independently on the two
    # sides: matched to batch A's Healthy pixelwise left-right difference (stage 4, refitted
    # with the breasts and folds in stage 7; it was 0.3 by hand).
    skin_texture_sd: float = 0.4
    # Breast centre height (frame-width units from the top, uniform per breast) and the warmth
    # of the inframammary fold (C, uniform per woman): with the texture, matched jointly on
    # batch A's Healthy women (mean and 99th percentile of the pixelwise difference, and its
    # share at the folds; synth_mirror_calibration.md, stage 7). They were 0.41-0.47 and 1-2 C.
    breast_height: tuple[float, float] = (0.47, 0.53)
    fold_warmth: tuple[float, float] = (2.0, 4.0)
    # The fold's profile across the breast's lower contour (SD, breast radii): a warm band of
    # skin pressed against the chest wall, fitted on batch A's Healthy women with the rows
    # under the breasts as a fourth target (stage 9; it was a thin line, 0.032). The cooling
    # toward the lower and outer rim (C, uniform per breast) stays hand-tuned.
    fold_width: float = 0.2
    rim_cooling: tuple[float, float] = (2.5, 4.0)


DIFFICULTIES = {
    "easy": Difficulty(
        diameter_mm=(12.0, 35.0),
        depth_mm=(10.0, 25.0),
        sick_asymmetry=(0.9, 1.8),
        sick_extra_vessels=(3, 6),
        sick_vessel_warming=(1.0, 1.4),
        healthy_asymmetry_sd=0.2,
        healthy_spots=(0, 1),
    ),
    "default": Difficulty(),
    "hard": Difficulty(
        diameter_mm=(5.0, 20.0),
        depth_mm=(15.0, 40.0),
        sick_asymmetry=(0.1, 0.7),
        sick_extra_vessels=(0, 3),
        sick_vessel_warming=(1.0, 1.4),
        healthy_asymmetry_sd=0.3,
        healthy_spots=(1, 4),
    ),
}


@dataclass(frozen=True)
class Nuisances:
    """Optional artefacts of real acquisitions."""

    marker: bool = False
    batch_effect: bool = False
    blur_fraction: float = 0.0
    single_breast_fraction: float = 0.0
    deodorant_fraction: float = 0.0


def _breast(rng: np.random.Generator, side: int, n_vessels: int, d: Difficulty) -> Breast:
    sign = -1.0 if side == 0 else 1.0
    spots = [
        (
            rng.uniform(-0.6, 0.6),
            rng.uniform(-0.6, 0.6),
            rng.uniform(0.1, 0.25),
            rng.uniform(0.1, 0.6),
        )
        for _ in range(rng.integers(d.healthy_spots[0], d.healthy_spots[1] + 1))
    ]
    return Breast(
        phi=sign * rng.uniform(0.5, 0.62), y=rng.uniform(*d.breast_height),
        rx=rng.uniform(0.16, 0.2), ry=rng.uniform(0.14, 0.18), offset=0.0,
        rim_cool=rng.uniform(*d.rim_cooling),
        vessels=make_vessels(rng, n_vessels), vessel_amp=rng.uniform(0.5, 1.0), spots=spots,
    )  # fmt: skip


def _mostly_symmetric(coef: np.ndarray) -> np.ndarray:
    """Healthy skin patterns are largely bilaterally symmetric; keep 30% of the asymmetric part."""
    sym = 0.5 * (coef + coef[:, ::-1])
    return sym + 0.3 * (coef - sym)


def sample_body(
    rng: np.random.Generator,
    sick: bool,
    d: Difficulty,
    single_breast: bool = False,
    deodorant: bool = False,
) -> Body:
    """Draw one patient's anatomy, baseline temperatures, vessels and (if sick) tumour."""
    n_vessels = rng.integers(2, 5)
    breasts = [_breast(rng, s, int(n_vessels + rng.integers(-1, 2)), d) for s in (0, 1)]
    asym = rng.normal(0.0, d.healthy_asymmetry_sd)
    breasts[0].offset, breasts[1].offset = asym / 2, -asym / 2
    body = Body(
        skin=rng.uniform(32.0, 34.5), room=rng.uniform(20.0, 25.0),
        half_width=rng.uniform(0.36, 0.43), arm_extra=rng.uniform(0.08, 0.2),
        neck_half=rng.uniform(0.07, 0.1), width_mm=rng.uniform(400.0, 480.0),
        breasts=breasts, smooth=_mostly_symmetric(rng.normal(0.0, 0.35, size=(6, 8))),
        mottle=d.skin_texture_sd * rng.standard_normal(size=(18, 24)),
        edge_cool=rng.uniform(2.5, 5.0), fold_amp=rng.uniform(*d.fold_warmth), deodorant=deodorant,
        cooling=rng.uniform(1.5, 3.0), tau_s=rng.uniform(100.0, 200.0), fold_width=d.fold_width,
    )  # fmt: skip
    body.posture_deg = float(rng.normal(0.0, 1.0)) * d.posture_sd_deg  # drawn at any SD
    if sick:
        side = int(rng.integers(0, 2))
        diam = float(np.exp(rng.uniform(*np.log(d.diameter_mm))))
        depth = max(float(rng.uniform(*d.depth_mm)), diam / 2 + 8.0)  # skin + fat above it
        body.tumour = make_tumour(rng, side, diam, depth, float(rng.uniform(29000, 65000)))
        br = breasts[side]
        br.offset += rng.uniform(*d.sick_asymmetry)
        # Neoangiogenesis: more and warmer vessels in the affected breast (not in the default).
        br.vessels += make_vessels(
            rng, int(rng.integers(d.sick_extra_vessels[0], d.sick_extra_vessels[1] + 1))
        )
        br.vessel_amp *= rng.uniform(*d.sick_vessel_warming)
    if single_breast:
        side = 1 - body.tumour.side if body.tumour is not None else int(rng.integers(0, 2))
        breasts[side].present = False
    return body


def _finish(rng, static, cool_w, body: Body, t_s: float | None, offset: float, blur: bool):
    """One frame: re-warming deficit, camera offset, noise, optional blur of the recorded frame."""
    img = static + np.float32(offset)
    if t_s is not None:
        img = img - (body.cooling * np.exp(-t_s / body.tau_s) * cool_w).astype(np.float32)
    img = img + np.float32(NOISE_C) * rng.standard_normal(img.shape, dtype=np.float32)
    if blur:
        from scipy.ndimage import gaussian_filter

        img = gaussian_filter(img, max(1.0, rng.uniform(4.0, 8.0) * img.shape[1] / 640))
    return img


def _add_marker(img: np.ndarray, cool_w: np.ndarray, rng: np.random.Generator, batch: str) -> None:
    """Calibration square on the abdomen below the breasts (larger in batch A, as in DMR-IR)."""
    h, w = img.shape
    side = max(2, int(w * (0.06 if batch == "A" else 0.035)))
    top, left = int(h * 0.86), int(w * 0.5 + rng.uniform(-0.03, 0.03) * w) - side // 2
    img[top : top + side, left : left + side] = rng.uniform(24.0, 28.0)
    cool_w[top : top + side, left : left + side] = 0.0


def synth_patient(
    rng: np.random.Generator,
    sick: bool,
    height: int = 480,
    width: int = 640,
    difficulty: str | Difficulty = "default",
    frames: int = 1,
    views: tuple[str, ...] = ("frontal",),
    nuisances: Nuisances = Nuisances(),
    batch: str = "A",
) -> tuple[dict[tuple[str, int], np.ndarray], str, dict]:
    """One patient's images {(view, frame): float32 (H, W) in C}, label and hidden parameters."""
    d = _difficulty(difficulty)
    single = bool(rng.random() < nuisances.single_breast_fraction)
    deo = bool(rng.random() < nuisances.deodorant_fraction)
    body = sample_body(rng, sick, d, single, deo)
    offset = rng.normal(0.0, 0.2)
    if nuisances.batch_effect:
        # Batch B: another camera and room, as in DMR-IR's two acquisition periods.
        offset += 0.6 if batch == "B" else 0.0
        body.room += 1.5 if batch == "B" else 0.0
    images, blurred = {}, []
    for view in views:
        static, cool_w = render_static(body, view, height, width)
        if nuisances.marker and view == "frontal":
            # The marker is part of the scene: blurred with it, but it does not re-warm.
            _add_marker(static, cool_w, rng, batch)
        for k in range(frames):
            t_s = None if frames == 1 else (k + 1) * FRAME_INTERVAL_S
            blur = bool(rng.random() < nuisances.blur_fraction)
            img = _finish(rng, static, cool_w, body, t_s, offset, blur)
            images[(view, k + 1)] = img
            blurred.append(blur)
    tm = body.tumour
    meta = {
        "single_breast": single, "deodorant": deo, "acquisition_batch": batch,
        "blurred": blurred, "tumour_side": ("right", "left")[tm.side] if tm else "",
        "tumour_diameter_mm": tm.diameter_mm if tm else 0.0,
        "tumour_depth_mm": tm.depth_mm if tm else 0.0, "tumour_q": tm.q if tm else 0.0,
        "tumour_peak_c": tm.peak if tm else 0.0,
    }  # fmt: skip
    return images, ("Sick" if sick else "Healthy"), meta


def _difficulty(name: str | Difficulty) -> Difficulty:
    """A named difficulty, or a `Difficulty` given as is (e.g. to calibrate the generator)."""
    if isinstance(name, Difficulty):
        return name
    if name not in DIFFICULTIES:
        raise ConfigError(f"unknown difficulty {name!r}; choose one of {', '.join(DIFFICULTIES)}")
    return DIFFICULTIES[name]
