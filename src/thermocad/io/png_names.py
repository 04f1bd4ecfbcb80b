"""The PNG each input of `render` gets in its output folder: one of its own, decided first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from thermocad.io.find import strip_suffix
from thermocad.utils.out_names import fitting_name, portable


def output_names(paths: Sequence[Path], root: str | os.PathLike) -> dict[Path, str]:
    """Each file's PNG name in the output folder, unique, decided before anything is drawn.

    A file's name is its stem prefixed by its sub-folders (sub/T0003.txt -> sub__T0003.png).
    Files whose names would collide (T0001.txt and T0001.npy; a/T0002.txt and a__T0002.txt;
    names differing only in case, which collide on macOS and Windows) keep their extensions
    (T0001.npy.png); any still colliding get ~2, ~3, ... in the order of their paths. Names
    are made portable first (out_names.portable: NUL.txt -> NUL_.png).
    """
    stems = {path: _stem(path, root) for path in paths}
    count: dict[str, int] = {}
    for stem in stems.values():
        count[stem.casefold()] = count.get(stem.casefold(), 0) + 1
    unique = {path: stem for path, stem in stems.items() if count[stem.casefold()] == 1}
    used = {stem.casefold() for stem in unique.values()}
    names = {}
    for path in sorted(paths, key=str):
        stem = unique.get(path)
        if stem is None:
            stem = _stem(path, root, keep_suffix=True)
            base, n = stem, 1
            while stem.casefold() in used:
                n += 1
                stem = f"{base}~{n}"
            used.add(stem.casefold())
        names[path] = fitting_name(stem, ".png")  # a deep folder's name too long: shortened
    return {path: names[path] for path in paths}


def _stem(path: Path, root: str | os.PathLike, keep_suffix: bool = False) -> str:
    """Output name: the file name without extensions (unless `keep_suffix`), prefixed by its
    sub-folders."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
    joined = "__".join(parts)
    return portable(joined if keep_suffix else strip_suffix(joined))
