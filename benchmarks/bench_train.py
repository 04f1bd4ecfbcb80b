"""Training speed: full fine-tune vs precompute (images/s), and peak RSS of a real run.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_train.py [--steps 5] [--skip-rss]
       python benchmarks/bench_train.py --device cuda --batch 64 --steps 20 --skip-rss
resnet34 uses random weights (no download here; speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from thermocad.models.registry import create_model


def images_per_s(step, batch: int, steps: int, device: str = "cpu") -> float:
    for _ in range(2):  # warm-up: allocator and oneDNN / cuDNN kernels
        step()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch * steps / (time.perf_counter() - t0)


def bench_arch(name: str, size: int, batch: int, steps: int, device: str = "cpu") -> dict:
    """Full fine-tune step vs precompute (one-off feature pass, then head-only steps)."""
    model = create_model(name, pretrained=name.startswith("efficientnet"), in_chans=1).to(device)
    x = torch.randn(batch, 1, size, size, device=device)
    y = torch.randint(0, 2, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def full_step() -> None:
        model.train()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def feature_pass() -> None:
        model.eval()
        with torch.no_grad():
            model.forward_head(model.forward_features(x), pre_logits=True)

    with torch.no_grad():
        feats = model.forward_head(model.forward_features(x), pre_logits=True)
    head = model.get_classifier()
    head_opt = torch.optim.SGD(head.parameters(), lr=1e-3)

    def head_step() -> None:
        head_opt.zero_grad()
        loss_fn(head(feats), y).backward()
        head_opt.step()

    return {
        "arch": name,
        "full_finetune_img_s": images_per_s(full_step, batch, steps, device),
        "feature_pass_img_s": images_per_s(feature_pass, batch, steps, device),
        "precomputed_head_img_s": images_per_s(head_step, batch, steps * 20, device),
    }


RSS_CHILD = """
import sys
from pathlib import Path
from tests.helpers.training import make_split
from thermocad.training.config import TrainConfig
from thermocad.training.run import train
root = Path(sys.argv[1])
split = make_split(root, {"train": 16, "valid": 4})
cfg = TrainConfig(size=224, batch_size=16, lr_find_iters=5, frozen_cycles=1, cycles=1, tta=1,
                  max_batches=2)
train(split, root / "run", cfg)
"""


def peak_rss_mb() -> float:
    """Peak RSS of a real efficientnet_lite0 training run at 224 px, batch 16 (a subprocess)."""
    with tempfile.TemporaryDirectory() as tmp:
        # The caller's environment (PYTHONPATH included: run from a clone, the child must import
        # the same thermocad as this process), plus quiet output and one OpenMP thread.
        env = {**os.environ, "THERMOCAD_QUIET": "1", "OMP_NUM_THREADS": "1"}
        # From the repository root, where `python -c` finds the tests package.
        repo = Path(__file__).resolve().parents[1]
        subprocess.run([sys.executable, "-W", "ignore", "-c", RSS_CHILD, tmp], check=True, env=env,
                       cwd=repo)  # fmt: skip
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}", file=sys.stderr)
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}", file=sys.stderr)
    rows = [
        bench_arch(n, args.size, args.batch, args.steps, args.device)
        for n in ("resnet34", "efficientnet_lite0")
    ]
    for r in rows:
        r = {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
        print(json.dumps(r))
    if not args.skip_rss:
        print(json.dumps({"efficientnet_lite0_224_batch16_peak_rss_mb": round(peak_rss_mb())}))


if __name__ == "__main__":
    main()
