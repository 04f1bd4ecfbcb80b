"""Multi-process training: the process group torchrun/accelerate describe, fastai's DDP context."""

from __future__ import annotations

import contextlib
import os

import torch
from fastai.torch_core import num_distrib, rank_distrib


def is_main_process() -> bool:
    """Rank 0, or the only process (fastai's rank_distrib: torchrun's RANK)."""
    return rank_distrib() == 0


def distributed() -> bool:
    """Launched as several processes (fastai's num_distrib: torchrun's WORLD_SIZE)."""
    return num_distrib() > 1


def fit_ctx(learn):
    """DDP through fastai's distrib_ctx when launched by torchrun/accelerate, else nothing."""
    if not distributed():
        return contextlib.nullcontext()
    import fastai.distributed  # noqa: F401 - adds Learner.distrib_ctx

    # SyncBatchNorm needs GPUs; on CPU (gloo) each process keeps its own batch statistics, and
    # accelerate picks gloo multi-CPU only when told cpu=True.
    return learn.distrib_ctx(sync_bn=torch.cuda.is_available(), cpu=not torch.cuda.is_available())


def init_distributed() -> None:
    """Join the process group torchrun/accelerate describe (fastai gathers across it)."""
    import torch.distributed as dist

    if not distributed() or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
