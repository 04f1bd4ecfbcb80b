"""The training run: set up data and model, run the recipe's stages, write the run directory."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from thermocad import CLASSES, __version__
from thermocad.data import ThermalData, build_data
from thermocad.errors import ConfigError
from thermocad.files import (
    atomic_path,
    atomic_write_csv,
    atomic_write_json,
    check_writable,
    prepare_out_dir,
)
from thermocad.models import ArchSpec, create_model, get_arch
from thermocad.progress import log
from thermocad.recipe import (
    History,
    LimitBatches,
    body_features,
    feature_dls,
    find_lr,
    fit_schedule,
    make_learner,
    plot_curve,
    plot_schedule,
    sgdr_epochs,
    tta_probs,
)  # fmt: skip
from thermocad.train import TrainConfig
from thermocad.transforms import EvalTransform, Normalization

CHECKPOINT = "checkpoint"


def eval_transform(cfg: TrainConfig, spec: ArchSpec) -> EvalTransform:
    """The EvalTransform a config implies (saved in model.json, reused at inference)."""
    mean, std = spec.norm_stats(len(cfg.channels))
    return EvalTransform(
        size=cfg.size or spec.input_size,
        normalization=Normalization(cfg.norm, cfg.norm_low, cfg.norm_high),
        mean=tuple(mean),
        std=tuple(std),
        channels=cfg.channels,
        crop=cfg.crop,
        marker=cfg.marker,
        background=cfg.background,
    )


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _fit_ctx(learn):
    """DDP through fastai's distrib_ctx when launched by torchrun/accelerate, else nothing."""
    # SyncBatchNorm needs GPUs; on CPU (gloo) each process keeps its own batch statistics.
    sync_bn = torch.cuda.is_available()
    if distributed():
        import fastai.distributed  # noqa: F401 - adds Learner.distrib_ctx
    if not distributed():
        return contextlib.nullcontext()
    # accelerate picks gloo multi-CPU only when told cpu=True.
    return learn.distrib_ctx(sync_bn=sync_bn, cpu=not torch.cuda.is_available())


def init_distributed() -> None:
    """Join the process group torchrun/accelerate describe (fastai gathers across it)."""
    import torch.distributed as dist

    if not distributed() or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")


class Checkpoint:
    """Weights (safetensors) and progress (JSON) after every epoch, for --resume."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir / CHECKPOINT
        self.state: dict[str, Any] = {"done": {}, "rows": [], "lrs": {}}

    def load(self, model: torch.nn.Module) -> None:
        from safetensors.torch import load_file

        state_file = self.dir / "state.json"
        if not state_file.is_file():
            raise ConfigError(f"{self.dir}: no checkpoint to resume from")
        self.state = json.loads(state_file.read_text())
        if (self.dir / "weights.safetensors").is_file():
            model.load_state_dict(load_file(str(self.dir / "weights.safetensors")))

    def save(self, model: torch.nn.Module) -> None:
        if not is_main_process():
            return
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        with atomic_path(self.dir / "weights.safetensors") as tmp:
            save_file(state, str(tmp))
        atomic_write_json(self.dir / "state.json", self.state)


def _run_stage(learn, ckpt: Checkpoint, model, name: str, lr, cfg: TrainConfig, n: tuple) -> None:
    """Fit one stage (skipping epochs a checkpoint already holds), recording history and lrs."""
    cycles, cycle_len, cycle_mult = n
    total = sgdr_epochs(cycles, cycle_len, cycle_mult)
    done = ckpt.state["done"].get(name, 0)
    if total == 0 or done >= total:
        return
    log(f"stage {name}: {total} epochs")

    def on_epoch(epoch: int) -> None:
        ckpt.state["done"][name] = epoch
        ckpt.state["lrs"][name] = [float(v) for v in learn.recorder.lrs]
        ckpt.save(model)

    history = History(ckpt.state["rows"], name, on_epoch)
    with _fit_ctx(learn):
        fit_schedule(learn, lr, cfg.schedule, cycles, cycle_len, cycle_mult, [history], done)


def _head_learner(data: ThermalData, model, loss, cfg: TrainConfig, workdir: Path):
    """A Learner over the classifier alone, fed body features computed once (precompute=True)."""
    finish = data.transform.finish  # no augmentation, as in the study
    feats = body_features(model, data.maps, finish, cfg.batch_size * 4)
    n = data.n_train
    train, y_train = feats[:n], data.y[:n]
    if cfg.mirror:  # every training woman also seen mirrored: twice the examples, same labels
        mirrored = body_features(model, data.maps[:n, :, ::-1].copy(), finish, cfg.batch_size * 4)
        train, y_train = torch.cat([train, mirrored]), np.concatenate([y_train, y_train])
    dls = feature_dls(train, y_train, feats[n:], data.y[n:], cfg.batch_size, data.dls.device)
    head = make_learner(dls, model.get_classifier(), loss, None, workdir, cfg.optimizer)
    if cfg.max_batches:
        head.add_cb(LimitBatches(cfg.max_batches))
    return head


def _stages(learn, head, model, ckpt: Checkpoint, cfg: TrainConfig, lr) -> None:
    """The study's recipe: head on a frozen body, frozen with augmentation, then unfrozen."""
    if head is not None:
        _run_stage(head, ckpt, model, "head (precomputed)", lr, cfg, (1, cfg.head_epochs, 1))
    else:
        learn.freeze()
        _run_stage(learn, ckpt, model, "head", lr, cfg, (1, cfg.head_epochs, 1))
    learn.freeze()
    _run_stage(learn, ckpt, model, "frozen", lr, cfg, (cfg.frozen_cycles, cfg.cycle_len, 1))
    learn.unfreeze()
    groups = len(learn.opt.param_groups) if learn.opt else 3
    lrs = np.array(cfg.lrs) if len(cfg.lrs) == groups else slice(cfg.lrs[0], cfg.lrs[-1])
    n = (cfg.cycles, cfg.cycle_len, cfg.cycle_mult)
    _run_stage(learn, ckpt, model, "unfrozen", lrs, cfg, n)


def _open_run(out_dir: Path, force: bool, resume: bool) -> None:
    if resume:
        if not (out_dir / CHECKPOINT / "state.json").is_file():
            raise ConfigError(f"{out_dir}: nothing to resume (no {CHECKPOINT}/state.json)")
    elif is_main_process():
        prepare_out_dir(out_dir, force=force)


def _setup(split_csv: Path, cfg: TrainConfig, fold: int | str | None, resume: bool):
    """Seeded data, model (pretrained unless resuming) and loss for a config."""
    from fastai.losses import CrossEntropyLossFlat
    from fastai.torch_core import default_device, set_seed

    init_distributed()
    set_seed(cfg.seed, reproducible=True)
    spec = get_arch(cfg.arch)
    transform = eval_transform(cfg, spec)
    device = default_device()
    data = build_data(
        split_csv, transform, cfg.augmentation, cfg.batch_size, fold, cfg.balance, device
    )
    pretrained = cfg.pretrained and not resume
    weights = None if resume else cfg.weights
    model = create_model(cfg.arch, pretrained, transform.in_chans, len(CLASSES), weights)
    weight = data.class_weights().to(device) if cfg.balance == "loss" else None
    return spec, transform, data, model.to(device), CrossEntropyLossFlat(weight=weight)


def run_lr_find(split_csv: Path, out_png: Path, cfg: TrainConfig, force: bool) -> float:
    """lr_find on the frozen model; writes the loss-vs-lr plot."""
    check_writable(out_png, force)
    spec, _, data, model, loss = _setup(split_csv, cfg, None, False)
    with tempfile.TemporaryDirectory() as workdir:
        learn = make_learner(data.dls, model, loss, spec.splitter, Path(workdir), cfg.optimizer)
        learn.freeze()
        suggestion, lrs, losses = find_lr(learn, cfg.lr_find_iters)
    plot_curve(
        out_png, lrs, losses, "learning rate", "loss", True, [(suggestion, f"{suggestion:.1e}")]
    )
    log(f"lr_find suggests {suggestion:.2e} ({out_png})")
    return suggestion


def _lr_find_stage(learn, model, ckpt: Checkpoint, cfg: TrainConfig, out_dir: Path) -> None:
    """lr_find before training (lr_find.png); the learning rate goes into the checkpoint."""
    if distributed():
        # fastai's LRFinder restores weights from a per-process temp dir: not DDP-safe.
        if cfg.lr is None:
            raise ConfigError("distributed runs need --lr (run `thermocad lr-find` first)")
        ckpt.state["lr"] = cfg.lr
        return
    learn.freeze()
    suggestion, lrs, losses = find_lr(learn, cfg.lr_find_iters)
    if cfg.lr is None and not np.isfinite(suggestion):
        raise ConfigError("lr_find found no suggestion (too few batches); give --lr")
    ckpt.state["lr"] = cfg.lr if cfg.lr is not None else suggestion
    ckpt.state["lr_suggestion"] = suggestion
    marks = [(suggestion, f"suggested {suggestion:.1e}")] if np.isfinite(suggestion) else []
    plot_curve(out_dir / "lr_find.png", lrs, losses, "learning rate", "loss", True, marks)
    ckpt.save(model)


def run_training(
    split_csv: Path,
    out_dir: Path,
    cfg: TrainConfig,
    fold: int | str | None,
    force: bool,
    resume: bool,
    threshold: float | None = None,
) -> Path:
    """Train through every stage and write the run directory (see docs/design.md)."""
    if fold == "all" and threshold is None:
        raise ConfigError(
            "a final model (--fold all) has no held-out patients to choose its threshold on: "
            "give --threshold, e.g. the one cross-validation chose (compare's comparison.csv)"
        )
    get_arch(cfg.arch)  # an unknown name fails before anything is written
    if fold == "all":
        log("final model on every non-test patient: the per-epoch valid metrics are in-sample")
    _open_run(out_dir, force, resume)
    spec, transform, data, model, loss = _setup(split_csv, cfg, fold, resume)
    ckpt = Checkpoint(out_dir)
    if resume:
        ckpt.load(model)
    with tempfile.TemporaryDirectory() as workdir:
        learn = make_learner(data.dls, model, loss, spec.splitter, Path(workdir), cfg.optimizer)
        # As the study's precompute=True: lr_find and the head both run on cached features.
        head = _head_learner(data, model, loss, cfg, Path(workdir)) if cfg.precompute else None
        if "lr" not in ckpt.state:
            _lr_find_stage(head or learn, model, ckpt, cfg, out_dir)
        if cfg.max_batches:
            learn.add_cb(LimitBatches(cfg.max_batches))
        _stages(learn, head, model, ckpt, cfg, ckpt.state["lr"])
        # A final model's "validation" rows are its training rows: nothing to predict there.
        probs = None if fold == "all" else _valid_probs(learn, model, data, cfg)
    if is_main_process():
        baseline, parts = _ensemble(cfg, data, probs)
        probs = parts.get("prob", probs)
        _write_outputs(out_dir, model, transform, data, cfg, ckpt, probs, fold, threshold,
                       baseline, parts)  # fmt: skip
    return out_dir


def _valid_probs(learn, model, data: ThermalData, cfg: TrainConfig) -> np.ndarray:
    """The CNN's P(Sick) on the validation rows, as predict will compute it."""
    if not cfg.mirror:
        return tta_probs(learn, cfg.tta)
    from thermocad.artifacts import map_probs

    maps = data.maps[data.n_train :]
    return np.concatenate([
        map_probs(model, maps[i : i + 64], data.transform, cfg.tta, cfg.augmentation, mirror=True)
        for i in range(0, len(maps), 64)
    ])  # fmt: skip


def _ensemble(cfg: TrainConfig, data: ThermalData, cnn_probs):
    """With cfg.ensemble == "baseline": the baseline fitted on the training rows and, on the
    validation rows, {"prob": the mean of both, "prob_cnn", "prob_baseline"}."""
    if cfg.ensemble == "none":
        return None, {}
    from thermocad.artifacts import ModelBundle
    from thermocad.baseline import feature_table, fit_linear_baseline

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


def _write_outputs(
    out_dir, model, transform, data, cfg, ckpt, probs, fold, threshold, baseline=None, parts=None
) -> None:
    """Everything a run directory holds; the checkpoint goes once the bundle is written."""
    import shutil

    from thermocad.artifacts import save_bundle
    from thermocad.metrics import choose_threshold, classification_metrics

    y_valid = data.y[data.n_train :]
    in_sample = fold == "all"  # validation rows are the training rows: report nothing on them
    # Without a given threshold: the highest one reaching sensitivity 0.9 on validation.
    method = "given" if threshold is not None else "sensitivity"
    if threshold is None:
        threshold = float(choose_threshold(y_valid, probs, method="sensitivity"))
    if not in_sample:
        extra = {k: v for k, v in (parts or {}).items() if k != "prob"}
        preds = data.valid[["path", "patient_id", "label"]].assign(prob=probs, **extra)
        atomic_write_csv(out_dir / "valid_predictions.csv", preds)
    atomic_write_csv(out_dir / "history.csv", pd.DataFrame(ckpt.state["rows"]))
    plot_schedule(out_dir / "schedule.png", ckpt.state["lrs"])
    atomic_write_json(out_dir / "config.json", cfg.to_dict())
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
        "lr_suggestion": ckpt.state.get("lr_suggestion"),
        "fold": fold,
        "config": cfg.to_dict(),
        "thermocad_version": __version__,
        "ensemble": cfg.ensemble,
        "data": data.summary(),
        "metrics": {} if in_sample else classification_metrics(y_valid, probs, float(threshold)),
    }
    if baseline is not None:
        meta["baseline"] = baseline.to_dict()
    save_bundle(out_dir, model, meta)
    shutil.rmtree(out_dir / CHECKPOINT, ignore_errors=True)
