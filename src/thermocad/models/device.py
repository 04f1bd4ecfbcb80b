"""`--device auto | cpu | cuda | cuda:N`: checked names, then a torch device or ONNX providers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from thermocad.utils.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_HELP = "auto (a GPU when present), cpu, cuda or cuda:N"
_PATTERN = re.compile(r"auto|cpu|cuda(?::(\d+))?\Z")


def parse_device(name: str) -> tuple[str, int | None]:
    """("auto" | "cpu" | "cuda", index or None) for a --device value; ConfigError otherwise."""
    match = _PATTERN.fullmatch(name.strip().lower())
    if not match:
        raise ConfigError(f"--device {name!r}: expected {DEVICE_HELP}")
    kind = match.group(0).split(":")[0]
    return kind, int(match.group(1)) if match.group(1) is not None else None


def _check_cuda(name: str, index: int | None, count: int) -> None:
    if count == 0:
        raise ConfigError(f"--device {name}: no CUDA GPU is available here; use --device cpu")
    if index is not None and index >= count:
        raise ConfigError(
            f"--device {name}: no such GPU (this machine has {count}: 0..{count - 1})"
        )


def torch_device(name: str = "auto") -> torch.device:
    """The torch device for a --device value; a clear error when the GPU asked for is absent."""
    import torch

    kind, index = parse_device(name)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if kind == "auto":
        return torch.device("cuda" if count else "cpu")
    if kind == "cpu":
        return torch.device("cpu")
    _check_cuda(name, index, count)
    return torch.device("cuda" if index is None else f"cuda:{index}")


def onnx_providers(name: str = "auto") -> list:
    """ONNX Runtime execution providers for a --device value (CUDA only where ORT has it)."""
    import onnxruntime as ort

    kind, index = parse_device(name)
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if kind == "cpu" or (kind == "auto" and not has_cuda):
        return ["CPUExecutionProvider"]
    if not has_cuda:
        raise ConfigError(
            f"--device {name}: this ONNX Runtime has no CUDA provider (install onnxruntime-gpu); "
            "use --device cpu"
        )
    return [("CUDAExecutionProvider", {"device_id": index or 0}), "CPUExecutionProvider"]
