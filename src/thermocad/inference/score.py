"""The web app's API for programs: one uploaded file scored as `predict` scores it, answered as
predict's JSON row (prob_sick, decision, threshold, each half, model, note...), without the
page's figures and prose (an API review, 2026-12-07: a script had to scrape P(Sick) from a
sentence, and received 1.1 MB of drawings per file). A file it cannot score is an error the
client raises (gradio_client's AppError), never a result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from thermocad.utils.errors import ThermocadError

if TYPE_CHECKING:
    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle


def score_file(bundle: ModelBundle | OnnxModel, path: Path, allow_unit_mismatch: bool = False,
               seen: frozenset[str] = frozenset(), name: str | None = None) -> dict[str, Any]:  # fmt: skip
    """predict's row for the file at `path` (named `name`, the upload's own name), its notes
    as the app's (room, skin, view, frame, training women: `seen`, as in answer.analyse)."""
    from thermocad.inference.notes import input_notes, tta_row_note, void_note
    from thermocad.inference.provenance import run_record
    from thermocad.inference.tables import file_row
    from thermocad.inference.training_women import training_file_note
    from thermocad.inference.uploads import read_upload

    thermogram = read_upload(path, bundle.unit, allow_unit_mismatch)
    with bundle.lock:
        cnn, base = bundle.predict_parts([thermogram.array], unit=thermogram.unit)
    prob = float(bundle.average(cnn, base)[0])
    void = void_note(bundle.meta, thermogram)
    found = input_notes(bundle.meta, thermogram)
    row_note = tta_row_note(bundle.meta, None, bundle.views(None))  # in the order predict's are
    note = "; ".join(n for n in [*found.values(), row_note] if n)
    halves = (None, None) if base is None else (cnn[0], base[0])
    row = file_row(Path(name or path.name), prob, bundle, run_record(bundle), note, bool(void),
                   halves, content=path)  # fmt: skip
    if training := training_file_note(path, seen, bundle.meta, thermogram.array)[0]:
        row["note"] = "; ".join(n for n in (training, row["note"]) if n)  # first, as predict
    return row


def score_upload(bundle: ModelBundle | OnnxModel, path: str | None, allow: bool,
                 seen: frozenset[str] = frozenset()) -> dict[str, Any]:  # fmt: skip
    """The API's answer for Gradio's copy of an upload: read from a private copy, as the page's
    (answer.answer_file); a ThermocadError becomes gr.Error, its server paths replaced by the
    upload's name. `allow`: a boolean (address.upload_handler checks it)."""
    import traceback

    import gradio as gr

    from thermocad.inference.predict import ALLOW_HINT
    from thermocad.inference.uploads import in_users_words, private_copy, unforeseen

    if not path:
        raise gr.Error("no file: upload a thermal text matrix, .npy or image file")
    upload, copy = Path(path), None
    try:
        with private_copy(upload) as copy:
            return score_file(bundle, copy, bool(allow), seen, upload.name)
    except ThermocadError as exc:
        message = in_users_words(exc, upload, copy).replace(  # the API's own way to score it
            ALLOW_HINT, "send True as the second argument (the page's checkbox)"
        )
        raise gr.Error(message, print_exception=False) from None
    except FileNotFoundError:
        raise gr.Error(f"{upload.name}: the upload is gone; upload it again") from None
    except Exception as exc:  # a bug, or a file no check foresaw: said, its traceback logged
        traceback.print_exc()
        raise gr.Error(unforeseen(upload.name, exc), print_exception=False) from None


def add_score_api(bundle: ModelBundle | OnnxModel, seen: frozenset[str], upload, allow) -> None:
    """The page's `/score` endpoint (inside build_app's Blocks): the page's own upload and box
    as its inputs, predict's row as JSON its output, no component shown; the training women
    named only to a caller on this machine, as on the page (address.upload_handler)."""
    import functools

    import gradio as gr

    from thermocad.inference.address import upload_handler
    from thermocad.inference.answer import CONCURRENCY, UPLOADS

    row = gr.JSON(visible=False)
    gr.Button("Score", visible="hidden").click(
        upload_handler(functools.partial(score_upload, bundle), seen, gr.Request),
        inputs=[upload, allow], outputs=row, api_name="score", concurrency_limit=CONCURRENCY,
        concurrency_id=UPLOADS, show_progress="hidden")  # fmt: skip
