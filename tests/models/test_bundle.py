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
def bundle_dir(tmp_path):
    """(folder, model): a freshly saved resnet18 bundle (not the session's trained `run_dir`)."""
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


def test_round_trip_gives_identical_predictions(bundle_dir):
    path, model = bundle_dir
    bundle = load_bundle(path)
    assert bundle.threshold == 0.3 and bundle.unit == "celsius"
    assert bundle.target_layer() is bundle.model.layer4
    x = torch.stack([bundle.transform(a) for a in arrays()])
    with torch.no_grad():
        expected = model(x).softmax(1)[:, 1].numpy()
    np.testing.assert_allclose(bundle.predict(arrays(), tta=False), expected, rtol=1e-5, atol=1e-6)
    tta = bundle.predict(arrays(), tta=True, batch_size=2)
    assert tta.shape == (3,) and np.all((tta >= 0) & (tta <= 1))
    np.testing.assert_allclose(tta, bundle.predict(arrays(), tta=True))  # seeded TTA


def test_pickle_is_refused(bundle_dir):
    path, model = bundle_dir
    (path / "model.safetensors").write_bytes(pickle.dumps(model.state_dict()))
    with pytest.raises(ModelFormatError, match="pickle"):
        load_bundle(path)
    (path / "model.safetensors").unlink()
    (path / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(ModelFormatError, match="never loaded"):
        load_bundle(path)


def test_json_tensor_mismatch_is_refused(bundle_dir):
    path, _ = bundle_dir
    meta = json.loads((path / "model.json").read_text())
    meta["tensors"]["fc.weight"] = [3, 512]
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="fc.weight"):
        load_bundle(path)
    (path / "model.json").unlink()
    with pytest.raises(ModelFormatError, match="model.json"):
        load_bundle(path)


def test_missing_bundle_says_what_a_model_folder_holds(tmp_path):
    with pytest.raises(ModelFormatError, match="no such model folder; .*model.json"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match=r"model\.safetensors: missing; a model bundle"):
        load_bundle(tmp_path)
    # fit's cross-validation folder holds no model: the model is its parent.
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "cv").mkdir()
    with pytest.raises(ModelFormatError, match=r"it is `fit`'s cross-validation: the model is "):
        load_bundle(tmp_path / "cv")


def _edit_meta(path, change) -> None:
    meta = json.loads((path / "model.json").read_text())
    change(meta)
    (path / "model.json").write_text(json.dumps(meta))


def _set(dotted: str, value):
    def change(meta):
        *parents, last = dotted.split(".")
        for key in parents:
            meta = meta[key]
        if value is _DELETE:
            del meta[last]
        else:
            meta[last] = value

    return change


_DELETE = object()
BAD_FIELDS = [
    ("threshold", None), ("threshold", "abc"), ("threshold", float("nan")), ("threshold", 1.5),
    ("transform.size", "abc"), ("transform.size", -5), ("transform.size", 20000),
    ("in_chans", "x"), ("in_chans", 0), ("in_chans", True), ("transform.mean", _DELETE),
    ("config.tta", 100000), ("config.tta", -1), ("arch", "no_such_net"), ("classes", "ab"),
    ("unit", "kelvin"), ("tensors", [1, 2]), ("augmentation", {"spin": 3}),
    ("config.mirror", True),  # a removed option: refused when the model loads, by name
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_malformed_model_json_names_the_field(bundle_dir, field, value):
    path, _ = bundle_dir
    _edit_meta(path, _set(field, value))
    with pytest.raises(ModelFormatError, match=rf"model\.json: field '{field}'"):
        load_bundle(path)


# A newer thermocad's model, or an edit, whose meaning this one would miss (a forward-
# compatibility review: each had been read the old way, exit status 0).
NEWER = [
    (
        {"format": 2},
        r"newer thermocad \(model format 2; this one reads format 1 at most\): update thermocad",
    ),
    (
        {"preprocess_version": "2099-01-01"},
        r"newer thermocad, which prepares images .*\(its preparation of 2099-01-01; this one's",
    ),
    ({"classes": ["Sick", "Healthy"]}, r"field 'classes' must be \['Healthy', 'Sick'\]"),
    ({"classes": ["Normal", "Cancer"]}, r"field 'classes' must be"),
    ({"ensemble": "weighted"}, r"field 'ensemble' is 'weighted', which this thermocad does not"),
    ({"ensemble": "baseline"}, r"field 'ensemble' is 'baseline' but the model has no baseline"),
    ({"format": 1, "transform": {"denoise": "bilateral"}}, r"field 'transform' holds 'denoise'"),
]


@pytest.mark.parametrize(("changes", "said"), NEWER)
def test_a_newer_thermocads_meaning_is_refused_not_dropped(bundle_dir, changes, said):
    path, _ = bundle_dir

    def change(meta):
        for key, value in changes.items():
            meta[key] = {**meta[key], **value} if isinstance(value, dict) else value

    _edit_meta(path, change)
    with pytest.raises(ModelFormatError, match=said):
        load_bundle(path)


def test_a_model_from_before_the_format_is_read_as_it_always_was(bundle_dir):
    # No `format`: written before it, when the transform's fields were read leniently.
    path, _ = bundle_dir
    _edit_meta(path, lambda meta: meta["transform"].update(from_an_old_version=True))
    assert load_bundle(path).threshold == 0.3
    _edit_meta(path, lambda meta: meta.update(format=1, preprocess_version="2026-12-05"))
    with pytest.raises(ModelFormatError, match="'from_an_old_version', which this thermocad"):
        load_bundle(path)


def test_a_transform_resizing_to_another_size_than_the_network_is_refused(bundle_dir):
    path, _ = bundle_dir
    _edit_meta(path, lambda meta: meta["transform"].update(size=meta["input_size"] // 2))
    with pytest.raises(
        ModelFormatError, match=r"field 'transform' resizes to \d+ px but 'input_size'"
    ):
        load_bundle(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", r"model\.json: must hold a JSON object, got list$"),
        ('"model"', r"model\.json: must hold a JSON object, got str$"),
        ("[" * 200_000 + "]" * 200_000, r"model\.json: nested too deeply to be a model\.json$"),
        ("{", r"model\.json: not valid JSON \(Expecting property name"),
        # 4 MB of values, under the bytes' cap: 100 MB to parse ([{},...] 64 MB: 1.6 GB)
        ("[" + "{}," * 2_000_000 + "{}]", r"model\.json: 4,000,002 values or containers, more"),
        # nested lists have no comma: their brackets count (a diff review: 2.9 GB at 64 MB)
        ("[" * 100 + "[]," * 1_000_000 + "[]" + "]" * 100, r"2,000,101 values or containers"),
    ],
    ids=["list", "string", "too-deep", "truncated", "too-many-values", "nested-lists"],
)
def test_model_json_that_is_no_object_or_too_deep_is_refused(bundle_dir, text, message):
    path, _ = bundle_dir
    (path / "model.json").write_text(text)
    with pytest.raises(ModelFormatError, match=message):
        load_bundle(path)


def test_a_model_json_saved_as_utf16_is_said_to_be_no_utf8(bundle_dir):
    path, _ = bundle_dir
    text = (path / "model.json").read_text(encoding="utf-8")
    (path / "model.json").write_bytes(text.encode("utf-16"))  # an editor's "Unicode"
    with pytest.raises(ModelFormatError, match=r"model\.json: not UTF-8 text, as model\.json is"):
        load_bundle(path)


def test_a_model_json_saved_with_a_byte_order_mark_is_said_so(bundle_dir):
    """Notepad's and PowerShell 5's "UTF-8 with BOM": refused in words, not as "Unexpected
    UTF-8 BOM" (export and a run folder's checks read model.json as thermocad writes it)."""
    path, _ = bundle_dir
    text = (path / "model.json").read_text(encoding="utf-8")
    (path / "model.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    with pytest.raises(ModelFormatError, match=r"model\.json: starts with a byte order mark; "
                       "save it as UTF-8 without one$"):  # fmt: skip
        load_bundle(path)


def test_oversized_model_json_refused_before_parsing(bundle_dir):
    path, _ = bundle_dir
    with (path / "model.json").open("ab") as fh:
        fh.truncate(65_000_000)  # sparse: refused on its size, never read
    with pytest.raises(ModelFormatError, match="at most 64 MB"):
        load_bundle(path)


def test_safetensors_with_header_length_128_mod_256_loads(bundle_dir):
    from safetensors.torch import save_file

    # 0x80 is the low byte of such a header length, which a one-byte pickle check refused.
    path, model = bundle_dir
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    weights = path / "model.safetensors"
    for pad in range(512):
        save_file(state, str(weights), metadata={"format": "pt", "pad": "x" * pad})
        header = int.from_bytes(weights.read_bytes()[:8], "little")
        if header % 256 == 128:
            break
    assert header % 256 == 128 and weights.read_bytes()[0] == 0x80
    meta = json.loads((path / "model.json").read_text())
    del meta["weights_sha256"]  # these are the same tensors in another file
    (path / "model.json").write_text(json.dumps(meta))
    x = torch.stack([EvalTransform(size=32)(a) for a in arrays()])
    with torch.no_grad():
        expected = model(x).softmax(1)[:, 1].numpy()
    np.testing.assert_allclose(
        load_bundle(path).predict(arrays(), tta=False), expected, rtol=1e-5, atol=1e-6
    )


def test_truncated_safetensors_is_refused_as_not_safetensors(bundle_dir):
    path, _ = bundle_dir
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[:100])
    with pytest.raises(ModelFormatError, match="not a safetensors file"):
        load_bundle(path)


def test_wrong_arch_in_model_json_is_one_short_line(bundle_dir):
    path, _ = bundle_dir
    meta = json.loads((path / "model.json").read_text())
    meta["arch"] = "resnet34"
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="architecture 'resnet34'.*first: ") as refused:
        load_bundle(path)
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and len(message) < 600, message


def test_damaged_weights_are_refused_and_old_model_json_loads(bundle_dir):
    path, _ = bundle_dir
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100:-90] = bytes(10)  # tensor data, not the header: it still parses
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="model.safetensors: does not match model.json"):
        load_bundle(path)
    meta = json.loads((path / "model.json").read_text())
    del meta["weights_sha256"]  # written before the digest was recorded
    (path / "model.json").write_text(json.dumps(meta))
    assert load_bundle(path).predict(arrays()).shape == (3,)


def test_the_same_weights_make_the_same_file(tmp_path):
    """safetensors writes its metadata in a random order; save_bundle sorts it, so a model
    trained again to the same weights has the same bytes and weights_sha256."""
    from safetensors import safe_open

    model = torch.nn.Linear(3, 2)
    files = {(save_bundle(tmp_path / str(i), model, {"arch": "efficientnet_lite0"}) /
              "model.safetensors").read_bytes() for i in range(8)}  # fmt: skip
    assert len(files) == 1
    with safe_open(str(tmp_path / "0" / "model.safetensors"), "pt") as f:
        assert f.metadata() == {"arch": "efficientnet_lite0", "format": "pt"}
        assert torch.equal(f.get_tensor("weight"), model.weight.detach())
