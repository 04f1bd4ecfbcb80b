"""TIFF thermograms read with tifffile: the size and every strip checked before decoding, the
Orientation tag undone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from thermocad.io.limits import check_shape
from thermocad.utils.errors import ThermalFormatError

# A TIFF's Orientation tag (EXIF's values) undone as Pillow's exif_transpose does for the others.
_ORIENTED = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
    8: lambda a: np.rot90(a, 1),
}


def read_tiff(path: Path, size: int) -> np.ndarray:
    """The first series of the TIFF at `path` (`size` bytes), as a viewer shows it."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        check_shape(tuple(tif.series[0].shape), path)
        check_segments(tif, path, size)
        array = np.asarray(tif.asarray())
        tag = tif.pages[0].tags.get("Orientation")
    return _ORIENTED.get(int(getattr(tag, "value", 1)), lambda a: a)(array)


def check_segments(tif, path: Path, size: int) -> None:
    """Each page of the first series has the strips (or tiles) its size needs, each inside the
    file, before any is decoded: tifffile fills a missing one with zeros (0 degC in a float
    TIFF, a plausible temperature) and reads a strip's declared byte count whole (a 28 kB file
    had asked for 4 GiB; a fuzz review)."""
    for page in tif.series[0].pages:
        if page is None:
            continue
        offsets, counts = page.dataoffsets, page.databytecounts
        needed = int(np.prod(page.keyframe.chunked))
        if len(offsets) != needed or len(counts) != needed:
            raise ThermalFormatError(f"{path}: damaged TIFF ({len(offsets)} of the {needed} "
                                     "strips or tiles its image size needs)")  # fmt: skip
        if any(c <= 0 or o + c > size for o, c in zip(offsets, counts, strict=True)):
            raise ThermalFormatError(f"{path}: damaged TIFF (a strip or tile of its image is "
                                     "empty or lies beyond the file's end)")  # fmt: skip
