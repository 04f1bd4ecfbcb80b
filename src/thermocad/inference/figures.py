"""explain's command-level steps: the model (loaded once for every file), where each figure
goes (a name of its own within the call, checked before any work) and writing it without
replacing a figure that appeared meanwhile (unless --force)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.io.figure_mark import PNG_METADATA
from thermocad.utils.out_names import fitting_name, portable
from thermocad.utils.random_state import keeps_random_state

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from thermocad.io.thermal import Thermogram
    from thermocad.models.bundle import ModelBundle

SUFFIX = "_gradcam.png"  # FILE's stem + SUFFIX, in --out
FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".pdf")  # an --out named as a figure


def own_name(path: str | os.PathLike) -> str:
    """The figure's name for a file whose name no other file given shares: its name without
    its thermal suffix (`T0001.txt.gz` -> `T0001_gradcam.png`, as figure_names has it)."""
    from thermocad.io.find import strip_suffix

    return fitting_name(portable(strip_suffix(Path(path).name)), SUFFIX)  # long: shortened


def files_in(given: Iterable[str | os.PathLike]) -> tuple[list[str], list[tuple[str, str]]]:
    """explain's files: each FILE as given, each folder's thermal files (as predict walks it);
    and (where, why) for what a folder held that cannot be explained, or a folder of none."""
    from thermocad.io.find import walk_thermal_files

    files, problems = [], []
    for item in map(str, given):
        if not Path(item).is_dir():
            files.append(item)
            continue
        found, bad = walk_thermal_files(item)
        files += [str(f) for f in found]
        problems += bad + [(item, "folder contains no thermal files")] * (not found and not bad)
    return files, problems


@keeps_random_state  # building the network draws from torch's generator (a notebook review)
def load_explained(run_dir: str | os.PathLike, device: str = "auto") -> ModelBundle:
    """The PyTorch model Grad-CAM explains, with its warnings logged (each once): an exported
    .onnx file, a missing extra, a bad model or --device are the command's errors."""
    from thermocad.inference.loading import load_model
    from thermocad.models.words import log_model_warnings
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.extras import require

    if Path(run_dir).suffix.lower() == ".onnx":
        raise ConfigError(f"{run_dir}: Grad-CAM needs the PyTorch model; give its run folder")
    # [explain] brings [train] too: one install whichever is missing.
    require("torch", "timm", "pytorch_grad_cam", extra="explain")
    bundle = load_model(run_dir, device)
    log_model_warnings(bundle.meta)
    return bundle


def check_out_dir(out_dir: str | os.PathLike, stem: str = "FILE") -> None:
    """Refuse an image's name as --out: it is the folder the figures go in."""
    from thermocad.utils.errors import ConfigError

    out = Path(out_dir)
    if out.suffix.lower() in FIGURE_SUFFIXES and not out.is_dir():
        raise ConfigError(f"{out_dir}: --out is the folder the figure goes in (as "
                          f"FOLDER/{stem}{SUFFIX}), not the image's name")  # fmt: skip


def figure_names(files: Iterable[str | os.PathLike]) -> dict[Path, str]:
    """Each file's figure name in --out, unique within the call, decided before any is drawn
    (as `render` names its PNGs): the file's stem + _gradcam.png. Files whose names would
    collide (a/T9001.txt and b/T9001.txt; T9001.txt and T9001.npy; names differing only in
    case, which collide on macOS and Windows) keep their suffix (T9001.npy_gradcam.png), and
    any still colliding get ~2, ~3, ... in the order given. A file given twice (or a link to
    it) is explained once, and said."""
    from thermocad.io.find import resolved, strip_suffix
    from thermocad.utils.progress import log

    given = [Path(f) for f in files]
    first: dict[Path, Path] = {}
    for path in given:
        first.setdefault(resolved(path), path)
    paths = list(first.values())
    if len(paths) < len(given):
        log(f"note: {len(given) - len(paths)} repeated file(s) explained once (the same file "
            "given twice, or a link to it)")  # fmt: skip
    stems = {path: portable(strip_suffix(path.name)) for path in paths}  # T0013.txt.gz: T0013
    count: dict[str, int] = {}
    for path in paths:
        count[stems[path].casefold()] = count.get(stems[path].casefold(), 0) + 1
    used = {stems[p].casefold() for p in paths if count[stems[p].casefold()] == 1}
    names = {}
    for path in paths:
        stem = stems[path]
        if count[stem.casefold()] > 1:
            base = stem = portable(path.name)
            n = 1
            while stem.casefold() in used:
                n += 1
                stem = f"{base}~{n}"
            used.add(stem.casefold())
        names[path] = fitting_name(stem, SUFFIX)  # a name too long for the file system: shortened
    return names


def read_checked(path: Path, out_dir: str | os.PathLike, name: str | None,
                 force: bool) -> tuple[Thermogram, Path]:  # fmt: skip
    """The thermogram and its figure's path (`name` in `out_dir`, default the file's stem +
    _gradcam.png), the input read before the output is checked (a folder given as FILE is
    said as such, whatever --out). A figure inside the thermogram's own folder is refused, as
    every command's figures there are: a later walk of that folder (predict, prepare, explain
    of the folder) read it back as a pseudo-colour thermogram and failed on it."""
    from thermocad.io.thermal import read_thermal
    from thermocad.utils.files import check_apart, check_writable

    thermogram = read_thermal(path)
    check_out_dir(out_dir, path.stem)
    check_apart(out_dir, path.absolute().parent)
    return thermogram, check_writable(Path(out_dir) / (name or own_name(path)), force)


def write_figure(fig: Figure, target: Path, force: bool, comment: str = "") -> Path:
    """The figure as a PNG at `target`, atomically; a file there (another command's figure,
    written since the start) is replaced only with `force`. `comment`: what scored it and when
    (provenance.audit_text), in the PNG's Comment text chunk."""
    from thermocad.utils.files import atomic_path

    with atomic_path(target, replace=force) as tmp, warnings.catch_warnings():
        # A file name in a script the font lacks (CJK) is drawn as boxes; the log names it.
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
        fig.savefig(tmp, dpi=110, format="png",
                    metadata={**PNG_METADATA, **({"Comment": comment} if comment else {})})  # fmt: skip
    return target
