"""The model bundle: safetensors + JSON round trip, and refusal of pickles and mismatches."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from thermocad.models.bundle import load_bundle, save_bundle
from thermocad.models.registry import create_model
from thermocad.preprocess.transforms import EvalTransform
from thermocad.utils.errors import ModelFormatError


@pytest.fixture
def run_dir(tmp_path):
    torch.manual_seed(0)
    model = create_model("resnet18", pretrained=False, in_chans=1).eval()
    meta = {"arch": "resnet18", "classes": ["Healthy", "Sick"], "in_chans": 1,
            "input_size": 32, "transform": EvalTransform(size=32).to_dict(), "unit": "celsius",
            "threshold": 0.3, "config": {"tta": 2}}  # fmt: skip
    save_bundle(tmp_path, model, meta)
    return tmp_path, model


def arrays(n=3):
    rng = np.random.default_rng(0)
    return [30 + rng.normal(0, 1, (40, 50)).astype(np.float32) for _ in range(n)]


def test_round_trip_gives_identical_predictions(run_dir):
    path, model = run_dir
    bundle = load_bundle(path)
    assert bundle.threshold == 0.3 and bundle.unit == "celsius"
    assert bundle.target_layer() is bundle.model.layer4
    x = torch.stack([bundle.transform(a) for a in arrays()])
    with torch.no_grad():
        expected = model(x).softmax(1)[:, 1].numpy()
    np.testing.assert_allclose(bundle.predict(arrays()), expected, rtol=1e-5, atol=1e-6)
    tta = bundle.predict(arrays(), tta=True, batch_size=2)
    assert tta.shape == (3,) and np.all((tta >= 0) & (tta <= 1))
    np.testing.assert_allclose(tta, bundle.predict(arrays(), tta=True))  # seeded TTA


def test_pickle_is_refused(run_dir):
    path, model = run_dir
    (path / "model.safetensors").write_bytes(pickle.dumps(model.state_dict()))
    with pytest.raises(ModelFormatError, match="pickle"):
        load_bundle(path)
    (path / "model.safetensors").unlink()
    (path / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(ModelFormatError, match="never loaded"):
        load_bundle(path)


def test_json_tensor_mismatch_is_refused(run_dir):
    path, _ = run_dir
    meta = json.loads((path / "model.json").read_text())
    meta["tensors"]["fc.weight"] = [3, 512]
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="fc.weight"):
        load_bundle(path)
    (path / "model.json").unlink()
    with pytest.raises(ModelFormatError, match="model.json"):
        load_bundle(path)


def test_missing_bundle_says_what_a_model_folder_holds(tmp_path):
    with pytest.raises(ModelFormatError, match="no such model folder .*model.json"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match=r"model\.safetensors: missing \(a model bundle"):
        load_bundle(tmp_path)
