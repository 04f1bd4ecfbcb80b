"""The parse cache: parsed text matrices kept as checked .npy entries, size-capped.

An entry is a float32 2-D .npy followed by a JSON trailer (source format, checksum, its own
key). Every load checks the header before reading, then that the trailer names the key it was
looked up by (an entry copied under another file's name is not that file's) and the checksum;
anything else (damaged, truncated, another dtype or shape) is a miss, and the file is parsed
again. The cache never fails a read: a full, read-only or broken cache folder only costs the
parse. It trusts whoever can write its folder: an entry forged with a matching key and
checksum is served, as any cache's would be, so a shared cache folder is shared trust.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

from thermocad.io.limits import MAX_SIDE, MAX_VALUES

DEFAULT_MAX_MB = 512
NO_CAP = 2**63 - 1  # THERMOCAD_CACHE_MAX_MB=inf
_VERSION = "4"  # the entry layout; the parser's code is in every key by its digest
# The modules whose code decides a cached array (read_thermal's text path: the bytes read, the
# format sniffed, the values parsed, the entry written). Every key holds a digest of their
# source (parser_digest), so a changed parser never serves an older parse (79f666f changed
# how lone CRs end lines; entries keyed on a hand-bumped version gave (1, 600) for (20, 30)).
PARSER_MODULES = ("thermal", "text", "sniff", "fixed_width", "kernel", "kernel_numpy", "limits",
                  "cache", "figure_mark")  # fmt: skip
_SOURCE = Path(__file__).parent
_SAMPLE = 65536  # bytes hashed from each end of the source file
_TRAILER_MAX = 512
_lock = threading.Lock()
_stored_since_prune = [0, True]  # bytes written since the last size check; never checked yet


def cache_dir() -> Path:
    """Where parsed arrays are cached: $THERMOCAD_CACHE_DIR (~ expanded), else
    $XDG_CACHE_HOME/thermocad, else ~/.cache/thermocad. A relative one gives a warning and the
    default (each working folder would have a cache of its own; a setting never fails a read)."""
    root = os.path.expanduser(os.environ.get("THERMOCAD_CACHE_DIR", ""))
    if root and not os.path.isabs(root):
        warnings.warn(f"THERMOCAD_CACHE_DIR={root!r} is a relative path: each working folder "
                      "would have a cache of its own; using the default", stacklevel=2)  # fmt: skip
        root = ""
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME", "")  # absolute only, as the XDG rule asks
        root = Path(xdg if os.path.isabs(xdg) else Path.home() / ".cache") / "thermocad"
    return Path(root) / "arrays"


def max_bytes() -> int:
    """The cache's size cap: $THERMOCAD_CACHE_MAX_MB (default 512; 0 keeps nothing; inf: no cap).

    A value that is not a number of MB (garbage, NaN, negative) gives a warning and the default:
    a setting must never fail a read.
    """
    raw = os.environ.get("THERMOCAD_CACHE_MAX_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 2**20
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if mb == math.inf:
        return NO_CAP
    if not (math.isfinite(mb) and mb >= 0):
        warnings.warn(
            f"THERMOCAD_CACHE_MAX_MB={raw!r} is not a size in MB (a number >= 0, or inf); "
            f"using the default, {DEFAULT_MAX_MB}",
            stacklevel=2,
        )
        return DEFAULT_MAX_MB * 2**20
    return min(NO_CAP, int(mb * 2**20))


@functools.cache
def parser_digest() -> str | None:
    """A digest of thermocad's version and the source of PARSER_MODULES, computed once per
    process (a fraction of a ms); None when a source file cannot be read (an install without
    the .py files), and then nothing is cached: no key could tell one parser from another."""
    from thermocad import __version__

    digest = hashlib.sha1(f"{__version__}|{_VERSION}".encode())
    try:
        for name in PARSER_MODULES:
            digest.update(f"|{name}|".encode() + (_SOURCE / f"{name}.py").read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def cache_key(path: Path, stat: os.stat_result) -> str | None:
    """Identity of the file's current content as this parser reads it, or None when it cannot
    be read (or the parser's source cannot: parser_digest).

    Path, size and mtime alone are not enough: all DMR batch-A files are 1,844,160 bytes and
    `cp -p`, rsync and tar restore mtimes. The inode and ctime change whenever a file is
    replaced or written (no user call can set ctime back), and a digest of the first and last
    64 KiB catches a same-size rewrite within one timestamp tick on coarse file systems.
    Hashing the whole file would cost as much as parsing it (about 1.8 ms per 1.8 MB file
    for crc32 against 1.6 ms for the parse on the benchmark machine), defeating the cache.
    """
    parser = parser_digest()
    if parser is None:
        return None
    try:
        with open(path, "rb") as fh:
            digest = zlib.crc32(fh.read(_SAMPLE))
            if stat.st_size > 2 * _SAMPLE:
                fh.seek(-_SAMPLE, os.SEEK_END)
                digest = zlib.crc32(fh.read(_SAMPLE), digest)
    except OSError:
        return None
    ident = (
        f"{parser}|{path.resolve()}|{stat.st_dev}|{stat.st_ino}|{stat.st_size}|"
        f"{stat.st_mtime_ns}|{stat.st_ctime_ns}|{digest:08x}"
    )
    return hashlib.sha1(os.fsencode(ident)).hexdigest()  # a name need not be UTF-8


def checksum(array: np.ndarray) -> str:
    """Sum and position-weighted sum (word i times i + 1) of the array's 64-bit words, modulo
    2**64: any changed value changes them, and so does moving values (two words swapped).

    Two vectorised passes (about 0.2 ms for a 480 x 640 image) where crc32 or adler32 take 1
    to 2 ms, which would cost most of what the cache saves.
    """
    words = np.ascontiguousarray(array).reshape(-1).view(np.uint32)
    even = words[: words.size - words.size % 2].view(np.uint64)
    tail = int(words[-1]) if words.size % 2 else 0
    total = int(np.add.reduce(even, dtype=np.uint64)) if even.size else 0
    weighted = int(np.add.reduce(even * _positions(even.size), dtype=np.uint64)) if even.size else 0
    return f"{total:016x}{weighted:016x}{tail:08x}"


@functools.lru_cache(maxsize=4)
def _positions(n: int) -> np.ndarray:
    """1, 2, ..., n as uint64, kept for the few image sizes a process reads."""
    return np.arange(1, n + 1, dtype=np.uint64)


def load(key: str) -> tuple[np.ndarray, str] | None:
    """The cached (array, source format) for `key`, or None when missing or not trustworthy."""
    entry = cache_dir() / f"{key}.npy"
    try:
        with open(entry, "rb") as fh:
            array = _read_entry(fh)
            if array is None:
                return None
            trailer = json.loads(fh.read(_TRAILER_MAX))
        if trailer["key"] != key or checksum(array) != trailer["checksum"]:
            return None  # another file's entry under this name (copied), or damaged
        source_format = str(trailer["format"])
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used entries are evicted last
        return array, source_format
    except (OSError, ValueError, TypeError, KeyError, EOFError):
        return None  # missing or damaged: parse again, and the store overwrites it


def _read_entry(fh) -> np.ndarray | None:
    """The array of an entry, or None unless its header says float32, 2-D, C order, in limits."""
    version = np.lib.format.read_magic(fh)
    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else None
    if header is None:
        return None  # the cache writes version 1.0 only
    shape, fortran, dtype = header(fh)
    if dtype != np.dtype("<f4") or fortran or len(shape) != 2:
        return None
    rows, cols = shape
    if not (0 < rows <= MAX_SIDE and 0 < cols <= MAX_SIDE and rows * cols <= MAX_VALUES):
        return None
    array = np.fromfile(fh, dtype="<f4", count=rows * cols)
    return array.reshape(rows, cols) if array.size == rows * cols else None


def store(key: str, array: np.ndarray, source_format: str) -> None:
    """Write the entry atomically, then keep the folder under its size cap; never raises."""
    try:
        _store(key, array, source_format)
    except Exception:  # noqa: BLE001 - the cache never fails a read: the parse is what counts
        return


def _store(key: str, array: np.ndarray, source_format: str) -> None:
    limit = max_bytes()
    if limit == 0:
        return
    target = cache_dir() / f"{key}.npy"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    trailer = json.dumps({"format": source_format, "checksum": checksum(array), "key": key})
    trailer = trailer.encode()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.lib.format.write_array(fh, np.ascontiguousarray(array, "<f4"), version=(1, 0))
            fh.write(trailer)
            written = fh.tell()  # not a stat() of the target: another prune may remove it
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return
    with _lock:  # the folder is listed once per eighth of the cap written, not per file
        _stored_since_prune[0] += written
        due = _stored_since_prune[1] or _stored_since_prune[0] > limit // 8
        if due:
            _stored_since_prune[:] = [0, False]
    if due:
        prune(limit)


# A writer's temporary file this old was left by a process killed while writing it.
STALE_TMP_SECONDS = 3600
_TMP_NAME = re.compile(r"\.[0-9a-f]{40}\.npy\.\d+\.\d+\.tmp")  # _store's names


def prune(limit: int | None = None) -> int:
    """Delete the least recently used entries until the cache holds at most `limit` bytes,
    and the temporary files of writers killed mid-write (`STALE_TMP_SECONDS` old)."""
    limit = max_bytes() if limit is None else limit
    entries, removed = [], 0
    stale = time.time_ns() - STALE_TMP_SECONDS * 10**9
    with contextlib.suppress(OSError), os.scandir(cache_dir()) as listing:
        for item in listing:
            with contextlib.suppress(OSError):
                if not item.is_file(follow_symlinks=False):
                    continue
                stat = item.stat(follow_symlinks=False)
                if item.name.endswith(".npy"):
                    entries.append((stat.st_mtime_ns, stat.st_size, item.path))
                elif _TMP_NAME.fullmatch(item.name) and stat.st_mtime_ns < stale:
                    os.unlink(item.path)
                    removed += 1
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            os.unlink(entry)
            removed += 1
        total -= size  # another process may have removed it first: it is gone either way
    return removed
