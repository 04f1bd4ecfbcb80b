"""Output names a command checks before any work (a file written in one format is named so),
and file names as text can hold them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from thermocad.utils.errors import ConfigError


def check_suffix(out: str | os.PathLike, suffix: str, what: str, flag: str = "--out") -> None:
    """Refuse an output name that does not end in `suffix` (".png", ".html", any case): the file
    is written as `what` whatever its name, so `lr.pdf` would be a PNG named .pdf, and with
    --force a model (`m.onnx`), a thermogram (`T0001.txt`) or a study's JSON would be replaced."""
    if Path(out).suffix.lower() != suffix:
        raise ConfigError(f"{out}: {flag} is written as {what}: give it a name ending in {suffix}")


def printable_name(name: str) -> str:
    """A file name fit for text and plots: bytes that are not UTF-8 (Linux names may hold any)
    come back from the OS as lone surrogates, written here as \\udcXX."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def plot_text(text: str) -> str:
    """A name for a figure's title or label: printable_name's, with its $ signs drawn as they
    are (matplotlib reads text between two $ as a formula: a file named 'T0002$\\x$.txt' or a
    batch 'B$\\x$' had stopped a whole render, explain or comparison)."""
    return printable_name(str(text)).replace("$", r"\$")


def not_utf8_part(path: str | os.PathLike) -> str | None:
    """The first folder or file name of `path` that is not UTF-8 text (as printable_name writes
    it), or None: a path with one cannot be written to a table and opened again from it."""
    for part in Path(path).parts:
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            return printable_name(part)
    return None


def not_utf8_words(path: str | os.PathLike, odd: str) -> str:
    """prepare's reason for a path whose name `odd` (not_utf8_part) is not UTF-8 text, or is
    UTF-8 that this Python cannot read as its file system encoding (LANG=C without UTF-8 mode
    reads names as ASCII: a locale review had been told to rename a UTF-8 name)."""
    import sys

    encoding = sys.getfilesystemencoding()
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return f"path not UTF-8: the name '{odd}' is not UTF-8 text; rename it"
    return (f"path not UTF-8 as this Python reads names ({encoding}): the name '{odd}' is UTF-8; "
            "run thermocad with PYTHONUTF8=1 or a UTF-8 locale")  # fmt: skip


NAME_MAX = 255  # bytes in one file or folder name (Linux, macOS)


def shortened(name: str, limit: int = NAME_MAX) -> str:
    """`name` cut to at most `limit` bytes, a whole character at a time ('' at the least: a
    negative limit had cut forever)."""
    while name and len(os.fsencode(name)) > limit:
        name = name[:-1]
    return name


def fitting_name(stem: str, suffix: str) -> str:
    """stem + suffix, the stem shortened where the whole would not fit in a file name, and then
    marked with a digest of it (~1a2b3c4d) so that two long names that begin alike stay apart."""
    if len(os.fsencode(stem + suffix)) <= NAME_MAX:
        return stem + suffix
    import hashlib

    mark = "~" + hashlib.sha256(os.fsencode(stem)).hexdigest()[:8]
    return shortened(stem, NAME_MAX - len(os.fsencode(mark + suffix))) + mark + suffix


# An architecture's or a candidate's name, as timm's are: also a folder's name on every disk
# (no path, no dot at its end, which Windows drops, none of the names Windows keeps).
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.+-]{0,98}[A-Za-z0-9_+-])?")
_DEVICES = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)
NAME_RULE = ("letters, digits and _ . + -, at most 100, the first a letter or digit and the last "
             "no dot, and no device name of Windows (con, nul, com1, ...)")  # fmt: skip


_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')  # in a Windows file name


def portable(stem: str) -> str:
    """An output name's stem made from an input's name, as every disk takes it: the characters
    Windows forbids (<>:"/\\|?* and control characters) as _, no dot or space at its end
    (Windows drops them), and a Windows device name (NUL, COM1) followed by a _ (a review:
    `render` wrote NUL.png and T0002:left.png, which an SMB share or a USB stick refuses)."""
    stem = _FORBIDDEN.sub("_", stem).rstrip(". ") or "_"
    return stem + "_" if _DEVICES.fullmatch(stem) else stem


def is_name(value: object) -> bool:
    """Whether `value` is such a name (NAME_RULE)."""
    return isinstance(value, str) and bool(_NAME.fullmatch(value)) and not _DEVICES.fullmatch(value)
