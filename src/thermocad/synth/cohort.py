"""Synthetic, physics-inspired breast thermograms written in the DMR-IR text format.

`generate_cohort` writes a folder that `prepare_cohort` reads like the real database;
`synth_patient` returns arrays in memory. Anatomy and rendering: `synth_body`; the tumour's
surface signature: `bioheat` (Pennes equation). Parameters and sources: docs/synthetic.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thermocad.synth.bioheat import tumour_surface_signal
from thermocad.synth.body import VIEW_YAW, Body, Breast, make_tumour, make_vessels, render_static
from thermocad.synth.files import dmr_filename, format_matrix, write_preview
from thermocad.utils.errors import ConfigError

__all__ = [
    "DIFFICULTIES", "Difficulty", "Nuisances", "generate_cohort", "sample_body", "synth_patient",
    "tumour_surface_signal", "write_preview",
]  # fmt: skip
FORMATS = ("space", "semicolon", "mixed")
FRAME_INTERVAL_S = 15.0  # DMR dynamic protocol: one frame every 15 s while the skin re-warms
NOISE_C = 0.05  # camera NETD, FLIR SC620 class


@dataclass(frozen=True)
class Difficulty:
    """How strongly disease shows: tumour size/depth ranges and its vascular/asymmetry cues."""

    diameter_mm: tuple[float, float] = (8.0, 30.0)  # log-uniform
    depth_mm: tuple[float, float] = (10.0, 30.0)  # centre depth below the skin
    sick_asymmetry: tuple[float, float] = (0.4, 1.3)  # diffuse warming of the sick breast (C)
    sick_extra_vessels: tuple[int, int] = (2, 5)
    healthy_asymmetry_sd: float = 0.25  # natural left/right difference (C)
    healthy_spots: tuple[int, int] = (0, 3)


DIFFICULTIES = {
    "easy": Difficulty((12.0, 35.0), (10.0, 25.0), (0.9, 1.8), (3, 6), 0.2, (0, 1)),
    "default": Difficulty(),
    "hard": Difficulty((5.0, 20.0), (15.0, 40.0), (0.1, 0.7), (0, 3), 0.3, (1, 4)),
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
        phi=sign * rng.uniform(0.5, 0.62), y=rng.uniform(0.41, 0.47),
        rx=rng.uniform(0.16, 0.2), ry=rng.uniform(0.14, 0.18), offset=0.0,
        rim_cool=rng.uniform(2.5, 4.0),
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
        mottle=rng.normal(0.0, 0.3, size=(18, 24)),
        edge_cool=rng.uniform(2.5, 5.0), fold_amp=rng.uniform(1.0, 2.0), deodorant=deodorant,
        cooling=rng.uniform(1.5, 3.0), tau_s=rng.uniform(100.0, 200.0),
    )  # fmt: skip
    if sick:
        side = int(rng.integers(0, 2))
        diam = float(np.exp(rng.uniform(*np.log(d.diameter_mm))))
        depth = max(float(rng.uniform(*d.depth_mm)), diam / 2 + 8.0)  # skin + fat above it
        body.tumour = make_tumour(rng, side, diam, depth, float(rng.uniform(29000, 65000)))
        br = breasts[side]
        br.offset += rng.uniform(*d.sick_asymmetry)
        # Neoangiogenesis: more and warmer vessels in the affected breast.
        br.vessels += make_vessels(
            rng, int(rng.integers(d.sick_extra_vessels[0], d.sick_extra_vessels[1] + 1))
        )
        br.vessel_amp *= rng.uniform(1.0, 1.4)
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
    difficulty: str = "default",
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


def _difficulty(name: str) -> Difficulty:
    if name not in DIFFICULTIES:
        raise ConfigError(f"unknown difficulty {name!r}; choose from {', '.join(DIFFICULTIES)}")
    return DIFFICULTIES[name]


def _assign(rng: np.random.Generator, n: int, sick_fraction: float, fmt: str, confound: bool):
    """Exact class counts in random order, and each patient's acquisition batch."""
    n_sick = int(round(n * sick_fraction))
    sick = rng.permutation(np.arange(n) < n_sick)
    if fmt != "mixed":
        return sick, np.full(n, "A" if fmt == "space" else "B")
    # With batch_effect the batch is confounded with disease, like DMR-IR (all batch B Sick).
    p_b = np.where(sick, 0.7, 0.3) if confound else np.full(n, 0.5)
    return sick, np.where(rng.random(n) < p_b, "B", "A")


def _check(n_patients: int, sick_fraction: float, frames: int, views, fmt: str, h: int, w: int):
    if n_patients < 1 or frames < 1 or not 0.0 <= sick_fraction <= 1.0:
        raise ConfigError("need n_patients >= 1, frames >= 1 and 0 <= sick_fraction <= 1")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    bad = [v for v in views if v not in VIEW_YAW]
    if bad or not views:
        raise ConfigError(f"unknown views {bad}; choose from {', '.join(VIEW_YAW)}")
    if h < 16 or w < 16:
        raise ConfigError(f"image size {h} x {w} is too small (at least 16 x 16)")


def _write_patient(
    out: Path,
    pid: int,
    images: dict,
    label: str,
    meta: dict,
    rng: np.random.Generator,
    frames: int,
    views: tuple[str, ...],
):
    """Write one patient's matrices; return its labels.csv row and its hidden parameters."""
    from thermocad.utils.files import atomic_write_bytes

    date = dt.date(2026, 1, 5) + dt.timedelta(days=(pid - 1) // 4)  # four patients a day
    fmt = "space" if meta["acquisition_batch"] == "A" else "semicolon"
    for (view, k), img in images.items():
        name = dmr_filename(pid, view, k, frames, len(views), date)
        atomic_write_bytes(out / name, format_matrix(img, fmt))
    age = rng.normal(57.0 if label == "Sick" else 50.0, 11.0)  # cancer risk rises with age
    row = {
        "patient_id": pid, "diagnosis": label, "age": int(np.clip(age, 25, 85)),
        "acquisition_batch": meta["acquisition_batch"],
        "deodorant": "yes" if meta["deodorant"] else "no",
        "single_breast": "yes" if meta["single_breast"] else "no",
    }  # fmt: skip
    hidden = {"patient_id": pid, **{k: v for k, v in meta.items() if k != "blurred"},
              "blurred_frames": sum(meta["blurred"])}  # fmt: skip
    return row, hidden


def generate_cohort(
    out_dir: str | Path,
    n_patients: int = 100,
    seed: int = 0,
    height: int = 480,
    width: int = 640,
    sick_fraction: float = 0.4,
    frames: int = 1,
    fmt: str = "space",
    difficulty: str = "default",
    views: tuple[str, ...] = ("frontal",),
    marker: bool = False,
    batch_effect: bool = False,
    blur_fraction: float = 0.0,
    single_breast_fraction: float = 0.0,
    deodorant_fraction: float = 0.0,
    force: bool = False,
    preview: str | Path | None = None,
) -> Path:
    """Write a synthetic DMR-IR style cohort (T*.txt + labels.csv); returns labels.csv's path.

    `preview`: also write a contact sheet of the first images there ("" = OUT_preview.png,
    beside the folder, so that `prepare` and `predict` do not meet it among the thermograms).
    """
    import pandas as pd

    from thermocad.utils.files import atomic_write_csv, prepare_out_dir
    from thermocad.utils.progress import progress

    views = tuple(views)
    _check(n_patients, sick_fraction, frames, views, fmt, height, width)
    _difficulty(difficulty)
    out = prepare_out_dir(out_dir, force=force)
    nuis = Nuisances(marker, batch_effect, blur_fraction, single_breast_fraction,
                     deodorant_fraction)  # fmt: skip
    sick, batches = _assign(np.random.default_rng([seed, 0]), n_patients, sick_fraction, fmt,
                            batch_effect)  # fmt: skip
    from threadpoolctl import threadpool_limits

    rows, truth = [], []
    # One BLAS thread: the thin matrix products here are slower with a thread pool.
    with threadpool_limits(limits=1, user_api="blas"):
        for i in progress(range(n_patients), "synth", total=n_patients):
            rng = np.random.default_rng([seed, i + 1])  # per patient: subsets are reproducible
            images, label, meta = synth_patient(rng, bool(sick[i]), height, width, difficulty,
                                                frames, views, nuis, str(batches[i]))  # fmt: skip
            row, hidden = _write_patient(out, i + 1, images, label, meta, rng, frames, views)
            rows.append(row)
            truth.append(hidden)
    atomic_write_csv(out / "synth_truth.csv", pd.DataFrame(truth))
    labels = atomic_write_csv(out / "labels.csv", pd.DataFrame(rows))
    if preview is not None:
        default = out.with_name(f"{out.name}_preview.png")
        write_preview(out, Path(preview) if str(preview) else default, force=force)
    return labels
