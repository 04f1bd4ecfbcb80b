"""The files `predict` is given: files and folders expanded into one sorted list, each file
once, with the paths that hold none."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from thermocad.io.filenames import patient_number
from thermocad.io.find import (
    case_twins_warning,
    resolved,
    same_names_warning,
    walk_thermal_files,
)


class FileFailure(NamedTuple):
    """A file that could not be predicted, and why."""

    file: str
    error: str


def collect_files(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[FileFailure]]:
    """Expand files and folders into a sorted file list: a folder's thermal files (recursively,
    by suffix), and a file named itself whatever its suffix (its reader says if it is none)."""
    files: list[Path] = []
    errors: list[FileFailure] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, problems = walk_thermal_files(path)  # suffixes and walk shared with prepare
            errors.extend(FileFailure(where, problem) for where, problem in problems)
            if not found:
                errors.append(FileFailure(str(path), "folder contains no thermal files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():  # /dev/stdin, a FIFO: read once, it cannot be read twice safely
            errors.append(FileFailure(str(path), "not a regular file (a pipe or a device); "
                                      "save it to a file and give that"))  # fmt: skip
        else:
            errors.append(FileFailure(str(path), "no such file or folder"))
    # A folder given twice (or a file inside a given folder, or a link to one) is predicted once.
    from thermocad.utils.progress import log

    # Each file under the name it was given (a link's own name holds the DMR number and view
    # where the file it points to may be a store's hash: git-annex, DVC), once.
    first: dict[Path, Path] = {}
    others = []  # one file under two women's numbers: a link named for another woman
    for p in files:
        kept = first.setdefault(resolved(p), Path(p).absolute())  # ".." as the system reads it
        numbers = (patient_number(kept), patient_number(Path(p)))
        if None not in numbers and numbers[0] != numbers[1]:
            others.append(f"{Path(p).name} = {kept.name}")
    unique = list(first.values())
    if len(unique) < len(files):
        log(f"{len(files) - len(unique)} repeated file(s) predicted once (the same file given "
            "twice, a link to it, or a file inside a folder also given)")  # fmt: skip
    if others:  # a hazard review: the second woman had no row and no word
        log(f"warning: {len(others)} file(s) reached under another woman's number as well "
            f"({', '.join(others[:5])}): predicted once, under the first name; correct the "
            "link or the name")  # fmt: skip
    for warning in (same_names_warning(unique), case_twins_warning(unique)):
        if warning:
            log(warning)
    return unique, errors
