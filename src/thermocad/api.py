"""The public API (`thermocad.prepare`, `split`, `train`, ...): thin adapters over the library.

Each function takes a DataFrame or a path where it reads a table, and returns tables as
DataFrames, a trained model as its run directory (`load_model` loads it), metrics as a dict;
it writes files only where it says so (and the thermal files' parse cache:
THERMOCAD_CACHE_DIR, docs/reliability.md), and leaves the caller's random state as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thermocad.utils.errors import ConfigError, ThermalFormatError, ThermocadError
from thermocad.utils.random_state import keeps_random_state

if TYPE_CHECKING:
    import pandas as pd

    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle
    from thermocad.training.config import TrainConfig


@keeps_random_state  # (importing rich, a first call draws from Python's random)
def prepare(
    data_dir: str | os.PathLike,
    labels: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike | None = None,
    force: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """The cohort table: one row per thermal file in `data_dir`, excluded ones with their reason.

    With `out_dir`, also writes out_dir/cohort.csv (as `thermocad prepare`; an existing one
    only with `force=True`). `options` (keywords, as prepare's flags):
      sharpness_threshold=0.5  images less sharp than this are excluded as blurred (0: none)
      workers=None             processes reading the files (None: every core)
      allow_mixed_shapes=False keep images whose frame size is not the cohort's most common
    """
    from thermocad.cohort.prepare import cohort_table, prepare_cohort
    from thermocad.utils.values import check_flags, check_path

    check_path("data_dir", data_dir)
    check_path("labels", labels, "table")
    check_path("out_dir", out_dir, "none")
    check_flags(force=force, allow_mixed_shapes=options.get("allow_mixed_shapes", False))
    if out_dir is None:
        return cohort_table(data_dir, labels, **options)
    summary = prepare_cohort(data_dir, labels, out_dir, force=force, **options)
    table = _read(summary.cohort_csv)  # a text column left empty reads back as floats: as text
    empty = [c for c in ("acquired", "excluded_reason") if c in table and table[c].isna().all()]
    return table.astype(dict.fromkeys(empty, "str"))


def split(cohort: str | os.PathLike | pd.DataFrame, **options: Any) -> pd.DataFrame:
    """The kept cohort rows with a `split` (and, with folds=K, a `fold`) column, by patient.

    `options` (keywords, as split's flags):
      valid=0.2, test=0.2  fractions of each class's women (each once) in valid and test
      folds=None           K: patient-grouped folds over the non-test rows (fold 0 validates)
      seed=0               the draw
      unit="patient"       "image": the 2019 study's image-level split (women on two sides)
      balance=False        subsample the larger class to the smaller's size
      counts=None          (train, valid, test) images per class instead of fractions
    A table already split is split afresh (its split and fold columns made again).
    """
    from thermocad.cohort.split import make_split
    from thermocad.utils.values import check_flags, check_path

    check_path("cohort", cohort, "table")
    check_flags(balance=options.get("balance", False))
    return make_split(cohort, **options)


@keeps_random_state
def train(
    split_table: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    **options: Any,
) -> Path:
    """Train per `config` (default `TrainConfig()`; a dict of its fields also does); returns
    the run directory `out_dir`.

    A split given as a DataFrame is saved in the run directory as split.csv. `options`:
      fold=None       k: validate on fold k; "all": train on every non-test patient (a final
                      model; `threshold` required); None: the split column's train/valid
      force=False     replace an earlier run in `out_dir`
      resume=False    continue an interrupted run from its checkpoint
      threshold=None  the decision threshold to store instead of choosing one on validation
    """

    from thermocad.utils.extras import require_training

    require_training()  # before training.run imports them
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train as run_train
    from thermocad.utils.files import atomic_write_csv
    from thermocad.utils.values import check_flags, check_path

    check_path("split_table", split_table, "table")
    check_path("out_dir", out_dir)
    if unknown := sorted(set(options) - {"fold", "force", "resume", "threshold"}):
        raise ConfigError(f"unknown options {unknown} for train(); it takes fold, force, resume "
                          "and threshold (training options go in `config`)")  # fmt: skip
    check_flags(force=options.get("force", False), resume=options.get("resume", False))
    if options.get("force") and options.get("resume"):
        raise ConfigError("force starts a run again, resume continues one: give one of them")
    if isinstance(config, dict):  # partial, or a run's config.json as json.load reads it
        config = TrainConfig.from_dict(config)  # a misspelt option named with the valid ones
    elif config is not None and not isinstance(config, TrainConfig):
        raise ConfigError(f"config: {config!r} is not a TrainConfig, a dict of its fields or None "
                          "(TrainConfig.smoke(), TrainConfig.study(): the presets)")  # fmt: skip

    if not isinstance(split_table, str | os.PathLike):
        with tempfile.TemporaryDirectory() as tmp:
            csv = atomic_write_csv(Path(tmp) / "split.csv", split_table)
            try:
                run = run_train(csv, out_dir, config, **options)
            except ThermocadError as exc:  # named as given, not as the passing file gone now
                said = str(exc).replace(str(csv), "the split table")
                if said == str(exc):
                    raise
                try:
                    renamed = type(exc)(said)  # the same kind of error
                except TypeError:  # one whose constructor takes other arguments
                    renamed = ConfigError(said)
                raise renamed from exc
        atomic_write_csv(run / "split.csv", split_table)
        return run
    return run_train(split_table, out_dir, config, **options)


@keeps_random_state
def load_model(model: str | os.PathLike, device: str = "auto") -> ModelBundle | OnnxModel:
    """The trained model of a run directory (model.safetensors + model.json) or of an exported
    .onnx file, as `thermocad predict` and `evaluate` load it; `device`: auto, cpu, cuda[:N]."""
    from thermocad.inference.loading import load_model as load
    from thermocad.utils.values import check_path

    check_path("model", model)
    return load(model, device)


@keeps_random_state
def evaluate(
    model: str | os.PathLike | ModelBundle | OnnxModel,
    split_table: str | os.PathLike | pd.DataFrame,
    on: str = "test",
    tta: bool | None = None,
    subgroup: str | None = "acquisition_batch",
    n_boot: int = 1000,
    ledger: str | os.PathLike | None = None,
) -> dict:
    """Metrics of the model on the `on` rows at its stored threshold, with intervals.

    `on`: the `split` value of the rows to score ("test", "valid", "train"); `tta`: None the
    model's own test-time augmentation (as validated), False none, True its copies; `subgroup`:
    the column to break the metrics down by; `n_boot`: patient-bootstrap resamples for the
    intervals (0: none).

    The dict has "image" and "patient" levels (as `thermocad evaluate`'s metrics.json) and
    "predictions", the per-image DataFrame. No plot is written (`thermocad evaluate` writes
    them). As on the command line, rows the model's record says it trained or tuned on are
    refused (evaluation.lockbox.check_split_rows says which, and the image-level exception),
    as are test files byte for byte its training files; a test split given as a file has this
    scoring recorded in its ledger (beside the file, or the file `ledger`), one given as a
    DataFrame in `ledger` or dataframe_splits.test_openings.jsonl beside the user ledger.
    """
    from thermocad.evaluation.evaluate import score_split, split_rows
    from thermocad.evaluation.lockbox import check_split_rows, ledger_path
    from thermocad.evaluation.trained_files import check_loaded
    from thermocad.utils.progress import log
    from thermocad.utils.values import check_path, check_tta, check_value, is_whole

    check_path("model", model, "model")
    check_path("split_table", split_table, "table")
    check_path("ledger", ledger, "none")
    check_tta(tta)
    check_value(is_whole(n_boot) and n_boot >= 0, "n_boot", "a whole number, at least 0", n_boot,
                flag="")  # fmt: skip
    bundle = _bundle(model)
    from_file = isinstance(split_table, str | os.PathLike)
    rows = split_rows(split_table, on, subgroup)
    # The folder (or .onnx file) whose record names its training women: the one given, or the
    # one a loaded model came from.
    home = Path(model) if isinstance(model, str | os.PathLike) else getattr(bundle, "path", None)
    if home is not None:  # test women new; valid ones may have tuned it
        check_split_rows(rows, on, Path(home), split_table if from_file else "the split table")
    elif on != "train":
        log("note: this model was not loaded from a run folder or .onnx file, so the women it "
            "was trained on are unknown: make sure these are not the same")  # fmt: skip
    source = str(home) if home is not None else "a loaded model"
    # Training files refused, a smoke run's or synthetic model's warning: as the command does.
    check_loaded(bundle, rows, on, source, split_table if from_file else "the split table")
    remedy = "pass ledger= a file on a writable disk (the same file every time)"
    given = from_file or ledger is not None  # else a DataFrame, counted where the user ledger is
    book = None if on != "test" else (
        ledger_path(split_table if from_file else ".", ledger, remedy) if given
        else _dataframe_ledger())  # fmt: skip
    result, pred = score_split(bundle, rows, on, bundle.threshold, tta, subgroup, n_boot,
                               ledger=book, source=source)  # fmt: skip
    return {**result, "on": on, "predictions": pred}


def _dataframe_ledger() -> Path | None:
    """Where test splits given as DataFrames are counted without `ledger=`: one ledger beside
    the user ledger (evaluation.user_ledger), said in the log; None, said, where that folder
    cannot be written (as for the user ledger: the scoring goes on, uncounted)."""
    from thermocad.evaluation.ledger_file import SUFFIX, ledger_path
    from thermocad.evaluation.user_ledger import user_ledger_path
    from thermocad.utils.progress import log

    path = user_ledger_path().with_name("dataframe_splits" + SUFFIX)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path = ledger_path(".", path)
    except (OSError, ThermocadError) as exc:
        log(f"note: this test split, given as a DataFrame, could not be counted in {path} "
            f"({getattr(exc, 'strerror', None) or exc}); pass ledger=FILE, or set "
            "THERMOCAD_LEDGER_DIR to a writable folder, to have it counted")  # fmt: skip
        return None
    log(f"note: this test split, given as a DataFrame, is counted in {path} (ledger=FILE to "
        "count it elsewhere)")  # fmt: skip
    return path


@keeps_random_state
def predict(
    model: str | os.PathLike | ModelBundle | OnnxModel,
    files: str | os.PathLike | Iterable[str | os.PathLike],
    tta: bool | None = None,
    allow_unit_mismatch: bool = False,
) -> pd.DataFrame:
    """P(Sick) and the decision for each thermal file (folders are searched recursively).

    A file that cannot be predicted (unreadable, or another unit than the model's) is a
    ThermalFormatError naming the file (its `failures`: each such file and its error), as are
    paths that hold no thermal file
    (`thermocad.inference.predict.predict_paths` returns the other files' predictions and the
    failures apart, as the CLI does).
    """
    from thermocad.inference.predict import failure_line, predict_paths
    from thermocad.utils.values import check_flags, check_path, check_tta

    check_path("model", model, "model")
    check_tta(tta)
    check_flags(allow_unit_mismatch=allow_unit_mismatch)
    if isinstance(files, bytes | bytearray) or not isinstance(files, str | os.PathLike | Iterable):
        raise ConfigError(f"files must be a path or a list of paths, got {files!r:.60}")
    paths = [files] if isinstance(files, str | os.PathLike) else list(files)
    for path in paths:
        check_path("each of files", path)
    if not paths:
        raise ConfigError("predict: no files given (a file, a folder, or a list of them)")
    table, errors = predict_paths(model, paths, tta, allow_unit_mismatch)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        error = ThermalFormatError("cannot predict " + failure_line(errors[0]).removeprefix(
            "failed: ") + more)  # a bad file's type, whatever a service catches  # fmt: skip
        error.failures = [(str(f.file), f.error) for f in errors]  # every file, with its error
        raise error
    return table


@keeps_random_state
def study(
    data_dir: str | os.PathLike,
    labels: str | os.PathLike,
    out_dir: str | os.PathLike,
    archs: Sequence[str] | None = None,
    **options: Any,
) -> Path:
    """The whole protocol (prepare, split, compare, final test) into `out_dir`; returns the path
    of its report.html. `options` as `thermocad.pipeline.run_study`: smoke, config_file, nested, folds,
    test, seed, force, resume."""
    from thermocad.pipeline import run_study
    from thermocad.utils.values import check_flags, check_path

    for name, path in (("data_dir", data_dir), ("out_dir", out_dir)):  # labels: as run_study
        check_path(name, path)
    check_flags(**{k: options[k] for k in ("smoke", "force", "resume") if k in options})
    archs = [archs] if isinstance(archs, str) else archs  # one name, not its letters
    return run_study(data_dir, labels, out_dir, archs=archs, **options)


def _read(table: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """A table given as a DataFrame, or read from CSV with an error naming the file."""
    from thermocad.utils.tables import read_table

    return read_table(table, "table") if isinstance(table, str | os.PathLike) else table


def _bundle(model: str | os.PathLike | ModelBundle | OnnxModel) -> ModelBundle | OnnxModel:
    return load_model(model) if isinstance(model, str | os.PathLike) else model
