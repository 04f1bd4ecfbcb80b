"""What the web app costs while no one uses it.

Gradio's queue looks for work every millisecond when it has none (every 50 ms on Windows), and
for progress to send every 10 ms: 4-7% of a core for a server at rest (docs/benchmarks.md, "The
web app at rest"). An analysis takes seconds, so looking every 50 ms and 100 ms, as Gradio does
on Windows, costs a visitor nothing. Attributes of Gradio's `Queue`, not an API: a Gradio
without them is left as it is (tests/inference/test_app_onnx.py checks that they are still
there). `Blocks.queue()` makes a new queue, with Gradio's polling: call it before this.
"""

from __future__ import annotations

from typing import Any

RESTS = {"sleep_when_free": 0.05, "progress_update_sleep_when_free": 0.1}  # seconds


def rest_when_free(demo: Any) -> None:
    """Slow the polling of `demo`'s queue when it has no work to RESTS (never speed it up)."""
    queue = getattr(demo, "_queue", None)
    for name, seconds in RESTS.items():
        if isinstance(now := getattr(queue, name, None), int | float):
            setattr(queue, name, max(now, seconds))
