"""Reader worker processes end with the process that started them, even when it is killed."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys

import numpy as np
import pytest

psutil = pytest.importorskip("psutil")

# A parent that reads many files through worker processes (as `prepare` does), slowly.
PARENT = """
import sys, time
from thermocad.io.thermal import iter_read

def slow(thermogram):
    time.sleep(0.5)
    return thermogram.array.shape

paths = sys.argv[1:]
for n, _ in enumerate(iter_read(paths, workers=2, cache=False, transform=slow)):
    print("read", n, flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killing_the_reader_leaves_no_worker_processes(tmp_path):
    paths = []
    for i in range(40):
        np.save(tmp_path / f"T{i:04d}.npy", np.full((64, 80), 33.0, np.float32))
        paths.append(str(tmp_path / f"T{i:04d}.npy"))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, *paths], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    workers = []
    try:
        assert parent.stdout.readline().startswith("read")
        workers = psutil.Process(parent.pid).children()
        assert len(workers) >= 2
        parent.send_signal(signal.SIGKILL)  # as the OOM killer does: no clean-up runs
        parent.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, [p.pid for p in alive]
    finally:
        parent.kill()
        for p in workers:  # orphans, if the test failed
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
