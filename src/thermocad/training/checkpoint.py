"""Checkpoints for --resume: weights (safetensors) and progress (JSON) after every epoch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from thermocad.models.bundle import FINISHED_TRAINING, META, WEIGHTS, file_sha256
from thermocad.training.distributed import is_main_process
from thermocad.utils.errors import ConfigError, OutputExistsError
from thermocad.utils.files import (
    INCOMPLETE,
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    incomplete_reason,
    prepare_out_dir,
)
from thermocad.utils.progress import log
from thermocad.utils.trees import remove_tree

CHECKPOINT = "checkpoint"
# What a finished run leaves beside its model; a run started over it removes them all, so that
# no earlier run's curve, predictions or card is read as this one's (some are not rewritten:
# a final model has no valid_predictions.csv, a resumed or distributed one no lr_find.png).
RUN_FILES = ("valid_predictions.csv", "trained_on.csv", "history.csv", "history.png",
             "lr_find.png", "schedule.png", "config.json", "README.md", "model.onnx")  # fmt: skip
# Options a resumed run may change: both act only after the last training stage (validation
# TTA and the baseline fitted beside the CNN), so model.json records what produced its outputs.
# Every other option shaped the epochs already run (data, model, schedule, seed) or their
# starting point (weights, lr_find), and a change would be recorded but never applied.
SAFE_ON_RESUME = ("tta", "ensemble")
WEIGHT_FILES = ("weights-0.safetensors", "weights-1.safetensors")  # written in turn (save)


class Checkpoint:
    """Weights (safetensors) and progress (JSON) after every epoch, for --resume."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir / CHECKPOINT
        self.state: dict[str, Any] = {"done": {}, "rows": [], "lrs": {}}

    def read_state(self) -> None:
        """The progress of the interrupted run (before any model is built)."""
        state_file = self.dir / "state.json"
        if not state_file.is_file():
            raise ConfigError(f"{self.dir}: no checkpoint to resume from")
        try:
            state = json.loads(state_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{state_file}: unreadable checkpoint ({exc})") from exc
        kinds = {"done": dict, "rows": list, "lrs": dict}
        if not isinstance(state, dict) or not all(isinstance(state.get(k), t) for k, t in kinds.items()):  # fmt: skip
            raise ConfigError(f"{state_file}: not a checkpoint's progress (an object with done, "
                              "rows and lrs); the run cannot be resumed (train again without "
                              "--resume, with --force)")  # fmt: skip
        self.state = state

    def saved_weights(self) -> bool:
        """Whether the interrupted run saved weights (the progress names a file, or a stage or
        lr_find finished): then they must be loaded, never a fresh network trained on."""
        return bool("weights" in self.state or self.state.get("done") or "lr" in self.state)

    def load_weights(self, model: torch.nn.Module) -> None:
        from safetensors.torch import load_file

        # The file the progress names (a checkpoint before two files were kept: the one file).
        weights = self.dir / self.state.get("weights", "weights.safetensors")
        if not weights.is_file():  # its finished stages would be skipped on a random network
            raise ConfigError(f"{weights}: the checkpoint's weights are missing; the run cannot "
                              "be resumed (train again without --resume, with --force)")  # fmt: skip
        expected = self.state.get("weights_sha256")
        if expected and file_sha256(weights) != expected:  # parses, but not the bytes saved
            raise ConfigError(f"{weights}: the checkpoint's weights changed since they were "
                              "saved (damaged); the run cannot be resumed (train again "
                              "without --resume, with --force)")  # fmt: skip
        try:
            tensors = load_file(str(weights))
        except Exception as exc:  # noqa: BLE001 - safetensors' own error type, OSError...
            raise ConfigError(f"{weights}: unreadable checkpoint weights ({exc}); the run cannot "
                              "be resumed (train again without --resume, with --force)") from exc  # fmt: skip
        try:
            model.load_state_dict(tensors)
        except RuntimeError as exc:
            raise ConfigError(f"{weights}: does not fit the model being resumed") from exc

    def save(self, model: torch.nn.Module) -> None:
        if not is_main_process():
            return
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        # Two files in turn: the new weights go to the one the progress does not name, then the
        # progress names it. Killed between the two writes, the progress still names the
        # weights it belongs to (one file rewritten in place paired new weights with old
        # progress, and an epoch was trained twice).
        name = WEIGHT_FILES[1] if self.state.get("weights") == WEIGHT_FILES[0] else WEIGHT_FILES[0]
        with atomic_path(self.dir / name) as tmp:
            save_file(state, str(tmp))
            digest = file_sha256(tmp)  # ~10 ms for lite0's weights
        self.state.update(weights=name, weights_sha256=digest)
        atomic_write_json(self.dir / "state.json", self.state)


def open_run(out_dir: Path, force: bool, resume: bool) -> None:
    """Check that training may write into `out_dir`: a new run folder (refusing to overwrite
    unless force), or a checkpoint to resume. Nothing of an earlier run is touched here."""
    if resume:
        if not (out_dir / CHECKPOINT / "state.json").is_file():
            why = f"no {CHECKPOINT}/state.json"
            if (out_dir / INCOMPLETE).is_file():
                why += "; it stopped before its first checkpoint: --force starts over"
            elif (out_dir / META).is_file() and (out_dir / WEIGHTS).is_file():  # as fit says it
                why = "it holds a finished model; --force trains again"
            raise ConfigError(f"{out_dir}: nothing to resume ({why})")
    elif is_main_process():
        if not force and finished_model(out_dir):
            raise OutputExistsError(f"{out_dir} holds a finished model whose run stopped while "
                                    "removing its checkpoint: --resume (with the same options) "
                                    "marks it complete, --force trains again")  # fmt: skip
        if not force and (out_dir / CHECKPOINT / "state.json").is_file():
            raise OutputExistsError(f"{out_dir} holds an interrupted run: --resume continues it, "
                                    "--force starts over")  # fmt: skip
        if not force and (out_dir / INCOMPLETE).is_file():
            raise OutputExistsError(f"{out_dir} holds a run interrupted before its first "
                                    "checkpoint (nothing to resume): --force starts over")  # fmt: skip
        prepare_out_dir(out_dir, force=force, made_by="train")


def finished_model(out_dir: Path) -> bool:
    """Whether a run stopped after its model was written, while removing its checkpoint: its
    INCOMPLETE mark says so (write_outputs) and the model's two files are there."""
    # (its first line: a stop adds lines after it, utils/stops.py)
    return (incomplete_reason(out_dir) == FINISHED_TRAINING.strip()
            and (out_dir / META).is_file() and (out_dir / WEIGHTS).is_file())  # fmt: skip


def complete_finished(out_dir: Path, options: dict[str, Any], split_csv: Path,
                      threshold: float | None) -> Path | None:  # fmt: skip
    """`--resume` on a finished_model (else None): with the options, split and threshold it
    was trained with (model.json's), what its stop left (checkpoint, mark) goes and the folder
    is complete; nothing trains."""
    if not finished_model(out_dir):
        return None
    meta = json.loads((out_dir / META).read_text(encoding="utf-8"))
    saved = {**meta.get("config", {}), "fold": meta.get("fold")}
    if "split_print" in meta:  # recorded since 2026-12-05: the women and their roles
        saved["split"] = meta["split_print"]
    split = split_fingerprint(split_csv, options["fold"], saved.get("split"))
    # Its outputs are written: an option SAFE_ON_RESUME would otherwise change is refused too.
    check_resume(saved, {**options, "split": split}, out_dir, safe=())
    given = meta.get("threshold") if meta.get("threshold_method") == "given" else None
    if (given is None) != (threshold is None) or (given is not None and abs(given - threshold) > 1e-12):  # fmt: skip
        raise ConfigError(f"{out_dir}: --resume with another threshold than the finished "
                          f"model's ({given} -> {threshold}; None: chosen on its validation "
                          "women); give the same, or start over with --force")  # fmt: skip
    log(f"{out_dir}: its model was written before the run stopped (while removing its "
        "checkpoint); marked complete, nothing trained")  # fmt: skip
    if is_main_process():
        remove_tree(out_dir / CHECKPOINT)
        (out_dir / INCOMPLETE).unlink(missing_ok=True)
    return out_dir


def start_run(out_dir: Path, resume: bool) -> None:
    """Mark the folder INCOMPLETE until write_outputs() finishes; a run started over an old one
    first removes the old model and its files (RUN_FILES): a killed run never leaves a model
    that predict would take for its result. Called once the inputs have been checked, so a
    mistyped option never costs the earlier model."""
    if not is_main_process():
        return
    atomic_write_text(out_dir / INCOMPLETE, "training started; this run is not finished\n")
    if not resume:
        for name in (WEIGHTS, META, *RUN_FILES):
            (out_dir / name).unlink(missing_ok=True)
        for evaluation in out_dir.glob("eval_*"):  # `evaluate`'s of the earlier model
            remove_tree(evaluation)
        remove_tree(out_dir / CHECKPOINT)


def split_fingerprint(split_csv: Path, fold: int | str | None, saved: str | None = None) -> str:
    """A digest of the split's women and roles (file, patient, label, split, fold) and of each
    file's bytes, so that a run resumed on another split (whose validation women the run
    trained on) or on files changed since is refused. `saved`: the interrupted run's; one from
    an older version is matched as that version made it (before 2026-12-05 without the files,
    until 2026-12-07 by each file's size and modification time)."""
    print_ = _split_print(split_csv, fold)
    if saved is None or saved == print_:
        return print_
    for files, what in (("stamp", "by their sizes and times"), (None, "not at all")):
        if saved == _split_print(split_csv, fold, files):
            log(f"note: the checkpoint is an older version's: its files were checked {what}")
            return saved
    return print_


def _split_print(split_csv: Path, fold: int | str | None, files: str | None = "digest") -> str:
    """`files`: each file counted by its bytes ("digest"), its size and modification time
    ("stamp") or not at all (None)."""
    import hashlib

    from thermocad.utils.tables import read_table

    needed = ("path", "patient_id", "label", "split")  # read_split's: named before anything runs
    table = read_table(split_csv, "split file", "thermocad split", needed, dtype=str,
                       keep_default_na=False)  # fmt: skip
    columns = [c for c in ("path", "patient_id", "label", "split", "fold") if c in table.columns]
    table = table[columns].sort_values(columns)
    if files:
        table["file"] = [_mark(Path(p), files) for p in table["path"]]
    rows = table.to_csv(index=False)
    return hashlib.sha256(f"{fold}|{rows}".encode()).hexdigest()[:16]


def _mark(path: Path, files: str) -> str:
    """The file's digest or 'size:mtime_ns', or 'missing'."""
    from thermocad.io.digest import file_digest, file_stamp

    mark = file_digest(path) if files == "digest" else file_stamp(path)
    if mark is None:
        return "missing"
    return mark if files == "digest" else f"{mark[0]}:{mark[1]}"


def check_resume(saved: dict[str, Any] | None, config: dict[str, Any], out_dir: Path,
                 safe: tuple[str, ...] = SAFE_ON_RESUME) -> None:  # fmt: skip
    """Refuse to resume with options other than the interrupted run's (those in `safe` aside)."""
    if saved is None:  # a checkpoint from before configs were stored: nothing to compare
        log(f"{out_dir}: the checkpoint does not record its options; resuming unchecked")
        return
    from thermocad.training.config import TrainConfig

    # As this version names them (a removed option that mattered is refused by from_dict).
    data_keys = ("fold", "split")  # what the run trains on, beside how
    kept = {k: saved.get(k) for k in data_keys}
    if "split" not in saved:  # a checkpoint from before splits were recorded: not compared
        kept["split"] = config.get("split")
    saved = {**TrainConfig.from_dict({k: v for k, v in saved.items() if k not in data_keys}).to_dict(),
             **kept}  # fmt: skip
    changed = [
        "the split (its women, their roles, or their files changed since)"
        if k == "split"
        else f"{k} ({saved.get(k)!r} -> {config.get(k)!r})"
        for k in sorted(set(saved) | set(config))
        if k not in safe and saved.get(k) != config.get(k)
    ]
    if changed:
        raise ConfigError(
            f"{out_dir}: --resume with other options than the interrupted run: "
            f"{', '.join(changed)}; give the same options, or start over with --force"
        )


def check_same_preprocessing(made: str | None, out_dir: Path) -> None:
    """Refuse to resume a run begun under other preprocessing (PREPROCESS_VERSION; `made`: the
    checkpoint's, None before 2026-12-07): its finished stages saw other inputs than the rest
    would, and its model.json would name this version's alone (an upgrade review)."""
    from thermocad.preprocess import PREPROCESS_VERSION

    if made == PREPROCESS_VERSION:
        return
    was = (f"thermocad's preprocessing of {made}" if made else "a thermocad whose checkpoints "
           "did not record their preprocessing (before 2026-12-07)")  # fmt: skip
    saw = "saw" if made else "may have seen"
    raise ConfigError(f"{out_dir}: --resume of a run begun with {was}, where this version's "
                      f"preprocessing is of {PREPROCESS_VERSION}: its finished stages {saw} "
                      "other inputs than the rest would; start over with --force")  # fmt: skip
