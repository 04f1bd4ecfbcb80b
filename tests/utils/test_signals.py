"""A Ctrl+C that Python drops inside a finaliser still stops the command (render once went on
to the end, or failed with a library's traceback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thermocad.cli import _run

ROOT = Path(__file__).resolve().parents[2]
DROPPED = textwrap.dedent(
    """
    import os, signal, sys, time
    from thermocad.utils.progress import progress
    from thermocad.utils.signals import sigint_as_sticky_interrupt

    if sys.argv[1] == "sticky":
        sigint_as_sticky_interrupt()  # as the `thermocad` command does
    else:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    class Finalised:  # a matplotlib weakref callback: Python prints its exception and goes on
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)  # the handler runs here, inside the finaliser, however loaded the machine

    done = 0
    try:
        for _ in progress(range(5), "items"):
            Finalised()
            done += 1
    except KeyboardInterrupt:
        print("interrupted after", done)
        sys.exit(130)
    print("finished", done)
    """
)


def _run_dropped(mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "THERMOCAD_QUIET": "1"}
    # Started as from a terminal: pytest-xdist's workers ignore SIGINT, and a child inherits
    # that (the CLI then leaves Ctrl+C alone, as for `cmd &` in a script).
    return subprocess.run([sys.executable, "-c", DROPPED, mode], env=env, capture_output=True,
                          text=True, timeout=60, preexec_fn=_default_sigint)  # fmt: skip


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupt_dropped_in_a_finaliser_stops_at_the_next_item():
    plain = _run_dropped("plain")  # what Python does by itself: the loop never stops
    assert plain.stdout.strip() == "finished 5" and "Exception ignored" in plain.stderr
    sticky = _run_dropped("sticky")
    assert sticky.returncode == 130 and sticky.stdout.strip() == "interrupted after 1"


def test_a_command_that_fails_after_an_interrupt_is_reported_interrupted(monkeypatch, capsys):
    import argparse

    import thermocad.cli as cli

    def fails(args):
        raise ValueError("singular matrix [[0, 0, 1]]")  # a library stopped halfway

    args = argparse.Namespace(func=fails, command="render", out=None)
    monkeypatch.setattr(cli, "interrupt_received", lambda: True)
    assert _run(args) == 130
    assert capsys.readouterr().err == "thermocad: interrupted\n"
    monkeypatch.setattr(cli, "interrupt_received", lambda: False)
    assert _run(args) == 1  # without an interrupt it is a bug: its traceback shows
    err = capsys.readouterr().err
    assert "ValueError: singular matrix" in err and "an unexpected error, a bug in thermocad" in err


def test_a_command_started_with_ctrl_c_ignored_keeps_ignoring_it():
    """`thermocad ... &` in a script starts with SIGINT ignored, as Python leaves it."""
    code = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "from thermocad.utils.signals import sigint_as_sticky_interrupt\n"
            "sigint_as_sticky_interrupt()\nprint(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True"


def test_sigterm_stops_a_command_as_ctrl_c_does(tmp_path):
    """`timeout`, a batch scheduler and `docker stop` send SIGTERM: the command's clean-up runs
    (its folder's lock goes) and it exits 143 saying so. It had ended at once, leaving the
    folder locked and half written, and only export and serve handled it."""
    import contextlib
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "THERMOCAD_QUIET": "1"}
    out = tmp_path / "synth"
    proc = subprocess.Popen([sys.executable, "-m", "thermocad", "synth", "--out", str(out),
                             "--patients", "400", "--height", "240", "--width", "320"],
                            env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(out.glob("T*.txt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)  # `timeout` sends it again to the process group: not into the clean-up
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # 143; or, when the second signal lands as Python finalises (its handlers reset), killed
    # by it: a shell says 143 all the same.
    assert proc.returncode in (143, -signal.SIGTERM), err
    assert err.strip().endswith("thermocad: interrupted") and "Traceback" not in err
    assert not (out / ".thermocad.lock").exists() and (out / "INCOMPLETE").exists()


def test_an_interrupt_outside_the_commands_handlers_still_exits_130(monkeypatch, capsys):
    """A kill review: a signal landing while main() starts (or in a handler) escaped it, and the
    process died of SIGINT instead of exiting 130 (or 143) with its line."""
    import thermocad.cli as cli

    def stopped():
        raise KeyboardInterrupt

    import thermocad.utils.signals as S

    monkeypatch.setattr(cli, "main", stopped)
    monkeypatch.setattr(S, "sigint_as_sticky_interrupt", lambda: None)  # pytest's own handlers
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # console's os._exit ones too
    with pytest.raises(SystemExit) as stop:
        cli.console()
    assert stop.value.code == 130
    assert capsys.readouterr().err == "thermocad: interrupted\n"
    monkeypatch.setattr(S, "_SIGNALS", [signal.SIGTERM])  # `timeout`, systemd: 128 + 15
    with pytest.raises(SystemExit) as stop:
        cli.console()
    assert stop.value.code == 143
