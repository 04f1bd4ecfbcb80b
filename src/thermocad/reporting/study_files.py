"""What a study folder holds, as the report reads it: its inputs, and the notes said at the
top of the report (synthetic patients, a smoke run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from thermocad.utils.tables import read_written


def find_study_inputs(study_dir: str | os.PathLike) -> dict[str, Path | None]:
    """Locate cohort.csv, split.csv and the comparison folder inside a study directory."""
    root = Path(study_dir)

    def first(*cands: str) -> Path | None:
        return next((root / c for c in cands if (root / c).exists()), None)

    return {
        "cohort_csv": first("cohort/cohort.csv", "cohort.csv"),
        "split_csv": first("split.csv", "cohort/split.csv"),
        "compare_dir": first("compare"),
    }


def _unfinished(study_dir) -> str:
    """What to do about an unfinished study: wait for the process writing it, continue it
    (its resume record is there), or run it again."""
    from thermocad.utils.files import STUDY_RESUME
    from thermocad.utils.lock import running_writer

    if who := running_writer(study_dir):
        return f"it is running now ({who}): wait for it to finish"
    if (Path(study_dir) / STUDY_RESUME).is_file():
        return "run the same `thermocad study ...` with --resume to continue it"
    return "run `thermocad study ... --force` again"


def study_inputs(study_dir: str | os.PathLike) -> dict[str, Path | None]:
    """find_study_inputs of a finished study's folder; ConfigError for another folder (an
    unfinished study, a model's, prepare's or split's), naming what it lacks."""
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.files import INCOMPLETE

    if Path(study_dir).is_file():  # report STUDY/report.html: the study is its folder
        raise ConfigError(f"{study_dir}: is a file; give the study's folder")
    if not Path(study_dir).is_dir():
        raise ConfigError(f"{study_dir}: no such folder")

    if (Path(study_dir) / INCOMPLETE).exists():  # said as what to do: wait, resume, or redo
        raise ConfigError(f"{study_dir}: the study did not finish; " + _unfinished(study_dir))
    inputs = find_study_inputs(study_dir)
    if (Path(study_dir) / "model.json").is_file() and not inputs["compare_dir"]:
        raise ConfigError(f"{study_dir}: a model's folder (`thermocad fit` or `train`), not a "
                          "study: its card is README.md there, and a fit's cross-validation "
                          "is cv/metrics.json; `thermocad study` writes a report")  # fmt: skip
    if not (Path(study_dir) / "compare" / "comparison.csv").is_file():
        found = ", ".join(str(p.relative_to(study_dir)) for p in inputs.values() if p)
        raise ConfigError(f"{study_dir}: not a study: no compare/comparison.csv (found "
                          f"{found or 'no cohort.csv nor split.csv either'}); a study's folder, "
                          "written by `thermocad study`, holds cohort/cohort.csv, split.csv and "
                          "compare/ (`thermocad compare --out STUDY/compare` makes one)")  # fmt: skip
    return inputs


def report_path(study_dir: str | os.PathLike, out_html: str | os.PathLike | None) -> Path:
    """Where `thermocad report` writes: STUDY/report.html, or an --out that ends in .html and is
    not inside the study under another name (--force would replace the study's study.json,
    split.csv or a model with the HTML, and the study would be unusable)."""
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.out_names import check_suffix

    own = Path(study_dir) / "report.html"
    if out_html is None:
        return own
    check_suffix(out_html, ".html", "an HTML page")
    study, out = Path(study_dir).resolve(), Path(out_html).resolve()
    if study in out.parents and out != own.resolve():
        raise ConfigError(f"{out_html}: is inside the study folder {study_dir}, whose files the "
                          f"study needs; give --out {own} or a place outside it")  # fmt: skip
    return Path(out_html)


def synthetic_note(cohort_csv) -> str | None:
    """Said at the top when every kept image came from `thermocad synth`."""
    from thermocad.cohort.prepare import kept_rows
    from thermocad.synth.files import synthetic_share

    if not cohort_csv or not Path(cohort_csv).exists():
        return None
    kept = kept_rows(read_written(cohort_csv, "cohort file"))
    if len(kept) and synthetic_share(kept["path"]) == 1:
        return ("Synthetic data written by thermocad synth: these figures show the pipeline "
                "working, not how it does on women.")  # fmt: skip
    return None


def smoke_note(compare_dir: Path | None) -> str | None:
    """Said at the top when a CNN of the comparison was a smoke run (`--smoke`: a few batches
    per epoch): its figures would otherwise read as a model's."""
    if not compare_dir:
        return None
    batches = set()
    for config in Path(compare_dir).glob("*/*/config.json"):
        try:
            batches.add(json.loads(config.read_text()).get("max_batches"))
        except (OSError, ValueError, AttributeError):
            continue
    batches.discard(None)
    if not batches:
        return None
    return (f"A smoke run ({max(batches)} batches per epoch, a check of the code): these "
            "figures say nothing about how any model does.")  # fmt: skip


def best_run_dir(compare_dir: Path | None) -> Path | None:
    """The run directory of the selected CNN (fold 0 = the split as written), None for baseline."""
    if not compare_dir or not (Path(compare_dir) / "best.json").exists():
        return None
    from thermocad.evaluation.runs import plain_name
    from thermocad.reporting.html import read_json

    best = (read_json(Path(compare_dir) / "best.json") or {}).get("best")
    if not plain_name(best):  # a candidate's folder of the comparison, never a path elsewhere
        return None
    run = Path(compare_dir) / best / "fold0"
    return run if (run / "model.json").exists() else None


def by_image_note(split_csv: str | os.PathLike | None) -> str | None:
    """The report's first words on an image-level split that puts women on several sides
    (cohort.leaks.women_across); None for a split by patient, or without a split file."""
    if not split_csv or not Path(split_csv).exists():
        return None
    from thermocad.cohort.leaks import women_across

    if not (across := women_across(read_written(split_csv, "split file"))):
        return None
    who = "1 woman has" if across == 1 else f"{across} women have"
    return (
        f"IMAGE-level split (split_unit=image, the 2019 study's protocol): {who} images in "
        "more than one split or fold, so models were scored on women they were trained on; "
        "every figure here is optimistic, not an estimate on new women."
    )


def resumed_note(ran: dict) -> str | None:
    """What the report says of a comparison resumed inside a training stage (best.json)."""
    if not ran.get("resumed_inside"):
        return None
    return (
        f"Resumed: {', '.join(ran['resumed_inside'])} continued from a checkpoint inside a "
        "training stage, so the weights (and possibly the model chosen) differ from those "
        "of an uninterrupted run."
    )
