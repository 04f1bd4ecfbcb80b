"""Benchmark: peak memory and wall time of `thermocad prepare` on large cohorts.

    .venv/bin/python benchmarks/bench_prepare_memory.py [--files 600 5600] [--workers 2]

Builds each cohort in a temporary folder out of hard links to the real DMR-IR files (no data
is copied; symbolic links where hard links are impossible), one subfolder per patient and
one DMR-style name per frame (`T0012/T0012.1.1.D.2015-07-20.10.7.txt`: patient 12, frontal,
dynamic series, frame 7), then runs `thermocad prepare` on it with the real labels.csv and
a fresh parse cache in the temporary folder, as a user would the first time. Reports the
peak RSS of the largest single process (`ru_maxrss` from wait4, which covers the reader
workers too) and the peak of the summed RSS of prepare and its workers (sampled every 20 ms
with psutil), and the wall time. Everything is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "dmr-ir-frontal"


def build_cohort(data: Path, root: Path, n_files: int) -> str:
    """`n_files` links to the real files under DMR frame names; returns how they were linked."""
    sources = sorted(data.glob("T*.txt"))
    how = "hard links"
    for i in range(n_files):
        source = sources[i % len(sources)]
        patient = source.stem  # T0012
        frame = i // len(sources)
        folder = root / patient
        folder.mkdir(exist_ok=True)
        target = folder / f"{patient}.1.1.D.2015-07-20.10.{frame}.txt"
        try:
            os.link(source, target)
        except OSError:
            os.symlink(source, target)
            how = "symbolic links (the parse cache then sees one file per source)"
    return how


class TreeSampler(threading.Thread):
    """Peak of the summed RSS of a process and its children, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = 0
            try:
                for proc in [self.process, *self.process.children(recursive=True)]:
                    total += proc.memory_info().rss
            except psutil.Error:
                pass  # a worker exited between listing and reading: the next sample counts it
            self.peak = max(self.peak, total)
            self.done.wait(0.02)


def measure(data: Path, n_files: int, workers: int | None, tmp: Path) -> dict:
    cohort_dir, out_dir, cache = tmp / "cohort", tmp / "out", tmp / "cache"
    cohort_dir.mkdir()
    linked = build_cohort(data, cohort_dir, n_files)
    env = dict(os.environ, THERMOCAD_CACHE_DIR=str(cache), THERMOCAD_QUIET="1")
    command = [
        sys.executable, "-m", "thermocad", "prepare", str(cohort_dir),
        "--labels", str(data / "labels.csv"), "--out", str(out_dir),
    ]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)  # rusage of prepare and its waited-for workers
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    log = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"prepare failed ({proc.returncode}):\n{log}")
    rows = len((out_dir / "cohort.csv").read_text().splitlines()) - 1
    return {
        "files": n_files,
        "rows": rows,
        "linked": linked,
        "wall_s": wall,
        "max_process_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
        "tree_peak_mb": sampler.peak / 2**20,
        "summary": [line for line in log.splitlines() if "kept of" in line],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--files", type=int, nargs="+", default=[600, 5600])
    parser.add_argument("--workers", type=int, default=None, help="default: prepare's (all cores)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, workers: {args.workers or 'default (all cores)'}")
    print(
        "| files | wall (s) | peak RSS, largest process (MB) | peak RSS, prepare + workers (MB) |"
    )
    print("|---|---|---|---|")
    for n_files in args.files:
        tmp = Path(tempfile.mkdtemp(prefix="thermocad-prepare-mem-"))
        try:
            result = measure(args.data, n_files, args.workers, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        assert result["rows"] == n_files, result
        print(
            f"| {n_files:,} | {result['wall_s']:.1f} | {result['max_process_mb']:.0f} | "
            f"{result['tree_peak_mb']:.0f} |",
            flush=True,
        )
        print(f"<!-- {result['linked']}; {'; '.join(result['summary'])} -->", flush=True)


if __name__ == "__main__":
    main()
