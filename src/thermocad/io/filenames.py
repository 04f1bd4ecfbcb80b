"""Parse DMR-IR file names: `T0287.1.1.D.2015-07-20.18.txt` -> patient, view, protocol, time."""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from thermocad.io.find import READABLE_SUFFIXES
from thermocad.utils.errors import CohortError

VIEWS = {"1": "frontal", "2": "right45", "3": "right90", "4": "left45", "5": "left90"}
PROTOCOLS = {"S": "static", "D": "dynamic"}
# The readable kinds (io.find), without the dot; a .gz after them is allowed by _NAME.
SUFFIXES = tuple(s[1:] for s in READABLE_SUFFIXES if s.count(".") == 1 and s != ".gz")

_NAME = re.compile(
    r"""
    [Tt](?P<patient>\d{1,6})                      # T0287: the DMR patient number
    (?:[._](?P<series>\d)[._](?P<view>\d))?       # .1.1: series and view (1 = frontal)
    (?:[._](?P<protocol>[SsDd]))?                 # .D: dynamic, .S: static
    (?:[._](?P<date>\d{4}-\d{2}-\d{2}))?          # .2015-07-20: acquisition date
    (?:[._](?P<number>\d{1,6}))?                  # .18: hour of acquisition, or a frame number
    (?:[._](?P<frame>\d{1,6}))?                   # optional second number: a frame within it
    \.(?P<suffix>[A-Za-z]+)(?:\.[Gg][Zz])?\Z
    """,
    re.VERBOSE | re.ASCII,  # digits are 0-9: Python's \d takes any script's
)
# The mark a browser or a file manager adds to a copy, before the suffix: "T0012 (1).txt",
# "T0012 - Copy.txt", "T0012 copy 2.txt".
_COPY_MARK = re.compile(
    r"(?:\s?\(\d{1,3}\)|\s(?:-\s)?[Cc]opy(?:\s\(?\d{1,3}\)?)?)(?=\.[A-Za-z]+(?:\.[Gg][Zz])?\Z)"
)


# A name that begins with a DMR patient number and goes on with a tag of its own: "T0002_rgb.png",
# "T0002-left.txt". Read for a file to predict only (`copies`), as a copy's name is.
_TAGGED = re.compile(
    r"T(?P<patient>\d{4,6})[._\- ][^.]*[A-Za-z][^.]*\.(?P<suffix>[A-Za-z]+)(?:\.[Gg][Zz])?\Z",
    re.ASCII,  # a DMR number as written (T0002): not "t1_weighted.png" or "T12-left.txt"
)


def without_copy_mark(name: str) -> str:
    """A file name without the mark a browser or file manager gives a copy ("T0012 (1).txt"
    -> "T0012.txt")."""
    return _COPY_MARK.sub("", name)


class InvalidDateError(CohortError):
    """A DMR-IR name whose date field cannot be a date (2015-02-30)."""

    def __init__(self, path: str | os.PathLike, date: str) -> None:
        super().__init__(f"{path}: invalid date {date!r} in the file name")
        self.date = date
        self.parsed: DmrName | None = None  # the name without its date (parse_dmr_name)


@dataclass(frozen=True)
class DmrName:
    """What a DMR-IR file name says about the image."""

    patient_id: int
    # frontal, right45, right90, left45, left90; "unrecognised" for a view code DMR-IR does
    # not use (T0012.2.3..., T0013.1.9...); "unknown" for a name without one (T0012.txt)
    view: str
    protocol: str  # static, dynamic or unknown
    acquired: str  # ISO date or date-time, "" when the name has none
    sequence: int | None  # the last numeric field (an hour in DMR names, a frame in others)
    view_code: str  # "1.1" as written, "" when absent


def parse_dmr_name(path: str | os.PathLike, copies: bool = False) -> DmrName:
    """Parse a DMR-IR style file name (text, image or .npy, optionally .gz) or raise CohortError.
    `copies`: read a copy's name as the original's (`without_copy_mark`): for a file to
    predict, not for a cohort, where a copy would count a woman's image twice."""
    name = without_copy_mark(Path(path).name) if copies else Path(path).name
    match = _NAME.match(name)
    if not match or match["suffix"].lower() not in SUFFIXES:
        raise CohortError(
            f"{path}: file name not recognised (expected e.g. T0287.txt or "
            "T0287.1.1.D.2015-07-20.18.txt)"
        )
    view_code = f"{match['series']}.{match['view']}" if match["view"] else ""
    view = "unknown" if not view_code else "unrecognised"
    if match["series"] == "1" and match["view"] in VIEWS:
        view = VIEWS[match["view"]]
    protocol = PROTOCOLS.get((match["protocol"] or "").upper(), "unknown")
    numbers = [int(n) for n in (match["number"], match["frame"]) if n is not None]
    parsed = DmrName(
        patient_id=int(match["patient"]),
        view=view,
        protocol=protocol,
        acquired="",
        sequence=numbers[-1] if numbers else None,
        view_code=view_code,
    )
    try:
        acquired = _acquired(match["date"], numbers[0] if match["number"] else None, path)
    except InvalidDateError as exc:
        exc.parsed = parsed  # the rest of the name is still read (`name_view`)
        raise
    return replace(parsed, acquired=acquired)


def name_view(path: str | os.PathLike) -> DmrName | None:
    """What a file to predict's name says (a copy's name read as the original's), its date
    left out when it cannot be one ("T0030.1.2.S.2014-02-30.txt" is still a lateral view);
    None for a name that is not DMR-IR's."""
    try:
        return parse_dmr_name(path, copies=True)
    except InvalidDateError as exc:
        return exc.parsed
    except CohortError:
        return None


def patient_number(path: str | os.PathLike, copies: bool = False) -> int | None:
    """The patient number a DMR-IR file name gives, or None for any other name (an invalid
    date in the name included: the number is still the name's). `copies` (a file to predict):
    a copy's name as parse_dmr_name reads it, and a name that goes on after the number with a
    tag of its own ("T0002_rgb.png") gives that number too."""
    name = without_copy_mark(Path(path).name) if copies else Path(path).name
    try:
        return parse_dmr_name(path, copies).patient_id
    except InvalidDateError:
        match = _NAME.match(name)
        return int(match["patient"]) if match else None
    except CohortError:
        tagged = _TAGGED.match(name) if copies else None
        if tagged and tagged["suffix"].lower() in SUFFIXES:
            return int(tagged["patient"])
        return None


def _acquired(date: str | None, number: int | None, path: str | os.PathLike) -> str:
    """ISO date, with the hour when the number after the date can be one."""
    if not date:
        return ""
    try:
        datetime.date.fromisoformat(date)
    except ValueError as exc:
        raise InvalidDateError(path, date) from exc
    if number is not None and 0 <= number <= 23:
        return f"{date}T{number:02d}:00"
    return date


# prepare's reason for a name that gives no woman (another site's scheme: say what is read)
NOT_RECOGNISED = ("file name not recognised: name each woman's files by her number as DMR-IR "
                  "does (T0012.txt, T0012.npy, T0012.1.1.S.2013-10-14.txt)")  # fmt: skip


def unread_name(path: str | os.PathLike) -> str:
    """prepare's reason for a file whose name gives no woman: a copy's name (T0012 (1).txt, not
    taken: a woman counted twice), a name with its extension twice (Windows, hiding extensions,
    turns a file renamed "T0012.txt" into T0012.txt.txt), or another scheme's."""
    name = Path(path).name
    if without_copy_mark(name) != name:
        return "file name of a copy (T0012 (1).txt): rename it if it is no copy"
    stem = Path(name).stem
    if Path(stem).suffix and Path(stem).suffix.lower() == Path(name).suffix.lower():
        return f"{NOT_RECOGNISED}; this one ends in its extension twice: rename it {stem}"
    return NOT_RECOGNISED
