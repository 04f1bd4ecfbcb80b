"""What made an output: thermocad's version and source commit, the libraries' versions, the
machine; `thermocad --version` prints them, model.json records them, a stopped run's mark
(utils/stops.py) keeps them for whoever reads its folder later."""

from __future__ import annotations

import platform
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from thermocad import __version__

# The command as typed, while the command line runs it (cli.main): model.json records it. None
# from Python, whose caller's notebook or script is the record.
COMMAND: ContextVar[str | None] = ContextVar("thermocad_command", default=None)


def library_versions() -> dict[str, str]:
    """The versions of the libraries that computed the model and its inputs, thermocad's with
    its git commit when it runs from a clone (a CLAIM review: the version stayed 0.1.0 through
    every change of the inputs)."""
    found = {"thermocad": own_version(), "python": platform.python_version()}
    return {**found, **_installed(MODEL_LIBRARIES)}


@cache
def own_version() -> str:
    """thermocad's version, with the git commit of its source when it runs from a clone (read
    once a process: predict's rows and the web app's say it for every file)."""
    commit = source_commit()
    return __version__ + (f" (commit {commit})" if commit else "")


MODEL_LIBRARIES = ("torch", "timm", "fastai", "numpy", "scipy", "scikit-image", "scikit-learn")
# and those that read, serve, export and explain it, for --version
OTHER_LIBRARIES = ("torchvision", "pandas", "numba", "gradio", "onnxruntime", "grad-cam")


def _installed(names) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def source_commit(package: Path | None = None) -> str | None:
    """The git commit of the thermocad source that runs (`package`: its folder), '+changes'
    after it when that folder differs from the commit; None where the source is not a file a
    git clone tracks (a wheel, or a virtualenv inside another project's clone)."""
    import subprocess

    here = package or Path(__file__).resolve().parents[1]  # src/thermocad

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(here), *args], capture_output=True,
                                  text=True, timeout=10, check=False)  # fmt: skip
        except (OSError, subprocess.SubprocessError):  # no git, or it hangs
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if git("ls-files", "--error-unmatch", "__init__.py") is None:  # not tracked: not our clone
        return None
    head, changes = git("rev-parse", "--short=12", "HEAD"), git("status", "--porcelain", ".")
    return None if head is None else head + ("+changes" if changes else "")


def environment() -> str:
    """`thermocad --version`: thermocad with its commit, then Python, the machine and the
    libraries, as a bug report wants them."""
    found = {**library_versions(), **_installed(OTHER_LIBRARIES)}
    lines = [f"thermocad {found.pop('thermocad')}",
             f"Python {found.pop('python')} on {platform.platform()}",
             ", ".join(f"{name} {v}" for name, v in found.items())]  # fmt: skip
    return "\n".join(lines)
