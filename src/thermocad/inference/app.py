"""Gradio web app: upload a thermogram, see P(Sick), the decision and a Grad-CAM overlay."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thermocad.utils.errors import ThermalFormatError, ThermocadError

if TYPE_CHECKING:
    import gradio as gr

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

MAX_UPLOAD_MB = 20
ALLOW_LABEL = "Accept 8/16-bit images for a temperature model (unreliable)"
ALLOWED_SUFFIXES = (".txt", ".csv", ".gz", ".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
DISCLAIMER = (
    "**Research software, not a medical device.** Thermography is cleared only as an adjunct to "
    "mammography, never as a stand-alone diagnosis. This probability must not be used to decide "
    "on anyone's care."
)


@dataclass
class Answer:
    """What the page shows for one file: images, the result line and a status message."""

    thermogram: np.ndarray | None = None
    overlay: np.ndarray | None = None
    result: str = ""
    status: str = ""

    def outputs(self) -> tuple[Any, ...]:
        # The trailing None empties the upload box: the file is gone, and the box is ready again.
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
    from thermocad.inference.explain import draw_thermogram, figure_to_array
    from thermocad.inference.predict import check_unit
    from thermocad.io.thermal import read_thermal

    check_upload(path)
    # cache=False: an upload is read once, and its parse must not outlive it on disk.
    thermogram = read_thermal(path, cache=False)
    check_unit(thermogram, bundle.unit, allow_unit_mismatch)
    array = thermogram.array
    cnn, base = bundle.predict_parts([array])
    prob = float(bundle.average(cnn, base)[0])
    decision = "Sick" if prob >= bundle.threshold else "Healthy"
    result = f"P(Sick) = {prob:.3g}; decision: {decision} (threshold {bundle.threshold:.3g})"
    if base is not None:  # say what the mean is made of: Grad-CAM explains the CNN's part
        result += f"; mean of the CNN ({cnn[0]:.3g}) and the temperature-statistics baseline ({base[0]:.3g})"
    return Answer(
        thermogram=figure_to_array(_one_panel(draw_thermogram, array, thermogram.unit)),
        overlay=_overlay(bundle, array, prob),
        result=result,
        status=f"{path.name}: analysed ({thermogram.source_format}, {array.shape[0]}x{array.shape[1]}).",
    )


def can_explain(bundle: ModelBundle | OnnxModel) -> bool:
    """Grad-CAM needs the PyTorch model and grad-cam ([explain]); an ONNX model has neither."""
    from thermocad.inference.loading import is_onnx
    from thermocad.utils.extras import available

    return not is_onnx(bundle) and available("pytorch_grad_cam")


def _overlay(bundle: ModelBundle | OnnxModel, array: np.ndarray, prob: float) -> np.ndarray | None:
    """The Grad-CAM overlay image, or None where the model cannot be explained here."""
    if not can_explain(bundle):
        return None
    from thermocad.inference.explain import draw_overlay, figure_to_array, gradcam

    heat = gradcam(bundle, array)
    return figure_to_array(_one_panel(draw_overlay, array, heat, prob, bundle.threshold))


def _one_panel(draw, *args):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    draw(fig, fig.subplots(), *args)
    return fig


def answer_file(
    bundle: ModelBundle, path: str | None, allow_unit_mismatch: bool, delete: bool
) -> tuple[Any, ...]:
    """The page's outputs for a file path; errors become a readable status, never a traceback."""
    if not path:
        return Answer(status="Upload a thermal text matrix, .npy or image file.").outputs()
    upload = Path(path)
    try:
        answer = analyse(bundle, upload, allow_unit_mismatch)
    except ThermocadError as exc:
        # The server-side temp path means nothing to the user; show the name they uploaded.
        message = str(exc).replace(str(upload), upload.name)
        message = message.replace("pass --allow-unit-mismatch", f"tick '{ALLOW_LABEL}'")
        answer = Answer(status=f"Error: {message}")
    except Exception as exc:  # noqa: BLE001 - the page must answer, whatever the file holds
        traceback.print_exc()
        answer = Answer(
            status=f"Error: {upload.name}: could not be analysed ({type(exc).__name__}); "
            "is it a thermal matrix or image?"
        )
    finally:
        if delete:
            _delete_upload(upload)
    return answer.outputs()


def _delete_upload(path: Path) -> None:
    """Remove an uploaded file (and Gradio's per-upload folder) once it has been answered."""
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    path = path.resolve()
    if root not in path.parents:  # only ever delete inside Gradio's upload cache
        return
    path.unlink(missing_ok=True)
    if path.parent != root and not any(path.parent.iterdir()):
        path.parent.rmdir()


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
    `examples` default to fresh synthetic files."""
    import gradio as gr

    from thermocad.inference.loading import load_model

    bundle = bundle or load_model(run_dir)
    if examples is None:
        folder = Path(tempfile.mkdtemp(prefix="thermocad-examples-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        examples = synthetic_examples(folder)
    arch = bundle.meta.get("arch", "model")
    # delete_cache sweeps anything an interrupted request left in the upload cache.
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
                allow = gr.Checkbox(
                    label=ALLOW_LABEL,
                    value=False,
                )
        with gr.Row():
            thermogram = gr.Image(label="Thermogram", type="numpy", interactive=False)
            # An ONNX model (or an install without [explain]) shows no Grad-CAM panel.
            overlay = gr.Image(
                label="Grad-CAM overlay",
                type="numpy",
                interactive=False,
                visible=can_explain(bundle),
            )
        outputs = [thermogram, overlay, result, status, upload]
        upload.upload(
            lambda path, ok: answer_file(bundle, path, ok, delete=True),
            inputs=[upload, allow],
            outputs=outputs,
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
        # Example files are shared by every visitor, so they are never deleted.
        fn=lambda path: answer_file(bundle, path, False, delete=False),
        run_on_click=True,
        cache_examples=False,
        label="Synthetic examples (not patients)",
    )


def serve(
    run_dir: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Start the web app (local only by default); blocks until interrupted unless `block=False`."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a clinic
    demo = build_app(run_dir)
    from thermocad.utils.progress import log

    demo.launch(
        server_name=host,
        server_port=port,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        prevent_thread_lock=True,
        ssr_mode=False,
        share=False,
        quiet=True,  # Gradio's own banner suggests public share links; say what matters instead
    )
    log(f"serving {run_dir} on {demo.local_url} (Ctrl+C to stop)")
    if block:
        demo.block_thread()
    return demo
