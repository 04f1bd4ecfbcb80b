"""Putting outputs in place: a finished file at its name only where none is (a figure of
`explain` without --force, checked at the start and written by another since), and a folder
of earlier results removed, never what a link points to."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from thermocad.utils.errors import OutputExistsError


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


def place_new(tmp: Path, path: Path) -> None:
    """`tmp` renamed `path` unless a file is there (OutputExistsError), in one step: a hard
    link fails on an existing name where a rename replaces it. Where the file system has no
    hard links (FAT, some network shares) the name is checked, then `tmp` renamed."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(f"{path} already exists (written since this command began, by "
                                "another?); use --force (force=True in Python) to overwrite "
                                "it") from None  # fmt: skip
    except OSError:
        if path.exists():
            raise OutputExistsError(f"{path} already exists; use --force (force=True in "
                                    "Python) to overwrite it") from None  # fmt: skip
        os.replace(tmp, path)
    else:
        tmp.unlink()  # the file now has its name; the temporary one goes
