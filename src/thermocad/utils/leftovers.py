"""Temporary files that a killed writer left beside its target (SIGKILL, the kernel's OOM
killer, a power cut: no `finally` ran), removed when the same target is next written.

atomic_path names its temporary file `.NAME.PID.HOST-XXXXXXXX.SUFFIX`: the writer's process id
and a tag of this machine's name, so that a later writer of NAME knows one whose process is
gone from this machine. One of another machine (a shared folder) or of a process still
running is never touched (a kill review, 2026-12-07: a killed export left a hidden .onnx that
no later run removed)."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path


@functools.cache
def host_tag() -> str:
    """Six hex digits of this machine's name."""
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def temp_prefix(name: str) -> str:
    """The start of a temporary file's name for the target `name` (already shortened)."""
    return f".{name}.{os.getpid()}.{host_tag()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): running
        return True
    return True


def clear_dead_temps(folder: Path, name: str, suffix: str) -> None:
    """Remove the temporary files of target `name` in `folder` whose writer, on this machine,
    is no longer running, and say so; any error of the folder's is left to the write itself."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\." + re.escape(host_tag())
                         + r"-[a-z0-9_]{8}" + re.escape(suffix))  # fmt: skip
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith(f".{name}.")]
    except OSError:
        return
    for left in names:
        if (m := pattern.fullmatch(left)) and not _running(int(m.group(1))):
            try:
                (folder / left).unlink()
            except OSError:
                continue
            from thermocad.utils.progress import log

            log(f"note: removed {folder / left}, a temporary file that a stopped (killed) "
                f"write of {name} left")  # fmt: skip
