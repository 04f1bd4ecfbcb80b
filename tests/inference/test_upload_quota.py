"""What Gradio's upload route may store (inference/upload_quota.py): one full-size file's bytes a
request, and a budget over the time Gradio's sweep keeps an upload. Before it, anyone who
reached the port could post 1000 files of 20 MiB a request and fill the disk."""

from __future__ import annotations

import asyncio

import pytest

from thermocad.inference.upload_quota import UploadQuota


class Route:
    """An ASGI app that reads the whole body, as Gradio's upload route does, and answers 200."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def answered(app, chunks: list[bytes], length: int | None, path: str = "/gradio_api/upload"):
    """What `app` sends back to a POST of `chunks` (Content-Length `length`): its messages."""
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]  # fmt: skip
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def post(app, chunks: list[bytes], length: int | None, path: str = "/gradio_api/upload"):
    """The status and body `app` answers to a POST of `chunks` (Content-Length `length`)."""
    sent = answered(app, chunks, length, path)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_one_request_holds_one_full_size_files_bytes_at_most(monkeypatch):
    import thermocad.inference.upload_quota as Q

    monkeypatch.setattr(Q, "OTHER_POST", 50)
    route = Route()
    quota = UploadQuota(route, per_request=100, budget=10_000, keep_s=60)
    assert post(quota, [b"x" * 100], 100) == (200, b"ok")
    status, said = post(quota, [b"x" * 101], 101)  # said by its Content-Length: never read
    assert status == 413 and b"at most one file" in said and route.calls == 1
    # A body without Content-Length is counted as it arrives.
    status, said = post(quota, [b"x" * 60, b"x" * 60], None)
    assert status == 413 and b"at most one file" in said
    # Any other route takes a little: a file given inline (base64) would be stored too.
    assert post(quota, [b"x" * 50], 50, path="/gradio_api/queue/join") == (200, b"ok")
    status, said = post(quota, [b"x" * 30, b"x" * 30], None, path="/gradio_api/component_server")
    assert status == 413 and b"request of 60 bytes or more refused: at most 50 bytes" in said


def test_a_file_named_by_url_is_refused_as_gradio_would_fetch_it_uncounted():
    """Gradio downloads a FileData whose path is an http(s) URL itself, of any size and past
    the budget; the page sends the paths of files it uploaded, which pass."""
    import json

    route = Route()
    quota = UploadQuota(route, per_request=100, budget=10_000, keep_s=60)

    def join(path: str, chunks: int = 1) -> tuple[int, bytes]:
        body = json.dumps({"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}}],
                                    True], "fn_index": 0}).encode()  # fmt: skip
        half = len(body) // 2
        parts = [body] if chunks == 1 else [body[:half], body[half:]]
        return post(quota, parts, None, path="/gradio_api/queue/join")

    status, said = join("https://example.org/big.bin")
    assert status == 400 and b"named by URL is not fetched" in said and route.calls == 0
    assert join("http://10.0.0.1/x.txt", chunks=2)[0] == 400  # a body in two messages
    assert join("/tmp/gradio/0a1b/T0012.txt", chunks=2) == (200, b"ok")  # read whole, replayed
    assert route.calls == 1
    assert post(quota, [b"not json"], 8, path="/gradio_api/queue/join") == (200, b"ok")
    # Gradio's run/{api_name} takes any name with fn_index: "upload" is no upload route (a diff
    # review: its body had passed unread, with the upload route's cap)
    named = json.dumps({"data": [{"path": "https://example.org/big.bin"}], "fn_index": 0})
    assert post(quota, [named.encode()], None, path="/gradio_api/run/upload")[0] == 400
    # ... nor is its cap the upload's one file (100 bytes here) but any request's
    assert post(quota, [b"x" * 150], 150, path="/gradio_api/api/upload/")[0] == 200
    assert route.calls == 3


def test_the_apps_quota_holds_one_full_size_file_and_the_budget_over_the_sweeps_whole_time():
    """An upload stays until the sweep after it is `sweep[1]` old: up to sum(sweep) seconds, so
    the budget's window is that (half of it would let 2 GiB wait on disk), and a request holds
    one full-size file with its multipart framing (a mutation review: neither was read)."""
    pytest.importorskip("starlette")  # Gradio's, in [app]
    from thermocad.inference.upload_quota import MULTIPART_SLACK, UPLOAD_BUDGET, quota_middleware

    (middleware,) = quota_middleware(20, (600, 600))
    assert middleware.kwargs == {"per_request": 20 * 2**20 + MULTIPART_SLACK,
                                 "budget": UPLOAD_BUDGET, "keep_s": 1200.0}  # fmt: skip
    assert 4096 <= MULTIPART_SLACK <= 2**20  # room for the form's boundaries and headers


def test_refusals_are_said_in_the_log_at_most_a_line_a_minute(capsys):
    """A soak review: 7,000 refusals over 13 minutes had left the server's log silent."""
    now = [0.0]
    quota = UploadQuota(Route(), per_request=100, budget=100, keep_s=600, clock=lambda: now[0])
    assert post(quota, [b"x" * 100], 100)[0] == 200
    for t in (1, 2, 30, 61, 62):
        now[0] = t
        assert post(quota, [b"x" * 10], 10)[0] == 429
    lines = [line for line in capsys.readouterr().err.splitlines() if "refused" in line]
    assert len(lines) == 2 and "1 request(s) refused with HTTP 429" in lines[0]
    assert "3 request(s) refused with HTTP 429 since the last such note" in lines[1]
    assert lines[1].endswith("(the last: upload refused: this app has stored as much as it "
                             "keeps for 10 minutes; try again later)")  # fmt: skip


def test_the_budget_counts_what_arrives_and_frees_up_after_the_sweeps_time():
    now = [0.0]
    route = Route()
    quota = UploadQuota(route, per_request=100, budget=250, keep_s=60, clock=lambda: now[0])
    assert [post(quota, [b"x" * 100], 100)[0] for _ in range(3)] == [200, 200, 429]
    assert post(quota, [b"x" * 10], 10)[0] == 200  # 210 of 250 taken: a small one still fits
    # A request that declares much and sends nothing spends nothing (it had reserved it all).
    assert [post(quota, [b""], 30)[0] for _ in range(5)] == [200] * 5
    now[0] = 61.0  # the sweep has removed them by now
    assert post(quota, [b"x" * 100], 100)[0] == 200
    # Without Content-Length, counted as the bytes arrive: past the budget, refused at once.
    now[0] = 200.0
    assert post(quota, [b"x" * 100, b"x"], None)[0] == 413  # 101 bytes: over one file
    assert [post(quota, [b"x" * 90], None)[0] for _ in range(3)] == [200, 429, 429]
    assert b"try again later" in post(quota, [b"x"], 1)[1]
    assert route.calls == 13  # those refused by their Content-Length never reached it


@pytest.mark.slow
def test_the_served_app_refuses_two_files_in_one_upload(run_dir):
    """Gradio's own cap is per file (max_file_size): two files under it in one request had
    been stored; the app's route now takes one."""
    import httpx

    from thermocad.inference.app import serve

    demo = serve(run_dir, port=0, block=False)
    try:
        url = f"http://127.0.0.1:{demo.server_port}/gradio_api/upload"
        big = b"0" * (12 * 2**20)  # each under the 20 MiB limit, together over it
        two = [("files", ("a.txt", big, "text/plain")), ("files", ("b.txt", big, "text/plain"))]
        reply = httpx.post(url, files=two, timeout=60)
        assert reply.status_code == 413 and "at most one file" in reply.text
        one = httpx.post(url, files=[("files", ("a.txt", b"1 2\n3 4\n", "text/plain"))], timeout=60)
        assert one.status_code == 200 and one.json()[0].endswith("a.txt")
        full = [("files", ("full.txt", b"0" * (20 * 2**20), "text/plain"))]  # at the limit
        assert httpx.post(url, files=full, timeout=60).status_code == 200
    finally:
        demo.close()


def test_a_refusal_for_the_budget_says_when_to_try_again():
    """An API review: a client refused with 429 had no Retry-After to wait by."""
    now = [0.0]
    quota = UploadQuota(Route(), per_request=100, budget=150, keep_s=60, clock=lambda: now[0])
    assert post(quota, [b"x" * 100], 100)[0] == 200
    now[0] = 20.5
    status, headers = _refusal_headers(quota, [b"x" * 100], 100)
    assert status == 429 and (b"retry-after", b"40") in headers  # 60 - 20.5
    # Room for the request, not the oldest bytes alone (a diff review): 1 byte at 0 and 99 at
    # 30 of a budget of 100; 50 more fit once the 99 have gone, at 90.
    now[0] = 100.0
    quota = UploadQuota(Route(), per_request=100, budget=100, keep_s=60, clock=lambda: now[0])
    post(quota, [b"x"], 1)
    now[0] = 130.0
    post(quota, [b"x" * 99], 99)
    now[0] = 131.0
    assert (b"retry-after", b"59") in _refusal_headers(quota, [b"x" * 50], 50)[1]  # 130 + 60 - 131


def _refusal_headers(quota, chunks: list[bytes], length: int | None) -> tuple[int, list]:
    """The status and headers `quota` answers a POST to the upload route with."""
    start = next(m for m in answered(quota, chunks, length) if m["type"] == "http.response.start")
    return start["status"], start["headers"]


def test_retry_after_is_the_wait_until_this_request_fits_and_only_for_429():
    """A mutation review: the exact edge, the request's own size when it came without
    Content-Length, a request larger than the whole budget, and no Retry-After on a 413."""
    now = [0.0]
    quota = UploadQuota(Route(), per_request=100, budget=100, keep_s=60, clock=lambda: now[0])
    post(quota, [b"x" * 50], 50)
    now[0] = 10.0
    post(quota, [b"x" * 50], 50)
    now[0] = 20.0  # 50 more fit as soon as the first 50 go, at 60
    assert (b"retry-after", b"40") in _refusal_headers(quota, [b"x" * 50], 50)[1]
    # Sent without Content-Length: refused at its first 30 bytes, which the budget now holds
    # too; sent again, 30 more fit once both 50s have gone, at 70.
    status, headers = _refusal_headers(quota, [b"x" * 30, b"x" * 40], None)
    assert status == 429 and (b"retry-after", b"50") in headers
    status, headers = _refusal_headers(quota, [b"x" * 101], 101)
    assert status == 413 and not [h for h in headers if h[0] == b"retry-after"]
    big = UploadQuota(Route(), per_request=500, budget=100, keep_s=60, clock=lambda: now[0])
    assert (b"retry-after", b"60") in _refusal_headers(big, [b"x" * 200], 200)[1]  # never fits
