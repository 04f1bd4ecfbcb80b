"""No command's result inside a model's or study's folder: `predict --out RUN/trained_on.csv
--force` had replaced the record of who trained the model, and `evaluate` then scored them as
new women; `split`, `prepare` and `evaluate --out RUN/cv` replaced its split, its cohort and
its cross-validation the same way (a review of swapped arguments)."""

from __future__ import annotations

import os
from pathlib import Path

from thermocad.utils.errors import OutputPathError
from thermocad.utils.files import maker


def model_folder_above(path: str | os.PathLike) -> Path | None:
    """The nearest folder at or above `path` that a thermocad model or study lives in (its
    mark, or a model.json), or None."""
    here = Path(os.path.abspath(path))
    return next((f for f in (here, *here.parents) if maker(f) or (f / "model.json").is_file()),
                None)  # fmt: skip


def check_outside_models(out: str | os.PathLike, command: str, scored: str | None = None) -> None:
    """Refuse `out`, `command`'s result, inside a model's or study's folder, with or without
    --force. `scored`: the run folder evaluate scores, in which its --out may be a folder of
    its own (as its default is): new, or an earlier evaluation's (its tables, or its cohort
    where one stopped before them)."""
    here = Path(os.path.abspath(out))
    if scored is not None and here.parent == Path(os.path.abspath(scored)) and (
        not here.exists() or (here / "cohort").is_dir()
        or {"metrics.json", "predictions.csv"} <= {p.name for p in here.iterdir()}
    ):  # fmt: skip
        return
    if (home := model_folder_above(out)) is not None:
        what = f"a thermocad {maker(home)}'s folder" if maker(home) else "a model's folder"
        raise OutputPathError(
            f"{out}: is inside {home}, {what}: {command} writes its results outside it, with "
            "or without --force, so that the model and its record of who trained it stay as "
            "they were written; give --out elsewhere"
        )
