"""What uploads cost a running `serve`: disk through Gradio's upload route, memory for gzipped text.

    python -m benchmarks.serve_uploads [--run RUN_DIR] [--route-files 10] [--at-once 4]

Starts the app in this process on a free local port, as load_app does (without --run, the
64 px smoke model of the tests, about a minute to train on CPU), with Gradio's upload folder
in a temporary folder of its own, and measures:

1. the upload route alone: --route-files files of 19 MiB posted 4 at a time to
   /gradio_api/upload without asking for an analysis, as anyone who reaches the port can;
   the bytes Gradio keeps on disk (until its sweep, 10 minutes later) and the rate;
2. gzipped text analysed: bad_inputs.py's largest texts that the limits let through to the
   parser (60 to 62.5 MiB once unpacked), each gzipped, sent alone and then --at-once at the
   same time; the peak resident memory of this process (sampled every 10 ms), against the
   idle server's after one ordinary upload has loaded everything. The app analyses at most
   2 uploads at once (CONCURRENCY); the others wait in Gradio's queue.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

MIB = 2**20


class PeakRss:
    """This process's resident memory, sampled every 10 ms in a thread while in the block."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def now(self) -> int:
        return self._process.memory_info().rss

    def __enter__(self) -> PeakRss:
        self.peak = self.now()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.now())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def route_uploads(url: str, folder: Path, n: int) -> tuple[float, float]:
    """Post n files of 19 MiB, 4 at a time, to Gradio's upload route: (MB kept, seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    payload = os.urandom(19 * MIB)

    def one(i: int) -> None:
        files = {"files": (f"u{i}.txt", payload, "text/plain")}
        reply = httpx.post(f"{url}gradio_api/upload", files=files, timeout=120)
        reply.raise_for_status()

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(n)))
    seconds = time.monotonic() - start
    kept = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return kept / 1e6, seconds


def gzipped_cases(folder: Path) -> dict[str, Path]:
    """bad_inputs' largest texts the limits let through to the parser, each gzipped (9)."""
    from benchmarks.bad_inputs import memory_cases

    cases = {}
    folder.mkdir()
    for case, text in memory_cases(folder, None).items():
        cases[case] = gz = text.with_suffix(".txt.gz")
        with text.open("rb") as src, gzip.open(gz, "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst, MIB)
        text.unlink()
    return cases


def analyse_at_once(url: str, files: list[Path]) -> list[str]:
    """Send every file to /analyse at the same time; the Status line of each answer."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 600})
    try:
        jobs = [client.submit(handle_file(str(f)), False, api_name="/analyse") for f in files]
        return [job.result(timeout=600)[3] for job in jobs]
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, help="trained run folder (default: a smoke run)")
    p.add_argument("--route-files", type=int, default=10, help="files for the upload route")
    p.add_argument("--at-once", type=int, default=4, help="gzipped uploads sent together")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="thermocad-uploads-") as tmp:
        uploads = Path(tmp) / "gradio"
        os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read by Gradio when it stores a file
        return _measure(args, Path(tmp), uploads)


def _measure(args, tmp: Path, uploads: Path) -> int:
    from tests.helpers.app import smoke_run, synthetic_dmr

    from thermocad.inference.app import serve

    run = args.run or smoke_run(tmp)
    ordinary = synthetic_dmr(tmp, n_patients=1)[0]
    cases = gzipped_cases(tmp / "gz")
    demo = serve(run, port=0, block=False)  # 0: a free port, bound at once
    url = f"http://127.0.0.1:{demo.server_port}/"
    try:
        analyse_at_once(url, [ordinary])  # loads the model and every lazy import
        before = sum(p.stat().st_size for p in uploads.rglob("*") if p.is_file()) / 1e6
        kept, seconds = route_uploads(url, uploads, args.route_files)
        print(f"upload route: {args.route_files} files of 19 MiB, 4 at a time: "
              f"{kept - before:.0f} MB kept on disk in {seconds:.1f} s")  # fmt: skip
        idle = PeakRss().now()
        print(f"idle server (after one ordinary upload): resident memory {idle / 1e9:.2f} GB")
        print("| gzipped upload (unpacked) | KB | at once | peak resident memory (GB) | status |")
        print("|---|---|---|---|---|")
        for case, gz in cases.items():
            for n in (1, args.at_once):
                with PeakRss() as rss:
                    status = analyse_at_once(url, [gz] * n)[0]
                print(f"| {case} | {gz.stat().st_size / 1e3:.0f} | {n} | {rss.peak / 1e9:.2f} "
                      f"| {status} |")  # fmt: skip
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
