"""ONNX Runtime inference: the exported file alone predicts as PyTorch does, without torch."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.app import exported_onnx
from thermocad.cli import main
from thermocad.inference.onnx import OnnxModel
from thermocad.inference.predict import predict_paths
from thermocad.inference.tables import COLUMNS
from thermocad.utils.errors import ModelFormatError

ROOT = Path(__file__).resolve().parents[2]
# A Python where torch and the training stack cannot be imported, as in a core install.
NO_TORCH = textwrap.dedent(
    """
    import sys
    for name in ("torch", "torchvision", "timm", "fastai", "pytorch_grad_cam", "onnx"):
        sys.modules[name] = None
    from thermocad.cli import main
    code = main(sys.argv[1:])
    loaded = [m for m in ("torch", "timm", "fastai") if sys.modules.get(m) is not None]
    assert not loaded, loaded
    sys.exit(code)
    """
)


def run_without_torch(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "THERMOCAD_QUIET": "1"}
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="session")
def onnx_file(run_dir, tmp_path_factory) -> Path:
    """The smoke run exported once per session."""
    return exported_onnx(tmp_path_factory.getbasetemp(), run_dir)


@pytest.mark.slow
def test_onnx_model_matches_pytorch(run_dir, onnx_file, dmr_files):
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    bundle, model = load_bundle(run_dir), OnnxModel(onnx_file, device="cpu")
    arrays = [read_thermal(f).array for f in dmr_files]
    arrays.append(np.random.default_rng(0).uniform(20, 36, (50, 70)).astype(np.float32))
    cnn, base = model.predict_parts(arrays, batch_size=2)
    torch_cnn, torch_base = bundle.predict_parts(arrays)
    assert np.abs(cnn - torch_cnn).max() < 1e-4
    np.testing.assert_array_equal(base, torch_base)  # the same numpy code, same coefficients
    assert np.abs(model.predict(arrays) - bundle.predict(arrays)).max() < 1e-4
    assert model.threshold == bundle.threshold and model.unit == bundle.unit
    # TTA views are torch's augmentation (torch is here), mean over the same fixed draws.
    tta = model.predict(arrays[:2], tta=True)
    assert np.abs(tta - bundle.predict(arrays[:2], tta=True)).max() < 1e-4
    # Batch sizes other than the export example's (2) work: the batch axis is dynamic.
    batch = np.stack([bundle.transform(a).numpy() for a in arrays])
    onnx_probs = np.concatenate(
        [model.logits_to_probs(model.run_input(b)) for b in (batch[:1], batch[1:])]
    )
    assert np.abs(onnx_probs - bundle.predict(arrays, tta=False, cnn_only=True)).max() < 1e-4
    # The file's metadata carries the baseline the default model averages the CNN with.
    from thermocad.inference.export import onnx_metadata
    from thermocad.models.baseline import LinearBaseline

    meta = onnx_metadata(onnx_file)
    baseline = LinearBaseline.from_dict(meta["baseline"]).predict_arrays(arrays)
    assert np.abs((onnx_probs + baseline) / 2 - bundle.predict(arrays, tta=False)).max() < 1e-4
    assert meta["arch"] == bundle.meta["arch"] and meta["threshold"] == bundle.threshold
    assert meta["transform"] == bundle.meta["transform"]
    # The women who trained it travel inside it: evaluate refuses them, predict notes them.
    from thermocad.evaluation.lockbox import run_patients, seen_patients

    assert meta["trained_on"] == run_patients(run_dir) and seen_patients(onnx_file) == set(
        run_patients(run_dir)
    )
    assert meta["trained_files"] == bundle.meta["trained_files"]  # and their files, by bytes


@pytest.mark.slow
@pytest.mark.real
def test_real_files_onnx_matches_pytorch(run_dir, onnx_file, dmr_dir):
    files = sorted(dmr_dir.glob("T*.txt"))[:6]
    torch_table, errors = predict_paths(run_dir, files, device="cpu")
    onnx_table, onnx_errors = predict_paths(onnx_file, files)
    assert not errors and not onnx_errors and len(onnx_table) == len(files)
    diff = np.abs(onnx_table["prob_sick"].to_numpy() - torch_table["prob_sick"].to_numpy())
    assert diff.max() < 1e-4
    assert onnx_table["decision"].tolist() == torch_table["decision"].tolist()
    # Told apart by an auditor: the .onnx file's own digest and its runtime, the same weights
    import hashlib

    assert set(onnx_table["model_sha256"]) == {hashlib.sha256(onnx_file.read_bytes()).hexdigest()}
    assert onnx_table["engine"].str.startswith("ONNX Runtime ").all()
    assert onnx_table["weights_sha256"].tolist() == torch_table["weights_sha256"].tolist()


@pytest.mark.slow
def test_predict_cli_without_torch(run_dir, onnx_file, dmr_files, tmp_path):
    out = tmp_path / "predictions.csv"
    done = run_without_torch(
        ["predict", str(onnx_file), *map(str, dmr_files), "--out", str(out)], tmp_path
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS)
    # The smoke model averages 1 augmented copy, drawn with PyTorch: without it, none, said so.
    assert "1 augmented copy; they are drawn with PyTorch, which is not" in done.stderr
    assert table["note"].str.contains("scored without the 1 augmented copy").all()  # and saved
    expected, _ = predict_paths(run_dir, dmr_files, tta=False, device="cpu")
    assert np.abs(table["prob_sick"].to_numpy() - expected["prob_sick"].to_numpy()).max() < 1e-4
    # --tta needs torch's augmentation (the smoke model averages 1 copy): said before any file.
    done = run_without_torch(["predict", str(onnx_file), str(dmr_files[0]), "--out", "t.csv",
                              "--tta"], tmp_path)  # fmt: skip
    assert done.returncode == 2 and "PyTorch (test-time augmentation" in done.stderr
    assert not (tmp_path / "t.csv").exists()
    # A run folder without PyTorch: its model.onnx when it has one, else a one-line hint.
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    done = run_without_torch(["predict", str(run), str(dmr_files[0]), "--out", "a.csv"], tmp_path)
    assert done.returncode == 2 and "pip install 'thermocad[train]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    shutil.copy(onnx_file, run / "model.onnx")
    done = run_without_torch(["predict", str(run), str(dmr_files[0]), "--out", "b.csv"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "b.csv")["prob_sick"][0] == table["prob_sick"][0]
    # Its model.json edited since the export (or another model's .onnx): refused, not run.
    meta = json.loads((run / "model.json").read_text())
    (run / "model.json").write_text(json.dumps({**meta, "threshold": 0.3}))
    done = run_without_torch(["predict", str(run), str(dmr_files[0]), "--out", "d.csv"], tmp_path)
    assert done.returncode == 2 and "was not exported from" in done.stderr
    assert "(model.json differs); export it again: thermocad export" in done.stderr
    (run / "model.json").write_text(json.dumps(meta))
    (run / "INCOMPLETE").write_text("training started")  # retraining: model.onnx is stale
    done = run_without_torch(["predict", str(run), str(dmr_files[0]), "--out", "c.csv"], tmp_path)
    assert done.returncode == 2 and "training run is incomplete" in done.stderr


def test_a_folders_model_onnx_from_an_earlier_version_is_taken_with_a_note(
    run_dir, onnx_file, tmp_path, capsys
):
    import onnx

    from thermocad.inference.loading import check_exported_from
    from thermocad.models.meta import META_KEY

    proto = onnx.load(onnx_file)
    entry = next(e for e in proto.metadata_props if e.key == META_KEY)
    meta = json.loads(entry.value)
    assert set(meta["exported_from"]) == {"model.safetensors", "model.json"}
    entry.value = json.dumps({k: v for k, v in meta.items() if k != "exported_from"})
    onnx.save_model(proto, tmp_path / "old.onnx")
    model = OnnxModel(tmp_path / "old.onnx")
    assert check_exported_from(model, run_dir) is model
    assert "does not record which model it was exported from" in capsys.readouterr().err
    # The record present: the folder's own files pass, another folder's do not.
    assert check_exported_from(OnnxModel(onnx_file), run_dir).path == onnx_file
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    meta_path = other / "model.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "threshold": 0.01}))
    with pytest.raises(ModelFormatError, match="was not exported from .* as it is now"):
        check_exported_from(OnnxModel(onnx_file), other)
    # The same content with other line ends and indentation (a Windows check-out) is the same
    # model; a deployment without the weights file is checked on its model.json alone.
    same = tmp_path / "same"
    shutil.copytree(run_dir, same)
    content = json.loads((same / "model.json").read_text())
    (same / "model.json").write_bytes(json.dumps(content, indent=4).replace("\n", "\r\n").encode())
    (same / "model.safetensors").unlink()
    assert check_exported_from(OnnxModel(onnx_file), same).path == onnx_file


def test_an_exported_models_architecture_is_a_name_and_its_words_stay_text(onnx_file, tmp_path):
    """An .onnx file's arch only had to be a string, and the web app's header showed it and
    cv.warnings as Markdown: an edited file put a heading, a link and a tracking image there."""
    import onnx

    from thermocad.inference.app import _header
    from thermocad.models.meta import META_KEY

    proto = onnx.load(onnx_file)
    entry = next(e for e in proto.metadata_props if e.key == META_KEY)
    meta = json.loads(entry.value)
    entry.value = json.dumps({**meta, "arch": "x` <img src=http://127.0.0.1:9/t.png> `"})
    onnx.save_model(proto, tmp_path / "edited.onnx")
    with pytest.raises(ModelFormatError, match="field 'arch' must be an architecture name"):
        OnnxModel(tmp_path / "edited.onnx")
    model = OnnxModel(onnx_file)
    model.meta["cv"] = {"warnings": ["# Approved [click](http://x) <img src=x onerror=alert(1)>"]}
    header = _header(model)
    assert not re.search(r"(?<!\\)[<\[]", header) and "\n# Approved" not in header
    assert r"\# Approved \[click\]\(http://x\) \<img src=x onerror=alert\(1\)\>" in header


def test_commands_needing_an_extra_say_which(run_dir, dmr_files, tmp_path):
    data = dmr_files[0].parent
    cases = {
        ("train", "--split", "s.csv", "--out", "r"): "thermocad[train]",
        # [explain] and [export] bring [train]: one install, named at once.
        ("explain", str(run_dir), str(dmr_files[0]), "--out", "x"): "thermocad[explain]",
        ("export", str(run_dir), "--onnx", "m.onnx"): "thermocad[export]",
        ("demo", "--smoke"): "thermocad[train]",
        # fit and study said the offline weights' package was missing, and advised options
        # fit does not take: PyTorch is what is missing.
        ("fit", str(data), "--labels", str(data / "labels.csv"), "--out", "f"): "thermocad[train]",
        (
            "study",
            str(data),
            "--labels",
            str(data / "labels.csv"),
            "--out",
            "s",
        ): "thermocad[train]",
    }
    for args, hint in cases.items():
        done = run_without_torch(list(args), tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert f"pip install '{hint}'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_predict_json_has_the_csv_fields(onnx_file, dmr_files, tmp_path):
    csv, js = tmp_path / "p.csv", tmp_path / "p.json"
    assert main(["predict", str(onnx_file), *map(str, dmr_files), "--out", str(csv)]) == 0
    args = ["predict", str(onnx_file), *map(str, dmr_files), "--out", str(js), "--format", "json"]
    assert main(args) == 0
    records = json.loads(js.read_text())
    from_json = pd.DataFrame(records).map(
        lambda v: float("nan") if v is None else v
    )  # null: no note
    pd.testing.assert_frame_equal(from_json, pd.read_csv(csv), check_dtype=False)
    assert list(records[0]) == list(COLUMNS)


def test_not_an_onnx_file_refused(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFormatError, match="not a readable ONNX model"):
        OnnxModel(bad)
    with pytest.raises(ModelFormatError, match="no such ONNX file"):
        OnnxModel(tmp_path / "missing.onnx")


def test_onnx_without_thermocad_metadata_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(ModelFormatError, match="thermocad export"):
        OnnxModel(path)


def test_importing_thermocad_keeps_onnx_runtime_from_sending_usage_events(tmp_path):
    """ONNX Runtime 1.29+ keeps a device id and queues usage events for Microsoft in
    ~/.cache/Microsoft from Linux too (a test-isolation review found 1.7 MB of them, with model
    file names and error messages), unless ORT_DISABLE_TELEMETRY is set before it starts."""
    started = "import os, thermocad, onnxruntime\nonnxruntime.get_available_providers()\n"
    said = "print(os.environ['ORT_DISABLE_TELEMETRY'])"
    home = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache")}
    home.pop("ORT_DISABLE_TELEMETRY", None)

    def run(env: dict) -> str:
        done = subprocess.run([sys.executable, "-c", started + said], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert run(home) == "1" and not any(tmp_path.rglob("*"))  # no ~/.cache/Microsoft
    assert run({**home, "ORT_DISABLE_TELEMETRY": "0"}) == "0"  # the user's own choice stands
