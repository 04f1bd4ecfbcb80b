"""The tables `predict` writes: per file, per patient (when a patient has several files) and
the files that failed, as CSV or JSON records, atomically and never over existing results."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def aggregate_patients(table: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: mean P(Sick) over their files and the decision at the threshold."""
    from thermocad.evaluation.metrics import aggregate_patients as by_patient

    known = table.dropna(subset=["patient_id"])
    out = by_patient(known, prob="prob_sick")
    out = out.rename(columns={"n_images": "n_files", "prob": "prob_sick"})[
        ["patient_id", "n_files", "prob_sick"]
    ]
    out = out.join(known.groupby("patient_id")[["threshold", "model"]].first(), on="patient_id")
    out["prob_sick"] = out["prob_sick"].round(6)
    out.insert(
        3,
        "decision",
        [
            "Sick" if p >= t else "Healthy"
            for p, t in zip(out["prob_sick"], out["threshold"], strict=True)
        ],
    )
    return out


def output_paths(out: str | os.PathLike, fmt: str = "csv") -> dict[str, Path]:
    """Where predictions, the per-patient table and the error list go, beside `out`."""
    from thermocad.utils.errors import ConfigError

    out = Path(out)
    if out.suffix.lower() in (".csv", ".json") and out.suffix.lower() != f".{fmt}":
        raise ConfigError(f"{out}: the name says {out.suffix[1:]}, the format is {fmt}; "
                          f"name it .{fmt} or give --format {out.suffix[1:].lower()}")  # fmt: skip
    stem = out.with_suffix("") if out.suffix else out
    return {
        "files": out,
        "patients": stem.with_name(f"{stem.name}_patients.{fmt}"),
        "errors": stem.with_name(f"{stem.name}_errors.{fmt}"),
    }


def _write_table(path: Path, table: pd.DataFrame, fmt: str) -> Path:
    """CSV, or JSON records with the same fields (missing values as null)."""
    import json

    from thermocad.utils.files import atomic_write_csv, atomic_write_json, printable_name

    if fmt == "csv":
        return atomic_write_csv(path, table)
    # A file name that is not UTF-8 is written with its odd bytes escaped, as in the CSV.
    names = {c: table[c].map(printable_name) for c in ("file", "error") if c in table}
    return atomic_write_json(path, json.loads(table.assign(**names).to_json(orient="records")))


def write_predictions(
    table: pd.DataFrame,
    errors: Sequence[tuple[str, str]],  # predict's FileError (file, error) pairs
    out: str | os.PathLike,
    force: bool = False,
    fmt: str = "csv",
) -> dict[str, Path]:
    """Write the per-file table, plus per-patient and error tables when there is something to
    say, as CSV or (fmt="json") JSON records."""
    import pandas as pd

    from thermocad.utils.files import check_writable

    targets = output_paths(out, fmt)
    for path in targets.values():
        check_writable(path, force)
    written = {"files": _write_table(targets["files"], table, fmt)}
    patients = aggregate_patients(table)
    if (patients["n_files"] > 1).any():
        written["patients"] = _write_table(targets["patients"], patients, fmt)
    if errors:
        frame = pd.DataFrame(list(errors), columns=["file", "error"])
        written["errors"] = _write_table(targets["errors"], frame, fmt)
    # With --force, a stale side file from an earlier run would contradict this one.
    for key in ("patients", "errors"):
        if key not in written:
            targets[key].unlink(missing_ok=True)
    return written
