"""Which process of a distributed run this is: torchrun and accelerate set RANK with a
WORLD_SIZE over 1. A RANK alone (left in a shell, or set by a cluster's job for another
program) is one process: fastai had taken it for a worker, and `train` wrote nothing."""

from __future__ import annotations

import os


def _world() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def other_rank() -> bool:
    """A distributed run's process other than rank 0, which writes nothing of its folder."""
    return _world() > 1 and os.environ.get("RANK", "0").strip() != "0"


def drop_stray_rank() -> str:
    """Forget a RANK set without a WORLD_SIZE over 1 (this process is the only one); the note
    to log, or '' where there is none."""
    if _world() > 1 or os.environ.get("RANK", "0").strip() in ("", "0"):
        return ""
    rank = os.environ.pop("RANK")
    return f"note: RANK={rank} is set without a WORLD_SIZE over 1: one process, so it is ignored"
