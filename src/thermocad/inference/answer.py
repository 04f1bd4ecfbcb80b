"""One request of the web app: a private copy of the upload, checked, predicted and explained."""

from __future__ import annotations

import io
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thermocad.inference.uploads import (  # noqa: F401 - re-exported: the app, its tests
    ALLOWED_SUFFIXES,
    MAX_UPLOAD_MB,
    check_upload,
    in_users_words,
    private_copy,
    read_upload,
    unforeseen,
)
from thermocad.inference.verdict import WAITING
from thermocad.io.figure_mark import PNG_METADATA
from thermocad.utils.errors import ThermocadError

if TYPE_CHECKING:
    import numpy as np

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

# Uploads analysed at once, the page's and the API's (/score) alike, UPLOADS their queue's id
# (example clicks: one more): the app's memory holds a few parsed uploads; others wait.
CONCURRENCY, UPLOADS = 2, "uploads"


def allow_label(unit: str) -> str:
    """The checkbox that lets a file of another unit than the model's (`unit`) be scored: what
    it does, as the page shows it and its messages name it."""
    if unit == "intensity":
        return ("Score a temperature file (°C) with this grey-image model anyway: P(Sick) is "
                "shown, but no Sick/Healthy call is made")  # fmt: skip
    return ("Score a grey 8/16-bit image with this temperature (°C) model anyway: P(Sick) is "
            "shown, but no Sick/Healthy call is made")  # fmt: skip


def slot(text: str) -> str:
    """A figure's place while it has none (no file yet, one being analysed, one not analysed):
    a dashed box of the figure's own size, so that the page does not jump when it comes."""
    return ('<div class="figure-slot" style="aspect-ratio:5/4;width:100%;max-width:min(100%,'
            "520px);box-sizing:border-box;display:flex;align-items:center;justify-content:"
            "center;text-align:center;padding:1em;border:1px dashed #999;border-radius:6px;"
            f'color:inherit">{text}</div>')  # fmt: skip


THERMOGRAM_SLOT = slot("The thermogram is shown here.")
OVERLAY_SLOT = slot("Its Grad-CAM overlay is shown here.")


@dataclass
class Answer:
    """What the page shows for one file: images (inline HTML), the result line, a status and
    the verdict (the call, no call or an error, in large type above the details); a figure
    it has none of keeps its place (`slot`), as does the verdict (`verdict.waiting`)."""

    thermogram: str = THERMOGRAM_SLOT
    overlay: str = OVERLAY_SLOT
    result: str = ""
    status: str = ""
    verdict: str = WAITING

    def outputs(self) -> tuple[Any, ...]:
        # The trailing None empties the upload box, ready for the next file.
        return self.thermogram, self.overlay, self.result, self.status, self.verdict, None


def analyse(bundle: ModelBundle, path: Path, allow_unit_mismatch: bool = False,
            seen: frozenset[str] = frozenset(), example: str = "") -> Answer:  # fmt: skip
    """Read, predict and explain one file; raises ThermocadError for files a user got wrong.
    `seen`: the patient numbers that trained the model (a note names a file of one of them);
    `example`: a synthetic example's label, its generator's truth in it."""
    from thermocad.inference.explain import map_cnn
    from thermocad.inference.notes import input_notes, result_line, void_note
    from thermocad.inference.training_women import training_file_note
    from thermocad.inference.verdict import call_box

    thermogram = read_upload(path, bundle.unit, allow_unit_mismatch)
    array = thermogram.array
    with bundle.lock:  # the PyTorch model's: its map and P(Sick) as one (Predictor.lock)
        cnn, base = bundle.predict_parts([array], unit=thermogram.unit)
        heat = _heatmap(bundle, array, thermogram.unit)
        explained = map_cnn(bundle, array, cnn, base, thermogram.unit) if heat is not None else None
    prob = float(bundle.average(cnn, base)[0])
    void = void_note(bundle.meta, thermogram)
    result = result_line(bundle, path.name, prob, cnn, base, void)
    # Each computed once; with no call, the notes that void it are said first (`void`), and
    # not again here (input_notes gives no other note then).
    found = {k: v for k, v in input_notes(bundle.meta, thermogram).items()
             if not (v and v in void)}  # fmt: skip
    # By its bytes (a training file under any name), else by the patient number of its name.
    training = training_file_note(path, seen, bundle.meta, array)[0]
    if note := "; ".join(n for n in [training, *found.values()] if n):  # hers first
        result += f" Note: {note}."
    from thermocad.inference.provenance import scored_line

    result += " " + scored_line(bundle, path)
    return Answer(
        thermogram=_thermogram(array, thermogram.unit, path.name),
        overlay=_overlay(bundle, array, heat, prob, explained, call=not void),
        result=result,
        verdict=call_box(bundle, path.name, prob, void, training, found, (cnn, base), example),
        status=f"{path.name}: analysed ({thermogram.source_format}, {array.shape[0]}x{array.shape[1]}).",
    )


def can_explain(bundle: ModelBundle | OnnxModel) -> bool:
    """Grad-CAM needs the PyTorch model and grad-cam ([explain]); an ONNX model has neither."""
    return not why_unexplained(bundle)


def why_unexplained(bundle: ModelBundle | OnnxModel) -> str:
    """'' or why the page shows no Grad-CAM map."""
    from thermocad.inference.loading import is_onnx
    from thermocad.utils.extras import available

    if is_onnx(bundle):
        return ("No Grad-CAM map: an exported .onnx model predicts only; serve its run folder "
                "to see where the CNN looked.")  # fmt: skip
    if not available("pytorch_grad_cam"):
        return "No Grad-CAM map: it needs the [explain] extra (pip install 'thermocad[explain]')."
    return ""


def _heatmap(bundle: ModelBundle | OnnxModel, array: np.ndarray, unit: str) -> np.ndarray | None:
    """Grad-CAM's heatmap, or None where the model cannot be explained here."""
    if not can_explain(bundle):
        return None
    from thermocad.inference.explain import gradcam

    return gradcam(bundle, array, unit=unit)


OVERLAY_CAPTION = (
    "Grad-CAM: where the CNN looked for signs of Sick, its colours scaled to this image alone. "
    "A bright spot is not a lesion, and a Healthy call has one too; on DMR-IR such maps often "
    "follow the chest's outline and the box's edges rather than a breast."
)
BASELINE_CAPTION = " The baseline half ({}) has no map."
EITHER_SIDE_CAPTION = (
    " This network sees only the difference between the two sides, so a spot on one breast "
    "may stand for a difference in the other."
)


def _overlay(bundle, array: np.ndarray, heat: np.ndarray | None, prob: float, cnn: float | None,
             call: bool) -> str | None:  # fmt: skip
    """The Grad-CAM overlay as inline PNGs (light, dark) with its caption; None: no heatmap."""
    if heat is None:
        return None
    from thermocad.inference.explain import differences_only, seen_box
    from thermocad.inference.notes import called, shown
    from thermocad.inference.panels import draw_overlay, overlay_title
    from thermocad.models.words import statistics_words

    seen, one_pass = seen_box(bundle, array), bool(bundle.views())
    made = called(prob, bundle.threshold, call)
    alt = (f"Grad-CAM overlay of the CNN; the model's P(Sick) {shown(prob, bundle.threshold)[0]}, "
           f"{f'called {made}' if made else 'no call'}")  # fmt: skip
    images = _themed(alt, draw_overlay, array, heat, prob, bundle.threshold, cnn, call, seen,
                     one_pass, titled=False)  # fmt: skip
    # What the figure's title says on the command line, as text here: it reflows on a phone,
    # where a title drawn into the image would shrink with it past reading. Its first line,
    # the call, is the verdict's; either side's is the caption's own below.
    title = overlay_title(prob, bundle.threshold, cnn, call, seen is not None, one_pass,
                          either_side=False, empty=not heat.any())[1:]  # fmt: skip
    title = "; ".join(line.replace("\n", " ") for line in title)
    caption = (f"{title[0].upper()}{title[1:]}. " if title else "") + OVERLAY_CAPTION
    caption += BASELINE_CAPTION.format(statistics_words(bundle.unit)) if cnn is not None else ""
    caption += EITHER_SIDE_CAPTION if differences_only(bundle) else ""
    return f"<figure>{images}<figcaption>{caption}</figcaption></figure>"


# The page's figures: drawn small with large type, so that the text in them (the colour bars'
# scales) stays readable when a phone shrinks them to its width; their titles are the page's
# text (`_overlay`, `_thermogram`).
PANEL_INCHES, PANEL_FONT_PT, PANEL_PIXELS = (5.0, 4.0), 13, 640


# Gradio's dark theme (`dark` on the page's body): each figure drawn again with light type on
# the page's dark ground (DARK_GROUND, measured in Chromium; opaque, so that a saved copy stays
# readable) shown instead (a white figure glared there); a page without the style: light only.
DARK_GROUND = "#0f0f11"
DARK_TYPE = {"text.color": "#e5e7eb", "axes.labelcolor": "#e5e7eb", "xtick.color": "#e5e7eb",
             "ytick.color": "#e5e7eb", "axes.edgecolor": "#9ca3af"}  # fmt: skip
THEME_LOCK = threading.Lock()
THEMES_CSS = ("<style>.dark .tc-light{display:none!important}"
              ".dark .tc-dark{display:block!important}</style>")  # fmt: skip


def _themed(alt: str, draw, *args, **kwargs) -> str:
    """The figure `draw` makes, as a light and a dark <img>, each shown in its theme."""
    return THEMES_CSS + "".join(
        _inline_png(_one_panel(draw, *args, dark=dark, **kwargs), alt, dark)
        for dark in (False, True))  # fmt: skip


def _one_panel(draw, *args, dark: bool = False, **kwargs) -> bytes:
    """The figure `draw` makes as PNG in its theme's type; matplotlib's settings are global, so
    set and used under THEME_LOCK (threads had put one's dark type in another's light figure)."""
    import matplotlib
    from matplotlib.figure import Figure

    buffer, ground = io.BytesIO(), DARK_GROUND if dark else "white"
    theme = {"font.size": PANEL_FONT_PT, **(DARK_TYPE if dark else {})}
    with THEME_LOCK, matplotlib.rc_context(theme):
        fig = Figure(figsize=PANEL_INCHES, layout="constrained")
        draw(fig, fig.subplots(), *args, **kwargs)
        fig.savefig(
            buffer,
            format="png",
            dpi=PANEL_PIXELS / PANEL_INCHES[0],
            facecolor=ground,
            metadata=PNG_METADATA,
        )
    return buffer.getvalue()


def _thermogram(array: np.ndarray, unit: str, name: str) -> str:
    """The thermogram as an inline PNG, its sides said in the caption."""
    from thermocad.inference.panels import SIDES, draw_thermogram
    from thermocad.utils.out_names import printable_name

    image = _themed(f"thermogram {printable_name(name)}", draw_thermogram, array, unit, title=None)
    return f"<figure>{image}<figcaption>The thermogram; {SIDES}.</figcaption></figure>"


def _inline_png(png: bytes, alt: str, dark: bool = False) -> str:
    """The figure as an <img> with a PNG data URL: rendered in memory, never a file on disk
    (a gr.Image output would be a copy in Gradio's cache until its sweep); `dark`: the dark
    theme's, on its ground, hidden unless the page is dark (THEMES_CSS)."""
    import base64
    import html

    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(alt)  # it may hold an uploaded file's name
    # As wide as its column and no wider: on a phone it shrinks with its °C colour bar in view
    # (a minimum width scrolled it sideways, hiding the bar); on a wide screen its type is
    # kept from growing past the page's own.
    kind, shown = ("tc-dark", "none") if dark else ("tc-light", "block")
    return (f'<img class="{kind}" src="data:image/png;base64,{data}" alt="{alt}" '
            f'style="display:{shown};width:100%;max-width:min(100%,520px);height:auto">')  # fmt: skip


def answer_file(
    bundle: ModelBundle, path: str | None, allow_unit_mismatch: bool,
    seen: frozenset[str] = frozenset(), example: bool | str = False,
) -> tuple[Any, ...]:  # fmt: skip
    """The page's outputs for a file path; errors become a readable status, never a traceback.
    `example`: the file is one of the app's synthetic examples, clicked rather than uploaded
    (its label, "synthetic #1, generated Sick": the call box says whether the call matches).

    The file is Gradio's, read into a private copy per request (uploads.private_copy)."""
    if not path:
        return Answer(status="Upload a thermal text matrix, .npy or image file.").outputs()
    from thermocad.inference.predict import ALLOW_HINT

    upload, copy = Path(path), None
    try:
        with private_copy(upload) as copy:
            answer = analyse(bundle, copy, allow_unit_mismatch, seen,
                             example if isinstance(example, str) else "")  # fmt: skip
    except ThermocadError as exc:
        message = in_users_words(exc, upload, copy)  # the name uploaded, not the server's paths
        again = "click the example again" if example else "upload the file again"
        message = message.replace(ALLOW_HINT, f"tick '{allow_label(bundle.unit)}' and {again}")
        answer = _error(message)
    except FileNotFoundError:
        answer = _error(f"{upload.name}: the example file is gone (its folder was removed); "
                        "restart the app" if example else
                        f"{upload.name}: the upload is gone; upload it again")  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the page must answer, whatever the file holds
        traceback.print_exc()
        answer = _error(unforeseen(upload.name, exc))
    return answer.outputs()


def _error(message: str) -> Answer:
    """A file the app could not analyse: no result, the message as status and as the verdict."""
    from thermocad.inference.verdict import verdict

    return Answer(status=f"Error: {message}", verdict=verdict("error", message))
