"""The sanity check every diagnosis passes first: could this array be a breast thermogram?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from thermocad.utils.errors import ImplausibleThermogramError

if TYPE_CHECKING:
    from thermocad.io.thermal import Thermogram

# Bounds, and why (the 120 real DMR-IR frontal frames, 480 x 640, all pass with a wide margin:
# 1st-99th percentile spread at least 7.5 C, body 50-88% of the frame, body 5.0-12.7 C warmer than the room, warmest body
# pixel 33.0-37.1 C; tests/preprocess/test_plausible.py checks them).
MIN_SIDE = 32  # the body, both breasts and the midline need a few pixels each
MIN_SPREAD_C = 1.0  # 1st-99th percentile; skin against a room differs by several degrees
MIN_SPREAD_LEVELS = 0.01  # the same for 8/16-bit images, as a fraction of the full scale
MIN_BODY_FRACTION = 0.05  # a frontal thermogram is mostly torso
# The torso stands in the middle: the body covers at least this share of the frame's middle
# third of columns (the 120 real frames as 8-bit grey images: 0.84 or more; the same images
# with warm shown dark: 0.001 at most, their "body" the room beside the woman;
# tests/preprocess/test_plausible.py). Low, so that a woman framed high or off-centre passes.
MIN_MIDDLE_COVER = 0.25
MIN_CONTRAST_C = 1.0  # the body (median) is warmer than the room (median) by at least this
SKIN_MAX_C = (25.0, 42.0)  # the warmest skin (axilla, inframammary fold) lies in this range
# A warm region in large pieces: a cold line across the body (a dead sensor column, a strap)
# leaves body_mask, and so the midline, box and mirror, the largest piece of her only. On the
# 120 real frames the second largest piece is at most 0.6% of the largest; a 3-pixel cold
# column across one of them makes it 37-41% (2026-12-06, experiments/unusual_inputs.py). Said
# in a note, not refused.
MAX_PIECE_SHARE = 0.1


def second_piece_share(array: np.ndarray) -> float:
    """The second largest warm region (regions.warm_pieces) as a share of the largest; 0: the
    body is in one piece."""
    from thermocad.preprocess.regions import warm_pieces

    sizes = np.sort(warm_pieces(np.asarray(array, dtype=np.float32))[1])[::-1]
    return float(sizes[1] / sizes[0]) if sizes.size > 1 and sizes[0] > 0 else 0.0


def check_plausible(thermogram: Thermogram) -> None:
    """Refuse arrays that cannot be a breast thermogram, naming the file and the reason."""
    reason = implausibility(thermogram.array, thermogram.unit)
    if reason:
        from thermocad.io.thermal import FLOAT_IMAGE

        also = f" ({FLOAT_IMAGE})" if str(thermogram.source_format).endswith("-float") else ""
        raise ImplausibleThermogramError(f"{thermogram.path}: {reason}; this is not a breast "
                                         f"thermogram the model can judge{also}")  # fmt: skip


def implausibility(array: np.ndarray, unit: str = "celsius",
                   mask: np.ndarray | None = None) -> str | None:  # fmt: skip
    """Why `array` cannot be a frontal breast thermogram, or None when it can be. `mask`: its
    body_mask, when the caller has it already."""
    from thermocad.preprocess.regions import body_mask

    a = np.asarray(array, dtype=np.float32)
    if a.ndim != 2 or min(a.shape) < MIN_SIDE:
        return f"{'x'.join(map(str, a.shape))} pixels is too small (at least {MIN_SIDE} a side)"
    if bad := int(a.size - np.isfinite(a).sum()):  # files are refused at reading; arrays here
        return f"{bad} of its values are not numbers (NaN or infinite)"
    low, high = (float(v) for v in np.percentile(a, [1, 99]))
    celsius = unit == "celsius"
    least = MIN_SPREAD_C if celsius else MIN_SPREAD_LEVELS * 255  # levels on the 8-bit scale
    if high - low < least:
        # Grey levels as read: on the 8-bit scale, a 16-bit image's / 257 (io.thermal).
        unit_name = "C" if celsius else "levels of 255"
        return (
            f"nearly constant (1st-99th percentile spread {high - low:.3g} {unit_name}, "
            f"at least {least:g} {unit_name} needed)"
        )
    mask = body_mask(a) if mask is None else mask
    if mask.mean() < MIN_BODY_FRACTION or mask.all():
        return f"no body found (warm region {mask.mean():.0%} of the frame)"
    w = mask.shape[1]
    if (middle := float(mask[:, w // 3 : 2 * w // 3].mean())) < MIN_MIDDLE_COVER:
        return (f"no body in the middle of the frame (the warm region covers {middle:.0%} of "
                "its middle third, where a frontal thermogram shows the torso): another view, "
                "or an image that shows warm as dark")  # fmt: skip
    if not celsius:
        return None
    contrast = float(np.median(a[mask]) - np.median(a[~mask]))
    skin_max = float(a[mask].max())
    if contrast < MIN_CONTRAST_C:
        return f"no body found (warm region only {contrast:.2g} C above the rest)"
    if not SKIN_MAX_C[0] <= skin_max <= SKIN_MAX_C[1]:
        lo, hi = SKIN_MAX_C
        return f"warmest body temperature {skin_max:.1f} C is outside {lo:g}..{hi:g} C for skin"
    return None


def pieces_note(thermogram: Thermogram) -> str:
    """'' or the note predict, explain and the app give a thermogram whose warm region is in
    large pieces (MAX_PIECE_SHARE)."""
    if (share := second_piece_share(thermogram.array)) <= MAX_PIECE_SHARE:
        return ""
    return (
        f"the body is in pieces (the second largest warm region is {share:.0%} of the "
        "largest: a cold line across her, another warm object in view, or a frame with little "
        "room in it?), and the breast box and left/right mirror are found on the largest alone: "
        "read its P(Sick) with care"
    )


def sharpness(array: np.ndarray) -> float:
    """Variance of the Laplacian of the map scaled to 0..100 between its 1st and 99th percentiles."""
    low, high = np.percentile(array[::4, ::4], (1, 99))  # a subsample: fast and robust to spots
    scaled = (array.astype(np.float32) - low) * np.float32(100.0 / max(high - low, 1e-6))
    if min(scaled.shape) < 3:
        return 0.0
    lap = (
        scaled[:-2, 1:-1] + scaled[2:, 1:-1] + scaled[1:-1, :-2] + scaled[1:-1, 2:]
        - 4 * scaled[1:-1, 1:-1]
    )  # fmt: skip
    return float(lap.var())


def sharpness_note(meta: dict, thermogram: Thermogram) -> str:
    """'' or the note predict, explain and the app give a thermogram less sharp than every
    file that trained the model (`data.sharpness_range`, written by `train`): a blurred,
    resampled or out-of-focus frame; or sharper than every one: a noisier sensor, another
    camera. The model's P(Sick) is sensitive to both (docs/application.md)."""
    span = (meta.get("data") or {}).get("sharpness_range")
    if not span or span[0] <= (value := sharpness(thermogram.array)) <= span[1]:
        return ""
    if value > span[1]:
        return (f"the image is sharper or noisier (sharpness {value:.2f}) than any the model was "
                f"trained on ({span[1]:.2f} or less): a noisier sensor, another camera, or a "
                "sharpened export? The model's P(Sick) may follow the image's noise: read it "
                "with care, and check the camera's and the export's settings")  # fmt: skip
    jpeg = "jpeg" in str(thermogram.source_format)  # its compression smooths fine detail
    return (
        f"the image is less sharp (sharpness {value:.2f}) than any the model was trained on "
        f"({span[0]:.2f} or more): {'JPEG compression, ' if jpeg else ''}blurred, out of focus "
        "or enlarged from a smaller frame? The model's P(Sick) may follow the image's "
        "sharpness: read it with care"
    )


# A grey image whose darkest pixel is 0 and brightest 255 (as read, on the 8-bit scale) was
# scaled to its own coldest and warmest pixel; one exported with a fixed window seldom is.
GREY_ENDS = (0.5, 254.5)


def spans_grey_range(low, high):
    """Whether grey images of these darkest and brightest levels span the whole grey range
    (numbers or pandas Series alike)."""
    return (low <= GREY_ENDS[0]) & (high >= GREY_ENDS[1])


def export_note(meta: dict, thermogram: Thermogram) -> str:
    """'' or the note on a grey image exported otherwise than the model's training images
    (`data.grey_full_range_share`: how many spanned the whole grey range): its levels then
    mean other temperatures (a grey-image review)."""
    share = (meta.get("data") or {}).get("grey_full_range_share")
    if thermogram.unit != "intensity" or share is None:
        return ""
    a = thermogram.array
    full = bool(spans_grey_range(float(a.min()), float(a.max())))
    if full and share <= 0.1:
        how = "uses the whole grey range (scaled to its own coldest and warmest pixel?), but few"
    elif not full and share >= 0.9:
        how = "does not use the whole grey range (one fixed window?), but nearly all"
    else:
        return ""
    return (f"the image {how} training images did: exported differently, its grey levels mean "
            "other temperatures, so read its P(Sick) with care")  # fmt: skip
