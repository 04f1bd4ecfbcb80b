"""utils.extras: a missing optional dependency is named with its extra; one that is there but
does not import is said so, with its own error."""

from __future__ import annotations

import importlib

import pytest

from thermocad.utils import extras


def test_a_module_that_is_there_but_does_not_import_is_not_called_missing(monkeypatch):
    """Under a memory cap PyTorch's library could not be mapped: the message had said
    'PyTorch, which is not installed' (a resource review)."""
    real = importlib.import_module

    def imports(name, *args):
        if name == "torch":
            raise ImportError("libtorch_cuda.so: failed to map segment from shared object")
        if name == "timm":
            raise ModuleNotFoundError("No module named 'timm'", name="timm")
        return real(name, *args)

    monkeypatch.setattr(extras.importlib, "import_module", imports)
    assert extras.import_problem("timm") == extras.NOT_INSTALLED and not extras.available("timm")
    assert extras.import_problem("torch") == (
        "installed but does not import (libtorch_cuda.so: failed to map segment from shared object)"
    )
    with pytest.raises(extras.MissingExtraError, match=r"^this needs PyTorch, which is "
                       r"installed but does not import \(libtorch_cuda.so: .*\): too little "
                       r"memory to load it, or a broken install$"):  # fmt: skip
        extras.require("torch", extra="train")
    with pytest.raises(extras.MissingExtraError, match=r"not installed: pip install 'thermocad\["):
        extras.require("timm", extra="train")
    from thermocad.inference.loading import load_model

    with pytest.raises(extras.MissingExtraError, match=r"run: a run folder's model needs "
                       r"PyTorch and timm \(PyTorch is installed but does not import \(libtorch"):  # fmt: skip
        load_model("run")


def test_with_pytorch_there_a_missing_timm_is_named(monkeypatch):
    pytest.importorskip("torch")  # a core install has no PyTorch to import
    from thermocad.inference.loading import load_model

    real = importlib.import_module

    def timm_missing(name, *args):  # PyTorch there: the message names timm, not PyTorch
        if name == "timm":
            raise ModuleNotFoundError("No module named 'timm'", name="timm")
        return real(name, *args)

    monkeypatch.setattr(extras.importlib, "import_module", timm_missing)
    with pytest.raises(
        extras.MissingExtraError, match=r"PyTorch and timm \(timm is not installed\)"
    ):
        load_model("run")
