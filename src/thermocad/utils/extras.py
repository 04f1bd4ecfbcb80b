"""Optional dependencies: say which `pip install 'thermocad[EXTRA]'` a command needs."""

from __future__ import annotations

import importlib

from thermocad.utils.errors import ThermocadError

# What a missing module is called in the message (the import name is not always the project's).
_WHAT = {
    "torch": "PyTorch",
    "timm": "timm",
    "fastai": "fastai",
    "pytorch_grad_cam": "Grad-CAM (grad-cam)",
    "gradio": "Gradio",
    "onnx": "the ONNX exporter (onnx, onnxscript)",
    "onnxscript": "the ONNX exporter (onnx, onnxscript)",
}


class MissingExtraError(ThermocadError):
    """A command needs an optional dependency that is not installed."""


def available(module: str) -> bool:
    """Whether `module` imports (a module blocked with sys.modules[name] = None does not)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(*modules: str, extra: str, what: str | None = None) -> None:
    """Raise MissingExtraError naming the extra to install unless every module imports."""
    for module in modules:
        if not available(module):
            name = what or _WHAT.get(module, module)
            raise MissingExtraError(
                f"this needs {name}, which is not installed: pip install 'thermocad[{extra}]'"
            )
