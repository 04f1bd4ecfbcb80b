"""`thermocad study --resume` and `thermocad compare --resume`: which interrupted job may go on.

While a study or a comparison is unfinished its folder holds a record (STUDY_RESUME or
COMPARE_RESUME: the options that decide the result, the thermocad version, a fingerprint of
its data and, for a study, the stage reached), written when it starts and removed at its end.
`resumable` refuses anything but the same job, naming the folder and what differs. What a
resumed job reuses is its caller's: a study's cohort and split, every finished fold run
(`runs.run_arch(resume=True)`; an interrupted fold continues from its checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from thermocad.training.fit_resume import read_record
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import (
    COMPARE_RESUME,
    INCOMPLETE,
    STUDY_RESUME,
    atomic_write_json,
    atomic_write_text,
    maker,
    prepare_out_dir,
)
from thermocad.utils.values import clean_json

RECORD = {"study": STUDY_RESUME, "compare": COMPARE_RESUME}
UNFINISHED_STUDY = "a study being written by thermocad study; not finished\n"


def _as_json(obj: Any) -> Any:
    """`obj` as its record holds it (tuples as lists, NaN as null), so that a record read back
    compares equal to one made again from the same options."""
    return json.loads(json.dumps(clean_json(obj), default=str))


def record(options: dict, data: str | dict) -> dict:
    """What a resumed job must find unchanged: its options, the version, its data's print."""
    from thermocad.training.fit_resume import job_version

    return {"options": _as_json(options), "data": data, "version": job_version()}


def split_fingerprint(split_csv: str | os.PathLike, stamps: bool = False) -> str:
    """A comparison's data: the split file's bytes and each of its files' bytes (an edit with its
    modification time put back is seen; a copy that kept the bytes is no change). `stamps`:
    each file's size and modification time instead, as records before 2026-12-07 hold them."""
    import pandas as pd

    from thermocad.io.digest import file_digest, file_stamp

    digest = hashlib.sha256(Path(split_csv).read_bytes())
    for path in sorted(set(pd.read_csv(split_csv, usecols=["path"])["path"].astype(str))):
        mark = file_stamp(path) if stamps else file_digest(path)
        text = "missing" if mark is None else "\0".join(map(str, mark)) if stamps else mark
        digest.update(f"{path}\0{text}\n".encode())
    return digest.hexdigest()


def compare_options(archs, config: Any, **options: Any) -> dict:
    """The options that decide a comparison's result (a custom trainer aside)."""
    config = config.to_dict() if hasattr(config, "to_dict") else config
    return {"archs": list(archs), "config": config, **options}


def _finished(out: Path, command: str) -> bool:
    if command == "study":
        return (out / "report.html").is_file() and not (out / INCOMPLETE).exists()
    return (out / "best.json").is_file()


def resumable(out_dir: str | os.PathLike, rec: dict, command: str, legacy=None) -> dict:
    """The record of the interrupted `command` ("study" or "compare") in `out_dir` that `rec`
    (options, data, version) may continue; anything else is refused with what to do instead.
    `legacy`: a callable giving the data's print as an older record holds it, also accepted."""
    out, name = Path(out_dir), RECORD[command]
    job = "study" if command == "study" else "comparison"
    if not out.is_dir() or not any(not p.name.startswith(".") for p in out.iterdir()):
        raise ConfigError(f"{out}: no such folder (or an empty one), so nothing to resume: "
                          f"run {command} without --resume")  # fmt: skip
    if not (out / name).is_file():
        why = (f"it holds a finished {job}" if _finished(out, command)
               else f"no record of an interrupted {job}, {name}")  # fmt: skip
        raise ConfigError(f"{out}: nothing to resume ({why}); --force starts it again")
    state = read_record(out, name, job, rec)
    if state.get("data") != rec["data"] and not (legacy and state.get("data") == legacy()):
        from thermocad.training.fit_resume import LEGACY, data_change, incomparable

        what = ("the data folder or the labels" if command == "study"
                else "the split or its files")  # fmt: skip
        change = data_change(state.get("data"), rec["data"]) if command == "study" else ""
        if change == LEGACY:
            raise incomparable(out, job)
        raise ConfigError(f"{out}: {what} changed since the interrupted {job} began ("
                          f"{change or 'files added, removed or modified'}): --force starts over")  # fmt: skip
    return state


def open_job(out_dir, rec: dict, command: str, force: bool, resume: bool,
             legacy=None) -> tuple[Path, dict]:  # fmt: skip
    """The job's folder (vetted: empty, --force, or the interrupted job `rec` may continue) with
    its record written (in this version's terms); and the record it continues ({} for a new
    job). `legacy`: as resumable's."""
    if force and resume:
        raise ConfigError(
            f"--force starts a {command} again, --resume continues one: give one of them"
        )
    other = maker(Path(out_dir)) if Path(out_dir).is_dir() else None
    if other and other != command:  # e.g. a comparison written over (or resumed in) a study's
        raise ConfigError(f"{out_dir}: not a {command}'s folder (written by thermocad {other}); "
                          f"choose another --out for this {command}")  # fmt: skip
    if resume:
        state, out = resumable(out_dir, rec, command, legacy), Path(out_dir)
    else:
        state, out = {}, prepare_out_dir(out_dir, force, made_by=command)
    if command == "study":  # until the report is written; an earlier study's report goes
        atomic_write_text(out / INCOMPLETE, UNFINISHED_STUDY)
        (out / "report.html").unlink(missing_ok=True)
    stage = {"stage": state.get("stage", "prepare")} if command == "study" else {}
    atomic_write_json(out / RECORD[command], {**rec, **stage})
    return out, state


def mark_stage(out: Path, command: str, stage: str) -> None:
    """Record the stage reached (a study past its split keeps its cohort and split). A study
    whose new split is written forgets an earlier comparison's summary and record there: they
    were not made on this split."""
    path = out / RECORD[command]
    if command == "study" and stage == "compare":
        for name in ("best.json", COMPARE_RESUME):
            (out / "compare" / name).unlink(missing_ok=True)
    atomic_write_json(path, {**json.loads(path.read_text(encoding="utf-8")), "stage": stage})


def finish(out: Path, command: str) -> None:
    """The job ended: nothing left to resume."""
    (out / RECORD[command]).unlink(missing_ok=True)


def study_compare(out: Path, kept: bool, force: bool, run) -> dict:
    """A study's compare step, `run(force=, resume=)` into OUT/compare. `kept`: a resumed study
    past its split, whose unfinished comparison there is resumed and a finished one kept."""
    cmp = out / "compare"
    if not kept:
        return run(force=force, resume=False)
    if not (cmp / COMPARE_RESUME).is_file() and (cmp / "best.json").is_file():
        from thermocad.utils.progress import log

        log(f"study: the comparison in {cmp} was finished before, kept")
        return json.loads((cmp / "best.json").read_text(encoding="utf-8"))
    go_on = (cmp / COMPARE_RESUME).is_file()
    return run(force=not go_on, resume=go_on)


def resumed_inside(results: dict[str, dict]) -> list[str]:
    """The fold runs of a comparison that were resumed inside a training stage (their
    model.json `resumed_inside`, said once): their weights, and possibly the model chosen,
    differ from an uninterrupted run's."""
    runs = [Path(run) for res in results.values() for run in res.get("runs") or []]
    found = [f"{run.parent.name}/{run.name}" for run in runs if _resumed(run)]
    _say(found, "this comparison")
    return found


def resumed_under(folder: Path) -> list[str]:
    """The runs anywhere under `folder` (a nested cross-validation's inner and refit runs)
    resumed inside a training stage, relative to it, said once."""
    runs = sorted(p.parent for p in Path(folder).rglob("model.json"))
    found = [run.relative_to(folder).as_posix() for run in runs if _resumed(run)]
    _say(found, "this nested estimate")
    return found


def _resumed(run: Path) -> bool:
    try:
        meta = json.loads((run / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and bool(meta.get("resumed_inside"))


def _say(found: list[str], what: str) -> None:
    if found:
        from thermocad.utils.progress import log

        log(
            f"note: {', '.join(found)} resumed inside a training stage: {what} is not the one "
            "an uninterrupted run gives (its weights differ; the model chosen may too)"
        )
