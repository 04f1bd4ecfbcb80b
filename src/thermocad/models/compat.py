"""What a model file from another thermocad can mean, checked before it is used.

A forward-compatibility review found a newer model.json's meaning dropped without a word: a
transform field this version does not know was ignored and P(Sick) computed the old way; an
`ensemble` other than the baseline mean was read as it; reversed `classes` were read as
thermocad's own, so P(Sick) would have been P(Healthy). Now:

- `MODEL_FORMAT` is the newest model.json format this thermocad reads. A change that gives a
  model file a meaning an older thermocad would miss (a new transform field, another way to
  combine the halves) raises it, and an older thermocad refuses such a file, saying to upgrade;
- a model of newer preprocessing (`preprocess_version` after this thermocad's) is refused the
  same way: its inputs would be made the old way;
- from format 1 on, every field of `transform` and `baseline` is one this thermocad knows
  (files written before the format, which have none, are read as they always were);
- `classes` are thermocad's own, in its order; `ensemble` is one this thermocad knows and agrees
  with the baseline entry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from thermocad.utils.errors import ModelFormatError

MODEL_FORMAT = 1
AS_WRITTEN = "use the model files as thermocad wrote them, or train the model again"


def check_format(meta: dict[str, Any], path: Path) -> None:
    """ModelFormatError naming `path` and the field where `meta` means something this
    thermocad would not do as its writer meant."""
    form = meta.get("format")
    if form is not None and (type(form) is not int or form < 1):
        raise ModelFormatError(f"{path}: field 'format' must be a whole number, 1 or more, got "
                               f"{form!r:.40}: use the file as thermocad wrote it")  # fmt: skip
    if form is not None and form > MODEL_FORMAT:
        raise ModelFormatError(f"{path}: written by a newer thermocad (model format {form}; this "
                               f"one reads format {MODEL_FORMAT} at most): {_upgrade()}")  # fmt: skip
    _check_preprocessing(meta.get("preprocess_version"), path)
    _check_classes(meta.get("classes"), path)
    if "ensemble" in meta:  # (a model from before the option has neither)
        ensemble, baseline = meta["ensemble"], meta.get("baseline")
        if ensemble not in ("baseline", "none"):
            raise ModelFormatError(f"{path}: field 'ensemble' is {ensemble!r:.40}, which this "
                                   f"thermocad does not know (a newer thermocad's?): {_upgrade()}")  # fmt: skip
        if (ensemble == "baseline") != bool(baseline):
            has = "has a baseline entry" if baseline else "has no baseline entry"
            raise ModelFormatError(f"{path}: field 'ensemble' is {ensemble!r} but the model {has} "
                                   f"(edited by hand?): {AS_WRITTEN}")  # fmt: skip
    if form is not None:
        _check_known_fields(meta, path)


def _upgrade() -> str:
    """What to do with a newer thermocad's file; made only for a refusal (it asks git for this
    one's commit: every version so far is 0.1.0)."""
    from thermocad.utils.versions import library_versions

    return (f"update thermocad to use it (this is {library_versions()['thermocad']}; in its "
            "clone: git pull, then make install)")  # fmt: skip


def _check_preprocessing(written: Any, path: Path) -> None:
    from thermocad.preprocess import PREPROCESS_VERSION

    if isinstance(written, str) and _date_order(written) > _date_order(PREPROCESS_VERSION):
        raise ModelFormatError(f"{path}: written by a newer thermocad, which prepares images "
                               f"for the network otherwise (its preparation of {written}; this "
                               f"one's is of {PREPROCESS_VERSION}): {_upgrade()}")  # fmt: skip


def _date_order(version: str) -> tuple[str, int]:
    """'2026-12-05.2' -> ('2026-12-05', 2): versions of one day counted, not compared as text."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)(?:\.(\d+))?", version.strip())
    return (match[1], int(match[2] or 0)) if match else ("", 0)


def _check_classes(classes: Any, path: Path) -> None:
    from thermocad.io.labels import CLASSES

    if classes != list(CLASSES):  # the network's second output is P(Sick), whatever it is named
        raise ModelFormatError(f"{path}: field 'classes' must be {list(CLASSES)} (thermocad's "
                               f"classes, in its order), got {classes!r:.60}: {AS_WRITTEN}")  # fmt: skip


def _check_known_fields(meta: dict[str, Any], path: Path) -> None:
    from dataclasses import fields

    from thermocad.models.baseline import LinearBaseline
    from thermocad.preprocess.transforms import EvalTransform

    for field, kind in (("transform", EvalTransform), ("baseline", LinearBaseline)):
        entry = meta.get(field)
        unknown = (
            sorted(set(entry) - {f.name for f in fields(kind)}) if isinstance(entry, dict) else []
        )
        if unknown:
            raise ModelFormatError(f"{path}: field {field!r} holds {', '.join(map(repr, unknown))}, "
                                   "which this thermocad does not know (a newer thermocad's, or "
                                   f"edited by hand): {_upgrade()}")  # fmt: skip
