"""Gradio web app: upload a thermogram, see P(Sick), the decision and a Grad-CAM overlay."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.inference.address import (
    LOCAL_HOSTS,
    address_lines,
    check_address,
    check_root_path,
    upload_handler,
)
from thermocad.inference.answer import (  # noqa: F401 - analyse, answer_file: re-exported
    CONCURRENCY,
    MAX_UPLOAD_MB,
    OVERLAY_SLOT,
    THERMOGRAM_SLOT,
    UPLOADS,
    allow_label,
    analyse,
    answer_file,
    can_explain,
    why_unexplained,
)
from thermocad.inference.at_rest import rest_when_free
from thermocad.inference.examples import (  # noqa: F401 - synthetic_examples, example_shape: re-exported
    FIRST_EXAMPLE_ID,
    example_kind,
    example_shape,
    examples_folder,
    synthetic_examples,
)
from thermocad.inference.score import add_score_api
from thermocad.inference.upload_quota import quota_middleware
from thermocad.inference.uploads import private_upload_folder, upload_box
from thermocad.inference.verdict import WAITING, verdict, waiting
from thermocad.utils.markdown import md_text

if TYPE_CHECKING:
    import gradio as gr

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

DISCLAIMER = (
    "**Research software, not a medical device.** Thermography is cleared only as an adjunct to "
    "mammography, never as a stand-alone diagnosis. P(Sick) is the model's score, not a "
    "calibrated risk of cancer: the share of Sick women it was trained on is far above that of "
    "any screening population, and only which side of the threshold a score falls on was "
    "validated. It must not be used to decide on anyone's care."
)


# Run once by the page (assets/page.js): the result and status read-only instead of disabled
# (reachable by Tab and screen readers), and every file chosen or dropped clears the last
# result at once (through PENDING_JS), so an upload that never reaches the server (over the
# size limit, which Gradio enforces with the same figure, the server stopped, the network
# down) leaves no other file's result standing; a file over the limit gets the verdict box's
# "Not analysed" (OVER_VERDICT, its name put in by the page, escaped).
SWEEP = (600, 600)  # Gradio's delete_cache: every 10 minutes, uploads older than 10 go
UPLOAD_LABEL = f"Thermal file (DMR text matrix, .npy or image; at most {MAX_UPLOAD_MB} MiB)"
OVER_VERDICT = verdict("error", f"FILE_NAME: not analysed: over the {MAX_UPLOAD_MB} MiB limit")
PAGE_JS = (
    (Path(__file__).parent / "assets" / "page.js")
    .read_text(encoding="utf-8")
    .replace("OVER_VERDICT", json.dumps(OVER_VERDICT))
    .replace(
        "FAILED_VERDICT", json.dumps(verdict("error", "FILE_NAME: not analysed; Status says why"))
    )
    .replace("WAITING_VERDICT", json.dumps(waiting("FILE_NAME: being analysed\u2026")))
    .replace("UPLOAD_LABEL", json.dumps(UPLOAD_LABEL + ": choose or drop a file"))
    .replace("MAX_UPLOAD_MB", str(MAX_UPLOAD_MB))
)


# The hidden #pending button's click, in the browser only: empties the figures (to their places)
# and the Result, and says in Status and the verdict what page.js left in window.thermocad*;
# through Gradio's state, so the answer replaces it even when the same as the last (a file again).
PENDING_JS = (f"() => [{json.dumps(THERMOGRAM_SLOT)}, {json.dumps(OVERLAY_SLOT)}, '', "
              f"window.thermocadPending || '', window.thermocadVerdict || {json.dumps(WAITING)}]")  # fmt: skip


def build_app(
    run_dir: str | os.PathLike,
    examples: Sequence[str | os.PathLike] | dict[Path, str] | None = None,
    bundle: ModelBundle | OnnxModel | None = None,
    name_training_women: bool = True,
) -> gr.Blocks:
    """The Gradio page for the model in `run_dir` (a run folder or an exported .onnx file);
    `examples` default to fresh synthetic files in a temporary folder removed at exit (serve()
    passes its own, removed when it stops); `name_training_women` False (serve() beyond this
    machine): no note says a file's patient number is a training woman's (address.UNNAMED).
    Its queue polls at rest every 50 ms (at_rest.py); calling `.queue()` on it makes a new
    queue with Gradio's 1 ms."""
    private_upload_folder()  # before Gradio reads GRADIO_TEMP_DIR
    import gradio as gr

    from thermocad.evaluation.lockbox import seen_patients
    from thermocad.inference.loading import load_model

    bundle = bundle or load_model(run_dir)
    # The women who trained it (trained_on.csv, or an .onnx's record): their uploads get a note.
    seen = frozenset(seen_patients(Path(run_dir)) if name_training_women else ())
    if examples is None:
        examples = synthetic_examples(examples_folder(), **example_kind(bundle.meta))
    # Gradio owns its upload cache (never deleted here): its sweep removes uploads in 10-20 min.
    # The examples are not in it (_add_examples).
    with gr.Blocks(title="thermocad", delete_cache=SWEEP) as demo:
        gr.Markdown(_header(bundle))
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")
        with gr.Row():
            # No file_types: Gradio would refuse another type before the handler runs, leaving
            # the previous file's result on the page; check_upload answers it instead.
            with gr.Column():
                upload = upload_box(label=UPLOAD_LABEL, elem_id="upload")
                allow = gr.Checkbox(label=allow_label(bundle.unit), value=False)
            with gr.Column():  # the verdict first: beside the upload, or under it on a phone
                call = gr.HTML(WAITING, elem_id="verdict")
                # Its notes in view on a phone (up to 40 lines); a result's usual height kept
                # before one comes, so that the figures below do not jump down when it does.
                result = gr.Textbox(label="Result", interactive=False, elem_id="result",
                                    lines=8, max_lines=40)  # fmt: skip
                status = gr.Textbox(label="Status", interactive=False, elem_id="status")
        thermogram, overlay = _figures(bundle)
        outputs = [thermogram, overlay, result, status, call, upload]
        pending = gr.Button("Clear the last result", visible="hidden", elem_id="pending")
        pending.click(None, js=PENDING_JS, outputs=outputs[:5], queue=False)
        # The spinner in the verdict's place: Status keeps its words.
        analysed = upload.upload(
            upload_handler(functools.partial(answer_file, bundle), seen, gr.Request),
            inputs=[upload, allow], outputs=outputs, api_name="analyse",
            concurrency_limit=CONCURRENCY, concurrency_id=UPLOADS, show_progress_on=call)  # fmt: skip
        add_score_api(bundle, seen, upload, allow)  # for programs: predict's row, no figures
        if examples:  # the file chosen last is the one answered: each choice cancels the other's
            clicked = _add_examples(bundle, examples, allow, outputs, [analysed])
            upload.upload(None, cancels=[clicked])
        demo.load(None, js=PAGE_JS)
    rest_when_free(demo)  # Gradio's queue polls every 1 ms at rest
    return demo


def _figures(bundle: ModelBundle | OnnxModel) -> tuple[gr.HTML, gr.HTML]:
    """The row of the thermogram and its Grad-CAM overlay (inside build_app's Blocks)."""
    import gradio as gr

    with gr.Row():  # columns' min_width: on a phone the figures stack, each full width
        with gr.Column(min_width=400):
            thermogram = gr.HTML(THERMOGRAM_SLOT, label="Thermogram", elem_id="thermogram")
        # An ONNX model (or an install without [explain]) shows no Grad-CAM panel: why, in
        # its place (so the thermogram keeps half the width, not the page's).
        explained = can_explain(bundle)
        with gr.Column(min_width=400):
            overlay = gr.HTML(OVERLAY_SLOT, label="Grad-CAM overlay", elem_id="overlay",
                              visible=explained)  # fmt: skip
            if not explained:
                gr.Markdown(why_unexplained(bundle), elem_id="no-overlay")
    return thermogram, overlay


def _header(bundle: ModelBundle | OnnxModel) -> str:
    """The page's title and what it serves (a model of synthetic women says so)."""
    from thermocad.inference.notes import copies, tta_note
    from thermocad.models import words as W

    # What model.json says is shown as text (md_text), never as Markdown or HTML: an edited
    # file's words could otherwise add links, images or headings to the page.
    text = (f"# thermocad: breast thermogram analysis\nModel: `{W.model_name(bundle.meta)}`, "
            f"input unit `{bundle.unit}`, decision threshold {bundle.threshold:.4f}.")  # fmt: skip
    if synthetic := W.synthetic_training(bundle.meta):
        text += (f" **Trained on {synthetic} thermograms (`thermocad synth`), not on women: a "
                 "demonstration.**")  # fmt: skip
    if (bundle.meta.get("config") or {}).get("max_batches"):
        text += " **A smoke run: a check of the code, not a model.**"
    for stale in (
        W.STALE_GREY if W.stale_grey(bundle.meta) else "",
        W.other_preprocessing(bundle.meta),
    ):
        text += f" **{md_text(stale[0].upper() + stale[1:])}.**" if stale else ""
    if found := (bundle.meta.get("cv") or {}).get("warnings"):  # what `fit` found of it
        text += (
            f" **The cross-validation that made it found: {md_text('; '.join(map(str, found)))}.**"
        )
    if n := bundle.views():  # the study's recipe: scored as it was validated
        text += f" Each P(Sick) averages the image and {copies(n)}, as in validation."
    elif note := tta_note(bundle.meta, None, n):  # its copies need PyTorch
        text += " " + md_text(note[6].upper() + note[7:]) + "."  # without "note: "
    return text


def _add_examples(bundle: ModelBundle, examples, allow, outputs, cancels=None):
    """One-click example files at the foot of the page (inside a gr.Blocks context). A click
    answers the file in thermocad's own examples folder, chosen by its place in the list: not
    gr.Examples, which serves copies in Gradio's cache that its sweep (delete_cache) removes
    after 10-20 minutes, and that another Gradio app on this machine shares (named by content).
    Returns the click's event; `cancels`: those a click cancels (an upload being answered)."""
    import gradio as gr

    from thermocad.inference.examples import answer_example

    if not isinstance(examples, dict):
        examples = {Path(p): Path(p).name for p in examples}
    files, labels = list(examples), list(examples.values())
    shelf = gr.Dataset(
        components=["textbox"],
        samples=[[label] for label in labels],
        sample_labels=labels,
        type="index",
        label="Synthetic examples (not patients)",
        elem_id="examples",
    )
    # The spinner in the verdict's place (outputs[4]), as an upload's.
    return shelf.click(lambda index, ok: answer_example(bundle, files, index, ok, labels),
                       inputs=[shelf, allow], outputs=outputs, api_visibility="private",
                       cancels=cancels, show_progress_on=outputs[4])  # fmt: skip


def serve(
    run_dir: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
    root_path: str | None = None,
) -> gr.Blocks:
    """Start the web app (local only by default); blocks until Ctrl+C or SIGTERM unless
    `block=False`; `root_path`: the path a reverse proxy serves it under ("/thermocad"; None:
    Gradio's GRADIO_ROOT_PATH, else /). The example folder is removed when it stops."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a clinic
    from thermocad.utils.progress import log
    from thermocad.utils.signals import sigterm_as_interrupt  # stops it as Ctrl+C does

    port, root_path = check_address(host, port), check_root_path(root_path)
    folder, demo = examples_folder(), None  # the folder removed at exit for block=False callers
    previous = sigterm_as_interrupt() if block else None  # from the start: startup too
    try:
        from thermocad.inference.loading import load_model
        from thermocad.models.words import log_model_warnings

        bundle = load_model(run_dir)  # a wrong path fails before any example is generated
        log_model_warnings(bundle.meta)  # what the page says of it, and predict's log
        log("drawing 4 synthetic example thermograms for the page (thermocad synth)")
        examples = synthetic_examples(folder, **example_kind(bundle.meta))
        demo = build_app(run_dir, examples=examples, bundle=bundle,
                         name_training_women=host in LOCAL_HOSTS and not root_path)  # fmt: skip
        demo.launch(
            server_name=host,
            server_port=port,
            root_path=root_path,
            # Gradio's own cap, ours (its "mb" is MiB): a larger file never reaches us, its
            # pop-up says the same limit, and page.js answers it; check_upload answers API calls.
            max_file_size=f"{MAX_UPLOAD_MB}mb",
            # ... and ours: one full-size file's bytes a request, a budget over the sweep's time
            app_kwargs={"middleware": quota_middleware(MAX_UPLOAD_MB, SWEEP)},
            prevent_thread_lock=True,
            ssr_mode=False,
            share=False,
            quiet=True,  # Gradio's banner suggests public share links; say what matters instead
            **_private_page(demo.launch),
        )
        # Read once, above: a model written there later (fit --force) is served after a restart
        for line in [f"serving {run_dir} as it was read now (restart serve to use one written "
                     "later)", *address_lines(host, demo.server_port, root_path)]:  # fmt: skip
            log(line)
        if block:  # returns on KeyboardInterrupt, after closing the server; Gradio's words
            with contextlib.redirect_stdout(sys.stderr):  # on that are a log's: stderr's
                demo.block_thread()
    finally:
        if block:
            if previous is not None:
                import signal

                signal.signal(signal.SIGTERM, previous)
            if demo is not None:
                with contextlib.redirect_stdout(sys.stderr):  # "Closing server ...": a log's
                    demo.close()
            shutil.rmtree(folder, ignore_errors=True)
    return demo


def _private_page(launch) -> dict:
    """No past results kept in the browser (a shared clinic PC) and no footer links to them:
    Gradio 6's run history and footer options, where this Gradio has them."""
    import inspect

    wanted = {"run_history": False, "footer_links": []}
    accepted = inspect.signature(launch).parameters
    return {k: v for k, v in wanted.items() if k in accepted}
