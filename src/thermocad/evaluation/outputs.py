"""What an evaluation writes beside its data (`evaluate --split` and `evaluate --data`): each
file checked before any work, so that a file of the user's by one of these names is replaced
only with --force, and an earlier evaluation's results cleared once the inputs have passed."""

from __future__ import annotations

from pathlib import Path

from thermocad.utils.errors import OutputPathError
from thermocad.utils.files import check_writable

# metrics, predictions, external.md (--data) and write_plots' figures and galleries;
# `evaluate --split` also draws the run's training curves (SPLIT_ALSO).
RESULTS = ("metrics.json", "external.md", "predictions.csv", "roc.png", "reliability.png",
           "confusion.png", "galleries.csv")  # fmt: skip
SPLIT_ALSO = ("history.png",)
GALLERIES = "gallery_*.png"


def check_results(out: Path, force: bool, also: tuple[str, ...] = ()) -> None:
    """Refuse, unless `force`, a folder holding a file an evaluation would write (one of
    RESULTS, `also` or a gallery), and a place that cannot be written."""
    for path in [*(out / name for name in RESULTS + also), *sorted(out.glob(GALLERIES))]:
        check_writable(path, force)


def clear_results(out: Path, also: tuple[str, ...] = ()) -> None:
    """An earlier evaluation's results (--force), once the inputs have passed their checks and
    before anything new is written: a rerun failing later leaves none beside its own."""
    for path in [*(out / name for name in RESULTS + also), *out.glob(GALLERIES)]:
        path.unlink(missing_ok=True)


def check_apart_from_rows(out: Path, paths, apart: bool) -> None:
    """Refuse an output folder among the thermograms scored: a folder of `paths`, and, with
    `apart` (--out was given), one inside such a folder or holding one. The next walk of it
    (render, predict, prepare) would read the figures back as thermograms. The default,
    RUN/eval_<split>, is the run folder's, wherever the user keeps it."""
    where = Path(out).resolve()
    for folder in sorted({Path(p).absolute().parent.resolve() for p in paths}):
        if where == folder:
            said = "is a folder of the thermograms scored"
        elif apart and folder in where.parents:
            said = f"is inside {folder}, a folder of the thermograms scored"
        elif apart and where in folder.parents:
            said = f"holds {folder}, a folder of the thermograms scored"
        else:
            continue
        raise OutputPathError(f"{out}: {said}; the figures and tables written there would be "
                              "read back as thermograms: give --out a place of its own")  # fmt: skip
