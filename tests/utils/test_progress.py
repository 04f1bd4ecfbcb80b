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


def test_a_notebook_hides_the_status_lines_through_logging(capsys):
    """The lines go through logging's "thermocad" logger: a notebook's loop keeps only the
    warnings with one setLevel (they had been printed, with no way to quieten them)."""
    import logging

    from thermocad.utils.progress import log

    logger = logging.getLogger("thermocad")
    before = logger.level
    try:
        logger.setLevel(logging.WARNING)
        log("note: a status line")
        log("warning: a warning")
    finally:
        logger.setLevel(before)
    log("another line")
    assert capsys.readouterr().err == "[thermocad] warning: a warning\n[thermocad] another line\n"


def test_a_logging_set_up_that_disables_other_loggers_does_not_silence_thermocad(capsys):
    """dictConfig disables the loggers it does not name by default: thermocad's warnings must
    still be printed (a diff review: they had vanished with no sign); any case of "warning"
    counts as one."""
    import logging
    import logging.config

    from thermocad.utils.progress import log

    LOGGER = logging.getLogger("thermocad")  # noqa: N806 - the logger log() reads

    # dictConfig changes every logger: each put back as it was (an isolation review: other
    # loggers had stayed disabled, and the root's handlers gone, for the rest of the run)
    root = logging.getLogger()
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)] + [root]
    before = [(lg, lg.disabled, lg.level, list(lg.handlers)) for lg in loggers]
    try:
        logging.config.dictConfig({"version": 1, "root": {"level": "INFO"}})
        log("WARNING: the cohort holds no Sick women")
        LOGGER.setLevel(logging.WARNING)
        log("Warning: still shown")
        log("note: hidden")
    finally:
        for lg, disabled, level, handlers in before:
            lg.disabled, lg.handlers = disabled, handlers
            lg.setLevel(level)
    assert capsys.readouterr().err == (
        "[thermocad] WARNING: the cohort holds no Sick women\n[thermocad] Warning: still shown\n"
    )


def test_each_line_is_one_write_so_threads_logging_at_once_keep_their_lines(monkeypatch):
    """print wrote the newline apart: 16 threads predicting at once ran lines together (an
    embedding review)."""
    import io
    import sys
    import threading

    from thermocad.utils.progress import log

    class Recorder(io.StringIO):
        writes: list[str] = []

        def write(self, text):
            self.writes.append(text)
            return len(text)

    monkeypatch.setattr(sys, "stderr", Recorder())
    threads = [threading.Thread(target=log, args=(f"file {i} done",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [w for w in Recorder.writes if w]
    assert len(lines) == 16 and all(w.startswith("[thermocad] file ") and w.endswith(" done\n")
                                    for w in lines)  # fmt: skip


def test_quiet_asked_for_wins_over_progress_bars_asked_for(monkeypatch):
    """An environment review: THERMOCAD_PROGRESS=1 (bars where stderr is not a terminal, a
    notebook's) had put bars in the log file of `thermocad -q`."""
    from thermocad.utils.progress import quiet

    monkeypatch.setenv("THERMOCAD_PROGRESS", "1")
    monkeypatch.delenv("THERMOCAD_QUIET", raising=False)
    assert not quiet()  # pytest's stderr is no terminal: the bars were asked for
    monkeypatch.setenv("THERMOCAD_QUIET", "1")
    assert quiet()
    monkeypatch.delenv("THERMOCAD_PROGRESS")
    monkeypatch.delenv("THERMOCAD_QUIET")
    assert quiet()  # no terminal, nothing asked


def test_quiet_mode_says_how_far_a_long_loop_is_and_how_long_it_took(monkeypatch, capsys):
    """An observability review: a redirected log said only '<loop>: N done' at its end, after
    minutes of silence."""
    import thermocad.utils.progress as P

    monkeypatch.setenv("THERMOCAD_QUIET", "1")
    monkeypatch.setattr(P, "EVERY_S", 0.0)  # a line after every item, as a minute would give
    assert list(P.progress(range(3), "reading thermograms", total=3)) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert lines == [*(f"[thermocad] reading thermograms: {i} of 3 done, 0 s" for i in (1, 2, 3)),
                     "[thermocad] reading thermograms: 3 done in 0 s"]  # fmt: skip
    assert [P.took(s) for s in (59.4, 65, 3600 * 2 + 7 * 60 + 5)] == ["59 s", "1 min 5 s",
                                                                     "2 h 7 min"]  # fmt: skip
