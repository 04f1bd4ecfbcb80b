import json

import pandas as pd

from thermocad.evaluation import lockbox as L
from thermocad.reporting.report import lockbox_note


def _pred(probs, patients=(1, 1, 2, 3)):
    return pd.DataFrame({"path": [f"/d/T{i}.txt" for i in range(len(patients))],
                         "patient_id": list(patients), "prob": probs})  # fmt: skip


def test_ledger_sits_beside_the_split(tmp_path):
    assert L.ledger_path(tmp_path / "split.csv") == tmp_path / "split.test_openings.jsonl"
    import pytest

    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="newdir does not exist; the ledger"):
        L.ledger_path(tmp_path / "split.csv", tmp_path / "newdir" / "ledger.jsonl")
    (tmp_path / "afile").write_text("")
    with pytest.raises(ConfigError, match="afile is a file, not a folder"):
        L.ledger_path(tmp_path / "split.csv", tmp_path / "afile" / "ledger.jsonl")
    # --ledger naming the split itself, or a table (the labels file): an entry appended there
    # damaged it.
    (tmp_path / "split.csv").write_text("path,patient_id,label,split\n")
    with pytest.raises(ConfigError, match="--ledger names the table being scored"):
        L.ledger_path(tmp_path / "split.csv", tmp_path / "split.csv")
    (tmp_path / "labels.csv").write_text("patient_id,diagnosis\n1,Sick\n")
    with pytest.raises(ConfigError, match=r"labels\.csv: not a ledger of test openings"):
        L.ledger_path(tmp_path / "split.csv", tmp_path / "labels.csv")
    (tmp_path / "mine.jsonl").write_text('\n{"time": "x"}\n')  # a ledger: taken
    assert L.ledger_path(tmp_path / "split.csv", tmp_path / "mine.jsonl") == tmp_path / "mine.jsonl"
    # A split reached through a link has the one ledger, beside the file itself.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "split.csv").symlink_to(tmp_path / "split.csv")
    assert L.ledger_path(tmp_path / "elsewhere" / "split.csv") == L.ledger_path(
        tmp_path / "split.csv"
    )


def test_fingerprints_ignore_row_order_and_float_noise():
    a = _pred([0.1, 0.2, 0.3, 0.4])
    b = a.iloc[::-1].assign(prob=lambda d: d["prob"] + 1e-7)
    assert L.patients_fingerprint(a) == L.patients_fingerprint(b)
    assert L.model_fingerprint(a) == L.model_fingerprint(b)
    assert L.model_fingerprint(a) != L.model_fingerprint(a.assign(prob=[0.1, 0.2, 0.3, 0.5]))


def test_openings_count_distinct_models_per_test_set(tmp_path, capsys):
    split = tmp_path / "split.csv"
    first = L.record_opening(L.ledger_path(split), _pred([0.1, 0.2, 0.3, 0.4]), "run_a", 0.75)
    assert first == {"opening": 1, "models": 1, "n_patients": 3, "new": True,
                     "test": L.patients_fingerprint(_pred([0] * 4)),
                     "ledger": str(tmp_path / "split.test_openings.jsonl")}  # fmt: skip
    again = L.record_opening(L.ledger_path(split), _pred([0.1, 0.2, 0.3, 0.4]), "run_a again")
    assert (again["opening"], again["models"], again["new"]) == (1, 1, False)
    other = L.record_opening(L.ledger_path(split), _pred([0.9, 0.2, 0.3, 0.4]), "run_b", 0.5)
    assert (other["opening"], other["models"], other["new"]) == (2, 2, True)
    assert "2 different models" in capsys.readouterr().err
    assert "some of them, this one the 2nd (ledger" in L.describe(other)
    assert "this one the 1st" in L.describe({**first, "models": 3})  # a report's, counted later
    # other test patients are another lockbox with its own count
    elsewhere = L.record_opening(L.ledger_path(split), _pred([0.5, 0.5], patients=(7, 8)), "run_b")
    assert (elsewhere["opening"], elsewhere["models"]) == (1, 1)
    # a report written later from the first opening's metrics.json counts the ledger again
    assert L.refreshed(first)["models"] == 2 and "2 different models" in lockbox_note(first)
    lines = L.ledger_path(split).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["patient_auc"] == 0.75
    assert json.loads(lines[1])["patient_auc"] is None


def test_openings_are_counted_where_os_has_no_pread(tmp_path, monkeypatch):
    """Windows' os has no pread (nor fcntl): the ledger had failed with an AttributeError."""
    import os

    monkeypatch.delattr(os, "pread")
    split = tmp_path / "split.csv"
    first = L.record_opening(L.ledger_path(split), _pred([0.1, 0.2, 0.3, 0.4]), "run_a", 0.75)
    other = L.record_opening(L.ledger_path(split), _pred([0.9, 0.2, 0.3, 0.4]), "run_b", 0.5)
    assert (first["opening"], other["opening"], other["models"]) == (1, 2, 2)


def test_a_test_set_that_shares_women_with_an_earlier_one_counts_its_models(tmp_path):
    # The same women less one, scored by another model: not "the first model on these 2
    # patients" (the counter was keyed on the exact set, so re-drawing it reset the count).
    split = tmp_path / "split.csv"
    L.record_opening(L.ledger_path(split), _pred([0.1, 0.2, 0.3, 0.4]), "run_a")
    fewer = _pred([0.1, 0.2, 0.3, 0.4]).query("patient_id != 3")
    out = L.record_opening(L.ledger_path(split), fewer.assign(prob=fewer["prob"] + 0.3), "run_b")
    assert out["n_patients"] == 2 and (out["opening"], out["models"]) == (2, 2)
    # and the first opening's report, rewritten later, counts the second model too
    first = L.read_ledger(L.ledger_path(split))[0]
    assert (
        L.refreshed({"test": first["test"], "models": 1, "ledger": str(L.ledger_path(split))})[
            "models"
        ]
        == 2
    )


def test_the_same_scores_called_at_another_threshold_are_another_opening(tmp_path):
    split = tmp_path / "split.csv"
    pred = _pred([0.1, 0.2, 0.3, 0.4])
    L.record_opening(L.ledger_path(split), pred, "run_a", threshold=0.3)
    same = L.record_opening(L.ledger_path(split), pred, "run_a", threshold=0.3)
    lower = L.record_opening(L.ledger_path(split), pred, "run_a", threshold=0.15)
    assert (same["models"], lower["models"], lower["new"]) == (1, 2, True)


def test_a_torn_ledger_line_is_skipped(tmp_path):
    split = tmp_path / "split.csv"
    L.record_opening(L.ledger_path(split), _pred([0.1, 0.2, 0.3, 0.4]), "a")
    with L.ledger_path(split).open("a") as f:
        f.write('{"test": "trunc\n[1, 2]\n')
    out = L.record_opening(L.ledger_path(split), _pred([0.4, 0.2, 0.3, 0.4]), "b")
    assert out["models"] == 2 and len(L.read_ledger(L.ledger_path(split))) == 2


def test_an_unwritable_ledger_is_refused_before_scoring_and_never_reads_as_first(tmp_path):
    import pytest

    from thermocad.utils.errors import ConfigError

    # Data on a read-only disk (here: a folder that is not there): refused, with the way out.
    with pytest.raises(
        ConfigError, match=r"split\.test_openings\.jsonl: cannot write .*give --ledger FILE"
    ):
        L.ledger_path(tmp_path / "gone" / "split.csv")
    given = L.ledger_path(tmp_path / "gone" / "split.csv", tmp_path / "mine.jsonl")
    assert given == tmp_path / "mine.jsonl"
    L.record_opening(given, _pred([0.1, 0.2, 0.3, 0.4]), "a")
    # Unwritable after the check (a disk that fills up): said, not counted as the first.
    out = L.record_opening(tmp_path / "gone" / "x.jsonl", _pred([0.1, 0.2, 0.3, 0.4]), "b")
    assert out["unrecorded"] and "how many have been scored is unknown" in L.describe(out)
    assert "the first model" not in L.describe(out)


def test_report_flags_a_reopened_test_set():
    box = {"opening": 2, "models": 2, "n_patients": 24, "ledger": "/x/split.test_openings.jsonl"}
    html = lockbox_note(box)
    assert html.startswith("<p class=bad>") and "split.test_openings.jsonl" in html
    assert "/x/" not in html
    first = lockbox_note({**box, "opening": 1, "models": 1})
    assert first.startswith("<p>") and "the first model" in first
    assert lockbox_note(None) == ""


def test_the_ledger_is_found_from_any_working_folder(tmp_path, monkeypatch):
    (tmp_path / "study").mkdir()
    monkeypatch.chdir(tmp_path)
    pred = pd.DataFrame({"path": ["a", "b"], "patient_id": [1, 2], "prob": [0.1, 0.9]})
    first = L.record_opening(L.ledger_path("study/split.csv"), pred, "run1")  # a relative path
    L.record_opening(L.ledger_path("study/split.csv"), pred.assign(prob=[0.2, 0.8]), "run2")
    monkeypatch.chdir("/")  # `thermocad report` run from elsewhere
    assert L.refreshed(first)["models"] == 2


def test_a_ledger_written_before_thresholds_were_printed_still_knows_the_model(tmp_path):
    # An entry of the previous version (no women, scores-only print): the same scores scored
    # again are the same model, not a second one that would flag the test set as reused.
    split = tmp_path / "split.csv"
    pred = _pred([0.1, 0.2, 0.3, 0.4])
    old = {"time": "2026-12-04T00:00:00+00:00", "test": L.patients_fingerprint(pred),
           "model": L.model_fingerprint(pred), "source": "run_a", "n_patients": 3}  # fmt: skip
    L.ledger_path(split).write_text(json.dumps(old) + "\n")
    again = L.record_opening(L.ledger_path(split), pred, "run_a", threshold=0.4)
    assert (again["opening"], again["models"], again["new"]) == (1, 1, False)
    other = L.record_opening(L.ledger_path(split), pred.assign(prob=pred["prob"] + 0.2), "run_b")
    assert other["models"] == 2


def test_a_ledger_is_made_as_the_umask_allows_for_a_teams_shared_folder(tmp_path):
    # umask 002 in a group folder: the group's members append to one ledger (it was 0644).
    import os

    from thermocad.evaluation.ledger_file import append_entry, locked, read_ledger

    old = os.umask(0o002)
    try:
        append_entry(tmp_path / "a.jsonl", {"n": 1})
        with locked(tmp_path / "b.jsonl") as fd:
            append_entry(tmp_path / "b.jsonl", {"n": 2}, fd)
    finally:
        os.umask(old)
    for name in ("a.jsonl", "b.jsonl"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o664
    assert read_ledger(tmp_path / "b.jsonl") == [{"n": 2}]


def test_a_training_record_of_a_role_this_thermocad_does_not_know_counts_as_training(tmp_path):
    # A newer thermocad's role ("calibration") had switched the training-women check off.
    run = tmp_path / "run"
    run.mkdir()
    (run / L.TRAINED_ON).write_text("patient_id,role\n1,train\n2,valid\n3,calibration\n")
    assert L.run_patients(run) == {"1": "train", "2": "valid", "3": "train"}
    import pytest

    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match=r"1 of these patients trained the model .*patient 3"):
        L.check_unseen([3, 4], run, "new.csv", roles=("train",))


def test_a_training_record_written_over_is_refused_not_replaced_by_the_split(tmp_path):
    """A review: predictions written over trained_on.csv had been passed over for split.csv,
    and with that written over too, evaluate scored the training women as new women."""
    import pytest

    from thermocad.utils.errors import ModelFormatError

    run = tmp_path / "run"
    run.mkdir()
    (run / "split.csv").write_text("patient_id,split\n1,train\n")
    (run / L.TRAINED_ON).write_text("file,prob_sick\nT0001.txt,0.2\n")  # predict's columns
    with pytest.raises(ModelFormatError, match=r"trained_on.csv: not the record of who trained"):
        L.run_patients(run)
