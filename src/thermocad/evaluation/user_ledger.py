"""The user's ledger of test openings: every model scored on test women, whatever the split file.

The ledger beside a split (evaluation/lockbox.py) knows that split file's openings only: two
`thermocad study` folders made from the same data with the same seed hold the same test women,
each with its own split.csv and ledger, and a copied split starts a ledger of its own. So every
opening is also recorded in one file per user, `test_openings.jsonl` in $THERMOCAD_LEDGER_DIR,
else $XDG_DATA_HOME/thermocad, else ~/.local/share/thermocad.

There a woman is known by her files' bytes, not by her number (synthetic cohorts of different
seeds reuse the numbers for other women): the SHA-256 of the sorted digests of her files
(trained_files.file_digest), so neither row order nor file names change it; and a model as
the ledger beside the split knows it (model_identity.py: by its weights' digest, baseline,
transform and TTA views), or, for a model that records no weights digest, by its P(Sick) per
file digest, so the same model scored on a copy of the data is the same model; an entry
printed by identity also keeps that print by scores (`score_model`), by which an older entry
of the same model on the same files is known. An entry also keeps its files' digests, of
their bytes and of their frames as read (the first 16 hex digits of each: a few KiB a line
for hundreds of files), and shares a woman with a test set when one of their women's digests
or one of their files' digests is the same: the same women scored with fewer of their files
(fewer frames each, another view filter), or with their files saved again (gzipped, other
line endings, .npy), are not new women. Entries written before 2026-12-07 hold the bytes'
digests only; those written before `files` was kept match by their women's digests only.

The user ledger is held under an exclusive lock (flock; none on Windows) from the moment an
opening reads it until its line is appended, so two evaluations at once count each other. A
user ledger that cannot be written (a read-only home) is said in one line: it is still read
(its openings count), but this one is not added to it; one that cannot be read is set aside.
The ledger beside the split counts the opening either way, and must be writable.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from thermocad.evaluation.ledger_file import open_locked, read_ledger, write_entry
from thermocad.evaluation.model_identity import SCORE_MODEL, aliases
from thermocad.io.digest import WIDTH, file_digest, file_frame_digest
from thermocad.utils.progress import log

NAME = "test_openings.jsonl"
FILE_WIDTH = 16  # hex digits of a file's digest kept in the user ledger: 64 bits


def user_ledger_path() -> Path:
    """$THERMOCAD_LEDGER_DIR/test_openings.jsonl (~ expanded; a relative one is refused: each
    working folder would have a ledger of its own), else under $XDG_DATA_HOME/thermocad (an
    absolute path, as the XDG rule asks), else under ~/.local/share/thermocad."""
    from thermocad.utils.errors import ConfigError

    root = os.path.expanduser(os.environ.get("THERMOCAD_LEDGER_DIR", ""))
    if root and not os.path.isabs(root):
        raise ConfigError(f"THERMOCAD_LEDGER_DIR={root!r} is a relative path: each working "
                          "folder would keep a ledger of its own; give an absolute one")  # fmt: skip
    if not root:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        root = Path(xdg if os.path.isabs(xdg) else Path.home() / ".local" / "share") / "thermocad"
    return Path(root) / NAME


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:WIDTH]


def women_digests(pred: pd.DataFrame, digests: list[str]) -> dict[str, str]:
    """Patient -> her digest: the hash of her files' sorted digests (`digests`, one per row)."""
    files: dict[str, set[str]] = {}
    for pid, digest in zip(pred["patient_id"].astype(str), digests, strict=True):
        files.setdefault(pid, set()).add(digest)
    return {pid: _hash(",".join(sorted(found))) for pid, found in files.items()}


def identify(pred: pd.DataFrame) -> dict | None:
    """The test rows by content: {"women": their women's digests, sorted, "test": the set's
    print, "digests": each row's file digest (a model's print over them is the model's, by
    content), "files": the distinct ones, sorted, of FILE_WIDTH digits}; None, said, when a
    file cannot be read (its woman could not be known by her bytes). Only these rows' files
    are read."""
    digests = [file_digest(path) for path in pred["path"].astype(str)]
    if None in digests:
        missing = pred["path"].astype(str).iloc[digests.index(None)]
        log(f"this opening is not in the user ledger {user_ledger_path()}: {missing} could not "
            "be read to know its woman by her files' bytes")  # fmt: skip
        return None
    women = sorted(set(women_digests(pred, digests).values()))
    # Each file by its bytes and by its frame as read, which a re-save keeps (gzipped, other
    # line endings, .npy): the same women saved again are not new women.
    frames = {file_frame_digest(path) for path in pred["path"].astype(str)} - {None}
    files = sorted({d[:FILE_WIDTH] for d in [*digests, *frames]})
    return {"women": women, "test": _hash(",".join(women)), "digests": digests, "files": files}


def read_user_ledger(path: Path, fd: int | None = None) -> list[dict]:
    """The user ledger's entries (from `fd`: held by `held`); an unreadable one is said and
    read as empty."""
    try:
        return read_ledger(path, fd)
    except OSError as exc:
        log(f"the user ledger {path} could not be read ({_why(exc)}): openings of these women "
            "under other split files are not counted")  # fmt: skip
        return []


def merged(split: list[tuple[str, str]], path: Path | None, women: set[str] | None = None,
           test: str | None = None, alias: dict[str, str] | None = None,
           files: set[str] | None = None, fd: int | None = None) -> list[str]:  # fmt: skip
    """The distinct models scored on these women, in the order first scored: `split`, the
    (time, model) openings of the ledger beside the split, with the user ledger's (`path`;
    None: none) that share a woman with `women` or a file with `files` (None: those of its
    entries of the test set printed `test`). A split-side print the user ledger knows (an
    opening recorded in both; `alias`: this one's) is read as the model it names there: one
    opening, one model; a print by scores that an entry printed by identity also holds, as
    that model. `fd`: the user ledger held open (`held`), read there."""
    entries = [] if path is None else read_user_ledger(path, fd)
    if women is None:
        mine = [e for e in entries if e.get("test") == test]
        women = set().union(*(_listed(e, "women") for e in mine))
        files = set().union(*(_listed(e, "files") for e in mine))
    files = files or set()
    seen = [(str(e.get("time", "")), e["model"]) for e in entries if "model" in e
            and (women & _listed(e, "women") or files & _listed(e, "files"))]  # fmt: skip
    known = {e["split_model"]: e["model"] for e in entries if "split_model" in e and "model" in e}
    known.update(alias or {})
    scored = aliases(entries)  # an entry printed by scores, of a model later printed by identity
    # Each ledger in its own order (appended as scored), the two interleaved by time: sorted
    # by time alone, a clock running fast had made a first model the second (a dates review).
    both = heapq.merge(split, seen, key=lambda tm: tm[0])
    return list(dict.fromkeys(scored.get(known.get(m, m), known.get(m, m)) for _, m in both))


def _listed(entry: dict, key: str) -> set[str]:
    return set(map(str, entry.get(key, ())))


@contextlib.contextmanager
def held(path: Path | None) -> Iterator[int | None]:
    """The user ledger `path` (its folder made) open and locked while an opening is read,
    counted and appended (ledger_file.open_locked: two evaluations at once count each other);
    None: no user ledger, or (said) one that cannot be opened for writing."""
    if path is None:
        yield None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_locked(path)
    except OSError as exc:
        _unrecorded(path, exc, _not_a_folder(path.parent))
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)  # and the lock with it


def record(path: Path, entry: dict, fd: int) -> bool:
    """Append `entry` to the user ledger `path`, held open on `fd`; False, said, when it
    cannot be."""
    try:
        write_entry(fd, entry)
    except OSError as exc:
        _unrecorded(path, exc)
        return False
    return True


def _not_a_folder(folder: Path) -> str | None:
    """Why `folder` cannot be made, when it or the first of its parents there is a file."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return None if folder.is_dir() else f"{folder} is a file, not a folder"


def _unrecorded(path: Path, exc: OSError, why: str | None = None) -> None:
    fix = (f"ask the owner of {path} to let the group write it: chmod g+w {path}"
           if os.environ.get("THERMOCAD_LEDGER_DIR") and isinstance(exc, PermissionError)
           else "set THERMOCAD_LEDGER_DIR to a writable folder")  # fmt: skip
    log(f"this opening could not be recorded in the user ledger {path} ({why or _why(exc)}); it is "
        "not added to it, only to the ledger beside the split or labels (or --ledger); what "
        f"the user ledger holds was still counted where it could be read ({fix})")  # fmt: skip


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def user_entry(entry: dict, me: dict, split_ledger: Path) -> dict:
    """The user ledger's line for the split-side `entry`: its women and model by content,
    with the split-side print of the model and where that ledger is (no patient numbers)."""
    keep = ("time", "source", "n_patients", "patient_auc")
    out = {**{k: entry[k] for k in keep}, "test": me["test"], "model": me["model"],
           "women": me["women"], "files": me["files"], "split_model": entry["model"],
           "ledger": str(split_ledger.absolute())}  # fmt: skip
    if me.get(SCORE_MODEL, me["model"]) != me["model"]:  # printed by identity: its scores' too
        out[SCORE_MODEL] = me[SCORE_MODEL]
    return out
