"""Grad-CAM explanations: the map of one thermogram, and the figure of its panels (panels.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from thermocad.inference.panels import (
    WARNING,
    draw_asymmetry,
    draw_overlay,
    draw_thermogram,
    mirror,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from thermocad.models.bundle import ModelBundle

SICK = 1  # index of the Sick logit (thermocad.CLASSES)


def gradcam(bundle: ModelBundle, array: np.ndarray, unit: str | None = None) -> np.ndarray:
    """Grad-CAM heatmap of the Sick class, shape (H, W) of `array`, scaled to [0, 1]; `unit`
    is the array's (by default the model's)."""
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from thermocad.models.spec import cam_reshape

    array = np.asarray(array, dtype=np.float32)
    model = bundle.model.eval()
    device = next(model.parameters()).device  # --device: the model may sit on a GPU
    tensor = bundle.transform(array, unit or bundle.unit).unsqueeze(0).float().to(device)
    # The bundle's parameters may be frozen; Grad-CAM needs gradients at the target layer.
    with (
        bundle.lock,  # no other forward pass through the hooked layers meanwhile
        torch.enable_grad(),
        GradCAM(model, [bundle.target_layer()], reshape_transform=cam_reshape(model)) as cam,
    ):
        maps = cam(input_tensor=tensor, targets=[ClassifierOutputTarget(SICK)])
    return _to_image_grid(maps[0], array, getattr(bundle.transform, "crop", "none"))


def seen_box(bundle, array: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the part of the frame the network saw (the breast box of a
    transform that crops to it), or None when it saw the whole frame."""
    if getattr(bundle.transform, "crop", "none") != "breasts":
        return None
    from thermocad.preprocess.regions import breast_box

    box = tuple(int(v) for v in breast_box(np.asarray(array, dtype=np.float32)))
    return None if box == (0, array.shape[0], 0, array.shape[1]) else box  # no torso: all of it


def _to_image_grid(cam: np.ndarray, array: np.ndarray, crop: str) -> np.ndarray:
    """Map a model-grid heatmap back onto the thermogram, undoing the EvalTransform's crop/resize."""
    from skimage.transform import resize

    top, bottom, left, right = 0, array.shape[0], 0, array.shape[1]
    if crop == "breasts":  # the network only saw the breast box; the rest of the frame gets 0
        from thermocad.preprocess.regions import breast_box

        top, bottom, left, right = breast_box(array)
    cam = np.nan_to_num(cam.astype(np.float32))
    heat = np.zeros(array.shape, dtype=np.float32)
    heat[top:bottom, left:right] = resize(cam, (bottom - top, right - left), order=1)
    low, high = float(heat.min()), float(heat.max())
    if high - low < 1e-12:
        return np.zeros(array.shape, dtype=np.float32)
    return ((heat - low) / (high - low)).astype(np.float32)


def explain_figure(
    array: np.ndarray,
    heatmap: np.ndarray,
    prob: float,
    threshold: float,
    unit: str = "celsius",
    title: str = "",
    cnn: float | None = None,
    call: bool = True,
    seen: tuple[int, int, int, int] | None = None,
    one_pass: bool = False,
    warning: str = "",
    either_side: bool = False,
) -> Figure:
    """Four panels, two by two: thermogram with colour bar, Grad-CAM overlay (`cnn`, `call`, `seen`,
    `one_pass`, `either_side`: as draw_overlay), mirror, and their difference; `warning` (words.table_warning:
    a model that makes no result) in bold under the title, so that a figure alone says it."""
    import textwrap

    from matplotlib.figure import Figure

    warning = textwrap.fill(warning, 115)  # the figure is 12 inches wide
    # Two by two: 12 inches wide, so that the report's 1200 px column shows its text near full
    # size (a row of four, 17 inches, shrank it to two thirds).
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    draw_thermogram(fig, axes[0], array, unit)
    draw_overlay(fig, axes[1], array, heatmap, prob, threshold, cnn, call, seen, one_pass,
                 either_side)  # fmt: skip
    draw_thermogram(fig, axes[2], mirror(array), unit, "mirrored about the body midline", False)
    draw_asymmetry(fig, axes[3], array, unit)
    head = fig.suptitle(
        (title + "\n" if title else "")
        + "Research software: thermography is an adjunct to mammography, not a diagnosis. "
        + "A bright spot of the map is not evidence of a lesion."  # the figure alone says it
        + "\n " * len(warning.splitlines()),  # lines kept free for the warning, in its colour
        fontsize=10,
    )
    if warning:  # on the title's free last lines (constrained layout keeps them clear)
        from matplotlib.text import Annotation

        fig.add_artist(Annotation(warning, (0.5, 0), xycoords=head, ha="center", va="bottom",
                                  fontsize=10, fontweight="bold", color=WARNING))  # fmt: skip
    # As tall as its text needs: the heading's lines and each row's longest panel title (up to
    # six on the overlay) over two rows of panels 3 inches high; a fixed height let them overlap.
    rows = [max(len(a.get_title().splitlines()) for a in pair) for pair in (axes[:2], axes[2:])]
    fig.set_size_inches(12, 6.4 + 0.19 * (len(head.get_text().splitlines()) + sum(rows)))
    return fig


def differences_only(bundle) -> bool:
    """Whether the network sees only the thermogram minus its mirror (the asymmetry channel
    alone): the same difference, opposite in sign, on both sides of the midline."""
    return tuple(getattr(bundle.transform, "channels", ())) == ("asymmetry",)


def map_cnn(bundle, array: np.ndarray, cnn, base, unit: str | None = None) -> float | None:
    """The CNN half's P(Sick) as Grad-CAM explains it (one pass, no augmented copies), for a
    model that averages it with the baseline; None for a CNN alone."""
    if base is None:
        return None
    if not bundle.views():
        return float(cnn[0])
    return float(bundle.predict([array], tta=False, cnn_only=True, unit=unit)[0])


def explain_array(bundle: ModelBundle, array: np.ndarray, unit: str, title: str = "",
                  threshold: float | None = None, call: bool = True,
                  parts: tuple | None = None) -> Figure:  # fmt: skip
    """Predict one array (unless its `parts`, predict_parts' answer, are known) and build its
    explanation figure, the call made at `threshold` (default: the model's own, from
    model.json); none unless `call`. A model that makes no result says so under the title."""
    from thermocad.models.words import table_warning

    cnn, base = parts if parts is not None else bundle.predict_parts([array], unit=unit)
    prob = float(bundle.average(cnn, base)[0])
    heat = gradcam(bundle, array, unit=unit)
    threshold = bundle.threshold if threshold is None else threshold
    warning = table_warning(bundle.meta, "its model.json") or ""  # as predict's tables say it
    return explain_figure(array, heat, prob, threshold, unit=unit, title=title,
                          cnn=map_cnn(bundle, array, cnn, base, unit), call=call,
                          seen=seen_box(bundle, array), one_pass=bool(bundle.views()),
                          warning=warning, either_side=differences_only(bundle))  # fmt: skip


def brief_line(bundle, name: str, prob: float, cnn, base, void: str = "") -> str:
    """notes.result_line in a few words, for one file of many (`explain` on a folder): the
    call, and whose it is where the mean's halves disagree."""
    from thermocad.inference.notes import above, called, deciding_half, shown

    p, t = shown(prob, bundle.threshold)
    if void:
        return f"{name}: P(Sick) = {p}, no call: {void}"
    call = called(prob, bundle.threshold)
    line = f"{name}: P(Sick) = {p}, {above(call)} the threshold {t}: called {call}"
    if base is not None:
        line += f" (CNN {cnn[0]:.4f}, baseline {base[0]:.4f}"
        whose = deciding_half(bundle.threshold, cnn, base, call)
        line += f"; the halves disagree: the {whose}'s call)" if whose else ")"
    return line


def explain_file(
    run_dir: str | os.PathLike,
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    force: bool = False,
    allow_unit_mismatch: bool = False,
    device: str = "auto",
    bundle: ModelBundle | None = None,
    name: str | None = None,
    brief: bool = False,
) -> Path:
    """Write `<out_dir>/<file stem>_gradcam.png` (or `name`: figures.figure_names gives files
    of the same name names of their own) explaining the model's prediction for `path`.
    `bundle`: the model of `run_dir`, loaded once for many files (figures.load_explained),
    else loaded here. A figure already there, or written there meanwhile, is replaced only
    with `force`. `brief`: the log says the call in one short line (one file of many), not
    the whole result the web app shows."""
    import textwrap

    from thermocad.evaluation.lockbox import seen_patients
    from thermocad.inference.figures import load_explained, own_name, read_checked, write_figure
    from thermocad.inference.notes import input_note, result_line, void_note
    from thermocad.inference.predict import check_unit
    from thermocad.inference.training_women import training_file_note
    from thermocad.preprocess.plausible import check_plausible
    from thermocad.utils.out_names import plot_text
    from thermocad.utils.progress import log

    bundle = load_explained(run_dir, device) if bundle is None else bundle
    path = Path(path)
    thermogram, target = read_checked(path, out_dir, name, force)
    check_unit(thermogram, bundle.unit, allow_unit_mismatch)
    check_plausible(thermogram)
    # The file as given where its figure's name is not its own (another file has its name).
    shown_name = path.name if name in (None, own_name(path)) else str(path)
    title = plot_text(shown_name)  # a name that is not UTF-8 cannot be drawn as it is, nor $
    seen = seen_patients(Path(run_dir)) if Path(run_dir).is_dir() else set()
    void = void_note(bundle.meta, thermogram)  # said by the result line: not again as a note
    notes = (  # hers first: if she trained the model, nothing else matters as much
        training_file_note(path, seen, bundle.meta, thermogram.array)[0],
        "" if void else input_note(bundle.meta, thermogram),
    )
    if note := "; ".join(n for n in notes if n):  # as predict and the web app say it
        title += "\n" + textwrap.fill(f"note: {note}", 125)
    cnn, base = bundle.predict_parts([thermogram.array], unit=thermogram.unit)
    prob = float(bundle.average(cnn, base)[0])
    said = brief_line if brief else result_line
    log(said(bundle, shown_name, prob, cnn, base, void))  # the path where names clash
    if note:  # after its file's line, named: never read as the next file's
        log(f"note: {shown_name}: {note}")
    fig = explain_array(bundle, thermogram.array, thermogram.unit, title, call=not void,
                        parts=(cnn, base))  # fmt: skip
    from thermocad.inference.provenance import audit_text

    return write_figure(fig, target, force, audit_text(bundle, path))


def explain_paths(
    run_dir: str | os.PathLike,
    paths: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    force: bool = False,
    allow_unit_mismatch: bool = False,
    device: str = "auto",
) -> tuple[list[Path], int]:
    """`thermocad explain`: one figure per file, folders searched as predict searches them;
    returns the figures written and how many files failed. The model is loaded once, and what
    concerns the call (the model, `device`, `out_dir`, nothing to explain) is an error; with
    several files, a file that fails is logged and the others are still explained."""
    from thermocad.inference.figures import (
        check_out_dir,
        figure_names,
        files_in,
        load_explained,
        own_name,
    )
    from thermocad.models.words import edited_threshold_note, synthetic_women_note
    from thermocad.utils.errors import ConfigError, ThermocadError
    from thermocad.utils.files import check_apart
    from thermocad.utils.progress import log

    check_out_dir(out_dir)
    given = [Path(p) for p in ([paths] if isinstance(paths, str | os.PathLike) else paths)]
    for item in given:  # a figure among thermograms is read back as one
        if item.exists():
            folder = item if item.is_dir() else item.parent
            check_apart(out_dir, folder if folder != Path(".") else Path.cwd())
    bundle = load_explained(run_dir, device)
    files, problems = files_in(given)
    if not files:  # said as predict says it: one line
        raise ConfigError("nothing to explain: " + "; ".join(f"{w}: {y}" for w, y in problems[:3]))
    names = figure_names(files)  # files of the same name get figures of their own
    many = len(names) > 1  # a short line each, the folder said once at the end
    # Said once, as predict says them (each file's short line leaves an edited threshold out).
    notes = [many and edited_threshold_note(bundle.meta), synthetic_women_note(bundle.meta, files)]
    for line in [f"note: {n}" for n in notes if n] + [f"failed: {w}: {y}" for w, y in problems]:
        log(line)
    written, failed = [], len(problems)
    for file, name in names.items():
        try:
            path = explain_file(run_dir, file, out_dir, force=force, bundle=bundle, name=name,
                                allow_unit_mismatch=allow_unit_mismatch,
                                brief=many)  # fmt: skip
        except ThermocadError as exc:
            if len(names) == 1 and not problems:  # one file: its error is the call's
                raise
            log(f"failed: {exc}")  # several: the others are still explained
            failed += 1
            continue
        renamed = name != own_name(file)
        if not many or renamed:
            log(f"wrote {path}" + (f" (for {file}: another file given has its name)" * renamed))
        written.append(path)
    if many:  # (none written: the folder may not even exist)
        failures = f"; {failed} file{'s' * (failed != 1)} failed (said above)" if failed else ""
        log(f"wrote {len(written)} figure{'s' * (len(written) != 1)} to {out_dir}{failures}")
    return written, failed
