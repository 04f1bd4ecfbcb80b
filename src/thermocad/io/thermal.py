"""Read thermal data: DMR-IR text matrices, exported images and .npy, with a parse cache."""

from __future__ import annotations

import functools
import logging
import os
import stat as stat_module
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from thermocad.io import cache as parse_cache
from thermocad.io.find import FORMATS, MODEL_SUFFIXES, sniff
from thermocad.io.grey import eight_bit_scale, to_grey
from thermocad.io.limits import (
    MAX_SIDE,
    check_file_size,
    check_shape,
    read_limited,
)
from thermocad.io.npy import read_npy
from thermocad.io.pool import ordered_map
from thermocad.io.text import parse_text, warm_up_text_reader
from thermocad.io.tiff import read_tiff
from thermocad.utils.errors import ConfigError, ThermalFormatError
from thermocad.utils.values import check_path

PLAUSIBLE_CELSIUS = (0.0, 50.0)  # skin and room temperatures; anything else is a wrong file


@dataclass(frozen=True, eq=False)
class Thermogram:
    """A thermal image: float32 (rows, cols) array in `unit`: "celsius", or "intensity" (grey
    levels on the 8-bit scale, 0..255, whatever the image's depth: 16-bit levels / 257)."""

    array: np.ndarray
    unit: str
    path: Path
    source_format: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape  # type: ignore[return-value]

    def __repr__(self) -> str:  # a notebook shows this, not the whole array
        low, high = (
            (float(v) for v in (self.array.min(), self.array.max())) if self.array.size else (0, 0)
        )
        return (f"Thermogram({self.path.name}: {self.shape[0]} x {self.shape[1]} "
                f"{self.unit}, {low:.2f}..{high:.2f}, {self.source_format})")  # fmt: skip


def read_thermal(path: str | os.PathLike, cache: bool = True) -> Thermogram:
    """Read one thermal file (io.find.FORMATS: a text matrix, .txt/.csv/.dat, any of them
    gzipped; .npy; a PNG, JPEG or TIFF image) or raise ThermalFormatError."""
    if not isinstance(cache, bool):  # "no" would read as True
        raise ConfigError(f"cache (in Python) must be True or False, got {cache!r}")
    check_path("path", path)
    path = Path(path)
    stat = _regular_file_stat(path)
    if stat.st_size == 0:  # an interrupted copy or save: said as such, whatever the format
        raise ThermalFormatError(f"{path}: the file is empty (0 bytes)")
    kind = _kind(path)
    if kind in ("png", "jpeg", "tiff"):
        return _read_image(path, kind, stat.st_size)
    if kind == "npy":
        array = read_npy(path, stat.st_size)
        validate_frame(array, path, "celsius")
        return Thermogram(array, "celsius", path, "npy")
    key = parse_cache.cache_key(path, stat) if cache else None
    if key is not None and (hit := _cached(key, path)) is not None:
        return hit
    data = read_limited(path, stat.st_size)
    array, source_format, lines = parse_text(data, str(path))
    validate_frame(array, path, "celsius", lines)
    if key is not None:
        parse_cache.store(key, array, source_format)
    return Thermogram(array, "celsius", path, source_format)


def _regular_file_stat(path: Path) -> os.stat_result:
    """stat() of a regular file; FIFOs, sockets and devices are refused unopened (a FIFO blocks)."""
    try:
        stat = path.stat()
    except OSError as exc:  # missing, unreadable parent, symlink loop (ELOOP)
        raise ThermalFormatError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    mode = stat.st_mode
    if stat_module.S_ISDIR(mode):
        raise ThermalFormatError(f"{path}: is a directory, not a thermal file")
    if not stat_module.S_ISREG(mode):
        what = (
            "a FIFO (named pipe)" if stat_module.S_ISFIFO(mode)
            else "a socket" if stat_module.S_ISSOCK(mode)
            else "a device" if stat_module.S_ISCHR(mode) or stat_module.S_ISBLK(mode)
            else "not a regular file"
        )  # fmt: skip
        raise ThermalFormatError(f"{path}: is {what}, not a thermal file")
    return stat


def _cached(key: str, path: Path) -> Thermogram | None:
    """A cache hit that passes the same checks as a fresh parse, else None (parse again)."""
    hit = parse_cache.load(key)
    if hit is None:
        return None
    array, source_format = hit
    try:
        validate_frame(array, path, "celsius")
    except ThermalFormatError:
        return None
    return Thermogram(array, "celsius", path, source_format)


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if (
        suffixes[-2:-1]
        and suffixes[-1] == ".gz"
        and FORMATS.get(suffixes[-2], ("text",))[0] != "text"
    ):
        raise ThermalFormatError(
            f"{path}: a gzipped {suffixes[-2]} file; only text matrices are read gzipped (.txt.gz, "
            f".csv.gz, .dat.gz): decompress it (gunzip) and give the {suffixes[-2]} file"
        )
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]][0]
    if suffixes and suffixes[-1] in MODEL_SUFFIXES:  # a model given as a thermogram
        raise ThermalFormatError(f"{path}: a model file, not a thermogram (the model goes first: "
                                 "thermocad predict MODEL FILES...)")  # fmt: skip
    return sniff(path)  # unknown extension: trust the file's first bytes


def validate_frame(
    array: np.ndarray, path: Path, unit: str, lines: np.ndarray | None = None
) -> None:
    """Refuse empty, non-finite and (for temperatures) implausible arrays, naming the line."""
    if array.ndim != 2 or array.size == 0:
        raise ThermalFormatError(f"{path}: expected a 2-D array, got shape {array.shape}")
    check_shape(array.shape, path)

    def where(row: int) -> str:
        return f"line {int(lines[row])}" if lines is not None else f"row {row + 1}"

    low, high = PLAUSIBLE_CELSIUS
    smallest, largest = array.min(), array.max()  # NaN propagates: one pass each, no copy
    plausible = unit != "celsius" or low <= smallest <= largest <= high
    if np.isfinite(smallest) and np.isfinite(largest) and plausible:
        return
    finite = np.isfinite(array)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ThermalFormatError(
            f"{path}: {where(row)}: value {array[row, col]} in column {col + 1} is not finite"
        )
    if unit == "celsius" and (smallest < low or largest > high):
        outside = (array < low) | (array > high)
        row, col = np.argwhere(outside)[0]
        median, count = np.median(array), int(outside.sum())
        hint = ("it looks like kelvin, or tenths of a degree: convert to C" if 250 <= median <= 330  # room and body
                else "it looks like Fahrenheit: convert to C" if 60 <= median <= 110
                # some pixels in a frame of temperatures: the camera's or the scene's, not the
                # file's format
                else f"{count:,} of its {array.size:,} values, the rest temperatures: dead or hot "
                "pixels, a dead sensor column, or a hot object in view?"
                if low <= median <= high else "is this a temperature file?")  # fmt: skip
        raise ThermalFormatError(
            f"{path}: {where(row)}: value {array[row, col]:.2f} in column {col + 1} is outside "
            f"the plausible range of temperatures, {low:g}..{high:g} C ({hint})"
        )


FLOAT_IMAGE = (
    "a floating-point image is read as temperatures in °C: export grey images as 8-bit or "
    "16-bit integer images"
)


def _read_image(path: Path, kind: str, size: int) -> Thermogram:
    """Grey 8/16-bit images as intensity; float TIFF as temperatures; pseudo-colour refused.

    The declared size is checked before decoding, so a small file cannot make the decoder
    allocate a huge image.
    """
    check_file_size(path, size)
    _READING.on = True  # (tifffile's log lines dropped meanwhile)
    try:
        if kind == "tiff":
            array = read_tiff(path, size)
        else:
            from PIL import Image, ImageOps

            from thermocad.io.figure_mark import is_figure

            with Image.open(path) as img:
                if is_figure(img.info):  # render's, explain's, the app's: a title, colour bar...
                    raise ThermalFormatError(f"{path}: a figure thermocad drew, not a thermogram: "
                                             "give the thermal file it was drawn from")  # fmt: skip
                check_shape((img.height, img.width), path)
                img = ImageOps.exif_transpose(img)  # as a viewer shows it (an orientation tag)
                if img.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                    img = img.convert("RGBA" if "A" in img.mode else "RGB")
                array = np.asarray(img)
    except (ThermalFormatError, MemoryError):  # the file's own words; the machine's limit
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on corrupt files
        if type(exc).__name__ == "DecompressionBombError":  # PIL refuses before we can look
            raise ThermalFormatError(f"{path}: the image is too large for a thermogram (at most "
                                     f"{MAX_SIDE:,} pixels a side; {exc})") from exc  # fmt: skip
        raise ThermalFormatError(f"{path}: unreadable {kind} image ({exc})") from exc
    finally:
        _READING.on = False
    if array.size == 0:  # a damaged size tag (a fuzz review): no pixels to read or scale
        raise ThermalFormatError(f"{path}: an image of no pixels (shape {array.shape})")
    if array.dtype == bool:
        raise ThermalFormatError(f"{path}: a 1-bit (black and white) image, not a thermogram's "
                                 "grey levels (a mask?)")  # fmt: skip
    is_float, depth = array.dtype.kind == "f", array.dtype
    array = to_grey(array, path)
    if is_float:
        array = array.astype(np.float32)
        try:
            validate_frame(array, path, "celsius")
        except ThermalFormatError as exc:  # a review's 0-255 float TIFF: said why it is °C
            raise ThermalFormatError(f"{exc}; {FLOAT_IMAGE}") from None
        return Thermogram(array, "celsius", path, f"image-{kind}-float")
    array = eight_bit_scale(array, depth, path, pil_int32=kind != "tiff")
    validate_frame(array, path, "intensity")
    return Thermogram(array, "intensity", path, f"image-{kind}")


# The decoders' words stay off stderr (the size is checked, an error said): tifffile's log
# lines while this thread reads (a filter on its logger, by thread), and Pillow's
# DecompressionBombWarning in thermocad's own processes (io.pool.quiet_decoders).
_READING = threading.local()
logging.getLogger("tifffile").addFilter(lambda record: not getattr(_READING, "on", False))


def _read_or_error(
    path: str | os.PathLike, cache: bool, transform: Callable[[Thermogram], Any] | None = None
) -> Any:
    try:
        thermogram = read_thermal(path, cache=cache)
        return transform(thermogram) if transform is not None else thermogram
    except ThermalFormatError as exc:
        return exc
    except (MemoryError, ImportError):  # the machine's, not the file's: the batch stops
        raise
    except Exception as exc:  # noqa: BLE001 - a batch must go on past any bad file
        from thermocad.utils.progress import log_bug

        log_bug(f"warning: {path}: could not be read because of an unexpected error (a bug in "
                "thermocad)", exc)  # fmt: skip
        return ThermalFormatError(f"{path}: unexpected error while reading ({exc!r})")


def iter_read(
    paths: Iterable[str | os.PathLike],
    workers: int | None = None,
    cache: bool = True,
    transform: Callable[[Thermogram], Any] | None = None,
) -> Iterator[tuple[Path, Any]]:
    """Yield (path, Thermogram or ThermalFormatError) in input order, in parallel, memory-bounded.

    `transform` (a module-level function) runs in a worker process on each Thermogram, so
    only its small result crosses back. Without one, whole arrays come back, and threads do
    better than processes (the reader releases the GIL, and an array from a process costs
    a pickled copy; docs/benchmarks.md). A worker process that dies on a file (a decoder's
    crash, the OOM killer) gives that file an error, and the others are read.
    """
    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    if isinstance(paths, Sized):
        workers = min(workers, len(paths))  # no idle processes for a handful of files
    if workers <= 1:
        for path in paths:
            yield Path(path), _read_or_error(path, cache, transform)
        return
    if transform is not None:
        warm_up_text_reader()  # forked workers inherit the compiled reading loop
    read = functools.partial(_read_or_error, cache=cache, transform=transform)
    paths = (Path(path) for path in paths)
    yield from ordered_map(read, paths, workers, transform is not None, _died)


def _died(path: Path) -> ThermalFormatError:
    return ThermalFormatError(
        f"{path}: the reader process died while reading it (a crash in a decoder, or killed "
        "for lack of memory?)"
    )


def read_many(
    paths: Iterable[str | os.PathLike], workers: int | None = None, cache: bool = True
) -> list[Thermogram | ThermalFormatError]:
    """Read many files in parallel; bad files give a ThermalFormatError in their place."""
    return [result for _, result in iter_read(paths, workers=workers, cache=cache)]
