"""Multi-process training: the process group torchrun/accelerate describe, fastai's DDP context."""

from __future__ import annotations

import contextlib
import os

import torch


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def fit_ctx(learn):
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
