"""Output names a command checks before any work: a file written in one format is named so."""

from __future__ import annotations

import os
from pathlib import Path

from thermocad.utils.errors import ConfigError


def check_suffix(out: str | os.PathLike, suffix: str, what: str, flag: str = "--out") -> None:
    """Refuse an output name that does not end in `suffix` (".png", ".html", any case): the file
    is written as `what` whatever its name, so `lr.pdf` would be a PNG named .pdf, and with
    --force a model (`m.onnx`), a thermogram (`T0001.txt`) or a study's JSON would be replaced."""
    if Path(out).suffix.lower() != suffix:
        raise ConfigError(f"{out}: {flag} is written as {what}: give it a name ending in {suffix}")
