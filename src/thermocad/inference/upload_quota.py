"""What a request to the web app may send, and so store: one file's bytes to Gradio's upload
route, a little to any other route, and a total over the time Gradio's sweep keeps an upload.
Gradio caps each file (max_file_size) but takes up to 1000 of them per upload request, and a
file given inline (base64) or to another route (component_server) is stored too; it keeps
each for 10-20 minutes (delete_cache), so anyone who reached the port could fill the disk
(199 MB stored in 0.6 s: docs/benchmarks.md). This ASGI middleware stands before every route
and counts the bytes of every POST as they arrive: a request past its cap is refused with 413,
and one that takes the last 20 minutes' bytes past the budget with 429 (whatever its
Content-Length said: a request that declares 20 MiB and sends nothing spends nothing). A
request that names a file by an http(s) URL, which Gradio would download itself, uncounted and
of any size, is refused with 400: files come by upload."""

from __future__ import annotations

import collections
import json
import math
import threading
import time
from collections.abc import Callable

# The page sends one file per request: a multipart request of one file at the app's limit is
# that file plus its part headers and boundaries (a few hundred bytes; this leaves 64 KiB).
# Bytes are capped, not files: several small files together within it pass.
MULTIPART_SLACK = 64 * 1024
# Any other POST (queue/join, an API call) is JSON of a few hundred bytes: a file's path, the
# checkbox, a session. A file sent inline as base64, which Gradio would store, is refused.
OTHER_POST = 2**20
# What the uploads the sweep has not yet removed may hold on disk: 1 GiB, about 400 full-size
# DMR-IR text files (2.5 MB) in the 20 minutes an upload may stay.
UPLOAD_BUDGET = 2**30


def quota_middleware(max_mb: int, sweep: tuple[int, int]) -> list:
    """The app's middleware list (FastAPI's `middleware=`): one file of `max_mb` MiB per
    upload request, OTHER_POST bytes for any other, UPLOAD_BUDGET over the time Gradio's
    sweep (`delete_cache`: every sweep[0] seconds, uploads older than sweep[1]) may keep one."""
    from starlette.middleware import Middleware

    return [Middleware(UploadQuota, per_request=max_mb * 2**20 + MULTIPART_SLACK,
                       budget=UPLOAD_BUDGET, keep_s=float(sum(sweep)))]  # fmt: skip


class _Refused(Exception):
    """The request's body ran past its cap (413) or the budget (429) while it was read."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class UploadQuota:
    """ASGI middleware: a POST to .../upload at most `per_request` bytes, any other POST at
    most OTHER_POST, and all of them together at most `budget` bytes over the last `keep_s`
    seconds (what the sweep may still hold), counted as they arrive."""

    def __init__(self, app, per_request: int, budget: int, keep_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.app, self.per_request, self.budget, self.keep_s = app, per_request, budget, keep_s
        self._clock = clock
        self._taken: collections.deque[list] = collections.deque()  # [time, bytes], oldest first
        self._total = 0
        self._lock = threading.Lock()
        self._refused, self._noted = 0, float("-inf")  # refusals since the last log line; its time

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        # Gradio's upload route alone (its run/{api_name} takes any name: "upload" too)
        upload = scope.get("path", "").rstrip("/").endswith("/gradio_api/upload")
        cap = self.per_request if upload else OTHER_POST
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await self._refuse(send, 413, self._words(413, upload, declared))
            return
        if declared is not None and not self._room(declared):
            await self._refuse(send, 429, self._words(429, upload), declared)
            return
        entry, received, started = None, 0, False

        async def counted():
            nonlocal entry, received
            message = await receive()
            if message.get("type") == "http.request" and (n := len(message.get("body", b""))):
                received += n
                if received > cap:
                    raise _Refused(413)
                entry = self._add(entry, n)
                if entry is None:
                    raise _Refused(429)
            return message

        async def sending(message) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        try:
            if not upload:  # read whole (at most OTHER_POST) to see what it names
                messages, body = await _whole_body(counted)
                if names_a_url(body):
                    await self._refuse(send, 400, URL_REFUSED)
                    return
                counted = _replayed(messages, counted)
            await self.app(scope, counted, sending)
        except _Refused as refused:
            if not started:
                await self._refuse(
                    send, refused.status, self._words(refused.status, upload, received), received
                )

    async def _refuse(self, send, status: int, text: str, size: int = 0) -> None:
        """Answer `status` with `text`, and say it in the server's log: the first refusal, then
        at most a line a minute counting the others (a soak review: 7,000 refusals over 13
        minutes had left the log silent while every user was turned away)."""
        with self._lock:
            self._refused += 1
            due = self._clock() - self._noted >= 60
            if due:
                count, self._refused, self._noted = self._refused, 0, self._clock()
        if due:
            from thermocad.utils.progress import log

            log(f"warning: {count} request(s) refused with HTTP {status} since the last such "
                f"note (the last: {text})")  # fmt: skip
        await _refuse(send, status, text, self._retry_after(size) if status == 429 else None)

    def _retry_after(self, size: int) -> int:
        """Seconds until enough of the bytes counted leave the budget for `size` more (a 429's
        Retry-After: an API review, the client had no way to know when to try again)."""
        with self._lock:
            self._expire()
            now, over, wait = self._clock(), self._total + size - self.budget, 0.0
            for stamp, n in self._taken:  # oldest first: each leaves keep_s after it came
                if over <= 0:
                    break
                over, wait = over - n, stamp + self.keep_s - now
            return max(1, math.ceil(self.keep_s if over > 0 else wait))  # > budget: the whole

    def _room(self, size: int) -> bool:
        """Whether `size` more bytes fit in the budget now (nothing is taken)."""
        with self._lock:
            self._expire()
            return self._total + size <= self.budget

    def _add(self, entry: list | None, size: int) -> list | None:
        """Count `size` bytes of a request (its `entry`, made at its first bytes); None when the
        budget is spent (the bytes are counted all the same: they may have been stored)."""
        with self._lock:
            self._expire()
            if entry is None:
                entry = [self._clock(), 0]
                self._taken.append(entry)
            entry[1] += size
            self._total += size
            return entry if self._total <= self.budget else None

    def _expire(self) -> None:
        horizon = self._clock() - self.keep_s
        while self._taken and self._taken[0][0] < horizon:
            self._total -= self._taken.popleft()[1]

    def _words(self, status: int, upload: bool, size: int | None = None) -> str:
        what = "upload" if upload else "request"
        if status == 429:
            return (f"{what} refused: this app has stored as much as it keeps for "
                    f"{self.keep_s / 60:.0f} minutes; try again later")  # fmt: skip
        limit = (f"at most one file of the app's size limit, {self.per_request:,} bytes, per "
                 "request" if upload else f"at most {OTHER_POST:,} bytes")  # fmt: skip
        return f"{what} of {size:,} bytes or more refused: {limit}"


URL_REFUSED = (
    "a file named by URL is not fetched by this app (it would be downloaded uncounted, "
    "of any size): upload the file itself"
)


def names_a_url(body: bytes) -> bool:
    """Whether a JSON request names a file (Gradio's FileData) by an http(s) URL as its "path",
    which Gradio would download before the app sees it (the page sends uploaded files' paths)."""
    named = []

    def each_object(item: dict) -> dict:  # json calls it for every object, nested ones too
        path = item.get("path")
        named.append(isinstance(path, str) and path.startswith(("http://", "https://")))
        return item

    try:
        json.loads(body, object_hook=each_object)
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): names no file
        return False
    return any(named)


async def _whole_body(receive) -> tuple[list[dict], bytes]:
    """A request's body messages, up to the last, and the bytes they hold."""
    messages = [await receive()]
    while messages[-1].get("type") == "http.request" and messages[-1].get("more_body"):
        messages.append(await receive())
    return messages, b"".join(m.get("body", b"") for m in messages)


def _replayed(messages: list[dict], receive) -> Callable:
    """A receive() that gives `messages` again, then what `receive` gives."""
    pending = collections.deque(messages)

    async def replay() -> dict:
        return pending.popleft() if pending else await receive()

    return replay


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                size = int(value)
            except ValueError:
                return None
            return size if size >= 0 else None
    return None


async def _refuse(send, status: int, text: str, retry_after: int | None = None) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
