"""The files that trained a model, known by their bytes, so that no name or number hides them.

`train` records in model.json, under `trained_files`, a digest of the bytes of every file that
trained the model or chose its threshold (SHA-256, its first 32 hex digits) with the file's
patient number; `export` carries model.json, and so the record, inside the .onnx file.

`evaluate --data` refuses new women with a file that is byte for byte one of them: copied
into another folder, renamed or renumbered, they are the training women, so --numbered-apart
does not lift it. Only such copies are recognised: the same women saved again (another line
ending, gzipped, another format) are not, so a shared patient number stays refused until
--numbered-apart says they are other women, for a model of synthetic women meeting real women
too (`synthetic_note` says so).
"""

from __future__ import annotations

from pathlib import Path

from thermocad.io.digest import WIDTH, file_digest
from thermocad.utils.errors import ConfigError
from thermocad.utils.progress import log

KEY = "trained_files"
DIGEST = f"sha256 of the file's bytes, first {WIDTH} hex digits"


def training_record(*tables) -> dict:
    """model.json's `trained_files` for the rows (path, patient_id) of `tables` (None: none)."""
    files: dict[str, str] = {}
    for table in tables:
        if table is None:
            continue
        for path, pid in zip(table["path"], table["patient_id"], strict=True):
            if (digest := file_digest(path)) is not None:
                files[digest] = str(pid)
    return {"digest": DIGEST, "files": files}


def recorded(meta: dict) -> dict[str, str] | None:
    """digest -> patient number of the model's training files, or None for a model.json
    without the record."""
    record = meta.get(KEY)
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        return None
    return {str(k): str(v) for k, v in record["files"].items()}


def check_not_training_files(meta: dict, run_dir, data_dir, labelled) -> bool:
    """Refuse when a file of `data_dir` named for a labelled woman is byte for byte one that
    trained the model; return whether the check could be made (model.json has the record)."""
    from thermocad.io.filenames import patient_number
    from thermocad.io.find import walk_thermal_files

    record = recorded(meta)
    if record is None:
        return False
    labelled = set(map(int, labelled))
    named = [p for p in walk_thermal_files(data_dir, say=False)[0] if patient_number(p) in labelled]
    if copies := _copies(named, record):
        raise ConfigError(
            f"{data_dir}: {len(copies)} file(s) are byte for byte files that trained the model "
            f"in {run_dir} ({_shown(copies, lambda p: Path(p).name)}): whatever their names "
            "and numbers, these are its training women, and a held-out score needs women it "
            "never saw (--numbered-apart does not change that)"
        )
    return True


def check_rows_not_training(meta: dict, rows, run_dir, split_csv) -> None:
    """`evaluate --split`'s test rows: refuse a file that is byte for byte one that trained the
    model or chose its threshold (a training woman's file copied over a test woman's), as
    `evaluate --data` does; nothing to check for a model.json without the record."""
    record = recorded(meta)
    if not record:
        return
    if copies := _copies(dict.fromkeys(map(str, rows["path"])), record):
        raise ConfigError(
            f"{split_csv}: {len(copies)} test file(s) are byte for byte files that trained the "
            f"model in {run_dir} ({_shown(copies, str)}): whatever their names, "
            "a held-out score needs women it never saw; give the split the model was trained "
            "with (if this is it, were its files changed since it was made?)"
        )


def check_loaded(bundle, rows, on: str, source, table) -> None:
    """What `evaluate --split` and `thermocad.evaluate` both do once the model is loaded: refuse
    a test file byte for byte a training file (check_rows_not_training), and log the model's
    warnings (a smoke run, synthetic women) as predict says them."""
    from thermocad.models.words import log_model_warnings

    if on == "test":  # a training file copied over a test woman's: refused, whatever its name
        check_rows_not_training(bundle.meta, rows, source, table)
    log_model_warnings(bundle.meta)


def _copies(paths, record: dict[str, str]) -> list[tuple[str, str]]:
    """(path, training patient number) for each of `paths` whose bytes are a training file's."""
    return [
        (str(path), record[digest]) for path in paths if (digest := file_digest(path)) in record
    ]


def _shown(copies: list[tuple[str, str]], name) -> str:
    """The first five copies, each named (`name` of its path) with its training patient."""
    shown = ", ".join(f"{name(p)} = a file of training patient {pid}" for p, pid in copies[:5])
    return shown + (f" and {len(copies) - 5} more" if len(copies) > 5 else "")


def synthetic_note(meta: dict, run_dir, data_dir, shared: int | None = None) -> None:
    """Say, for a model of synthetic women only meeting women `thermocad synth` did not write
    (real women, say), when `shared` of their patient numbers are also its training women's
    (None: not known; 0: nothing to say), that a patient number they share is refused
    until --numbered-apart: only byte-for-byte copies of its training files are recognised, so
    whether they are other women (or its own, saved again: another line ending, gzipped, another
    format) is the user's to say."""
    from thermocad.synth.files import TRUTH

    if shared == 0 or (meta.get("data") or {}).get("synthetic_share", 0) < 1:
        return
    if (Path(data_dir) / TRUTH).is_file():
        return
    log(f"note: {run_dir} was trained on synthetic women only and the women of {data_dir} are "
        "not thermocad synth's: if they are other women (real ones, say) numbered as its "
        "training women are, give --numbered-apart")  # fmt: skip
