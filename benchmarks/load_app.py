"""Load test of the web app: parallel uploads to `serve()` on 127.0.0.1, answers checked.

    python -m benchmarks.load_app [--run RUN_DIR] [--n 100] [--workers 32] [--size 480x640]

Starts the app in this process on a free local port, uploads --n files (--workers at once)
through gradio_client, half of them one identical file and the rest distinct synthetic DMR
text matrices, checks every P(Sick) against `predict` on the same file, and prints the
throughput, latencies and the peak memory of this process (server and client together).
Without --run it trains the 64 px smoke model of the tests (about a minute on CPU).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from tests.helpers.app import smoke_run
    from tests.helpers.load import app_prob, expected_probs, upload_load

    from thermocad.inference.app import serve
    from thermocad.models.bundle import load_bundle
    from thermocad.synth.cohort import generate_cohort

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, help="trained run folder (default: a smoke run)")
    p.add_argument("--n", type=int, default=100, help="uploads (default 100)")
    p.add_argument("--workers", type=int, default=32, help="uploads at once (default 32)")
    p.add_argument("--size", default="480x640", help="synthetic frame size HxW (default 480x640)")
    p.add_argument("--timeout", type=float, default=900, help="overall deadline, seconds")
    args = p.parse_args(argv)
    height, width = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="thermocad-load-") as tmp:
        run = args.run or smoke_run(Path(tmp))
        data = Path(tmp) / "files"
        generate_cohort(data, n_patients=6, seed=11, height=height, width=width)
        distinct = sorted(data.glob("T*.txt"))
        files = [distinct[0]] * len(distinct) + distinct
        expected = expected_probs(load_bundle(run), distinct)
        demo = serve(run, port=0, block=False)  # 0: a free port, bound at once
        port = demo.server_port
        try:
            load = upload_load(
                f"http://127.0.0.1:{port}/", files, args.n, args.workers, args.timeout
            )
        finally:
            demo.close()
    wrong = [
        (path.name, result)
        for path, result, status in load.answers
        if not status.startswith(f"{path.name}: analysed")
        or abs(app_prob(result) - expected[path.resolve()])
        > 0.006 * expected[path.resolve()] + 1e-6
    ]
    lat = sorted(load.latencies) or [float("nan")]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.n} uploads of {height}x{width} text files, {args.workers} at once: "
          f"{len(load.answers)} answered, {len(wrong)} wrong, {len(load.failures)} failed "
          f"in {load.seconds:.1f} s ({len(load.answers) / load.seconds:.2f}/s); latency "
          f"median {lat[len(lat) // 2]:.1f} s, 95th {lat[int(0.95 * (len(lat) - 1))]:.1f} s, "
          f"max {lat[-1]:.1f} s; peak memory {peak_mb:.0f} MB")  # fmt: skip
    for line in load.failures[:5] + [f"wrong: {w}" for w in wrong[:5]]:
        print(line)
    return 1 if wrong or load.failures else 0


if __name__ == "__main__":
    sys.exit(main())
