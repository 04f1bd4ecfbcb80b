"""Which files are thermal files, and finding them in folders (unreadable folders reported)."""

from __future__ import annotations

import os
from pathlib import Path

from thermocad.utils.errors import CohortError, ThermalFormatError
from thermocad.utils.files import INCOMPLETE, incomplete_reason, maker
from thermocad.utils.progress import log

# The one table of the formats read: each suffix, how `read_thermal` reads it (a text matrix,
# any of them gzipped; numpy; an image) and whether folder walks (`prepare`, `predict`,
# `render`) collect it. CSV and .dat matrices are read when named explicitly (an upload, a
# command-line argument), but not collected from folders: folders of thermograms usually also
# hold CSV tables (labels.csv, earlier predictions). A new format: a row here, its reader in
# thermal.read_thermal (and, for a text variant, io/text.py, whose modules the parse cache
# keys on: cache.PARSER_MODULES), and KINDS_READ's words.
FORMATS = {".txt": ("text", True), ".txt.gz": ("text", True), ".npy": ("npy", True),
           ".png": ("png", True), ".jpg": ("jpeg", True), ".jpeg": ("jpeg", True),
           ".tif": ("tiff", True), ".tiff": ("tiff", True), ".csv": ("text", False),
           ".dat": ("text", False), ".gz": ("text", False)}  # fmt: skip
THERMAL_SUFFIXES = tuple(s for s, (_, walked) in FORMATS.items() if walked)
READABLE_SUFFIXES = tuple(FORMATS)

# A file of another extension is read by its first bytes: a known thermal format, or a format
# people mistake for one (refused by name), or else a text matrix.
MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"II*\x00": "tiff", b"MM\x00*": "tiff",
         b"\x93NUMPY": "npy"}  # fmt: skip
FOREIGN = {b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive (or .docx, .xlsx)",
           b"\xd0\xcf\x11\xe0": "an Office document", b"GIF8": "a GIF image",
           b"BM": "a BMP image", b"{\\rtf": "an RTF document", b"\x7fELF": "a program",
           b"MZ": "a Windows program", b"\x1f\x8b": "gzip data without .gz in its name"}  # fmt: skip
DICOM = (
    "a DICOM file, which thermocad does not read (in a PACS a thermogram is often a picture "
    "in a palette, not temperatures): export the frame's temperatures from the camera's "
    "software as a text matrix or .npy"
)  # its mark: DICM after a 128-byte preamble
# What a folder of thermograms also holds, left out without a word: tables, notes, outputs.
COMPANION_SUFFIXES = (".csv", ".md", ".json", ".jsonl", ".html", ".log", ".yaml", ".yml",
                      ".toml", ".onnx", ".safetensors")  # fmt: skip
KINDS_READ = "text matrices (.txt, .csv, .dat, gzipped .gz), .npy, and PNG, JPEG or TIFF images"


def sniff(path: Path) -> str:
    """The kind of a file whose extension says nothing, from its first bytes: "png", "jpeg",
    "tiff", "npy" or "text"; ThermalFormatError for a format that is not a thermogram."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise ThermalFormatError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if head[128:132] == b"DICM":
        raise ThermalFormatError(f"{path}: {DICOM}")
    if foreign := next((what for magic, what in FOREIGN.items() if head.startswith(magic)), None):
        raise ThermalFormatError(
            f"{path}: unsupported file type ({foreign}); thermocad reads {KINDS_READ}"
        )
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), "text")


# What a disk holds that is never data: hidden files (a Mac's ._T0002.txt), an Office lock file
# (~$...), a Windows recycle bin (its deleted $R... files would be scored) and system folders.
HIDDEN = (".", "~$")
SYSTEM_FOLDERS = {"$recycle.bin", "recycler", "system volume information", "__macosx"}


def is_thermal_file(path: str | os.PathLike) -> bool:
    """Whether a folder walk takes this file: a thermal suffix (any case), not hidden."""
    name = Path(path).name
    return name.lower().endswith(THERMAL_SUFFIXES) and not name.startswith(HIDDEN)


def same_names(paths: list[Path]) -> list[list[Path]]:
    """Groups of files with the same name in different folders (two sites' T0101.txt, or two
    copies): DMR-IR names say the patient, so they would be taken as one woman."""
    by_name: dict[str, list[Path]] = {}
    for path in paths:
        by_name.setdefault(path.name.lower(), []).append(path)
    return [group for group in by_name.values() if len({p.parent for p in group}) > 1]


def same_names_warning(paths: list[Path]) -> str:
    """'' or one line naming files of the same name in different folders."""
    groups = same_names(paths)
    if not groups:
        return ""
    shown = ", ".join(str(p) for p in groups[0][:2])
    return (
        f"warning: {len(groups)} file name(s) occur in more than one folder (e.g. {shown}): "
        "their patient numbers are taken as the same women (right for one woman's frames kept "
        "in folders per session); if they are different women (two sites), give each folder "
        "on its own; a name without DMR-IR's view code is taken as a frontal view, so keep "
        "folders of other views (lateral) out"
    )


def case_twins_warning(paths: list[Path]) -> str:
    """'' or one line naming two files in one folder whose names differ only in case
    (T0004.txt, t0004.txt): one woman's two files here, one file on macOS, Windows or a USB
    stick, where either replaces the other when the folder is copied."""
    by_name: dict[tuple[Path, str], set[str]] = {}
    for path in paths:
        by_name.setdefault((path.parent, path.name.casefold()), set()).add(path.name)
    twins = [sorted(names) for names in by_name.values() if len(names) > 1]
    if not twins:
        return ""
    return (f"warning: {len(twins)} pair(s) of file names differ only in case (e.g. "
            f"{' and '.join(twins[0][:2])}): both are taken as one woman's files, and on macOS, "
            "Windows or a USB stick one would replace the other; rename one if they are two "
            "women")  # fmt: skip


def strip_suffix(name: str) -> str:
    """The name without its thermal suffix (`T0001.txt.gz` -> `T0001`)."""
    lower = name.lower()
    for suffix in sorted(READABLE_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


# Folders searched below the one given: no data has more; far deeper ones (a link loop the
# walk would not see as one, a generated tree) would exhaust Python 3.11's recursive os.walk.
MAX_DEPTH = 64


def not_a_model(root: str | os.PathLike) -> None:
    """Refuse a model's or study's folder given as thermograms (a review of swapped arguments:
    `predict RUN RUN` listed its figures as a dozen unreadable thermograms, and `fit RUN` read
    them, then deleted its new folder)."""
    if (made := maker(root)) or (Path(root) / "model.json").is_file():
        raise CohortError(f"{root}: is {f'a thermocad {made}' if made else 'a model'}'s folder, "
                          "not a folder of thermograms: give the thermal files' folder (predict "
                          "and explain take the model first, then the files)")  # fmt: skip


def walk_thermal_files(
    root: str | os.PathLike, say: bool = True
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Thermal files under `root` (recursively, hidden and system files and folders skipped,
    linked folders followed), sorted.

    Returns (files, problems): (path, reason) for each folder that could not be listed and
    each thermal name that is no regular file, so callers can warn instead of silently
    predicting or preparing fewer files. A folder reached again through a link is walked once,
    and said; the other files (not hidden, not COMPANION_SUFFIXES) are counted in one log line
    (`say=False`: no log lines, for a first look at the names).
    """
    not_a_model(root)
    problems: list[tuple[str, str]] = []

    def unreadable(exc: OSError) -> None:
        problems.append((str(exc.filename), f"cannot list the folder ({exc.strerror or exc})"))

    found, walked, other, marks, tables = [], set(), [], [], []
    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
        if (real := os.path.realpath(folder)) in walked:  # a link loop, or a folder twice
            if say:
                log(f"{folder}: a link to a folder already searched; its files are taken once")
            dirs[:] = []
            continue
        walked.add(real)
        dirs[:] = sorted(d for d in dirs
                         if not d.startswith(".") and d.lower() not in SYSTEM_FOLDERS)  # fmt: skip
        if dirs and len(Path(folder).relative_to(root).parts) >= MAX_DEPTH:
            problems.append((str(Path(folder).absolute()), f"folders nested more than "
                             f"{MAX_DEPTH} deep: the folders inside it were not searched"))  # fmt: skip
            dirs[:] = []
        for name in sorted(files):
            path = Path(folder, name)
            if name == INCOMPLETE:
                marks.append(Path(folder))
            if not is_thermal_file(path):
                tables += [path] * name.lower().endswith(".csv")
                other += [path] * (  # INCOMPLETE: thermocad's own mark, said by its readers
                    not name.startswith(HIDDEN)
                    and not name.lower().endswith(COMPANION_SUFFIXES)
                    and name != INCOMPLETE
                )
                continue
            if path.is_file():  # follows links; False for FIFOs, devices, broken or looping links
                found.append(path)
            else:  # absolute, as the other rows of predict's error table
                problems.append((str(path.absolute()),
                                 "not a regular file (a FIFO, device or broken link)"))  # fmt: skip
    for marked in marks if say else []:  # an interrupted synth or render: said, not refused
        if (what := incomplete_reason(marked)) is None:
            continue  # a folder of that name, not the mark
        log(f"warning: {marked}: marked {INCOMPLETE} ({what}): a command writing it "
            "stopped or is still running, so its files may not all be there")  # fmt: skip
    if say:
        _say_left_out(root, other, [] if found else tables)
    return sorted(found), problems


def _say_left_out(root, other: list[Path], tables: list[Path]) -> None:
    """The log line on the files a walk left out: those without a thermal suffix, and the
    CSV files when nothing else was found (a camera's CSV exports, all left out: said why)."""
    if other:
        shown = ", ".join(p.name for p in other[:3]) + (", ..." if len(other) > 3 else "")
        log(f"{root}: {len(other)} file(s) without a thermal suffix left out ({shown}); "
            f"thermocad takes {', '.join(THERMAL_SUFFIXES)} from folders, other files when "
            "named")  # fmt: skip
    if tables:
        log(f"{root}: {len(tables)} .csv file(s) skipped ({tables[0].name}...): in a folder, "
            "thermocad treats CSV files as tables such as labels.csv. To read them as "
            "thermograms, name each file on the command line, or rename it to .txt")  # fmt: skip


def find_thermal_files(data_dir: str | os.PathLike) -> list[Path]:
    """Thermal files under `data_dir` (recursively, hidden files skipped), sorted."""
    root = Path(data_dir)
    if root.is_file():
        raise CohortError(f"{root}: is a file; give the folder that holds the thermal files")
    if not root.is_dir():
        raise CohortError(f"{root}: data folder not found")
    found, problems = walk_thermal_files(root)
    for where, problem in problems:  # unseen files would silently shrink a cohort or a render
        log(f"warning: {where}: {problem}; skipped")
    return found


def resolved(path: str | os.PathLike) -> Path:
    """`path` with its links followed, or as an absolute path where they loop (Python 3.11's
    resolve() raises RuntimeError there, not OSError): the file is then refused where it is
    read, by name ("Too many levels of symbolic links"), not with a traceback."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


MODEL_SUFFIXES = (".onnx", ".safetensors", ".pt", ".pth")  # a model's weights, not a table


def not_a_thermal_name(out: str | os.PathLike, fmt: str = "csv") -> None:
    """Refuse a table's output name that is a thermal file's (T0001.txt, scan.npy) or a
    model's (m.onnx): with --force the table would replace a thermogram or a model, or be read
    back as a thermogram."""
    from thermocad.utils.errors import ConfigError

    out = Path(out)
    if out.name.lower().endswith(READABLE_SUFFIXES) and out.suffix.lower() != ".csv":
        raise ConfigError(f"{out}: a thermal file's name; the table would replace it, or be read "
                          f"back as a thermogram: name it .{fmt}")  # fmt: skip
    if out.suffix.lower() in MODEL_SUFFIXES:
        raise ConfigError(f"{out}: a model file's name; the table would replace a model: name "
                          f"it .{fmt}")  # fmt: skip
