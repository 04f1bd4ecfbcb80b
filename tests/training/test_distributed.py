"""Multi-process training: 2 CPU processes over gloo (process group, rank-0-only outputs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers.net import free_port
from tests.helpers.training import make_split

CHILD = """
import sys
from pathlib import Path
import torch, torch.distributed as dist
from thermocad.models.registry import create_model
from thermocad.training.checkpoint import Checkpoint
from thermocad.training.distributed import init_distributed, is_main_process
init_distributed()
assert dist.get_world_size() == 2 and dist.get_backend() == "gloo"
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
assert t.item() == 3.0  # ranks 0 and 1 contribute 1 + 2
ckpt = Checkpoint(Path(sys.argv[1]))
ckpt.state["rank"] = dist.get_rank()
ckpt.save(create_model("resnet18", pretrained=False))
dist.barrier()
# One file per rank: the two processes' stdout interleaves.
Path(sys.argv[2], f"rank{dist.get_rank()}.txt").write_text(f"ok {dist.get_rank()} {is_main_process()}")
dist.destroy_process_group()
"""


def torchrun(args: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "THERMOCAD_QUIET": "1"}
    cmd = [sys.executable, "-W", "ignore", "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={free_port()}", *args]  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_two_cpu_processes_join_gloo_and_only_rank0_writes(tmp_path):
    (tmp_path / "child.py").write_text(CHILD)
    res = torchrun(
        [str(tmp_path / "child.py"), str(tmp_path / "run"), str(tmp_path)], tmp_path, 180
    )
    assert res.returncode == 0, res.stderr[-2000:]
    said = [(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)]
    assert said == ["ok 0 True", "ok 1 False"]
    import json

    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["rank"] == 0


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fastai's DistributedDL needs CUDA GPUs")
def test_two_gpu_training_run(tmp_path):
    split = make_split(tmp_path)
    res = torchrun(["-m", "thermocad", "train", "--split", str(split), "--out",
                    str(tmp_path / "run"), "--smoke", "--lr", "0.01"], tmp_path, 600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "run" / "model.safetensors").exists()
