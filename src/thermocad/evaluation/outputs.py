"""What an evaluation writes beside its data (`evaluate --split` and `evaluate --data`): each
file checked before any work, so that a file of the user's by one of these names is replaced
only with --force, and an earlier evaluation's results cleared once the inputs have passed."""

from __future__ import annotations

from pathlib import Path

from thermocad.utils.errors import OutputPathError
from thermocad.utils.files import check_writable

# metrics, predictions, external.md (--data) and write_plots' figures and galleries.
RESULTS = ("metrics.json", "external.md", "predictions.csv", "roc.png", "reliability.png",
           "confusion.png", "history.png", "galleries.csv")  # fmt: skip
GALLERIES = "gallery_*.png"


def check_results(out: Path, force: bool) -> None:
    """Refuse, unless `force`, a folder holding a file an evaluation would write (one of
    RESULTS or a gallery), and a place that cannot be written."""
    for path in [*(out / name for name in RESULTS), *sorted(out.glob(GALLERIES))]:
        check_writable(path, force)


def clear_results(out: Path) -> None:
    """An earlier evaluation's results (--force), once the inputs have passed their checks and
    before anything new is written: a rerun failing later leaves none beside its own."""
    for path in [*(out / name for name in RESULTS), *out.glob(GALLERIES)]:
        path.unlink(missing_ok=True)


def check_not_among(out: Path, paths) -> None:
    """Refuse an output folder that holds the thermograms scored (a folder of `paths`): the
    next walk of it (render, predict, prepare) would read the figures back as thermograms."""
    folders = {Path(p).absolute().parent.resolve() for p in paths}
    if Path(out).resolve() in folders:
        raise OutputPathError(f"{out}: holds the thermograms scored; the figures and tables "
                              "written there would be read back as thermograms: give --out "
                              "a place of its own")  # fmt: skip
