import json
import shutil
from pathlib import Path

import pandas as pd

from tests.helpers.ledger import predictions, split_ledger, women_files
from thermocad.evaluation import lockbox as L
from thermocad.evaluation import user_ledger as U
from thermocad.reporting.report import lockbox_note

PATIENTS = (1, 1, 2, 3)  # woman 1 has two files


def _data(folder: Path, seed: str = "a") -> list[Path]:
    """Four files of three women; `seed`: their bytes (another seed: other women)."""
    return women_files(folder, PATIENTS, seed)


def _pred(paths, probs) -> pd.DataFrame:
    return predictions(paths, probs, PATIENTS)


def test_the_user_ledger_lives_in_a_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "mine"))
    assert U.user_ledger_path() == tmp_path / "mine" / "test_openings.jsonl"
    monkeypatch.delenv("THERMOCAD_LEDGER_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert U.user_ledger_path() == tmp_path / "xdg" / "thermocad" / "test_openings.jsonl"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/xdg")  # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "thermocad" / "test_openings.jsonl"
    assert U.user_ledger_path() == expected


def test_a_womans_digest_is_her_files_bytes_whatever_the_row_order(tmp_path):
    paths = _data(tmp_path / "data")
    pred = _pred(paths, [0.1, 0.2, 0.3, 0.4])
    me, back = U.identify(pred), U.identify(pred.iloc[::-1])
    assert (me["women"], me["test"]) == (back["women"], back["test"]) and len(me["women"]) == 3
    # the same bytes under other names (a copy of the data elsewhere) are the same women
    copied = [tmp_path / "copy" / p.name for p in paths]
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    assert U.identify(_pred(copied, [0.1, 0.2, 0.3, 0.4])) == me
    # one of woman 1's files changed: she is another woman; the others are not
    before = U.women_digests(pred, [U.file_digest(p) for p in paths])
    assert before == U.women_digests(pred.iloc[::-1], [U.file_digest(p) for p in paths[::-1]])
    paths[1].write_text("other bytes\n")
    after = U.women_digests(pred, [U.file_digest(p) for p in paths])
    assert after["1"] != before["1"] and after["2"] == before["2"]
    assert U.identify(pred)["women"] != me["women"]


def test_a_second_study_folder_of_the_same_women_counts_the_first_ones_models(tmp_path):
    # `thermocad study` twice on the same data with the same seed: two split.csv, two ledgers
    # beside them, the same test women. The second study's model was counted as the first.
    paths = _data(tmp_path / "data")
    first = L.record_opening(split_ledger(tmp_path / "study_a"), _pred(paths, [0.1, 0.2, 0.3, 0.4]),
                             "study_a", 0.75, threshold=0.5)  # fmt: skip
    assert (first["opening"], first["models"]) == (1, 1)
    assert first["user_ledger"] == str(U.user_ledger_path())
    second = L.record_opening(split_ledger(tmp_path / "study_b"), _pred(paths, [0.6, 0.2, 0.3, 0.4]),
                              "study_b", 0.5, threshold=0.5)  # fmt: skip
    assert (second["opening"], second["models"], second["new"]) == (2, 2, True)
    assert "this one the 2nd" in L.describe(second)
    # study_a's model scored again on a copy of the split and the data: not a new opening
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    copied = [tmp_path / "copy" / p.name for p in paths]
    again = L.record_opening(split_ledger(tmp_path / "elsewhere"), _pred(copied, [0.1, 0.2, 0.3, 0.4]),
                             "study_a again", threshold=0.5)  # fmt: skip
    assert (again["opening"], again["models"], again["new"]) == (1, 2, False)
    # study_a's report, written again, counts study_b's model (its own ledger holds one)
    assert L.refreshed(first)["models"] == 2
    note = lockbox_note(first)
    assert "2 different models" in note and str(tmp_path) not in note
    entry = json.loads(U.user_ledger_path().read_text().splitlines()[0])
    assert "patients" not in entry and len(entry["women"]) == 3  # women by bytes, no numbers


def test_models_keep_the_order_they_were_scored_in_when_a_clock_ran_fast(tmp_path):
    """The ledgers' lines are appended as models are scored: their order is the truth, their
    clocks may not be (a machine running fast, another writing the split's folder). Sorted by
    time alone, the first model scored had been told it was the second (a dates review)."""
    paths = _data(tmp_path / "data")
    ledger = split_ledger(tmp_path / "study")
    first = _pred(paths, [0.1, 0.2, 0.3, 0.4])
    L.record_opening(ledger, first, "A", threshold=0.5)
    for file in (ledger, U.user_ledger_path()):  # A scored on a clock a year fast
        lines = [json.loads(line) for line in file.read_text().splitlines()]
        for entry in lines:
            entry["time"] = "2099-01-01T00:00:00+00:00"
        file.write_text("".join(json.dumps(e) + "\n" for e in lines))
    second = L.record_opening(ledger, _pred(paths, [0.6, 0.2, 0.3, 0.4]), "B", threshold=0.5)
    assert (second["opening"], second["models"], second["new"]) == (2, 2, True)
    again = L.record_opening(ledger, first, "A again", threshold=0.5)
    assert (again["opening"], again["models"], again["new"]) == (1, 2, False)


def test_other_women_under_the_same_numbers_are_another_test_set(tmp_path):
    # Two synthetic cohorts of different seeds: the same patient numbers and file names,
    # other women. Each first model on them is the first.
    a = _data(tmp_path / "synth_1" / "data", seed="1")
    b = _data(tmp_path / "synth_2" / "data", seed="2")
    one = L.record_opening(
        split_ledger(tmp_path / "synth_1"), _pred(a, [0.1, 0.2, 0.3, 0.4]), "run1"
    )
    two = L.record_opening(
        split_ledger(tmp_path / "synth_2"), _pred(b, [0.5, 0.2, 0.3, 0.4]), "run2"
    )
    assert (one["opening"], one["models"]) == (two["opening"], two["models"]) == (1, 1)
    assert one["women"] != two["women"] and L.refreshed(one)["models"] == 1


def test_a_split_side_ledger_of_the_previous_version_still_counts(tmp_path):
    # Written before the user ledger: its entry knows the model by paths only. Scoring that
    # model again is not a new opening; another model is the 2nd.
    paths = _data(tmp_path / "data")
    ledger, pred = split_ledger(tmp_path / "study"), _pred(paths, [0.1, 0.2, 0.3, 0.4])
    old = {"time": "2026-01-01T00:00:00+00:00", "test": L.patients_fingerprint(pred),
           "model": L.model_fingerprint(pred, 0.5), "source": "old", "n_patients": 3,
           "patients": ["1", "2", "3"], "scores": L.model_fingerprint(pred)}  # fmt: skip
    ledger.write_text(json.dumps(old) + "\n")
    again = L.record_opening(ledger, pred, "old again", threshold=0.5)
    assert (again["opening"], again["models"], again["new"]) == (1, 1, False)
    other = L.record_opening(ledger, pred.assign(prob=[0.9, 0.2, 0.3, 0.4]), "new", threshold=0.5)
    assert (other["opening"], other["models"]) == (2, 2)


def test_an_unusable_user_ledger_is_said_and_the_scoring_goes_on(tmp_path, monkeypatch, capsys):
    # A read-only home, here a folder where the ledger file should be (unreadable and
    # unwritable, even for root): one line naming it; the split's ledger still counts.
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "home"))
    U.user_ledger_path().mkdir(parents=True)
    paths = _data(tmp_path / "data")
    ledger = split_ledger(tmp_path / "study")
    first = L.record_opening(ledger, _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    err = capsys.readouterr().err
    assert f"could not be recorded in the user ledger {U.user_ledger_path()}" in err
    assert "user_ledger" not in first and (first["opening"], first["models"]) == (1, 1)
    second = L.record_opening(ledger, _pred(paths, [0.9, 0.2, 0.3, 0.4]), "b")
    assert (second["opening"], second["models"]) == (2, 2) and len(L.read_ledger(ledger)) == 2
    # a file that is not there is no woman known by her bytes: the split's ledger alone
    gone = L.record_opening(ledger, _pred(["/nowhere/a.txt"] * 4, [0.1, 0.2, 0.3, 0.4]), "c")
    assert "could not be read to know its woman" in capsys.readouterr().err
    assert gone["models"] == 3 and "user_ledger" not in gone


def test_a_teams_ledger_another_user_made_says_how_to_share_it(tmp_path, monkeypatch, capsys):
    # THERMOCAD_LEDGER_DIR set for a team: the ledger alice made is read-only to bob.
    import os

    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "team"))
    paths = _data(tmp_path / "data")
    L.record_opening(split_ledger(tmp_path / "a"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    theirs, real = U.user_ledger_path(), os.open

    def refusing(path, flags, *args):
        if os.fspath(path) == os.fspath(theirs) and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
    capsys.readouterr()
    L.record_opening(split_ledger(tmp_path / "b"), _pred(paths, [0.9, 0.2, 0.3, 0.4]), "b")
    err = capsys.readouterr().err
    assert f"could not be recorded in the user ledger {theirs}" in err
    assert f"ask the owner of {theirs} to let the group write it: chmod g+w {theirs}" in err


def test_evaluate_on_a_copy_of_the_split_counts_the_models_scored_on_the_original(
    tmp_path, monkeypatch
):
    # `thermocad evaluate RUN --split COPY_OF_SPLIT.csv`: the copy's ledger is new, its women
    # are not. A model scored on the original first makes the next one on the copy the 2nd.
    import numpy as np

    import thermocad.models.bundle
    from tests.evaluation.test_evaluate import _pred as rows
    from tests.evaluation.test_evaluate import fake_bundle
    from thermocad.evaluation import evaluate as E

    split = rows().drop(columns="prob")
    for path in split["path"]:
        np.save(tmp_path / path, np.full((16, 20), 33.0 + len(path), np.float32))
    split["path"] = [str(tmp_path / p) for p in split["path"]]
    split["split"] = "test"
    (tmp_path / "study").mkdir()
    split.to_csv(tmp_path / "study" / "split.csv", index=False)
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "study" / "split.csv", tmp_path / "copy" / "split.csv")
    run = tmp_path / "run"
    run.mkdir()
    score = {"p": 0.4}
    bundle = fake_bundle(lambda arrays, tta=False: np.full(len(arrays), score["p"]),
                         unit="celsius", threshold=0.5, meta={"arch": "fake"})  # fmt: skip
    monkeypatch.setattr(thermocad.models.bundle, "load_bundle", lambda run_dir: bundle)
    first = E.evaluate_run(run, tmp_path / "study" / "split.csv", n_boot=0)["lockbox"]
    same = E.evaluate_run(run, tmp_path / "copy" / "split.csv", n_boot=0, force=True)["lockbox"]
    assert (first["models"], same["opening"], same["models"], same["new"]) == (1, 1, 1, False)
    score["p"] = 0.6  # another model
    other = E.evaluate_run(run, tmp_path / "copy" / "split.csv", n_boot=0, force=True)["lockbox"]
    assert (other["opening"], other["models"], other["new"]) == (2, 2, True)
    saved = json.loads((run / "eval_test" / "metrics.json").read_text())["lockbox"]
    assert saved["models"] == 2 and saved["user_ledger"] == str(U.user_ledger_path())


def test_an_entry_after_a_torn_last_line_is_kept_and_every_byte_written(tmp_path, monkeypatch):
    # The last line has no final newline (a torn write, an editor): the next entry was glued
    # onto it, and the joined line skipped, so that opening was lost.
    from thermocad.evaluation import ledger_file as F

    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(b'{"model": "a"}\n{"model": "torn')
    F.append_entry(ledger, {"model": "b"})
    assert [e["model"] for e in F.read_ledger(ledger)] == ["a", "b"]
    real = F.os.write
    monkeypatch.setattr(F.os, "write", lambda fd, data: real(fd, data[:5]))  # short writes
    F.append_entry(ledger, {"model": "c"})
    assert [e["model"] for e in F.read_ledger(ledger)] == ["a", "b", "c"]


def test_a_byte_that_is_not_utf8_costs_its_line_only(tmp_path, capsys):
    # One bad byte made the whole user ledger unreadable (every later opening read as the
    # first) and crashed the ledger beside the split with UnicodeDecodeError.
    paths = _data(tmp_path / "data")
    ledger = split_ledger(tmp_path / "study")
    L.record_opening(ledger, _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    for path in (ledger, U.user_ledger_path()):
        path.write_bytes(path.read_bytes() + b'{"model": "\xff"}\n')
    capsys.readouterr()
    other = L.record_opening(
        split_ledger(tmp_path / "other"), _pred(paths, [0.9, 0.2, 0.3, 0.4]), "b"
    )
    assert (other["opening"], other["models"]) == (2, 2)
    again = L.record_opening(ledger, _pred(paths, [0.8, 0.2, 0.3, 0.4]), "c")
    assert (again["opening"], again["models"]) == (3, 3)
    err = capsys.readouterr().err
    assert f"{U.user_ledger_path()}: 1 line(s) could not be read and were skipped" in err
    assert f"{ledger}: 1 line(s) could not be read" in err


def test_a_hand_edited_line_of_the_wrong_types_is_skipped(tmp_path, capsys):
    # `"women": null` crashed the count with a TypeError, a list as a print as unhashable.
    paths = _data(tmp_path / "data")
    ledger = split_ledger(tmp_path / "study")
    L.record_opening(ledger, _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    bad = [{"model": "x", "women": None}, {"split_model": ["q"], "model": "y"},
           {"model": "z", "patients": None}, {"model": {"a": 1}, "test": "t"}, ["a list"]]  # fmt: skip
    for path in (ledger, U.user_ledger_path()):
        path.write_text(path.read_text() + "".join(json.dumps(e) + "\n" for e in bad))
    capsys.readouterr()
    other = L.record_opening(ledger, _pred(paths, [0.9, 0.2, 0.3, 0.4]), "b")
    assert (other["opening"], other["models"]) == (2, 2)
    assert "5 line(s) could not be read and were skipped" in capsys.readouterr().err


def test_the_same_women_scored_with_fewer_of_their_files_are_not_new_women(tmp_path):
    # Woman 1 scored with one of her two files (fewer frames, another view filter): her
    # digest is another, so she read as a new woman and the next model as the first.
    paths = _data(tmp_path / "data")
    first = L.record_opening(
        split_ledger(tmp_path / "all"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a"
    )
    fewer = pd.DataFrame({"path": [str(paths[0])], "patient_id": [1], "prob": [0.7]})
    one = L.record_opening(split_ledger(tmp_path / "fewer"), fewer, "b")
    assert (one["opening"], one["models"]) == (2, 2)
    assert L.refreshed(first)["models"] == 2
    entry = json.loads(U.user_ledger_path().read_text().splitlines()[0])
    assert len(entry["files"]) == 4 and {len(f) for f in entry["files"]} == {16}
    # an entry written before `files` was kept still matches by her women's digests
    old = {k: v for k, v in entry.items() if k != "files"}
    U.user_ledger_path().write_text(json.dumps(old) + "\n")
    again = L.record_opening(split_ledger(tmp_path / "again"), _pred(paths, [0.5] * 4), "c")
    assert (again["opening"], again["models"]) == (2, 2)


def _score_at_once(folder, paths, prob, barrier, results):
    """One evaluation of a model, started with another's (test below): its appends are slow,
    so an evaluation that read the ledger before the other appended would count alone."""
    import time

    real = L.append_entry

    def slow(*args):
        time.sleep(0.3)
        real(*args)

    L.append_entry = slow  # this process's only: a forked child
    barrier.wait(timeout=10)
    pred = _pred(paths, [prob, 0.2, 0.3, 0.4])
    results.put(L.record_opening(split_ledger(folder), pred, f"p={prob}")["opening"])


def test_two_evaluations_at_once_count_each_other(tmp_path):
    # Both read the user ledger before either appended: both said "the first model".
    import multiprocessing
    import os

    import pytest

    if os.name != "posix":
        pytest.skip("no fork, no flock")
    paths = _data(tmp_path / "data")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    jobs = [ctx.Process(target=_score_at_once, args=(tmp_path / f"study_{p}", paths, p, barrier,
                                                     results)) for p in (0.6, 0.9)]  # fmt: skip
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=20)
    assert [job.exitcode for job in jobs] == [0, 0]
    assert sorted(results.get(timeout=5) for _ in jobs) == [1, 2]
    assert len(U.read_user_ledger(U.user_ledger_path())) == 2


def test_external_md_names_the_ledgers_and_metrics_json_the_home_as_tilde(tmp_path, monkeypatch):
    # external.md wrote both ledgers' absolute paths, the user's home folder with them.
    from thermocad.evaluation.external_report import notes

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "home" / "ledgers"))
    paths = _data(tmp_path / "data")
    first = L.record_opening(
        split_ledger(tmp_path / "study"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a"
    )
    assert first["user_ledger"] == "~/ledgers/test_openings.jsonl"  # as metrics.json keeps it
    L.record_opening(split_ledger(tmp_path / "other"), _pred(paths, [0.9, 0.2, 0.3, 0.4]), "b")
    assert L.refreshed(first)["models"] == 2  # found again under ~
    said = notes({"served": {"by_period": {}}, "lockbox": first})[-1]
    assert "ledger split.test_openings.jsonl; user ledger test_openings.jsonl" in said
    assert str(tmp_path) not in said and "~" not in said


def test_the_words_when_a_ledger_cannot_be_written(tmp_path, monkeypatch, capsys):
    import errno

    from thermocad.cli import main

    # The split's ledger failed, the user ledger recorded it: the log said it was unrecorded.
    paths = _data(tmp_path / "data")

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(L, "append_entry", full)
    box = L.record_opening(
        split_ledger(tmp_path / "study"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a"
    )
    said = L.describe(box)
    assert "(No space left on device); the user ledger" in said and "did record it" in said
    # a user ledger folder that is a file: not "(File exists)"
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "afile"))
    L.record_opening(split_ledger(tmp_path / "other"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "b")
    assert f"({tmp_path / 'afile'} is a file, not a folder)" in capsys.readouterr().err
    # evaluate --help names $XDG_DATA_HOME, as docs/evaluation.md does
    import pytest

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "$XDG_DATA_HOME/thermocad" in " ".join(capsys.readouterr().out.split())


def test_without_a_user_ledger_an_opening_still_waits_for_the_split_ledger(tmp_path, monkeypatch):
    """A reviewer widened the race: two evaluations without a usable user ledger were both told
    they were the first model. The split's own ledger is locked while an opening is counted."""
    import os
    import threading

    from thermocad.evaluation.ledger_file import open_locked

    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "home"))
    U.user_ledger_path().mkdir(parents=True)  # unusable: a folder where the file should be
    paths, ledger = _data(tmp_path / "data"), split_ledger(tmp_path / "study")
    held, done = open_locked(ledger), []  # as another evaluation counting now
    worker = threading.Thread(
        target=lambda: done.append(L.record_opening(ledger, _pred(paths, [0.1] * 4), "b"))
    )
    worker.start()
    worker.join(1.0)
    assert worker.is_alive() and not done  # it waits for the count in progress
    os.write(held, (json.dumps({"test": L.patients_fingerprint(_pred(paths, [0] * 4)),
                                "model": "other", "patients": ["1", "2", "3"]}) + "\n").encode())  # fmt: skip
    os.close(held)
    worker.join(30)
    assert (done[0]["opening"], done[0]["models"]) == (2, 2)  # it counted the other one


def test_a_ledger_given_as_the_user_ledger_itself_does_not_wait_for_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "home"))
    paths = _data(tmp_path / "data")
    U.user_ledger_path().parent.mkdir(parents=True)
    box = L.record_opening(U.user_ledger_path(), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    assert box["models"] == 1  # returned: no second lock of one file by this process


def test_the_ledger_folder_setting_is_absolute_or_refused(monkeypatch, tmp_path):
    """A relative THERMOCAD_LEDGER_DIR gave every working folder a ledger of its own."""
    import pytest

    from thermocad.evaluation.user_ledger import user_ledger_path
    from thermocad.utils.errors import ConfigError

    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", "ledgers")
    with pytest.raises(ConfigError, match="'ledgers' is a relative path"):
        user_ledger_path()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", "~/ledgers")
    assert user_ledger_path() == tmp_path / "ledgers" / "test_openings.jsonl"


def test_the_same_women_with_their_files_saved_again_are_not_new_women(tmp_path):
    # Known by their bytes only, every file gzipped (or saved with other line endings) read as
    # other women, and the next model on them as the first.
    import gzip

    data, again = tmp_path / "data", tmp_path / "resaved"
    data.mkdir(), again.mkdir()
    paths, resaved = [], []
    for i, pid in enumerate(PATIENTS):
        text = f"{30 + i}.5 {31 + pid}.25\n32.0 33.0\n".encode()
        paths.append(data / f"IR_{pid:04d}_{i}.txt")
        paths[-1].write_bytes(text)
        resaved.append(again / f"IR_{pid:04d}_{i}.txt.gz")
        resaved[-1].write_bytes(gzip.compress(text.replace(b"\n", b"\r\n")))
    first = L.record_opening(split_ledger(tmp_path / "a"), _pred(paths, [0.1, 0.2, 0.3, 0.4]), "a")
    second = L.record_opening(
        split_ledger(tmp_path / "b"), _pred(resaved, [0.6, 0.2, 0.3, 0.4]), "b"
    )
    assert (first["opening"], second["opening"], second["models"]) == (1, 2, 2)
    entry = json.loads(U.user_ledger_path().read_text().splitlines()[0])
    assert len(entry["files"]) == 8  # four files, each by its bytes and by its frame
