"""Ordered, memory-bounded parallel map for the readers, which survives a dying worker process.

A worker process that dies (a crash in an image decoder, the OOM killer, os._exit in a
transform) breaks its whole ProcessPoolExecutor: every unfinished future fails with
BrokenProcessPool, the culprit's and the innocent ones' alike. Here each unfinished item is
then run again alone, in a fresh one-worker pool, so only the culprit fails (its result is
`on_died(item)`), and the others go on in a new pool.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

Pending = deque  # of (item, Future or None: not submitted, the pool was already broken)


def ordered_map(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    processes: bool,
    on_died: Callable[[Any], Any],
) -> Iterator[tuple[Any, Any]]:
    """Yield (item, func(item)) in input order, at most 2 * workers in flight at once.

    `func` must not raise (it returns its errors). In processes, an item whose worker dies
    gives `on_died(item)` in its place.
    """
    source = iter(items)
    pending: Pending = deque()
    while True:
        pool = _new_pool(workers, processes)
        try:
            broken = yield from _drain(pool, func, source, pending, workers)
        except BaseException:  # stopped early (Ctrl-C, an error, a consumer that breaks): a
            # graceful shutdown can wait for ever on workers that missed the pool's last
            # message; stop them.
            _stop(pool)
            raise
        if not broken:
            pool.shutdown(wait=True)
            return
        _stop(pool)
        while pending:
            item, future = pending.popleft()
            done = _finished(future)
            yield item, done[0] if done is not None else _alone(func, item, on_died)


def _new_pool(workers: int, processes: bool) -> Executor:
    if not processes:
        return ThreadPoolExecutor(max_workers=workers)
    # Worker processes end with this one even when it is killed (-9, the OOM killer).
    return ProcessPoolExecutor(workers, initializer=worker_start, initargs=(os.getpid(),))


def _drain(pool: Executor, func, source: Iterator, pending: Pending, workers: int):
    """Submit and yield in order; returns True when the pool broke (`pending` then holds the
    items not yet yielded), False when every item was yielded."""
    try:
        for item in source:
            try:
                pending.append((item, pool.submit(func, item)))
            except BrokenProcessPool:
                pending.append((item, None))
                return True
            if len(pending) >= 2 * workers:  # only a few results in flight at once
                result = pending[0][1].result()
                yield pending.popleft()[0], result
        while pending:
            result = pending[0][1].result()
            yield pending.popleft()[0], result
    except BrokenProcessPool:
        return True
    return False


def _finished(future: Future | None) -> tuple[Any] | None:
    """(result,) of a future that finished before its pool broke, else None (run it again)."""
    if future is None or not future.done() or future.cancelled() or future.exception():
        return None
    return (future.result(),)


def _alone(func, item, on_died) -> Any:
    """func(item) in a fresh one-worker process pool; on_died(item) if that worker dies too."""
    pool = _new_pool(1, processes=True)
    try:
        return pool.submit(func, item).result()
    except BrokenProcessPool:
        return on_died(item)
    finally:
        _stop(pool)


def _stop(pool: Executor) -> None:
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def quiet_decoders() -> None:
    """Leave Pillow's DecompressionBombWarning unsaid (a huge image is refused in thermocad's
    words) for the whole process: called by the command line and its reader processes, never
    on import (an embedding review: importing thermocad had silenced it for a host's own
    images). A per-read filter would race between reader threads."""
    import warnings

    warnings.filterwarnings("ignore", r"Image size \(\d+ pixels\) exceeds limit", module=r"PIL\.")


def worker_start(parent: int) -> None:
    """In a worker process: leave Ctrl-C to the parent (a worker stopped inside the pool's
    queue lock hung the parent's shutdown for good), end at once on SIGTERM (the pool's own
    stop; the CLI's handler, inherited, would raise inside the worker), and ask Linux to kill
    it when its parent dies (PR_SET_PDEATHSIG), so a killed `prepare` leaves no reader
    processes behind."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    quiet_decoders()  # a reader process of thermocad's own
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if os.getppid() != parent:  # the parent died before the request above
        os._exit(1)
