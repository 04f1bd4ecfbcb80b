"""Fuzz the thermal reader at scale: crashes, hangs, disagreements with loadtxt, peak memory.

    .venv/bin/python -m benchmarks.fuzz_reader --cases 20000 --seed 18 [--data DIR]

The cases come from tests/helpers/fuzz.py (shared with the CI test tests/io/test_fuzz.py):
mutated DMR files of both formats (batch A: spaces, 2 decimals; B: ';', 5 decimals, CRLF),
generated layouts (separators, decimals, comma marks, line ends, BOM, gzip), random bytes,
and hostile input the size limits must refuse (gzip bombs, 200,000-line columns, 9 MB of
one-character values). `--full-size` of them are 480 x 640 like the real files, and with
`--data` a share are mutations of the real DMR files. Each case runs in a worker process
that is killed after `--timeout` seconds (a hang); the worker times each read, reads inputs
of 64 KiB or more a second time under tracemalloc for their peak memory, and reports its
own peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tests.helpers.fuzz import Case, cases, compare, dmr_text, mutate, read

REPO = Path(__file__).resolve().parents[1]
TRACE_FROM = 64 * 1024  # inputs this large are read a second time to trace their peak memory


def worker(conn, folder: str) -> None:
    """Read each case sent, answer (outcome, detail, seconds, peak traced bytes, peak RSS)."""
    from thermocad.io.text import warm_up_text_reader

    warm_up_text_reader()
    path_number = 0
    while (case := conn.recv()) is not None:
        path_number += 1
        path = Path(folder) / f"{path_number}-{case.name}"  # new files: truncating is slow
        path.write_bytes(case.data)
        start = time.perf_counter()
        result = read(path)
        seconds = time.perf_counter() - start
        peak = 0
        if len(case.data) >= TRACE_FROM:  # again, traced: tracemalloc slows Python code 9x
            tracemalloc.start()
            read(path)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        path.unlink()
        outcome, detail = compare(case.data, path, result, case.hostile)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        conn.send((outcome, detail, seconds, peak, rss))


class Runner:
    """A worker process; restarted after a hang (killed by its own pid) or a crash."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.process = None
        self.restarts = 0

    def start(self) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.get_context("fork").Process(target=worker, args=(child, self.folder),
                                                      daemon=True)  # fmt: skip
        self.process.start()

    def run(self, case: Case, timeout: float):
        if self.process is None or not self.process.is_alive():
            self.start()
        self.conn.send(case)
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:  # the worker died (out of memory, a segfault)
                self.process = None
                return ("crash", "worker process died", timeout, 0, 0)
        self.process.kill()
        self.process.join()
        self.process, self.restarts = None, self.restarts + 1
        return ("hang", f"no answer within {timeout:g} s", timeout, 0, 0)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(10)
            if self.process.is_alive():  # still reading a case: it is not waited for
                self.process.kill()
                self.process.join()


def all_cases(args) -> Iterator[Case]:
    """Small cases from the shared generator, some replaced by full-size or real-file ones.

    Made one at a time, so memory does not grow with --cases.
    """
    rng = np.random.default_rng(args.seed + 1)
    real = sorted(Path(args.data).glob("*.txt"))[:20] if args.data else []
    big = dict.fromkeys(rng.choice(args.cases, args.full_size, replace=False).tolist(), "full")
    if real:
        free = np.setdiff1d(np.arange(args.cases), list(big))
        big.update(dict.fromkeys(rng.choice(free, args.real, replace=False).tolist(), "real"))
    for number, case in enumerate(
        cases(args.seed, args.cases, hostile_share=args.hostile, big=True)
    ):
        if big.get(number) == "full":
            batch_b = number % 2 == 1
            base = dmr_text(rng, 480, 640, ";" if batch_b else " ", 5 if batch_b else 2,
                            eol="\r\n" if batch_b else "\n", trailing=batch_b)  # fmt: skip
            case = Case(mutate(rng, base) if number % 3 else base, "full-size-" + "AB"[batch_b])
        elif big.get(number) == "real":
            data = real[number % len(real)].read_bytes()
            case = Case(mutate(rng, data) if number % 4 else data, "real-mutated")
        yield case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    parser.add_argument("--hostile", type=float, default=0.01, help="share of hostile cases")
    parser.add_argument("--full-size", type=int, default=200, help="480 x 640 cases")
    parser.add_argument("--real", type=int, default=200, help="mutations of real files")
    parser.add_argument("--data", default=None, help="folder of real DMR .txt files")
    parser.add_argument("--save", default=None, help="write failing inputs to this folder")
    args = parser.parse_args(argv)
    if args.full_size + (args.real if args.data else 0) > args.cases:
        parser.error(f"--full-size {args.full_size} and --real {args.real} (with --data) replace "
                     f"more cases than --cases {args.cases}: lower them")  # fmt: skip
    outcomes: Counter[tuple[str, str]] = Counter()
    problems, slowest, peak, rss = [], (0.0, ""), (0, 0, ""), 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-reader-") as folder:
        runner = Runner(folder)
        runner.start()  # forked before any case exists: its RSS is its own
        try:
            for number, case in enumerate(all_cases(args)):
                if number and number % 1000 == 0:
                    print(f"{number:,} cases, {time.perf_counter() - start:.0f} s", file=sys.stderr)
                outcome, detail, seconds, traced, worker_rss = runner.run(case, args.timeout)
                outcomes[(case.kind, outcome)] += 1
                rss = max(rss, worker_rss)
                where = f"case {number} ({case.kind}, {len(case.data):,} B)"
                slowest = max(slowest, (seconds, where))
                if traced > peak[0]:
                    peak = (traced, len(case.data), f"case {number} ({case.kind})")
                if outcome in ("crash", "hang", "mismatch"):
                    problems.append(f"case {number} ({case.kind}): {outcome}: {detail[:300]}")
                    if args.save:
                        Path(args.save).mkdir(parents=True, exist_ok=True)
                        (Path(args.save) / f"{number}-{case.name}").write_bytes(case.data)
        finally:  # an error (or Ctrl+C) must not leave the worker waiting for its next case
            runner.stop()
    report(args, outcomes, problems, slowest, peak, rss, time.perf_counter() - start)
    return 1 if problems else 0


def report(args, outcomes, problems, slowest, peak, rss, wall) -> None:
    totals = Counter()
    for (_, outcome), n in outcomes.items():
        totals[outcome] += n
    kinds = sorted({kind for kind, _ in outcomes})
    print(f"fuzz_reader: {sum(totals.values()):,} cases, seed {args.seed}, {wall:.0f} s wall")
    print("| kind | cases | accepted (= loadtxt) | refused | mismatch | crash | hang |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds + ["all"]:
        row = (
            totals
            if kind == "all"
            else Counter({o: n for (k, o), n in outcomes.items() if k == kind})
        )
        cells = [row[o] for o in ("accepted", "refused", "mismatch", "crash", "hang")]
        print(f"| {kind} | {sum(row.values()):,} | " + " | ".join(f"{c:,}" for c in cells) + " |")
    print(f"slowest read: {slowest[0] * 1000:.0f} ms, {slowest[1]}")
    print(f"largest peak traced memory of one read (inputs >= 64 KiB): {peak[0] / 2**20:.1f} MiB, "
          f"input {peak[1] / 2**20:.2f} MiB, {peak[2]}")  # fmt: skip
    print(
        f"worker peak RSS: {rss / 2**20:.0f} MiB (imports, numba, tracemalloc and the largest read)"
    )
    for line in problems[:20]:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
