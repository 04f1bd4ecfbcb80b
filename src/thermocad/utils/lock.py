"""One writer per output folder: a second thermocad process writing the same folder is refused.

Two `train --out RUN --force` at once would delete each other's files and interleave two models
in one folder. The lock is an advisory `flock` on RUN/.thermocad.lock: the operating system
drops it when its process ends, however it ends, so a killed run never leaves the folder locked.
The file records who holds it, for the refusal's message, and is removed when the lock is
released. Nested writers in the thread that holds a folder (fit trains into its own folder)
share its lock; another thread of the same process is refused, as another process is.
One writer per output file too: utils/trees.place_new.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from thermocad.utils.errors import OutputBusyError, OutputExistsError, OutputPathError
from thermocad.utils.ranks import other_rank
from thermocad.utils.stops import noting_stop

LOCK = ".thermocad.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # a link put in its place is not written through
_held: dict[Path, tuple[int, int]] = {}  # folders this process holds -> (thread, depth)
_guard = threading.Lock()  # _held's check-and-set


def _holder(lock_file: Path) -> str:
    """Who holds the lock, as its file says (a holder that has not yet written says nothing)."""
    try:
        text = lock_file.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


def _acquire(lock_file: Path) -> int:
    """An open descriptor holding the lock on `lock_file`, or OutputBusyError."""
    import fcntl

    while True:
        lock_file.parent.mkdir(parents=True, exist_ok=True)  # a holder may have removed it
        others = False  # another user's lock file (0644 under their umask): read-only to us
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)  # a link: refused
        except OSError as exc:  # said of the folder (read-only, immutable): the lock is ours
            fd = None
            if isinstance(exc, PermissionError):  # another user's: a read-only one locks too
                with contextlib.suppress(OSError):
                    fd = os.open(lock_file, os.O_RDONLY | _NOFOLLOW)
            if fd is None:
                raise _cannot_write(lock_file, exc) from None
            others = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputBusyError(
                f"{lock_file.parent} is being written by another thermocad process"
                f"{_holder(lock_file)}; wait for it to finish, or write somewhere else"
            ) from None
        try:  # the holder before us may have removed the file between our open and our lock
            same = os.path.samestat(os.fstat(fd), os.stat(lock_file))
        except FileNotFoundError:
            same = False
        if same and not others:
            return fd
        try:  # their lock file, which no run holds: removed while we hold it, ours replaces it
            if same:
                lock_file.unlink(missing_ok=True)
        except OSError as exc:  # a folder we may not write
            raise _cannot_write(lock_file, exc) from None
        finally:
            os.close(fd)


def _cannot_write(lock_file: Path, exc: OSError) -> OutputPathError:
    return OutputPathError(f"{lock_file.parent}: cannot write there ({exc.strerror or exc})")


def _record(fd: int, lock_file: Path) -> None:
    program = Path(sys.argv[0]).name if sys.argv else ""  # "thermocad", "pytest", "ipykernel..."
    command = shlex.join([program if program not in ("", "-c", "__main__.py") else "python",
                          *sys.argv[1:]])  # fmt: skip
    # UTC, said: read from another time zone, local time without one was a day off
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    text = f"pid {os.getpid()}, since {since}: {command}\n"
    try:
        os.ftruncate(fd, 0)
        os.write(fd, text.encode("utf-8", "backslashreplace"))
    except OSError as exc:  # a full disk: said naming the folder's lock (os' words name none)
        raise OutputPathError(f"{lock_file}: cannot be written ({exc.strerror or exc})") from None


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold `folder` (created if missing) for writing while the block runs. The folders this
    call created are removed again if the block left them empty: a refused command leaves
    nothing. Nested calls from the thread that holds the folder share its lock; another thread
    of this process is refused, as another process is."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{folder} exists and is not a directory")
    if folder.is_symlink() and not folder.exists():
        raise OutputExistsError(
            f"{folder} is a link to {os.readlink(folder)}, which does not exist"
        )
    # No flock (Windows); or a distributed run's other ranks (torchrun sets RANK), which write
    # nothing of the folder rank 0 holds.
    if os.name != "posix" or other_rank():
        yield folder
        return
    if _enter_nested(folder.resolve(), folder):
        try:
            yield folder
        finally:
            _leave_nested(folder.resolve())
        return
    _check_ancestors(folder.resolve(), folder)
    created = _missing(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /proc/x, a read-only disk: the output folder's problem, said so
        for path in created:
            with contextlib.suppress(OSError):
                path.rmdir()
        raise OutputPathError(
            f"{folder}: cannot make this folder ({exc.strerror or exc})"
        ) from None
    key = folder.resolve()  # one folder however it is spelt (a link, a/../b)
    lock_file = folder / LOCK
    fd = _acquire(lock_file)  # refused: the folder is the other process's, left as it is
    # Bound here: a block abandoned unfinished is closed when its generator is collected, at
    # interpreter exit after the module's globals are gone ('NoneType' has no attribute ...).
    guard, held, close, suppress = _guard, _held, os.close, contextlib.suppress
    with guard:
        held[key] = (threading.get_ident(), 1)
    try:
        _record(fd, lock_file)
        _check_descendants(key, folder)  # after our lock: no writer inside can start now
        yield folder
    finally:
        try:
            with guard:
                held.pop(key, None)
            # Cleared while still held, so no other process can take a folder about to go.
            lock_file.unlink(missing_ok=True)
            for path in created:  # the deepest first; one that holds anything stays
                with suppress(OSError):
                    path.rmdir()
        finally:  # whatever interrupts the clean-up, the lock goes with the descriptor
            close(fd)


def _check_ancestors(key: Path, folder: Path) -> None:
    """Refuse a folder inside one another process is writing (`train --out RUN/cv/.../fold0`
    while a fit holds RUN had replaced a fold the fit's metrics describe). A folder inside one
    this thread holds is its own (fit trains into its folder); another thread's is refused."""
    for parent in key.parents:
        if parent in _held:
            _enter_nested(parent, folder)  # this thread's: fine; another's: refused
            _leave_nested(parent)
            return
        if (who := running_writer(parent)) is not None:
            raise OutputBusyError(f"{folder} is inside {parent}, which is being written by "
                                  f"another thermocad process ({who}); wait for it to finish, "
                                  "or write somewhere else")  # fmt: skip


def _check_descendants(key: Path, folder: Path, depth: int = 4, most: int = 1000) -> None:
    """Refuse a folder holding one another process is writing (`fit --out RUN --force` while a
    `train --out RUN/cv/lite0/fold0` runs would delete the files it writes). Folders down to
    `depth` levels (a study's compare/ARCH/foldK), at most `most` of them, are looked at: an
    output folder's tree, not a data folder's thousands."""
    for seen, (root, dirs, files) in enumerate(os.walk(key)):
        if seen >= most:  # a data folder's thousands of subfolders: not walked
            return
        inner = Path(root)
        mine = _held.get(inner.resolve(), (None,))[0] == threading.get_ident()
        ours = inner == key or mine  # this folder, or one this thread holds
        if not ours and LOCK in files and (who := running_writer(inner)) is not None:
            raise OutputBusyError(f"{folder} holds {inner}, which is being written by another "
                                  f"thermocad process ({who}); wait for it to finish, or "
                                  "write somewhere else")  # fmt: skip
        if len(inner.relative_to(key).parts) >= depth:
            dirs.clear()


def _enter_nested(key: Path, folder: Path) -> bool:
    """True when this thread already holds `key` (one level deeper now); another thread's
    folder is refused."""
    with _guard:
        if key not in _held:
            return False
        owner, depth = _held[key]
        if owner != threading.get_ident():
            raise OutputBusyError(f"{folder} is being written by another thread of this process; "
                                  "wait for it to finish, or write somewhere else")  # fmt: skip
        _held[key] = (owner, depth + 1)
        return True


def _leave_nested(key: Path) -> None:
    with _guard:
        owner, depth = _held[key]
        _held[key] = (owner, depth - 1)


def _missing(folder: Path) -> list[Path]:
    """`folder` and its ancestors that do not exist yet, the deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def running_writer(folder: str | os.PathLike) -> str | None:
    """Who is writing `folder` now ("pid N, since ...: command"), or None when no process holds
    its lock (a lock file left by a killed run holds none)."""
    lock_file = Path(folder) / LOCK
    if os.name != "posix" or not lock_file.is_file():
        return None
    import fcntl

    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(lock_file)[2:-1] or "another process"  # " (pid ...)" -> "pid ..."
    finally:
        os.close(fd)  # a shared lock taken here goes with the descriptor
    return None


def writes_folder(param: str = "out_dir"):
    """Decorate a function that writes the folder its argument `param` names: it runs holding
    folder_lock() on it (a second process there is refused), its stop noted (utils/stops.py)."""

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            folder = signature.bind(*args, **kwargs).arguments[param]
            with folder_lock(folder), noting_stop(folder):
                return fn(*args, **kwargs)

        return locked

    return wrap


def holds_only_lock(folder: str | os.PathLike) -> bool:
    """Whether a folder this process holds has nothing but its lock: made by this command."""
    return {p.name for p in Path(folder).iterdir()} <= {LOCK}


def empty_held(folder: Path) -> None:
    """Remove everything in `folder`, which this process holds, but its lock: a folder the
    lock created is then removed when the block ends (a refused command leaves nothing)."""
    import shutil

    for path in Path(folder).iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
