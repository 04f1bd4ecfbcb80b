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
import json, sys
from pathlib import Path
import torch, torch.distributed as dist
from thermocad.models.registry import create_model
from thermocad.training.checkpoint import Checkpoint, open_run, start_run
from thermocad.training.distributed import init_distributed, is_main_process
init_distributed()
rank = dist.get_rank()
assert dist.get_world_size() == 2 and dist.get_backend() == "gloo"
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
assert t.item() == 3.0  # ranks 0 and 1 contribute 1 + 2
shared, own = Path(sys.argv[1]), Path(sys.argv[2], f"rank{rank}_run")
model = create_model("resnet18", pretrained=False)
# The same checkpoint, each rank's state marked with its rank: rank 0 saves, then rank 1 (in
# that order, whatever the scheduling), so the file on disk holds rank 1's marker if it wrote.
for turn in (0, 1):
    if rank == turn:
        ckpt = Checkpoint(shared)
        ckpt.state["rank"] = rank
        ckpt.save(model)
    dist.barrier()
assert json.loads((shared / "checkpoint" / "state.json").read_text())["rank"] == 0
# A run folder of each rank's own: rank 1's must never be made or marked INCOMPLETE.
open_run(own, force=False, resume=False)
start_run(own, resume=False)
dist.barrier()
made = {r: Path(sys.argv[2], f"rank{r}_run").exists() for r in (0, 1)}
incomplete = Path(sys.argv[2], "rank0_run", "INCOMPLETE").is_file()
# One file per rank: the two processes' stdout interleaves.
Path(sys.argv[2], f"rank{rank}.txt").write_text(f"ok {rank} {is_main_process()} {made} {incomplete}")
dist.destroy_process_group()
"""


def torchrun(args: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    # TMPDIR: torchrun's own temporary files (its log folders) go into the test's folder.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "THERMOCAD_QUIET": "1", "TMPDIR": str(cwd)}
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
    # Both ranks saw rank 0's checkpoint after rank 1 had saved, and only rank 0's run folder.
    seen = "{0: True, 1: False} True"
    assert said == [f"ok 0 True {seen}", f"ok 1 False {seen}"]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fastai's DistributedDL needs CUDA GPUs")
def test_two_gpu_training_run(tmp_path):
    split = make_split(tmp_path)
    res = torchrun(["-m", "thermocad", "train", "--split", str(split), "--out",
                    str(tmp_path / "run"), "--smoke", "--lr", "0.01"], tmp_path, 600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "run" / "model.safetensors").exists()
