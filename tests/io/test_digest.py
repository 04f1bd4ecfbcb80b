"""A file known by its bytes (io/digest.py)."""

from __future__ import annotations

import os
import time

from thermocad.io.digest import file_digest


def test_a_file_rewritten_with_its_time_put_back_is_read_again(tmp_path):
    """The in-process cache is keyed on the file's size, times and inode: an edit of the same
    size with its modification time restored moves the change time, so it is read again."""
    path = tmp_path / "T0001.txt"
    path.write_text("30.1 30.2\n")
    first = file_digest(path)
    stat = os.stat(path)
    time.sleep(0.05)  # past the file system's clock tick, so that the change time moves
    path.write_text("30.1 30.3\n")  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns
    assert file_digest(path) != first
    assert file_digest(tmp_path / "gone.txt") is None
