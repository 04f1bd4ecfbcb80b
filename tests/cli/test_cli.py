"""The command line: errors a user can cause end in one line and a non-zero exit."""

from __future__ import annotations

import pytest

from thermocad.cli import main


def test_unwritable_output_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "cohort"
    assert (
        main(["synth", "--out", str(out), "--patients", "1", "--height", "64", "--width", "80"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("thermocad: error:") and "Traceback" not in err
    assert str(out) in err and len(err.strip().splitlines()) == 1


def test_a_missing_package_or_a_system_error_no_handler_caught_is_one_line(capsys):
    """What reaches the command line uncaught: an optional package's absence, named with its
    extra; a system error (a full disk mid-write), named with its file; anything else raised."""
    import argparse
    import errno

    from thermocad.cli import _run

    def failing(exc):
        def func(args):
            raise exc

        return argparse.Namespace(func=func)

    assert _run(failing(ModuleNotFoundError("No module named 'gradio'", name="gradio"))) == 2
    assert capsys.readouterr().err == ("thermocad: error: this needs Gradio, which is not "
                                       "installed: pip install 'thermocad[app]'\n")  # fmt: skip
    assert _run(failing(ModuleNotFoundError("No module named 'safetensors'", name="safetensors")))
    assert "pip install 'thermocad[train]'" in capsys.readouterr().err  # in [train] since 12-07
    full = OSError(errno.ENOSPC, "No space left on device", "/out/cohort.csv")
    assert _run(failing(full)) == 2
    assert capsys.readouterr().err == "thermocad: error: /out/cohort.csv: No space left on device\n"
    # Not an optional package of ours, or any other error unforeseen: a bug, said to be one,
    # with its traceback and what a report of it needs.
    for bug in (ModuleNotFoundError("No module named 'x'", name="x"), AttributeError("a.b")):
        assert _run(failing(bug)) == 1
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last)") and type(bug).__name__ in err
        assert err.splitlines()[-1].startswith("thermocad: error: an unexpected error, a bug in ")
        assert "`thermocad --version`" in err and "'Reporting a problem'" in err


def test_running_out_of_memory_is_one_line_not_a_files_fault(tmp_path, monkeypatch, capsys):
    """A memory cap had made every file 'unreadable' and prepare exit 0 with a cohort of one
    (a resource review); now the read stops the command, in one line, and a bug is still one."""
    import thermocad.io.thermal as T
    from thermocad.synth.cohort import generate_cohort

    labels = generate_cohort(tmp_path / "d", n_patients=4, seed=0, height=48, width=64)

    def exhausted(path, cache=True):
        raise MemoryError((307200,), "int64")

    monkeypatch.setattr(T, "read_thermal", exhausted)
    argv = ["prepare", str(tmp_path / "d"), "--labels", str(labels), "--workers", "1"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("thermocad: error: out of memory (MemoryError(") and len(err) <= 3
    assert not (tmp_path / "o" / "cohort.csv").exists()
    monkeypatch.setattr(T, "read_thermal", lambda path, cache=True: 1 / 0)  # another error
    main([*argv, "--out", str(tmp_path / "o2")])  # ... is each file's, as before
    err = capsys.readouterr().err
    assert "unexpected error while reading (ZeroDivisionError" in err and "out of memory" not in err
    assert "because of an unexpected error (a bug in thermocad); the details for a bug" in err
    assert "Traceback (most recent call last)" in err and "1 / 0" in err


@pytest.mark.train
def test_ctrl_c_is_one_line_and_leaves_the_callers_handler(monkeypatch, capsys, tmp_path):
    import signal

    import thermocad.inference.predict as P

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(P, "run_predict", interrupted)
    before = signal.getsignal(signal.SIGINT)
    assert main(["predict", "run", "x.txt", "--out", "p.csv"]) == 130
    assert capsys.readouterr().err == "thermocad: interrupted\n"
    # main() from Python (a notebook, a test) leaves Ctrl-C as it was; only the `thermocad`
    # command ends at once on a second one, while Python shuts down.
    assert signal.getsignal(signal.SIGINT) is before
    import thermocad.fit as F  # a fit says how to go on

    monkeypatch.setattr(F, "fit", interrupted)
    out = tmp_path / "o"
    assert main(["fit", "d", "--labels", "l.csv", "--out", str(out)]) == 130
    assert (
        capsys.readouterr().err == "thermocad: interrupted\n"
    )  # before its folder: nothing to say
    out.mkdir()  # stopped before its record: nothing to continue from
    assert main(["fit", "d", "--labels", "l.csv", "--out", str(out)]) == 130
    assert capsys.readouterr().err == ("thermocad: interrupted; it stopped before saving anything "
                                       f"to continue from in {out}: run it again with --force\n")  # fmt: skip
    (out / "fit_resume.json").write_text("{}")
    assert main(["fit", "d", "--labels", "l.csv", "--out", str(out)]) == 130
    assert capsys.readouterr().err == (
        f"thermocad: interrupted; to continue {out}, run it again with --resume\n"
    )
    assert main(["fit", "d", "--labels", "l.csv", "--out", str(out), "--force"]) == 130
    assert capsys.readouterr().err == (
        f"thermocad: interrupted; to continue {out}, run it again with --resume (in place of --force)\n"
    )
    import thermocad.pipeline as S  # a study and a comparison resume from their records

    monkeypatch.setattr(S, "run_study", interrupted)
    monkeypatch.setattr(S, "run_compare", interrupted)
    assert main(["study", "d", "--labels", "l.csv", "--out", str(out)]) == 130
    assert capsys.readouterr().err == ("thermocad: interrupted; it stopped before saving anything "
                                       f"to continue from in {out}: run it again with --force\n")  # fmt: skip
    for command, where, record in (("study", ["d", "--labels", "l.csv"], "study_resume.json"),
                                   ("compare", ["--split", "s.csv"], "compare_resume.json")):  # fmt: skip
        (out / record).write_text("{}")
        assert main([command, *where, "--out", str(out), "--force"]) == 130
        assert capsys.readouterr().err == (f"thermocad: interrupted; to continue {out}, run it "
                                           "again with --resume (in place of --force)\n")  # fmt: skip
    with pytest.raises(SystemExit):  # one or the other
        main(["compare", "--split", "s.csv", "--out", str(out), "--force", "--resume"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_quiet_mode_lasts_one_command(tmp_path, monkeypatch):
    import os

    from thermocad.cli import main

    seen = []

    def command(args) -> int:  # the command runs quiet...
        seen.append(os.environ.get("THERMOCAD_QUIET"))
        return 0

    monkeypatch.setattr("thermocad.cli.synth._synth", command)
    monkeypatch.delenv("THERMOCAD_QUIET", raising=False)
    assert main(["-q", "synth", "--out", str(tmp_path / "s")]) == 0
    assert "THERMOCAD_QUIET" not in os.environ  # ...and a notebook's next call shows its bars
    monkeypatch.setenv("THERMOCAD_QUIET", "0")
    assert main(["-q", "synth", "--out", str(tmp_path / "t")]) == 0
    assert seen == ["1", "1"] and os.environ["THERMOCAD_QUIET"] == "0"


@pytest.mark.parametrize(
    "argv",
    [["split", "cohort.csv", "--out", "out/"], ["predict", "run", "f.txt", "--out", "preds/"],
     ["export", "run", "--onnx", "m/"], ["report", "study", "--out", "html/"],
     ["evaluate", "run", "--split", "s.csv", "--ledger", "book/"],
     ["synth", "--out", "s", "--preview", "sheet/"],
     ["render", "data", "--out", "png", "--sheet", "sheet/"]],
)  # fmt: skip
def test_a_file_output_ending_in_a_slash_is_refused(tmp_path, argv, capsys, monkeypatch):
    from thermocad.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and "ends in '/', a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no file named like the folder


@pytest.mark.parametrize("archs", ["", " ", "efficientnet_lite0,", "a,,b", " , "])
@pytest.mark.parametrize("command", ["compare", "study"])
def test_blank_archs_are_refused_before_anything_runs(
    tmp_path, capsys, monkeypatch, archs, command
):
    import thermocad.pipeline as S

    def ran(*args, **kwargs):
        raise AssertionError("ran with a blank --archs")

    monkeypatch.setattr(S, "run_compare", ran)
    monkeypatch.setattr(S, "run_study", ran)
    where = ["--split", "s.csv"] if command == "compare" else ["d", "--labels", "l.csv"]
    with pytest.raises(SystemExit) as exc:
        main([command, *where, "--archs", archs, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--archs" in err and ("empty" in err or "blank entry" in err)
    assert not (tmp_path / "o").exists()


def test_predict_help_says_what_it_writes_when_every_file_fails():
    from tests.cli.test_defaults_and_config import _subparsers

    text = " ".join(_subparsers()["predict"].format_help().split())
    assert "When every file fails only OUT_errors.csv is written" in text


@pytest.mark.parametrize(
    ("command", "forcing"),
    [
        (["train", "--split", "s.csv", "--smoke"], "to replace what it holds"),
        (["demo", "--smoke"], "to replace an earlier demo's cohort and study"),
        (["render", "DATA"], "to write into it (PNGs of the same names are replaced, others kept)"),
        (["synth", "--patients", "2"], "to write the cohort into it (its other files stay)"),
    ],
)
@pytest.mark.train
def test_a_non_empty_out_is_refused_saying_what_force_would_do(tmp_path, capsys, command, forcing):
    data = tmp_path / "data"
    data.mkdir()
    (data / "T0001.npy").write_bytes(b"")
    full = tmp_path / "full"
    full.mkdir()
    if command[0] in ("train", "demo"):  # (render and synth write no result inside a model's)
        (full / "model.json").write_text("{}")  # an earlier model: --force replaces it
        (full / ".thermocad").write_text("written by thermocad train\n")  # thermocad's folder
    else:
        (full / "notes.md").write_text("a user's")
    argv = [str(data) if a == "DATA" else a for a in command]
    assert main([*argv, "--out", str(full)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"thermocad: error: {full} already exists and is not empty; use "
                          f"--force (force=True in Python) {forcing}")  # fmt: skip
    assert len(err.splitlines()) == 1


def test_the_model_argument_help_says_which_models_each_command_takes():
    from tests.cli.test_defaults_and_config import _subparsers

    helps = {c: " ".join(_subparsers()[c].format_help().split())
             for c in ("evaluate", "predict", "serve", "explain")}  # fmt: skip
    for command in ("evaluate", "predict", "serve"):  # an exported .onnx file is enough
        assert "usage: thermocad" in helps[command] and " MODEL " in helps[command]
        assert ".onnx file" in helps[command]
    assert "model.safetensors + model.json" not in helps["evaluate"]
    assert "not an exported .onnx file" in helps["explain"]  # Grad-CAM needs the PyTorch model


def test_data_help_says_what_missing_filters_and_patient_counts_mean():
    from tests.cli.test_defaults_and_config import _subparsers

    prepare = " ".join(_subparsers()["prepare"].format_help().split())
    assert "an empty or missing value counts as no" in prepare
    assert "deodorant, single_breast (or mastectomy)" in prepare
    split = " ".join(_subparsers()["split"].format_help().split())
    assert "the TRAIN, VALID and TEST numbers are approximate" in split


def test_render_help_says_the_sheet_holds_the_first_files_only():
    import inspect

    from tests.cli.test_defaults_and_config import _subparsers
    from thermocad.io.render import render_folder

    most = inspect.signature(render_folder).parameters["sheet_max"].default
    render = " ".join(_subparsers()["render"].format_help().split())
    assert f"a contact sheet PNG here, of the first {most} readable files" in render


def test_a_reader_that_leaves_early_gets_no_error_message():
    """`thermocad models | head -1`: the pipe closes before thermocad writes; it stops quietly
    with the shell's status for a closed pipe (141), not "thermocad: error: Broken pipe"."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "thermocad", "models"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.close()  # the reader is gone before thermocad has started
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "error" not in err and "Broken pipe" not in err and "Exception" not in err, err


@pytest.mark.train
def test_models_without_the_training_stack_says_so_once(monkeypatch, capsys):
    """A core install (no torch, timm): no weights "available" that cannot be used, and no timm
    architecture "not on this machine" only because timm is missing to ask its cache."""
    import sys

    assert main(["models"]) == 0
    full = capsys.readouterr().out
    assert "offline: " in full and "Any timm model name also works" in full
    assert "thermocad[train]" not in full
    for name in ("torch", "timm", "fastai"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    assert main(["models"]) == 0
    core = capsys.readouterr().out
    assert "available" not in core and "not on this machine" not in core
    assert "efficientnet_lite0" in core and "resnet34" in core
    assert core.count("pip install 'thermocad[train]'") == 1
    assert "Training needs the [train] extra (torch, timm, fastai: not installed here)" in core


def test_each_commands_quiet_help_fits_it():
    from tests.cli.test_defaults_and_config import _subparsers

    quiet = {c: next(a.help for a in p._actions if "--quiet" in a.option_strings)
             for c, p in _subparsers().items()}  # fmt: skip
    for command in ("models", "split", "serve", "report", "prepare", "predict"):  # no training
        assert quiet[command] == "plain log lines instead of progress bars, for log files"
    for command in ("train", "fit", "study", "demo", "compare"):
        assert quiet[command].endswith("for log files (one line per epoch)")


def test_a_misspelt_option_is_answered_by_its_command_with_the_closest_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "run", "x.txt", "--out", "p.csv", "--fromat", "json"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("usage: thermocad predict")
    assert "unrecognized arguments: --fromat json; --fromat: did you mean --format?" in err
    # argparse says first that the option the misspelling meant is missing: both are said.
    with pytest.raises(SystemExit):
        main(["prepare", "data", "--labls", "l.csv", "--out", "o"])
    err = capsys.readouterr().err
    assert "required: --labels; --labls: did you mean --labels?" in err
    with pytest.raises(SystemExit):
        main(["prepare", "data", "--labels", "l.csv", "--out", "o", "--zzz"])
    assert "--zzz: no such option" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # after `--`, names are files, not options
        main(["prepare", "data", "--out", "o", "--", "--labls"])
    assert "--labls: did you mean" not in capsys.readouterr().err


def test_no_command_is_an_error_line_under_the_help(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert "COMMAND" in out and err == "thermocad: error: no command given (one of those above)\n"


def test_each_data_command_ends_its_stdout_with_what_it_wrote(tmp_path, capsys):
    """Logs go to stderr; stdout's last line names the output (`OUT=$(thermocad ... | tail -1)`),
    as train's, fit's and report's do."""
    data, run = tmp_path / "data", tmp_path / "run"
    steps = [
        (["synth", "--patients", "8", "--height", "60", "--width", "80", "--out", str(data)],
         f"labels: {data / 'labels.csv'}"),
        (["prepare", str(data), "--labels", str(data / "labels.csv"), "--out", str(run)],
         f"cohort: {run / 'cohort.csv'}"),
        (["split", str(run / "cohort.csv"), "--out", str(run / "split.csv")],
         f"split: {run / 'split.csv'}"),
        (["render", str(data), "--out", str(tmp_path / "png")], f"images: {tmp_path / 'png'}"),
    ]  # fmt: skip
    for argv, last in steps:
        assert main(argv) == 0, argv
        out = capsys.readouterr().out
        assert out.splitlines() == [last], (argv, out)


def test_the_examples_in_the_help_are_commands_the_parser_takes():
    import re
    import shlex

    from thermocad.cli import EXAMPLES, build_parser

    lines = [line for line in EXAMPLES.splitlines() if line.startswith("  thermocad ")]
    assert len(lines) >= 5
    for line in lines:
        command = re.split(r"\s{2,}", line.strip())[0]
        args = build_parser().parse_args(shlex.split(command)[1:])  # exits 2 on a wrong one
        assert getattr(args, "func", None), command


def test_an_interrupted_demo_says_how_to_start_it_again(tmp_path):
    # A new user's walkthrough: the demo, which has no --resume, said nothing.
    import argparse

    from thermocad.cli import _resume_hint

    args = argparse.Namespace(command="demo", out=str(tmp_path), force=False)
    assert _resume_hint(args) == f"; to start {tmp_path} again, run it with --force"
    assert _resume_hint(argparse.Namespace(command="predict", out=str(tmp_path))) == ""


def test_an_ascii_terminal_gets_help_and_a_name_it_cannot_read_is_said_so(tmp_path):
    """A locale review: LANG=C without UTF-8 mode, `evaluate --help` crashed on its °C, and
    prepare told a UTF-8 name it could not decode as ASCII to rename itself."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "PYTHONPATH": str(REPO / "src"),
           "THERMOCAD_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}  # fmt: skip
    run = [sys.executable, "-X", "utf8=0", "-m", "thermocad"]
    shown = subprocess.run([*run, "evaluate", "--help"], env=env, capture_output=True, check=False)
    assert shown.returncode == 0 and b"\\xb0C" in shown.stdout  # the ° escaped, not a crash
    data = tmp_path / "d\u00e4t\u00e4"
    data.mkdir()
    (data / "T0001.txt").write_text("\n".join(" ".join(["30.0"] * 8) for _ in range(8)))
    (tmp_path / "labels.csv").write_text("patient_id,diagnosis\n1,Sick\n")
    told = subprocess.run([*run, "prepare", str(data), "--labels", str(tmp_path / "labels.csv"),
                           "--out", str(tmp_path / "prep")], env=env, capture_output=True,
                          check=False)  # fmt: skip
    assert b"path not UTF-8 as this Python reads names (ascii)" in told.stderr
    # A closed stdout (a diff review: the check of its encoding crashed on None).
    closed = subprocess.run(["sh", "-c", 'exec 1>&-; exec "$0" "$@"', *run, "models"], env=env,
                            capture_output=False, stderr=subprocess.PIPE, check=False)  # fmt: skip
    assert b"Traceback" not in closed.stderr


def test_version_says_what_a_bug_report_needs(capsys):
    from thermocad import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"thermocad {__version__}") and lines[1].startswith("Python 3.")
    assert " on " in lines[1] and "numpy " in lines[2]  # and torch, timm, ... where installed


def test_no_result_is_written_inside_a_models_folder_with_or_without_force(tmp_path, capsys):
    """A review: `predict --out RUN/trained_on.csv --force` replaced the record of who trained
    the model, and evaluate then scored them as new women; split, prepare and evaluate --out
    RUN/cv replaced the run's own split, cohort and cross-validation the same way."""
    run = tmp_path / "run"
    (run / "cv").mkdir(parents=True)
    (run / ".thermocad").write_text("written by thermocad fit\n")
    (run / "trained_on.csv").write_text("patient_id,role\n2,train\n")
    (run / "cv" / "metrics.json").write_text("{}")
    data, before = tmp_path / "data", {}
    data.mkdir()
    for path in sorted(run.rglob("*")):
        before[path] = path.read_bytes() if path.is_file() else None
    (tmp_path / "cvlink").symlink_to(run / "cv")  # a diff review: a link, then .., had passed
    for argv in (["predict", str(run), str(data), "--out", str(run / "trained_on.csv")],
                 ["predict", str(run), str(data), "--out",
                  str(tmp_path / "cvlink" / ".." / "trained_on.csv")],
                 ["split", str(data / "cohort.csv"), "--out", str(run / "split.csv")],
                 ["prepare", str(data), "--labels", "l.csv", "--out", str(run / "cohort")],
                 ["render", str(data), "--out", str(run)],
                 ["evaluate", str(run), "--data", str(data), "--labels", "l.csv", "--out",
                  str(run / "cv")]):  # fmt: skip
        assert main([*argv, "--force"]) == 2
        err = capsys.readouterr().err
        assert f"is inside {run}, a thermocad fit's folder: {argv[0]} writes its results " in err
    assert {p: p.read_bytes() if p.is_file() else None for p in sorted(run.rglob("*"))} == before
    # evaluate's own folder directly in the model's, as its default is, stays allowed: new or
    # not, for the run folder or its .onnx file, through a link to it too
    (run / "eval_empty").mkdir()
    (tmp_path / "latest").symlink_to(run)
    for model, out in ((run, "eval_new"), (run, "eval_empty"), (run / "model.onnx", "ext"),
                       (tmp_path / "latest", "eval_new")):  # fmt: skip
        assert main(["evaluate", str(model), "--data", str(data), "--labels", "l.csv", "--out",
                     str(run / out)]) == 2  # (for want of a model and labels)  # fmt: skip
        assert "is inside" not in capsys.readouterr().err
    plain = tmp_path / "model"  # a model's folder without thermocad's mark: its model.json
    plain.mkdir()
    (plain / "model.json").write_text("{}")
    assert main(["synth", "--patients", "1", "--out", str(plain / "women")]) == 2
    assert f"is inside {plain}, a model's folder: synth" in capsys.readouterr().err
    # and a model's folder given as the thermograms is said to be one (its figures had been
    # listed as a dozen unreadable thermograms)
    for argv, folder in ((["render", str(run)], run), (["render", str(plain)], plain)):
        assert main([*argv, "--out", str(tmp_path / "pngs")]) == 2
        made = "a thermocad fit" if folder == run else "a model"
        assert (
            f"{folder}: is {made}'s folder, not a folder of thermograms" in capsys.readouterr().err
        )
    # nor into another folder of thermograms: its figures would be read back as ones
    other = tmp_path / "other"
    other.mkdir()
    (other / "T0007.txt").write_text("30 31\n32 33\n")
    for argv in (["render", str(data), "--force"],
                 ["evaluate", str(run), "--data", str(data), "--labels", "l.csv"]):  # fmt: skip
        assert main([*argv, "--out", str(other)]) == 2
        assert f"{other}: holds thermograms (T0007.txt): a folder of data; the figures and " in (
            capsys.readouterr().err
        )
    assert sorted(p.name for p in other.iterdir()) == ["T0007.txt"]
    # a user's notes.txt is no thermogram, and prepare writes only its cohort.csv (a table)
    (other / "T0007.txt").rename(other / "notes.txt")
    (other / "notes.txt").write_text("scanned on Tuesday\n")
    assert main(["render", str(data), "--force", "--out", str(other)]) == 2
    assert "holds thermograms" not in capsys.readouterr().err
    # a demo's folder holds a study and its data: results of its data may go beside them
    demo = tmp_path / "demo"
    (demo / "data").mkdir(parents=True)
    (demo / ".thermocad").write_text("written by thermocad demo\n")
    assert main(["render", str(demo / "data"), "--out", str(demo / "pngs")]) == 2
    assert "is inside" not in capsys.readouterr().err
