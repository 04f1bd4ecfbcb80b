"""Load the model predict, evaluate and the app use: a run folder (PyTorch) or an .onnx file.

An .onnx file always runs on ONNX Runtime. A run folder runs on PyTorch when the [train]
extra is installed, else on the folder's model.onnx when it has one (`thermocad export RUN
--onnx RUN/model.onnx`), so one folder serves both kinds of installation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.utils.extras import MissingExtraError, available

if TYPE_CHECKING:
    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

ONNX_IN_RUN = "model.onnx"


def torch_available() -> bool:
    """Whether the PyTorch model of a run folder can be built here ([train] extra)."""
    return available("torch") and available("timm")


def load_model(path: str | os.PathLike, device: str = "auto") -> ModelBundle | OnnxModel:
    """The model at `path` on `device` (auto | cpu | cuda | cuda:N); see the module docstring."""
    from thermocad.models.device import parse_device

    parse_device(device)  # a bad --device fails before any loading
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from thermocad.inference.onnx import OnnxModel

        return OnnxModel(path, device)
    if not torch_available():
        if (path / ONNX_IN_RUN).is_file():
            from thermocad.inference.onnx import OnnxModel
            from thermocad.models.bundle import check_complete

            check_complete(path)  # a run being retrained: its model.onnx is the earlier model's

            return OnnxModel(path / ONNX_IN_RUN, device)
        raise MissingExtraError(
            f"{path}: a run folder's model needs PyTorch, which is not installed: pip install "
            f"'thermocad[train]', or predict with an exported .onnx file (thermocad export)"
        )
    from thermocad.models.bundle import load_bundle
    from thermocad.models.device import torch_device

    target = torch_device(device)
    bundle = load_bundle(path)
    if target.type != "cpu":  # load_bundle builds the model on the CPU
        bundle.model.to(target)
    return bundle


def is_onnx(model: object) -> bool:
    """Whether a loaded model runs on ONNX Runtime (no Grad-CAM, no PyTorch)."""
    from thermocad.inference.onnx import OnnxModel

    return isinstance(model, OnnxModel)
