"""Fuzz the reader on every CI run: 1,500 generated and mutated files against numpy.loadtxt."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.helpers.fuzz import cases, judge_case
from thermocad.io.text import warm_up_text_reader

SEED = 18
CASES = 1500
PER_CASE_SECONDS = 5.0


class Hang(BaseException):
    """A case ran past PER_CASE_SECONDS (a BaseException, so `judge` cannot count it a crash)."""


def _alarm(signum, frame):
    raise Hang


# A stuck run fails here (about 2 s alone; its speed at scale: benchmarks.fuzz_reader). The
# thread method: this test owns SIGALRM and the real-time timer for its per-case alarm, which
# would cancel pytest-timeout's default (signal) one.
@pytest.mark.timeout(120, method="thread")
def test_reader_never_crashes_hangs_or_disagrees_with_loadtxt(tmp_path):
    outcomes: Counter[str] = Counter()
    failures = []
    warm_up_text_reader()  # numba loads (or compiles) its loop once; not a hang
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for number, case in enumerate(
            cases(SEED, CASES, max_rows=24, max_cols=32, hostile_share=0.01)
        ):
            path = tmp_path / case.name
            path.write_bytes(case.data)
            signal.setitimer(signal.ITIMER_REAL, PER_CASE_SECONDS)
            try:
                outcome, detail = judge_case(case, path)
            except Hang:
                outcome, detail = "hang", f"no answer within {PER_CASE_SECONDS} s"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                path.unlink()  # a new file each time: truncating one in place is slow on ext4
            outcomes[outcome] += 1
            if outcome in ("crash", "hang", "mismatch"):
                failures.append((number, case.kind, detail, case.data[:200]))
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not failures, f"{len(failures)} failures, first ones: {failures[:3]}"
    # Both sides of the comparison are exercised: many files read, many refused.
    assert outcomes["accepted"] > 300 and outcomes["refused"] > 300, outcomes
