"""`thermocad fit`: a labelled folder -> a model folder that predict uses, with its CV kept."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad.fit import choose_from_oof, fit
from thermocad.utils.errors import OutputExistsError


def test_choose_from_oof_is_the_configured_threshold_rule():
    # Sick 0.9 0.8 0.2, Healthy 0.5 0.3 0.1: sensitivity 0.9 needs all three Sick -> 0.2,
    # stored just below it (NOISE_MARGIN)
    from thermocad.evaluation.thresholds import NOISE_MARGIN as m

    oof = pd.DataFrame({"patient_id": range(6), "label": ["Sick"] * 3 + ["Healthy"] * 3,
                        "prob": [0.9, 0.8, 0.2, 0.5, 0.3, 0.1]})  # fmt: skip
    assert choose_from_oof(oof)["threshold"] == pytest.approx(0.2 - m, abs=1e-12)
    # A lower target: 2 of 3 Sick at 0.8
    assert choose_from_oof(oof, 0.6)["threshold"] == pytest.approx(0.8 - m, abs=1e-12)
    # The provenance records the target the rule used (0.9 unless one is given), not "none".
    assert choose_from_oof(oof) == {"threshold": pytest.approx(0.2 - m), "target_sensitivity": 0.9}
    assert choose_from_oof(oof, 0.6)["target_sensitivity"] == 0.6


@pytest.mark.slow
def test_fit_then_predict(tmp_path, capsys):
    from thermocad.cli import main
    from thermocad.inference.predict import predict_paths
    from thermocad.synth.cohort import generate_cohort
    from thermocad.training.config import TrainConfig

    labels = generate_cohort(tmp_path / "data", n_patients=12, seed=2, height=64, width=80,
                             sick_fraction=0.5)  # fmt: skip
    table = pd.read_csv(labels)  # a labelled woman whose thermogram is not in the folder
    pd.concat([table, table.tail(1).assign(patient_id=999)]).to_csv(labels, index=False)
    config = TrainConfig.smoke(pretrained=False, cycles=0, frozen_cycles=0, tta=0)
    run = fit(tmp_path / "data", labels, tmp_path / "run", config, folds=2, n_boot=20)
    meta = json.loads((run / "model.json").read_text())
    oof = pd.read_csv(run / "cv" / "oof_predictions.csv")
    assert len(oof) == 12 and set(oof["fold"]) == {0, 1}  # every woman predicted once, out of fold
    assert meta["threshold"] == pytest.approx(choose_from_oof(oof)["threshold"])
    assert meta["threshold_provenance"]["target_sensitivity"] == 0.9
    assert meta["cv"]["folds"] == 2 and meta["fold"] == "all" and meta["data"]
    assert meta["cv"]["healthy_date_drift"] is None  # the synthetic labels carry no dates
    assert meta["cv"]["healthy_room_drift"] is None  # 6 Healthy women: too few to correlate
    assert (
        meta["cv"]["room_stress"] is None
    )  # and too few to stress (tests/evaluation/test_room.py)
    # How long each stage took, logged and kept (an observability review: nothing said)
    seconds = meta["cv"]["seconds"]
    assert list(seconds) == ["the cohort and its folds", "the cross-validation", "the final model",
                             "total"]  # fmt: skip
    assert seconds["total"] == pytest.approx(sum(list(seconds.values())[:3]), abs=0.11)
    assert "[thermocad] fit: the cross-validation took " in capsys.readouterr().err
    # The served mean's halves, scored alone on the same out-of-fold predictions.
    assert set(meta["cv"]["halves"]) == {"cnn", "baseline"}
    cv_json = json.loads((run / "cv" / "metrics.json").read_text())
    assert {"overall", "batch A"} <= set(cv_json["halves"]["baseline"]["subsets"])
    # The intervals the model card shows: Wilson for the rates, each half's overall AUC's.
    pat = cv_json["patient"]
    assert meta["cv"]["sensitivity_ci"] == pytest.approx(pat["proportion_ci"]["sensitivity"])
    assert meta["cv"]["specificity_ci"] == pytest.approx(pat["proportion_ci"]["specificity"])
    for name in ("cnn", "baseline"):  # 6 Sick, 6 Healthy: an interval each
        overall = cv_json["halves"][name]["subsets"]["overall"]
        assert meta["cv"]["halves"][name]["patient_roc_auc_ci"] == pytest.approx(overall["ci"])
    card = (run / "README.md").read_text()
    assert "Cross-validated by `thermocad fit`" in card  # the model card
    # A reader's checklist (TRIPOD+AI, STARD): the 2 x 2 table, calibration, the reference
    # standard, what was not measured, the weights' digest.
    c = pat["counts"]
    assert meta["cv"]["counts"] == c and meta["cv"]["calibration_slope"] == pat["calibration_slope"]
    assert f"| truly Sick ({c['tp'] + c['fn']}) | {c['tp']} | {c['fn']} (missed) |" in card
    assert f"| truly Healthy ({c['fp'] + c['tn']}) | {c['fp']} (false alarms) | {c['tn']} |" in card
    # ... and whose calls were wrong (CLAIM): by period here (one batch, so no batches), the
    # false alarms as many as the table's.
    wrong = meta["cv"]["wrong_calls"]
    assert "missed" not in wrong and sum(k for k, _ in wrong["false_alarms"].values()) == c["fp"]
    assert "Errors by group, cross-validated: Healthy women called Sick: " in card
    assert f"slope {pat['calibration_slope']:.3f}" in card and "Brier score" in card
    assert "is the reference standard" in card and "- Not measured: performance by age" in card
    assert f"sha256 {meta['weights_sha256'][:16]}..." in card
    assert meta["data"]["labelled_without_files"] == [999]
    assert "1 woman in the labels had no thermogram in the data folder and was not used" in card
    # What to publish, and the patient-level files to keep (a privacy review: the card had
    # called the whole folder publishable, its split and predictions per woman with it).
    files = card.split("## Files")[1]
    assert files.index("To publish:") < files.index("`model.json`") < files.index("Patient-level")
    assert files.index("Patient-level") < files.index("`split.csv`")
    for named in re.findall(r"`([\w./]+)`", card.split("## Files")[1]):  # the files it lists
        assert (run / named).exists(), named
    cv = json.loads((run / "cv" / "metrics.json").read_text())
    assert {"overall", "period-matched"} <= set(cv["by_period"]["subsets"])
    files = sorted((tmp_path / "data").glob("T*.txt"))[:3]
    table, errors = predict_paths(run, files)
    assert not errors and len(table) == 3 and table["prob_sick"].between(0, 1).all()
    with pytest.raises(
        OutputExistsError,
        match=re.escape(f"{tmp_path / 'run'} already exists and is not empty; use --force"),
    ):
        fit(tmp_path / "data", labels, tmp_path / "run", config, folds=2)
    assert main(["fit", str(tmp_path / "data"), "--labels", str(labels), "--out", str(tmp_path / "run"),
                 "--folds", "2", "--smoke", "--force"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "model: " in captured.out and "cnn alone" in captured.err


def test_a_killed_forced_fit_leaves_no_model_to_take_for_its_result(tmp_path, monkeypatch):
    import thermocad.fit as F
    from thermocad.models.bundle import load_bundle
    from thermocad.synth.cohort import generate_cohort
    from thermocad.training.config import TrainConfig
    from thermocad.utils.errors import ConfigError, ModelFormatError

    labels = generate_cohort(tmp_path / "data", n_patients=12, seed=2, height=64, width=80,
                             sick_fraction=0.5)  # fmt: skip
    table = pd.read_csv(labels)  # a labelled woman whose thermogram is not in the folder
    pd.concat([table, table.tail(1).assign(patient_id=999)]).to_csv(labels, index=False)
    config = TrainConfig.smoke(pretrained=False, cycles=0, frozen_cycles=0, tta=0)
    run = fit(tmp_path / "data", labels, tmp_path / "run", config, folds=3, n_boot=20)
    for bad in (1, 7):  # refused before anything is touched (6 women of each class)
        with pytest.raises(ConfigError, match=f"--folds must be 2 to 6 .*got {bad}"):
            fit(tmp_path / "data", labels, run, config, folds=bad, force=True)
    assert (run / "model.json").exists() and not (run / "INCOMPLETE").exists()
    with pytest.raises(ConfigError, match="seed 7 differs from the config's seed 0"):
        fit(tmp_path / "data", labels, run, config, folds=2, seed=7, force=True)
    assert (run / "model.json").exists()  # one seed draws folds and training: refused first
    one_class = pd.read_csv(labels).assign(diagnosis="Healthy")
    one_class.to_csv(tmp_path / "healthy.csv", index=False)
    with pytest.raises(
        ConfigError, match="at least 2 women of each class; the labels hold 12 Healthy and 0 Sick"
    ):
        fit(tmp_path / "data", tmp_path / "healthy.csv", tmp_path / "never", config)
    assert not (tmp_path / "never").exists()  # refused before anything is written

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(F, "_cross_validate", killed)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "data", labels, run, config, folds=2, seed=0, force=True)
    assert (run / "INCOMPLETE").exists() and not (run / "model.json").exists()
    assert not (run / "cv").exists()  # no fold of the earlier 3-fold fit left beside the new split
    with pytest.raises(
        ModelFormatError, match="incomplete.*`thermocad fit` with --resume .* --force"
    ):
        load_bundle(run)
    with pytest.raises(
        OutputExistsError, match="holds an unfinished fit .*--resume continues it, use --force"
    ):
        fit(tmp_path / "data", labels, run, config, folds=2)  # the same command again


def test_a_forced_fit_that_fails_on_its_data_leaves_the_folder_incomplete(tmp_path, monkeypatch):
    import thermocad.cohort.prepare
    from thermocad.models.bundle import check_complete
    from thermocad.utils.errors import CohortError, ModelFormatError

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text("{}")  # an earlier fit's model, in the folder fit marked
    (run / ".thermocad").write_text("written by thermocad fit\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Healthy\n3,Sick\n4,Sick\n")

    def no_images(*args, **kwargs):
        raise CohortError("data: no image kept")

    monkeypatch.setattr(thermocad.cohort.prepare, "prepare_cohort", no_images)
    (tmp_path / "data").mkdir()
    with pytest.raises(CohortError):
        fit(tmp_path / "data", labels, run, folds=2, force=True)
    # Not served beside a cohort it was not trained on: the folder says to fit again.
    with pytest.raises(ModelFormatError, match="`thermocad fit` with --resume .* --force"):
        check_complete(run)


def test_an_interrupted_fit_resumes_to_the_model_a_whole_fit_makes(tmp_path, monkeypatch):
    import thermocad.fit as F
    import thermocad.training.run as R
    from thermocad import __version__
    from thermocad.models.bundle import check_complete
    from thermocad.synth.cohort import generate_cohort
    from thermocad.training.config import TrainConfig
    from thermocad.training.fit_resume import job_version
    from thermocad.utils.errors import ConfigError, ModelFormatError

    labels = generate_cohort(tmp_path / "data", n_patients=12, seed=2, height=64, width=80,
                             sick_fraction=0.5)  # fmt: skip
    config = TrainConfig.smoke(pretrained=False, cycles=0, frozen_cycles=0, tta=0, head_epochs=3)
    whole = fit(tmp_path / "data", labels, tmp_path / "whole", config, folds=2, n_boot=20)
    run = tmp_path / "run"
    calls, real_train, real_history, real_record = [], R.train, R.write_history, F._record

    def train(split_csv, out_dir, *args, **kwargs):
        calls.append((Path(out_dir).name, kwargs.get("resume", False)))
        return real_train(split_csv, out_dir, *args, **kwargs)

    def history(out_dir, rows):  # fold 1 is killed inside its head stage, after its first epoch
        real_history(out_dir, rows)
        if Path(out_dir).name == "fold1" and [r["stage"] for r in rows] == ["head (precomputed)"]:
            raise KeyboardInterrupt

    monkeypatch.setattr(R, "train", train)
    monkeypatch.setattr(R, "write_history", history)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20)
    monkeypatch.setattr(R, "write_history", real_history)
    # The head stage saves its first epoch and its last alone (one stopped inside it starts
    # again; the first leaves a checkpoint where a distributed run has none from lr_find).
    state = json.loads(
        (run / "cv" / "efficientnet_lite0" / "fold1" / "checkpoint" / "state.json").read_text()
    )
    assert state["done"] == {"head (precomputed)": 1} and "lr" in state
    assert calls == [("fold0", False), ("fold1", False)]
    with pytest.raises(ConfigError, match=r"other options .*folds \(2 -> 3\)"):
        fit(tmp_path / "data", labels, run, config, folds=3, resume=True)
    with pytest.raises(
        ConfigError, match=r"other options than the interrupted fit \(it ran with --smoke\)"
    ):
        fit(tmp_path / "data", labels, run, TrainConfig(pretrained=False), folds=2, resume=True)
    with pytest.raises(ConfigError, match="one of them"):
        fit(tmp_path / "data", labels, run, config, folds=2, force=True, resume=True)
    # A changed file is named; a Finder's .DS_Store, which no walk reads, changes nothing (a
    # review: it had blocked the resume, and the refusal named no file).
    (tmp_path / "data" / ".DS_Store").write_bytes(b"\0Bud1")
    first = sorted((tmp_path / "data").glob("T*.txt"))[0]
    kept = first.read_bytes()
    first.write_bytes(kept.replace(b"3", b"4", 1))
    with pytest.raises(ConfigError, match=rf"changed since the interrupted fit began \({first.name} "
                       r"modified\): undo that change to resume, or --force starts over"):  # fmt: skip
        fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, resume=True)
    first.write_bytes(kept)
    calls.clear()
    fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, resume=True)
    # fold 0 finished and is reused, fold 1 continues from its checkpoint, then the final model
    assert calls == [("fold1", True), ("run", False)]
    assert not (run / "INCOMPLETE").exists() and not (run / "fit_resume.json").exists()
    # The head stage starts again (seconds), so the models are those of a fit never stopped.
    for csv in ("cv/oof_predictions.csv", "cv/efficientnet_lite0/fold1/valid_predictions.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(run / csv), pd.read_csv(whole / csv))
    assert json.loads((run / "model.json").read_text())["threshold"] == json.loads(
        (whole / "model.json").read_text())["threshold"]  # fmt: skip
    from safetensors.numpy import load_file

    resumed, never = load_file(run / "model.safetensors"), load_file(whole / "model.safetensors")
    assert resumed.keys() == never.keys()
    assert all(np.array_equal(resumed[k], never[k]) for k in never)
    with pytest.raises(ConfigError, match="nothing to resume .*finished model"):
        fit(tmp_path / "data", labels, run, config, folds=2, resume=True)
    with pytest.raises(ConfigError, match="no such folder .*fit without --resume"):
        fit(tmp_path / "data", labels, tmp_path / "nope", config, folds=2, resume=True)

    # Killed after the final training, before fit wrote what its CV chose: not served as a
    # finished model, and --resume keeps the final model it trained.
    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(F, "_record", killed)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, force=True)
    assert not (run / "INCOMPLETE").exists() and (run / "model.json").exists()
    with pytest.raises(ModelFormatError, match="incomplete.*--resume"):
        check_complete(run)
    monkeypatch.setattr(F, "_record", real_record)
    calls.clear()
    fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, resume=True)
    assert calls == []  # every fold and the final model were finished
    check_complete(run)

    # Killed while the final model removed its checkpoint (the model whole): --resume keeps it
    # (it was trained again from scratch).
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        if Path(path) == run / "checkpoint" and (run / "model.json").exists():
            raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, force=True)
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    weights = (run / "model.safetensors").read_bytes()
    calls.clear()
    fit(tmp_path / "data", labels, run, config, folds=2, n_boot=20, resume=True)
    assert calls == [("run", True)] and (run / "model.safetensors").read_bytes() == weights
    check_complete(run)

    # An interrupted fit does not continue over data, options or a version that changed.
    (run / "INCOMPLETE").write_text("fit started; this run is not finished\n")
    options = {**config.to_dict(), "folds": 2, "seed": 0}
    for bad, says in ((b"[]", "no readable"), (b"\xff", "no readable"),
                      (json.dumps({"options": options, "version": "0.0"}).encode(), "ran thermocad 0.0"),
                      # Before 2026-12-07 the record held thermocad's version alone: the same
                      # 0.1.0 whatever the preprocessing, so a fit begun before an upgrade that
                      # changed it would have gone on with folds of both.
                      (json.dumps({"options": options, "version": __version__}).encode(),
                       f"ran thermocad {__version__}, this is {job_version()}"),
                      (json.dumps({"options": options, "data": "x", "stage": "cv",
                                   "version": job_version()}).encode(), "written by an earlier thermocad"),
                      (json.dumps({"options": options, "data": {"labels": "x", "files": {}}, "stage": "cv",
                                   "version": job_version()}).encode(), "data folder or the labels changed")):  # fmt: skip
        (run / "fit_resume.json").write_bytes(bad)
        with pytest.raises(ConfigError, match=says):
            fit(tmp_path / "data", labels, run, config, folds=2, resume=True)


def test_a_model_not_worth_using_is_said_so():
    from thermocad.fit_checks import cv_warnings as _warnings

    good = {"patient_roc_auc": 0.93, "patient_roc_auc_ci": [0.89, 0.97], "specificity": 0.80}
    assert _warnings(good) == []
    chance = {"patient_roc_auc": 0.58, "patient_roc_auc_ci": [0.41, 0.74], "specificity": 0.125}
    said = _warnings(chance)
    assert "cannot be told from chance" in said[0] and "0.410-0.740" in said[0]
    assert "specificity is 0.12: it calls most Healthy women Sick" in said[1]
    assert _warnings({"patient_roc_auc": None, "specificity": None}) == []
    swapped = {"patient_roc_auc": 0.2, "patient_roc_auc_ci": [0.1, 0.3], "specificity": 0.9}
    assert "below chance" in _warnings(swapped)[0] and "swapped" in _warnings(swapped)[0]
    assert "sensitivity 0.95 out of fold" in _warnings(chance, 0.95)[1]
    # No interval (2 Sick women): AUC 0.125 had passed without a word.
    for ci in (None, [float("nan"), float("nan")]):
        few = {"patient_roc_auc": 0.125, "patient_roc_auc_ci": ci, "specificity": 0.9}
        assert _warnings(few) == ["out of fold the procedure's AUC (0.125) has no interval (too "
                                  "few women of a class): it is not shown better than chance, "
                                  "and the model is not useful"]  # fmt: skip


def test_labels_of_other_women_or_no_data_folder_are_refused_first(tmp_path):
    from thermocad.synth.cohort import generate_cohort
    from thermocad.utils.errors import CohortError

    generate_cohort(tmp_path / "a", n_patients=6, seed=1, height=48, width=64)
    other = generate_cohort(
        tmp_path / "b", n_patients=6, seed=1, height=48, width=64, first_id=9001
    )
    with pytest.raises(
        CohortError, match=r"names none of the 6 patients .*1-6, the labels' 9001-9006"
    ):
        fit(tmp_path / "a", other, tmp_path / "run", folds=5)
    with pytest.raises(CohortError, match="nope: data folder not found"):
        fit(tmp_path / "nope", other, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_folds_that_train_on_less_than_a_batch_are_refused_before_training(tmp_path):
    """6 women in 2 folds train each fold on 3 images: fit said so at its first fold, advising
    a --batch-size fit does not take."""
    from thermocad.synth.cohort import generate_cohort
    from thermocad.utils.errors import ConfigError

    labels = generate_cohort(tmp_path / "a", n_patients=6, seed=1, height=48, width=64,
                             sick_fraction=0.5)  # fmt: skip
    with pytest.raises(ConfigError, match=r"a fold trains on 3 images, fewer than one batch "
                       r"\(8\): fit needs more women$"):  # fmt: skip
        fit(tmp_path / "a", labels, tmp_path / "run", folds=2)
    assert not (tmp_path / "run").exists()  # nothing trained, and the new folder gone again
    # Women of the labels without a file do not fill folds: 3 Sick labelled, 2 with files.
    table = pd.read_csv(labels)
    gone = table.loc[table["diagnosis"] == "Sick", "patient_id"].iloc[0]
    for path in (tmp_path / "a").glob(f"T{gone:04d}*"):
        path.unlink()
    with pytest.raises(ConfigError, match=r"--folds must be 2 to 2 \(the labels hold 2 Sick"):
        fit(tmp_path / "a", labels, tmp_path / "run", folds=3)
    assert not (tmp_path / "run").exists()


def test_fit_never_replaces_a_study_or_another_commands_folder(tmp_path):
    from thermocad.synth.cohort import generate_cohort
    from thermocad.utils.files import prepare_out_dir

    labels = generate_cohort(tmp_path / "data", n_patients=8, seed=1, height=48, width=64,
                             sick_fraction=0.5)  # fmt: skip
    study = tmp_path / "study"
    study.mkdir()
    (study / ".thermocad").write_text("written by thermocad study\n")
    (study / "report.html").write_text("<p>a study</p>")
    with pytest.raises(OutputExistsError, match="a study's folder .* fit replaces only a fit or train folder"):  # fmt: skip
        fit(tmp_path / "data", labels, study, folds=2, force=True)
    assert sorted(p.name for p in study.iterdir()) == [".thermocad", "report.html"]
    (study / ".thermocad").write_text("written by thermocad train\n")  # a training run: replaced
    assert prepare_out_dir(study, force=True, made_by="fit", replaces=("fit", "train")) == study


def test_the_fold_check_counts_the_smallest_training_set():
    from thermocad.fit_checks import check_fold_size
    from thermocad.utils.errors import ConfigError

    uneven = pd.DataFrame({"fold": [0] * 10 + [1] * 2})  # fold 0's model trains on 2 images
    with pytest.raises(ConfigError, match="a fold trains on 2 images, fewer than one batch"):
        check_fold_size(uneven, "l.csv", 2, 8)
    check_fold_size(pd.DataFrame({"fold": [0] * 8 + [1] * 8}), "l.csv", 2, 8)  # 8: one batch


def test_images_without_temperatures_are_refused_before_the_folds(tmp_path):
    """A second site's 16-bit PNG export: grey levels, no °C. fit had trained until its first
    fold stopped on `--norm relative needs temperatures`, an option fit does not have."""
    from PIL import Image

    from thermocad.io.thermal import read_thermal
    from thermocad.synth.cohort import generate_cohort
    from thermocad.utils.errors import ConfigError

    labels = generate_cohort(tmp_path / "txt", n_patients=16, seed=2, height=48, width=64,
                             sick_fraction=0.5)  # fmt: skip
    (tmp_path / "png").mkdir()
    for path in (tmp_path / "txt").glob("T*.txt"):
        centi_kelvin = (read_thermal(path).array + 273.15) * 100
        Image.fromarray(centi_kelvin.astype(np.uint16)).save(tmp_path / "png" / f"{path.stem}.png")
    with pytest.raises(ConfigError, match=r"16 of 16 files are 8/16-bit images .* fit's recipe "
                       r"needs temperatures in °C: .*`thermocad train --norm intensity`"):  # fmt: skip
        fit(tmp_path / "png", labels, tmp_path / "run", folds=2)
    assert not (tmp_path / "run").exists()  # nothing trained, and the new folder gone again


def test_a_data_change_is_named():
    from thermocad.training.fit_resume import data_change

    was = {"labels": "l", "files": {"T0001.txt": "a", "T0002.txt": "b"}}
    assert data_change(was, was) == ""
    assert data_change(was, {**was, "labels": "m"}) == "the labels file was modified"
    added = {**was, "files": {**was["files"], "T0003.txt": "c"}}
    assert data_change(was, added) == "T0003.txt added"
    assert data_change(added, was) == "T0003.txt removed"
    both = {**was, "files": {"T0001.txt": "z", "T0002.txt": "y"}}
    assert data_change(was, both) == "T0001.txt modified, and 1 more file(s) changed"
    # A record of an earlier thermocad (one digest) cannot be compared, and says so.
    assert (
        data_change("0123abcd", was)
        == "recorded by an earlier thermocad, which this one cannot compare"
    )


def test_data_changed_while_fit_ran_is_warned_of(tmp_path, capsys):
    from thermocad.training.fit_resume import check_unchanged, fingerprint

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "T0001.txt").write_text("30 31\n32 33\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n")
    began = fingerprint(tmp_path / "d", labels)
    check_unchanged(began, tmp_path / "d", labels)
    assert "changed while fit ran" not in capsys.readouterr().err
    (tmp_path / "d" / "T0001.txt").write_text("30 31\n32 34\n")  # another woman's, say
    check_unchanged(began, tmp_path / "d", labels)
    assert (
        "warning: the data changed while fit ran (T0001.txt modified): its folds and final "
        "model may have read different files"
    ) in capsys.readouterr().err


def test_an_earlier_thermocads_record_is_said_to_be_incomparable(tmp_path):
    """A diff review: a fit interrupted under the previous version (its record holds one
    digest) was told to put its data back as it was, which nothing could do."""
    from thermocad.training.fit_resume import job_version, resumable
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.files import FIT_RESUME, INCOMPLETE, MADE_BY

    (tmp_path / INCOMPLETE).write_text("fit started\n")
    (tmp_path / MADE_BY).write_text("written by thermocad fit\n")
    old = {"options": {"folds": 2}, "version": job_version(), "data": "0123abcd", "stage": "cv"}
    (tmp_path / FIT_RESUME).write_text(json.dumps(old))
    now = {**old, "data": {"labels": "l", "files": {}}}
    with pytest.raises(ConfigError, match="record of its data was written by an earlier "
                       "thermocad, which this one cannot compare: --force starts over"):  # fmt: skip
        resumable(tmp_path, now)
