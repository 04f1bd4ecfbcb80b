"""What Gradio's upload route may store: one file's bytes per request, and a total over the
time its sweep keeps an upload. Gradio caps each file (max_file_size) but takes up to 1000
of them per request and keeps every one for 10-20 minutes (delete_cache), so anyone who
reached the port could fill the disk (199 MB stored in 0.6 s: docs/benchmarks.md). This ASGI
middleware stands before the route: a request larger than one file is refused with 413, and
one that would take the last KEEP_S seconds' uploads past the budget with 429."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

# The page sends one file per request: a multipart request of one file at the app's limit is
# that file plus its part headers and boundaries (a few hundred bytes; this leaves 64 KiB).
MULTIPART_SLACK = 64 * 1024
# What the uploads the sweep has not yet removed may hold on disk: 1 GiB, about 400 full-size
# DMR-IR text files (2.5 MB) in the 20 minutes an upload may stay.
UPLOAD_BUDGET = 2**30


def quota_middleware(max_mb: int, sweep: tuple[int, int]) -> list:
    """The app's middleware list (FastAPI's `middleware=`): one file of `max_mb` MiB per
    request, UPLOAD_BUDGET over the time Gradio's sweep (`delete_cache`: every sweep[0]
    seconds, uploads older than sweep[1]) may keep an upload."""
    from starlette.middleware import Middleware

    return [Middleware(UploadQuota, per_request=max_mb * 2**20 + MULTIPART_SLACK,
                       budget=UPLOAD_BUDGET, keep_s=float(sum(sweep)))]  # fmt: skip


class _TooLarge(Exception):
    """The request's body ran past its cap while Gradio read it (no Content-Length said so)."""


class UploadQuota:
    """ASGI middleware for POST .../upload: at most `per_request` bytes a request, and at most
    `budget` bytes over the last `keep_s` seconds (what the sweep may still hold)."""

    def __init__(self, app, per_request: int, budget: int, keep_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.app, self.per_request, self.budget, self.keep_s = app, per_request, budget, keep_s
        self._clock = clock
        self._taken: collections.deque[tuple[float, int]] = collections.deque()
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if not _is_upload(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.per_request:
            await _refuse(send, 413, f"upload of {declared:,} bytes refused: at most one file "
                          f"of the app's size limit per request ({self.per_request:,} bytes)")  # fmt: skip
            return
        if not self._take(declared or 0):
            await _refuse(send, 429, "upload refused: this app has stored as much as it keeps "
                          f"for {self.keep_s / 60:.0f} minutes; try again later")  # fmt: skip
            return
        received, started = 0, False

        async def counted():
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.per_request:
                    raise _TooLarge
            return message

        async def sending(message) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, "upload refused: more than one file of the app's size "
                              f"limit in one request ({self.per_request:,} bytes)")  # fmt: skip
        finally:
            self._settle(declared or 0, received)

    def _take(self, size: int) -> bool:
        """Reserve `size` bytes of the budget, if the last keep_s seconds leave room."""
        now = self._clock()
        with self._lock:
            while self._taken and self._taken[0][0] < now - self.keep_s:
                self._taken.popleft()
            if sum(n for _, n in self._taken) + size > self.budget:
                return False
            self._taken.append((now, size))
            return True

    def _settle(self, reserved: int, received: int) -> None:
        """Count what the request really sent (a body without Content-Length reserved 0)."""
        if received > reserved:
            with self._lock:
                self._taken.append((self._clock(), received - reserved))


def _is_upload(scope) -> bool:
    return (scope.get("type") == "http" and scope.get("method") == "POST"
            and scope.get("path", "").rstrip("/").endswith("/upload"))  # fmt: skip


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                size = int(value)
            except ValueError:
                return None
            return size if size >= 0 else None
    return None


async def _refuse(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
