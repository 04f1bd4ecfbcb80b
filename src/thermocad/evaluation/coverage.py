"""Which labelled women an external evaluation scored, and why each of the others was not.

`evaluate --data --labels` scores the women whose files `prepare` kept. A labelled woman can
get no score for two kinds of reason:

- the study's filters, as the protocol says (deodorant, a single breast, only views other
  than frontal, a blurred image): she is listed, and the others are scored;
- a fault of the folder: no file of hers at all, a file that cannot be read, one whose path
  is not UTF-8, one that is not a breast thermogram, one whose frame size is not the other
  files' (a file cut short at a line end), one in another unit than the model's
  (an 8-bit image's intensities for a model of °C temperatures: `unit_faults`). Scoring the others would report
  sensitivity and AUC on a selection nobody chose, so `evaluate_external` refuses before
  anything is scored (no lockbox opening) unless `allow_unscored` (--allow-unscored).

Scored women of one class only are refused whatever `allow_unscored` says
(`check_classes`): AUC, sensitivity and specificity need both.

Either way external.md's first line says how many of the labelled women were scored, per
class, and lists the others with the reason; metrics.json holds the same under "women".
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from thermocad.io.labels import CLASSES, label_filters
from thermocad.models.words import UNIT_WORDS
from thermocad.utils.errors import ConfigError
from thermocad.utils.tables import as_text

# excluded_reason prefixes (cohort.prepare) that are faults of the folder, not the protocol
FAULTS = ("unreadable", "path not UTF-8", "not a breast thermogram", "file name", "frame size")
NO_FILE = "no file"
OTHER_UNIT = ", not the model's "  # in the reason of a file in another unit: a fault


def women_scored(labels: pd.DataFrame, cohort: pd.DataFrame, data_dir) -> dict:
    """{"labelled", "scored", "by_class": {class: {"labelled", "scored"}}, "not_scored":
    [{"patient_id", "diagnosis", "why", "fault"}]} of the women of `labels` (read_labels)
    against the rows of `cohort` (cohort.csv: path, patient_id, excluded_reason)."""
    rows = _with_numbers(cohort)
    kept = set(rows.loc[rows["excluded_reason"] == "", "patient_id"])
    files = {pid: group for pid, group in rows.groupby("patient_id")}
    not_scored = []
    filters = [", ".join(label_filters(row)) for _, row in labels.iterrows()]  # as prepare
    for pid, diagnosis, filtered in zip(labels["patient_id"], labels["diagnosis"], filters,
                                        strict=True):  # fmt: skip
        if int(pid) in kept:
            continue
        group = files.get(int(pid))
        if group is None:
            why, fault = f"{NO_FILE} (none named T{int(pid):04d}... in {data_dir})", True
        else:
            why, fault = _why(group)
        if fault and filtered:  # the protocol leaves her out, whatever her files hold
            why, fault = f"the labels' filter: {filtered} (and {why})", False
        not_scored.append({"patient_id": int(pid), "diagnosis": str(diagnosis), "why": why,
                           "fault": fault})  # fmt: skip
    missing = {w["patient_id"] for w in not_scored}
    by_class = {}
    for name in CLASSES:
        ids = set(labels.loc[labels["diagnosis"] == name, "patient_id"].astype(int))
        by_class[name] = {"labelled": len(ids), "scored": len(ids - missing)}
    return {"labelled": len(labels), "scored": len(labels) - len(not_scored),
            "by_class": by_class, "not_scored": not_scored, **_beside(cohort)}  # fmt: skip


def _beside(cohort: pd.DataFrame) -> dict:
    """What else the folder holds that the figures do not say: files of women the labels do
    not name ("unlabelled": their patient numbers), and kept files holding another
    number's frame, byte for byte or saved again ("copies": 'a = b'; one woman scored twice)."""
    from thermocad.cohort.consistency import UNLABELLED, same_frames

    reasons = as_text(cohort["excluded_reason"])
    numbers = pd.to_numeric(cohort.loc[reasons == UNLABELLED, "patient_id"], errors="coerce")
    return {"unlabelled": sorted({int(n) for n in numbers.dropna()}), "copies": same_frames(cohort)}


def _with_numbers(cohort: pd.DataFrame) -> pd.DataFrame:
    """path, patient_id (int; from the name when prepare could not parse it, e.g. an invalid
    date in it) and excluded_reason ("" when kept) of every row that names a patient."""
    from thermocad.io.filenames import patient_number

    rows = cohort[["path", "patient_id", "excluded_reason"]].copy()
    rows["excluded_reason"] = as_text(rows["excluded_reason"])
    ids = pd.to_numeric(rows["patient_id"], errors="coerce")
    named = rows["path"].map(lambda p: patient_number(p) if isinstance(p, str) else None)
    rows["patient_id"] = ids.fillna(pd.to_numeric(named, errors="coerce"))
    rows = rows.dropna(subset=["patient_id"])
    return rows.assign(patient_id=rows["patient_id"].astype(int))


def _why(group: pd.DataFrame, shown: int = 3) -> tuple[str, bool]:
    """Why none of one woman's files was kept: each file's reason (the first `shown`), and
    whether any of them is a fault of the folder."""
    parts, fault = [], False
    for path, reason in zip(group["path"], group["excluded_reason"], strict=True):
        name = Path(str(path)).name
        fault = fault or reason.startswith(FAULTS) or OTHER_UNIT in reason
        parts.append(f"{name}: {_short(reason, name)}")
    more = f"; and {len(parts) - shown} more file(s)" if len(parts) > shown else ""
    return "; ".join(parts[:shown]) + more, fault


def _short(reason: str, name: str) -> str:
    """The reason without the file's path (however it was spelt), which the line names."""
    return re.sub(r"(?:^|(?<=: ))[^:]*" + re.escape(name) + ": ", "", reason)


def headline(women: dict, where: str = "below") -> str:
    """'10 of 11 labelled women scored (Sick: 4 of 5, Healthy: 6 of 6)' and, when some were
    not, where they are listed and that the figures are on the scored women only."""
    classes = ", ".join(f"{name}: {c['scored']} of {c['labelled']}"
                        for name, c in sorted(women["by_class"].items(), reverse=True))  # fmt: skip
    line = f"{women['scored']} of {women['labelled']} labelled women scored ({classes})"
    k = len(women["not_scored"])
    if k:
        line += (f"; {k} not scored (listed {where}, with why): every figure here is on the "
                 f"{women['scored']} scored women only")  # fmt: skip
    return line


def listed(women: dict) -> list[str]:
    """One line per labelled woman not scored: patient, diagnosis, why."""
    return [f"patient {w['patient_id']} ({w['diagnosis']}): {w['why']}"
            for w in women["not_scored"]]  # fmt: skip


def check_faults(women: dict, labels_csv, out: Path, allow: bool) -> None:
    """Refuse (nothing scored yet) when faults of the folder leave labelled women unscored,
    unless `allow` (--allow-unscored)."""
    faults = [w for w in women["not_scored"] if w["fault"]]
    if not faults or allow:
        return
    shown = "; ".join(listed({"not_scored": faults[:5]}))
    more = f"; and {len(faults) - 5} more" if len(faults) > 5 else ""
    raise ConfigError(
        f"{labels_csv}: {len(faults)} of the {women['labelled']} labelled women would get no "
        f"score for a fault of the folder, not the study's filters: {shown}{more}. Scored "
        "without them, sensitivity and AUC would be a selection's, unsaid. Nothing was scored "
        f"(no opening counted); {out / 'cohort' / 'cohort.csv'} gives each file's reason. Fix "
        "the files and run again with --force, or run again with --force --allow-unscored to "
        "score the others "
        "(each woman left out is then listed in external.md and metrics.json)"
    )


def unit_faults(cohort: pd.DataFrame, unit: str) -> pd.DataFrame:
    """`cohort` with each kept file in another unit than the model's (its `unit` column)
    excluded as a fault of the folder: 'image intensities (8/16-bit grey levels), not the
    model's temperatures (°C)' (models.words.UNIT_WORDS, as predict says it)."""
    if "unit" not in cohort or "excluded_reason" not in cohort:
        return cohort
    units = as_text(cohort["unit"])
    other = (as_text(cohort["excluded_reason"]) == "") & (units != "")
    other &= units != unit
    if not other.any():
        return cohort
    cohort = cohort.copy()
    cohort["excluded_reason"] = as_text(cohort["excluded_reason"])
    cohort.loc[other, "excluded_reason"] = [
        f"{UNIT_WORDS.get(u, u)}{OTHER_UNIT}{UNIT_WORDS.get(unit, unit)}" for u in units[other]
    ]
    return cohort


def plural(n: int, one: str, many: str) -> str:
    """'1 woman', '3 women'."""
    return f"{n} {one if n == 1 else many}"


def check_classes(women: dict, labels_csv) -> None:
    """Refuse (nothing scored yet) when the women to be scored are not of both classes: AUC,
    sensitivity and specificity could not all be computed (--allow-unscored does not lift it)."""
    scored = {name: c["scored"] for name, c in women["by_class"].items()}
    if all(scored.values()):
        return
    counts = ", ".join(f"{plural(n, name + ' woman', name + ' women')}"
                       for name, n in sorted(scored.items(), reverse=True))  # fmt: skip
    raise ConfigError(
        f"{labels_csv}: the women to be scored are {counts}: AUC, sensitivity and specificity "
        "need women of both classes, so nothing was scored (no opening counted)"
        + (
            f"; the {len(women['not_scored'])} labelled women not scored are listed above, with why"
            if women["not_scored"]
            else ""
        )  # fmt: skip
    )


def scored_rows(labels, unit: str, data_dir, labels_csv, out: Path, allow: bool):
    """(rows to score, cohort, women): cohort.csv with files in another unit than the model's
    excluded (written back, so that it gives each file's reason), the labelled women scored and
    not (women_scored), the folder's faults refused unless `allow`, a warning line for
    each woman left out, and women of one class only refused."""
    from thermocad.cohort.prepare import kept_rows
    from thermocad.utils.files import atomic_write_csv
    from thermocad.utils.progress import log
    from thermocad.utils.tables import read_table

    path = out / "cohort" / "cohort.csv"
    cohort = read_table(path, "cohort file")
    if (marked := unit_faults(cohort, unit)) is not cohort:
        cohort = marked
        atomic_write_csv(path, cohort)
    women = women_scored(labels, cohort, data_dir)
    check_faults(women, labels_csv, out, allow)
    if women["not_scored"]:
        log(f"warning: {headline(women)}")
        for line in listed(women):
            log(f"warning: not scored: {line}")
    rows = kept_rows(cohort)
    if rows.empty:
        raise ConfigError(f"{data_dir}: no thermogram with a label was kept (see {path}, "
                          "column excluded_reason)")  # fmt: skip
    check_classes(women, labels_csv)
    return rows, cohort, women
