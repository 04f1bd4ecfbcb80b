"""SIGTERM (kill, systemd, docker stop) handled as Ctrl+C: the running command's `finally`
clauses run, so its temporary files and locks go, where Python's default handler would end
the process at once (a killed export left a hidden 0-byte .onnx beside its target)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# Set by the CLI's handlers when Ctrl+C or SIGTERM arrives, and never cleared in that process:
# a KeyboardInterrupt raised inside a finaliser (matplotlib's weakref callbacks, a __del__) is
# printed and dropped by Python, so the command would go on; progress() raises it again at
# its next item, and the CLI reports a command that failed after it as interrupted.
_RECEIVED = threading.Event()
_STICKY = threading.Event()  # set by sigint_as_sticky_interrupt: the CLI's own process only


def interrupt_received() -> bool:
    """Whether this process's CLI was asked to stop (Ctrl+C or SIGTERM)."""
    return _RECEIVED.is_set()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt again when one was received (and may have been dropped)."""
    if _RECEIVED.is_set():
        raise KeyboardInterrupt


def _interrupt(signum, frame):
    if _STICKY.is_set():  # in the CLI's process; main() called from Python forgets it
        _RECEIVED.set()
    raise KeyboardInterrupt


def sigint_as_sticky_interrupt() -> None:
    """Ctrl+C raises KeyboardInterrupt and is remembered (`interrupt_received`); main thread
    only. The CLI's own process sets it; main() called from Python leaves Ctrl+C alone."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started so (`cmd &` in a script)
        return
    _STICKY.set()
    signal.signal(signal.SIGINT, _interrupt)


def sigterm_as_interrupt():
    """Make SIGTERM raise KeyboardInterrupt in the main thread; returns the previous handler
    (None off the main thread, where Python cannot set handlers)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


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
