"""What stopped an unfinished run, written into its INCOMPLETE mark: a support request attaches
the folder, not the terminal it ran in (a support review: a crash left only "training started;
this run is not finished", the same words as a run still going or one killed). The mark's first
line stays what it was (what readers of it go by); each stop adds its time, its cause and the
versions, and a traceback where the cause is a bug rather than the data or the options."""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from thermocad.utils.files import INCOMPLETE, atomic_write_text

STOPPED = "stopped "  # the lines a stop adds begin so


@contextlib.contextmanager
def noting_stop(folder: str | os.PathLike) -> Iterator[None]:
    """Run the block; an exception leaving it (a bug, an error, Ctrl+C) is added to `folder`'s
    INCOMPLETE mark where there is one, once however many blocks it leaves."""
    try:
        yield
    except BaseException as exc:
        note_stop(Path(folder), exc)
        raise


def note_stop(folder: Path, exc: BaseException) -> None:
    """Add `exc` to `folder`'s INCOMPLETE mark (nothing where it has none); never raises."""
    from thermocad.utils.errors import ThermocadError
    from thermocad.utils.progress import one_line
    from thermocad.utils.versions import environment

    mark = folder / INCOMPLETE
    with contextlib.suppress(Exception):
        noted = exc.__dict__.setdefault("_thermocad_noted", set())  # fit's train in its folder
        if mark.resolve() in noted or not mark.is_file():
            return
        noted.add(mark.resolve())
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if isinstance(exc, KeyboardInterrupt):
            lines = [f"{STOPPED}{when}: interrupted by Ctrl+C or SIGTERM"]
        else:
            lines = [f"{STOPPED}{when}: {type(exc).__name__}: {one_line(exc)[:500]}"]
        if not isinstance(exc, ThermocadError | KeyboardInterrupt):  # a bug: where, and on what
            lines += [environment(), "".join(traceback.format_exception(exc)[-40:]).rstrip()]
        text = mark.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        atomic_write_text(mark, "\n".join([text, *lines]) + "\n")


def written_mark(mark: Path) -> str:
    """An INCOMPLETE mark's text as the run wrote it, without the stops noted after it ("" when
    there is none)."""
    with contextlib.suppress(OSError):
        text = mark.read_text(encoding="utf-8", errors="replace")
        return text.split(f"\n{STOPPED}", 1)[0] + "\n" if f"\n{STOPPED}" in text else text
    return ""


def last_stop(folder: str | os.PathLike) -> str | None:
    """The last stop `folder`'s INCOMPLETE mark records ("stopped <UTC>: <cause>"), or None."""
    mark = Path(folder) / INCOMPLETE
    with contextlib.suppress(OSError):
        found = [s for s in mark.read_text(errors="replace").splitlines() if s.startswith(STOPPED)]
        return found[-1] if found else None
    return None
