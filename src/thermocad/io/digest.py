"""A file known by its bytes, and by its frame as read (which a re-save keeps): the digests
that `train` records of its training files (evaluation/trained_files.py), the user ledger of
test openings (evaluation/user_ledger.py) and `prepare`'s check for one frame under two
patient numbers (cohort/consistency.py) compare."""

from __future__ import annotations

import functools
import hashlib
import os

from thermocad.utils.errors import ThermocadError

WIDTH = 32  # hex digits of SHA-256 kept: 128 bits


def by_identity(read, errors: tuple[type[BaseException], ...] = ()):
    """`read(path)` as a function of a file, cached by its identity: path, size, times and
    inode (a file replaced or rewritten is read again, also with its modification time put
    back, which moves the change time); None when the file, or `read` (`errors`), fails."""

    @functools.lru_cache(maxsize=65536)  # a `fit` records the same files for every fold's model
    def cached(path: str, *identity: int) -> str:
        return read(path)

    def get(path: str | os.PathLike) -> str | None:
        try:
            st = os.stat(path)
            return cached(str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        except (OSError, *errors):
            return None

    return get


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:WIDTH]


file_digest = by_identity(_sha256)  # the digest of the file's bytes, or None (unreadable)


def frame_digest(array) -> str:
    """The digest of a frame as read: its shape and float32 values, which the same frame
    saved again keeps (another line ending, gzipped, a .npy of it)."""
    import numpy as np

    frame = np.ascontiguousarray(array, dtype=np.float32)
    digest = hashlib.sha256(repr(frame.shape).encode())
    digest.update(frame.tobytes())
    return digest.hexdigest()[:WIDTH]


def _read_frame(path: str) -> str:
    from thermocad.io.thermal import read_thermal

    return frame_digest(read_thermal(path).array)


# The digest of the file's frame (frame_digest), or None when it cannot be read.
file_frame_digest = by_identity(_read_frame, (ThermocadError,))


def file_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """(size, modification time in ns) of a file, None when it cannot be read: how resume
    records before 2026-12-07 knew a file (they are still matched so)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
