"""Grey images as thermocad reads them: one channel (pseudo-colour refused), levels on the
8-bit scale whatever the file's depth (Thermogram unit "intensity")."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from thermocad.utils.errors import ThermalFormatError


def eight_bit_scale(
    array: np.ndarray, depth: np.dtype, path: Path, pil_int32: bool = False
) -> np.ndarray:
    """Grey levels on the 8-bit scale, by the file's depth (not guessed from its values: a dark
    16-bit image): 8-bit as they are, 16-bit / 257. `pil_int32`: decoded by Pillow in mode "I",
    as some Pillow versions give a 16-bit PNG (a TIFF's int32 is a 32-bit image: refused)."""
    if depth in (np.uint8, np.bool_):
        return array.astype(np.float32)
    sixteen = depth == np.uint16 or (pil_int32 and depth == np.int32 and array.max() <= 65535)
    if not sixteen or array.min() < 0:
        raise ThermalFormatError(f"{path}: a grey image of {depth} values; thermocad reads 8- and "
                                 "16-bit grey images, or float images of temperatures")  # fmt: skip
    return array.astype(np.float32) / 257.0


def to_grey(array: np.ndarray, path: Path) -> np.ndarray:
    """Collapse grey RGB(A) to one channel; colour images cannot be mapped to temperatures."""
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] in (2, 3, 4):
        colour = array[..., :-1] if array.shape[-1] in (2, 4) else array
        if colour.shape[-1] == 3:
            spread = colour.max(axis=-1).astype(np.int64) - colour.min(axis=-1)
            tolerance = 0 if array.dtype.kind == "f" else 3  # JPEG blurs equal channels a bit
            if int(spread.max()) > tolerance:
                raise ThermalFormatError(_flir_words(path) or (
                    f"{path}: pseudo-colour image (its RGB channels differ); thermocad needs "
                    "the temperature matrix or a grey image, since a colour map cannot be inverted"
                ))  # fmt: skip
            return colour.mean(axis=-1) if spread.any() else colour[..., 0]
        return colour[..., 0]
    if array.ndim != 2:
        raise ThermalFormatError(f"{path}: unsupported image shape {array.shape}")
    return array


def _flir_words(path: Path) -> str:
    """'' or what to do with a FLIR radiometric JPEG (a camera's own file: its picture in a
    palette, the temperatures in a FLIR segment that thermocad does not decode): where FLIR
    cameras are common, the pseudo-colour refusal alone left a user with no way on."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return ""
    if not head.startswith(b"\xff\xd8") or b"FLIR\x00" not in head:
        return ""
    return (f"{path}: a FLIR radiometric JPEG: its picture is in a colour palette, and thermocad "
            "does not decode the temperatures FLIR stores inside it; export them as a CSV "
            "matrix from FLIR's software, or save flyr.unpack(FILE).celsius with numpy.save as a "
            ".npy (the flyr package)")  # fmt: skip
