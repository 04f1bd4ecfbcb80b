"""A ledger file of test openings (evaluation/lockbox.py, user_ledger.py): one JSON object a
line, read whole, appended one line in one write."""

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
    """One line in one write with O_APPEND: two evaluations at once cannot interleave it."""
    data = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
