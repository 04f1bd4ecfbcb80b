"""What uploads cost a running `serve`: disk through Gradio's upload route, memory for gzipped text.

    python -m benchmarks.serve_uploads [--run RUN_DIR] [--route-files 60] [--at-once 4]

Starts the app in this process on a free local port, as load_app does (without --run, the
64 px smoke model of the tests, about a minute to train on CPU), with Gradio's upload folder
in a temporary folder of its own, and measures:

1. gzipped text analysed: bad_inputs.py's largest texts that the limits let through to the
   parser (60 to 62.5 MiB once unpacked), each gzipped, sent alone and then --at-once at the
   same time; the peak resident memory of this process (sampled every 10 ms), against the
   idle server's after one ordinary upload has loaded everything. The app analyses at most
   2 uploads at once (CONCURRENCY); the others wait in Gradio's queue;
2. then the upload route alone, as anyone who reaches the port can use it without asking for
   an analysis: one request of two 12 MiB files (inference/upload_quota.py takes one
   full-size file's bytes a request),
   then --route-files files of 19 MiB posted 4 at a time to /gradio_api/upload; the answers'
   HTTP statuses, the bytes Gradio keeps on disk (until its sweep, 10-20 minutes later) and
   the time taken.
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


def route_uploads(url: str, folder: Path, n: int) -> tuple[dict[int, int], float, float]:
    """Post n files of 19 MiB, 4 at a time, to Gradio's upload route: (how many got each
    HTTP status, MB kept, seconds)."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    payload = os.urandom(19 * MIB)

    def one(i: int) -> int:
        files = {"files": (f"u{i}.txt", payload, "text/plain")}
        return httpx.post(f"{url}gradio_api/upload", files=files, timeout=120).status_code

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = Counter(pool.map(one, range(n)))
    seconds = time.monotonic() - start
    kept = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return dict(statuses), kept / 1e6, seconds


def two_in_one(url: str) -> int:
    """The HTTP status of one request that posts two files of 12 MiB (each under the limit)."""
    import httpx

    big = os.urandom(12 * MIB)
    files = [("files", (f"{k}.txt", big, "text/plain")) for k in "ab"]
    return httpx.post(f"{url}gradio_api/upload", files=files, timeout=120).status_code


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
    p.add_argument(
        "--route-files",
        type=int,
        default=60,
        help="files for the upload route (60 x 19 MiB: past its 1 GiB budget)",
    )
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
        # Last: the route's budget, once spent, refuses the uploads above for 20 minutes.
        print(f"upload route: two files of 12 MiB in one request: HTTP {two_in_one(url)}")
        before = sum(p.stat().st_size for p in uploads.rglob("*") if p.is_file()) / 1e6
        statuses, kept, seconds = route_uploads(url, uploads, args.route_files)
        said = ", ".join(f"{n} got HTTP {code}" for code, n in sorted(statuses.items()))
        print(f"upload route: {args.route_files} files of 19 MiB, 4 at a time: {said}; "
              f"{kept - before:.0f} MB more kept on disk, in {seconds:.1f} s")  # fmt: skip
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
