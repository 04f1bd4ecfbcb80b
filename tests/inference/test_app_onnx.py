"""The web app serves an exported ONNX model: P(Sick) as the run folder's, no Grad-CAM panel."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.app import exported_onnx
from thermocad.inference.app import analyse, build_app, can_explain
from thermocad.inference.onnx import OnnxModel


@pytest.fixture(scope="session")
def onnx_model(run_dir, tmp_path_factory) -> OnnxModel:
    return OnnxModel(exported_onnx(tmp_path_factory.getbasetemp(), run_dir))


@pytest.mark.slow
def test_onnx_model_answers_without_overlay(onnx_model, run_dir, dmr_files):
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    assert can_explain(bundle) and not can_explain(onnx_model)
    from thermocad.inference.app import _header

    assert "Grad-CAM" not in _header(onnx_model)  # said in the panel's place (below)
    assert "Grad-CAM" not in _header(bundle)
    answer = analyse(onnx_model, dmr_files[0])
    prob = float(onnx_model.predict([np.loadtxt(dmr_files[0])])[0])
    assert abs(prob - float(bundle.predict([np.loadtxt(dmr_files[0])])[0])) < 1e-4
    assert answer.result.startswith(f"{dmr_files[0].name}: P(Sick) = {prob:.4f}, ")
    assert answer.overlay is None and 'src="data:image/png' in answer.thermogram
    assert "analysed" in answer.status


@pytest.mark.slow
def test_app_builds_for_an_onnx_file(onnx_model, run_dir):
    demo = build_app(onnx_model.path, examples=[])
    images = [
        c for c in demo.blocks.values() if getattr(c, "elem_id", None) in ("thermogram", "overlay")
    ]
    # The thermogram is shown; the Grad-CAM panel is hidden for a model it cannot explain,
    # and in its place, keeping the thermogram at half the page's width, the reason.
    assert [bool(c.visible) for c in images] == [True, False]
    (why,) = [c for c in demo.blocks.values() if getattr(c, "elem_id", None) == "no-overlay"]
    assert why.visible and why.value.startswith("No Grad-CAM map: an exported .onnx model")
    assert not [c for c in build_app(run_dir, examples=[]).blocks.values()
                if getattr(c, "elem_id", None) == "no-overlay"]  # fmt: skip


@pytest.mark.slow
def test_a_grey_image_is_read_in_grey_levels_everywhere(onnx_model, run_dir, tmp_path, capsys):
    """predict, the app, explain and the ONNX model all find the marker of a grey image in grey
    levels (its unit, not the temperature model's)."""
    from PIL import Image

    from thermocad.inference.explain import explain_file
    from thermocad.inference.predict import predict_paths
    from thermocad.models.bundle import load_bundle
    from thermocad.preprocess.regions import find_marker
    from thermocad.synth.cohort import Nuisances, synth_patient

    # Seed 4: a woman whose marker, removed or not, moves this tiny model's P(Sick) by about
    # 5e-3, so that the four decimals compared below tell the two units apart.
    frames, _, _ = synth_patient(np.random.default_rng(4), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    grey = np.uint8(np.round((a - a.min()) / (a.max() - a.min()) * 255))
    (tmp_path / "in").mkdir()
    png = tmp_path / "in" / "exported.png"
    Image.fromarray(grey).save(png)
    bundle = load_bundle(run_dir)
    levels = grey.astype(np.float32)  # the marker is found in grey levels, not as degrees
    assert find_marker(levels, unit="intensity") is not None
    assert find_marker(levels, unit="celsius") is None
    want = float(bundle.predict([levels], unit="intensity")[0])
    assert abs(want - float(bundle.predict([levels], unit="celsius")[0])) > 1e-4  # it matters
    table, _ = predict_paths(run_dir, [png], allow_unit_mismatch=True)
    assert table["prob_sick"][0] == pytest.approx(want, abs=1e-5)
    answer = analyse(bundle, png, allow_unit_mismatch=True)
    assert f"P(Sick) = {want:.4f}" in answer.result
    explain_file(run_dir, png, tmp_path / "figs", allow_unit_mismatch=True)
    assert f"P(Sick) = {want:.4f}" in capsys.readouterr().err
    onnx = float(onnx_model.predict([grey.astype(np.float32)], unit="intensity")[0])
    assert onnx == pytest.approx(want, abs=1e-4)


def test_the_apps_queue_rests_when_it_has_no_work(run_dir):
    """Gradio's queue looked for work every 1 ms at rest: a served app took 4-7% of a core
    with no one using it (docs/benchmarks.md). Its attributes are Gradio's, not an API: this
    fails when a Gradio release renames them."""
    from thermocad.inference.app import build_app
    from thermocad.inference.at_rest import RESTS

    queue = build_app(run_dir, examples=[])._queue
    assert {name: getattr(queue, name) for name in RESTS} == RESTS
