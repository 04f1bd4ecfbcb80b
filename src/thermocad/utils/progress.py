"""Progress bars that turn into plain log lines in quiet mode (THERMOCAD_QUIET=1 or --quiet)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def quiet() -> bool:
    """No progress bars: asked for (--quiet, THERMOCAD_QUIET=1), or stderr is not a terminal
    (a log file) unless THERMOCAD_PROGRESS=1 asks for them there (a notebook's stderr)."""
    if os.environ.get("THERMOCAD_QUIET", "") not in ("", "0"):
        return True
    return os.environ.get("THERMOCAD_PROGRESS") != "1" and not sys.stderr.isatty()


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


# The status lines' level is that of Python's logging's logger "thermocad", so that a
# notebook can quieten them: logging.getLogger("thermocad").setLevel(logging.WARNING) keeps the
# warnings alone. They are printed here, not through the logger's handlers: a logging set-up
# that disables the loggers it does not name (dictConfig's default) would silence every
# warning with no sign. logging is imported at the first line, not when `thermocad --help`
# starts.
def _logger():
    import logging

    logger = logging.getLogger("thermocad")
    if logger.level == logging.NOTSET:  # not set by the user: every line shown
        logger.setLevel(logging.INFO)
    return logger


def log(message: str) -> None:
    """One plain line on stderr (progress bars are what quiet mode hides), unless the
    "thermocad" logger's level is above its own: WARNING for a line that starts with
    "warning" (any case), INFO for the others."""
    text = str(message)
    level = 30 if text[:7].lower() == "warning" else 20  # logging.WARNING, logging.INFO
    # not isEnabledFor: it says no once disabled; no stderr at all (pythonw, some hosts): nothing
    if level >= _logger().getEffectiveLevel() and sys.stderr is not None:
        # One write with its newline: lines of threads logging at once stay whole (print writes
        # the newline apart, and an embedding review saw lines run together)
        sys.stderr.write(f"[thermocad] {one_line(text)}\n")
        sys.stderr.flush()


def log_bug(message: str, exc: BaseException) -> None:
    """`message` as log() says it, then `exc`'s traceback as Python prints it (the first three
    times in a process): an error no check foresaw, which a batch goes on past (a file unread)
    but a bug report needs whole."""
    import traceback

    _BUGS[0] += 1
    shown = _BUGS[0] <= 3  # a batch of many such files: the first tracebacks are enough
    log(message + ("; the details for a bug report follow:" if shown else
                   "; its details are not shown (those of the first three files are)"))  # fmt: skip
    if shown and _logger().getEffectiveLevel() <= 30 and sys.stderr is not None:  # as warnings
        sys.stderr.write("".join(traceback.format_exception(exc)))
        sys.stderr.flush()


_BUGS = [0]  # log_bug's tracebacks shown by this process


EVERY_S = 60.0  # quiet mode's lines while a loop lasts


def took(seconds: float) -> str:
    """'12 s', '3 min 5 s', '2 h 7 min'."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60} min"


class Laps:
    """A long command's stages, each logged with how long it took ("fit: the cross-validation
    took 3 min 5 s"); `lap` returns every stage's seconds so far, with their total, for the
    command's record (an observability review: nothing said how long a stage had taken)."""

    def __init__(self, command: str) -> None:
        import time

        self.command, self.seconds, self._last = command, {}, time.monotonic()

    def lap(self, stage: str) -> dict[str, float]:
        import time

        now = time.monotonic()
        self.seconds[stage] = round(now - self._last, 1)
        self._last = now
        log(f"{self.command}: {stage} took {took(self.seconds[stage])}")
        return {**self.seconds, "total": round(sum(self.seconds.values()), 1)}


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap `items` in a tqdm bar, or log start and end lines in quiet mode. A Ctrl+C that
    Python dropped inside a finaliser is raised again before the next item (utils.signals)."""
    from thermocad.utils.signals import raise_if_interrupted

    if quiet():  # a line a minute while it lasts (a log had minutes of silence), then the end's
        import time

        n, start = 0, time.monotonic()
        said = start
        for n, item in enumerate(items, 1):  # noqa: B007
            raise_if_interrupted()
            yield item
            if (now := time.monotonic()) - said >= EVERY_S:
                said = now
                log(f"{desc}: {n}{f' of {total}' if total else ''} done, {took(now - start)}")
        raise_if_interrupted()
        log(f"{desc}: {n} done in {took(time.monotonic() - start)}")
        return
    from tqdm.auto import tqdm

    for item in tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False):
        raise_if_interrupted()
        yield item
    raise_if_interrupted()
