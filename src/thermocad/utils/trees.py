"""Removing a folder of earlier results, never what a link points to."""

from __future__ import annotations

import contextlib
import os


def remove_tree(path: str | os.PathLike) -> None:
    """Remove a folder of earlier results that a command writes again; a link (or a Windows
    junction: a reparse point) put in its place is removed itself, never followed."""
    import shutil
    import stat

    with contextlib.suppress(FileNotFoundError):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & 0x400:
            os.unlink(path)  # (on Windows, a link to a folder or a junction too)
        else:
            shutil.rmtree(path, ignore_errors=True)
