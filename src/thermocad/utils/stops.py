"""What stopped an unfinished run, written into its INCOMPLETE mark: a support request attaches
the folder, not the terminal it ran in (a support review: a crash left only "training started;
this run is not finished", the same words as a run still going or one killed). The mark's first
line stays what it was (what readers of it go by); each stop adds its time, its cause and the
versions, and a traceback where the cause is a bug rather than the data, the options or the
machine. Only a run that wrote its mark in this call notes its stop: a command refused before
it began (another run's folder, other options) leaves an earlier run's mark as it was."""

from __future__ import annotations

import contextlib
import os
import re
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from thermocad.utils.files import INCOMPLETE, atomic_write_text

# A stop's first line: "stopped 2026-12-07T19:49:01Z: <cause>" (a traceback's lines never are)
STOP_LINE = re.compile(r"^stopped \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: .*$", re.MULTILINE)


def _identity(mark: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError):
        st = mark.stat()
        return st.st_ino, st.st_mtime_ns
    return None


@contextlib.contextmanager
def noting_stop(folder: str | os.PathLike) -> Iterator[None]:
    """Run the block; an exception leaving it (a bug, an error, Ctrl+C) is added to `folder`'s
    INCOMPLETE mark when the block wrote that mark (a run it began or resumed), once however
    many blocks it leaves."""
    mark = Path(folder) / INCOMPLETE
    before = _identity(mark)
    try:
        yield
    except BaseException as exc:
        if _identity(mark) not in (None, before):
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
            lines = [f"stopped {when}: interrupted (Ctrl+C, or the system stopped it)"]
        else:
            lines = [f"stopped {when}: {type(exc).__name__}: {one_line(exc)[:500]}"]
        # a bug: where, and on what (the data's, the options' and the machine's are said whole)
        if not isinstance(exc, ThermocadError | KeyboardInterrupt | OSError | MemoryError):
            lines += [environment(), "".join(traceback.format_exception(exc)[-40:]).rstrip()]
        text = mark.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        atomic_write_text(mark, "\n".join([text, *lines]) + "\n")


def written_mark(mark: Path) -> str:
    """An INCOMPLETE mark's text as the run wrote it, without the stops noted after it ("" when
    there is none)."""
    with contextlib.suppress(OSError):
        text = mark.read_text(encoding="utf-8", errors="replace")
        first = STOP_LINE.search(text)
        return text if first is None else text[: first.start()]
    return ""


def clear_stops(folder: str | os.PathLike) -> None:
    """A run resumed in `folder` without writing its mark again: the stops noted in the mark go
    (it is running again, not stopped), and its own text stays."""
    mark = Path(folder) / INCOMPLETE
    if mark.is_file():
        atomic_write_text(mark, written_mark(mark))


def last_stop(folder: str | os.PathLike) -> str | None:
    """The last stop `folder`'s INCOMPLETE mark records ("stopped <UTC>: <cause>"), or None."""
    with contextlib.suppress(OSError):
        text = (Path(folder) / INCOMPLETE).read_text(encoding="utf-8", errors="replace")
        return found[-1] if (found := STOP_LINE.findall(text)) else None
    return None
