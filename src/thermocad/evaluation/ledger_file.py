"""A ledger file of test openings (evaluation/lockbox.py, user_ledger.py): one JSON object a
line, read whole, appended one line at a time."""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_ledger(path: Path) -> list[dict]:
    """The ledger's entries; a line that is not JSON (a torn write) is skipped, not fatal."""
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


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
