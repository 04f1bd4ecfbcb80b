"""Which files are thermal files, and finding them in folders (unreadable folders reported)."""

from __future__ import annotations

import os
from pathlib import Path

# What folder walks pick up (`prepare`, `predict`, `render`). CSV and .dat matrices are read
# when named explicitly, but not collected from folders: folders of thermograms usually also
# hold CSV tables (labels.csv, earlier predictions).
THERMAL_SUFFIXES = (".txt", ".txt.gz", ".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
# What `read_thermal` reads when a file is named (an upload, a command-line argument).
READABLE_SUFFIXES = THERMAL_SUFFIXES + (".csv", ".csv.gz", ".dat", ".dat.gz", ".gz")


def is_thermal_file(path: str | os.PathLike) -> bool:
    """Whether a folder walk takes this file: a thermal suffix (any case), not hidden."""
    name = Path(path).name
    return name.lower().endswith(THERMAL_SUFFIXES) and not name.startswith(".")


def strip_suffix(name: str) -> str:
    """The name without its thermal suffix (`T0001.txt.gz` -> `T0001`)."""
    lower = name.lower()
    for suffix in sorted(READABLE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def walk_thermal_files(root: str | os.PathLike) -> tuple[list[Path], list[str]]:
    """Thermal files under `root` (recursively, hidden files and folders skipped), sorted.

    Returns (files, problems): one line per folder that could not be listed, so callers can
    warn instead of silently predicting or preparing fewer files.
    """
    problems: list[str] = []

    def unreadable(exc: OSError) -> None:
        problems.append(f"{exc.filename}: cannot list the folder ({exc.strerror or exc}); skipped")

    found = []
    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = Path(folder, name)
            if not is_thermal_file(path):
                continue
            if path.is_file():  # follows links; False for FIFOs, devices, broken or looping links
                found.append(path)
            else:
                problems.append(
                    f"{path}: not a regular file (a FIFO, device or broken link); skipped"
                )
    return sorted(found), problems
