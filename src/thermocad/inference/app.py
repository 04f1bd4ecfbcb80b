"""Gradio web app: upload a thermogram, see P(Sick), the decision and a Grad-CAM overlay."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thermocad.io.find import READABLE_SUFFIXES
from thermocad.utils.errors import ThermalFormatError, ThermocadError

if TYPE_CHECKING:
    import gradio as gr
    import numpy as np

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

MAX_UPLOAD_MB = 20
# Uploads analysed at once (example clicks: Gradio's default of one more): bounds the app's
# memory to a few parsed uploads and figures; more requests wait in Gradio's queue.
CONCURRENCY = 2
# Grad-CAM hooks the shared model's layers: two requests at once would mix their gradients.
_MODEL_LOCK = threading.Lock()
ALLOW_LABEL = "Accept 8/16-bit images for a temperature model (unreliable)"
ALLOWED_SUFFIXES = READABLE_SUFFIXES  # one list in thermocad.io.find, shared with predict
DISCLAIMER = (
    "**Research software, not a medical device.** Thermography is cleared only as an adjunct to "
    "mammography, never as a stand-alone diagnosis. This probability must not be used to decide "
    "on anyone's care."
)


@dataclass
class Answer:
    """What the page shows for one file: images (inline HTML), the result line and a status."""

    thermogram: str = ""
    overlay: str = ""
    result: str = ""
    status: str = ""

    def outputs(self) -> tuple[Any, ...]:
        # The trailing None empties the upload box, ready for the next file.
        return self.thermogram, self.overlay, self.result, self.status, None


def check_upload(path: Path, max_mb: float = MAX_UPLOAD_MB) -> None:
    """Refuse files with an unknown type or over the size limit before parsing them."""
    name = path.name.lower()
    if not name.endswith(ALLOWED_SUFFIXES):
        kinds = ", ".join(ALLOWED_SUFFIXES)
        raise ThermalFormatError(f"{path.name}: unsupported file type; upload one of {kinds}")
    size_mb = path.stat().st_size / 1e6
    if size_mb > max_mb:
        raise ThermalFormatError(f"{path.name}: {size_mb:.1f} MB is over the {max_mb:g} MB limit")


def analyse(bundle: ModelBundle, path: Path, allow_unit_mismatch: bool = False) -> Answer:
    """Read, predict and explain one file; raises ThermocadError for files a user got wrong."""
    from thermocad.inference.explain import draw_thermogram
    from thermocad.inference.predict import check_unit
    from thermocad.io.thermal import read_thermal
    from thermocad.preprocess.plausible import check_plausible

    check_upload(path)
    # cache=False: an upload is read once, and its parse must not outlive it on disk.
    thermogram = read_thermal(path, cache=False)
    check_unit(thermogram, bundle.unit, allow_unit_mismatch)
    check_plausible(thermogram)
    array = thermogram.array
    with _MODEL_LOCK:
        cnn, base = bundle.predict_parts([array])
        heat = _heatmap(bundle, array)
    prob = float(bundle.average(cnn, base)[0])
    decision = "Sick" if prob >= bundle.threshold else "Healthy"
    result = f"P(Sick) = {prob:.3g}; decision: {decision} (threshold {bundle.threshold:.3g})"
    if base is not None:  # say what the mean is made of: Grad-CAM explains the CNN's part
        result += f"; mean of the CNN ({cnn[0]:.3g}) and the temperature-statistics baseline ({base[0]:.3g})"
    return Answer(
        thermogram=_inline_png(_one_panel(draw_thermogram, array, thermogram.unit), "thermogram"),
        overlay=_overlay(bundle, array, heat, prob),
        result=result,
        status=f"{path.name}: analysed ({thermogram.source_format}, {array.shape[0]}x{array.shape[1]}).",
    )


def can_explain(bundle: ModelBundle | OnnxModel) -> bool:
    """Grad-CAM needs the PyTorch model and grad-cam ([explain]); an ONNX model has neither."""
    from thermocad.inference.loading import is_onnx
    from thermocad.utils.extras import available

    return not is_onnx(bundle) and available("pytorch_grad_cam")


def _heatmap(bundle: ModelBundle | OnnxModel, array: np.ndarray) -> np.ndarray | None:
    """Grad-CAM's heatmap, or None where the model cannot be explained here."""
    if not can_explain(bundle):
        return None
    from thermocad.inference.explain import gradcam

    return gradcam(bundle, array)


def _overlay(bundle, array: np.ndarray, heat: np.ndarray | None, prob: float) -> str | None:
    """The Grad-CAM overlay as an inline PNG, or None without a heatmap."""
    if heat is None:
        return None
    from thermocad.inference.explain import draw_overlay

    panel = _one_panel(draw_overlay, array, heat, prob, bundle.threshold)
    return _inline_png(panel, "Grad-CAM overlay")


def _one_panel(draw, *args):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    draw(fig, fig.subplots(), *args)
    return fig


def _inline_png(fig, alt: str) -> str:
    """The figure as an <img> with a PNG data URL: rendered in memory, never a file on disk
    (a gr.Image output would be a copy in Gradio's cache until its sweep)."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%">'


def answer_file(
    bundle: ModelBundle, path: str | None, allow_unit_mismatch: bool
) -> tuple[Any, ...]:
    """The page's outputs for a file path; errors become a readable status, never a traceback.

    The file is Gradio's: identical uploads (and the bytes of an example) share one path in its
    cache, so it is only ever read, into a private copy per request that alone is deleted."""
    if not path:
        return Answer(status="Upload a thermal text matrix, .npy or image file.").outputs()
    upload = Path(path)
    with tempfile.TemporaryDirectory(prefix="thermocad-request-") as private:
        copy = Path(private) / upload.name
        try:
            check_upload(upload)  # type and size first: an oversized file is never copied
            shutil.copyfile(upload, copy)
            answer = analyse(bundle, copy, allow_unit_mismatch)
        except ThermocadError as exc:
            # Server-side paths mean nothing to the user; show the name they uploaded.
            message = str(exc).replace(str(copy), upload.name).replace(str(upload), upload.name)
            message = message.replace("pass --allow-unit-mismatch", f"tick '{ALLOW_LABEL}'")
            answer = Answer(status=f"Error: {message}")
        except FileNotFoundError:
            answer = Answer(status=f"Error: {upload.name}: the upload is gone; upload it again")
        except Exception as exc:  # noqa: BLE001 - the page must answer, whatever the file holds
            traceback.print_exc()
            answer = Answer(
                status=f"Error: {upload.name}: could not be analysed ({type(exc).__name__}); "
                "is it a thermal matrix or image?"
            )
    return answer.outputs()


def synthetic_examples(out_dir: Path, n_patients: int = 4, seed: int = 7) -> dict[Path, str]:
    """A few small synthetic thermograms (file -> "synthetic Healthy/Sick #id") to try the app."""
    import pandas as pd

    from thermocad.synth.cohort import generate_cohort

    # 240x320 keeps the example files small (~0.5 MB) while still looking like a DMR frame.
    labels_csv = generate_cohort(
        out_dir, n_patients=n_patients, seed=seed, height=240, width=320, sick_fraction=0.5
    )
    labels = pd.read_csv(labels_csv)
    return {
        Path(out_dir) / f"T{pid:04d}.txt": f"synthetic {diagnosis} #{pid}"
        for pid, diagnosis in zip(labels["patient_id"], labels["diagnosis"], strict=True)
    }


def build_app(
    run_dir: str | os.PathLike,
    examples: Sequence[str | os.PathLike] | dict[Path, str] | None = None,
    bundle: ModelBundle | OnnxModel | None = None,
) -> gr.Blocks:
    """The Gradio page for the model in `run_dir` (a run folder or an exported .onnx file);
    `examples` default to fresh synthetic files in a temporary folder removed at exit (serve()
    passes its own, removed when it stops)."""
    import gradio as gr

    from thermocad.inference.loading import load_model

    bundle = bundle or load_model(run_dir)
    if examples is None:
        folder = Path(tempfile.mkdtemp(prefix="thermocad-examples-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        examples = synthetic_examples(folder)
    arch = bundle.meta.get("arch", "model")
    # Gradio owns its upload cache (never deleted here): its sweep removes uploads after 10 min.
    with gr.Blocks(title="thermocad", delete_cache=(600, 600)) as demo:
        gr.Markdown(
            f"# thermocad: breast thermogram analysis\nModel: `{arch}`, input unit "
            f"`{bundle.unit}`, decision threshold {bundle.threshold:.3g}."
        )
        gr.Markdown(DISCLAIMER, elem_id="disclaimer")
        with gr.Row():
            upload = gr.File(
                label=f"Thermal file (DMR text matrix, .npy or image; at most {MAX_UPLOAD_MB} MB)",
                file_types=list(ALLOWED_SUFFIXES),
                type="filepath",
                elem_id="upload",
            )
            with gr.Column():
                result = gr.Textbox(label="Result", interactive=False, elem_id="result")
                status = gr.Textbox(label="Status", interactive=False, elem_id="status")
                allow = gr.Checkbox(label=ALLOW_LABEL, value=False)
        with gr.Row():
            thermogram = gr.HTML(label="Thermogram", elem_id="thermogram")
            # An ONNX model (or an install without [explain]) shows no Grad-CAM panel.
            overlay = gr.HTML(
                label="Grad-CAM overlay", elem_id="overlay", visible=can_explain(bundle)
            )
        outputs = [thermogram, overlay, result, status, upload]
        upload.upload(
            lambda path, ok: answer_file(bundle, path, ok),
            inputs=[upload, allow],
            outputs=outputs,
            api_name="analyse",
            concurrency_limit=CONCURRENCY,
        )
        if examples:
            _add_examples(bundle, examples, upload, outputs)
    return demo


def _add_examples(bundle: ModelBundle, examples, upload, outputs) -> None:
    """One-click example files under the upload box (inside a gr.Blocks context)."""
    import gradio as gr

    if not isinstance(examples, dict):
        examples = {Path(p): Path(p).name for p in examples}
    gr.Examples(
        examples=[[str(p)] for p in examples],
        example_labels=list(examples.values()),
        inputs=[upload],
        outputs=outputs,
        fn=lambda path: answer_file(bundle, path, False),
        run_on_click=True,
        cache_examples=False,
        label="Synthetic examples (not patients)",
    )


def address_lines(host: str, port: int) -> list[str]:
    """What serve() logs about where it listens, with a warning when that is not local only."""
    lines = [f"listening on http://{host}:{port}"]
    if host in ("0.0.0.0", "::", ""):
        lines.append(
            f"warning: --host {host or '(empty)'} listens on EVERY network interface: anyone "
            "who can reach this machine can upload files; there is no login or encryption"
        )
    elif host not in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"warning: listening on {host}, not only on this machine (127.0.0.1)")
    return lines


def serve(
    run_dir: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Start the web app (local only by default); blocks until Ctrl+C or SIGTERM unless
    `block=False`. The example folder is removed when it stops, however it stops."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a clinic
    from thermocad.utils.progress import log

    folder = Path(tempfile.mkdtemp(prefix="thermocad-examples-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # for block=False callers
    demo = None
    previous = _sigterm_as_interrupt() if block else None  # from the start: startup too
    try:
        demo = build_app(run_dir, examples=synthetic_examples(folder))
        demo.launch(
            server_name=host,
            server_port=port,
            max_file_size=f"{MAX_UPLOAD_MB}mb",
            prevent_thread_lock=True,
            ssr_mode=False,
            share=False,
            quiet=True,  # Gradio's banner suggests public share links; say what matters instead
        )
        for line in [f"serving {run_dir}", *address_lines(host, demo.server_port)]:
            log(line)
        if block:
            demo.block_thread()  # returns on KeyboardInterrupt, after closing the server
    finally:
        if block:
            if previous is not None:
                import signal

                signal.signal(signal.SIGTERM, previous)
            if demo is not None:
                demo.close()
            shutil.rmtree(folder, ignore_errors=True)
    return demo


def _sigterm_as_interrupt():
    """Make SIGTERM (kill, systemd, docker stop) stop the app as Ctrl+C does; returns the
    previous handler (None off the main thread, where Python cannot set handlers)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)
