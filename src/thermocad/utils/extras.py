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


# The extra that installs each optional top-level module.
EXTRA_OF = {
    "torch": "train",
    "torchvision": "train",
    "timm": "train",
    "fastai": "train",
    "accelerate": "train",
    "safetensors": "train",
    "pytorch_grad_cam": "explain",
    "gradio": "app",
    "onnx": "export",
    "onnxscript": "export",
    "numba": "fast",
}


class MissingExtraError(ThermocadError):
    """A command needs an optional dependency that is not installed (`module`: which)."""

    def __init__(self, message: str, module: str | None = None) -> None:
        super().__init__(message)
        self.module = module


def available(module: str) -> bool:
    """Whether `module` imports (a module blocked with sys.modules[name] = None does not)."""
    return import_problem(module) is None


NOT_INSTALLED = "not installed"


def import_problem(module: str) -> str | None:
    """None where `module` imports, else why: NOT_INSTALLED, or where it is there but does not
    load (a broken install; a library that cannot be mapped under a memory cap: a resource
    review had been told PyTorch was not installed), its own error."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == module:
            return NOT_INSTALLED
        return f"installed but does not import ({str(exc).splitlines()[0][:200]})"
    return None


def missing_extra_hint(module: str) -> str | None:
    """The one-line message for a missing optional module, or None if it is not one."""
    top = module.split(".")[0]
    if top not in EXTRA_OF:
        return None
    name = _WHAT.get(top, top)
    return f"this needs {name}, which is not installed: pip install 'thermocad[{EXTRA_OF[top]}]'"


TRAINING = ("torch", "timm", "fastai")  # what training and the PyTorch model need ([train])


def require_training() -> None:
    """MissingExtraError naming [train] unless PyTorch, timm and fastai import."""
    require(*TRAINING, extra="train")


def require(*modules: str, extra: str, what: str | None = None) -> None:
    """Raise MissingExtraError naming the extra to install unless every module imports."""
    for module in modules:
        if (problem := import_problem(module)) is not None:
            name = what or _WHAT.get(module, module)
            fix = (f"pip install 'thermocad[{extra}]'" if problem == NOT_INSTALLED
                   else "too little memory to load it, or a broken install")  # fmt: skip
            raise MissingExtraError(f"this needs {name}, which is {problem}: {fix}", module)
