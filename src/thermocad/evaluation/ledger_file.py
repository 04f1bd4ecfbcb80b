"""A ledger file of test openings (evaluation/lockbox.py, user_ledger.py): one JSON object a
line, read whole, appended one line at a time."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from thermocad.utils.errors import ConfigError, OutputPathError
from thermocad.utils.files import check_writable
from thermocad.utils.progress import log

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no line-end translation of the ledger's bytes


def _pread(fd: int, n: int, offset: int) -> bytes:
    """os.pread, or where there is none (Windows) a seek and a read (each caller opens its own
    descriptor, so no position is shared)."""
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


def read_ledger(path: Path, fd: int | None = None) -> list[dict]:
    """The ledger's entries (read from `fd` when given: the file held by `open_locked`). A
    line that cannot be read (a torn write, a byte that is not UTF-8, a field of the wrong
    type) is skipped, not fatal, and the lines skipped are said once, naming the file."""
    if fd is None and not path.is_file():
        return []
    entries, skipped = [], 0
    for line in (path.read_bytes() if fd is None else _read_all(fd)).split(b"\n"):
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and json.JSONDecodeError
            entry = None
        if well_typed(entry):
            entries.append(entry)
        else:
            skipped += 1
    if skipped:
        log(f"{path}: {skipped} line(s) could not be read and were skipped; the openings they "
            "recorded are not counted")  # fmt: skip
    return entries


TEXT = ("time", "test", "model", "scores", "score_model", "split_model", "source", "ledger")
LISTS = ("patients", "women", "files")


def well_typed(entry) -> bool:
    """An object whose fields the counting uses are of their types (a hand-edited line's
    `"women": null` or `"model": ["x"]` is not): its prints text, its lists lists of text."""
    if not isinstance(entry, dict):
        return False
    text = all(isinstance(entry.get(k, ""), str) for k in TEXT)
    return text and all(
        isinstance(entry.get(k, []), list)
        and all(isinstance(v, str | int) for v in entry.get(k, []))
        for k in LISTS
    )


def _read_all(fd: int) -> bytes:
    chunks, offset = [], 0
    while chunk := _pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def open_locked(path: Path) -> int:
    """`path` open (O_RDWR | O_CREAT | O_APPEND) under an exclusive flock, released when the
    descriptor is closed: reading, counting and appending an opening under it is one step, so
    two evaluations at once cannot both read the ledger before either appends (both "the first
    model"); the second waits for the first. Where there is no fcntl (Windows), unlocked."""
    # 0o666 less the umask: a team's ledger in a group folder (umask 002) is the group's
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | _BINARY, 0o666)
    try:
        import fcntl
    except ImportError:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def locked(path: Path, held: Path | None = None) -> Iterator[int | None]:
    """The ledger `path` open under open_locked's flock while an opening is read, counted and
    appended (the split's own ledger: the user ledger's lock is not there when it cannot be
    written, nor shared by processes with another one); None where it cannot be opened (the
    append then fails and says so), or when it is the file `held`, locked already (a second
    flock of one file by this process would wait for ever)."""
    if held is not None and _same_file(path, held):
        yield None
        return
    try:
        fd = open_locked(path)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def append_entry(path: Path, entry: dict, fd: int | None = None) -> None:
    """One line with O_APPEND: two evaluations at once cannot interleave it. A file whose last
    line has no final newline (a torn write, an editor) gets one first, so the entry is not
    glued onto that line and lost with it. `fd`: the ledger already open (`locked`)."""
    if fd is not None:
        write_entry(fd, entry)
        return
    # 0o666 less the umask: a team's ledger in a group folder (umask 002) is the group's
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _BINARY, 0o666)
    try:
        write_entry(fd, entry)
    finally:
        os.close(fd)


def write_entry(fd: int, entry: dict) -> None:
    """Append `entry` as one line to the ledger open (O_RDWR | O_APPEND) on `fd`."""
    data = (json.dumps(entry, sort_keys=True) + "\n").encode()
    size = os.fstat(fd).st_size
    if size and _pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data
    while data:  # a short write (a full disk, a signal) leaves the rest to write
        data = data[os.write(fd, data) :]


SUFFIX = ".test_openings.jsonl"


GIVE_LEDGER = (
    "give --ledger FILE on a writable disk (the same file every time these women are scored)"
)


def ledger_path(split_csv: str | os.PathLike, given: str | os.PathLike | None = None,
                remedy: str = GIVE_LEDGER) -> Path:  # fmt: skip
    """The ledger beside a split (or labels) file: split.csv -> split.test_openings.jsonl,
    beside the file itself where `split_csv` is a link (one split, one ledger); or the file
    `given` (evaluate --ledger), which may not be the split itself nor hold lines that are no
    ledger entries. Checked writable before anything is scored (`remedy`: what the refusal
    advises)."""
    split_csv = Path(split_csv).resolve()
    path = Path(given) if given else split_csv.with_name(split_csv.stem + SUFFIX)
    if given is not None:
        _check_given(path, split_csv)
    try:
        if path.is_file():  # an existing ledger: it takes a line (its folder need not)
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        elif not path.parent.is_dir():
            what = "is a file, not a folder" if path.parent.exists() else "does not exist"
            raise OutputPathError(f"{path}: cannot write there: {path.parent} {what}")
        else:
            check_writable(path, force=True)  # a new one: by writing a scratch file beside it
    except OSError as exc:  # OutputPathError, or the ledger's own permissions
        raise ConfigError(f"{exc}; the ledger of test openings must be kept, since an opening "
                          f"nobody counted lets the next model read as the first: {remedy}"
                          ) from exc  # fmt: skip
    return path


def _check_given(path: Path, split_csv: Path) -> None:
    """Refuse a --ledger that is the split (or labels) file, or another file whose first line
    is no ledger entry: an entry appended there would damage it."""
    if path.resolve() == split_csv:
        raise ConfigError(f"{path}: --ledger names the table being scored; give a file of its "
                          "own (a new one is started)")  # fmt: skip
    if not path.is_file():
        return
    with open(path, "rb") as fh:
        first = next((line for line in fh if line.strip()), b"")
    if first and not first.lstrip().startswith(b"{"):
        raise ConfigError(f"{path}: not a ledger of test openings (its first line is no JSON "
                          "entry, as in a CSV table); give the ledger file, or a new name")  # fmt: skip
