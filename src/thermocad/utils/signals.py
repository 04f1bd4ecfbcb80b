"""SIGTERM (kill, systemd, docker stop) handled as Ctrl+C: the running command's `finally`
clauses run, so its temporary files and locks go, where Python's default handler would end
the process at once (a killed export left a hidden 0-byte .onnx beside its target)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


def sigterm_as_interrupt():
    """Make SIGTERM raise KeyboardInterrupt in the main thread; returns the previous handler
    (None off the main thread, where Python cannot set handlers)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """sigterm_as_interrupt() while the block runs, the previous handler again after it."""
    import signal

    previous = sigterm_as_interrupt()
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
