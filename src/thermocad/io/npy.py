"""Reading .npy thermograms: the header checked before any data is read, pickles never loaded."""

from __future__ import annotations

import threading
import tokenize
from pathlib import Path

import numpy as np

from thermocad.io.limits import check_file_size, check_shape
from thermocad.utils.errors import ThermalFormatError


def read_npy(path: Path, size: int) -> np.ndarray:
    """A numeric 2-D .npy as float32; shape and dtype come from its header, checked before loading."""
    check_file_size(path, size)
    # numpy reads the header with tokenize and ast: a cut one raises TokenError (no ValueError)
    npy_errors = (OSError, ValueError, EOFError, TypeError, SyntaxError, tokenize.TokenError)
    try:
        with open(path, "rb") as fh:
            shape, fortran, dtype = _npy_header(fh, path, size)
            if dtype.kind not in "iuf":  # object arrays (pickles) and strings are never loaded
                raise ThermalFormatError(
                    f"{path}: .npy must hold a numeric array of temperatures, not {dtype}"
                )
            if len(shape) != 2 or not all(type(n) is int and n > 0 for n in shape):
                raise ThermalFormatError(f"{path}: expected a 2-D array, got shape {shape}")
            check_shape(shape, path)
            count = int(np.prod(shape))
            if size - fh.tell() < count * dtype.itemsize:
                raise ThermalFormatError(f"{path}: truncated .npy (shape {shape} needs more data)")
            if (extra := size - fh.tell() - count * dtype.itemsize) > 0:  # a header edited
                raise ThermalFormatError(f"{path}: damaged .npy ({extra:,} bytes more than its "
                                         f"shape {shape} holds)")  # fmt: skip
            # The data straight after the header: np.load would parse the header a second time.
            array = np.fromfile(fh, dtype=dtype, count=count)
    except ThermalFormatError:
        raise
    except npy_errors as exc:
        raise ThermalFormatError(f"{path}: not a readable .npy array ({exc})") from exc
    return array.reshape(shape, order="F" if fortran else "C").astype(np.float32)


# numpy parses a .npy header with ast.literal_eval, and CPython 3.11 before 3.11.8 can raise
# "SystemError: AST constructor recursion depth mismatch" when threads build ASTs at once
# (python/cpython#106905); the reader's threads parse headers one at a time.
_HEADER_LOCK = threading.Lock()


def _npy_header(fh, path: Path, size: int) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header whose declared length is checked first.

    numpy reads as many bytes as the header claims before checking them: 1.5 KB of random
    bytes behind the magic made it allocate 3.9 GiB (found by benchmarks/fuzz_reader.py).
    """
    if fh.read(6) != b"\x93NUMPY":  # numpy's own message quotes the bytes it expected
        raise ThermalFormatError(f"{path}: not a NumPy .npy file (it does not start with the "
                                 ".npy header); save arrays with numpy.save")  # fmt: skip
    fh.seek(0)
    version = np.lib.format.read_magic(fh)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ThermalFormatError(f"{path}: unknown .npy format version {version}")
    length = int.from_bytes(fh.read(2 if version == (1, 0) else 4), "little")
    if length > min(size, 65536):
        raise ThermalFormatError(f"{path}: damaged .npy header (claims {length:,} bytes)")
    fh.seek(6 + 2)
    read_header = np.lib.format.read_array_header_1_0
    if version != (1, 0):
        read_header = np.lib.format.read_array_header_2_0
    with _HEADER_LOCK:
        shape, fortran, dtype = read_header(fh)
    return shape, bool(fortran), dtype
