"""The main job: prepare -> split (patient-grouped folds) -> compare -> final test -> report."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thermocad.evaluation.thresholds import TARGET_SENSITIVITY, check_target, drop_threshold_method
from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.files import (
    INCOMPLETE,  # a study, like a run, until its end
    atomic_write_json,
    check_apart,
    prepare_out_dir,
)
from thermocad.utils.lock import empty_held, holds_only_lock, writes_folder
from thermocad.utils.progress import log

DEFAULT_ARCHS = ("efficientnet_lite0", "resnet34")
# Study settings a config file may set; explicit arguments win over the file, the file over these.
DEFAULTS: dict[str, Any] = {
    "archs": list(DEFAULT_ARCHS),
    "folds": 5,
    "test": 0.2,
    "seed": 0,
    "n_boot": 1000,
    "baseline": True,  # the baseline as a candidate; each CNN run's ensemble is train's own
    # The threshold: the highest reaching this sensitivity (kept against Youden's J: decisions.md)
    "target_sensitivity": TARGET_SENSITIVITY,
    "subgroup": "acquisition_batch",
    # Nested CV (evaluation/nested.py): outer folds estimate the procedure, inner folds choose.
    "nested": False,
    "inner_folds": None,
    "train": {},  # TrainConfig fields
    "arch_overrides": {},  # e.g. {"resnet18": {"pretrained": false}}
    "prepare": {},  # extra keyword arguments of prepare_cohort
    "split": {},  # extra keyword arguments of make_split
}
# The demo: a synthetic cohort small enough for a 2-core CPU in a few minutes, trained with the
# default recipe as users get it (the frozen body's features are computed once per fold, so the
# 320 px default costs little). Both architectures have ImageNet weights offline.
DEMO = {
    "archs": ["efficientnet_lite0", "efficientnet_lite1"],
    "folds": 3,
    "test": 0.25,
    "n_boot": 500,
    "train": {},
    # The report's result is the nested estimate; for the default recipe (a head on frozen
    # features) it reuses each file's features, so it costs a few head fits more.
    "nested": True,
}
DEMO_SMOKE_TRAIN = {"batch_size": 8, "max_batches": 4}  # --smoke: TrainConfig.smoke, tiny
# A disease every stage of the report can show: the calibrated Healthy anatomy with the
# textbook Sick breast (warmer, with warmer vessels); experiments/records/demo_cohort.md.
DEMO_DIFFICULTY = "easy"
DEMO_SICK_FRACTION = 0.4  # the generator's default


def load_settings(config_file: str | os.PathLike | None, **explicit: Any) -> dict[str, Any]:
    """Defaults, overlaid by the JSON config file, overlaid by arguments that are not None."""
    settings = json.loads(json.dumps(DEFAULTS))
    if config_file:
        path = Path(config_file)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8-sig"))  # (Notepad's mark too)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the study config: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the study config must be a JSON object")
        try:
            from thermocad.study_checks import check_scalars, check_sections

            loaded = drop_threshold_method(loaded)  # a removed option: said, or dropped
            unknown = sorted(set(loaded) - set(DEFAULTS))
            if unknown:
                raise ConfigError(f"unknown keys {unknown}; valid: {sorted(DEFAULTS)}")
            check_sections(loaded)
            check_scalars(loaded)
            loaded["target_sensitivity"] = check_target(loaded.get("target_sensitivity"))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        settings.update(loaded)
    settings.update({k: v for k, v in explicit.items() if v is not None})
    return settings


def check_study(s: dict[str, Any], smoke: bool) -> None:
    """Refused before the study's folder is touched: what the split and compare would refuse
    once the cohort is prepared (threshold rule, split fractions, candidates, their configs)."""
    from thermocad.cohort.split import check_options
    from thermocad.evaluation.runs import check_candidates, untrainable
    from thermocad.study_checks import check_scalars

    check_target(s["target_sensitivity"])
    split = {"valid": 0.2, "unit": "patient", "counts": None, **s["split"]}  # make_split's
    check_options(split["valid"], s["test"], s["folds"], split["unit"], split["counts"], s["seed"])
    check_scalars(s)  # what a Python caller's settings hold (the file's were checked on reading)
    config = train_config(s, smoke) if s["archs"] else None
    check_candidates(s["archs"], config, _options(s)["overrides"])
    untrainable(s["archs"], config, _options(s)["overrides"], say=False)  # none left: refused


def train_config(settings: dict[str, Any], smoke: bool):
    """The TrainConfig for every architecture (the smoke preset under --smoke)."""
    from thermocad.training.config import TrainConfig

    fields = TrainConfig.upgrade(dict(settings["train"], seed=settings["seed"]))
    return TrainConfig.smoke(**fields) if smoke else TrainConfig(**fields)


def _options(s: dict[str, Any]) -> dict[str, Any]:
    """The settings that `compare` takes as keyword arguments."""
    keys = ("baseline", "n_boot", "subgroup", "target_sensitivity", "nested", "inner_folds",
            "seed")  # fmt: skip
    from thermocad.training.config import TrainConfig

    overrides = {name: TrainConfig.upgrade(fields) for name, fields in s["arch_overrides"].items()}
    return {**{k: s[k] for k in keys}, "overrides": overrides}  # as this version names them


def prepare_and_split(data_dir, labels_csv, out: Path, settings: dict, force: bool) -> Path:
    """Cohort preparation and the patient-grouped split; returns split.csv."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.cohort.split import make_split, write_split
    from thermocad.study_checks import check_units

    prepare_cohort(data_dir, labels_csv, out / "cohort", force=force, **settings["prepare"])
    check_units(out / "cohort" / "cohort.csv", settings, data_dir)
    split = make_split(out / "cohort" / "cohort.csv", folds=settings["folds"], test=settings["test"],
                       seed=settings["seed"], **settings["split"])  # fmt: skip
    return write_split(split, out / "split.csv", force=force)  # checks for leaks


def _first_stage(data_dir, labels_csv, out: Path, s: dict, force: bool, fresh: bool) -> None:
    """A study's prepare and split; folds the women cannot fill leave no new folder behind."""
    from thermocad.evaluation import resume as R

    log(f"step 1-2/4: prepare the cohort and split it by {s['split'].get('unit', 'patient')}")
    try:
        prepare_and_split(data_dir, labels_csv, out, s, force)
    except ThermocadError:  # nothing to clear: a folder this study had just made goes again
        if fresh:
            empty_held(out)
        raise
    R.mark_stage(out, "study", "compare")


def _checked(s: dict[str, Any], smoke: bool, data_dir, labels_csv, out_dir) -> dict[str, Any]:
    """The study's settings, refused before its folder is touched when they, the output place
    or the labels (other women's, or no data folder) are wrong."""
    from thermocad.cohort.prepare import check_labels_match
    from thermocad.io.labels import labels_file, read_labels
    from thermocad.study_checks import check_study_women, check_subgroup

    labels_file(labels_csv, "study", "study.json names it and --resume checks it is unchanged")
    check_study(s, smoke)
    check_apart(out_dir, data_dir)
    labels = read_labels(labels_csv)
    numbers = check_labels_match(data_dir, labels_csv, set(labels["patient_id"].astype(int)))
    check_study_women(labels, numbers, s["folds"], labels_csv)
    check_subgroup(s["subgroup"], labels.columns, labels_csv)
    return s


@writes_folder("out_dir")
def run_study(
    data_dir: str | os.PathLike,
    labels_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    archs: Sequence[str] | None = None,
    smoke: bool = False,
    config_file: str | os.PathLike | None = None,
    folds: int | None = None,
    test: float | None = None,
    seed: int | None = None,
    force: bool = False,
    settings: dict[str, Any] | None = None,
    nested: bool | None = None,
    note: str | None = None,
    command: str | None = None,
    resume: bool = False,
) -> Path:
    """Run the whole protocol into `out_dir`; returns the path of report.html. `note`: a
    paragraph about the data, shown under the report's title; `command`: the command line that
    ran it, shown above (the CLI's; both kept in study.json with every setting). `resume`:
    continue the interrupted study in `out_dir` (the same data, labels and settings): its
    cohort and split are kept, its comparison resumed (evaluation/resume.py)."""
    from thermocad.evaluation import resume as R
    from thermocad.evaluation.compare import compare
    from thermocad.reporting.report import write_report
    from thermocad.training.fit_resume import fingerprint

    started = time.perf_counter()
    s = settings or load_settings(config_file, archs=list(archs) if archs is not None else None,
                                  folds=folds, test=test, seed=seed, nested=nested)  # fmt: skip
    s = _checked(s if nested is None else {**s, "nested": nested}, smoke, data_dir, labels_csv,
                 out_dir)  # fmt: skip
    rec = R.record({**s, "smoke": smoke}, fingerprint(data_dir, labels_csv))
    fresh = holds_only_lock(out_dir)  # made by this call
    # Until the report is written the folder is INCOMPLETE, and an earlier study's report goes:
    # a failed or interrupted rerun leaves nothing that looks finished, nor that `report` takes.
    out, state = R.open_job(out_dir, rec, "study", force, resume)
    atomic_write_json(out / "study.json", {**s, "data_dir": str(data_dir), "labels_csv":
                                           str(labels_csv), "smoke": smoke, "note": note,
                                           "command": command})  # fmt: skip
    split_csv, kept = out / "split.csv", state.get("stage") == "compare"
    if kept:
        log(f"study: resuming {out}: its cohort and split are kept")
    else:
        _first_stage(data_dir, labels_csv, out, s, force or resume, fresh)
    log(f"step 3/4: compare {', '.join(s['archs']) or 'no CNN'} (+ baseline), test the best")
    config = train_config(s, smoke) if s["archs"] else None
    result = R.study_compare(out, kept, force or resume, lambda **again: compare(
        split_csv, s["archs"], out / "compare", config, **again, **_options(s)))  # fmt: skip
    log("step 4/4: write the report")
    report = write_report(out / "report.html", out / "cohort" / "cohort.csv", split_csv,
                          out / "compare", command=command, force=True, note=note,
                          n_boot=s["n_boot"])  # fmt: skip
    (out / INCOMPLETE).unlink()
    R.finish(out, "study")
    log(f"best on validation: {result['best_served']}; done in "
        f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    return report


@writes_folder("out_dir")
def run_demo(out_dir: str | os.PathLike, force: bool = False, n_patients: int = 96,
             seed: int = 0, smoke: bool = False, difficulty: str = DEMO_DIFFICULTY,
             command: str | None = None) -> Path:  # fmt: skip
    """Generate a synthetic cohort and run the study on it (a few minutes on a 2-core CPU).

    `difficulty`: the generator's (synth.DIFFICULTIES). The demo's is `easy`, a disease every
    stage can show; the calibrated `default` is about as faint as the real women's without
    their acquisition confounds, so on 96 women no model finds it (experiments/records/demo_cohort.md).
    """
    from thermocad.study_checks import check_demo_patients
    from thermocad.synth.cohort import generate_cohort

    train = DEMO_SMOKE_TRAIN if smoke else DEMO["train"]
    settings = load_settings(None, **{**DEMO, "train": train}, seed=seed)
    check_demo_patients(n_patients, settings, DEMO_SICK_FRACTION)  # before anything is written
    out = prepare_out_dir(out_dir, force, made_by="demo",
                          forcing="to replace an earlier demo's cohort and study")  # fmt: skip
    log(f"generating a synthetic cohort of {n_patients} patients ({difficulty} difficulty)")
    labels = generate_cohort(out / "data", n_patients=n_patients, seed=seed, height=120, width=160,
                             difficulty=difficulty, sick_fraction=DEMO_SICK_FRACTION, force=True)  # fmt: skip
    note = (
        f"Synthetic data: {n_patients} synthetic patients drawn by thermocad's generator at its "
        f"'{difficulty}' difficulty (docs/synthetic.md). These figures show the pipeline "
        "working; they are not the real task's (docs/results.md)."
    )
    return run_study(out / "data", labels, out / "study", smoke=smoke, force=True,
                     settings=settings, note=note, command=command)  # fmt: skip


def run_compare(
    split_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    archs: Sequence[str] | None = None,
    smoke: bool = False,
    config_file: str | os.PathLike | None = None,
    force: bool = False,
    nested: bool | None = None,
    resume: bool = False,
) -> dict:
    """`thermocad compare`: the comparison alone, with the study's settings and config file;
    `resume` continues an interrupted one in `out_dir`."""
    from thermocad.evaluation.compare import compare
    from thermocad.study_checks import check_compare_out, split_keys

    check_compare_out(out_dir)
    s = load_settings(config_file, archs=list(archs) if archs is not None else None, nested=nested)
    if config_file and (ignored := split_keys(config_file)):
        log(f"note: {config_file}: {', '.join(ignored)} shape a study's split; compare takes "
            f"the folds of {split_csv} as they are")  # fmt: skip
    config = train_config(s, smoke) if s["archs"] else None
    return compare(split_csv, s["archs"], out_dir, config, force=force, resume=resume,
                   **_options(s))  # fmt: skip


def report_study(study_dir: str | os.PathLike, out_html: str | os.PathLike | None = None,
                 force: bool = False) -> Path:  # fmt: skip
    """(Re)write the HTML report of an existing study directory."""
    from thermocad.reporting import study_files
    from thermocad.reporting.report import write_report

    inputs = study_files.study_inputs(study_dir)  # refusing a folder that is not a finished study
    study_json, study = Path(study_dir) / "study.json", {}
    if study_json.exists():
        try:
            study = dict(json.loads(study_json.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{study_json}: cannot read the study's settings: {exc}") from exc
    return write_report(study_files.report_path(study_dir, out_html), **inputs, force=force,
                        note=study.get("note"), command=study.get("command"),
                        n_boot=study.get("n_boot"))  # fmt: skip
