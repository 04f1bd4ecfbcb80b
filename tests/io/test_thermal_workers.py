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


def _thermograms(folder) -> list[str]:
    """40 small .npy thermograms: enough for the readers to be busy when the signal comes."""
    for i in range(40):
        np.save(folder / f"T{i:04d}.npy", np.full((64, 80), 33.0, np.float32))
    return [str(folder / f"T{i:04d}.npy") for i in range(40)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killing_the_reader_leaves_no_worker_processes(tmp_path):
    paths = _thermograms(tmp_path)
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


# Ctrl-C raises KeyboardInterrupt even where the test runs in a background job, whose
# children inherit SIGINT ignored (as a shell starts `cmd &`).
INTERRUPTED = PARENT.replace(
    "paths = sys.argv[1:]",
    "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "paths = sys.argv[1:]\ntry:",
).replace(
    "for n, _ in enumerate(iter_read(paths, workers=2, cache=False, transform=slow)):\n"
    '    print("read", n, flush=True)',
    "    for n, _ in enumerate(iter_read(paths, workers=2, cache=False, transform=slow)):\n"
    '        print("read", n, flush=True)\n'
    "except KeyboardInterrupt:\n"
    '    print("interrupted", flush=True)\n'
    "    sys.exit(130)",
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups as on Linux")
def test_ctrl_c_stops_the_reader_and_its_workers_promptly(tmp_path):
    # A terminal's Ctrl-C reaches the whole process group, workers included: once, a
    # worker stopped inside the pool's queue lock left `prepare` waiting for ever.
    import os

    paths = _thermograms(tmp_path)
    parent = subprocess.Popen([sys.executable, "-c", INTERRUPTED, *paths], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)  # fmt: skip
    workers = []
    try:
        assert parent.stdout.readline().startswith("read")
        workers = psutil.Process(parent.pid).children()
        os.killpg(parent.pid, signal.SIGINT)
        assert parent.wait(timeout=20) == 130
        assert "interrupted" in parent.stdout.read()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, [p.pid for p in alive]
    finally:
        parent.kill()
        for p in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


def dies_on_the_third(thermogram):
    """A transform whose worker process dies on one file (as a decoder's crash would)."""
    import os

    if thermogram.path.name == "T0002.npy":
        os._exit(139)
    return thermogram.path.name


def test_a_worker_dying_on_one_file_names_it_and_the_others_are_read(tmp_path):
    from thermocad.io.thermal import iter_read
    from thermocad.utils.errors import ThermalFormatError

    paths = _thermograms(tmp_path)[:12]
    results = list(iter_read(paths, workers=2, cache=False, transform=dies_on_the_third))
    assert [str(path) for path, _ in results] == paths  # every file, in input order
    for path, result in results:
        if path.name == "T0002.npy":
            assert isinstance(result, ThermalFormatError)
            assert str(result) == (f"{path}: the reader process died while reading it (a crash "
                                   "in a decoder, or killed for lack of memory?)")  # fmt: skip
        else:
            assert result == path.name
