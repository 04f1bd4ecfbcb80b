"""Benchmark `generate_cohort`: N patients x one 480 x 640 frame, including writing the files.

Usage: python benchmarks/bench_synth.py [--patients 100] [--format space] [--repeat 3]
Run it pinned to one core (`taskset -c 0`) to measure the single-core speed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--format", default="space", choices=("space", "semicolon", "mixed"))
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["THERMOCAD_QUIET"] = "1"  # no progress bar: one "synth: N done" line a cohort
    from thermocad.synth.cohort import generate_cohort

    times, cpu = [], []
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t, c = time.perf_counter(), time.process_time()
            labels = generate_cohort(Path(tmp) / "c", args.patients, seed=r, fmt=args.format,
                                     frames=args.frames)  # fmt: skip
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            mb = sum(p.stat().st_size for p in labels.parent.iterdir()) / 1e6
    best = min(times)
    n_images = args.patients * args.frames
    print(f"{args.patients} patients x {args.frames} frame(s), format {args.format}: "
          f"best {best:.2f} s of {args.repeat} ({1000 * best / n_images:.0f} ms/image, "
          f"{mb:.0f} MB written); wall: {', '.join(f'{t:.2f}' for t in times)} s; "
          f"CPU: {', '.join(f'{t:.2f}' for t in cpu)} s")  # fmt: skip


if __name__ == "__main__":
    main()
