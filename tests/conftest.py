"""Shared test fixtures: tiny synthetic data, and the real DMR-IR set when it is beside us."""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DMR_DIR = Path(os.environ.get("THERMOCAD_DMR_DIR", REPO.parent / "shared/data/dmr-ir-frontal"))

# What the test session writes besides its tmp_path folders goes here, not into the checkout:
# numba's cache of the njit(cache=True) reader (else src/thermocad/io/__pycache__, also for the
# tests' subprocesses, which inherit the variable) and Hypothesis's files (else .hypothesis/).
# Set on import of this file, before anything imports numba, which reads it then.
SCRATCH = Path(tempfile.mkdtemp(prefix="thermocad-tests-"))
os.environ["NUMBA_CACHE_DIR"] = str(SCRATCH / "numba")
if "numba" in sys.modules:  # imported already (by a plugin): read the variable again
    sys.modules["numba"].config.reload_config()


def _hypothesis_settings() -> None:
    """No example database, and derandomized examples, so that a failure on CI reproduces;
    HYPOTHESIS_PROFILE=explore searches afresh (random examples) instead."""
    try:
        from hypothesis import configuration, settings
    except ImportError:
        return
    configuration.set_hypothesis_home_dir(SCRATCH / "hypothesis")
    settings.register_profile("thermocad", database=None, derandomize=True)
    settings.register_profile("explore", database=None, derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "thermocad"))


_hypothesis_settings()


def pytest_unconfigure(config):
    shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def dmr_dir() -> Path:
    """The real DMR-IR frontal set (tests using it carry @pytest.mark.real)."""
    if not (DMR_DIR / "labels.csv").exists():
        pytest.skip(f"real DMR-IR data not found at {DMR_DIR}")
    return DMR_DIR


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the parse cache of every test away from the user's cache."""
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("THERMOCAD_QUIET", "1")


@pytest.fixture(scope="session", autouse=True)
def _session_user_ledger(tmp_path_factory):
    """The user ledger (evaluation/user_ledger.py) of session fixtures (a smoke run), which
    are made before any test's own: never the user's, in their home. The parse cache of
    session and module fixtures too, and Gradio's upload cache of every app the tests serve
    (some tests set their own)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path_factory.mktemp("user_ledger")))
        mp.setenv("THERMOCAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        yield


@pytest.fixture(autouse=True)
def _isolated_user_ledger(tmp_path_factory, monkeypatch):
    """Keep every test's test openings out of the user's ledger: a fresh one per test, so
    that no test counts another's models."""
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path_factory.mktemp("user_ledger")))


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One PyTorch thread for the whole session, set here for every test on purpose.

    The test machines share two cores between several jobs; PyTorch's default of one thread
    per core oversubscribes OpenMP (training ran 35x slower). This was a side effect of
    collecting tests/training/test_run.py; it is set once here so that it is visible and holds
    whichever tests run. A core install without PyTorch has nothing to set.
    """
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)


# An install without an extra (a core build, as Debian or conda-forge would test it): the tests
# that need a missing optional module are skipped, saying which, instead of failing. With
# everything installed (CI) nothing is skipped this way.
OPTIONAL = ("torch", "torchvision", "timm", "fastai", "pytorch_grad_cam", "gradio", "onnx",
            "onnxscript", "selenium")  # fmt: skip
# thermocad's modules that import PyTorch at their top (tests/test_architecture.py checks it).
TOP_HEAVY = {"thermocad.training.recipe", "thermocad.training.checkpoint",
             "thermocad.training.data", "thermocad.training.distributed",
             "thermocad.training.run", "thermocad.training.outputs"}  # fmt: skip


@functools.cache
def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # blocked (sys.modules[name] = None)
        return True


def _top_imports(path: Path) -> set[str]:
    """The optional packages a test module imports at its top, directly or through one of
    thermocad's TOP_HEAVY modules (ast: nothing is run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return {n.split(".")[0] for n in names} | ({"torch"} if names & TOP_HEAVY else set())


def pytest_ignore_collect(collection_path, config):
    """A test module importing a missing optional module at its top is not collected."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return any(_missing(m) for m in _top_imports(collection_path) & set(OPTIONAL)) or None
    return None


def pytest_collection_modifyitems(config, items):
    """Tests marked `train` (they train, or check what a command says where it can) are
    skipped without the training stack."""
    from thermocad.utils.extras import TRAINING

    if any(_missing(m) for m in TRAINING):
        skip = pytest.mark.skip(reason="needs thermocad[train] (PyTorch), not installed")
        for item in items:
            if item.get_closest_marker("train"):
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails because an optional module is not installed is reported skipped."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or report.skipped:
        return
    from thermocad.utils.extras import MissingExtraError

    error = call.excinfo.value
    # The module it names must really be missing: a require() of a module that is installed,
    # or one asked for where it should not be, is a bug and fails.
    if isinstance(error, ImportError):
        module = getattr(error, "name", None)
    elif isinstance(error, MissingExtraError):
        module = error.module
    else:
        module = None
    top = (module or "").split(".")[0]
    if top in OPTIONAL and _missing(top):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"not installed: {error}")


def chromium_available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A tiny trained model bundle (64 px smoke run), trained once per session."""
    from tests.helpers.app import smoke_run

    return smoke_run(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def dmr_files(tmp_path_factory) -> list[Path]:
    """Three small synthetic DMR text matrices."""
    from tests.helpers.app import synthetic_dmr

    return synthetic_dmr(tmp_path_factory.getbasetemp())
