"""Train candidates on patient-grouped folds: each fold's run and its validation predictions.

The building blocks of `compare` (every candidate on the same folds) and `nested` (the same
inside each outer training set).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from thermocad.io.labels import with_y
from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.files import atomic_write_csv, atomic_write_json
from thermocad.utils.out_names import NAME_RULE, is_name
from thermocad.utils.progress import log

BASELINE = "baseline"
# A candidate trains into its own folder of the comparison: a name, not a path, and none of
# the folders compare writes itself (any case: a case-insensitive disk has one of them).
RESERVED = (BASELINE, "test", "nested")


def plain_name(name: Any) -> bool:
    """Whether `name` can be a candidate's folder: a name (not a path), not one of RESERVED."""
    return is_name(name) and name.casefold() not in RESERVED


def check_names(archs) -> None:
    """ConfigError for a candidate name that cannot be a folder of its own in the comparison."""
    for name in archs:
        if not plain_name(name):
            raise ConfigError(f"{name!r} cannot name a candidate: each trains into a folder of "
                              f"its name, so a name is {NAME_RULE}, and not "
                              f"{', '.join(RESERVED)} (in any letter case)")  # fmt: skip
    folded = [str(a).casefold() for a in archs]
    if twice := next((a for a in archs if folded.count(a.casefold()) > 1), None):
        raise ConfigError(f"{twice!r} is given twice among the candidates (letter case aside): "
                          "each trains into its own folder, so give each once")  # fmt: skip


class AllModelsFailedError(ThermocadError, RuntimeError):
    """No architecture (nor the baseline) could be trained and validated."""


def arch_of(name: str, overrides: dict[str, dict] | None = None) -> str:
    """The architecture a candidate trains: its own name, or the "arch" of its overrides (a
    named recipe variant, e.g. {"grey_frame": {"arch": "efficientnet_lite0", "crop": "none"}})."""
    return str((overrides or {}).get(name, {}).get("arch", name))


def check_split_files(split_df: pd.DataFrame, split_csv, subgroup: str | None = None) -> None:
    """ConfigError naming the first of the split's files that is not a readable file (moved,
    deleted, another machine's paths) and how many are, before any candidate trains on them;
    and a `subgroup` the split has no column for (the default, acquisition_batch, may be
    missing from a split written by hand: its audit is then left out)."""
    from thermocad.cohort.missing import check_split_table

    check_split_table(split_df, split_df, subgroup, split_csv)


def check_candidates(archs, config: Any, overrides: dict[str, dict] | None = None) -> None:
    """ConfigError, before anything trains, for a candidate that names no architecture (listing
    the valid ones) or whose overrides make no valid config (a dataclass `config`)."""
    from thermocad.models.registry import get_arch

    check_names(archs)
    for name in archs:
        get_arch(arch_of(name, overrides))
        if dataclasses.is_dataclass(config):
            try:
                dataclasses.replace(config, **{"arch": name, **(overrides or {}).get(name, {})})
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"arch_overrides[{name!r}]: {exc}") from exc


def untrainable(archs, config: Any, overrides: dict[str, dict] | None = None,
                say: bool = True) -> dict[str, str]:  # fmt: skip
    """The candidates that cannot train here (name -> "failed: why": no ImageNet weights
    offline), each warned about (`say`); ConfigError when none can, since the baseline alone
    would then be compared with nothing and still open the test set."""
    from thermocad.models.registry import get_arch
    from thermocad.models.weights import unavailable
    from thermocad.utils.extras import require_training

    if archs:  # a CNN candidate needs PyTorch before it needs weights
        require_training()
    own = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}
    skipped = {}
    for name in archs:
        spec = get_arch(arch_of(name, overrides))
        if why := unavailable(spec, {**own, **(overrides or {}).get(name, {})}):
            if say:
                log(f"warning: {name} is left out of this comparison: {why}")
            skipped[name] = f"failed: {why}"
    if archs and len(skipped) == len(archs):
        raise ConfigError(f"none of {', '.join(archs)} can train here ({skipped[archs[0]][8:]}); "
                          "a comparison of the baseline with nothing would still open the test "
                          "set: give an architecture whose weights are installed")  # fmt: skip
    return skipped


def fold_splits(split_df: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """Per fold k, the split with fold k `valid`, other folds `train`, fold -1 in neither."""
    from thermocad.cohort.split import folds_of

    if not folds_of(split_df):
        return [(0, split_df)]
    kept = split_df[(split_df["split"] == "test") | (split_df["fold"] >= 0)]
    dev = kept["split"] != "test"
    out = []
    for k in folds_of(split_df):
        df = kept.copy()
        df.loc[dev, "split"] = ["valid" if f == k else "train" for f in df.loc[dev, "fold"]]
        out.append((int(k), df))
    return out


def train_arch(trainer: Callable, split_csv: Path, run_dir: Path, config: Any, arch: str,
           override: dict | None = None) -> Path:  # fmt: skip
    """Call thermocad.training.run.train with the architecture (and its overrides) set in the config."""
    changes = {"arch": arch, **(override or {})}
    if dataclasses.is_dataclass(config) and "arch" in {f.name for f in dataclasses.fields(config)}:
        return Path(trainer(split_csv, run_dir, dataclasses.replace(config, **changes)))
    if isinstance(config, dict):
        return Path(trainer(split_csv, run_dir, {**config, **changes}))
    raise TypeError("cannot tell the trainer which architecture to use")


def valid_predictions(run_dir: Path, fold_df: pd.DataFrame, fold: int) -> pd.DataFrame:
    """The run's validation predictions joined to the split's columns (patient, label, batch),
    with an ensemble's two parts (prob_cnn, prob_baseline) when the run wrote them."""
    valid = fold_df[fold_df["split"] == "valid"]
    csv = run_dir / "valid_predictions.csv"
    if csv.exists():
        got = pd.read_csv(csv)
        prob_col = "prob" if "prob" in got.columns else "prob_sick"
        parts = [c for c in ("prob_cnn", "prob_baseline") if c in got.columns]
        got = got[["path", prob_col, *parts]].rename(columns={prob_col: "prob"})
        pred = valid.merge(got, on="path")
        if len(pred) != len(valid):  # a silent partial join would bias every metric
            raise ValueError(f"{csv}: {len(pred)} of {len(valid)} validation images matched")
    else:
        from thermocad.evaluation.evaluate import predict_split
        from thermocad.models.bundle import load_bundle

        pred = predict_split(load_bundle(run_dir), valid)
    return with_y(pred).assign(fold=fold)


def _n_parameters(run_dir: Path) -> int | None:
    meta = json.loads((run_dir / "model.json").read_text())
    if "parameters" in meta:
        return int(meta["parameters"])
    tensors = meta.get("tensors", {})
    sizes = [int(pd.Series(s).prod()) if s else 1 for s in tensors.values()]
    return sum(sizes) or None


def run_arch(
    arch: str,
    split_df: pd.DataFrame,
    out_dir: Path,
    config: Any,
    trainer: Callable,
    override: dict | None = None,
    resume: bool = False,
) -> dict:
    """Train one architecture on every fold; returns out-of-fold predictions and run dirs.
    `resume`: a fold whose run finished is reused, one with a checkpoint continues from it.
    `train_time_s` sums the folds' training times, a reused fold's as recorded when it was
    trained (FOLD_TIMES), an interrupted fold's from where it went on."""
    from thermocad.utils.files import INCOMPLETE

    parts, runs = [], []
    times_json = out_dir / arch / FOLD_TIMES
    times = _read_times(times_json) if resume else {}
    folds = fold_splits(split_df)
    for i, (k, fold_df) in enumerate(folds, 1):
        run_dir = out_dir / arch / f"fold{k}"
        split_csv = out_dir / arch / f"split_fold{k}.csv"
        atomic_write_csv(split_csv, fold_df)
        finished = (run_dir / "model.json").is_file() and not (run_dir / INCOMPLETE).exists()
        if resume and finished and not (why := _not_this_folds(run_dir, fold_df, config, arch,
                                                               override)):  # fmt: skip
            log(f"{arch}, fold {k} ({i} of {len(folds)}): finished before, reused")
            run = run_dir
        else:
            if resume and finished:
                log(f"{arch}, fold {k}: the finished run there is not this fold's ({why}): "
                    "trained again")  # fmt: skip
            go_on = resume and (run_dir / "checkpoint" / "state.json").is_file()
            log(f"training {arch}, fold {k} ({i} of {len(folds)})"
                + (", from its checkpoint" if go_on else ""))  # fmt: skip
            fold_trainer = partial(trainer, resume=True) if go_on else trainer
            started = time.perf_counter()
            run = train_arch(fold_trainer, split_csv, run_dir, config, arch, override)
            times[str(k)] = time.perf_counter() - started
            atomic_write_json(times_json, times)
        parts.append(valid_predictions(run, fold_df, k))
        runs.append(run)
    return {
        "pred": pd.concat(parts, ignore_index=True),
        "runs": runs,
        "train_time_s": float(sum(times.values())),
        "parameters": _n_parameters(runs[0]),
    }


def _not_this_folds(run_dir: Path, fold_df: pd.DataFrame, config: Any, arch: str,
                    override: dict | None) -> str | None:  # fmt: skip
    """Why a finished fold run may not be reused for this fold (None: it may): it trained or
    validated on other women (trained_on.csv), or with other options (model.json's config)."""
    from thermocad.evaluation.lockbox import run_patients

    ids, role = fold_df["patient_id"].astype(str), fold_df["split"].astype(str)
    wanted = dict.fromkeys(ids[role == "valid"], "valid")  # as train's trained_on.csv has them
    wanted.update(dict.fromkeys(ids[role == "train"], "train"))
    from thermocad.utils.errors import ThermocadError

    try:
        if run_patients(run_dir) != wanted:
            return "it trained or validated on other women"
    except ThermocadError as exc:  # its record written over, or unreadable
        return f"its record of who trained it cannot be read ({exc})"
    if dataclasses.is_dataclass(config) and hasattr(config, "to_dict"):
        from thermocad.training.fit_resume import comparable  # an option removed since: same

        saved = json.loads((run_dir / "model.json").read_text(encoding="utf-8")).get("config")
        wanted = dataclasses.replace(config, arch=arch, **(override or {})).to_dict()
        if not isinstance(saved, dict) or comparable(saved) != comparable(wanted):
            return "it was trained with other options"
    return None


FOLD_TIMES = "train_seconds.json"  # beside the fold runs: each fold's training time


def _read_times(path: Path) -> dict[str, float]:
    """The fold training times an interrupted comparison recorded ({} when none or unreadable)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {str(k): float(v) for k, v in saved.items() if isinstance(v, int | float)}


def real_trainer(archs: Sequence[str], config: Any, overrides: dict[str, dict] | None = None
                  ) -> tuple[Callable, Any, dict[str, str]]:  # fmt: skip
    """thermocad.training.run.train and its config (default TrainConfig()), once every name is
    known and every candidate's config is valid; and the candidates that cannot train here
    (name -> why: no ImageNet weights offline), found before anything trains. A candidate is an
    architecture, or a named recipe variant: an `overrides` entry whose "arch" names it."""
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    config = config if config is not None else TrainConfig()
    check_candidates(archs, config, overrides)  # every name and override, before any trains
    skipped = untrainable(archs, config, overrides)  # none left: refused
    # The fold runs live inside compare's own output folder, which prepare_out_dir already
    # vetted (empty, or --force): a run left there by an interrupted compare is replaced.
    return partial(train, force=True), config, skipped


def run_baseline(split_df: pd.DataFrame, features: pd.DataFrame | None = None) -> dict:
    """The classical baseline on the same folds; its test predictions are kept for later."""
    from thermocad.models.baseline import cross_validate_baseline, feature_table

    started = time.perf_counter()
    feats = features if features is not None else feature_table(split_df["path"].tolist())
    out = cross_validate_baseline(split_df, feats)
    return {
        "pred": with_y(out["valid"]),
        "test_pred": out.get("test"),
        "runs": [],
        "train_time_s": time.perf_counter() - started,
        "parameters": feats.shape[1] + 1,  # one weight per feature plus the intercept
    }


def cnn_alone_auc(pred: pd.DataFrame) -> float | None:
    """Patient-level AUC of the CNN half of a model averaged with the baseline (its
    `prob_cnn` column); None for a model that is not such an average."""
    from thermocad.evaluation.metrics import aggregate_patients, roc_auc

    if "prob_cnn" not in pred.columns:
        return None
    pat = aggregate_patients(with_y(pred), prob="prob_cnn")
    return float(roc_auc(pat["y"], pat["prob"]))
