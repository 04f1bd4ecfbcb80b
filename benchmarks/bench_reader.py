"""Benchmark: reading DMR-IR text matrices with numpy.loadtxt, pandas and thermocad, in one run.

    .venv/bin/python benchmarks/bench_reader.py [--data ../shared/data/dmr-ir-frontal] [--n 10]
        [--no-numba]

Times are per file (median of the files, each read `--repeat` times, best kept; the
readers take turns on each file), on the first N files of each format (batch A: spaces, 2
decimals; batch B: ';', 5 decimals). Every reader's result is checked equal to loadtxt's.
The parse cache goes to a temporary folder. `--no-numba` makes numba unimportable (as
when the [fast] extra is not installed), so thermocad reads with its pure-numpy paths.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "dmr-ir-frontal"


def loadtxt(path: Path) -> np.ndarray:
    sep = ";" if b";" in path.read_bytes()[:4096] else None
    return np.loadtxt(path, delimiter=sep, dtype=np.float64).astype(np.float32)


def pandas_csv(path: Path) -> np.ndarray:
    sep = ";" if b";" in path.read_bytes()[:4096] else r"\s+"
    return pd.read_csv(path, sep=sep, header=None, engine="c").to_numpy(np.float32)


def best_time(fn, path: Path, repeat: int) -> tuple[float, float, np.ndarray]:
    """Best wall and CPU seconds of `repeat` calls (CPU time is what a busy shared box distorts least)."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(path)
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu, result


def scratch_folder() -> str:
    """A cache folder of its own, removed when the benchmark ends (60 MB at --n 20)."""
    folder = tempfile.mkdtemp(prefix="thermocad-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=10, help="files per format")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-numba", action="store_true", help="read as if numba were absent")
    args = parser.parse_args()
    if args.no_numba:
        sys.modules["numba"] = None  # what a missing package looks like to `import numba`
    os.environ["THERMOCAD_CACHE_DIR"] = scratch_folder()
    from thermocad.io.thermal import read_many, read_thermal

    files = sorted(args.data.glob("T*.txt"))
    if not files:  # no DMR-IR folder beside the checkout, or a wrong --data
        missing = "" if args.data.is_dir() else " (no such folder)"
        sys.exit(f"bench_reader: {args.data}{missing} holds no T*.txt files (DMR-IR text "
                 "matrices): give the data folder with --data DIR")  # fmt: skip
    # The first read in a process imports numba and loads the compiled reading loop from
    # its cache (or compiles it, about 1.2 s here, the first time ever): a once-per-process cost.
    start = time.perf_counter()
    read_thermal(files[0], cache=False)
    print(f"first read in this process: {(time.perf_counter() - start) * 1000:.0f} ms\n")
    batch_b = [f for f in files if b";" in f.read_bytes()[:4096]]
    batch_a = [f for f in files if f not in batch_b]
    readers = {
        "numpy.loadtxt": loadtxt,
        "pandas.read_csv (C engine)": pandas_csv,
        "thermocad, no cache": lambda p: read_thermal(p, cache=False).array,
        "thermocad, cached (2nd read)": lambda p: read_thermal(p, cache=True).array,
    }
    print(
        "| reader | batch A ms/file, wall (CPU) | batch B ms/file, wall (CPU) | x loadtxt, CPU (A, B) |\n"
        "|---|---|---|---|"
    )
    # Readers take turns on each file, so a noisy minute on this shared machine slows all of
    # them alike instead of one reader's whole row.
    times = {(name, label): ([], []) for name in readers for label in "AB"}
    for label, group in (("A", batch_a[: args.n]), ("B", batch_b[: args.n])):
        for path in group:
            expected = loadtxt(path)
            for name, fn in readers.items():
                wall, cpu, array = best_time(fn, path, args.repeat)
                assert np.array_equal(array, expected), f"{name} differs on {path}"
                times[name, label][0].append(wall * 1000)
                times[name, label][1].append(cpu * 1000)
    base = {label: statistics.median(times["numpy.loadtxt", label][1]) for label in "AB"}
    for name in readers:
        cells, ratios = [], []
        for label in "AB":
            walls, cpus = times[name, label]
            cpu_ms = statistics.median(cpus)
            cells.append(f"{statistics.median(walls):.2f} ({cpu_ms:.2f})")
            ratios.append(f"{base[label] / cpu_ms:.1f}x")
        print(f"| {name} | {cells[0]} | {cells[1]} | {', '.join(ratios)} |")
    group = batch_a[: args.n] + batch_b[: args.n]
    for workers in (1, os.cpu_count() or 1):
        cold = scratch_folder()
        os.environ["THERMOCAD_CACHE_DIR"] = cold
        start = time.perf_counter()
        results = read_many(group, workers=workers)
        per_file = (time.perf_counter() - start) * 1000 / len(group)
        assert all(hasattr(r, "array") for r in results)
        print(
            f"| read_many, {workers} worker(s), cold cache, A+B | {per_file:.2f} (wall, per file) | | |"
        )


if __name__ == "__main__":
    main()
