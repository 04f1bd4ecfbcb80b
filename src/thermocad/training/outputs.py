"""What a run folder holds: the baseline ensemble, predictions, history, config and model.json."""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad import __version__
from thermocad.io.labels import CLASSES
from thermocad.models.compat import MODEL_FORMAT
from thermocad.preprocess import PREPROCESS_VERSION
from thermocad.reporting.plots import plot_schedule
from thermocad.training.checkpoint import CHECKPOINT
from thermocad.training.config import TrainConfig
from thermocad.training.data import ThermalData
from thermocad.utils.files import (
    INCOMPLETE,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
)
from thermocad.utils.progress import log
from thermocad.utils.trees import remove_tree
from thermocad.utils.versions import COMMAND, library_versions


def write_history(out_dir, rows: list[dict]) -> None:
    """history.csv, rewritten after every epoch: a killed run keeps its curve so far."""
    atomic_write_csv(out_dir / "history.csv", pd.DataFrame(rows))


def fit_ensemble(cfg: TrainConfig, data: ThermalData, cnn_probs):
    """With cfg.ensemble == "baseline": the baseline fitted on the training rows and, on the
    validation rows, {"prob": the mean of both, "prob_cnn", "prob_baseline"}."""
    if cfg.ensemble == "none":
        return None, {}
    from thermocad.models.baseline import feature_table, fit_linear_baseline
    from thermocad.models.bundle import ModelBundle

    log("ensemble: fitting the classical baseline on the same training patients")
    baseline = fit_linear_baseline(data.train)
    if cnn_probs is None:
        return baseline, {}
    base = baseline.predict(feature_table(data.valid["path"].tolist()))
    cnn = np.asarray(cnn_probs, dtype=float)
    return baseline, {
        "prob": ModelBundle.average(cnn, base),
        "prob_cnn": cnn,
        "prob_baseline": base,
    }


def write_outputs(
    out_dir, model, transform, data, cfg, ckpt, probs, fold, threshold, baseline=None, parts=None
) -> None:
    """Everything a run directory holds; the checkpoint goes once the bundle is written."""
    from thermocad.evaluation.metrics import classification_metrics
    from thermocad.evaluation.thresholds import choose_patient_threshold
    from thermocad.models.bundle import save_bundle
    from thermocad.reporting.hub_card import write_model_card
    from thermocad.utils.values import clean_json

    y_valid = data.y[data.n_train :]
    in_sample = fold == "all"  # validation rows are the training rows: report nothing on them
    # Without a given threshold: the highest one reaching sensitivity 0.9 on the validation women.
    method = "given" if threshold is not None else "sensitivity"
    if threshold is None:
        women = data.valid[["patient_id"]].assign(y=y_valid, prob=probs)
        threshold = float(choose_patient_threshold(women))
    if not in_sample:
        extra = {k: v for k, v in (parts or {}).items() if k != "prob"}
        preds = data.valid[["path", "patient_id", "label"]].assign(prob=probs, **extra)
        atomic_write_csv(out_dir / "valid_predictions.csv", preds)
    files = write_trained_on(out_dir, data.train, None if in_sample else data.valid)
    _write_record(out_dir, ckpt, cfg)
    meta = {
        "arch": cfg.arch,
        "classes": list(CLASSES),
        "input_size": transform.size,
        "in_chans": transform.in_chans,
        "transform": transform.to_dict(),
        "augmentation": cfg.to_dict()["augmentation"],
        "unit": data.unit,
        "threshold": threshold,
        "threshold_method": method,
        "lr": ckpt.state["lr"],
        "lr_suggestion": clean_json(ckpt.state.get("lr_suggestion")),  # none found: null, not NaN
        "fold": fold,
        "config": cfg.to_dict(),
        "thermocad_version": __version__,
        "trained_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # a `cp` loses mtime
        "preprocess_version": PREPROCESS_VERSION,
        **provenance(cfg),  # the libraries, and the starting weights with their licence
        "compute": compute(model),  # the same seed gives these weights again on the same
        "ensemble": cfg.ensemble,
        # a final model's valid rows are its training rows: counted once, as train
        "data": {k: v for k, v in data.summary().items() if not (in_sample and k == "valid")},
        **files,  # trained_files: its files by their bytes, for evaluate --data
        "metrics": {} if in_sample else classification_metrics(y_valid, probs, float(threshold)),
    }
    if baseline is not None:
        meta["baseline"] = baseline.to_dict()
    if split := ckpt.state.get("options", {}).get("split"):  # what --resume compares
        meta["split_print"] = split
    if resumed := ckpt.state.get("resumed_inside"):  # not what an uninterrupted run gives
        meta["resumed_inside"] = resumed
        where = ", ".join(f"{r['stage']} after epoch {r['epoch']}" for r in resumed)
        log(f"note: resumed inside {where}: the random draws before it were not replayed, so "
            "these weights differ from an uninterrupted run's (model.json resumed_inside)")  # fmt: skip
    save_bundle(out_dir, model, meta)
    write_model_card(out_dir, meta, data.train, None if in_sample else data.valid, probs)
    _finish(out_dir)


def _write_record(out_dir, ckpt, cfg) -> None:
    """How the run went: its history, learning-rate schedule and options."""
    write_history(out_dir, ckpt.state["rows"])
    plot_schedule(out_dir / "schedule.png", ckpt.state["lrs"])
    atomic_write_json(out_dir / "config.json", cfg.to_dict())


def _finish(out_dir) -> None:
    """Once the bundle is written: the checkpoint goes, then the INCOMPLETE mark. Stopped in
    between, the model is whole, and the mark says so (`train --resume` completes it)."""

    from thermocad.models.bundle import FINISHED_TRAINING

    atomic_write_text(out_dir / INCOMPLETE, FINISHED_TRAINING)
    remove_tree(out_dir / CHECKPOINT)
    (out_dir / INCOMPLETE).unlink(missing_ok=True)  # last: the folder is now complete


def write_trained_on(out_dir, train, valid) -> dict:
    """trained_on.csv: the women who trained (and chose the threshold of) this model, so that
    evaluate refuses them as held-out women and predict notes their files. Returns model.json's
    record of their files by their bytes ({"trained_files": ...}, evaluation.trained_files)."""
    from thermocad.evaluation.lockbox import TRAINED_ON
    from thermocad.evaluation.trained_files import KEY, training_record

    roles = dict.fromkeys(valid["patient_id"].astype(str), "valid") if valid is not None else {}
    roles.update(dict.fromkeys(train["patient_id"].astype(str), "train"))
    table = pd.DataFrame({"patient_id": list(roles), "role": list(roles.values())})
    atomic_write_csv(Path(out_dir) / TRAINED_ON, table)
    return {KEY: training_record(train, valid)}


def provenance(cfg) -> dict:
    """model.json's record of what computed the model: its format (models/compat.py), the
    libraries' versions, the command as typed, and where its starting weights came from with
    their licence (None: random weights)."""
    from thermocad.models.registry import get_arch
    from thermocad.models.weights import initial_weights

    typed = {"command": command} if (command := COMMAND.get()) else {}  # from the command line
    return {"format": MODEL_FORMAT, "libraries": library_versions(), **typed,  # format: compat
            "initial_weights": initial_weights(get_arch(cfg.arch), cfg.to_dict())}  # fmt: skip


def compute(model) -> dict[str, object]:
    """Where `model`'s weights were computed: its device (a GPU's name), the processes that
    trained it and PyTorch's CPU threads. Another thread count or process count sums in
    another order, which moves the weights' last digits (docs/training.md, reproducibility)."""
    import torch
    from fastai.torch_core import num_distrib

    device = next(model.parameters()).device
    found = {"device": str(device), "threads": torch.get_num_threads(),
             "processes": max(1, num_distrib()), "platform": platform.platform()}  # fmt: skip
    if device.type == "cuda":
        found.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
    return found


def check_lr_find_out(split_csv: Path, out_png: Path, force: bool) -> None:
    """lr-find's --out, before any work: a PNG's name (its bytes are PNG whatever the name, so
    not a model's or a thermogram's), outside every folder that holds one of the split's
    thermograms (the next prepare or predict of it would read the plot as one; the split
    file's own folder is not the data), and writable."""
    from thermocad.cohort.split import read_split
    from thermocad.utils.files import check_apart, check_writable
    from thermocad.utils.out_names import check_suffix

    check_suffix(out_png, ".png", "a PNG image")
    for folder in dict.fromkeys(Path(p).parent for p in read_split(split_csv)["path"]):
        check_apart(out_png, folder if folder != Path(".") else Path.cwd())
    check_writable(out_png, force)
