"""The web app's synthetic example thermograms, and the temporary folder they live in.

The folder is removed when the app stops, at interpreter exit for `serve(block=False)`
callers. A process killed outright (SIGKILL, or SIGTERM with Python's default handler in a
caller's process) cannot remove it, so each folder carries its process id, and the next app to
start removes the folders of processes that are gone."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

FIRST_EXAMPLE_ID = 9001  # numbered apart from DMR-IR's women (T0001-T0400s)
PREFIX = "thermocad-examples-"
_OWNED = re.compile(rf"{PREFIX}(\d+)-")


def examples_folder() -> Path:
    """A fresh temporary folder for the examples, removed at exit; folders left by dead
    processes of this user are removed first."""
    prune_orphans()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def prune_orphans(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove the example folders in `root` (the temporary directory) whose process is gone
    and that this user owns; returns them. Folders of live processes, of other users and
    anything else there are left alone."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        match = _OWNED.match(path.name)
        try:
            mine = path.is_dir() and not path.is_symlink() and path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if match and mine and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a number we cannot ask about: keep it
    return True


def synthetic_examples(
    out_dir: Path, n_patients: int = 4, seed: int = 7, shape: tuple[int, int] = (480, 640)
) -> dict[Path, str]:
    """A few synthetic thermograms (file -> "synthetic #1, generated Sick") to try the app, of
    the frame size the model trained on (`example_shape`): the label is the generator's truth,
    which the model may well miss."""
    import pandas as pd

    from thermocad.synth.cohort import generate_cohort

    labels_csv = generate_cohort(out_dir, n_patients=n_patients, seed=seed, height=shape[0],
                                 width=shape[1], sick_fraction=0.5, first_id=FIRST_EXAMPLE_ID)  # fmt: skip
    labels = pd.read_csv(labels_csv)
    return {
        Path(out_dir) / f"T{pid:04d}.txt": f"synthetic #{k}, generated {diagnosis}"
        for k, (pid, diagnosis) in enumerate(
            zip(labels["patient_id"], labels["diagnosis"], strict=True), 1
        )
    }


def example_shape(meta: dict) -> tuple[int, int]:
    """The frame size of the model's training files (model.json `data.frame_shapes`), so that
    an example gets no "another camera?" note; DMR-IR's 480 x 640 when unknown or too large."""
    shapes = (meta.get("data") or {}).get("frame_shapes") or []
    if (
        shapes
        and len(shapes[0]) == 2
        and all(isinstance(v, int) and 64 <= v <= 1024 for v in shapes[0])
    ):
        return int(shapes[0][0]), int(shapes[0][1])
    return 480, 640
