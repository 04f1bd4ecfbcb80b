"""SIGTERM (kill, timeout, systemd, docker stop) handled as Ctrl+C: the running command's
`finally` clauses run, so its temporary files and locks go, where Python's default handler
would end the process at once (a killed export left a hidden 0-byte .onnx beside its target,
a killed evaluate its folder locked and half written)."""

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
_SIGNALS: list[int] = []  # the stop signals received, in order (exit status 128 + the first)


def interrupt_received() -> bool:
    """Whether this process's CLI was asked to stop (Ctrl+C or SIGTERM)."""
    return _RECEIVED.is_set()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt again when one was received (and may have been dropped)."""
    if _RECEIVED.is_set():
        raise KeyboardInterrupt


def exit_status() -> int:
    """The status of a command stopped by a signal, as a shell gives it: 128 + the signal's
    number (130 for Ctrl+C, 143 for SIGTERM); 130 when no signal was recorded."""
    return 128 + (_SIGNALS[0] if _SIGNALS else 2)


def _interrupt(signum, frame):
    import signal

    if _STICKY.is_set():  # in the CLI's process; main() called from Python forgets it
        if signum == signal.SIGTERM and _SIGNALS:  # `timeout` sends it to the process group
            return  # too: a second one would break into the first one's clean-up
        _RECEIVED.set()
        _SIGNALS.append(signum)
    raise KeyboardInterrupt


def sigint_as_sticky_interrupt() -> None:
    """Ctrl+C and SIGTERM (`timeout`, a batch scheduler, `docker stop`) raise KeyboardInterrupt
    and are remembered (`interrupt_received`); main thread only. The CLI's own process sets
    it; main() called from Python leaves both alone. A signal the process was started
    ignoring (`cmd &` in a script ignores Ctrl+C) stays ignored."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    _STICKY.set()
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _interrupt)


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
