"""predict: folders and files in, one CSV row per file, bad files listed, unsafe models refused."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from thermocad import __version__
from thermocad.cli import main
from thermocad.inference.collect import collect_files
from thermocad.inference.predict import predict_paths
from thermocad.inference.tables import COLUMNS, patient_table
from thermocad.io.filenames import patient_number
from thermocad.utils.errors import ModelFormatError

RECORD = {"model_sha256": None, "engine": "e", "thermocad_version": "0", "scored_utc": "t"}


def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def unnoted(note) -> bool:
    """No note, or only the one saying whose call it is: the smoke model's two halves often
    fall on two sides of its threshold (tables.file_row)."""
    return (
        note is None
        or pd.isna(note)
        or all(part.startswith("the two halves disagree") for part in str(note).split("; "))
    )


@pytest.fixture
def inputs(tmp_path, dmr_files) -> Path:
    """A folder with three DMR text files in a subfolder, one malformed .txt and a labels.csv."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for f in dmr_files:
        shutil.copy(f, folder / "sub" / f.name)
    (folder / "broken.txt").write_text("36.1 36.2\nnot numbers at all\n")
    (folder / "labels.csv").write_text("patient_id,diagnosis\n1,Sick\n")
    return folder


def test_folder_predicted_and_bad_file_listed(run_dir, inputs):
    table, errors = predict_paths(run_dir, [inputs, inputs / "missing.txt"])
    assert list(table.columns) == list(COLUMNS)
    assert sorted(Path(f).name for f in table["file"]) == ["T0001.txt", "T0002.txt", "T0003.txt"]
    assert table["patient_id"].tolist() == [1, 2, 3]
    assert table["prob_sick"].between(0, 1).all()
    threshold = json.loads((run_dir / "model.json").read_text())["threshold"]
    assert (table["threshold"] == threshold).all()
    expected = np.where(table["prob_sick"] >= threshold, "Sick", "Healthy")
    assert table["decision"].tolist() == expected.tolist()
    assert set(table["model"]) == {"efficientnet_lite0+baseline"}
    # What an auditor needs later (a provenance review: weights_sha256 left model.json's
    # baseline and threshold out, and nothing said when, by what, or which bytes were scored)
    assert set(table["model_sha256"]) == {_sha256(run_dir / "model.json")}
    assert table["file_sha256"].tolist() == [_sha256(f) for f in table["file"]]
    assert table["engine"].str.match(r"PyTorch \S+ on cpu, \d+ threads$").all()
    assert table["thermocad_version"].str.startswith(__version__).all()
    when = pd.to_datetime(table["scored_utc"], format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    assert ((pd.Timestamp.now(tz="UTC") - when) < pd.Timedelta(minutes=5)).all()
    # The smoke run says so in every row, as the log does (the table may be passed on without
    # the log).
    assert set(table["model_warning"]) == {"Smoke-run model: not a result."}
    # labels.csv is a table, not a thermogram: folder walks skip CSV files.
    assert sorted(Path(e.file).name for e in errors) == ["broken.txt", "missing.txt"]
    assert all(e.error for e in errors)


def test_the_first_batch_is_prepared_in_the_callers_thread(run_dir, dmr_files, monkeypatch):
    # Its first imports happen there: a Ctrl+C inside one, in a worker, had left a notebook's
    # next predict waiting for ever on Python's import lock (a notebook review). The later
    # batches are prepared beside the network, as before.
    import threading

    import thermocad.inference.predict as P

    threads, real = [], P._prepared
    monkeypatch.setattr(
        P, "_prepared", lambda *a: threads.append(threading.current_thread()) or real(*a)
    )
    table, _ = predict_paths(run_dir, dmr_files, batch_size=1, workers=1)
    assert len(threads) == len(table) == len(dmr_files) >= 2
    assert threads[0] is threading.main_thread() and threading.main_thread() not in threads[1:]


def test_batching_does_not_change_probabilities(run_dir, dmr_files):
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    one, _ = predict_paths(run_dir, dmr_files, batch_size=1, workers=1)
    many, _ = predict_paths(run_dir, dmr_files, batch_size=16, workers=2)
    np.testing.assert_allclose(one["prob_sick"], many["prob_sick"], atol=1e-5)
    direct = load_bundle(run_dir).predict([read_thermal(f).array for f in dmr_files])
    np.testing.assert_allclose(one["prob_sick"], direct, atol=1e-5)
    # The smoke model's own TTA is 1 augmented copy (config.tta): tta=True asks for exactly
    # what the default (None) already does, and tta=False leaves that copy out.
    assert load_bundle(run_dir).views() == load_bundle(run_dir).views(True) == 1
    tta, _ = predict_paths(run_dir, dmr_files, tta=True)
    np.testing.assert_allclose(tta["prob_sick"], one["prob_sick"], rtol=0, atol=1e-6)
    plain, _ = predict_paths(run_dir, dmr_files, tta=False)  # so the equality above says something
    assert not np.allclose(plain["prob_sick"], one["prob_sick"], rtol=0, atol=1e-4)


def test_rows_scored_without_the_models_tta_say_so_in_their_note(
    run_dir, dmr_files, tmp_path, capsys
):
    # The smoke model averages 1 augmented copy, as its validation did: --no-tta (or an ONNX
    # model without PyTorch) scores without it, and the saved table says so on each row.
    out = tmp_path / "p.csv"
    assert main(["predict", str(run_dir), *map(str, dmr_files), "--out", str(out),
                 "--no-tta"]) == 0  # fmt: skip
    assert capsys.readouterr().out == f"predictions: {out}\n"  # the logs are stderr's
    notes = pd.read_csv(out)["note"]
    assert notes.str.contains("scored without the 1 augmented copy its threshold was").all()
    assert notes[0].startswith("patient number 1 is one of the women")  # hers first, the rest
    assert not predict_paths(run_dir, dmr_files)[0]["note"].fillna("").str.contains("cop").any()


def test_unit_mismatch_refused_unless_allowed(run_dir, dmr_files, tmp_path):
    from thermocad.io.thermal import read_thermal

    a = read_thermal(dmr_files[0]).array
    grey = np.uint8(np.clip((a - a.min()) / (a.max() - a.min()) * 255, 0, 255))
    png = tmp_path / "exported.png"
    Image.fromarray(grey).save(png)
    table, errors = predict_paths(run_dir, [png])
    assert table.empty and len(errors) == 1
    assert "temperatures" in errors[0].error and errors[0].error.endswith(
        "pass --allow-unit-mismatch (allow_unit_mismatch=True in Python) to score it anyway"
    )
    table, errors = predict_paths(run_dir, [png], allow_unit_mismatch=True)
    assert len(table) == 1 and not errors
    assert ("the file holds image intensities (8/16-bit grey levels) but the model was trained "
            "on temperatures (°C)") in table["note"][0]  # fmt: skip
    assert table["decision"][0] == "no call"  # scored as asked, but its score is not a measurement
    table.to_csv(tmp_path / "p.csv", index=False)  # a word pandas does not read as missing
    assert pd.read_csv(tmp_path / "p.csv")["decision"].tolist() == ["no call"]


def test_a_grey_image_is_prepared_in_grey_levels(run_dir, tmp_path):
    from thermocad.synth.cohort import Nuisances, synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(2), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    grey = np.uint8(np.round((a - a.min()) / (a.max() - a.min()) * 255))
    png = tmp_path / "exported.png"
    Image.fromarray(grey).save(png)
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    assert bundle.meta["transform"]["marker"] == "remove"
    from thermocad.preprocess.regions import find_marker

    # The marker is found only in grey levels (read as degrees it is 2.5 levels colder at least)
    levels = grey.astype(np.float32)
    assert find_marker(levels, unit="intensity") is not None
    assert find_marker(levels, unit="celsius") is None
    as_grey = bundle.predict([levels], unit="intensity")[0]
    as_degrees = bundle.predict([levels], unit="celsius")[0]  # as degrees: 2.5 levels
    # ... and removed from what the model sees. By how much P(Sick) moves is this tiny model's
    # reply to the image around it (5.7e-4, then 3.8e-5 after the generator's 2026-12-05 fix).
    assert as_grey != as_degrees
    table, _ = predict_paths(run_dir, [png], allow_unit_mismatch=True)
    assert table["prob_sick"][0] == pytest.approx(as_grey, abs=1e-5)


def test_files_of_women_the_model_trained_on_get_a_note(run_dir, inputs, tmp_path):
    run = tmp_path / "fitted"
    shutil.copytree(run_dir, run)  # a `fit` folder keeps the split its women came from
    trained_on = pd.read_csv(run / "trained_on.csv")  # train's record of its women
    assert set(trained_on["role"]) == {"train", "valid"}
    table, _ = predict_paths(run, [inputs / "sub"])
    for pid, note in zip(table["patient_id"], table["note"], strict=True):
        assert (str(pid) in set(trained_on["patient_id"].astype(str))) == (
            isinstance(note, str)
            and f"patient number {pid} is one of the women this model was trained on" in note
        )
    (run / "trained_on.csv").unlink()  # an older `fit` folder: its split.csv says
    pd.DataFrame({"patient_id": [1, 3], "split": ["train", "test"]}).to_csv(run / "split.csv")
    table, _ = predict_paths(run, [inputs / "sub"])
    notes = dict(zip(table["patient_id"], table["note"], strict=True))
    assert "patient number 1 is one of the women this model was trained on" in notes[1]
    assert unnoted(notes[2]) and unnoted(notes[3])  # 3 was a test woman: held out
    from thermocad.models.bundle import load_bundle  # a loaded model: its folder's record too

    loaded, _ = predict_paths(load_bundle(run), [inputs / "sub"])
    assert loaded["note"].equals(table["note"])
    # A split.csv beside an exported file may be anyone's: only a run folder's counts.
    from thermocad.inference.training_women import note_training_women

    (tmp_path / "model.onnx").write_bytes(b"")
    pd.DataFrame({"patient_id": [1], "split": ["train"]}).to_csv(tmp_path / "split.csv")
    table = pd.DataFrame({"file": ["T0001.txt"], "patient_id": [1], "note": [None]})
    note_training_women(table, tmp_path / "model.onnx", {})
    assert table["note"][0] is None


def test_synthetic_women_scored_by_a_model_of_women_are_said_to_be_synthetic(run_dir, dmr_files,
                                                                             tmp_path, capsys):  # fmt: skip
    """The README's new women are thermocad synth's: a model of real women scored them, and
    nothing said their P(Sick) was no result on women."""
    import json

    from thermocad.synth.files import TRUTH

    assert (dmr_files[0].parent / TRUTH).is_file()
    runs = {}
    for share in (0.0, 1.0):
        runs[share] = shutil.copytree(run_dir, tmp_path / f"share{share}")
        meta = json.loads((runs[share] / "model.json").read_text())
        meta["data"]["synthetic_share"] = share
        (runs[share] / "model.json").write_text(json.dumps(meta))
    capsys.readouterr()
    predict_paths(runs[0.0], [dmr_files[0]])
    assert (f"note: the women of {dmr_files[0].parent} are synthetic ({TRUTH}: thermocad "
            "synth's): their P(Sick) checks the pipeline") in capsys.readouterr().err  # fmt: skip
    predict_paths(runs[1.0], [dmr_files[0]])  # a synthetic model: its own kind of women
    assert "are synthetic (" not in capsys.readouterr().err
    # explain says it too (a parity review: its figures had gone without it).
    from thermocad.inference.explain import explain_paths

    explain_paths(runs[0.0], [dmr_files[0]], tmp_path / "figs")
    assert f"note: the women of {dmr_files[0].parent} are synthetic" in capsys.readouterr().err


def test_a_training_file_under_another_name_is_noted_by_its_bytes(run_dir, tmp_path, capsys):
    """A training woman's file renamed (no DMR number) or renumbered is still hers: model.json
    records her files' bytes, and predict notes them and counts them in the log."""
    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    trained = split[split["split"] == "train"].iloc[0]
    (tmp_path / "new").mkdir()
    shutil.copyfile(trained["path"], tmp_path / "new" / "P12_front.npy")
    shutil.copyfile(trained["path"], tmp_path / "new" / "T0777.npy")
    # Saved again as gzipped text with a Windows line end: other bytes, her frame.
    frame = np.load(trained["path"])
    text = "\r\n".join(" ".join(f"{v:.9g}" for v in row) for row in frame) + "\r\n"
    (tmp_path / "new" / "T0778.txt.gz").write_bytes(gzip.compress(text.encode()))
    capsys.readouterr()
    table, _ = predict_paths(run_dir, [tmp_path / "new"])
    notes = dict(zip(table["file"].map(lambda f: Path(f).name), table["note"], strict=True))
    pid = trained["patient_id"]
    for name in ("P12_front.npy", "T0777.npy"):
        assert f"byte for byte a file of training patient {pid} (the model's" in notes[name]
    assert (
        f"the same frame as a file of training patient {pid}, saved again" in notes["T0778.txt.gz"]
    )
    assert (
        "3 of 3 file(s) are files this model was trained on, byte for byte or saved again"
        in capsys.readouterr().err
    )
    # A synthetic model's numbers are counted apart: a real woman with one is someone else.
    import json

    synthetic = shutil.copytree(run_dir, tmp_path / "synthetic")
    meta = json.loads((synthetic / "model.json").read_text())
    meta["data"]["synthetic_share"] = 1.0
    (synthetic / "model.json").write_text(json.dumps(meta))
    (tmp_path / "real").mkdir()
    other = np.load(trained["path"]) + 0.01  # other bytes, the same number
    np.save(tmp_path / "real" / f"T{trained['patient_id']:04d}.npy", other)
    table, errors = predict_paths(synthetic, [tmp_path / "real"])
    assert not errors and "is also a synthetic woman's" in table["note"][0]
    err = capsys.readouterr().err
    assert "1 of 1 file(s) share a patient number with a synthetic patient" in err
    assert "have the patient number of a woman" not in err
    assert "keeps no record of the women it trained on" not in err
    # An older thermocad's model keeps no record of either kind: predict says it cannot tell
    # (it had said nothing, and a training woman's file passed as a held-out score).
    older = shutil.copytree(run_dir, tmp_path / "older")
    meta = json.loads((older / "model.json").read_text())
    (older / "model.json").write_text(json.dumps({k: v for k, v in meta.items()
                                                  if k != "trained_files"}))  # fmt: skip
    for name in ("trained_on.csv", "split.csv"):
        (older / name).unlink(missing_ok=True)
    table, errors = predict_paths(older, [tmp_path / "new" / "T0777.npy"])
    assert not errors and "training patient" not in (table["note"][0] or "")
    assert "this model keeps no record of the women it trained on" in capsys.readouterr().err


def test_collect_files_recurses_and_deduplicates(inputs, capsys):
    files, errors = collect_files([inputs, inputs / "sub", inputs / "sub" / "T0001.txt"])
    assert "repeated file(s) predicted once" in capsys.readouterr().err
    assert [f.name for f in files] == ["broken.txt", "T0001.txt", "T0002.txt", "T0003.txt"]
    assert not errors
    files, errors = collect_files([inputs / "labels.csv"])  # named explicitly: tried
    assert [f.name for f in files] == ["labels.csv"] and not errors


def test_patient_table_by_hand():
    table = pd.DataFrame(
        {
            "file": ["a", "b", "c", "d"],
            "patient_id": pd.array([1, 1, 2, None], dtype="Int64"),
            "prob_sick": [0.2, 0.6, 0.7, 0.9],
            "threshold": [0.5] * 4,
            "model": ["m"] * 4,
        }
    )
    out = patient_table(table)
    # patient 1: (0.2 + 0.6) / 2 = 0.4 < 0.5 -> Healthy; patient 2: 0.7 -> Sick; no id: left out.
    assert out["patient_id"].tolist() == [1, 2]
    assert out["n_files"].tolist() == [2, 1]
    assert out["prob_sick"].tolist() == pytest.approx([0.4, 0.7])
    assert out["decision"].tolist() == ["Healthy", "Sick"]


def test_a_womans_files_of_several_visits_are_said_to_be_averaged():
    """A review of follow-ups: a woman imaged in 2013 and again in 2015 got one mean P(Sick)
    over both visits, said nowhere; the frames of one visit are averaged without a word."""
    table = pd.DataFrame({
        "file": ["T0030.1.1.S.2013-08-01.10.txt", "T0030.1.1.D.2013-08-01.10.txt",
                 "T0030.1.1.S.2015-02-03.09.txt", "T0031.1.1.S.2013-08-01.10.txt",
                 "T0031.1.1.D.2013-08-01.11.txt"],
        "patient_id": pd.array([30, 30, 30, 31, 31], dtype="Int64"),
        "prob_sick": [0.3, 0.3, 0.4, 0.2, 0.3], "threshold": [0.5] * 5, "model": ["m"] * 5,
    })  # fmt: skip
    notes = patient_table(table)["note"].tolist()
    assert notes[0] == (
        "her files were imaged on 2 days (2013-08-01, 2015-02-03): her P(Sick) "
        "is a mean over visits; read each visit in the per-file table"
    )
    assert pd.isna(notes[1])  # one day's static and dynamic frames: no note


def test_a_training_womans_row_says_so_first():
    """A many-notes review: patient 12's row said only "2 file(s) with a note in the per-file
    table", never that she trained the model, though each of her files' notes did."""
    said = ("patient number 12 is one of the women this model was trained on (its training "
            "record): if she is the same woman, this P(Sick) is no test result")  # fmt: skip
    table = pd.DataFrame({
        "file": ["T0012.txt", "T0012_b.txt", "T0013.txt"],
        "patient_id": pd.array([12, 12, 13], dtype="Int64"), "prob_sick": [0.3, 0.4, 0.2],
        "threshold": [0.5] * 3, "model": ["m"] * 3, "note": [said, said, None],
    })  # fmt: skip
    notes = patient_table(table)["note"].tolist()
    assert notes[0].startswith("her files say she is one of the women this model was trained "
                               "on: her P(Sick) is no test result; 2 file(s) with a note")  # fmt: skip
    assert pd.isna(notes[1])


def test_the_tables_write_the_threshold_without_float_noise(tmp_path):
    from thermocad.inference.tables import write_predictions

    noisy = 0.07411588000000001  # model.json's float32 threshold, printed as a float64
    table = pd.DataFrame({
        "file": ["T0001.txt", "T0001_b.txt"], "patient_id": pd.array([1, 1], dtype="Int64"),
        "prob_sick": [0.2, 0.123457], "decision": ["Sick", "Sick"],
        "threshold": [noisy] * 2, "model": ["m"] * 2,
    })  # fmt: skip
    for fmt in ("csv", "json"):
        written = write_predictions(table, [], tmp_path / f"predictions.{fmt}", fmt=fmt)
        assert set(written) == {"files", "patients"}
        for path in written.values():
            text = path.read_text()
            assert str(np.float32(noisy)) in text and "0.07411588000000001" not in text
        assert "0.123457" in written["files"].read_text()  # a probability as it was
    cells = pd.read_csv(tmp_path / "predictions_patients.csv", dtype=str)
    assert cells["threshold"].tolist() == ["0.07411588"]


def test_a_copy_of_a_womans_file_in_another_folder_counts_once():
    # a/T0001.txt and b/T0001.txt: the same bytes (the same P(Sick)); visit2/T0001.txt, another
    # image of hers under the same name, and T0001_b.txt count as files of their own.
    table = pd.DataFrame({
        "file": ["a/T0001.txt", "b/T0001.txt", "visit2/T0001.txt", "T0001_b.txt"],
        "patient_id": pd.array([1, 1, 1, 1], dtype="Int64"),
        "prob_sick": [0.9, 0.9, 0.3, 0.6], "threshold": [0.5] * 4, "model": ["m"] * 4,
    })  # fmt: skip
    out = patient_table(table)
    assert out["n_files"].tolist() == [3] and out["prob_sick"].tolist() == pytest.approx([0.6])
    assert out["note"].tolist() == [
        "1 copy(ies) of a file counted once; her files' calls differ (2 Sick, 1 Healthy): read "
        "each in the per-file table; they come from 3 folders (., a, ...), taken as one woman by "
        "her number: if they are two women, predict them apart"
    ]
    # Downloaded twice: the browser's "(1)" is a copy's mark, not another image.
    twice = table.assign(file=["T0001.txt", "T0001 (1).txt", "visit2/T0001.txt", "T0001_b.txt"])
    assert patient_table(twice)["n_files"].tolist() == [3]
    formats = table.assign(file=["T0001.npy", "b/T0001.txt.gz", "visit2/T0001.txt", "T0001_b.txt"])
    assert patient_table(formats)["n_files"].tolist() == [3]  # the same image in two formats
    # A lateral view and its copy: both without a call, and no copy said of the files averaged.
    void = pd.DataFrame({"file": ["T0014.1.3.S.2013-01-01.00.png", "T0014.1.3.S.2013-01-01.00 (1).png",
                                  "T0014.txt"], "patient_id": pd.array([14] * 3, dtype="Int64"),
                         "prob_sick": [0.9, 0.9, 0.2], "threshold": [0.5] * 3, "model": ["m"] * 3,
                         "decision": ["no call", "no call", "Healthy"]})  # fmt: skip
    assert patient_table(void)["note"].tolist() == ["2 file(s) without a call left out"]


def test_what_a_patients_mean_hides_is_said_in_her_row():
    """A hazard review: siteA/T9006.txt (Sick alone) and siteB/T9006.txt, two sites' women of
    one number, were averaged into one Healthy row with no note. Her row says both."""
    table = pd.DataFrame({
        "file": ["/d/siteA/T9006.txt", "/d/siteB/T9006.txt", "/d/siteA/T9007.txt",
                 "/d/siteA/T9007.1.1.S.2013-01-01.00.txt"],
        "patient_id": pd.array([9006, 9006, 9007, 9007], dtype="Int64"),
        "prob_sick": [0.3528, 0.1308, 0.2, 0.3], "threshold": [0.3495] * 4, "model": ["m"] * 4,
    })  # fmt: skip
    out = patient_table(table).set_index("patient_id")
    assert out.loc[9006, "decision"] == "Healthy"  # the mean, as before, with what it hides:
    assert out.loc[9006, "note"] == (
        "her files' calls differ (1 Sick, 1 Healthy): read each in the per-file table; they "
        "come from 2 folders (siteA, siteB), taken as one woman by her number: if they are two "
        "women, predict them apart"
    )
    assert pd.isna(out.loc[9007, "note"])  # one folder, one call: nothing to say
    # Frames kept in folders of their own (the README's frame2/T0012.txt) with one call: quiet.
    apart = table.assign(prob_sick=[0.2, 0.1, 0.2, 0.3])
    assert patient_table(apart)["note"].isna().all()
    # Each file's call as its row made it, on P(Sick) before rounding (0.40258845 -> 0.402588).
    near = table.head(2).assign(prob_sick=[0.402588, 0.1], threshold=0.40258844,
                                decision=["Sick", "Healthy"])  # fmt: skip
    assert patient_table(near)["note"].iloc[0].startswith("her files' calls differ (1 Sick, 1")


def test_a_patients_files_without_a_call_are_left_out_of_her_mean():
    # Patient 2: a frontal frame (0.2), a lateral view (0.95, "T0002.1.5": left 90 degrees) and
    # a frame with a room note (0.4); patient 3: only a lateral view; patient 4: an 8-bit image
    # let through by --allow-unit-mismatch (no call) beside a temperature frame (0.1).
    table = pd.DataFrame({
        "file": ["T0002.1.1.S.2020-01-01.00.txt", "T0002.1.5.S.2020-01-01.00.txt",
                 "T0002.1.1.S.2020-01-01.01.txt", "T0003.1.4.S.2020-01-01.00.txt",
                 "T0004_a.png", "T0004_b.txt"],
        "patient_id": pd.array([2, 2, 2, 3, 4, 4], dtype="Int64"),
        "prob_sick": [0.2, 0.95, 0.4, 0.9, 0.99, 0.1], "threshold": [0.5] * 6,
        "decision": ["Healthy", "no call", "Healthy", "no call", "no call", "Healthy"], "model": ["m"] * 6,
        "note": [None, "the file name says view ...", "room 29.0 °C ...", "the file name ...",
                 "the file holds image intensities ...", None],
    })  # fmt: skip
    out = patient_table(table).set_index("patient_id")
    assert out.loc[2, "prob_sick"] == pytest.approx(0.3) and out.loc[2, "decision"] == "Healthy"
    assert out.loc[2, "n_files"] == 2
    assert out.loc[2, "note"] == ("1 file(s) without a call left out; 1 file(s) with a note in "
                                  "the per-file table")  # fmt: skip
    assert pd.isna(out.loc[3, "prob_sick"]) and out.loc[3, "decision"] == "no call"
    assert out.loc[4, "prob_sick"] == pytest.approx(0.1) and out.loc[4, "n_files"] == 1


def test_cli_writes_csvs_exit_status_and_force(run_dir, inputs, dmr_files, tmp_path, capsys):
    # Two frames of patient 1 (long DMR names) so the per-patient table is written.
    shutil.copy(dmr_files[0], inputs / "T0001.1.1.S.2026-01-05.00.txt")
    shutil.copy(dmr_files[0], inputs / "T0001.1.1.S.2026-01-05.01.txt")
    out = tmp_path / "out" / "predictions.csv"
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(inputs), "--out", str(out)]) == 1  # broken.txt
    # stdout names both tables written, the predictions last (a script reads the last line)
    said = capsys.readouterr()
    assert said.out.splitlines() == [
        f"errors: {tmp_path / 'out' / 'predictions_errors.csv'}",
        f"predictions: {out}",
    ]
    table = pd.read_csv(out)
    assert len(table) == 5 and list(table.columns) == list(COLUMNS)
    errors = pd.read_csv(tmp_path / "out" / "predictions_errors.csv")
    assert [Path(f).name for f in errors["file"]] == ["broken.txt"]
    patients = pd.read_csv(tmp_path / "out" / "predictions_patients.csv")
    p1 = patients.set_index("patient_id").loc[1]
    assert p1["n_files"] == 3
    assert p1["prob_sick"] == pytest.approx(table.loc[table.patient_id == 1, "prob_sick"].mean())
    assert "broken.txt" in said.err and "research software, not a diagnosis" in said.err
    before = out.read_bytes()
    assert main(["predict", str(run_dir), str(inputs / "sub"), "--out", str(out)]) == 2
    assert out.read_bytes() == before  # refused without --force
    assert main(["predict", str(run_dir), str(inputs / "sub"), "--out", str(out), "--force"]) == 0
    assert len(pd.read_csv(out)) == 3
    # The earlier run's lists this run has nothing for are removed (one file per woman now:
    # no per-patient table; no broken file: no error list), and each removal said.
    assert not (tmp_path / "out" / "predictions_errors.csv").exists()
    assert not (tmp_path / "out" / "predictions_patients.csv").exists()
    err = capsys.readouterr().err
    for name in ("predictions_errors.csv", "predictions_patients.csv"):
        assert f"note: removed {tmp_path / 'out' / name}, an earlier run's" in err
    # Nothing to predict (a wrong path, a folder without thermal files): refused, nothing written.
    (tmp_path / "empty").mkdir()
    for given in (tmp_path / "nope.txt", tmp_path / "empty"):
        assert main(["predict", str(run_dir), str(given), "--out", str(tmp_path / "n.csv")]) == 2
        assert "nothing to predict: " in capsys.readouterr().err
    assert not list(tmp_path.glob("n*.csv"))
    # Every file failing: the errors are written, no header-only predictions.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "T0009.txt").write_text("not a matrix\n")
    assert main(["predict", str(run_dir), str(bad), "--out", str(tmp_path / "b.csv")]) == 1
    assert not (tmp_path / "b.csv").exists() and (tmp_path / "b_errors.csv").exists()
    said = capsys.readouterr()
    assert "0 files predicted, 1 failed" in said.err
    assert said.out == f"errors: {tmp_path / 'b_errors.csv'}\n"  # what it wrote, on stdout
    # --force over a run with predictions when this one predicts none: its predictions.csv goes.
    assert main(["predict", str(run_dir), str(bad), "--out", str(out), "--force"]) == 1
    assert not out.exists()
    errors = pd.read_csv(tmp_path / "out" / "predictions_errors.csv")
    assert [Path(f).name for f in errors["file"]] == ["T0009.txt"]
    assert f"note: removed {out}, an earlier run's" in capsys.readouterr().err


@pytest.fixture
def copy_run(run_dir, tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def _pickle_weights(run: Path) -> None:
    import torch

    from thermocad.models.bundle import load_bundle

    state = load_bundle(run).model.state_dict()
    torch.save(state, run / "model.safetensors")  # a pickle disguised as safetensors


def test_pickle_disguised_as_safetensors_refused(copy_run, dmr_files, tmp_path, capsys):
    _pickle_weights(copy_run)
    with pytest.raises(ModelFormatError, match="pickle"):
        predict_paths(copy_run, dmr_files)
    out = tmp_path / "unused.csv"
    assert main(["predict", str(copy_run), str(dmr_files[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pickle" in err and "Traceback" not in err
    assert not out.exists()


def test_pickle_only_run_refused(copy_run, dmr_files):
    (copy_run / "model.safetensors").rename(copy_run / "model.pth")
    with pytest.raises(ModelFormatError, match="never loaded"):
        predict_paths(copy_run, dmr_files)


def test_a_data_folder_given_as_the_model_says_the_model_comes_first(dmr_files):
    with pytest.raises(
        ModelFormatError, match="it holds thermograms, not a model: give the model's folder .first"
    ):
        predict_paths(dmr_files[0].parent, dmr_files)


def test_a_room_outside_the_training_rooms_is_noted(run_dir, dmr_files):
    from thermocad.inference.answer import analyse
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle
    from thermocad.preprocess.regions import room_temperature

    bundle = load_bundle(run_dir)
    bundle.path = None  # the room note alone (these files' women trained it: another note)
    rooms = [room_temperature(read_thermal(f).array) for f in dmr_files]
    bundle.meta.setdefault("data", {})["room_range_c"] = [min(rooms), max(rooms)]
    inside, _ = predict_paths(bundle, dmr_files)
    assert inside["note"].map(unnoted).all()  # every file's room lies in the range
    bundle.meta["data"]["room_range_c"] = [max(rooms) + 1, max(rooms) + 3]  # all colder
    outside, _ = predict_paths(bundle, dmr_files)
    assert outside["note"].str.contains(f"room {rooms[0]:.1f} °C").iloc[0]
    assert outside["note"].str.contains("outside the").all()
    np.testing.assert_allclose(outside["prob_sick"], inside["prob_sick"])  # the score unchanged
    assert "Note: room" in analyse(bundle, dmr_files[0]).result  # the web app says it too
    del bundle.meta["data"]["room_range_c"]  # an older model.json: no check, no note
    assert predict_paths(bundle, dmr_files)[0]["note"].map(unnoted).all()


def test_skin_warmer_than_the_training_womens_is_noted(run_dir, dmr_files):
    """A clinical reading: a Healthy woman's frame 4 °C warmer throughout was called Sick with no
    note; one whose skin lies outside the training women's is noted, its score unchanged."""
    from thermocad.inference.answer import analyse
    from thermocad.inference.verdict import _headlines
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    bundle.path = None  # the skin note alone (these files' women trained it: another note)
    bundle.meta.setdefault("data", {}).pop("room_range_c", None)  # not the room's note too
    bundle.meta["data"]["skin_range_c"] = [0.0, 50.0]
    inside, _ = predict_paths(bundle, dmr_files)
    assert inside["note"].map(unnoted).all()
    bundle.meta["data"]["skin_range_c"] = [10.0, 20.0]  # every real frame is warmer
    outside, _ = predict_paths(bundle, dmr_files)
    assert outside["note"].str.contains(r"skin \d+\.\d °C \(the body's median\) is warmer than "
                                        "the 10.0-20.0 °C").all()  # fmt: skip
    np.testing.assert_allclose(outside["prob_sick"], inside["prob_sick"])  # the score unchanged
    found = analyse(bundle, dmr_files[0])
    assert "Note: skin" in found.result
    assert "Skin warmer or cooler than any training woman's: read with care." in _headlines(
        "", {"skin": "x"}
    )
    bundle.meta["data"]["skin_range_c"] = [40.0, 45.0]
    assert predict_paths(bundle, dmr_files[:1])[0]["note"].str.contains("is cooler than").all()


def test_a_frame_of_another_size_than_the_training_frames_is_noted(run_dir, dmr_files, tmp_path):
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    bundle.path = None  # the shape note alone
    bundle.meta.get("data", {}).pop("room_range_c", None)
    shapes = [[64, 80]]  # as training writes them (test_data), for these files' frames
    bundle.meta.setdefault("data", {})["frame_shapes"] = shapes
    lines = dmr_files[0].read_text().splitlines()
    (tmp_path / "T0001.txt").write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # cut short
    table, errors = predict_paths(bundle, [tmp_path / "T0001.txt", dmr_files[1]])
    assert not errors and unnoted(table["note"][1])
    from thermocad.io.thermal import read_thermal

    cut = read_thermal(tmp_path / "T0001.txt").array.shape[0]
    assert 0 < cut < 64
    assert table["note"][0].startswith(f"the file is {cut} x 80 px but the model was trained on "
                                       "64 x 80 frames (a file cut short, or another camera?): "
                                       "read its P(Sick) with care")  # fmt: skip
    assert table["decision"][0] in ("Sick", "Healthy")  # a note, not a refusal
    # The frame turned by 90 degrees (or written transposed): said so, not "cut short".
    import dataclasses

    from thermocad.inference.notes import shape_note

    original = read_thermal(dmr_files[1])
    turned = dataclasses.replace(original, array=original.array.T.copy())
    assert "(turned on its side, or a matrix written transposed?)" in shape_note(
        bundle.meta, turned
    )
    # ... and makes no call, as a lateral view makes none (a camera review saw one called).
    np.save(tmp_path / "T0002.npy", turned.array)
    table, _ = predict_paths(bundle, [tmp_path / "T0002.npy"])
    assert table["decision"][0] == "no call" and "says nothing about this image" in table["note"][0]


@pytest.mark.parametrize("bad", [[[480]], [["480", 640]], [], [[0, 640]]])
def test_bad_frame_shapes_in_model_json_are_refused(copy_run, dmr_files, bad):
    meta = json.loads((copy_run / "model.json").read_text())
    meta.setdefault("data", {})["frame_shapes"] = bad
    (copy_run / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="frame_shapes"):
        predict_paths(copy_run, dmr_files)


def test_a_lateral_view_is_noted_and_still_scored(run_dir, dmr_files, tmp_path):
    from thermocad.inference.answer import analyse
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    bundle.path = None  # the view note alone: no training record, no room range
    bundle.meta.get("data", {}).pop("room_range_c", None)
    named = {"T0001.1.1.S.2013-01-10.10.txt": None, "T0002.1.2.S.2013-01-10.10.txt": "1.2 (right45)",
             "T0003.1.5.txt": "1.5 (left90)"}  # fmt: skip
    for source, name in zip(dmr_files, named, strict=True):
        shutil.copy(source, tmp_path / name)
    table, errors = predict_paths(bundle, [tmp_path])
    plain, _ = predict_paths(bundle, dmr_files)
    assert not errors
    for (name, says), note in zip(named.items(), table["note"], strict=True):
        assert unnoted(note) if says is None else f"view {says}" in note, name
    assert table["note"].iloc[1].endswith("trained on frontal views only: its P(Sick) says "
                                          "nothing about this image")  # fmt: skip
    np.testing.assert_allclose(table["prob_sick"], plain["prob_sick"])  # the score unchanged
    assert table["decision"].tolist()[1:] == ["no call", "no call"]  # but no call on a lateral view
    assert table["decision"][0] in ("Sick", "Healthy")
    lateral = analyse(bundle, tmp_path / "T0002.1.2.S.2013-01-10.10.txt")
    assert "no Sick/Healthy call: the file name says view 1.2" in lateral.result
    assert (
        'No call</div><div style="color:#222">T0002.1.2.S.2013-01-10.10.txt: the file name says'
        in lateral.verdict
    )
    frontal = analyse(bundle, tmp_path / "T0001.1.1.S.2013-01-10.10.txt").verdict  # the view
    assert "Called" in frontal and "View: frontal, as the DMR-IR file name says." in frontal
    # With no call, neither the page's Result nor predict's column gives the notes on how to
    # read a score (a many-notes review: "read it with care" three times beside no call); the
    # two say the same (a parity review had found the skin note in the table alone).
    bundle.meta.setdefault("data", {})["skin_range_c"] = [10.0, 20.0]
    noted = predict_paths(bundle, [tmp_path / "T0002.1.2.S.2013-01-10.10.txt"])[0]["note"][0]
    result = analyse(bundle, tmp_path / "T0002.1.2.S.2013-01-10.10.txt").result
    assert "skin " not in noted and "skin " not in result
    frontal = predict_paths(bundle, [tmp_path / "T0001.1.1.S.2013-01-10.10.txt"])[0]["note"][0]
    assert frontal.startswith("skin ")  # the same frame, called: noted
    assert result.count("trained on frontal views only") == 1  # said first, not again


def test_a_linked_file_is_read_under_the_name_it_was_given(run_dir, dmr_files, tmp_path):
    """git-annex and DVC keep files under a hash and link the DMR names to them: the link's
    name gives the patient and the view (the target's had given neither: no patient, and a
    lateral view called Sick or Healthy)."""
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    bundle.path = None
    (tmp_path / "store").mkdir()
    (tmp_path / "data" / "P9001").mkdir(parents=True)
    for source, view in zip(dmr_files[:2], ("1", "2"), strict=True):
        stored = tmp_path / "store" / f"SHA256E-s1--{view * 12}.txt"
        shutil.copy(source, stored)
        (tmp_path / "data" / "P9001" / f"T9001.1.{view}.S.2014-01-01.10.txt").symlink_to(stored)
    table, errors = predict_paths(bundle, [tmp_path / "data"])
    assert not errors
    assert [Path(f).name for f in table["file"]] == ["T9001.1.1.S.2014-01-01.10.txt",
                                                     "T9001.1.2.S.2014-01-01.10.txt"]  # fmt: skip
    assert table["patient_id"].tolist() == [9001, 9001]
    assert table["decision"].iloc[1] == "no call"  # the lateral view, as its name says
    again, _ = predict_paths(bundle, [tmp_path / "data", tmp_path / "data" / "P9001"])
    assert len(again) == 2  # a file reached twice is still predicted once
    # A link's name that gives no patient: the file it links to names her.
    (tmp_path / "latest.txt").symlink_to(dmr_files[0])
    latest, _ = predict_paths(bundle, [tmp_path / "latest.txt"])
    assert latest["patient_id"].tolist() == [patient_number(dmr_files[0])]
    # ".." after a linked folder is the linked folder's parent, as the system reads it
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    shutil.copy(dmr_files[1], tmp_path / "elsewhere" / "T0042.txt")
    (tmp_path / "data" / "sub").symlink_to(tmp_path / "elsewhere" / "deep")
    up, errors = predict_paths(bundle, [tmp_path / "data" / "sub" / ".." / "T0042.txt"])
    assert not errors and up["patient_id"].tolist() == [42]


def test_one_frame_under_two_names_is_noted_on_each(run_dir, dmr_files, tmp_path, capsys):
    """A hazard review: a misfiled copy scored under two women's numbers got two calls and no
    word. Each file names the other; a copy under her own number says it counts again."""
    folder = tmp_path / "dup"
    folder.mkdir()
    for name in ("T9002.txt", "T9010.txt", "T09002.txt"):
        shutil.copy(dmr_files[0], folder / name)
    shutil.copy(dmr_files[1], folder / "T9003.txt")
    table, errors = predict_paths(run_dir, [folder])
    assert not errors
    notes = dict(zip(table["file"].map(lambda f: Path(f).name), table["note"], strict=True))
    assert (
        "the same frame as T9002.txt, byte for byte or saved again: a copy" in notes["T09002.txt"]
    )
    assert ("the same frame as T09002.txt (patient 9002), byte for byte or saved again: one "
            "woman under two numbers, or a file misnamed?") in notes["T9010.txt"]  # fmt: skip
    assert "the same frame as T09002.txt, byte for byte" in notes["T9002.txt"]
    assert unnoted(notes["T9003.txt"])
    assert "note: 3 file(s) hold the frame of another file given" in capsys.readouterr().err
    # A copy whose name gives no number is not said to be a woman under two numbers (a review).
    shutil.copy(dmr_files[1], folder / "scan_copy.txt")
    named = predict_paths(run_dir, [folder / "T9003.txt", folder / "scan_copy.txt"])[0]["note"]
    assert ("the same frame as scan_copy.txt (no patient number), byte for byte or saved again: "
            "a copy under another name?") in named[0]  # fmt: skip
    (folder / "scan_copy.txt").unlink()
    # Her copy under the same name in another format counts once, as her row counts it.
    with open(dmr_files[1], "rb") as src, gzip.open(folder / "T9003.txt.gz", "wb") as dst:
        dst.write(src.read())
    gz, _ = predict_paths(run_dir, [folder / "T9003.txt", folder / "T9003.txt.gz"])
    assert gz["note"].str.contains("a copy, counted once in her mean").all()
    # A link named for another woman reaches the same file: predicted once, and said.
    (folder / "T9011.txt").symlink_to(folder / "T9003.txt")
    again, _ = predict_paths(run_dir, [folder])
    assert "T9011.txt" not in set(again["file"].map(lambda f: Path(f).name))
    assert ("warning: 1 file(s) reached under another woman's number as well (T9011.txt = "
            "T9003.txt): predicted once, under the first name") in capsys.readouterr().err  # fmt: skip


def test_same_frames_are_found_for_a_model_without_halves(dmr_files, tmp_path):
    """A diff review: a CNN alone (no baseline) leaves prob_cnn and prob_baseline empty, and
    the check for one frame under two names crashed every such predict."""
    from thermocad.inference.copies import note_same_frames

    for name in ("T0101.txt", "T0102.txt"):
        shutil.copy(dmr_files[0], tmp_path / name)
    shutil.copy(dmr_files[1], tmp_path / "T0103.txt")
    table = pd.DataFrame({
        "file": [str(tmp_path / n) for n in ("T0101.txt", "T0102.txt", "T0103.txt")],
        "patient_id": pd.array([101, 102, 103], dtype="Int64"), "prob_sick": [0.4, 0.4, 0.4],
        "prob_cnn": [None] * 3, "prob_baseline": [None] * 3, "note": [None] * 3,
    })  # fmt: skip
    assert note_same_frames(table) == 2  # T0103 scored alike, but another frame
    assert "the same frame as T0102.txt (patient 102)" in table.at[0, "note"]
    assert table.at[2, "note"] is None


@pytest.mark.parametrize("key", ["room_range_c", "skin_range_c"])
@pytest.mark.parametrize("bad", [[25.0], [26.0, 20.0], ["20", 25.0], [20.0, float("inf")]])
def test_a_bad_room_or_skin_range_in_model_json_is_refused(copy_run, dmr_files, bad, key):
    meta = json.loads((copy_run / "model.json").read_text())
    meta.setdefault("data", {})[key] = bad
    (copy_run / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match=key):
        predict_paths(copy_run, dmr_files)


def test_json_not_matching_tensors_refused(copy_run, dmr_files):
    meta = json.loads((copy_run / "model.json").read_text())
    name = next(iter(meta["tensors"]))
    meta["tensors"][name] = [n + 1 for n in meta["tensors"][name]]
    (copy_run / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="do not match"):
        predict_paths(copy_run, dmr_files)


def test_app_refuses_unsafe_model(copy_run):
    from thermocad.inference.app import build_app

    _pickle_weights(copy_run)
    with pytest.raises(ModelFormatError, match="pickle"):
        build_app(copy_run, examples=[])


@pytest.mark.real
def test_real_dmr_files(run_dir, dmr_dir):
    files = sorted(dmr_dir.glob("T*.txt"))[:4]
    table, errors = predict_paths(run_dir, files)
    assert not errors and len(table) == 4
    assert table["patient_id"].tolist() == [int(f.name[1:5]) for f in files]
    assert table["prob_sick"].between(0, 1).all()


def test_failure_line_names_the_file_once():
    from thermocad.inference.collect import FileFailure
    from thermocad.inference.predict import failure_line

    assert failure_line(FileFailure("a/b.txt", "a/b.txt: line 1: 'x' is not a number")) == (
        "failed: a/b.txt: line 1: 'x' is not a number"
    )
    assert (
        failure_line(FileFailure("c", "no such file or folder"))
        == "failed: c: no such file or folder"
    )


def test_implausible_thermograms_are_failed_with_the_reason(run_dir, dmr_files, tmp_path):
    from tests.preprocess.test_plausible import implausible_arrays

    folder = tmp_path / "odd"
    folder.mkdir()
    for name, array in implausible_arrays().items():
        np.save(folder / f"{name}.npy", array)
    np.savetxt(folder / "one_pixel_text.txt", np.full((1, 1), 33.0))
    shutil.copy(dmr_files[0], folder / dmr_files[0].name)
    table, errors = predict_paths(run_dir, [folder])
    assert [Path(f).name for f in table["file"]] == [dmr_files[0].name]
    assert len(errors) == len(implausible_arrays()) + 1
    assert all("not a breast thermogram" in e.error for e in errors)
    by_name = {Path(e.file).name: e.error for e in errors}
    assert "nearly constant" in by_name["zeros_48x64.npy"]
    assert "too small" in by_name["one_pixel_text.txt"]


@pytest.mark.parametrize("where", ["under_a_file", "unwritable"])
def test_unwritable_out_fails_before_any_work(
    run_dir, dmr_files, tmp_path, capsys, monkeypatch, where
):
    import thermocad.inference.predict as predict

    if where == "under_a_file":
        (tmp_path / "plain").write_text("a file, not a folder")
        out = tmp_path / "plain" / "sub" / "predictions.csv"
    else:
        if os.geteuid() == 0:
            out = Path("/proc/thermocad-out/predictions.csv")  # not writable, even for root
        else:
            (tmp_path / "locked").mkdir(mode=0o500)
            out = tmp_path / "locked" / "predictions.csv"

    def no_work(*args, **kwargs):
        raise AssertionError("predicted before checking where the results go")

    monkeypatch.setattr(predict, "predict_paths", no_work)
    assert main(["predict", str(run_dir), str(dmr_files[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {out}: cannot write there" in err and ".predictions.csv." not in err


@pytest.mark.slow
def test_pipelined_batches_give_the_probabilities_of_predict(run_dir, dmr_files):
    """predict prepares batch k+1 while the network runs batch k: same numbers, same order."""
    from thermocad.inference.predict import predict_bundle
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    files = [*dmr_files, *dmr_files[:2]]  # 5 files in batches of 2: three batches in flight
    table, errors = predict_bundle(bundle, files, batch_size=2, workers=1)
    expected = bundle.predict([read_thermal(f).array for f in files])
    assert not errors and table["file"].tolist() == [str(f) for f in files]
    assert np.allclose(table["prob_sick"], expected, atol=1e-6)


def test_a_file_name_that_is_not_utf8_is_predicted_and_written(run_dir, dmr_files, tmp_path):
    """Linux names may hold any bytes: every file is predicted, and the tables (CSV, JSON), the
    rendered PNGs and their titles carry the name with its odd byte escaped."""
    from thermocad.io.render import render_folder

    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"T0002\xff.txt")
    shutil.copy(dmr_files[0], folder / "T0001.txt")
    shutil.copy(dmr_files[1], folder / odd)
    table, errors = predict_paths(run_dir, [folder])
    assert not errors and len(table) == 2
    for fmt in ("csv", "json"):
        out = tmp_path / f"p.{fmt}"
        assert main(["predict", str(run_dir), str(folder), "--out", str(out), "--format", fmt]) == 0
        rows = pd.read_csv(out) if fmt == "csv" else pd.DataFrame(json.loads(out.read_text()))
        assert rows["file"].str.endswith("T0002\\udcff.txt").sum() == 1
    sheet = tmp_path / "sheet.png"
    summary = render_folder(folder, tmp_path / "png", sheet=sheet)
    assert len(summary.written) == 2 and not summary.errors and sheet.exists()


def test_an_output_name_that_contradicts_the_format_is_refused_first(run_dir, dmr_files, tmp_path):
    from thermocad.inference.predict import run_predict
    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match=r"p\.csv: the name says csv, the format is json"):
        run_predict(run_dir, dmr_files, tmp_path / "p.csv", fmt="json")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="--out -: give a file name"):
        run_predict(run_dir, dmr_files, "-")
    assert not Path("-").exists()


def test_an_output_that_is_an_input_or_a_thermal_name_is_refused_even_with_force(
    run_dir, dmr_files, tmp_path
):
    import shutil

    from thermocad.inference.predict import run_predict
    from thermocad.utils.errors import ConfigError

    victim = Path(shutil.copy(dmr_files[0], tmp_path / "T0101.txt"))
    before = victim.read_bytes()
    with pytest.raises(ConfigError, match=r"T0101\.txt: a thermal file's name"):
        run_predict(run_dir, [victim], victim, force=True)
    matrix = tmp_path / "T0102.csv"  # a matrix named .csv is read, so it may be an input
    matrix.write_bytes(before)
    with pytest.raises(ConfigError, match=r"T0102\.csv: is one of the files to predict"):
        run_predict(run_dir, [matrix], matrix, force=True)
    assert victim.read_bytes() == matrix.read_bytes() == before
    # Nor the model predicting: its model.json (a JSON table's name) or any model file's name.
    meta = (run_dir / "model.json").read_bytes()
    with pytest.raises(ConfigError, match=r"model\.json: is the model's own file"):
        run_predict(run_dir, [victim], run_dir / "model.json", force=True, fmt="json")
    with pytest.raises(ConfigError, match=r"m\.onnx: a model file's name"):
        run_predict(run_dir, [victim], tmp_path / "m.onnx", force=True)
    assert (run_dir / "model.json").read_bytes() == meta


def test_the_two_halves_are_in_the_table(run_dir, dmr_files):
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    table, _ = predict_paths(run_dir, dmr_files[:2])
    bundle = load_bundle(run_dir)
    cnn, base = bundle.predict_parts([read_thermal(f).array for f in dmr_files[:2]])
    assert table["prob_cnn"].tolist() == pytest.approx(cnn.tolist(), abs=1e-5)
    assert table["prob_baseline"].tolist() == pytest.approx(base.tolist(), abs=1e-5)
    mean = (table["prob_cnn"] + table["prob_baseline"]) / 2  # what prob_sick is
    assert table["prob_sick"].tolist() == pytest.approx(mean.tolist(), abs=1e-5)


def test_a_call_made_by_one_half_alone_is_noted_in_its_row():
    """As explain and the app say it: the halves on two sides of the threshold, the note says
    whose call it is (a new user found the table silent where the page was not)."""
    from types import SimpleNamespace

    from thermocad.inference.tables import file_row

    bundle = SimpleNamespace(threshold=0.4, meta={"arch": "efficientnet_lite0"})
    split = file_row(Path("T0012.txt"), 0.419, bundle, RECORD, halves=(0.237, 0.602))
    assert split["decision"] == "Sick"
    assert split["note"] == ("the two halves disagree: this call is the baseline's alone (CNN "
                             "0.2370, baseline 0.6020)")  # fmt: skip
    agree = file_row(Path("T0012.txt"), 0.6, bundle, RECORD, note="a room note", halves=(0.5, 0.7))
    assert agree["note"] == "a room note"
    void = file_row(Path("T0012.txt"), 0.419, bundle, RECORD, "no call", True, (0.237, 0.602))
    assert void["note"] == "no call"


def test_a_table_written_meanwhile_by_another_predict_is_not_replaced_without_force(
    tmp_path, monkeypatch
):
    """Two predicts to one --out: the check passes for both, then the second's write is refused
    (it replaced the first's table), unless --force."""
    import thermocad.utils.files as F
    from thermocad.inference.tables import write_predictions
    from thermocad.utils.errors import OutputExistsError

    table = pd.DataFrame({"file": ["T0001.txt"], "patient_id": pd.array([1], dtype="Int64"),
                          "prob_sick": [0.2], "decision": ["Healthy"], "threshold": [0.4],
                          "model": ["m"]})  # fmt: skip
    out = tmp_path / "p.csv"
    monkeypatch.setattr(F, "check_writable", lambda path, force=False: path)  # both passed it
    out.write_text("the other predict's table\n")
    with pytest.raises(OutputExistsError):
        write_predictions(table, [], out)
    assert out.read_text() == "the other predict's table\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    write_predictions(table, [], out, force=True)
    assert pd.read_csv(out)["file"].tolist() == ["T0001.txt"]


def test_a_forced_run_that_cannot_write_all_its_tables_leaves_the_last_runs_whole(
    tmp_path, monkeypatch
):
    """A reviewer: predict --force wrote its table, then its patients' table, and removed stale
    ones last, so a stop in between left this run's table beside the last run's error list.
    Then it removed them all first, and a full disk lost the last run's (a resource review).
    Now this run's are written aside, then moved in: stopped or full, the last run's stay."""
    import errno

    from thermocad.inference import tables

    out = tmp_path / "predictions.csv"
    names = ("predictions.csv", "predictions_patients.csv", "predictions_errors.csv")
    for name in names:
        (tmp_path / name).write_text("file\nold\n")  # an earlier run's three tables
    table = pd.DataFrame({"file": ["a.txt", "b.txt"], "patient_id": [1, 1],
                          "prob_sick": [0.2, 0.4], "decision": "Healthy", "threshold": 0.5,
                          "model": "m", "view": "frontal"})  # fmt: skip
    full = OSError(errno.ENOSPC, "No space left on device")
    write = tables._write_table
    for stop in (KeyboardInterrupt(), full):

        def failing(path, frame, fmt, force, stop=stop):  # the second table cannot be written
            if "patients" in path.name:
                raise stop
            return write(path, frame, fmt, force)

        monkeypatch.setattr(tables, "_write_table", failing)
        with pytest.raises((KeyboardInterrupt, OSError)):
            tables.write_predictions(table, [], out, force=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # nothing aside
        assert all((tmp_path / name).read_text() == "file\nold\n" for name in names)
    monkeypatch.setattr(tables, "_write_table", write)
    tables.write_predictions(table, [], out, force=True)  # whole: the stale error list goes
    assert pd.read_csv(out)["file"].tolist() == ["a.txt", "b.txt"]
    assert not (tmp_path / "predictions_errors.csv").exists()
    assert pd.read_csv(tmp_path / "predictions_patients.csv")["patient_id"].tolist() == [1]


def test_files_without_a_patient_number_are_said_without_a_patients_table(run_dir, dmr_files,
                                                                          tmp_path, capsys):  # fmt: skip
    (tmp_path / "in").mkdir()
    shutil.copy(dmr_files[0], tmp_path / "in" / "front_view.txt")  # no DMR number
    out = tmp_path / "p.csv"
    assert main(["predict", str(run_dir), str(tmp_path / "in"), "--out", str(out)]) == 0
    assert not (tmp_path / "p_patients.csv").exists()
    assert (
        "1 file(s) whose names give no patient number (T0001...) have none"
        in capsys.readouterr().err
    )


def test_a_pipe_given_as_a_file_is_named_so_not_missing(tmp_path):
    # `cat f | thermocad predict RUN /dev/stdin` had said "no such file or folder".
    from thermocad.inference.collect import collect_files

    fifo = tmp_path / "in.txt"
    os.mkfifo(fifo)
    files, errors = collect_files([fifo, tmp_path / "gone.txt"])
    assert not files
    assert [e.error for e in errors] == [
        "not a regular file (a pipe or a device); save it to a file and give that",
        "no such file or folder",
    ]


def test_predict_says_how_many_files_have_a_note():
    # A new user's walkthrough: the sharpness and room notes were only in the table.
    from thermocad.inference.tables import notes_summary

    table = pd.DataFrame({"file": ["a", "b", "c"], "note": [None, "the image is less sharp", None]})
    assert notes_summary(table).startswith("in all, 1 of 3 file(s) have a note in the note column")
    assert notes_summary(table.assign(note=None)) == ""


def test_predict_logs_the_count_of_files_with_a_note(run_dir, capsys):
    # The count is in predict's log, not only in notes_summary (a review: a test of the
    # function alone would pass with the call removed).
    from thermocad.inference.predict import predict_paths

    split = pd.read_csv(run_dir.parent / "data" / "split.csv")  # the smoke run's (helpers.app)
    trained = split.loc[split["split"] == "train", "path"].iloc[0]  # its note says whose
    predict_paths(run_dir, [trained], workers=1)
    assert "in all, 1 of 1 file(s) have a note in the note column" in capsys.readouterr().err


def test_a_womans_files_that_failed_are_said_on_her_row(tmp_path):
    """A clinical reading: of a woman's three files one was unreadable, and her row said two
    files and a call with no word of the third; with one file read and one not, she had no row."""
    from thermocad.inference.tables import write_predictions

    table = pd.DataFrame({
        "file": ["T0005_a.txt", "T0005_b.txt", "T0006_a.txt"],
        "patient_id": pd.array([5, 5, 6], dtype="Int64"), "prob_sick": [0.2, 0.3, 0.9],
        "decision": ["Healthy", "Healthy", "Sick"], "threshold": [0.5] * 3, "model": ["m"] * 3,
    })  # fmt: skip
    errors = [("T0005_c.txt", "line 3: 'abc' is not a number"), ("T0006_b.txt", "empty")]
    written = write_predictions(table, errors, tmp_path / "p.csv")
    out = pd.read_csv(written["patients"]).set_index("patient_id")
    assert (
        out.loc[5, "note"] == "1 file(s) not analysed (the errors table): her call is of the rest"
    )
    assert out.loc[6, "n_files"] == 1 and "not analysed" in out.loc[6, "note"]
    # A woman whose second file failed is a woman of several files: her row says so.
    alone = write_predictions(table.iloc[2:], errors[1:], tmp_path / "q.csv")
    assert "patients" in alone
    # A woman whose files all failed has no row, and makes no table of the others by herself.
    lone = write_predictions(table.iloc[2:], [("T0007_a.txt", "x"), ("T0007_b.txt", "y")],
                             tmp_path / "r.csv")  # fmt: skip
    assert "patients" not in lone
