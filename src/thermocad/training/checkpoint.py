"""Checkpoints for --resume: weights (safetensors) and progress (JSON) after every epoch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from thermocad.training.distributed import is_main_process
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import atomic_path, atomic_write_json, prepare_out_dir

CHECKPOINT = "checkpoint"


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


def open_run(out_dir: Path, force: bool, resume: bool) -> None:
    """A new run folder (refusing to overwrite unless force), or the checkpoint to resume."""
    if resume:
        if not (out_dir / CHECKPOINT / "state.json").is_file():
            raise ConfigError(f"{out_dir}: nothing to resume (no {CHECKPOINT}/state.json)")
    elif is_main_process():
        prepare_out_dir(out_dir, force=force)
