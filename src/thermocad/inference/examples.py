"""The web app's synthetic example thermograms, and the temporary folder they live in.

The folder is removed when the app stops, at interpreter exit for `serve(block=False)`
callers. A process killed outright (SIGKILL, or SIGTERM with Python's default handler in a
caller's process) cannot remove it, so the app holds the folder's lock (`utils.lock`, an
advisory flock the system drops when the process ends, however it ends) and the next app to
start removes this user's example folders that no process holds. Without flock (Windows)
nothing is pruned."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

FIRST_EXAMPLE_ID = 9001  # numbered apart from DMR-IR's women (T0001-T0400s)
PREFIX = "thermocad-examples-"
BORN_S = 60  # seconds: a younger example folder is never pruned (prune_orphans)
_HELD = contextlib.ExitStack()  # the locks of this process's example folders, held to its end


def examples_folder() -> Path:
    """A fresh temporary folder for the examples, locked for this process's life and removed
    at exit; folders left by processes that are gone are removed first."""
    from thermocad.utils.lock import folder_lock

    prune_orphans()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    _HELD.enter_context(folder_lock(folder))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def prune_orphans(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove the example folders in `root` (the temporary directory) that this user owns and
    no process holds (their app is gone); returns them. Folders of live apps, of other users,
    without a lock file (another version's) and anything else there are left alone."""
    from thermocad.utils.lock import LOCK, running_writer

    if os.name != "posix":  # no flock: a live app's folder cannot be told from a dead one's
        return []
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            st = path.lstat()
            mine = path.is_dir() and not path.is_symlink() and st.st_uid == os.getuid()
            # A folder made in the last minute may be an app's between its making and its
            # lock: probing it then could remove it, or make that app's lock fail.
            locked = mine and (path / LOCK).is_file() and time.time() - st.st_mtime > BORN_S
        except OSError:
            continue
        if locked and running_writer(path) is None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def synthetic_examples(
    out_dir: Path,
    n_patients: int = 4,
    seed: int = 7,
    shape: tuple[int, int] = (480, 640),
    unit: str = "celsius",
) -> dict[Path, str]:
    """A few synthetic thermograms (file -> "synthetic #1, generated Sick") to try the app, of
    the frame size the model trained on (`example_shape`): the label is the generator's truth,
    which the model may well miss. `unit`: the model's; for a grey-image model ("intensity")
    they are 8-bit grey PNGs, each scaled from its coldest to its warmest pixel (a review: the
    temperature examples were each refused by such a model)."""
    import pandas as pd

    from thermocad.synth.cohort import generate_cohort

    labels_csv = generate_cohort(out_dir, n_patients=n_patients, seed=seed, height=shape[0],
                                 width=shape[1], sick_fraction=0.5, first_id=FIRST_EXAMPLE_ID)  # fmt: skip
    labels = pd.read_csv(labels_csv)
    files = [Path(out_dir) / f"T{pid:04d}.txt" for pid in labels["patient_id"]]
    if unit == "intensity":
        files = [_as_grey_png(f) for f in files]
    return {f: f"synthetic #{k}, generated {diagnosis}"
            for k, (f, diagnosis) in enumerate(zip(files, labels["diagnosis"], strict=True), 1)}  # fmt: skip


def _as_grey_png(path: Path) -> Path:
    """The thermogram as an 8-bit grey PNG beside it (its coldest pixel 0, its warmest 255), in
    place of the text matrix."""
    import numpy as np
    from PIL import Image

    from thermocad.io.thermal import read_thermal
    from thermocad.utils.files import atomic_path

    a = read_thermal(path).array
    png = path.with_suffix(".png")
    with atomic_path(png, suffix=".png") as tmp:  # whole or not there, as every output
        Image.fromarray(np.uint8(np.round((a - a.min()) / (a.max() - a.min()) * 255))).save(tmp)
    path.unlink()
    return png


def example_kind(meta: dict) -> dict:
    """synthetic_examples' frame size and unit for a model (its model.json)."""
    return {"shape": example_shape(meta), "unit": str(meta.get("unit", "celsius"))}


def answer_example(bundle, files: list[Path], index: int | None, allow: bool,
                   labels: list[str] | None = None) -> tuple:  # fmt: skip
    """The page's outputs for a click on example `index` of `files` (the app's own examples
    folder, which lives as long as the app): answer_file's, worded for an example, and with
    its label (`labels`: "synthetic #1, generated Sick") checked against the call."""
    from thermocad.inference.answer import answer_file

    if not isinstance(index, int) or not 0 <= index < len(files):
        return answer_file(bundle, None, allow)  # no such example: the prompt to upload a file
    return answer_file(bundle, str(files[index]), allow, example=labels[index] if labels else True)


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
