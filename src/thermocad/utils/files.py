"""Safe output files: atomic writes and refusing to overwrite existing results."""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from thermocad.utils.errors import OutputExistsError, OutputPathError
from thermocad.utils.leftovers import clear_dead_temps, temp_prefix
from thermocad.utils.out_names import shortened
from thermocad.utils.values import clean_json

# Present while a command writes a folder (a training run, fit, study, synth; removed last):
# such a folder's model is never loaded, its cohort never prepared.
INCOMPLETE = "INCOMPLETE"


def _umask() -> int:
    """The process umask, read from /proc without changing it: setting it, even for a moment,
    would give a file another thread creates meanwhile (the parse cache, the web app) a wrong
    mode. Where /proc does not say (not Linux), os.umask is the only way."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):  # Linux 4.7 and later
                return int(line.split()[1], 8)
    return _umask_set_once()


@functools.cache
def _umask_set_once() -> int:
    """os.umask can only be read by setting it: done once, at the first write."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None,
                replace: bool = True) -> Iterator[Path]:  # fmt: skip
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename (not
    `replace`: only where no file is, else OutputExistsError)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (its name kept short of the file system's 255 bytes: a long name's would not fit)
    # (25 bytes for the process, the tag and mkstemp's 8: utils.leftovers)
    suffix = suffix or path.suffix or ".tmp"
    suffix = suffix if len(os.fsencode(suffix)) <= 64 else ".tmp"  # "r." + 240 letters: a name
    name = shortened(path.name, min(200, 254 - 25 - len(os.fsencode(suffix))))
    clear_dead_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(name), suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600, and writers that replace the file (safetensors' save_file) make
        # it again: set the mode once written, so outputs follow the umask (0644 under 022);
        # a file replaced (--force) keeps its own (a user's 0600 stays 0600).
        was = None
        with contextlib.suppress(OSError):  # no file there
            was = path.stat() if replace else None
        os.chmod(tmp_path, 0o666 & ~_umask() if was is None else stat.S_IMODE(was.st_mode))
        _sync(tmp_path)  # on disk before the rename: a power cut leaves the old file or the new
        if replace:
            os.replace(tmp_path, path)
        else:  # two commands writing one name: the second is refused
            from thermocad.utils.trees import place_new

            place_new(tmp_path, path)
        _sync(path.parent)  # and the rename itself
    except Exception as exc:
        if (why := no_room(exc)) is None:
            raise
        # A full disk or quota, a read-only file system: said naming the file (os' own error
        # names neither it nor what was being written).
        raise OutputPathError(f"{path}: cannot be written: {why}") from exc
    finally:
        tmp_path.unlink(missing_ok=True)


_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def no_room(exc: BaseException | None) -> str | None:
    """Why `exc` is the disk's (full, over quota, read-only), in os' words, else None: an
    OSError, or a library's own error saying so (safetensors': "No space left on device (os
    error 28)"), or one raised from such an error."""
    if isinstance(exc, OSError):
        return exc.strerror if exc.errno in _NO_ROOM else None
    text = str(exc)
    said = next((os.strerror(e) for e in sorted(_NO_ROOM) if os.strerror(e) in text), None)
    return said or (no_room(exc.__cause__) if exc is not None else None)


def _sync(path: Path) -> None:
    """fsync a file or a folder (best effort: a file system that cannot is not an error)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str, replace: bool = True) -> Path:
    """Write text to `path` atomically (readers never see a half-written file). A file name
    that is not UTF-8 (Linux allows any bytes) is written with its odd bytes escaped (\\udcff).
    `replace`: as atomic_path's (False: never over a file written meanwhile)."""
    with atomic_path(path, replace=replace) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_csv(path: str | os.PathLike, table: Any, replace: bool = True) -> Path:
    """Write a pandas DataFrame to `path` as CSV without its index, atomically (`replace`: as
    atomic_path's). A carriage return in a cell (a file name may hold one), which the csv
    module's minimal quoting leaves bare to split its row, has the table's text quoted."""
    quoting = {"quoting": 2} if _carriage_return(table) else {}  # csv.QUOTE_NONNUMERIC
    with atomic_path(path, suffix=".csv", replace=replace) as tmp:
        table.to_csv(tmp, index=False, errors="backslashreplace", **quoting)  # as atomic_write_text
    return Path(path)


def _carriage_return(table: Any) -> bool:
    text = [table[c] for c in table.columns if table[c].dtype.kind not in "biufcmM"]
    return any("\r" in str(c) for c in table.columns) or any(
        column.astype(str).str.contains("\r", regex=False).any() for column in text
    )


def atomic_write_json(path: str | os.PathLike, obj: Any, replace: bool = True) -> Path:
    """`obj` as strict JSON (clean_json: NaN is null), written atomically (`replace`: as
    atomic_path's)."""
    text = json.dumps(clean_json(obj), indent=2, sort_keys=False, default=str, allow_nan=False)
    return atomic_write_text(path, text + "\n", replace)


def check_apart(out: str | os.PathLike, data_dir: str | os.PathLike, flag: str = "--out") -> None:
    """Refuse an output folder that is the data folder or inside it: the next walk of the data
    would read its figures back as thermograms, and a run marked INCOMPLETE would mark the
    data so."""
    out_path, data = Path(out).resolve(), Path(data_dir).resolve()
    if out_path == data or data in out_path.parents:
        where = (
            "is the data folder" if out_path == data else f"is inside the data folder {data_dir}"
        )
        raise OutputPathError(f"{out}: {where}; the figures and tables written there would be "
                              f"read back as thermograms: give {flag} a place outside it")  # fmt: skip


_STREAMS = re.compile(r"/dev/(std(in|out|err)|fd/\d+)|/proc/(self|\d+)/fd/\d+")


def _special(path: Path) -> bool:
    """A FIFO, device or socket (links followed), or a link to a stream (/dev/stdout is one,
    to a regular file when the output is redirected): not a place to write a file."""
    if path.exists() and not path.is_file():
        return True
    if not path.is_symlink():
        return False
    link = os.path.abspath(path)
    target = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link)))
    return any(_STREAMS.fullmatch(p) for p in (link, target))


def check_writable(path: str | os.PathLike, force: bool = False) -> Path:
    """Refuse to overwrite an existing file unless `force`, and a place that cannot be
    written (checked by writing a scratch file there, which also holds for root)."""
    path = Path(path)
    if path.is_dir():  # --force or not: a file is not written over a folder
        raise OutputPathError(f"{path} is a folder; give the name of a file to write")
    if _special(path):  # a FIFO's reader would wait forever; /dev/stdout would be replaced
        raise OutputPathError(f"{path} is not a regular file (a pipe, a device, or a stream "
                              "such as /dev/stdout); outputs are written as whole files: give "
                              "a file's name, then read it")  # fmt: skip
    if (path.exists() or path.is_symlink()) and not force:  # a link to nothing is there too
        raise OutputExistsError(
            f"{path} already exists; use --force (force=True in Python) to overwrite it"
        )
    folder = path.absolute().parent
    while not folder.exists():  # missing folders are created later: test the first that exists
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(f"{path}: cannot write there: {folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputPathError(
            f"{path}: cannot write there: {folder} is not writable ({exc.strerror or exc})"
        ) from exc
    return path


# In a folder a command made: `--force` reuses such a folder and replaces what it finds there
# (earlier results, whole subfolders), so it must be thermocad's own. Folders made before the
# mark existed are known by files only thermocad writes (a name like config.json is not enough;
# study/study.json is a demo's).
MADE_BY = ".thermocad"
# An unfinished `thermocad fit`'s record (options, data, stage), until its model.json is whole.
FIT_RESUME = "fit_resume.json"
# An unfinished `thermocad study`'s or `compare`'s record (evaluation/resume.py), until its end.
STUDY_RESUME, COMPARE_RESUME = "study_resume.json", "compare_resume.json"
OWN_FILES = (MADE_BY, INCOMPLETE, "model.safetensors", "checkpoint/state.json", "study.json",
             "cv/oof_predictions.csv", "comparison.csv", "best.json",
             "baseline/valid_predictions.csv", "study/study.json")  # fmt: skip


def incomplete_reason(folder: str | os.PathLike) -> str | None:
    """The first line of `folder`'s INCOMPLETE mark (what stopped writing it), or None unmarked."""
    mark = Path(folder) / INCOMPLETE
    return (_read(mark).strip().splitlines() or ["no reason given"])[0] if mark.is_file() else None


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


def maker(path: str | os.PathLike) -> str:
    """The thermocad command whose output a folder is ("fit", "train", "study", ...; its mark),
    or "" for a folder without one."""
    text = _read(Path(path) / MADE_BY)
    prefix = "written by thermocad "
    return text[len(prefix) :].strip() if text.startswith(prefix) else ""


def prepare_out_dir(path: str | os.PathLike, force: bool = False, made_by: str | None = None,
                    forcing: str | None = None, replaces: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """Create an output directory; an existing non-empty one is refused unless `force`.
    `made_by` (the command, for a command that clears what it finds): the folder is marked as
    its output, and `force` reuses only a folder thermocad made. `forcing`: what --force does
    there, for the refusal (default: "to replace what it holds" with `made_by`, else "to
    write into it"). `replaces`: the commands whose folders it may replace (default: any)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path} exists and is not a directory")
    # Hidden entries (.DS_Store, the lock, the mark) are no one's results: only those is empty.
    found = (
        sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
        if path.is_dir()
        else []
    )
    # A candidate's fold inside a marked comparison (compare/ARCH/foldK) is the comparison's.
    fold = (
        re.fullmatch(r"fold\d+", path.name) and (path.absolute().parent.parent / MADE_BY).exists()
    )
    ours = bool(fold) or any((path / name).exists() for name in OWN_FILES)  # the mark included
    if found and made_by and not ours:
        raise OutputExistsError(
            f"{path}: holds files thermocad did not write (e.g. {found[0]}); {made_by} writes "
            "only into a folder thermocad made (with or without --force), since it replaces "
            "earlier results there: choose another --out"
        )
    if found and replaces and (other := maker(path)) and other not in replaces:
        raise OutputExistsError(f"{path}: a {other}'s folder (written by thermocad {other}); "
                                f"{made_by} replaces only a {' or '.join(replaces)} folder, "
                                "with or without --force: choose another --out")  # fmt: skip
    if found and not force:
        records = [r for r in (FIT_RESUME, STUDY_RESUME, COMPARE_RESUME) if (path / r).exists()]
        if (path / INCOMPLETE).exists() or records:  # a run stopped there
            # the run that stopped (a comparison leaves only its record)
            text = incomplete_reason(path) or ("comparison" if COMPARE_RESUME in records else "fit")
            kinds = ("fit", "study", "comparison", "training", "render", "synthetic cohort")
            what = next((w for w in kinds if w in text), "run")
            if what == "training" and maker(path) == "fit":  # fit's final stage
                what = "fit"
            go_on = "--resume continues it, " if what == "fit" or records else ""
            mark = f"{INCOMPLETE} mark" if (path / INCOMPLETE).exists() else records[0]
            raise OutputExistsError(
                f"{path} holds an unfinished {what} (interrupted or failed: its {mark}); {go_on}use --force "
                "(force=True in Python) to start it again there, or choose another --out"
            )
        forcing = forcing or ("to replace what it holds" if made_by else "to write into it")
        raise OutputExistsError(
            f"{path} already exists and is not empty; use --force (force=True in Python) {forcing}"
        )
    path.mkdir(parents=True, exist_ok=True)
    if made_by and not (path / MADE_BY).exists():  # the first maker's (fit's, not its train's)
        atomic_write_text(path / MADE_BY, f"written by thermocad {made_by}\n")
    return path
