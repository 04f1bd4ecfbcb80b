"""A file known by its bytes: the digest that `train` records of its training files
(evaluation/trained_files.py), the user ledger of scores (evaluation/user_ledger.py) and
`prepare`'s check for one file under two patient numbers (cohort/consistency.py) compare."""

from __future__ import annotations

import functools
import hashlib
import os

WIDTH = 32  # hex digits of SHA-256 kept: 128 bits


@functools.lru_cache(maxsize=65536)  # a `fit` records the same files for every fold's model
def _digest(path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    """The digest of a file's bytes (the size, times and inode key the cache: a file replaced
    or rewritten is read again, also with its modification time put back, which moves the
    change time)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:WIDTH]


def file_digest(path: str | os.PathLike) -> str | None:
    """The digest of the file's bytes, or None when it cannot be read."""
    try:
        stat = os.stat(path)
        return _digest(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    except OSError:
        return None


def file_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """(size, modification time in ns) of a file, None when it cannot be read: how resume
    records before 2026-12-07 knew a file (they are still matched so)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
