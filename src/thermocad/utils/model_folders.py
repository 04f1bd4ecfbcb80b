"""No command's result inside a model's or study's folder: `predict --out RUN/trained_on.csv
--force` had replaced the record of who trained the model, and `evaluate` then scored them as
new women; `split`, `prepare` and `evaluate --out RUN/cv` replaced its split, its cohort and
its cross-validation the same way (a review of swapped arguments)."""

from __future__ import annotations

import os
from pathlib import Path

from thermocad.utils.errors import OutputPathError
from thermocad.utils.files import maker

# The marks of folders that hold a model or a study (a demo's folder holds one of each in its
# study/ and data/ beside it, which may be predicted, rendered or evaluated into it).
GUARDED = ("fit", "train", "study", "compare")
# A run folder's own subfolders, which an evaluation's folder in it may not be.
RUN_PARTS = ("cv", "cohort", "checkpoint", "nested", "test", "compare")


def _guarded(folder: Path) -> bool:
    try:
        return maker(folder) in GUARDED or (folder / "model.json").is_file()
    except OSError:  # a folder this user cannot search: none of thermocad's to guard
        return False


def model_folder_above(path: str | os.PathLike) -> Path | None:
    """The nearest folder at or above `path` (its links followed, `..` after them included)
    that a thermocad model or study lives in (its mark, or a model.json), or None."""
    here = Path(path).resolve()
    return next((f for f in (here, *here.parents) if _guarded(f)), None)


def check_outside_models(out: str | os.PathLike, command: str, scored: str | None = None) -> None:
    """Refuse `out`, `command`'s result, inside a model's or study's folder, with or without
    --force. `scored`: the model evaluate scores (a run folder, or an .onnx file in one), in
    whose folder its --out may be a folder of its own (as its default is), not one of the
    run's own (RUN_PARTS)."""
    here = Path(out).resolve()
    if scored is not None:
        run = Path(scored).resolve()
        run = run.parent if run.suffix.lower() == ".onnx" else run
        if here.parent == run and here.name not in RUN_PARTS and not here.is_file():
            return
    if (home := model_folder_above(out)) is not None:
        what = f"a thermocad {maker(home)}'s folder" if maker(home) else "a model's folder"
        where = (" (or in a folder of its own directly in the run folder it scores)"
                 if scored is not None else "")  # fmt: skip
        raise OutputPathError(
            f"{out}: is inside {home}, {what}: {command} writes its results outside it{where}, "
            "with or without --force, so that the model and its record of who trained it stay "
            "as they were written; give --out elsewhere"
        )
