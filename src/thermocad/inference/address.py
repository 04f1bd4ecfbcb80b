"""Where the web app listens: the address checked before it starts, and said when it does."""

from __future__ import annotations

import os

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# Said when the page is served to others: a file's name alone no longer says she trained it.
UNNAMED = ("note: served beyond this machine, the page does not say that a file's patient "
           "number is a training woman's (a visitor could list them by trying names); a file "
           "that is one of its training files, byte for byte or saved again, is still noted")  # fmt: skip


def address_lines(host: str, port: int) -> list[str]:
    """What serve() logs about where it listens, with a warning when that is not local only."""
    lines = [f"listening on http://{host}:{port}"]
    if host in ("0.0.0.0", "::", ""):
        lines.append(
            f"warning: --host {host or '(empty)'} listens on EVERY network interface: anyone "
            "who can reach this machine can upload files; there is no login or encryption"
        )
    elif host not in LOCAL_HOSTS:
        lines.append(f"warning: listening on {host}, not only on this machine (127.0.0.1)")
    return lines + ([UNNAMED] if host not in LOCAL_HOSTS else [])


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
