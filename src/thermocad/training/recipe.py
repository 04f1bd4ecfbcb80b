"""The study's fastai recipe as small steps: learners, lr_find, SGDR stages, precompute, TTA."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback, CancelTrainException
from fastai.callback.schedule import ParamScheduler, SchedCos, combine_scheds
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.metrics import RocAucBinary, accuracy
from torch import nn

from thermocad.training.distributed import is_main_process
from thermocad.utils.progress import log, quiet


class History(Callback):
    """One row per epoch (stage, losses, accuracy, AUC, seconds); plain log lines when quiet.

    `start`: the first epoch this fit runs (a resumed stage). fastai still signals the end of
    the epochs it skips before it, with nothing recorded: they get no row."""

    order = 60  # after the Recorder has filled its log

    def __init__(self, rows: list[dict], stage: str, on_epoch: Callable[[int], None],
                 start: int = 0):  # fmt: skip
        self.rows, self.stage, self.on_epoch, self.start = rows, stage, on_epoch, start

    def before_epoch(self) -> None:
        self.t0, self.losses = time.time(), []

    def after_batch(self) -> None:
        loss = float(self.learn.loss.detach())  # a validation batch's too: NaN scores end in
        if not math.isfinite(loss):  # a traceback from the AUC, as every later step would
            from thermocad.utils.errors import TrainingDivergedError

            rate = (self.learn.opt.hypers or [{}])[-1].get("lr", float("nan"))
            raise TrainingDivergedError(
                f"training diverged: the loss became {loss} in stage {self.stage}, epoch "
                f"{self.epoch + 1}, at learning rate {rate:.2g}; train again with a lower --lr "
                "(`thermocad lr-find` draws the loss against it) and --force")  # fmt: skip
        if self.training:
            self.losses.append(loss)

    def after_epoch(self) -> None:
        if self.epoch < self.start:  # skipped: done before the interruption, already a row
            return
        # Our own train loss: fastai's Recorder drops it when an epoch is cut short (--smoke).
        row = {"stage": self.stage, "epoch": int(self.epoch)}
        row["train_loss"] = float(np.mean(self.losses)) if self.losses else float("nan")
        names = ["valid_loss", "accuracy", "roc_auc"]
        values = list(self.learn.recorder.log)[-len(names) - 1 : -1]  # the last entry is time
        row |= {n: float(v) for n, v in zip(names, values, strict=True)}
        row["seconds"] = round(time.time() - self.t0, 3)
        self.rows.append(row)
        # fastai's table is not shown: our line instead (once: other ranks have no bars either)
        if is_main_process() and not _has_bars(self.learn):
            log(" ".join(f"{k}={_EPOCH_FORMATS.get(k, '{}').format(v)}" for k, v in row.items()))
        self.on_epoch(int(self.epoch) + 1)


# The per-epoch line's figures, each at one precision (the epoch counted from 0, as history.csv).
_EPOCH_FORMATS = {"train_loss": "{:.4f}", "valid_loss": "{:.4f}", "accuracy": "{:.3f}",
                  "roc_auc": "{:.3f}", "seconds": "{:.1f}"}  # fmt: skip


def _has_bars(learn: Learner) -> bool:
    from fastai.callback.progress import ProgressCallback

    return any(isinstance(cb, ProgressCallback) for cb in learn.cbs)


def plain_lines(learn: Learner) -> None:
    """No fastai bars or table: History's plain per-epoch lines (quiet mode, and epochs cut
    short by LimitBatches, whose table rows fastai writes without their train loss)."""
    from fastai.callback.progress import ProgressCallback

    learn.remove_cb(ProgressCallback)
    learn.logger = _silent


def limit_batches(learn: Learner, n: int) -> None:
    """Each training epoch of `learn` ends after `n` batches (the --smoke preset), its epochs
    said in plain lines."""
    learn.add_cb(LimitBatches(n))
    plain_lines(learn)


class LimitBatches(Callback):
    """Stop each training epoch after `n` batches (the --smoke preset)."""

    order = 70  # after the Recorder has logged the batch

    def __init__(self, n: int):
        self.n = n

    def after_batch(self) -> None:
        if self.training and self.iter + 1 >= self.n:
            raise CancelTrainException


def _silent(*_args: object) -> None:
    return None


def make_learner(
    dls: DataLoaders,
    model: nn.Module,
    loss_func: nn.Module,
    splitter: Callable | None,
    workdir: Path,
) -> Learner:
    """A fastai Learner reporting accuracy and ROC AUC; no bars in quiet mode."""
    from functools import partial

    from fastai.optimizer import SGD

    # The study's fastai 0.7 trained with SGD, momentum 0.9 (its lr 1e-2 assumes that).
    opt_func = partial(SGD, mom=0.9)
    kwargs = {"splitter": splitter, "opt_func": opt_func} if splitter else {"opt_func": opt_func}
    learn = Learner(
        dls, model, loss_func=loss_func, metrics=[accuracy, RocAucBinary()], path=workdir, **kwargs
    )
    if quiet():
        plain_lines(learn)  # History writes the plain per-epoch lines instead
    if torch.cuda.is_available():
        learn.to_fp16()
    return learn


def find_lr(learn: Learner, num_it: int) -> tuple[float, list[float], list[float]]:
    """fastai's lr_find: the valley suggestion (NaN where the curve has too few points) and the
    loss-vs-lr curve. Its `num_it` iterations run whole: the --smoke preset's LimitBatches,
    which ends each epoch after a couple of batches, would leave fastai too few points."""
    limits = [cb for cb in learn.cbs if isinstance(cb, LimitBatches)]
    try:
        with learn.removed_cbs(limits):
            suggestion = learn.lr_find(num_it=num_it, show_plot=False).valley
    except IndexError:  # too few points before the loss diverged: no valley to read
        suggestion = float("nan")
    lrs = [float(v) for v in learn.recorder.lrs]
    losses = [float(v) for v in learn.recorder.losses]
    return float(suggestion), lrs, losses


def sgdr_epochs(cycles: int, cycle_len: int, cycle_mult: int) -> int:
    return sum(cycle_len * cycle_mult**i for i in range(cycles))


def equal_shares(n: int) -> list[float]:
    """n equal fractions that sum to exactly 1, as combine_scheds asserts ([1/6] * 6 sums to
    0.999...: `--cycles 6 --cycle-mult 1` was a traceback)."""
    shares = [1 / n] * (n - 1)
    return [*shares, 1 - sum(shares)]


def fit_schedule(
    learn: Learner,
    lr: float | np.ndarray,
    cycles: int,
    cycle_len: int,
    cycle_mult: int,
    cbs: list[Callback],
    start_epoch: int = 0,
) -> None:
    """SGDR (cosine annealing with warm restarts), resumable at `start_epoch`."""
    n_epoch = sgdr_epochs(cycles, cycle_len, cycle_mult)
    if cycle_mult > 1:
        learn.fit_sgdr(
            cycles, cycle_len, lr, cycle_mult=cycle_mult, cbs=cbs, start_epoch=start_epoch
        )
    else:
        # fit_sgdr's epoch formula divides by cycle_mult - 1; equal cycles, same schedule.
        if learn.opt is None:
            learn.create_opt()
        learn.opt.set_hyper("lr", lr)
        lr_max = np.array([h["lr"] for h in learn.opt.hypers])
        sched = combine_scheds(equal_shares(cycles), [SchedCos(lr_max, 0)] * cycles)
        learn.fit(n_epoch, cbs=[ParamScheduler({"lr": sched}), *cbs], start_epoch=start_epoch)


def body_features(
    model: nn.Module, maps: np.ndarray, finish: Callable, batch_size: int
) -> torch.Tensor:
    """The frozen body's pooled features for every prepared map, computed once (precompute),
    and once per process for the same body and map (training.feature_cache)."""
    from thermocad.training.feature_cache import cached_features

    device = next(model.parameters()).device
    model.eval()

    def compute(batch: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            x = finish(torch.from_numpy(batch)[:, None].to(device))
            return model.forward_head(model.forward_features(x), pre_logits=True).float().cpu()

    return cached_features(model, maps, finish, batch_size, compute)


def seed_head(learn: Learner, seed: int) -> None:
    """The head stage's randomness from the seed alone: the head's initial weights and the order
    of its batches. `train()` and `fit_head` (the nested fast path) call it right before the
    stage, so that both fit the same head on the same women: the nested estimate is of the
    model `train()` makes, not of a sibling drawn with other random numbers."""
    import random

    from fastai.torch_core import set_seed

    set_seed(seed, reproducible=True)
    for module in learn.model.modules():
        if callable(reset := getattr(module, "reset_parameters", None)):
            reset()
    # fastai's loader shuffles with its own generator, drawn as a new loader draws it
    learn.dls.train.rng = random.Random(random.randint(0, 2**32 - 1))


def feature_dls(
    train: torch.Tensor,
    y_train: np.ndarray,
    valid: torch.Tensor,
    y_valid: np.ndarray,
    batch_size: int,
    device: torch.device,
) -> DataLoaders:
    """DataLoaders over precomputed features, for training the head alone."""

    def items(x: torch.Tensor, y: np.ndarray) -> list:
        return [(x[i], torch.tensor(int(y[i]))) for i in range(len(y))]

    train_items, y_train = items(train, y_train), np.asarray(y_train, dtype=np.int64)
    train_dl = DataLoader(train_items, bs=batch_size, shuffle=True, drop_last=True,
                          device=device)  # fmt: skip
    valid_dl = DataLoader(items(valid, y_valid), bs=batch_size * 2, device=device)
    return DataLoaders(train_dl, valid_dl, device=device)


def head_learner(
    train: torch.Tensor,
    y_train: np.ndarray,
    valid: torch.Tensor,
    y_valid: np.ndarray,
    make_head: Callable[[], nn.Module],
    cfg,
    device: torch.device,
    workdir: Path,
) -> Learner:
    """The default recipe's head stage, as `train()` and `fit_head` (the nested fast path) both
    run it: a Learner over the classifier `make_head()` alone, fed precomputed body features,
    with class-weighted cross-entropy (TrainConfig `cfg`: batch size, max_batches). `seed_head` then draws its start from the seed."""
    from fastai.losses import CrossEntropyLossFlat

    from thermocad.training.data import class_weights

    dls = feature_dls(train, y_train, valid, y_valid, cfg.batch_size, device)
    head = make_head()
    weight = class_weights(y_train).to(device)
    learn = make_learner(dls, head, CrossEntropyLossFlat(weight=weight), None, workdir)
    if cfg.max_batches:
        limit_batches(learn, cfg.max_batches)
    return learn


def valid_probs(learn: Learner, data, model, cfg) -> np.ndarray:
    """P(Sick) on the validation set, as the saved model will give it: without TTA fastai's
    predictions; with `cfg.tta` copies, inference's own fixed augmented views
    (models.bundle.map_probs), so that `predict --tta` reproduces the predictions the threshold
    was chosen on, `cfg.batch_size` x 4 images at a time as body_features (each view of each
    image is held at once: the whole set in one pass took ~27 MB an image at 224 px)."""
    if cfg.tta == 0:
        dl = learn.dls.valid.new(shuffled=False, drop_last=False)
        learn.to_fp32()  # no autocast (GPU training): the float32 scores predict and ONNX give
        probs, _ = learn.get_preds(dl=dl)
        return probs[:, 1].float().numpy()
    from thermocad.models.bundle import map_probs

    maps, step = data.maps[data.n_train :], cfg.batch_size * 4
    return np.concatenate([map_probs(model, maps[i : i + step], data.transform, cfg.tta,
                                     cfg.augmentation) for i in range(0, len(maps), step)])  # fmt: skip
