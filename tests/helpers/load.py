"""A bounded load test of the running web app: parallel uploads through Gradio's client API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoadResult:
    """Every upload's answer (file, result line, status) and its latency in seconds."""

    answers: list[tuple[Path, str, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def upload_load(
    url: str, files: list[Path], n: int = 60, workers: int = 24, timeout_s: float = 300
) -> LoadResult:
    """Upload `files` round-robin `n` times, `workers` at once, to the app's /analyse endpoint.

    Bounded: at most `n` requests, and every wait ends at one overall `timeout_s` deadline
    (a request not answered by then is a failure); the client is closed either way."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client, handle_file

    # httpx's 5 s default would fail uploads that merely wait while the server is busy.
    client = Client(
        url,
        verbose=False,
        download_files=False,
        max_workers=workers,
        httpx_kwargs={"timeout": timeout_s},
    )
    result = LoadResult()
    start = time.monotonic()
    deadline = start + timeout_s

    def one(i: int) -> tuple[Path, str, str, float]:
        path = files[i % len(files)]
        t0 = time.monotonic()
        job = client.submit(handle_file(str(path)), False, api_name="/analyse")
        outputs = job.result(timeout=max(1.0, deadline - time.monotonic()))
        return path, outputs[2], outputs[3], time.monotonic() - t0

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, i) for i in range(n)]
            for i, future in enumerate(futures):
                try:
                    path, answer, status, latency = future.result(
                        timeout=max(1.0, deadline - time.monotonic())
                    )
                except Exception as exc:  # noqa: BLE001 - a load test counts failures, not raises
                    result.failures.append(f"upload {i}: {type(exc).__name__}: {exc}")
                    continue
                result.answers.append((path, answer, status))
                result.latencies.append(latency)
    finally:
        client.close()
    result.seconds = time.monotonic() - start
    return result


def expected_probs(bundle, files: list[Path]) -> dict[Path, float]:
    """P(Sick) as `predict` gives it for each file."""
    from thermocad.inference.predict import predict_bundle

    table, errors = predict_bundle(bundle, files, workers=1)
    assert not errors, errors
    return {
        Path(f).resolve(): float(p) for f, p in zip(table["file"], table["prob_sick"], strict=True)
    }


def app_prob(result: str) -> float:
    """The P(Sick) in the app's result line "T0001.txt: P(Sick) = 0.1234, below the ..."."""
    return float(result.split("=", 1)[1].split(",", 1)[0])
