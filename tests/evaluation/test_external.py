"""`thermocad evaluate --data --labels`: a trained model scored once on a folder of new women."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation.external import evaluate_external, external_table
from thermocad.evaluation.shift import frames_outside, rooms_outside
from thermocad.fit import fit
from thermocad.utils.errors import CohortError, ConfigError, OutputExistsError


@pytest.fixture
def new_women(tmp_path):
    """16 synthetic women with dates: 8 Healthy imaged early and late, 8 Sick imaged late."""
    from thermocad.synth.cohort import generate_cohort

    # Numbered from 101: the run trained on patients 0..27, whom evaluate refuses.
    labels = generate_cohort(tmp_path / "new", n_patients=16, seed=5, height=64, width=80,
                             sick_fraction=0.5, first_id=101)  # fmt: skip
    table = pd.read_csv(labels)
    sick = table["diagnosis"] == "Sick"
    order = table.groupby("diagnosis").cumcount()
    table["acquisition_date"] = [f"2014-0{1 + k % 6}-15" if s else f"201{3 + k % 2}-03-01"
                                 for s, k in zip(sick, order, strict=True)]  # fmt: skip
    table.to_csv(labels, index=False)
    return tmp_path / "new", labels


def test_external_scores_the_served_model_and_each_half(run_dir, new_women, tmp_path):
    data, labels = new_women
    out = tmp_path / "ext"
    result = evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20)
    assert result["served"]["patient"]["n"] == 16 and result["served"]["patient"]["n_sick"] == 8
    period = result["served"]["by_period"]["subsets"]["period-matched"]
    # Both classes were imaged from 2014-01-15 (first Sick) to 2014-03-01 (last Healthy): the 4
    # Healthy women of 2014 and the 4 Sick of January and February.
    assert period["n"] == 8 and period["n_sick"] == 4
    assert set(result["halves"]) == {"cnn", "baseline"}  # the smoke run averages the two
    rows = result["table"].splitlines()
    assert rows[2].startswith("| efficientnet_lite0+baseline (served) |") and len(rows) == 5
    assert "its CNN half alone" in rows[3] and "its baseline half alone" in rows[4]
    pred = pd.read_csv(out / "predictions.csv")
    assert {"prob", "prob_cnn", "prob_baseline"} <= set(pred.columns) and len(pred) == 16
    assert pred["prob"].to_numpy() == pytest.approx((pred["prob_cnn"] + pred["prob_baseline"]) / 2,
                                                    abs=1e-6)  # fmt: skip
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["threshold"] == pytest.approx(result["threshold"])
    import hashlib  # which model scored them: its model.json's digest (a provenance review)

    model = hashlib.sha256((run_dir / "model.json").read_bytes()).hexdigest()
    assert saved["scored_by"]["model_sha256"] == model
    text = (out / "external.md").read_text()
    assert (
        "its CNN half alone" in text and "![roc](roc.png)" in text and (out / "roc.png").is_file()
    )
    assert "Room drift: not measured (fewer than 10 Healthy women" in text  # 8 of them
    assert (
        "- Period-matched: the women of a batch imaged inside the dates where both classes "
        "occur in it: 2014-01-15 to 2014-03-01 (batch A)\n"
    ) in text  # every woman dated
    assert saved["dated"] == {"patients": 16, "dated": 16}
    # A smoke run says so above its figures, as predict does (they read as a result).
    assert saved["model_warnings"] and "is a smoke run" in saved["model_warnings"][0]
    assert text.split("\n")[2].startswith("**Warning: this model") and "smoke run" in text
    assert result["lockbox"]["models"] == 1
    with pytest.raises(OutputExistsError, match="holds an earlier evaluation; --force replaces it"):
        evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20)
    (out / "metrics.json").rename(out / "kept.json")  # as if stopped before writing it
    with pytest.raises(OutputExistsError, match="holds an evaluation stopped before its metrics"):
        evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20)
    (out / "kept.json").rename(out / "metrics.json")
    again = evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20, force=True)
    assert again["lockbox"]["models"] == 1  # the same model scored again is not a new opening
    assert again["lockbox"]["ledger"] == str(labels.with_name("labels.test_openings.jsonl"))
    # Forced again with labels it cannot read: refused before the earlier results go.
    bad = pd.read_csv(labels).rename(columns={"diagnosis": "diag"})
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CohortError, match="missing required column.*diagnosis"):
        evaluate_external(run_dir, data, tmp_path / "bad.csv", out_dir=out, force=True)
    assert (out / "metrics.json").is_file() and (out / "external.md").is_file()
    # The model's own folder is no evaluation's, even with --force: its cohort stays.
    cohort = run_dir / "cohort" / "cohort.csv"
    before = cohort.read_bytes() if cohort.exists() else None
    for forced in (False, True):
        with pytest.raises(OutputExistsError, match="is the folder of a thermocad .*not an "
                                                    "evaluation's"):  # fmt: skip
            evaluate_external(run_dir, data, labels, out_dir=run_dir, force=forced)
    assert (cohort.read_bytes() if cohort.exists() else None) == before
    older = tmp_path / "older_model"  # a model folder from before the mark: known by its files
    older.mkdir()
    (older / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(OutputExistsError, match="is the folder of a thermocad run"):
        evaluate_external(run_dir, data, labels, out_dir=older, force=True)
    assert sorted(p.name for p in older.iterdir()) == ["model.safetensors"]
    # Forced again with a labelled woman without a file: refused, and no earlier result is
    # left beside the new cohort.csv that says why.
    pd.concat([pd.read_csv(labels), pd.DataFrame({"patient_id": [300], "diagnosis": ["Sick"]})]
              ).to_csv(tmp_path / "more.csv", index=False)  # fmt: skip
    with pytest.raises(ConfigError, match="patient 300 .*no file"):
        evaluate_external(run_dir, data, tmp_path / "more.csv", out_dir=out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["cohort"]


def test_labelled_women_without_a_score_are_refused_or_listed(run_dir, new_women, tmp_path):
    data, labels = new_women
    table = pd.read_csv(labels)
    sick = table.loc[table["diagnosis"] == "Sick", "patient_id"].tolist()
    healthy = table.loc[table["diagnosis"] == "Healthy", "patient_id"].tolist()
    (data / f"T{sick[0]:04d}.txt").write_bytes(b"")  # an interrupted copy: unreadable
    table.loc[table["patient_id"] == healthy[0], "deodorant"] = "yes"  # the study's filter
    # labelled, no file: a fault; and one whom her labels exclude, whatever her files
    extra = pd.DataFrame({"patient_id": [300, 301], "diagnosis": ["Sick", "Healthy"],
                          "deodorant": ["no", "yes"]})  # fmt: skip
    pd.concat([table, extra]).to_csv(labels, index=False)
    out = tmp_path / "ext"
    with pytest.raises(ConfigError) as err:  # a selection nobody chose: refused, unscored
        evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20)
    text = str(err.value)
    assert "2 of the 18 labelled women would get no score for a fault of the folder" in text
    assert f"patient {sick[0]} (Sick): T{sick[0]:04d}.txt: unreadable: the file is empty" in text
    assert "patient 300 (Sick): no file (none named T0300... in " in text
    assert "run again with --force --allow-unscored" in text and "patient 301" not in text
    assert f"patient {healthy[0]} " not in text
    assert not labels.with_name("labels.test_openings.jsonl").exists()  # no opening counted
    result = evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20, force=True,
                               allow_unscored=True)  # fmt: skip
    women = result["women"]
    assert (women["labelled"], women["scored"]) == (18, 14)
    assert women["by_class"] == {"Healthy": {"labelled": 9, "scored": 7},
                                 "Sick": {"labelled": 9, "scored": 7}}  # fmt: skip
    assert [(w["patient_id"], w["fault"]) for w in women["not_scored"]] == [
        (healthy[0], False), (sick[0], True), (300, True), (301, False)]  # fmt: skip
    assert women["not_scored"][-1]["why"].startswith("the labels' filter: deodorant (and no file")
    assert result["served"]["patient"]["n"] == 14 and result["served"]["patient"]["n_sick"] == 7
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["women"] == women
    lines = (out / "external.md").read_text().splitlines()
    assert lines[2].startswith("**Warning: this model is a smoke run")  # the run_dir fixture's
    # (then that these women are synthetic: thermocad synth's folder, scored by a model of women)
    assert lines[4].startswith(f"**The women of {data} are synthetic (synth_truth.csv")
    assert lines[6].startswith("**14 of 18 labelled women scored (Sick: 7 of 9, Healthy: 7 of 9)")
    assert "4 not scored (listed below, with why)" in lines[6]
    assert (
        f"- Not scored: patient {healthy[0]} (Healthy): T{healthy[0]:04d}.txt: deodorant" in lines
    )
    assert lines[10].startswith("- Not scored: patient 300 (Sick): no file (none named T0300... in")


def test_external_refuses_women_who_trained_the_model(run_dir, new_women, tmp_path):
    data, labels = new_women
    run = shutil.copytree(run_dir, tmp_path / "run")
    (run / "trained_on.csv").unlink()  # an older `fit` folder: its split.csv names its women
    pd.DataFrame({"path": ["a.txt", "b.txt"], "patient_id": [103, 99], "label": ["Sick"] * 2,
                  "split": ["train", "test"]}).to_csv(run / "split.csv", index=False)  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"labels.csv: 1 of these patients trained .*patient 103\).*same women .*leave "
        r"them out of the labels; only if they are other women .*--numbered-apart",
    ):
        evaluate_external(run, data, labels, out_dir=tmp_path / "ext", n_boot=20)
    assert not (tmp_path / "ext").exists()  # refused before anything was written
    # Another site numbering its women from 1: the same number is another woman, said.
    result = evaluate_external(run, data, labels, out_dir=tmp_path / "ext", n_boot=20,
                               numbered_apart=True)  # fmt: skip
    assert result["served"]["patient"]["n"] > 0
    # evaluate --split too: another split's test women who trained this (fit) model.
    from thermocad.evaluation.evaluate import evaluate_run

    other = tmp_path / "other_split.csv"
    some = str(sorted(data.glob("T*.txt"))[0])  # a file that is there: its woman is the point
    pd.DataFrame({"path": [some], "patient_id": [103], "label": ["Sick"],
                  "split": ["test"]}).to_csv(other, index=False)  # fmt: skip
    with pytest.raises(ConfigError, match=r"other_split.csv: 1 of these patients trained"):
        evaluate_run(run, other, on="test", out_dir=tmp_path / "ev", n_boot=20)
    assert not (tmp_path / "ev").exists()


def test_rooms_outside_the_training_range():
    rows = pd.DataFrame({"patient_id": [1, 1, 2, 3], "room_median": [19.0, 19.0, 22.0, 27.5]})
    rooms = rooms_outside(rows, {"data": {"room_range_c": [20.0, 25.0]}})
    assert rooms == {"training_range_c": [20.0, 25.0], "patients": 3, "outside": 2,
                     "new_range_c": [19.0, 27.5]}  # fmt: skip
    assert rooms_outside(rows, {"data": {}}) is None  # a model without the range


def test_frames_outside_the_training_skin_and_sharpness():
    """A second site's camera: frames sharper or noisier than every training file (sensor
    noise lowered the fit model's P(Sick): the acquisition sensitivity record) are counted for
    external.md, as the rooms are."""
    from thermocad.evaluation.external_report import frames_words

    rows = pd.DataFrame({"patient_id": [1, 1, 2], "skin_median": [31.0, 33.0, 36.5],
                         "sharpness": [1.0, 5.0, 12.0]})  # fmt: skip
    meta = {"data": {"skin_range_c": [30.0, 35.0], "sharpness_range": [2.1, 9.18]}}
    frames = frames_outside(rows, meta)
    assert frames == {
        "skin": {"training_range": [30.0, 35.0], "frames": 3, "below": 0, "above": 1},
        "sharpness": {"training_range": [2.1, 9.18], "frames": 3, "below": 1, "above": 1},
    }
    assert frames_outside(rows, {"data": {}}) == {}  # a model without the ranges
    lines = [frames_words(key, counts) for key, counts in frames.items()]
    assert (
        "2 of 3 frames lie outside the training files' sharpness, 2.10-9.18 (1 less sharp, "
        "1 sharper or noisier): another camera, or its noise? The model's P(Sick) may "
        "follow it"
    ) in "\n".join(lines)
    assert (
        "1 of 3 frames lie outside the training files' skin (the body's median), 30.0-35.0 °C"
        in "\n".join(lines)
    )


def test_external_md_names_unlabelled_files_and_one_woman_under_two_numbers(
    run_dir, new_women, tmp_path
):
    """Files of women the labels do not name, and a copy of one woman's file under another
    number (scored twice), are said in external.md, not only in the log."""
    data, labels = new_women
    table = pd.read_csv(labels)
    first = int(table["patient_id"].iloc[0])
    shutil.copy(data / f"T{first:04d}.txt", data / "T0199.txt")  # her file, numbered 199
    shutil.copy(data / f"T{first:04d}.txt", data / "T0250.txt")  # and a woman not labelled
    pd.concat([table, table.iloc[[0]].assign(patient_id=199)]).to_csv(labels, index=False)
    result = evaluate_external(run_dir, data, labels, out_dir=tmp_path / "ext", n_boot=0)
    assert result["women"]["unlabelled"] == [250]
    assert result["women"]["copies"] == [f"T{first:04d}.txt = T0199.txt"]
    text = (tmp_path / "ext" / "external.md").read_text()
    assert (
        "- Not scored, not labelled: the files of 1 patient number(s) the labels do not name (250)"
        in text
    )
    assert (
        f"**Warning: files holding another patient number's frame (T{first:04d}.txt = T0199.txt)"
        in text
    )


def test_evaluate_data_holds_its_output_folder(run_dir, new_women, tmp_path):
    """A reviewer ran two evaluate --data --force into one folder at once: the second removed
    the first's results part-way. The folder is held: a second writer is refused."""
    import threading

    from thermocad.utils.errors import OutputBusyError
    from thermocad.utils.lock import folder_lock

    data, labels = new_women
    out, caught = tmp_path / "ext", []

    def second() -> None:
        try:
            evaluate_external(run_dir, data, labels, out_dir=out, n_boot=0, force=True)
        except OutputBusyError as exc:
            caught.append(str(exc))

    with folder_lock(out):  # as the first evaluation holds it
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(120)
    assert caught and "being written by" in caught[0]
    assert not (out / "cohort").exists()


def test_external_md_says_who_could_be_period_matched():
    """The period-matched column's n/a is explained, and undated women are counted."""
    from thermocad.evaluation.external_report import _period_words
    from thermocad.evaluation.periods import dated_women

    assert "n/a: no woman has an acquisition date" in _period_words({"dates": False}, None)
    rows = pd.DataFrame(
        {"patient_id": [1, 1, 2, 3], "acquisition_date": ["", "2014-01-02", "", "x"]}
    )
    dated = dated_women(rows)
    assert dated == {"patients": 3, "dated": 1}
    said = _period_words({"dates": True, "period_ranges": {"A": None}}, dated)
    assert "no batch has such dates, so n/a; 1 of the 3 women are dated: the 2 without" in said


def test_the_table_says_na_without_dates():
    periods = {"primary_batch": "A", "subsets": {
        "overall": {"n": 10, "roc_auc": 0.8, "ci": [0.6, 0.95]},
        "batch A": {"n": 10, "roc_auc": 0.8, "ci": [0.6, 0.95]},
        "period-matched": {"n": None, "roc_auc": None, "ci": None}}}  # fmt: skip
    patient = {"sensitivity": 0.75, "specificity": 0.5,
               "proportion_ci": {"sensitivity": (0.4, 0.9), "specificity": (0.2, 0.8)}}  # fmt: skip
    table = external_table({"model": "m", "served": {"by_period": periods, "patient": patient},
                            "halves": {"baseline": periods}})  # fmt: skip
    served, half = table.splitlines()[2:]
    assert served == ("| m (served) | 0.800 (0.600-0.950) | 0.800 (0.600-0.950), n=10 | n/a | "
                      "0.750 (0.400-0.900) | 0.500 (0.200-0.800) |")  # fmt: skip
    assert half.startswith("| its baseline half alone |") and half.endswith("| n/a |  |  |")
    only_sick = {**patient, "specificity": float("nan"), "proportion_ci": {**patient["proportion_ci"],
                 "specificity": (float("nan"), float("nan"))}}  # fmt: skip
    table = external_table({"model": "m", "served": {"by_period": periods, "patient": only_sick},
                            "halves": {}})  # fmt: skip
    assert table.splitlines()[2].endswith("| 0.750 (0.400-0.900) | n/a |")


CLI_REFUSALS = [
    ([], "give --split (rows of a split) or --data with --labels (new women)"),
    (["--data", "x"], "--data and --labels go together (new women: their folder"),
    (["--labels", "y"], "--data and --labels go together (new women: their folder"),
    (["--split", "s.csv", "--data", "x", "--labels", "y"], "--split or --data, not both"),
    (["--data", "x", "--labels", "y", "--subgroup", "b"], "--subgroup is for --split; with --data"),
    (["--split", "s.csv", "--allow-unscored"], "--allow-unscored goes with --data (a split's rows"),
]


@pytest.mark.parametrize(("args", "message"), CLI_REFUSALS)
def test_cli_needs_a_split_or_new_women(run_dir, tmp_path, monkeypatch, capsys, args, message):
    from thermocad.cli import main

    monkeypatch.chdir(tmp_path)  # s.csv, x and y: relative names that do not exist here
    assert main(["evaluate", str(run_dir), *args]) == 2
    err = capsys.readouterr().err  # this call's stderr alone: one line, its own message
    assert err.startswith(f"thermocad: error: evaluate: {message}") and err.count("\n") == 1


def test_a_misspelt_subgroup_is_named(run_dir, tmp_path):
    from thermocad.evaluation.evaluate import evaluate_run

    split = tmp_path / "split.csv"
    pd.DataFrame(
        {"path": ["a.txt"], "patient_id": [1], "label": ["Sick"], "split": ["test"]}
    ).to_csv(split, index=False)
    with pytest.raises(ConfigError, match="no column 'bach' for the subgroup; it has path, "):
        evaluate_run(run_dir, split, subgroup="bach", out_dir=tmp_path / "ev")


@pytest.mark.real
@pytest.mark.slow
def test_external_on_real_women_the_model_never_saw(dmr_dir, tmp_path):
    """The chain on DMR-IR files: a smoke `fit` on every other woman, then the other half as new
    women (their own period-matched subset, date audit and drift); the first half refused."""
    from thermocad.training.config import TrainConfig

    labels = pd.read_csv(dmr_dir / "labels.csv").sort_values("patient_id")
    # 30 women of each class, spread over the ids (so over the dates and both acquisition
    # batches), in two halves of 15 and 15: a smoke fit on 30 rather than 60 women.
    halves = [[], []]
    for _, group in labels.groupby("diagnosis"):
        chosen = group.iloc[np.linspace(0, len(group) - 1, 30).round().astype(int)]
        halves[0].append(chosen.iloc[::2])
        halves[1].append(chosen.iloc[1::2])
    dev, new = (pd.concat(half).sort_values("patient_id") for half in halves)
    assert len(dev) == len(new) == 30 and not set(dev["patient_id"]) & set(new["patient_id"])
    dev.to_csv(tmp_path / "dev.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    config = TrainConfig.smoke(pretrained=False, cycles=0, frozen_cycles=0, tta=0)
    run = fit(dmr_dir, tmp_path / "dev.csv", tmp_path / "run", config, folds=2, n_boot=20)
    result = evaluate_external(run, dmr_dir, tmp_path / "new.csv", n_boot=20)
    periods = result["served"]["by_period"]
    assert result["served"]["patient"]["n"] == len(new) and periods["primary_batch"] == "A"
    assert periods["subsets"]["period-matched"]["n"] > 0 and periods["healthy_date_drift"]
    audit = {row["quantity"]: row for row in result["confound_audit"]}
    assert audit["acquisition date"]["AUC overall"] > 0.9  # the new women's own date confound
    assert result["rooms"]["patients"] == len(new)
    # Its own files: refused by their bytes, before their numbers (--numbered-apart is no way out).
    with pytest.raises(ConfigError, match=rf"{len(dev)} file\(s\) are files that trained .* = "
                       "byte for byte a file of training patient"):  # fmt: skip
        evaluate_external(run, dmr_dir, tmp_path / "dev.csv", out_dir=tmp_path / "x", n_boot=20)
    meta = json.loads((run / "model.json").read_text())
    del meta["trained_files"]  # a model trained before the record: known by their numbers
    (run / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=f"{len(dev)} of these patients trained the model"):
        evaluate_external(run, dmr_dir, tmp_path / "dev.csv", out_dir=tmp_path / "x", n_boot=20)


def test_a_missing_data_folder_is_said_as_such(run_dir, tmp_path, capsys):
    from thermocad.cli import main

    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Sick\n")
    assert (
        main(["evaluate", str(run_dir), "--data", str(tmp_path / "nope"), "--labels", str(labels)])
        == 2
    )
    assert "nope: no such data folder" in capsys.readouterr().err
    assert not (run_dir / "external_nope").exists()  # nothing written


def test_a_model_folder_that_cannot_be_written_asks_for_out(run_dir, tmp_path, monkeypatch):
    """A move review: on a read-only copy of a model, the default --out (inside it) failed as
    'cannot make this folder', without a word of --out."""
    from thermocad.evaluation import external
    from thermocad.utils.errors import OutputPathError

    monkeypatch.setattr(external.os, "access", lambda path, mode: False)  # root writes anyway
    with pytest.raises(OutputPathError, match=r"external_new: cannot write the default --out "
                       r"inside the model's folder .*; give --out a writable folder$"):  # fmt: skip
        external._out_path(run_dir, tmp_path / "new", None)
    assert external._out_path(run_dir, tmp_path / "new", tmp_path / "ev") == tmp_path / "ev"
    # A mistyped model path: its folder is not there, and the loader says so, not this check.
    typo = tmp_path / "nope" / "run"
    assert external._out_path(typo, tmp_path / "new", None) == typo.parent / "external_new"


def _training_copies(run_dir, folder, renumber: int = 0):
    """The smoke run's own training and validation files, copied byte for byte into `folder`
    as T<number + renumber>.npy, with a labels.csv: its training women under new names."""
    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    split = split[split["split"] != "test"]
    folder.mkdir()
    for path, pid in zip(split["path"], split["patient_id"], strict=True):
        shutil.copyfile(path, folder / f"T{pid + renumber:04d}.npy")
    labels = folder / "labels.csv"
    pd.DataFrame({"patient_id": split["patient_id"] + renumber,
                  "diagnosis": split["label"]}).to_csv(labels, index=False)  # fmt: skip
    return folder, labels


def _synthetic(run_dir, tmp_path, record: bool = True):
    """A copy of the smoke run as a model of synthetic women only (model.json's
    data.synthetic_share 1), with or without the digests of its training files."""
    run = shutil.copytree(run_dir, tmp_path / ("synthetic" if record else "older"))
    meta = json.loads((run / "model.json").read_text())
    meta["data"]["synthetic_share"] = 1.0
    if not record:  # a model trained before train recorded them
        del meta["trained_files"]
    (run / "model.json").write_text(json.dumps(meta))
    return run


def test_copies_of_the_training_files_are_refused_under_any_name(run_dir, tmp_path):
    from thermocad.evaluation.trained_files import file_digest

    meta = json.loads((run_dir / "model.json").read_text())
    record = meta["trained_files"]["files"]
    assert len(record) == 24 and set(record.values()) == {str(p) for p in range(24)}
    assert file_digest(run_dir.parent / "data" / "p003.npy") in record  # train's own file
    assert len(meta["trained_files"]["frames"]) == 24  # and each file's frame as read
    # Renumbered (T0100 ... T0123): no number is a training woman's, the bytes are.
    data, labels = _training_copies(run_dir, tmp_path / "renumbered", renumber=100)
    for apart in (False, True):  # --numbered-apart does not lift it
        with pytest.raises(
            ConfigError,
            match=r"renumbered: 24 file\(s\) are files "
            r"that trained the model in .*T0100.npy = byte for byte a file of training patient 0",
        ):
            evaluate_external(run_dir, data, labels, out_dir=tmp_path / "ext", n_boot=20,
                              numbered_apart=apart)  # fmt: skip
    assert not (tmp_path / "ext").exists()  # refused before anything was written


def test_a_synthetic_models_own_files_are_not_other_women(run_dir, tmp_path, capsys):
    # The files a model of synthetic women trained on, copied without synth_truth.csv: were
    # taken as real women numbered apart (and scored, AUC 1.000); refused now.
    run = _synthetic(run_dir, tmp_path)
    data, labels = _training_copies(run_dir, tmp_path / "copies")
    with pytest.raises(ConfigError, match=r"copies: 24 file\(s\) are files that trained"):
        evaluate_external(run, data, labels, out_dir=tmp_path / "ext", n_boot=20)
    # Women it never saw, numbered as its training women (a real site's T0001...): refused until
    # --numbered-apart says they are other women (copies changed in their values, e.g.
    # rounded, are not recognised, so this is the user's to say).
    from thermocad.synth.cohort import generate_cohort
    from thermocad.synth.files import TRUTH

    labels = generate_cohort(tmp_path / "real", n_patients=16, seed=5, height=64, width=80,
                             sick_fraction=0.5, first_id=1)  # fmt: skip
    (tmp_path / "real" / TRUTH).unlink()  # not thermocad synth's folder
    capsys.readouterr()
    with pytest.raises(ConfigError, match=r"16 of these patients trained .*--numbered-apart"):
        evaluate_external(run, labels.parent, labels, out_dir=tmp_path / "ext", n_boot=20)
    assert "trained on synthetic women only" in capsys.readouterr().err
    result = evaluate_external(run, labels.parent, labels, out_dir=tmp_path / "ext", n_boot=20,
                               numbered_apart=True, force=True)  # fmt: skip
    assert result["served"]["patient"]["n"] == 16
    # Its own training files saved again as text, renumbered: the same frames, refused as its
    # files with --numbered-apart too; rounded to 4 decimals, they are not the same frames, so
    # only the numbers refuse them (the same refusal as other women's).
    for fmt, refusal in (("%.9g", r"24 file\(s\) are files that trained .*T0100.txt = the same "
                                  r"frame as a file of training patient 0"),
                         ("%.4f", r"of these patients trained .*--numbered-apart")):  # fmt: skip
        again = tmp_path / f"again{fmt[-1]}"
        again.mkdir()
        for f in data.glob("T*.npy"):
            number = int(f.stem[1:]) + (100 if fmt == "%.9g" else 0)
            np.savetxt(again / f"T{number:04d}.txt", np.load(f), fmt=fmt)
        labels = pd.read_csv(data / "labels.csv")
        labels["patient_id"] += 100 if fmt == "%.9g" else 0
        labels.to_csv(again / "labels.csv", index=False)
        with pytest.raises(ConfigError, match=refusal):
            evaluate_external(run, again, again / "labels.csv", out_dir=tmp_path / "e3",
                              n_boot=20, numbered_apart=fmt == "%.9g")  # fmt: skip


def test_a_synthetic_models_numbers_are_said_when_real_women_meet_it(tmp_path, capsys):
    # A model of synthetic women meeting real DMR-IR files: the log says how to score them.
    from thermocad.evaluation.trained_files import synthetic_note
    from thermocad.synth.files import TRUTH

    synthetic = {"data": {"synthetic_share": 1.0}}
    synthetic_note(synthetic, tmp_path / "run", tmp_path)
    assert "give --numbered-apart" in capsys.readouterr().err
    synthetic_note({"data": {"synthetic_share": 0.5}}, tmp_path, tmp_path)
    (tmp_path / TRUTH).write_text("patient_id\n2\n")  # thermocad synth's folder: the same women
    synthetic_note(synthetic, tmp_path / "run", tmp_path)
    assert capsys.readouterr().err == ""


def test_a_training_file_copied_over_a_test_womans_is_refused_by_evaluate_split(run_dir, tmp_path):
    """evaluate --split checks the test rows' bytes against the model's training files, as
    --data does: a training woman's file under a test woman's name would score as new."""
    from thermocad.evaluation.evaluate import evaluate_run

    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    test = split.index[split["split"] == "test"][0]
    trained = split.loc[split["split"] == "train", "path"].iloc[0]
    copied = tmp_path / "copies" / f"copied{Path(trained).suffix}"  # apart from --out
    copied.parent.mkdir()
    shutil.copyfile(trained, copied)
    split.loc[test, "path"] = str(copied)
    split.to_csv(tmp_path / "split.csv", index=False)
    with pytest.raises(ConfigError, match=r"split.csv: 1 test file\(s\) are files that trained "
                                          r"the model .*byte for byte"):  # fmt: skip
        evaluate_run(run_dir, tmp_path / "split.csv", on="test", out_dir=tmp_path / "ev",
                     n_boot=20)  # fmt: skip
    assert not (tmp_path / "split.test_openings.jsonl").exists()  # no opening counted
    assert not (tmp_path / "ev" / "metrics.json").exists()
    import thermocad

    for table in (tmp_path / "split.csv", split):  # the Python API's as the command's
        with pytest.raises(ConfigError, match=r"1 test file\(s\) are files that trained"):
            thermocad.evaluate(run_dir, table, n_boot=0)
    assert not (tmp_path / "split.test_openings.jsonl").exists()
