"""A model in the ledgers of test openings is what it is (its weights' digest, baseline,
transform, TTA views and threshold), not the set of files it happened to be scored on."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.ledger import predictions, split_ledger, women_files
from thermocad.evaluation import lockbox as L
from thermocad.evaluation.model_identity import model_identity

PATIENTS = (1, 1, 2, 3, 4)  # woman 1 has two files
META = {"weights_sha256": "a" * 64, "transform": {"size": 64}, "augmentation": {"rotate": 10},
        "config": {"tta": 2}}  # fmt: skip
PROBS = [0.1, 0.2, 0.3, 0.4, 0.6]


def _data(folder: Path) -> list[Path]:
    return women_files(folder, PATIENTS)


def _pred(paths, probs=PROBS, patients=PATIENTS) -> pd.DataFrame:
    return predictions(paths, probs, patients)


def _other_files(paths: list[Path], folder: Path) -> pd.DataFrame:
    """The same women but one, one of woman 1's files left out, woman 2's file twice (once
    under another name), scored a little otherwise (another runtime's last decimals)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "IR_0002_again.txt"
    shutil.copy(paths[2], copy)
    rows = [paths[0], paths[2], copy, paths[3]]
    return _pred(rows, [0.1003, 0.2997, 0.2997, 0.4002], (1, 2, 2, 3))


def test_the_same_model_on_other_files_of_the_same_women_is_one_model(tmp_path):
    paths, me = _data(tmp_path / "data"), model_identity(META, 2)
    ledger = split_ledger(tmp_path / "study")
    first = L.record_opening(ledger, _pred(paths), "run", 0.8, 0.5, identity=me)
    assert (first["opening"], first["models"], first["new"]) == (1, 1, True)
    other = _other_files(paths, tmp_path / "more")
    again = L.record_opening(ledger, other, "run (onnx)", threshold=0.5, identity=me)
    assert (again["opening"], again["models"], again["new"]) == (1, 1, False)
    # under another split file, the user ledger knows it too
    elsewhere = L.record_opening(split_ledger(tmp_path / "copy"), other, "run", threshold=0.5,
                                 identity=me)  # fmt: skip
    assert (elsewhere["models"], elsewhere["new"]) == (1, False) and "user_ledger" in elsewhere
    assert L.refreshed(first)["models"] == 1


def test_tta_another_threshold_or_other_weights_are_other_models(tmp_path):
    # The same P(Sick) each time: what the model is decides, not its scores.
    paths, ledger = _data(tmp_path / "data"), split_ledger(tmp_path / "study")
    pred = _pred(paths)
    L.record_opening(ledger, pred, "run", threshold=0.5, identity=model_identity(META, 2))
    off = L.record_opening(ledger, pred, "run, no tta", threshold=0.5,
                           identity=model_identity(META, 0))  # fmt: skip
    assert (off["opening"], off["models"], off["new"]) == (2, 2, True)
    lower = L.record_opening(ledger, pred, "run", threshold=0.3, identity=model_identity(META, 2))
    assert (lower["opening"], lower["models"]) == (3, 3)
    retrained = {**META, "weights_sha256": "b" * 64}
    again = L.record_opening(ledger, pred, "retrained", threshold=0.5,
                             identity=model_identity(retrained, 2))  # fmt: skip
    assert (again["opening"], again["models"], again["new"]) == (4, 4, True)
    averaged = model_identity({**META, "baseline": {"columns": ["x"], "coef": [1.0]}}, 2)
    assert averaged not in {model_identity(META, 2), None}
    # without TTA views its augmentation plays no part; without a weights digest, no identity
    assert model_identity({**META, "augmentation": {}}, 0) == model_identity(META, 0)
    assert model_identity({**META, "augmentation": {}}, 2) != model_identity(META, 2)
    assert model_identity({"transform": {"size": 64}}, 0) is None


def test_a_line_of_the_previous_version_is_the_same_model(tmp_path):
    # Written by the code before identities (a model known by its scores) for this model on
    # these files (none readable: the ledger beside the split alone): read as the model it was.
    ledger, me = split_ledger(tmp_path / "study"), model_identity(META, 2)
    pred = _pred([f"/nowhere/T{i}.txt" for i in range(5)])
    old = {"time": "2026-01-01T00:00:00+00:00", "test": L.patients_fingerprint(pred),
           "model": L.model_fingerprint(pred, 0.5), "source": "old", "n_patients": 4,
           "patients": ["1", "2", "3", "4"], "scores": L.model_fingerprint(pred)}  # fmt: skip
    ledger.write_text(json.dumps(old) + "\n")
    again = L.record_opening(ledger, pred, "run", threshold=0.5, identity=me)
    assert (again["opening"], again["models"], again["new"]) == (1, 1, False)
    assert "user_ledger" not in again
    other = L.record_opening(ledger, pred.assign(prob=0.9), "new", threshold=0.5,
                             identity=model_identity({**META, "weights_sha256": "c" * 64}, 2))  # fmt: skip
    assert (other["opening"], other["models"]) == (2, 2)
    # and one written before ledgers named their women (a scores-only print)
    oldest = {k: old[k] for k in ("time", "test", "source", "n_patients")}
    older = split_ledger(tmp_path / "older")
    older.write_text(json.dumps({**oldest, "model": L.model_fingerprint(pred)}) + "\n")
    known = L.record_opening(older, pred, "run", threshold=0.5, identity=me)
    assert (known["models"], known["new"]) == (1, False)


def test_a_user_ledger_line_of_the_previous_version_is_the_same_model(tmp_path):
    # The previous version's lines for this model on these files, under another split file:
    # the user ledger's print of it by file digests.
    paths = _data(tmp_path / "data")
    pred, me = _pred(paths), model_identity(META, 2)
    first = L.record_opening(split_ledger(tmp_path / "a"), pred, "old run", threshold=0.5)
    assert "score_model" not in L.read_ledger(split_ledger(tmp_path / "a"))[0]  # as it was written
    there = L.record_opening(split_ledger(tmp_path / "b"), pred, "run", threshold=0.5, identity=me)
    assert (there["opening"], there["models"], there["new"]) == (1, 1, False)
    assert L.refreshed(first)["models"] == 1 and "user_ledger" in there
    # the same model on other files of these women, since: the same one still
    fewer = _other_files(paths, tmp_path / "more")
    later = L.record_opening(split_ledger(tmp_path / "c"), fewer, "run", threshold=0.5, identity=me)
    assert (later["models"], later["new"]) == (1, False) and L.refreshed(first)["models"] == 1
    other = L.record_opening(split_ledger(tmp_path / "d"), fewer, "retrained", threshold=0.5,
                             identity=model_identity({**META, "weights_sha256": "c" * 64}, 2))  # fmt: skip
    assert (other["opening"], other["models"]) == (2, 2) and L.refreshed(first)["models"] == 2


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A smoke run trained with 2 TTA views, and its ONNX export."""
    import thermocad
    from tests.helpers.training import make_split
    from thermocad.inference.export import export_onnx

    root = tmp_path_factory.mktemp("identity")
    table = make_split(root, {"train": 4, "valid": 2, "test": 2})
    cfg = thermocad.TrainConfig.smoke(cycles=0, frozen_cycles=0, tta=2)
    run = thermocad.train(table, root / "run", cfg)
    return root, Path(run), export_onnx(run, root / "model.onnx")


def test_a_run_and_its_onnx_export_are_one_model_on_other_files(exported, tmp_path):
    from thermocad.evaluation.evaluate import evaluate_run
    from thermocad.inference.loading import load_model
    from thermocad.models.bundle import DIGEST

    root, run, onnx = exported
    bundle, model = load_model(run, "cpu"), load_model(onnx, "cpu")
    assert type(bundle).__name__ == "ModelBundle" and type(model).__name__ == "OnnxModel"
    assert bundle.meta[DIGEST] == model.meta[DIGEST] and len(bundle.meta[DIGEST]) == 64
    assert bundle.views() == model.views() == 2
    assert model_identity(bundle.meta, bundle.views()) == model_identity(model.meta, 2)
    split = pd.read_csv(root / "split.csv")
    test = split[split["split"] == "test"]
    # The ONNX file on fewer of the same women, one of their files twice under another name.
    (tmp_path / "b").mkdir()
    copy = tmp_path / "b" / "again.npy"  # apart from the --out folders beside b
    np.save(copy, np.load(test["path"].iloc[1]))
    fewer = pd.concat([test.iloc[1:], test.iloc[[1]].assign(path=str(copy))])
    fewer.to_csv(tmp_path / "b" / "split.csv", index=False)
    book = L.ledger_path(root / "split.csv")
    first = evaluate_run(run, root / "split.csv", out_dir=tmp_path / "e1", n_boot=0)
    assert (first["lockbox"]["models"], first["lockbox"]["new"]) == (1, True)
    onnx_run = evaluate_run(onnx, tmp_path / "b" / "split.csv", out_dir=tmp_path / "e2",
                            n_boot=0, ledger=book)  # fmt: skip
    assert (onnx_run["lockbox"]["models"], onnx_run["lockbox"]["new"]) == (1, False)
    no_tta = evaluate_run(run, root / "split.csv", tta=False, out_dir=tmp_path / "e3", n_boot=0)
    assert (no_tta["lockbox"]["opening"], no_tta["lockbox"]["models"]) == (2, 2)
    entries = L.read_ledger(book)
    assert len({e["model"] for e in entries}) == 2 and all("score_model" in e for e in entries)
