"""The files that trained a model, known by their bytes and by their frames, so that no name,
number or re-save hides them.

`train` records in model.json, under `trained_files`, two digests of every file that trained
the model or chose its threshold (SHA-256, its first 32 hex digits), each with the file's
patient number: of its bytes (`files`), and of its frame as read (`frames`: the shape and the
float32 values), which the same frame saved again keeps (another line ending, gzipped, a
.npy of it). `export` carries model.json, and so the record, inside the .onnx file.

`evaluate --data` refuses new women with a file that is one of them: copied into another
folder, renamed, renumbered or saved again, they are the training women, so --numbered-apart
does not lift it. A frame changed in its values (rounded, converted to an image) is not
recognised, so a shared patient number stays refused until --numbered-apart says they are
other women, for a model of synthetic women meeting real women too (`synthetic_note` says
so). A model.json from before 2026-12-07 has `files` only.
"""

from __future__ import annotations

from pathlib import Path

from thermocad.io.digest import WIDTH, file_digest, file_frame_digest, frame_digest
from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.progress import log

KEY = "trained_files"
DIGEST = f"sha256 of the file's bytes, first {WIDTH} hex digits"
FRAME_DIGEST = f"sha256 of the frame as read (shape, float32 values), first {WIDTH} hex digits"


def training_record(*tables) -> dict:
    """model.json's `trained_files` for the rows (path, patient_id) of `tables` (None: none)."""
    files: dict[str, str] = {}
    frames: dict[str, str] = {}
    shared: dict[tuple[str, str], str] = {}  # two women's numbers -> a file of the second
    for table in tables:
        if table is None:
            continue
        for path, pid in zip(table["path"], table["patient_id"], strict=True):
            for digest, seen in ((file_digest(path), files), (file_frame_digest(path), frames)):
                if digest is not None and seen.setdefault(digest, str(pid)) != str(pid):
                    shared.setdefault((seen[digest], str(pid)), str(path))
    if shared:  # a file copied over another woman's after prepare, which would have said so
        from thermocad.utils.progress import log

        (first, second), path = next(iter(shared.items()))
        log(f"warning: patients {first} and {second} have an identical image ({path}; "
            f"{len(shared)} such pair(s) among this run's training and validation women): one "
            "woman under two numbers, or a file copied over another? Check, then run prepare "
            "and split again")  # fmt: skip
    return {"digest": DIGEST, "files": files, "frame_digest": FRAME_DIGEST, "frames": frames}


def training_patient(path, meta: dict, array=None) -> tuple[str, str] | None:
    """(patient number, how: "bytes" or "frame") of the training woman whose file `path` is,
    byte for byte or frame for frame (`array`: its frame, when already read), else None."""
    record = meta.get(KEY) if isinstance(meta.get(KEY), dict) else {}
    files, frames = record.get("files"), record.get("frames")
    if isinstance(files, dict) and (pid := files.get(file_digest(path) or "")) is not None:
        return str(pid), "bytes"
    if not isinstance(frames, dict) or not frames:
        return None
    frame = frame_digest(array) if array is not None else file_frame_digest(path)
    pid = frames.get(frame or "")
    return (str(pid), "frame") if pid is not None else None


def same_file(how: str) -> str:
    """How a file is one of the training files, in words."""
    return "byte for byte" if how == "bytes" else "the same frame as"


def has_record(meta: dict) -> bool:
    """Whether model.json records its training files (one from before the record does not)."""
    record = meta.get(KEY)
    return isinstance(record, dict) and isinstance(record.get("files"), dict)


def check_not_training_files(meta: dict, run_dir, data_dir, labelled) -> bool:
    """Refuse when a file of `data_dir` named for a labelled woman is one that trained the
    model (training_patient); return whether the check could be made (model.json has the
    record)."""
    from thermocad.io.filenames import patient_number
    from thermocad.io.find import walk_thermal_files

    if not has_record(meta):
        return False
    labelled = set(map(int, labelled))
    named = [p for p in walk_thermal_files(data_dir, say=False)[0] if patient_number(p) in labelled]
    if copies := _copies(named, meta):
        raise ConfigError(
            f"{data_dir}: {len(copies)} file(s) are files that trained the model in {run_dir} "
            f"({_shown(copies, lambda p: Path(p).name)}): whatever their names and numbers, "
            "these are its training women, and a held-out score needs women it never saw "
            "(--numbered-apart does not change that)"
        )
    return True


def check_rows_not_training(meta: dict, rows, run_dir, split_csv) -> None:
    """`evaluate --split`'s test rows: refuse a file that is one that trained the model or chose
    its threshold (a training woman's file copied over a test woman's, or saved again), as
    `evaluate --data` does; nothing to check for a model.json without the record."""
    if not has_record(meta):
        return
    if copies := _copies(dict.fromkeys(map(str, rows["path"])), meta):
        raise ConfigError(
            f"{split_csv}: {len(copies)} test file(s) are files that trained the model in "
            f"{run_dir} ({_shown(copies, str)}): whatever their names, a held-out score needs "
            "women it never saw; give the split the model was trained with (if this is it, "
            "were its files changed since it was made?)"
        )


def check_loaded(bundle, rows, on: str, source, table) -> None:
    """What `evaluate --split` and `thermocad.evaluate` both do once the model is loaded: refuse
    a test file that is a training file (check_rows_not_training), and log the model's
    warnings (a smoke run, synthetic women) as predict says them."""
    from thermocad.models.words import log_model_warnings

    if on == "test":  # a training file copied over a test woman's: refused, whatever its name
        check_rows_not_training(bundle.meta, rows, source, table)
    log_model_warnings(bundle.meta)


def _copies(paths, meta: dict) -> list[tuple[str, tuple[str, str]]]:
    """(path, (training patient number, how)) for each of `paths` that is a training file."""
    return [(str(path), found) for path in paths if (found := training_patient(path, meta))]


def _shown(copies: list[tuple[str, tuple[str, str]]], name) -> str:
    """The first five copies, each named (`name` of its path) with its training patient."""
    shown = ", ".join(f"{name(p)} = {same_file(how)} a file of training patient {pid}"
                      for p, (pid, how) in copies[:5])  # fmt: skip
    return shown + (f" and {len(copies) - 5} more" if len(copies) > 5 else "")


def synthetic_note(meta: dict, run_dir, data_dir, shared: int | None = None) -> None:
    """Say, for a model of synthetic women only meeting women `thermocad synth` did not write
    (real women, say), when `shared` of their patient numbers are also its training women's
    (None: not known; 0: nothing to say), that a patient number they share is refused
    until --numbered-apart: only copies of its training files, or their frames saved again, are
    recognised, so whether they are other women (or its own, changed: rounded, made images)
    is the user's to say."""
    from thermocad.synth.files import TRUTH

    if shared == 0 or (meta.get("data") or {}).get("synthetic_share", 0) < 1:
        return
    if (Path(data_dir) / TRUTH).is_file():
        return
    log(f"note: {run_dir} was trained on synthetic women only and the women of {data_dir} are "
        "not thermocad synth's: if they are other women (real ones, say) numbered as its "
        "training women are, give --numbered-apart")  # fmt: skip


def check_weights_apart(weights, paths, scorer: str) -> None:
    """Refuse `--weights` of a thermocad run (its model.safetensors, model.json beside it) that
    trained on a file of `paths`, the women `scorer` (words: "the training on split.csv")
    scores: their validation or test figures would be of women the body has already seen.
    Other weights (ImageNet's, another tool's, a run from before the record) are not checked."""
    from thermocad.models.bundle import META, WEIGHTS
    from thermocad.models.meta import read_meta

    weights = Path(weights)
    if weights.name != WEIGHTS or not (weights.parent / META).is_file():
        return
    try:
        meta = read_meta(weights.parent / META)
    except ThermocadError:  # the training's own checks say what is wrong with the weights
        return
    if has_record(meta) and (copies := _copies(dict.fromkeys(map(str, paths)), meta)):
        raise ConfigError(
            f"--weights {weights}: the run that made them trained on {len(copies)} file(s) "
            f"that {scorer} scores ({_shown(copies, lambda p: Path(p).name)}): their "
            "validation and test figures would be of women the body has already seen; give "
            "weights trained on other women, or none (ImageNet's)"
        )


def scored_paths(split_csv, fold) -> list[str]:
    """The files a training on `split_csv` scores: those outside its training rows (fold k's
    validation rows, the test rows; None: the split column's; "all": the test rows)."""
    from thermocad.cohort.split import fold_rows, read_split

    df = read_split(split_csv)
    if fold is None or fold == "all":
        trained = df[df["split"] == "train"] if fold is None else df[df["split"] != "test"]
    elif "fold" not in df.columns:  # no folds: the training's own check says so
        return []
    else:
        trained = fold_rows(df, int(fold))[0]
    return df.loc[~df.index.isin(trained.index), "path"].astype(str).tolist()
