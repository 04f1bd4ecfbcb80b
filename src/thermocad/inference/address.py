"""Where the web app listens: the address checked before it starts, and said when it does."""

from __future__ import annotations

import ipaddress
import os

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# Headers a reverse proxy adds: a request with one came from elsewhere, even where the app
# listens on 127.0.0.1 alone (a proxy on this machine connects from there).
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
# Said when the page is served to others: a file's name alone no longer says she trained it.
UNNAMED = ("note: served beyond this machine or through a proxy (--root-path), the page does "
           "not say that a file's patient number is a training woman's (a visitor could list "
           "them by trying names); a file that is one of its training files, byte for byte or "
           "saved again, is still noted")  # fmt: skip


def on_this_machine(request) -> bool:
    """Whether a page's request came from this machine, through no proxy: its client a loopback
    address and none of PROXY_HEADERS. No request (a call from Python) is this machine's."""
    if request is None:
        return True
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(getattr(request.client, "host", None) or "")
    except ValueError:  # no client, or a name (a test client's)
        return False
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback


def upload_handler(answer, seen: frozenset[str], request_class):
    """The upload's function for Gradio: answer(path, allow, seen), told the training women's
    numbers `seen` only on a page opened on this machine directly (on_this_machine). Gradio
    passes the request to a parameter annotated with its Request class `request_class`."""

    def analyse_upload(path, allow, request=None):
        if type(allow) is not bool:  # an API call's "false" (a string) had ticked the box
            import gradio as gr

            raise gr.Error(f"the box (allow) must be true or false, got {allow!r:.40}")
        return answer(path, bool(allow), seen if on_this_machine(request) else frozenset())

    analyse_upload.__annotations__["request"] = request_class  # the class, not a string
    return analyse_upload


def address_lines(host: str, port: int, root_path: str | None = None) -> list[str]:
    """What serve() logs about where it listens, with a warning when that is not local only;
    `root_path`: the path a reverse proxy serves the page under (serve's --root-path)."""
    every = host in ("0.0.0.0", "::", "")  # no address to open: say which ones are
    lines = [f"listening on http://{host}:{port}" if not every else
             f"listening on port {port} of every interface: http://127.0.0.1:{port} on this "
             f"machine, http://<this machine's name or address>:{port} from others"]  # fmt: skip
    if root_path:
        lines.append(f"open it through the proxy: its page's links point under {root_path} "
                     "(--root-path)")  # fmt: skip
    if every:
        lines.append(
            f"warning: --host {host or '(empty)'} listens on EVERY network interface: anyone "
            "who can reach this machine can upload files; there is no login or encryption"
        )
    elif host not in LOCAL_HOSTS:
        lines.append(f"warning: listening on {host}, not only on this machine (127.0.0.1)")
    # Behind a proxy (--root-path) the visitors are others, whatever headers it adds
    return [*lines, UNNAMED] if host not in LOCAL_HOSTS or root_path else lines


def check_address(host: str, port: int | None) -> int | None:
    """Refuse, in one line naming --host and --port, an address this machine cannot serve on
    (Gradio's own message speaks of its port range and environment variables); return the
    port to serve on: `port`, or for 0 a free one the system gives (Gradio takes no 0)."""
    import socket

    from thermocad.utils.errors import ConfigError

    where = f"{host}:{port}" if port else host
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"cannot serve on {where}: a port is a number in 0..65535 (check --port)")
    try:
        with socket.create_server((host, port or 0)) as probe:
            free = probe.getsockname()[1]
    except OSError as exc:
        # A host that does not resolve has a negative (getaddrinfo) number: say its own text.
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or exc
        reason = str(reason).split(" (while attempting")[0]
        raise ConfigError(f"cannot serve on {where}: {reason} (check --host and "
                          "--port)") from exc  # fmt: skip
    return free if port == 0 else port


def check_root_path(root_path: str | None) -> str:
    """The path a reverse proxy serves the page under, as Gradio's root_path takes it: `root_path`,
    or where None Gradio's own GRADIO_ROOT_PATH, else "" (served at /). Refuses, in one line, a
    path that is neither "/NAME..." nor a full http(s) URL."""
    from thermocad.utils.errors import ConfigError

    given = os.environ.get("GRADIO_ROOT_PATH", "") if root_path is None else root_path
    where = "--root-path" if root_path is not None else "GRADIO_ROOT_PATH"
    if given and not given.startswith(("/", "http://", "https://")):
        raise ConfigError(f"{where} {given!r}: give the path the proxy serves the app under, "
                          "starting with / (e.g. /thermocad), or a full http(s):// URL")  # fmt: skip
    return given.rstrip("/")
