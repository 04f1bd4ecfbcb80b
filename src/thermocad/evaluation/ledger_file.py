"""A ledger file of test openings (evaluation/lockbox.py, user_ledger.py): one JSON object a
line, read whole, appended one line at a time."""

from __future__ import annotations

import json
import os
from pathlib import Path

from thermocad.utils.progress import log


def read_ledger(path: Path) -> list[dict]:
    """The ledger's entries. A line that cannot be read (a torn write, a byte that is not
    UTF-8, a field of the wrong type) is skipped, not fatal, and the lines skipped are said once, naming the file."""
    if not path.is_file():
        return []
    entries, skipped = [], 0
    for line in path.read_bytes().split(b"\n"):
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


TEXT = ("time", "test", "model", "scores", "split_model", "source", "ledger")
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


def append_entry(path: Path, entry: dict) -> None:
    """One line with O_APPEND: two evaluations at once cannot interleave it. A file whose last
    line has no final newline (a torn write, an editor) gets one first, so the entry is not
    glued onto that line and lost with it."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        write_entry(fd, entry)
    finally:
        os.close(fd)


def write_entry(fd: int, entry: dict) -> None:
    """Append `entry` as one line to the ledger open (O_RDWR | O_APPEND) on `fd`."""
    data = (json.dumps(entry, sort_keys=True) + "\n").encode()
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data
    while data:  # a short write (a full disk, a signal) leaves the rest to write
        data = data[os.write(fd, data) :]
