"""Progress bars that turn into plain log lines in quiet mode (THERMOCAD_QUIET=1 or --quiet)."""

from __future__ import annotations

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


def log(message: str) -> None:
    """One plain line on stderr (always shown; progress bars are what quiet mode hides)."""
    print(f"[thermocad] {message}", file=sys.stderr, flush=True)


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Wrap `items` in a tqdm bar, or log start and end lines in quiet mode."""
    if quiet():
        n = 0
        for n, item in enumerate(items, 1):  # noqa: B007
            yield item
        log(f"{desc}: {n} done")
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False)
