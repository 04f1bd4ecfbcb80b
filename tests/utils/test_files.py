"""Safe outputs: atomic replacement, no overwrite without force, umask-respecting modes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from thermocad.utils.errors import OutputExistsError, OutputPathError
from thermocad.utils.files import _umask as files_umask
from thermocad.utils.files import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    check_writable,
    prepare_out_dir,
)


def test_atomic_write_replaces_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "sub" / "result.json"
    atomic_write_json(out, {"a": 1})
    atomic_write_json(out, {"a": 2})
    assert out.read_text().strip().endswith("}") and '"a": 2' in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["result.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert out.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [out]


def test_a_full_disk_is_said_naming_the_file_and_keeps_the_old_one(tmp_path):
    import errno

    from thermocad.utils.errors import OutputPathError

    out = tmp_path / "predictions.csv"
    out.write_text("old\n")
    said = rf"^{out}: cannot be written: No space left"
    with pytest.raises(OutputPathError, match=said), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a full disk says it
    assert out.read_text() == "old\n" and list(tmp_path.iterdir()) == [out]


def test_a_librarys_own_full_disk_error_is_said_as_os_says_it(tmp_path):
    """safetensors raises its own SafetensorError on a full disk: it had ended fit in a
    traceback. Any error that names the disk's limit, or is raised from one, is the disk's."""
    import errno

    from thermocad.utils.files import no_room

    out = tmp_path / "model.safetensors"
    said = rf"^{out}: cannot be written: No space left on"
    with pytest.raises(OutputPathError, match=said), atomic_path(out):
        raise RuntimeError("I/O error: No space left on device (os error 28)")
    assert no_room(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))) == "Disk quota exceeded"
    assert no_room(OSError(errno.ENOENT, "No such file")) is None
    assert no_room(RuntimeError("bad weights")) is None and no_room(None) is None
    try:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            raise ValueError("could not save") from exc
    except ValueError as chained:
        assert no_room(chained) == "No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = atomic_write_json(tmp_path / "m.json", {})
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
    old = os.umask(0o027)
    try:  # read as it is now, and never changed for a moment (os.umask(0) was, before)
        from thermocad.utils import files

        seen = []
        real = os.umask
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "umask", lambda m: seen.append(m) or real(m))
            out = atomic_write_json(tmp_path / "n.json", {})
        assert seen == [] and files._umask() == 0o027
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640


def test_a_file_replaced_keeps_its_own_mode(tmp_path):
    # A user's private table, written again with --force, stays private (it became 0644).
    out = atomic_write_text(tmp_path / "p.csv", "a\n")
    out.chmod(0o600)
    atomic_write_text(out, "b\n")
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_text() == "b\n"
    fresh = atomic_write_text(tmp_path / "q.csv", "a\n")  # a new file: the umask's
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~files_umask()


def test_refuses_to_overwrite_without_force(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("data")
    with pytest.raises(OutputExistsError, match="--force"):
        check_writable(f)
    assert check_writable(f, force=True) == f
    d = tmp_path / "run"
    d.mkdir()
    (d / "model.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="not empty"):
        prepare_out_dir(d)
    assert prepare_out_dir(d, force=True) == d
    assert prepare_out_dir(tmp_path / "new").is_dir()


def test_atomic_write_csv_has_no_index_and_no_temporaries(tmp_path):
    import pandas as pd

    from thermocad.utils.files import atomic_write_csv

    out = atomic_write_csv(tmp_path / "split", pd.DataFrame({"a": [1, 2]}))  # no suffix: still CSV
    assert out.read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["split"]


def test_a_carriage_return_in_a_file_name_keeps_its_row_whole(tmp_path):
    """The csv module quotes a cell with a newline but not one with a bare carriage return,
    which pandas then read as a row break: a tenth row, a name cut in two."""
    import pandas as pd

    from thermocad.utils.files import atomic_write_csv

    table = pd.DataFrame({"path": ["/d/T0016\r.txt", "/d/T0017\n.txt", "/d/T0018.txt"],
                          "prob_sick": [0.1, float("nan"), 0.3]})  # fmt: skip
    back = pd.read_csv(atomic_write_csv(tmp_path / "p.csv", table))
    pd.testing.assert_frame_equal(back, table)
    plain = atomic_write_csv(tmp_path / "q.csv", table.iloc[2:])  # quoted only when needed
    assert plain.read_text() == "path,prob_sick\n/d/T0018.txt,0.3\n"


def test_a_name_as_long_as_the_file_system_takes_is_written_and_longer_ones_shortened(tmp_path):
    """atomic_path's temporary name (the name, dots, 8 characters) must fit too; figure and
    PNG names past 255 bytes are shortened, with a digest that keeps two of them apart."""
    from thermocad.utils.files import atomic_write_text
    from thermocad.utils.out_names import NAME_MAX, fitting_name

    longest = "T" * (NAME_MAX - 4) + ".txt"
    assert atomic_write_text(tmp_path / longest, "x").read_text() == "x"
    assert fitting_name("T0001", "_gradcam.png") == "T0001_gradcam.png"
    a, b = (fitting_name(stem * 300, "_gradcam.png") for stem in ("ab", "ac"))
    assert a != b and all(n.endswith("_gradcam.png") and len(n) == NAME_MAX for n in (a, b))
    wide = fitting_name("\u00e9" * 200, ".png")  # two bytes each: cut by bytes, whole characters
    assert len(wide.encode()) <= NAME_MAX and wide.startswith("\u00e9" * 10)
    atomic_write_text(tmp_path / a, "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([longest, a])


def test_check_writable_refuses_a_place_that_cannot_be_written(tmp_path):
    from thermocad.utils.errors import OutputPathError

    (tmp_path / "file").write_text("x")
    with pytest.raises(
        OutputPathError, match=r"out\.csv: cannot write there: .*file is not a folder"
    ):
        check_writable(tmp_path / "file" / "deeper" / "out.csv")
    target = tmp_path / "new" / "deeper" / "out.csv"
    assert check_writable(target) == target  # accepted (no error): created when written
    assert not (tmp_path / "new").exists() and os.listdir(tmp_path) == ["file"]  # no scratch left
    (tmp_path / "adir").mkdir()
    for force in (False, True):  # one line naming the folder, not a temp file's name
        with pytest.raises(OutputPathError, match=r"adir is a folder; give the name of a file"):
            check_writable(tmp_path / "adir", force=force)


def test_an_output_folder_inside_the_data_folder_is_refused(tmp_path, capsys):
    import pytest

    from thermocad.cli import main
    from thermocad.utils.errors import OutputPathError
    from thermocad.utils.files import check_apart

    data = tmp_path / "data"
    (data / "T0001.txt").parent.mkdir()
    (data / "T0001.txt").write_text("36 36\n36 36\n")
    for out in (data, data / "run", data / "a" / ".." / "run"):
        with pytest.raises(OutputPathError, match="(is|inside) the data folder"):
            check_apart(out, data)
    check_apart(tmp_path / "run", data)  # beside it: fine
    check_apart(tmp_path / "data2", data)  # a name that merely starts the same: fine
    # fit --out DATA --force used to leave DATA marked INCOMPLETE (and every later run refused).
    (tmp_path / "l.csv").write_text("patient_id,diagnosis\n1,Sick\n2,Healthy\n")
    assert main(["fit", str(data), "--labels", str(tmp_path / "l.csv"), "--out", str(data),
                 "--force"]) == 2  # fmt: skip
    assert "is the data folder" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == ["T0001.txt"]


def test_force_reuses_only_a_folder_thermocad_made(tmp_path):
    import pytest

    from thermocad.utils.errors import OutputExistsError
    from thermocad.utils.files import prepare_out_dir

    mine = tmp_path / "proj"
    (mine / "test").mkdir(parents=True)
    (mine / "config.json").write_text("{}")  # a name anyone may use: not thermocad's mark
    (mine / "test" / "chapter1.tex").write_text("mine")
    with pytest.raises(OutputExistsError, match="holds files thermocad did not write"):
        prepare_out_dir(mine, force=True, made_by="compare")
    # Said without --force too (it said "use --force", which then refused the same folder).
    with pytest.raises(OutputExistsError, match="holds files thermocad did not write"):
        prepare_out_dir(mine, made_by="compare")
    hidden = tmp_path / "mac"  # only a .DS_Store: empty, no --force needed
    hidden.mkdir()
    (hidden / ".DS_Store").write_bytes(b"\0")
    assert prepare_out_dir(hidden, made_by="train") == hidden and (hidden / ".thermocad").exists()
    legacy = tmp_path / "old_compare"  # interrupted before this version wrote the mark
    (legacy / "baseline").mkdir(parents=True)
    (legacy / "baseline" / "valid_predictions.csv").write_text("path,prob\n")
    assert prepare_out_dir(legacy, force=True, made_by="compare") == legacy
    # A user's folder inside a thermocad folder is still the user's; a candidate's fold is not.
    (legacy / "mine" / "test").mkdir(parents=True)
    (legacy / "mine" / "thesis.docx").write_text("mine")
    with pytest.raises(OutputExistsError, match="holds files thermocad did not write"):
        prepare_out_dir(legacy / "mine", force=True, made_by="compare")
    (legacy / "efficientnet_lite0" / "fold0" / "checkpoint").mkdir(parents=True)
    fold = legacy / "efficientnet_lite0" / "fold0"
    assert prepare_out_dir(fold, force=True, made_by="train") == fold


def test_json_outputs_are_strict_json(tmp_path):
    import json

    import numpy as np

    obj = {"auc": float("nan"), "n": np.int64(3), "p": np.float32(0.5), "ci": (0.1, np.inf),
           "row": np.array([1.0, np.nan]), 4: "key"}  # fmt: skip
    out = atomic_write_json(tmp_path / "m.json", obj)
    back = json.loads(out.read_text())  # NaN and infinity are null, numpy plain numbers
    assert back == {"auc": None, "n": 3, "p": 0.5, "ci": [0.1, None], "row": [1.0, None],
                    "4": "key"}  # fmt: skip
    from pathlib import Path

    dated = {True: np.datetime64("2014-01-02T00:00:00", "ns"), Path("a"): np.datetime64("NaT"),
             None: np.array(["2015-03-04", "NaT"], "datetime64[ns]")}  # fmt: skip
    back = json.loads(atomic_write_json(tmp_path / "d.json", dated).read_text())
    # Dates as ISO text, not nanoseconds; a missing one null; keys as json.dumps names them.
    assert back == {"true": "2014-01-02T00:00:00.000000000", "a": None,
                    "null": ["2015-03-04T00:00:00.000000000", None]}  # fmt: skip


def test_an_atomic_write_is_synced_before_and_after_its_rename(tmp_path, monkeypatch):
    # Renamed before its data reached the disk, a file can come back empty after a power cut.
    import thermocad.utils.files as F

    events = []
    real_fsync, real_replace = F.os.fsync, F.os.replace
    monkeypatch.setattr(F.os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(
        F.os, "replace", lambda a, b: events.append("replace") or real_replace(a, b)
    )
    F.atomic_write_text(tmp_path / "model.json", "{}\n")
    assert events == ["fsync", "replace", "fsync"]
    assert (tmp_path / "model.json").read_text() == "{}\n"


def test_a_write_that_may_not_replace_refuses_a_file_that_appeared_meanwhile(tmp_path, monkeypatch):
    out = tmp_path / "fig.png"
    with atomic_path(out, replace=False) as tmp:  # nothing there: written
        tmp.write_bytes(b"first")
    assert out.read_bytes() == b"first"
    with (
        pytest.raises(OutputExistsError, match="written since this command began"),
        atomic_path(out, replace=False) as tmp,
    ):
        tmp.write_bytes(b"second")
    assert out.read_bytes() == b"first" and os.listdir(tmp_path) == ["fig.png"]
    # A file system without hard links (FAT): checked, then renamed.
    monkeypatch.setattr(os, "link", lambda *a: (_ for _ in ()).throw(PermissionError(1, "no")))
    with (
        pytest.raises(OutputExistsError, match="already exists; use --force"),
        atomic_path(out, replace=False) as tmp,
    ):
        tmp.write_bytes(b"second")
    with atomic_path(tmp_path / "new.png", replace=False) as tmp:
        tmp.write_bytes(b"new")
    assert (tmp_path / "new.png").read_bytes() == b"new" and out.read_bytes() == b"first"
    assert sorted(os.listdir(tmp_path)) == ["fig.png", "new.png"]


def test_a_link_to_nothing_is_not_written_over_without_force(tmp_path):
    """A dangling or looping link is something there (exists() says False for it): replaced
    only with --force, as a file would be."""
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    for name in ("a.csv", "gone.csv"):
        with pytest.raises(OutputExistsError, match="already exists"):
            check_writable(tmp_path / name)
        assert check_writable(tmp_path / name, force=True) == tmp_path / name


def test_check_writable_refuses_a_pipe_a_device_and_links_to_streams(tmp_path):
    # A shell-contract review: `predict --out FIFO --force` replaced the FIFO with a file and
    # its reader waited forever; `--out /dev/stdout --force` replaced that link with a file.
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    stdout = tmp_path / "stdout.csv"
    stdout.symlink_to("/proc/self/fd/1")
    for place in (fifo, Path("/dev/null"), stdout):
        with pytest.raises(OutputPathError, match="is not a regular file"):
            check_writable(place, force=True)
    assert fifo.exists() and not fifo.is_file() and stdout.is_symlink()
    elsewhere = tmp_path / "link.csv"  # a link to a file of the user's: replaced with --force
    elsewhere.symlink_to(tmp_path / "real.csv")
    assert check_writable(elsewhere, force=True) == elsewhere


def test_a_killed_writers_temporary_files_go_at_the_next_write_into_their_folder(tmp_path, capsys):
    """A kill review: SIGKILL during export left a hidden .onnx beside its target that no later
    run removed. Only the temporary files of writers that are gone, under this machine's, boot's
    and pid namespace's tag: a running writer's stays, and so does one of another tag (another
    machine, a container with pids of its own: a diff review saw a live writer's file removed
    when the tag was the host name alone)."""
    import subprocess
    import sys

    from thermocad.utils.files import atomic_write_text
    from thermocad.utils.leftovers import host_tag

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    other = f"{(int(host_tag(), 16) + 1) % 16**6:06x}"
    names = {"dead": f".out.txt.{gone}.{host_tag()}-abcd1234.txt",
             "dead, of another file": f".m.onnx.{gone}.{host_tag()}-ab_d1234.onnx",
             "running": f".out.txt.{os.getpid()}.{host_tag()}-abcd1234.txt",
             "another tag": f".out.txt.{gone}.{other}-abcd1234.txt",
             "no pid": f".out.txt.{'9' * 20}.{host_tag()}-abcd1234.txt",
             "not ascii digits": f".out.txt.\u0661\u0662.{host_tag()}-abcd1234.txt"}  # fmt: skip
    for name in names.values():
        (tmp_path / name).write_text("half")
    atomic_write_text(tmp_path / "out.txt", "whole")
    gone_now = {k for k, name in names.items() if not (tmp_path / name).exists()}
    assert gone_now == {"dead", "dead, of another file"}
    assert f"removed {tmp_path / names['dead']}, a temporary file that a stopped (killed) " in (
        capsys.readouterr().err
    )
    assert (tmp_path / "out.txt").read_text() == "whole"
    # A long name still fits with the process and tag in its temporary name (a diff review).
    for long in (tmp_path / ("n" * 200 + "." + "s" * 40), tmp_path / ("r." + "s" * 240)):
        atomic_write_text(long, "x")
        assert long.read_text() == "x"


def test_another_users_running_writer_is_taken_as_running(tmp_path, monkeypatch):
    """os.kill answers EPERM for another user's process: alive, its file left alone."""
    import thermocad.utils.leftovers as L

    def not_yours(pid, signal):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(L.os, "kill", not_yours)
    theirs = tmp_path / f".out.txt.4242.{L.host_tag()}-abcd1234.txt"
    theirs.write_text("being written")
    L.clear_dead_temps(tmp_path)
    assert theirs.exists()


def test_a_name_is_shortened_to_nothing_at_the_least():
    """A mutation review: a negative limit had cut the name forever (a hung test)."""
    from thermocad.utils.out_names import shortened

    assert (
        shortened("abc", -1) == "" and shortened("ééé", 4) == "éé" and shortened("abc", 9) == "abc"
    )
