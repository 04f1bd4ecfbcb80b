"""Benchmark `thermocad predict` on PyTorch and on ONNX Runtime: seconds per thermogram, and CLI start-up.

    python benchmarks/bench_predict.py [--run RUN_DIR] [--n 32] [--arch efficientnet_lite0]

Both paths predict the same files with the same bundle (the ONNX file is exported from it),
parse cache warm; each path's CPU time is also split into transform, baseline and network.

Without --run it times a randomly initialised bundle of --arch with the default recipe's
transform (marker masking, chest crop, asymmetry channel, 320 px) and its baseline ensemble:
speed does not depend on the weights. Files are synthetic 480 x 640 DMR text matrices, or the
first --n files of --data.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_bundle(arch: str, out: Path) -> Path:
    """An untrained bundle of `arch` with the default recipe's input transform (timing only)."""
    from thermocad.models.bundle import save_bundle
    from thermocad.models.registry import create_model, get_arch
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import eval_transform

    transform = eval_transform(TrainConfig(arch=arch), get_arch(arch))
    meta = {
        "arch": arch,
        "classes": ["Healthy", "Sick"],
        "in_chans": transform.in_chans,
        "input_size": transform.size,
        "transform": transform.to_dict(),
        "unit": "celsius",
        "threshold": 0.5,
        "config": {"tta": 4},  # --tta averages the study recipe's 4 copies (the default has none)
    }
    out.mkdir(parents=True, exist_ok=True)
    if TrainConfig().ensemble == "baseline":  # the default averages with the baseline: time it
        import numpy as np

        from thermocad.models.baseline import LinearBaseline, baseline_features
        from thermocad.synth.cohort import synth_patient

        frames, _, _ = synth_patient(np.random.default_rng(0), sick=False)  # for the names only
        n = len(columns := list(baseline_features(next(iter(frames.values())))))
        meta["baseline"] = LinearBaseline(columns, [0.0] * n, [1.0] * n, [0.0] * n, 0.0).to_dict()
    model = create_model(arch, pretrained=False, in_chans=transform.in_chans)
    return save_bundle(out, model, meta)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parse workers), all threads."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def stage_seconds(model, arrays) -> dict[str, float]:
    """CPU seconds per thermogram of each stage of predict, arrays already in memory."""
    import numpy as np

    def timed(fn) -> float:
        start = time.process_time()
        fn()
        return (time.process_time() - start) / len(arrays)

    maps = np.stack([model.transform.prepare(a) for a in arrays])
    out = {"transform": timed(lambda: [model.transform.prepare(a) for a in arrays])}
    if model.baseline is not None:
        out["baseline"] = timed(lambda: model.baseline.predict_arrays(arrays))
    if hasattr(model, "session"):  # OnnxModel
        out["network"] = timed(
            lambda: [
                model.run_input(model.transform.finish_numpy(maps[i : i + 16]))
                for i in range(0, len(maps), 16)
            ]  # fmt: skip
        )
    else:
        from thermocad.models.bundle import map_probs

        out["network"] = timed(lambda: [map_probs(model.model, maps[i : i + 16], model.transform)
                                        for i in range(0, len(maps), 16)])  # fmt: skip
    return out


def cli_startup_seconds(repeats: int = 3) -> float:
    """Best wall time of `thermocad --help` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "thermocad", "--help"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="existing run directory (default: an untrained bundle)")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--n", type=int, default=32, help="number of thermograms")
    parser.add_argument("--data", help="folder of real DMR text files (default: synthetic ones)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # its model and files: 64 MB
    load_before = f"{os.getloadavg()[0]:.2f}"  # other jobs on a 2-core machine skew the numbers
    os.environ["THERMOCAD_CACHE_DIR"] = str(work / "cache")  # cold parse cache
    os.environ["THERMOCAD_QUIET"] = "1"
    import torch

    from thermocad.inference.collect import collect_files
    from thermocad.inference.export import export_onnx
    from thermocad.inference.onnx import OnnxModel
    from thermocad.inference.predict import predict_bundle
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle
    from thermocad.synth.cohort import generate_cohort

    if args.data:
        files = collect_files([args.data])[0][: args.n]
    else:
        generate_cohort(work / "data", n_patients=args.n, seed=0)
        files = collect_files([work / "data"])[0]
    run = Path(args.run) if args.run else make_bundle(args.arch, work / "run")
    start = time.perf_counter()
    bundle = load_bundle(run)
    load_s = time.perf_counter() - start
    onnx_model = OnnxModel(export_onnx(run, work / "model.onnx"), device="cpu")
    arrays = [read_thermal(f).array for f in files]  # also fills the parse cache
    size = bundle.meta["input_size"]
    print(
        f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    kind = "real" if args.data else "synthetic"
    shape = "x".join(map(str, arrays[0].shape))
    print(
        f"model: {bundle.meta['arch']} at {size} px; {len(files)} {kind} DMR text files ({shape})"
    )
    print(f"load average before: {load_before}")
    print(f"load_bundle: {load_s:.2f} s")
    for name, model in (("PyTorch", bundle), ("ONNX Runtime", onnx_model)):
        model.predict(arrays[:2])  # warm-up (first-call initialisation)
        parts = stage_seconds(model, arrays)
        print(
            f"{name}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in parts.items())
            + " s CPU per thermogram"
        )
        for label, tta in (("warm cache", False), ("warm cache, --tta", True)):
            start, cpu = time.perf_counter(), cpu_seconds()
            table, errors = predict_bundle(model, files, tta=tta)
            assert len(table) == len(files) and not errors
            sec, cpu = (
                (time.perf_counter() - start) / len(files),
                (cpu_seconds() - cpu) / len(files),
            )
            print(
                f"{name}: predict folder ({label}): {sec:.3f} s wall, {cpu:.3f} s CPU per thermogram"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"thermocad --help start-up: {cli_startup_seconds():.2f} s")


if __name__ == "__main__":
    main()
