"""thermocad: computer-aided detection of breast cancer in infrared thermograms.

The public API (docs/api.md): read_thermal, prepare, split, train, evaluate,
evaluate_external, predict, load_model, TrainConfig and study. It is imported lazily (PEP 562),
so `import thermocad` stays fast and loads no torch, pandas or matplotlib until a function that
needs them is used.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

# ONNX Runtime 1.29+ sends usage events to Microsoft from Linux too (model file names, errors,
# a device id kept in ~/.cache) unless told not to before it starts: thermocad's models and
# data stay on the machine. A user's own setting (ORT_DISABLE_TELEMETRY=0) is kept.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# name -> module that defines it
_API = {
    "CLASSES": "thermocad.io.labels",
    "Thermogram": "thermocad.io.thermal",
    "read_thermal": "thermocad.io.thermal",
    "ThermocadError": "thermocad.utils.errors",
    "ThermalFormatError": "thermocad.utils.errors",
    "ConfigError": "thermocad.utils.errors",
    "CohortError": "thermocad.utils.errors",
    "SplitLeakError": "thermocad.utils.errors",
    "ModelFormatError": "thermocad.utils.errors",
    "OutputExistsError": "thermocad.utils.errors",
    "OutputPathError": "thermocad.utils.errors",
    "TrainConfig": "thermocad.training.config",
    "prepare": "thermocad.api",
    "split": "thermocad.api",
    "train": "thermocad.api",
    "evaluate": "thermocad.api",
    "evaluate_external": "thermocad.evaluation.external",
    "predict": "thermocad.api",
    "load_model": "thermocad.api",
    "study": "thermocad.api",
}

__all__ = sorted([*_API, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'thermocad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
