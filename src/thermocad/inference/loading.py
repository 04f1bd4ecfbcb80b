"""Load the model predict, evaluate and the app use: a run folder (PyTorch) or an .onnx file.

An .onnx file always runs on ONNX Runtime. A run folder runs on PyTorch when the [train]
extra is installed, else on the folder's model.onnx when it has one (`thermocad export RUN
--onnx RUN/model.onnx`), so one folder serves both kinds of installation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from thermocad.utils.extras import MissingExtraError, import_problem

if TYPE_CHECKING:
    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle

ONNX_IN_RUN = "model.onnx"


def torch_problem() -> tuple[str, str] | None:
    """None where the PyTorch model of a run folder can be built here ([train] extra), else
    (the module that does not import, why: utils.extras.import_problem)."""
    return next(((m, p) for m in ("torch", "timm") if (p := import_problem(m))), None)


def load_model(path: str | os.PathLike, device: str = "auto") -> ModelBundle | OnnxModel:
    """The model at `path` on `device` (auto | cpu | cuda | cuda:N); see the module docstring."""
    from thermocad.models.device import parse_device

    parse_device(device)  # a bad --device fails before any loading
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from thermocad.inference.onnx import OnnxModel

        return OnnxModel(path, device)
    if missing := torch_problem():
        if (path / ONNX_IN_RUN).is_file():
            from thermocad.inference.onnx import OnnxModel
            from thermocad.models.bundle import check_complete

            check_complete(path)  # a run being retrained: its model.onnx is the earlier model's

            return check_exported_from(OnnxModel(path / ONNX_IN_RUN, device), path)
        module, problem = missing
        name = "PyTorch" if module == "torch" else module
        raise MissingExtraError(
            f"{path}: a run folder's model needs PyTorch and timm ({name} is {problem}): pip "
            "install 'thermocad[train]', or use an exported .onnx file (thermocad export)",
            module,
        )
    from thermocad.models.bundle import load_bundle
    from thermocad.models.device import torch_device

    target = torch_device(device)
    bundle = load_bundle(path)
    if target.type != "cpu":  # load_bundle builds the model on the CPU
        bundle.model.to(target)
    return bundle


def check_exported_from(model: OnnxModel, run_dir: Path) -> OnnxModel:
    """The run folder's model.onnx, if it was exported from this folder's bundle as it is
    now; else a ModelFormatError (another model's file, or weights or model.json changed
    since: its threshold or preprocessing would not be the folder's). An export without the
    record (an earlier version's) is taken, with a note."""
    from thermocad.inference.export import bundle_fingerprint
    from thermocad.utils.errors import ModelFormatError

    again = f"export it again: thermocad export {run_dir} --onnx {model.path} --force"
    source = model.meta.get("exported_from")
    if not isinstance(source, dict):  # an export by an earlier version: said, not refused
        from thermocad.utils.progress import log

        log(f"note: {model.path} does not record which model it was exported from (an earlier "
            f"version's export), so it is taken to be {run_dir}'s; {again} where PyTorch is")  # fmt: skip
        return model
    try:
        now = bundle_fingerprint(run_dir)
    except (OSError, ValueError) as exc:  # unreadable, or a model.json that is not JSON
        raise ModelFormatError(f"{run_dir}: cannot read its model files ({exc})") from exc
    changed = [name for name, digest in now.items() if source.get(name) != digest]
    if changed:
        verb = "differ" if len(changed) > 1 else "differs"
        raise ModelFormatError(f"{model.path}: was not exported from {run_dir}'s model as it "
                               f"is now ({' and '.join(changed)} {verb}); {again} where "
                               "PyTorch is")  # fmt: skip
    return model


def is_onnx(model: object) -> bool:
    """Whether a loaded model runs on ONNX Runtime (no Grad-CAM, no PyTorch)."""
    from thermocad.inference.onnx import OnnxModel

    return isinstance(model, OnnxModel)
