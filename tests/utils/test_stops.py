"""A stopped run says in its folder what stopped it (a support request attaches the folder)."""

from __future__ import annotations

import pytest

from thermocad.utils.errors import ConfigError, ModelFormatError
from thermocad.utils.files import INCOMPLETE, atomic_write_text, incomplete_reason
from thermocad.utils.lock import writes_folder
from thermocad.utils.stops import last_stop


@writes_folder("out_dir")
def _run(out_dir, exc, inner=False):
    atomic_write_text(out_dir / INCOMPLETE, "training started; this run is not finished\n")
    if inner:  # fit trains into its own folder: one stop, noted once
        _run(out_dir, exc)
    raise exc


def test_a_bug_is_noted_with_its_traceback_and_the_versions(tmp_path):
    with pytest.raises(IndexError):
        _run(tmp_path / "run", IndexError("list index out of range"), inner=True)
    text = (tmp_path / "run" / INCOMPLETE).read_text()
    assert incomplete_reason(tmp_path / "run") == "training started; this run is not finished"
    assert text.count("stopped ") == 1 and "Traceback (most recent call last)" in text
    assert "IndexError: list index out of range" in text and "\nPython 3." in text
    assert last_stop(tmp_path / "run").endswith(": IndexError: list index out of range")


def test_an_error_of_the_data_or_options_is_noted_without_a_traceback(tmp_path):
    with pytest.raises(ConfigError):
        _run(tmp_path / "run", ConfigError("labels.csv: line 3: unknown diagnosis 'maybe'"))
    text = (tmp_path / "run" / INCOMPLETE).read_text()
    assert "ConfigError: labels.csv: line 3: unknown diagnosis 'maybe'" in text
    assert "Traceback" not in text
    with pytest.raises(KeyboardInterrupt):  # the next stop is added after it
        _run(tmp_path / "run", KeyboardInterrupt())
    assert last_stop(tmp_path / "run").endswith(": interrupted (Ctrl+C, or the system stopped it)")


def test_loading_a_stopped_run_says_when_and_why_it_stopped(tmp_path):
    from thermocad.models.bundle import check_complete

    with pytest.raises(RuntimeError):
        _run(tmp_path / "run", RuntimeError("CUDA error: an illegal memory access"))
    with pytest.raises(
        ModelFormatError, match=r"incomplete; .* \(stopped 20\d\d-.*Z: RuntimeError"
    ):
        check_complete(tmp_path / "run")


def test_a_finished_run_has_no_mark_to_note_in(tmp_path):
    @writes_folder("out_dir")
    def finished_then_failing(out_dir):
        (out_dir / "model.json").write_text("{}")
        raise ValueError("after the end")

    with pytest.raises(ValueError):
        finished_then_failing(tmp_path / "run")
    assert not (tmp_path / "run" / INCOMPLETE).exists()


def test_a_command_refused_before_its_run_began_leaves_the_earlier_mark_as_it_was(tmp_path):
    # A review of the change: a rerun refused for other options had noted its refusal as the
    # earlier run's stop, hiding why that run had stopped.
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "run", KeyboardInterrupt())
    before = (tmp_path / "run" / INCOMPLETE).read_text()

    @writes_folder("out_dir")
    def refused(out_dir):
        raise ConfigError("run holds an interrupted run: --resume continues it")

    with pytest.raises(ConfigError):
        refused(tmp_path / "run")
    assert (tmp_path / "run" / INCOMPLETE).read_text() == before


def test_a_resumed_run_is_no_longer_said_stopped_and_tracebacks_are_not_stops(tmp_path):
    from thermocad.utils.stops import clear_stops, written_mark

    with pytest.raises(ValueError):  # its message and traceback hold lines "stopped ..."
        _run(tmp_path / "run", ValueError("worker\nstopped responding after 600 s"))
    assert last_stop(tmp_path / "run").endswith(
        ": ValueError: worker\\nstopped responding after 600 s"
    )
    clear_stops(tmp_path / "run")  # fit --resume in its cross-validation
    mark = tmp_path / "run" / INCOMPLETE
    assert mark.read_text() == "training started; this run is not finished\n" == written_mark(mark)
    assert last_stop(tmp_path / "run") is None
