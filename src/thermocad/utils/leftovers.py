"""Temporary files that a killed writer left beside its output (SIGKILL, the kernel's OOM
killer, a power cut: no `finally` ran), removed at this process's first write into that folder.

atomic_path names its temporary file `.NAME.PID.TAG-XXXXXXXX.SUFFIX`: the writer's process id
and a tag of where that id means something (this machine's name, its boot and its pid
namespace), so that a later writer knows one whose process is gone. One written under another
tag (another machine on a shared folder, a container with its own pids, before a reboot) or
by a process still running is never touched (a kill review, 2026-12-07: a killed export left a
hidden .onnx that no later run removed; a diff review: a hostname alone let a container take
a live writer's pid for a dead one)."""

from __future__ import annotations

import functools
import os
import re
import threading
from pathlib import Path

_CLEARED: set[str] = set()  # folders this process has cleared (once each: a folder of 20,000
_LOCK = threading.Lock()  # files would be read at every write otherwise)


@functools.cache
def host_tag() -> str:
    """Six hex digits of this machine's name, boot and pid namespace (Linux; elsewhere the
    name alone)."""
    import hashlib
    import socket

    parts = [socket.gethostname()]
    for where in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(Path(where).read_text().strip() if "boot" in where
                         else str(os.stat(where).st_ino))  # fmt: skip
        except OSError:
            parts.append("")
    return hashlib.sha256("|".join(parts).encode("utf-8", "replace")).hexdigest()[:6]


def temp_prefix(name: str) -> str:
    """The start of a temporary file's name for the target `name` (already shortened)."""
    return f".{name}.{os.getpid()}.{host_tag()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # another user's (EPERM), or no pid at all
        return True
    return True


def clear_dead_temps(folder: Path) -> None:
    """Once per process and folder: remove the temporary files in `folder` written under this
    tag whose writer is no longer running, and say so; the folder's own errors are left to the
    write itself."""
    key = os.path.abspath(folder)
    with _LOCK:
        if key in _CLEARED:
            return
        _CLEARED.add(key)
    pattern = re.compile(r"\..+\.([0-9]{1,7})\." + host_tag() + r"-[a-z0-9_]{8}(\..*)?", re.S)
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith(".")]
    except OSError:
        return
    for left in names:
        if (m := pattern.fullmatch(left)) and not _running(int(m.group(1))):
            try:
                (folder / left).unlink()
            except OSError:
                continue
            from thermocad.utils.out_names import printable_name
            from thermocad.utils.progress import log

            log(f"note: removed {printable_name(str(folder / left))}, a temporary file that a "
                "stopped (killed) write left")  # fmt: skip
