"""`thermocad fit --resume`: which interrupted fit may be continued, with the same options and data.

While a fit is unfinished its folder holds FIT_RESUME (options, thermocad version, a
fingerprint of the data and the stage reached); `resumable` refuses anything else by name.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from thermocad.utils.errors import ConfigError
from thermocad.utils.files import FIT_RESUME


def fingerprint(data_dir: str | os.PathLike, labels_csv: str | os.PathLike) -> dict:
    """What a resumed fit or study must find unchanged: the labels' bytes and each thermal
    file's name and bytes, those a data walk reads (no paths are stored: the user names them
    again). By the bytes, not the times: an edit with its time put back is seen, a file saved
    again unchanged is not a change (the digests are cached: `fit` records the same files'
    digests for its models). Hidden files and others no walk reads (a Finder's .DS_Store) do not
    count, and `data_change` names the file that differs (a review: a .DS_Store had blocked a
    resume, and the refusal named no file)."""
    from thermocad.io.digest import file_digest
    from thermocad.io.find import walk_thermal_files

    root = Path(data_dir)  # the files the data's own walk reads (io.find), quietly
    found, _ = walk_thermal_files(root, say=False)
    files = {p.relative_to(root).as_posix(): file_digest(p) for p in sorted(found)}
    return {"labels": hashlib.sha256(Path(labels_csv).read_bytes()).hexdigest(), "files": files}


# What data_change says of a record an earlier thermocad wrote (one digest): no comparison.
LEGACY = "recorded by an earlier thermocad, which this one cannot compare"


def data_change(saved, now: dict) -> str:
    """What differs between two fingerprints, in words: the labels, or the first file added,
    removed or modified ('' when nothing; a record before 2026-12-07 holds one digest alone)."""
    if saved == now:
        return ""
    if not isinstance(saved, dict) or not isinstance(saved.get("files"), dict):
        return LEGACY
    if saved.get("labels") != now["labels"]:
        return "the labels file was modified"
    old, new = saved["files"], now["files"]
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            how = "added" if name not in old else "removed" if name not in new else "modified"
            more = sum(old.get(n) != new.get(n) for n in set(old) | set(new)) - 1
            return f"{name} {how}" + (f", and {more} more file(s) changed" if more else "")
    return "files added, removed or modified"


def incomparable(out: Path, job: str) -> ConfigError:
    """The refusal to resume a `job` whose record an earlier thermocad wrote (data_change's
    LEGACY): nothing can be put back to match a record no longer read."""
    return ConfigError(f"{out}: the interrupted {job}'s record of its data was written by an "
                       "earlier thermocad, which this one cannot compare: --force starts over")  # fmt: skip


def check_unchanged(data: dict, data_dir, labels_csv) -> None:
    """Warn when the data changed while fit ran (a review copied one woman's file over
    another's mid-fit: the folds had read one, the final model the other, without a word)."""
    from thermocad.utils.progress import log

    if change := data_change(data, fingerprint(data_dir, labels_csv)):
        log(f"warning: the data changed while fit ran ({change}): its folds and final model may "
            "have read different files; fit again with --force")  # fmt: skip


def job_version() -> str:
    """The version a resumable job's record holds: thermocad's and its preprocessing's, so that
    a job begun before an upgrade that changed what models see is not continued with folds of
    both (every thermocad so far is 0.1.0; records before 2026-12-07 hold that alone)."""
    from thermocad import __version__
    from thermocad.preprocess import PREPROCESS_VERSION

    return f"{__version__}, preprocessing {PREPROCESS_VERSION}"


def resumable(out_dir: str | os.PathLike, record: dict) -> dict:
    """The interrupted fit in `out_dir` that `record` (options, data) may continue: its FIT_RESUME
    state; anything else is refused with what to do instead."""
    from thermocad.utils.files import INCOMPLETE, maker

    out = Path(out_dir)
    if not out.is_dir() or not any(not p.name.startswith(".") for p in out.iterdir()):
        raise ConfigError(f"{out}: no such folder (or an empty one), so nothing to resume: fit "
                          "without --resume")  # fmt: skip
    if not (out / INCOMPLETE).is_file() and not (out / FIT_RESUME).is_file():
        finished = (out / "model.json").is_file()
        raise ConfigError(f"{out}: nothing to resume ("
                          + ("it holds a finished model" if finished else "no interrupted fit")
                          + "); --force fits again")  # fmt: skip
    if (made_by := maker(out)) != "fit":
        raise ConfigError(f"{out}: not a fit's folder ({f'written by thermocad {made_by}' if made_by else 'not written by thermocad'}); "
                          "`thermocad train --resume` continues a training run")  # fmt: skip
    state = read_record(out, FIT_RESUME, "fit", record, _smoke_hint)
    if (change := data_change(state.get("data"), record["data"])) == LEGACY:
        raise incomparable(out, "fit")
    if change:
        raise ConfigError(f"{out}: the data folder or the labels changed since the interrupted "
                          f"fit began ({change}): undo that change to resume, or --force starts "
                          "over")  # fmt: skip
    return state


def _smoke_hint(saved: dict, given: dict) -> str:
    """' (it ran with --smoke)' when the options differ by a forgotten --smoke, else ''."""
    if bool(saved.get("max_batches")) == bool(given.get("max_batches")):
        return ""
    return " (it ran " + ("with" if saved.get("max_batches") else "without") + " --smoke)"


def comparable(options: dict) -> dict:
    """A resumable job's recorded options as this version reads them, so that a record
    written before an option was removed compares equal where the behaviour is the same: a
    removed training option at today's value (training.config.REMOVED) and the removed
    threshold rule at "sensitivity" dropped, the default target (None) written out; nested
    dicts (a training config, per-architecture overrides) likewise."""
    from thermocad.evaluation.thresholds import TARGET_SENSITIVITY
    from thermocad.training.config import REMOVED

    out = {}
    for key, value in options.items():
        if (key in REMOVED and value == REMOVED[key]) or (key, value) == ("threshold_method", "sensitivity"):  # fmt: skip
            continue
        if key == "target_sensitivity" and value is None:
            value = TARGET_SENSITIVITY
        out[key] = comparable(value) if isinstance(value, dict) else value
    return out


def read_record(out: Path, name: str, job: str, given: dict, hint=None) -> dict:
    """The record `name` an interrupted `job` left in `out`, if `given` (options, version) may
    continue it; ConfigError naming what differs otherwise. `hint(saved, given)`: words after
    the job's name when options differ."""
    try:
        state = json.loads((out / name).read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not isinstance(state.get("options"), dict):
            raise ValueError("not a record of options")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise ConfigError(f"{out}: the interrupted {job} left no readable {name} ({exc}); "
                          "--force starts it again") from exc  # fmt: skip
    if state.get("version") != given["version"]:
        raise ConfigError(f"{out}: the interrupted {job} ran thermocad {state.get('version')}, "
                          f"this is {given['version']}: its folds would mix two versions; --force "
                          "starts over")  # fmt: skip
    saved, wanted = comparable(state["options"]), comparable(given["options"])
    if changed := [f"{k} ({saved.get(k)!r} -> {wanted.get(k)!r})" for k in sorted(set(saved) | set(wanted))
                   if saved.get(k) != wanted.get(k)]:  # fmt: skip
        said = hint(saved, wanted) if hint else ""
        raise ConfigError(f"{out}: --resume with other options than the interrupted {job}{said}: "
                          f"{', '.join(changed)}; give the same options, or start over with --force")  # fmt: skip
    return state
