"""Prepare a cohort: find thermal files, join the patient table, apply the study's filters."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.cohort.consistency import (
    MIXED_SHAPES_FLAG,
    UNLABELLED,
    check_labels_match,
    class_note,
    date_note,
    exclude_odd_shapes,
    odd_shapes,
    same_frames_note,
    settle_batches,
    unknown_views,
)
from thermocad.cohort.exports import kept_notes
from thermocad.cohort.image_stats import image_stats
from thermocad.evaluation.periods import BATCH
from thermocad.io.filenames import InvalidDateError, parse_dmr_name, unread_name
from thermocad.io.find import THERMAL_SUFFIXES, find_thermal_files
from thermocad.io.labels import label_filters, labels_name, read_labels
from thermocad.io.thermal import iter_read
from thermocad.utils.errors import CohortError, ConfigError
from thermocad.utils.files import INCOMPLETE, atomic_write_csv, check_writable, incomplete_reason
from thermocad.utils.lock import writes_folder
from thermocad.utils.out_names import not_utf8_part, not_utf8_words
from thermocad.utils.progress import log, progress
from thermocad.utils.tables import as_text
from thermocad.utils.values import check_value, is_number, is_whole

# Calibrated on the 120 real frontal files: sharp ones score 2.1..9.2, the same files
# Gaussian-blurred with sigma 3 px score at most 0.12 (sigma 2 px: at most 0.32).
DEFAULT_SHARPNESS_THRESHOLD = 0.5
COLUMNS = ["path", "patient_id", "label", "view", "protocol", "acquired", "acquisition_date",
           "acquisition_batch", "unit", "source_format", "height", "width", "t_min", "t_max",
           "sharpness", "skin_median", "room_median", "marker_px", "excluded_reason"]  # fmt: skip
# As in the DMR-IR database: batch A's files are space-separated, batch B's semicolon-separated,
# with a decimal point or (some files of the original database) a decimal comma.
BATCH_BY_FORMAT = {"dmr-space": "A", "dmr-semicolon": "B", "dmr-space-comma-decimal": "A",
                   "dmr-semicolon-comma-decimal": "B"}  # fmt: skip
# Columns prepare (and split after it) compute: a labels column of the same name would
# overwrite them in cohort.csv, so it is kept as labels_<name>.
COMPUTED = {*COLUMNS, "split", "fold", "split_unit", "period_matched", "y", "prob"} - {
    "patient_id", "acquisition_date", "acquisition_batch"}  # fmt: skip


@dataclass
class CohortSummary:
    """Counts printed after `prepare` and returned to Python callers."""

    cohort_csv: Path
    files: int
    kept_images: dict[str, int]
    kept_patients: dict[str, int]
    exclusions: dict[str, int]
    unknown_view: int  # kept images without a view in their name (not synth's: unknown_views)
    batches: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unmatched_labels: list[int] = field(default_factory=list)  # patients in labels, no file
    units: dict[str, int] = field(default_factory=dict)  # kept images per unit
    odd_shapes: list[str] = field(default_factory=list)  # "name: HxW" unlike most kept images
    notes: list[str] = field(default_factory=list)  # on the kept files: same names, exports

    def lines(self) -> list[str]:
        """A readable summary, in the study's style ("2,411 Healthy and 534 Sick images")."""
        h, s = self.kept_images.get("Healthy", 0), self.kept_images.get("Sick", 0)
        ph, ps = self.kept_patients.get("Healthy", 0), self.kept_patients.get("Sick", 0)
        out = [
            f"{h:,} Healthy and {s:,} Sick images from {ph + ps:,} patients "
            f"({ph:,} Healthy, {ps:,} Sick) kept of {self.files:,} files",
            "acquisition batches of kept images: "
            + (", ".join(f"{k or '?'}: {v:,}" for k, v in sorted(self.batches.items())) or "none"),
        ]
        if self.unknown_view:  # a short name (T0042.txt); thermocad synth's own are not counted
            out.insert(1, f"kept images whose file name gives no view (short names): "
                       f"{self.unknown_view:,}, taken as frontal views (not checked)")  # fmt: skip
        for reason, count in sorted(self.exclusions.items(), key=lambda kv: -kv[1]):
            out.append(f"excluded, {reason}: {count:,}")
        out += [f"unreadable: {e}" for e in self.errors[:20]]
        if len(self.errors) > 20:
            out.append(f"... and {len(self.errors) - 20} more unreadable files (see cohort.csv)")
        if len(self.units) > 1:
            mix = ", ".join(f"{u}: {n:,}" for u, n in sorted(self.units.items()))
            out.append(f"warning: the kept images mix units ({mix}); a model takes one kind (train "
                       "refuses the mix, evaluate leaves the other out): keep one kind, not both")  # fmt: skip
        out += self.notes
        if self.odd_shapes:  # kept: allow_mixed_shapes
            out.append(f"warning: {len(self.odd_shapes):,} kept images differ in size from the "
                       f"others (e.g. {self.odd_shapes[0]}): a file cut short, or another camera? "
                       f"(kept: {MIXED_SHAPES_FLAG})")  # fmt: skip
        if self.unmatched_labels:
            shown = ", ".join(map(str, self.unmatched_labels[:10]))
            more = ", ..." if len(self.unmatched_labels) > 10 else ""
            out.append(f"patients in the labels whom no file name here matches: "
                       f"{len(self.unmatched_labels):,} ({shown}{more})")  # fmt: skip
        out.append(f"wrote {self.cohort_csv}")
        return out


@writes_folder("out_dir")
def prepare_cohort(
    data_dir: str | os.PathLike,
    labels_csv: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike,
    sharpness_threshold: float = DEFAULT_SHARPNESS_THRESHOLD,
    force: bool = False,
    workers: int | None = None,
    allow_mixed_shapes: bool = False,
) -> CohortSummary:
    """Write OUT_DIR/cohort.csv (one row per thermal file, excluded ones with their reason)."""
    target = check_writable(Path(out_dir) / "cohort.csv", force=force)
    if isinstance(labels_csv, str | os.PathLike) and Path(labels_csv).resolve() == target.resolve():
        raise ConfigError(f"{labels_csv}: is the labels file; write the cohort elsewhere")
    label_ids = set(read_labels(labels_csv)["patient_id"].astype(int))
    check_labels_match(data_dir, labels_csv, label_ids)  # before anything is written
    table = cohort_table(data_dir, labels_csv, sharpness_threshold, workers, allow_mixed_shapes)
    atomic_write_csv(target, table)
    summary = summarize(table, target)
    found = set(table["patient_id"].dropna().astype(int))
    summary.unmatched_labels = sorted(label_ids - found)
    for line in summary.lines():
        log(line)
    if note := class_note(summary.kept_patients, len(label_ids), len(summary.unmatched_labels)):
        log(note)  # one class only, or too few women of one: said before split meets it
    if not summary.kept_images:  # every file excluded: nothing to split or train on
        reason = max(summary.exclusions, key=summary.exclusions.get, default="none")
        raise CohortError(f"{data_dir}: no image kept of {summary.files:,} file(s) (most "
                          f"excluded as: {reason}); the reasons are in {target} (once fixed, "
                          "run again with --force to replace it)")  # fmt: skip
    return summary


def cohort_table(
    data_dir: str | os.PathLike,
    labels_csv: str | os.PathLike | pd.DataFrame,
    sharpness_threshold: float = DEFAULT_SHARPNESS_THRESHOLD,
    workers: int | None = None,
    allow_mixed_shapes: bool = False,
) -> pd.DataFrame:
    """The cohort as a table: one row per thermal file, excluded ones with their reason.
    Images whose frame size is not the cohort's most common one are excluded (a file cut at
    a line end reads as a smaller matrix) unless `allow_mixed_shapes`."""
    check_value(is_number(sharpness_threshold) and sharpness_threshold >= 0,  # NaN: no exclusion
                "sharpness_threshold", "a number, at least 0", sharpness_threshold)  # fmt: skip
    check_value(workers is None or is_whole(workers) and workers >= 1, "workers",
                "a whole number, at least 1", workers)  # fmt: skip

    if (what := incomplete_reason(data_dir)) is not None:  # a synth interrupted: some women
        raise CohortError(f"{data_dir}: marked {INCOMPLETE} ({what}): its files are not all "
                          "there; finish or redo what writes it (synth: --force) first")  # fmt: skip
    labels = read_labels(labels_csv)
    paths = find_thermal_files(data_dir)
    if not paths:  # a site's comma-separated matrices named T0012.csv: taken for tables
        n = sum(1 for p in Path(data_dir).rglob("*.csv") if re.match(r"[Tt]\d", p.name))
        tables = f"; its {n} T<number>.csv file(s) are taken for tables: name matrices .txt"
        raise CohortError(f"{data_dir}: no thermal files found ({', '.join(THERMAL_SUFFIXES)})"
                          f"{tables if n else ''}")  # fmt: skip
    by_patient = _keep_computed(labels, labels_csv).set_index("patient_id")
    rows = []
    results = iter_read(paths, workers=workers, transform=image_stats)
    for path, result in progress(results, "prepare", total=len(paths)):
        rows.append(_row(path, result, by_patient, sharpness_threshold))
    table = pd.DataFrame(rows)
    extra = [c for c in by_patient.columns if c not in ("diagnosis", *COLUMNS)]
    # A missing value is NaN, as in cohort.csv read back (an empty string there).
    table = table.reindex(columns=COLUMNS + extra).replace("", np.nan)
    exclude_odd_shapes(table, allow_mixed_shapes)
    for note in (settle_batches(table, labels), date_note(table), same_frames_note(table)):
        for line in note.split("\n") if note else ():  # (two warnings: a log line each)
            log(line)
    return table


def _keep_computed(labels: pd.DataFrame, labels_csv) -> pd.DataFrame:
    """The labels with columns that prepare computes renamed labels_<name>, said once."""
    if not (clash := sorted(c for c in labels.columns if c in COMPUTED)):
        return labels
    log(f"{labels_name(labels_csv)}: column(s) {', '.join(clash)} are computed by prepare; the labels' values are "
        f"kept as {', '.join('labels_' + c for c in clash)}")  # fmt: skip
    return labels.rename(columns={c: f"labels_{c}" for c in clash})


def kept_rows(cohort: pd.DataFrame) -> pd.DataFrame:
    """The rows of a cohort table without an exclusion reason (all rows if it has no such column)."""
    if "excluded_reason" not in cohort:
        return cohort
    return cohort[as_text(cohort["excluded_reason"]) == ""]


def _row(path: Path, result, by_patient: pd.DataFrame, threshold: float) -> dict:
    """One cohort.csv row; the first failing check becomes the exclusion reason."""
    row = dict.fromkeys(COLUMNS, "")
    row["path"] = str(path.resolve())
    reasons = []
    if odd := not_utf8_part(row["path"]):  # cohort.csv could not name it for a later read
        reasons.append(not_utf8_words(row["path"], odd))
    if isinstance(result, Exception):
        reasons.append(f"unreadable: {result}")
    else:
        if implausible := result.pop("implausible", ""):  # as predict refuses it
            reasons.append(f"not a breast thermogram: {implausible}")
        row.update(result)
    bad_date = ""
    try:
        name = parse_dmr_name(path)
    except InvalidDateError as exc:  # her number and view still read: the labels may date her
        name, bad_date = exc.parsed, exc.date
    except CohortError:
        reasons.append(unread_name(path))
        name = None
    if name:
        row.update(patient_id=name.patient_id, view=name.view, protocol=name.protocol,
                   acquired=name.acquired)  # fmt: skip
    clinical = (
        by_patient.loc[name.patient_id] if name and name.patient_id in by_patient.index else None
    )
    if name and clinical is None:
        reasons.append(UNLABELLED)
    if clinical is not None:
        row["label"] = clinical["diagnosis"]
        row.update({k: v for k, v in clinical.items() if k not in ("diagnosis", BATCH)})
        batch = clinical.get(BATCH, "")
        row[BATCH] = batch if isinstance(batch, str) and batch else ""
        row["acquisition_date"] = clinical.get("acquisition_date", "") or ""
        reasons += label_filters(clinical)
    if not row["acquisition_batch"]:
        row["acquisition_batch"] = BATCH_BY_FORMAT.get(row["source_format"], "")
    if not row["acquisition_date"]:  # the labels win; else the date in a full DMR name
        row["acquisition_date"] = str(row["acquired"])[:10]
        if bad_date:  # no date at all: a damaged name, not one without a date
            reasons.append(f"file name has an invalid date: {bad_date}")
    elif bad_date:
        log(f"note: {path.name}: the invalid date {bad_date} in its name is ignored; the labels "
            f"date her {row['acquisition_date']}")  # fmt: skip
    if name and name.view == "unrecognised":  # 2.3, 1.9: no view of DMR-IR's, not frontal
        reasons.append(f"unrecognised view code {name.view_code}")
    elif name and name.view not in ("frontal", "unknown"):
        reasons.append("not frontal")
    if row["sharpness"] != "" and row["sharpness"] < threshold:
        reasons.append(f"blurred (sharpness < {threshold:g})")
    row["excluded_reason"] = _first_reason(reasons)
    return row


_ORDER = (
    "path not UTF-8",
    "unreadable",
    "not a breast",
    "file name",
    "patient not",
    "not frontal",
    "unrecognised view",
    "deodorant",
    "single",
    "blurred",
)


def _first_reason(reasons: list[str]) -> str:
    """One reason per image, in a fixed order, so counts per reason never overlap."""
    for prefix in _ORDER:
        for reason in reasons:
            if reason.startswith(prefix):
                return reason
    return ""


def summarize(table: pd.DataFrame, cohort_csv: Path) -> CohortSummary:
    """Counts of kept images and patients per class, and of exclusions per reason."""
    kept = kept_rows(table)
    reasons = as_text(table["excluded_reason"])
    excluded = Counter(r.split(":")[0] for r in reasons if r)
    errors = [r.split(": ", 1)[1] for r in reasons if r.startswith("unreadable: ")]
    return CohortSummary(
        cohort_csv=cohort_csv,
        files=len(table),
        kept_images=kept["label"].value_counts().to_dict(),
        kept_patients=kept.groupby("label")["patient_id"].nunique().to_dict(),
        exclusions=dict(excluded),
        unknown_view=unknown_views(kept),
        batches=as_text(kept["acquisition_batch"]).value_counts().to_dict(),
        errors=errors,
        units=kept["unit"].value_counts().to_dict() if "unit" in kept else {},
        odd_shapes=odd_shapes(kept),
        notes=kept_notes(kept),
    )
