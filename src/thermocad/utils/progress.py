"""Progress bars that turn into plain log lines in quiet mode (THERMOCAD_QUIET=1 or --quiet)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def quiet() -> bool:
    """No progress bars: asked for (--quiet), or stderr is a log file rather than a terminal."""
    if os.environ.get("THERMOCAD_PROGRESS") == "1":
        return False
    return os.environ.get("THERMOCAD_QUIET", "") not in ("", "0") or not sys.stderr.isatty()


@contextlib.contextmanager
def quiet_mode(on: bool) -> Iterator[None]:
    """Quiet mode for one command (--quiet), in the environment so that the processes it starts
    (distributed training) inherit it; as it was afterwards, for a notebook's next call."""
    before = os.environ.get("THERMOCAD_QUIET")
    if on:
        os.environ["THERMOCAD_QUIET"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("THERMOCAD_QUIET", None)
        else:
            os.environ["THERMOCAD_QUIET"] = before


# Control characters a file name may hold, written as escapes: a name with a line break would
# otherwise fake a log line of its own, and one with ESC would drive the terminal.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(9), *range(11, 32), 127]} | {10: "\\n", 13: "\\r"}


def one_line(text: object) -> str:
    """`text` on one line, its control characters (but tabs) escaped."""
    return str(text).translate(_CONTROLS)


class _Stderr(logging.Handler):
    """Each record as one `[thermocad] ...` line on the stderr of the moment (a notebook's,
    a test's capture), as print writes it: an error writing it is raised, not swallowed."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"[thermocad] {one_line(record.getMessage())}", file=sys.stderr, flush=True)


# The status lines go through Python's logging, under this name, so that a notebook can hide
# them: logging.getLogger("thermocad").setLevel(logging.WARNING) keeps the warnings alone.
LOGGER = logging.getLogger("thermocad")
if not LOGGER.handlers:  # once per process, however often this module is reloaded
    LOGGER.addHandler(_Stderr())
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False  # printed once, not again by a root handler the user set up


def log(message: str) -> None:
    """One plain line on stderr (progress bars are what quiet mode hides); a line that starts
    with "warning" at logging's WARNING level, the others at INFO."""
    level = logging.WARNING if str(message).startswith("warning") else logging.INFO
    LOGGER.log(level, "%s", message)


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap `items` in a tqdm bar, or log start and end lines in quiet mode. A Ctrl+C that
    Python dropped inside a finaliser is raised again before the next item (utils.signals)."""
    from thermocad.utils.signals import raise_if_interrupted

    if quiet():
        n = 0
        for n, item in enumerate(items, 1):  # noqa: B007
            raise_if_interrupted()
            yield item
        raise_if_interrupted()
        log(f"{desc}: {n} done")
        return
    from tqdm.auto import tqdm

    for item in tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False):
        raise_if_interrupted()
        yield item
    raise_if_interrupted()
