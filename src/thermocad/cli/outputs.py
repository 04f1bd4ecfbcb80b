"""Where a command's results may not go, checked before it runs: inside a model's or study's
folder (utils/model_folders.py), or into another folder of thermograms (a review of swapped
arguments: `render data2 --out data --force` and `evaluate ... --out data2` left figures that
the next `predict data` listed as unreadable thermograms)."""

from __future__ import annotations

from pathlib import Path

from thermocad.utils.errors import OutputPathError
from thermocad.utils.model_folders import check_outside_models

# The commands whose --out (and render's --sheet) is a result of their own, never a part of a
# model's or study's folder (fit, train, study, compare and demo make those; export writes a
# run folder's model.onnx; report, a study's report.html; evaluate's own rule, `scored`).
RESULTS = ("predict", "explain", "prepare", "split", "render", "synth", "lr-find",
           "augment-preview", "evaluate")  # fmt: skip
# Of those, the commands whose --out is a folder of figures (prepare's cohort.csv, a table, is
# not read back as a thermogram by a walk)
FOLDERS = ("explain", "render", "evaluate")
MATRICES = (".txt", ".txt.gz", ".npy")  # a data folder's thermograms (not a render's PNGs)
_NUMBERS = set(b"0123456789.,;+-eE \t\r\n")


def check_outputs(args) -> None:
    """The command line's check (`args`: its parsed arguments) of a RESULTS command's outputs."""
    if (command := getattr(args, "command", None)) not in RESULTS:
        return
    scored = args.run_dir if command == "evaluate" else None
    for out in filter(None, (getattr(args, "out", None), getattr(args, "sheet", None))):
        check_outside_models(out, command, scored)
    out = Path(args.out) if command in FOLDERS and getattr(args, "out", None) else None
    held = sorted(p.name for p in out.iterdir() if _matrix(p)) if out and out.is_dir() else []
    if held:
        raise OutputPathError(f"{out}: holds thermograms ({held[0]}): a folder of data; the "
                              f"figures and tables {command} writes there would be read back "
                              "as thermograms: give --out a folder of its own")  # fmt: skip


def _matrix(path: Path) -> bool:
    """A thermogram by its name and first bytes (numbers: not a user's notes.txt)."""
    import gzip

    name = path.name.lower()
    if not name.endswith(MATRICES) or not path.is_file():
        return False
    if name.endswith(".npy"):
        return True
    try:
        with (gzip.open if name.endswith(".gz") else open)(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return bool(head) and set(head) <= _NUMBERS
