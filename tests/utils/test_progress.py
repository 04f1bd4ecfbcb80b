"""Log lines: one line each, whatever a file name in them holds."""

from __future__ import annotations

from thermocad.utils.progress import log


def test_a_log_line_stays_one_line_whatever_a_name_in_it_holds(capsys):
    """A file name with a line break had faked a log line of its own; one with ESC could drive
    the terminal. Tabs stay."""
    log("wrote T0001\n[thermocad] all 120 women are new\r\x1b[2J.txt\tdone")
    assert capsys.readouterr().err == (
        "[thermocad] wrote T0001\\n[thermocad] all 120 women are new\\r\\x1b[2J.txt\tdone\n"
    )
