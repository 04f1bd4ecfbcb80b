"""The caller's global random state, kept across a public function (docs/api.md): training
seeds Python's, numpy's and torch's global generators and sets cuDNN's flags (fastai's
set_seed, for runs that repeat), and building a network draws its first weights from torch's.
A notebook's own draws after `thermocad.train(...)` go on as if it had not been called."""

from __future__ import annotations

import contextlib
import functools
import random
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def kept_random_state() -> Iterator[None]:
    """Python's, numpy's and torch's generators and cuDNN's flags as they were, however the
    block ends. torch imported inside the block, or CUDA first used there, had no state of the
    caller's: they are seeded afresh, as a new process seeds them, not left at the block's
    seed (every notebook would then draw the same numbers). Off the main thread nothing is
    saved or restored: the generators are the process's, and putting them back from a worker
    would replay other threads' draws (an embedding review: 97% of a host thread's numbers
    repeated while another thread predicted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import numpy as np

    saved = random.getstate(), np.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        cudnn = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
        cpu = torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        if torch is not None:
            torch.set_rng_state(cpu)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
            _cuda(torch, cuda)
        elif (imported := sys.modules.get("torch")) is not None:  # as a fresh import has them
            imported.seed()
            imported.backends.cudnn.deterministic = imported.backends.cudnn.benchmark = False
            _cuda(imported, None)


def _cuda(torch, states) -> None:
    """CUDA's generators as they were (`states`), or, where CUDA was not started before the
    block, seeded afresh: at once if the block started it, else at its first use, replacing
    the seed the block left for it (fastai's set_seed queues one)."""
    if states is not None:
        torch.cuda.set_rng_state_all(states)
    elif torch.cuda.is_available():
        torch.cuda.seed_all()


def keeps_random_state(function: F) -> F:
    """`function` run inside kept_random_state()."""

    @functools.wraps(function)
    def kept(*args: Any, **kwargs: Any) -> Any:
        with kept_random_state():
            return function(*args, **kwargs)

    return kept  # type: ignore[return-value]
