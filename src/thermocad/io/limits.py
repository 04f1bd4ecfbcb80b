"""Size limits of the reader, checked before anything large is allocated.

A thermogram is at most a few thousand pixels a side (DMR-IR: 480 x 640, 1.8 MB of text),
so anything far larger is a wrong or hostile file: a gzip bomb, a 10-million-line column,
a PNG that declares 100,000 x 100,000 pixels. Each limit is a module constant that a caller
with unusual data may raise.
"""

from __future__ import annotations

import gzip
import itertools
import re
import zlib
from pathlib import Path

import numpy as np

from thermocad.utils.errors import ThermalFormatError

MAX_SIDE = 4096  # rows or columns of a thermogram
MAX_VALUES = 4096 * 1024  # values in one thermogram (16 MiB as float32): 13x a DMR image
MAX_TEXT_BYTES = 64 * 2**20  # a text matrix, after decompression
MAX_FILE_BYTES = 256 * 2**20  # any thermal file on disk (images, .npy, gzip)
_CHUNK = 2**20
_SEPARATORS = np.zeros(256, dtype=bool)
_SEPARATORS[list(b" \t\r\n\f\v;,")] = True  # ',' counts as one: an upper bound on the values


def read_limited(path: Path, size: int) -> bytes:
    """The bytes of a text file, gunzipped when it starts with the gzip magic, size-capped; a
    file named .gz without that magic is refused as such (not parsed as text)."""
    check_file_size(path, size)
    try:
        # Unbuffered: a buffered reader would keep its first 8 KiB and join them to the rest,
        # copying the whole file once more (2.4 ms of a 2.7 MB file's 4.2 ms here).
        with open(path, "rb", buffering=0) as fh:
            if fh.read(2) != b"\x1f\x8b":
                if path.suffix.lower() == ".gz":
                    raise _not_gzip(path)
                if size > MAX_TEXT_BYTES:
                    raise _too_much_text(path)
                fh.seek(0)
                data = fh.read()  # a buffer of the file's size; read(n) would allocate n
            else:
                fh.seek(0)
                data = _gunzip(fh, path)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        reason = getattr(exc, "strerror", None) or exc  # "Permission denied", not the path again
        raise ThermalFormatError(f"{path}: cannot read the file ({reason})") from exc
    if len(data) > MAX_TEXT_BYTES:  # the file grew since its size was checked
        raise _too_much_text(path)
    return data


def _not_gzip(path: Path) -> ThermalFormatError:
    return ThermalFormatError(
        f"{path}: not a gzip file (its name ends in .gz, but it does not begin as gzip data "
        "does); if it is a text matrix already decompressed, rename it without the .gz"
    )


def _too_much_text(path: Path) -> ThermalFormatError:
    return ThermalFormatError(
        f"{path}: more than {MAX_TEXT_BYTES // 2**20} MB of text; a thermal matrix is far "
        "smaller (thermocad.io.limits.MAX_TEXT_BYTES)"
    )


def _gunzip(fh, path: Path) -> bytes:
    """Stream-decompress in 1 MiB pieces and stop past the cap: a 0.5 MB bomb costs 64 MB."""
    chunks, total = [], 0
    with gzip.GzipFile(fileobj=fh) as gz:
        while total <= MAX_TEXT_BYTES and (chunk := gz.read(_CHUNK)):
            chunks.append(chunk)
            total += len(chunk)
    if total > MAX_TEXT_BYTES:
        raise ThermalFormatError(
            f"{path}: decompresses to more than {MAX_TEXT_BYTES // 2**20} MB; a thermal matrix "
            "is far smaller (a gzip bomb?) (thermocad.io.limits.MAX_TEXT_BYTES)"
        )
    return b"".join(chunks)


def check_file_size(path: Path, size: int) -> None:
    """Refuse a file too large to be a thermogram before reading it."""
    if size > MAX_FILE_BYTES:
        raise ThermalFormatError(
            f"{path}: {size / 2**20:.0f} MB is too large for a thermal file (at most "
            f"{MAX_FILE_BYTES // 2**20} MB, thermocad.io.limits.MAX_FILE_BYTES)"
        )


def check_shape(shape: tuple[int, ...], path: Path | str) -> None:
    """Refuse more than MAX_SIDE a side or MAX_VALUES values (x4 for images with channels)."""
    allowed = MAX_VALUES * (4 if len(shape) > 2 else 1)
    values = int(np.prod(shape, dtype=np.int64))
    shown = " x ".join(f"{side:,}" for side in shape)
    if any(side > MAX_SIDE for side in shape):
        why = f"a side over {MAX_SIDE:,}"
    elif values > allowed:
        why = f"{values:,} values, over {allowed:,}"
    else:
        return
    raise ThermalFormatError(f"{path}: {shown} is too large for a thermogram ({why}; "
                             "thermocad.io.limits)")  # fmt: skip


def check_text_size(data: bytes, path: Path | str) -> None:
    """Refuse text with more than MAX_SIDE lines or MAX_VALUES tokens, before parsing it."""
    newline = b"\n" if b"\n" in data else b"\r"
    if _count_byte(data, newline[0]) > MAX_SIDE and _rows_exceed(data, newline, MAX_SIDE):
        raise ThermalFormatError(
            f"{path}: more than {MAX_SIDE:,} lines of numbers; a thermogram has at most "
            f"{MAX_SIDE:,} rows (thermocad.io.limits.MAX_SIDE)"
        )
    # Each value takes at least 2 bytes with its separator, so only big files need counting.
    if len(data) > 2 * MAX_VALUES and _tokens_exceed(data, MAX_VALUES):
        raise ThermalFormatError(
            f"{path}: more than {MAX_VALUES:,} values; a thermogram has far fewer "
            "(thermocad.io.limits.MAX_VALUES)"
        )


def _count_byte(data: bytes, byte: int) -> int:
    """How often `byte` occurs in `data`: numpy's vectorised comparison, 1 MiB at a time
    (bytes.count took 1.3 ms of a 2.7 MB file's 4 ms read; one comparison of the whole file
    would hold an array of its size)."""
    view = np.frombuffer(data, np.uint8)
    return sum(int(np.count_nonzero(view[i : i + _CHUNK] == byte))
               for i in range(0, len(view), _CHUNK))  # fmt: skip


def _rows_exceed(data: bytes, newline: bytes, limit: int) -> bool:
    """Whether more than `limit` lines hold something; stops at the first line past it."""
    blank = re.escape(b" \t\f\v\r\n;,".replace(newline, b""))
    line = re.compile(b"(?:\\A|" + re.escape(newline) + b")[" + blank + b"]*[^\\s;,]")
    return sum(1 for _ in itertools.islice(line.finditer(data), limit + 1)) > limit


def _tokens_exceed(data: bytes, limit: int) -> bool:
    """Whether `data` has more than `limit` runs of non-separator bytes, counted in chunks."""
    raw = np.frombuffer(data, dtype=np.uint8)
    total, previous = 0, False
    for start in range(0, raw.size, 8 * _CHUNK):  # bounded temporaries, whatever the size
        token = ~_SEPARATORS[raw[start : start + 8 * _CHUNK]]
        total += int(token[0] and not previous) + int(np.count_nonzero(token[1:] > token[:-1]))
        previous = bool(token[-1])
        if total > limit:
            return True
    return False
