"""One writer per output folder: a second process writing the same folder is refused, cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from thermocad.cli import main
from thermocad.utils.errors import OutputBusyError, OutputExistsError
from thermocad.utils.files import prepare_out_dir
from thermocad.utils.lock import LOCK, folder_lock

# A second process that takes the folder's lock, says so, and holds it until killed.
HOLDER = """
import sys, time
from thermocad.utils.lock import folder_lock
with folder_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Start a process holding tmp_path/run; yields (folder, process); kills it at the end."""
    folder = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"
        yield folder, proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_process_is_refused_and_named(holder):
    folder, proc = holder
    with pytest.raises(OutputBusyError) as err, folder_lock(folder):
        pass
    message = str(err.value)
    assert str(folder) in message and f"pid {proc.pid}" in message
    assert (folder / LOCK).exists()  # the holder's lock is left alone


def test_a_killed_holder_leaves_the_folder_free(holder):
    folder, proc = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (folder / LOCK).exists()  # killed: no clean-up ran, but the OS dropped the lock
    with folder_lock(folder):
        assert f"pid {os.getpid()}" in (folder / LOCK).read_text()
    assert not (folder / LOCK).exists()


def test_the_cli_refuses_and_touches_nothing(holder, capsys):
    folder, _ = holder
    (folder / "labels.csv").write_text("patient_id,diagnosis\n1,Healthy\n")
    code = main(["synth", "--out", str(folder), "--patients", "2", "--height", "64",
                 "--width", "80", "--force"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "being written by another thermocad process" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([LOCK, "labels.csv"])
    assert (folder / "labels.csv").read_text() == "patient_id,diagnosis\n1,Healthy\n"


def test_a_folder_inside_one_another_process_writes_is_refused(holder, tmp_path):
    """`train --out RUN/cv/lite0/fold0 --force` while a fit held RUN had replaced a fold the
    fit's metrics describe; and nothing is made inside the held folder."""
    folder, proc = holder
    inner = folder / "cv" / "fold0"
    said = rf"{inner} is inside {folder}, which is being written by another thermocad process"
    with pytest.raises(OutputBusyError, match=rf"{said} \(pid {proc.pid}"), folder_lock(inner):
        pass
    assert not (folder / "cv").exists()
    with folder_lock(tmp_path / "beside"):  # a folder beside it is free
        pass


def test_a_folder_holding_one_another_process_writes_is_refused(holder, tmp_path):
    """`fit --out RUN --force` while a `train --out RUN/cv/lite0/fold0` ran would have deleted
    the files that train was writing; and the held folder is left as it is."""
    folder, proc = holder
    said = rf"{tmp_path} holds {folder}, which is being written by another thermocad process"
    with pytest.raises(OutputBusyError, match=rf"{said} \(pid {proc.pid}"), folder_lock(tmp_path):
        pass
    assert (folder / LOCK).exists() and not (tmp_path / LOCK).exists()
    from thermocad.utils.lock import _check_descendants

    _check_descendants(tmp_path, tmp_path, most=1)  # past its cap (a data folder's thousands
    # of subfolders), the walk stops: nothing found, nothing refused
    proc.kill()
    proc.wait()  # its lock file stays, held by no one: the folder holding it is free
    with folder_lock(tmp_path):
        pass


def test_a_folder_inside_one_this_thread_holds_is_its_own(tmp_path):
    """fit trains into its own folder: the nested writer is the same command."""
    with folder_lock(tmp_path / "run"), folder_lock(tmp_path / "run" / "cv" / "fold0"):
        (tmp_path / "run" / "cv" / "fold0" / "model.json").write_text("{}")
    assert (tmp_path / "run" / "cv" / "fold0" / "model.json").is_file()


def test_nested_writers_in_one_process_share_the_lock(tmp_path):
    with folder_lock(tmp_path / "run"), folder_lock(tmp_path / "run"):
        (tmp_path / "run" / "model.json").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model.json"]


def test_one_folder_however_it_is_spelt(holder, tmp_path):
    folder, proc = holder  # another process holds tmp_path/run
    (tmp_path / "link").symlink_to(folder)
    spellings = [folder, tmp_path / "link", tmp_path / "sub" / ".." / "run"]
    for spelling in spellings:  # refused however this process spells the folder
        with pytest.raises(OutputBusyError, match=f"pid {proc.pid}"), folder_lock(spelling):
            pass
    proc.kill()
    proc.wait()
    # Not "another thermocad process" (this one's pid) for a link or a roundabout path: one
    # lock, which another thread is refused under each spelling.
    refused = []

    def another_thread():
        for spelling in spellings:
            try:
                with folder_lock(spelling):
                    refused.append(None)
            except OutputBusyError as exc:
                refused.append(str(exc))

    with folder_lock(spellings[0]), folder_lock(spellings[1]), folder_lock(spellings[2]):
        thread = threading.Thread(target=another_thread)
        thread.start()
        thread.join(timeout=60)
    assert len(refused) == len(spellings), refused
    for spelling, message in zip(spellings, refused, strict=True):
        assert message and "another thread of this process" in message, (spelling, message)


def test_a_refused_command_leaves_no_folder_it_created(tmp_path):
    with pytest.raises(RuntimeError), folder_lock(tmp_path / "a" / "b" / "new"):
        raise RuntimeError("a check failed before anything was written")
    assert not (tmp_path / "a").exists()  # nor the parents it made


def test_a_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "run").write_text("not a folder")
    with (
        pytest.raises(OutputExistsError, match="exists and is not a directory"),
        folder_lock(tmp_path / "run"),
    ):
        pass


def test_an_existing_folder_is_kept_even_if_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    with folder_lock(tmp_path / "empty"):
        pass
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())


def test_the_lock_file_does_not_make_a_folder_non_empty(tmp_path):
    with folder_lock(tmp_path / "run"):
        assert prepare_out_dir(tmp_path / "run") == tmp_path / "run"


def _writers(folder):
    """Every library function that writes a whole folder, called on `folder` (the lock is taken
    before their inputs are read, so placeholders do)."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.evaluation.compare import compare
    from thermocad.evaluation.evaluate import evaluate_run
    from thermocad.fit import fit
    from thermocad.pipeline import run_demo, run_study
    from thermocad.synth.cohort import generate_cohort
    from thermocad.training.run import train

    missing = folder.parent / "missing.csv"
    return {
        "train": lambda: train(missing, folder, force=True),
        "fit": lambda: fit(folder.parent, missing, folder, force=True),
        "compare": lambda: compare(missing, [], folder, force=True),
        "study": lambda: run_study(folder.parent, missing, folder, force=True),
        "demo": lambda: run_demo(folder, force=True),
        "synth": lambda: generate_cohort(folder, n_patients=2, force=True),
        "prepare": lambda: prepare_cohort(folder.parent, missing, folder, force=True),
        "evaluate": lambda: evaluate_run(folder.parent, missing, out_dir=folder, force=True),
    }


@pytest.mark.parametrize(
    "writer", ["train", "fit", "compare", "study", "demo", "synth", "prepare", "evaluate"]
)
def test_every_folder_writer_takes_the_lock(holder, writer):
    folder, _ = holder
    with pytest.raises(OutputBusyError):
        _writers(folder)[writer]()


def test_another_thread_of_this_process_is_refused(tmp_path):
    import threading

    errors = []

    def second():
        try:
            with folder_lock(tmp_path / "run"):
                pass
        except OutputBusyError as exc:
            errors.append(str(exc))

    with folder_lock(tmp_path / "run"):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert errors and "another thread of this process" in errors[0]


def test_an_interrupted_clean_up_still_releases_the_folder(tmp_path, monkeypatch):
    import pathlib

    real_unlink = pathlib.Path.unlink

    def interrupted(self, missing_ok=False):
        if self.name == LOCK:
            raise KeyboardInterrupt  # a second Ctrl-C while the lock is being cleared
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(pathlib.Path, "unlink", interrupted)
    with pytest.raises(KeyboardInterrupt), folder_lock(tmp_path / "run"):
        pass
    monkeypatch.undo()
    with folder_lock(tmp_path / "run"):  # not "being written by another thermocad process"
        pass


def test_a_model_being_trained_says_who_is_training_it(holder, tmp_path):
    from thermocad.models.bundle import check_complete
    from thermocad.utils.errors import ModelFormatError
    from thermocad.utils.lock import running_writer

    folder, proc = holder
    (folder / "INCOMPLETE").write_text("training started; this run is not finished\n")
    assert re.match(
        rf"pid {proc.pid}, since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC: ", running_writer(folder)
    )  # UTC, said (a dates review: a reader elsewhere)
    with pytest.raises(ModelFormatError, match=rf"still being trained \(pid {proc.pid}"):
        check_complete(folder)
    proc.kill()
    proc.wait()  # killed: the folder is incomplete, not being written
    assert running_writer(folder) is None
    with pytest.raises(ModelFormatError, match="incomplete"):
        check_complete(folder)


def test_a_dangling_link_as_the_folder_is_named(tmp_path):
    (tmp_path / "dang").symlink_to(tmp_path / "nowhere")
    with (
        pytest.raises(OutputExistsError, match="is a link to .*nowhere, which does not exist"),
        folder_lock(tmp_path / "dang"),
    ):
        pass


def test_a_folder_that_cannot_be_written_is_named_not_the_lock_file(tmp_path, monkeypatch):
    """An immutable or read-only folder: the error names the folder the user gave (the lock
    file inside it is thermocad's own business)."""
    import thermocad.utils.lock as L
    from thermocad.utils.errors import OutputPathError

    def refused(path, *args):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(L.os, "open", refused)
    with pytest.raises(OutputPathError) as info, L.folder_lock(tmp_path / "ro"):
        pass
    assert str(info.value) == f"{tmp_path / 'ro'}: cannot write there (Operation not permitted)"


def test_sigterm_interrupts_a_block_as_ctrl_c_and_the_handler_comes_back():
    """export runs inside it: a kill then removes its temporary file, as Ctrl+C does."""
    import os
    import signal

    from thermocad.utils.signals import interrupted_by_sigterm

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), interrupted_by_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # never reached: the signal is handled first
    assert signal.getsignal(signal.SIGTERM) is before


def test_emptying_a_held_folder_keeps_its_lock(tmp_path):
    from thermocad.utils.lock import LOCK, empty_held, folder_lock

    with folder_lock(tmp_path / "out") as out:
        (out / "sub").mkdir()
        (out / "sub" / "a.csv").write_text("x")
        (out / "b.txt").write_text("y")
        empty_held(out)
        assert [p.name for p in out.iterdir()] == [LOCK]  # still held while the block runs
    assert not (tmp_path / "out").exists()  # the folder the lock made goes with it


def test_a_folder_that_cannot_be_made_is_named_as_the_outputs_problem(tmp_path):
    """`--out /proc/x` (or a path through a file) had said only "No such file or directory";
    and no folder this call made is left behind."""
    from thermocad.utils.errors import OutputPathError

    (tmp_path / "a_file").write_text("")
    said = r"a_file/sub/run: cannot make this folder \("
    with (
        pytest.raises(OutputPathError, match=said),
        folder_lock(tmp_path / "a_file" / "sub" / "run"),
    ):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_full_disk_while_taking_a_folder_names_its_lock_and_leaves_it_free(tmp_path, monkeypatch):
    """prepare on a full disk had said only 'No space left on device' (a resource review)."""
    import errno

    from thermocad.utils import lock as L
    from thermocad.utils.errors import OutputPathError

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(L.os, "write", full)
    with (
        pytest.raises(
            OutputPathError, match=r"out/\.thermocad\.lock: cannot be written \(No space"
        ),
        L.folder_lock(tmp_path / "out"),
    ):
        pass
    monkeypatch.undo()
    assert not (tmp_path / "out").exists()  # made by the refused call: gone again
    with L.folder_lock(tmp_path / "out"):  # and free
        pass


def _as_another_user(monkeypatch, lock_file):
    """Open the lock file as a user who did not make it: read-write refused (their 0644)."""
    real = os.open

    def refusing(path, flags, *args):
        if os.fspath(path) == os.fspath(lock_file) and flags & os.O_RDWR and lock_file.exists():
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)


def test_another_users_stale_lock_file_is_replaced(tmp_path, monkeypatch):
    # A shared folder: alice's killed run left its lock file (0644); bob's run goes on there.
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / LOCK).write_text("pid 1, since 2026-12-07 10:00:00 UTC: thermocad evaluate\n")
    _as_another_user(monkeypatch, folder / LOCK)
    with folder_lock(folder):  # bob's own now, saying who holds it
        assert (folder / LOCK).read_text().startswith(f"pid {os.getpid()}, since")
    assert not (folder / LOCK).exists()


def test_another_users_running_lock_says_who_holds_it(holder, monkeypatch):
    folder, _ = holder
    _as_another_user(monkeypatch, folder / LOCK)
    busy = r"being written by another thermocad process \(pid"
    with pytest.raises(OutputBusyError, match=busy), folder_lock(folder):
        pass


def test_a_rank_without_a_world_size_is_one_process_that_locks_its_folder(tmp_path, monkeypatch,
                                                                          holder):  # fmt: skip
    """An environment review: a RANK left in the shell made `train` write nothing (fastai took
    the process for a worker) and switched every command's folder lock off."""
    from thermocad.utils.ranks import drop_stray_rank, other_rank

    folder, _ = holder
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not other_rank()
    with pytest.raises(OutputBusyError), folder_lock(folder):
        pass
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun's second process: rank 0 holds the folder
    assert other_rank() and drop_stray_rank() == "" and os.environ["RANK"] == "1"
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert drop_stray_rank().startswith("note: RANK=1 is set without a WORLD_SIZE over 1")
    assert "RANK" not in os.environ
