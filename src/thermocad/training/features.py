"""The frozen body's features of thermal files, and the default recipe's head fitted on them.

The default recipe trains only a linear head on the pooled features of a frozen ImageNet body
(the study's precompute=True). Those features do not depend on which patients train the head,
so a cross-validation (nested or not) can compute them once per file and fit a head per fold
in seconds: `frozen_features` then `fit_head`. `thermocad.train` runs the same head stage.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from thermocad.training.config import TrainConfig
from thermocad.utils.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from thermocad.preprocess.transforms import EvalTransform


def prepared_maps(config: TrainConfig, paths: Sequence[str]) -> tuple[EvalTransform, np.ndarray]:
    """The evaluation transform `config` implies and the files prepared by it (n, size, size):
    one map per distinct path, in the order of first appearance."""
    from thermocad.models.registry import get_arch
    from thermocad.training.data import load_maps
    from thermocad.training.run import eval_transform

    transform = eval_transform(config, get_arch(config.arch))
    maps, _ = load_maps(list(dict.fromkeys(map(str, paths))), transform)
    return transform, maps


def frozen_features(config: TrainConfig, paths: Sequence[str], batch_size: int = 16) -> np.ndarray:
    """(n_files, n_features) pooled features of the frozen pretrained body, one row per path."""
    from thermocad.models.registry import create_model
    from thermocad.training.recipe import body_features

    if not len(paths):
        raise ConfigError("frozen_features: no files given")
    from fastai.torch_core import set_seed

    transform, maps = prepared_maps(config, paths)
    set_seed(config.seed, reproducible=True)  # as train() before its model: the same body
    model = create_model(config.arch, config.pretrained, transform.in_chans, 2, config.weights)
    index = {p: i for i, p in enumerate(dict.fromkeys(map(str, paths)))}
    feats = body_features(model, maps, transform.finish, batch_size).numpy()
    return feats[[index[str(p)] for p in paths]]


def fit_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    config: TrainConfig | None = None,
    make_head: Callable[[int], nn.Module] | None = None,
) -> np.ndarray:
    """The default recipe's head stage on given features: P(Sick) of the `x_valid` rows.

    As in training: a linear head (or `make_head(n_features)`, built after seeding: the
    experiments' variants), class-weighted cross-entropy, SGD with momentum
    0.9 at `config.lr` (a given rate: no lr_find here), `config.head_epochs` epochs of SGDR,
    batch `config.batch_size`, each epoch cut at `config.max_batches` when set (--smoke): the
    learner is train()'s own (recipe.head_learner).
    """
    import torch

    from thermocad.training.recipe import fit_schedule, head_learner, seed_head

    cfg = config or TrainConfig()
    if cfg.lr is None or cfg.lr <= 0:  # train() would run lr_find; a head on features cannot
        raise ConfigError(f"fit_head needs a learning rate (config.lr), got {cfg.lr}; lr_find "
                          "runs only in train()")  # fmt: skip
    check_head_inputs(x_train, y_train, x_valid)
    if len(x_train) < cfg.batch_size:  # one batch at least, or the head would not train at all
        raise ConfigError(f"{len(x_train)} training rows, fewer than one batch of "
                          f"{cfg.batch_size}: use a smaller batch size")  # fmt: skip
    from fastai.torch_core import set_seed

    set_seed(cfg.seed, reproducible=True)  # before the head is built (make_head's variants)
    x_tr = torch.from_numpy(np.asarray(x_train, dtype=np.float32))
    x_va = torch.from_numpy(np.asarray(x_valid, dtype=np.float32))
    n = x_tr.shape[1]
    build = (lambda: make_head(n)) if make_head else (lambda: torch.nn.Linear(n, 2))
    with tempfile.TemporaryDirectory() as work:
        learn = head_learner(x_tr, np.asarray(y_train, dtype=np.int64), x_va,
                             np.zeros(len(x_va), np.int64), build, cfg, torch.device("cpu"),
                             Path(work))  # fmt: skip
        learn.metrics = []  # the valid rows carry no labels here
        seed_head(learn, cfg.seed)  # as train() does before its head stage
        fit_schedule(learn, cfg.lr, 1, cfg.head_epochs, 1, [])
        learn.to_fp32()  # as valid_probs: float32 scores, as predict gives them
        probs, _ = learn.get_preds(dl=learn.dls.valid.new(shuffled=False, drop_last=False))
    return probs[:, 1].float().numpy()


def check_head_inputs(x_train, y_train, x_valid) -> None:
    """Refuse features and labels that do not pair (an extension review: 12 rows with 10 labels
    trained on 10 in silence; "Sick" labels and another width were raw numpy or torch errors)."""
    shapes = [np.shape(x_train), np.shape(x_valid)]
    if any(len(s) != 2 for s in shapes) or shapes[0][1] != shapes[1][1]:
        raise ConfigError(f"fit_head: x_train and x_valid must be (rows, features) of one width, "
                          f"got {shapes[0]} and {shapes[1]}")  # fmt: skip
    y = np.asarray(y_train)
    if y.shape != (shapes[0][0],):
        raise ConfigError(f"fit_head: {shapes[0][0]} feature rows but y_train holds {y.shape}")
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        raise ConfigError("fit_head: y_train must be 0 (Healthy) and 1 (Sick), got e.g. "
                          f"{y[0]!r} (thermocad.io.labels.labels_to_y turns labels into them)")  # fmt: skip
