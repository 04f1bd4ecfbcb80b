"""Evaluation as a function of predictions, and of a model bundle on a split."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation import evaluate as E
from thermocad.utils.errors import ConfigError, OutputExistsError, OutputPathError


def fake_bundle(predict, baseline=None, **fields) -> SimpleNamespace:
    """A stand-in model whose CNN is `predict(arrays, tta)`; with `baseline(arrays)`, it
    averages the two as the default ensemble does."""

    def parts(arrays, tta=None, unit=None):
        return np.asarray(predict(arrays, tta), float), None if baseline is None else baseline(
            arrays
        )

    def average(cnn, base):
        return cnn if base is None else (cnn + base) / 2

    def views(tta=None):
        return 0  # no augmented copies: the default recipe's

    return SimpleNamespace(predict_parts=parts, average=average, views=views,
                           **{"meta": {}, **fields})  # fmt: skip


def _pred() -> pd.DataFrame:
    # 4 patients x 2 images. Patient means: p0 Sick 0.8, p1 Sick 0.4, p2 Healthy 0.3,
    # p3 Healthy 0.6 (batch B holds only the Sick patient p1).
    return pd.DataFrame(
        {
            "path": [f"f{i}.npy" for i in range(8)],
            "patient_id": [0, 0, 1, 1, 2, 2, 3, 3],
            "label": ["Sick"] * 4 + ["Healthy"] * 4,
            "prob": [0.9, 0.7, 0.5, 0.3, 0.2, 0.4, 0.7, 0.5],
            "acquisition_batch": ["A", "A", "B", "B", "A", "A", "A", "A"],
        }
    )


def test_image_and_patient_levels():
    r = E.evaluate_predictions(_pred(), threshold=0.5, n_boot=100)
    # images at >= 0.5: Sick 0.9 0.7 0.5 hit, 0.3 missed -> TP 3 FN 1;
    # Healthy 0.7 0.5 called Sick -> FP 2, TN 2
    assert r["image"]["counts"] == {"tp": 3, "fp": 2, "tn": 2, "fn": 1}
    # patients at >= 0.5: p0 0.8 TP, p1 0.4 FN, p2 0.3 TN, p3 0.6 FP
    assert r["patient"]["counts"] == {"tp": 1, "fp": 1, "tn": 1, "fn": 1}
    assert r["patient"]["n"] == 4 and r["image"]["n_patients"] == 4
    # patient AUC: pairs (0.8 vs 0.3 win, 0.8 vs 0.6 win, 0.4 vs 0.3 win, 0.4 vs 0.6 loss) = 3/4
    assert r["patient"]["roc_auc"] == pytest.approx(0.75)
    assert r["threshold"] == 0.5


def test_subgroups_and_json_clean():
    r = E.evaluate_predictions(_pred(), threshold=0.5, n_boot=50)
    pat = r["subgroups"]["patient"]
    assert pat["flag"] and math.isnan(pat["groups"]["B"]["roc_auc"])
    from thermocad.utils.values import clean_json

    text = json.dumps(clean_json(r), allow_nan=False)  # strict JSON: NaN became null
    assert '"roc_auc": null' in text


def test_headline_and_errors():
    r = E.evaluate_predictions(_pred(), threshold=0.5, n_boot=50)
    assert "sensitivity 0.500" in E.headline(r)
    with pytest.raises(ConfigError):
        E.evaluate_predictions(_pred().iloc[:0], 0.5)
    with pytest.raises(ConfigError):
        E.with_y(_pred().drop(columns="label"))


def test_predict_split_and_plots(tmp_path):
    rng = np.random.default_rng(0)
    pred = _pred()
    for p in pred["path"]:
        np.save(tmp_path / p, rng.normal(33, 1, (16, 20)).astype(np.float32))
    pred["path"] = [str(tmp_path / p) for p in pred["path"]]

    def fake_predict(arrays, tta=False):  # a "model": mean temperature minus 32.5
        return np.clip([a.mean() - 32.5 for a in arrays], 0, 1)

    bundle = fake_bundle(fake_predict, unit="celsius")
    out = E.predict_split(bundle, pred.drop(columns="prob"))
    assert out["y"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0] and out["prob"].between(0, 1).all()
    assert "prob_cnn" not in out  # a CNN alone has no halves to keep
    ensemble = fake_bundle(fake_predict, lambda arrays: np.full(len(arrays), 0.2), unit="celsius")
    halves = E.predict_split(ensemble, pred.drop(columns="prob"))
    assert halves["prob_cnn"].tolist() == out["prob"].tolist()
    assert halves["prob"].tolist() == pytest.approx(((out["prob"] + 0.2) / 2).tolist())
    with pytest.raises(ConfigError, match="trained on intensity"):
        E.predict_split(fake_bundle(fake_predict, unit="intensity"), pred)
    made = E.write_plots(out, 0.5, tmp_path / "plots")
    assert {"confusion", "roc", "reliability", "most_uncertain"} <= set(made)


def test_a_lateral_view_in_a_split_is_said(tmp_path, capsys):
    pred = _pred().drop(columns="prob").iloc[:2]
    names = ["T0001.1.3.S.2013-01-01.00.npy", "T0002.npy"]  # view 3: right 90 degrees
    for name in names:
        np.save(tmp_path / name, np.full((16, 20), 33.0, np.float32))
    pred["path"] = [str(tmp_path / n) for n in names]
    E.predict_split(
        fake_bundle(lambda arrays, tta=False: np.full(len(arrays), 0.4), unit="celsius"), pred
    )
    err = capsys.readouterr().err
    assert "1 file(s) of the split are lateral views by their names (e.g. T0001.1.3" in err


def test_evaluate_run_uses_the_model_threshold(tmp_path, monkeypatch):
    import thermocad.models.bundle

    rng = np.random.default_rng(1)
    pred = _pred().drop(columns="prob")
    for p in pred["path"]:
        np.save(tmp_path / p, rng.normal(33, 1, (16, 20)).astype(np.float32))
    pred["path"] = [str(tmp_path / p) for p in pred["path"]]
    pred["split"] = ["test"] * 6 + ["train"] * 2
    pred.to_csv(tmp_path / "split.csv", index=False)
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({"epoch": [0, 1], "train_loss": [1.0, 0.5]}).to_csv(run / "history.csv")

    def fake_predict(arrays, tta=False):
        return np.full(len(arrays), 0.6 if tta else 0.4)

    bundle = fake_bundle(fake_predict, unit="celsius", threshold=0.5, meta={"arch": "fake"})
    monkeypatch.setattr(thermocad.models.bundle, "load_bundle", lambda run_dir: bundle)
    r = E.evaluate_run(run, tmp_path / "split.csv", on="test", n_boot=20)
    # every P(Sick) is 0.4 < 0.5: 6 test images, 4 Sick missed, 2 Healthy correct
    assert r["image"]["counts"] == {"tp": 0, "fp": 0, "tn": 2, "fn": 4}
    assert r["threshold"] == 0.5 and r["arch"] == "fake" and r["model"] == "fake"
    assert r["lockbox"]["models"] == 1  # the test rows' ledger, beside split.csv
    saved = json.loads((run / "eval_test" / "metrics.json").read_text())
    # which model scored them, run how, and when (a provenance review: nothing said)
    import thermocad

    assert list(saved["scored_by"]) == ["model_sha256", "engine", "thermocad_version", "scored_utc"]
    assert saved["scored_by"]["thermocad_version"].startswith(thermocad.__version__)
    assert saved["image"]["n"] == 6 and (run / "eval_test" / "history.png").exists()
    # What predict warns of (a smoke run, synthetic women, here a model.json without the
    # preprocessing it saw) is said with the figures.
    assert saved["model_warnings"][0].startswith(
        "warning: this model was written before thermocad recorded the prep"
    )
    with pytest.raises(OutputExistsError, match=r"eval_test\S* already exists; use --force"):
        E.evaluate_run(run, tmp_path / "split.csv", on="test")
    r = E.evaluate_run(run, tmp_path / "split.csv", on="test", tta=True, force=True, n_boot=20)
    assert r["image"]["counts"]["tp"] == 4  # TTA passed through to the bundle
    assert r["lockbox"] == {**r["lockbox"], "opening": 2, "models": 2, "new": True}
    assert (tmp_path / "split.test_openings.jsonl").read_text().count("\n") == 2
    with pytest.raises(ConfigError, match="no rows with split == 'valid'") as refused:
        E.evaluate_run(run, tmp_path / "split.csv", on="valid")
    assert "--data" not in str(refused.value)
    # a fit's split.csv (every woman trained it): the test women are new ones, --data's
    fitted = pd.read_csv(tmp_path / "split.csv").assign(split="train")
    with pytest.raises(ConfigError, match=r"\(it has train\); a fit's model trained on all of "
                       "them: score new women with --data"):  # fmt: skip
        E.split_rows(fitted, "test", None)
    # compare's final test gives the threshold its rule chose on every fold, and says so
    r = E.evaluate_run(run, tmp_path / "split.csv", on="test", force=True, n_boot=0,
                       threshold=(0.3, "pooled out-of-fold validation"))  # fmt: skip
    assert r["threshold"] == 0.3 and r["image"]["counts"]["tp"] == 4
    assert r["threshold_source"] == "pooled out-of-fold validation"
    # A forced rerun that dies after loading the model leaves no earlier metrics beside its plots.
    monkeypatch.setattr(
        E, "predict_split", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        E.evaluate_run(run, tmp_path / "split.csv", on="test", force=True, n_boot=0)
    assert not (run / "eval_test" / "metrics.json").exists()
    assert not (run / "eval_test" / "predictions.csv").exists()
    assert not (run / "eval_test" / "roc.png").exists()  # nor its earlier figures


def test_evaluate_split_replaces_no_file_of_the_users_and_writes_not_among_the_thermograms(
    tmp_path, monkeypatch
):
    import thermocad.models.bundle

    rng = np.random.default_rng(1)
    pred = _pred().drop(columns="prob").assign(split="valid")
    data = tmp_path / "data"
    data.mkdir()
    for p in pred["path"]:
        np.save(data / p, rng.normal(33, 1, (16, 20)).astype(np.float32))
    pred["path"] = [str(data / p) for p in pred["path"]]
    pred.to_csv(tmp_path / "split.csv", index=False)
    bundle = fake_bundle(lambda arrays, tta=False: np.full(len(arrays), 0.4), unit="celsius",
                         threshold=0.5, meta={"arch": "fake"})  # fmt: skip
    monkeypatch.setattr(thermocad.models.bundle, "load_bundle", lambda run_dir: bundle)
    (tmp_path / "run").mkdir()
    mine = tmp_path / "mine"
    mine.mkdir()
    for name, text in (("predictions.csv", "precious"), ("gallery_fp.png", "mine too")):
        (mine / name).write_text(text)
        with pytest.raises(OutputExistsError, match=f"{name} already exists; use --force"):
            E.evaluate_run(tmp_path / "run", tmp_path / "split.csv", on="valid", out_dir=mine)
        assert (mine / name).read_text() == text
        (mine / name).unlink()
    for out, said in ((data, "is a folder of the thermograms scored"),
                      (data / "eval", "is inside .*data, a folder of the thermograms scored"),
                      (tmp_path, "holds .*data, a folder of the thermograms scored")):  # fmt: skip
        with pytest.raises(OutputPathError, match=said):
            E.evaluate_run(tmp_path / "run", tmp_path / "split.csv", on="valid", out_dir=out)
    assert sorted(p.suffix for p in data.iterdir()) == [".npy"] * len(pred)
    # The default, RUN/eval_valid, is the run folder's, wherever the user keeps the run.
    (data / "run").mkdir()
    E.evaluate_run(data / "run", tmp_path / "split.csv", on="valid", n_boot=0)
    assert (data / "run" / "eval_valid" / "metrics.json").is_file()


def test_women_who_trained_the_run_are_refused_as_held_out(tmp_path, monkeypatch):
    import thermocad.models.bundle

    pred = _pred().drop(columns="prob")
    for p in pred["path"]:
        np.save(tmp_path / p, np.full((16, 20), 33.0, np.float32))
    pred["path"] = [str(tmp_path / p) for p in pred["path"]]
    run = tmp_path / "run"
    run.mkdir()
    # train's record: p0 and p1 trained the model, p2 chose its threshold, p3 is new to it.
    pd.DataFrame({"patient_id": [0, 1, 2], "role": ["train", "train", "valid"]}).to_csv(
        run / "trained_on.csv", index=False
    )
    bundle = fake_bundle(lambda arrays, tta=False: np.full(len(arrays), 0.4), unit="celsius",
                         threshold=0.5, meta={"arch": "fake"})  # fmt: skip
    monkeypatch.setattr(thermocad.models.bundle, "load_bundle", lambda run_dir: bundle)
    # Another split of the same women, whose test rows include two who trained the model.
    pred.assign(split=["test"] * 4 + ["valid"] * 2 + ["test"] * 2).to_csv(
        tmp_path / "other.csv", index=False
    )
    with pytest.raises(
        ConfigError, match=r"2 of these patients trained the model .*patient 0, 1"
    ) as err:
        E.evaluate_run(run, tmp_path / "other.csv", on="test", n_boot=0)
    # A split's women are numbered as the training women: --numbered-apart is no way out.
    assert "--numbered-apart" not in str(err.value) and "give the split the model" in str(err.value)
    # Validation rows: the threshold's own women are allowed (with the note), not the trainers.
    assert E.evaluate_run(run, tmp_path / "other.csv", on="valid", n_boot=0)["image"]["n"] == 2
    pred.assign(split=["valid"] * 2 + ["test"] * 6).to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(ConfigError, match="1 of these patients trained the model"):
        E.evaluate_run(run, tmp_path / "mixed.csv", on="valid", n_boot=0, force=True)
    # Every valid woman trained it (a model made on all its women): no held-out rows, said so.
    pred.assign(split=["valid"] * 4 + ["test"] * 4).to_csv(tmp_path / "all.csv", index=False)
    with pytest.raises(ConfigError, match="every one of them: .* score it on new women"):
        E.evaluate_run(run, tmp_path / "all.csv", on="valid", n_boot=0, force=True)
    assert not (tmp_path / "other.test_openings.jsonl").exists()  # refused: nothing scored
    # The model's own training rows: scored, and said to be in-sample.
    pred.assign(split=["train"] * 4 + ["test"] * 4).to_csv(tmp_path / "own.csv", index=False)
    assert E.evaluate_run(run, tmp_path / "own.csv", on="train", n_boot=0)["image"]["n"] == 4
    # Valid or train rows of a woman the record does not name (p3): a test in disguise, which
    # was scored uncounted and called the threshold's women.
    for on in ("valid", "train"):
        pred.assign(split=[on] * 2 + ["test"] * 4 + [on] * 2).to_csv(tmp_path / "new.csv",
                                                                     index=False)  # fmt: skip
        with pytest.raises(ConfigError, match=rf"1 of these {on} rows are women .* never saw "
                           r"\(patient 3;"):  # fmt: skip
            E.evaluate_run(run, tmp_path / "new.csv", on=on, n_boot=0, force=True)
    # The study's image-level protocol puts a woman on two sides by design: warned, not refused.
    pred.assign(split=["test"] * 4 + ["train"] * 4, split_unit="image").to_csv(
        tmp_path / "images.csv", index=False
    )
    r = E.evaluate_run(run, tmp_path / "images.csv", on="test", n_boot=0, force=True)
    assert r["image"]["n"] == 4


def test_evaluate_run_missing_split_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.csv: split file not found"):
        E.evaluate_run(tmp_path / "run", tmp_path / "nope.csv")


def test_evaluate_names_a_bad_split_before_an_existing_output(tmp_path):
    from thermocad.cli import main

    run = tmp_path / "run"
    (run / "eval_test").mkdir(parents=True)
    (run / "eval_test" / "metrics.json").write_text("{}")  # an earlier evaluation's
    (tmp_path / "bad").mkdir()
    wrong = tmp_path / "bad" / "wrong.csv"
    _pred().drop(columns="prob").to_csv(wrong, index=False)  # a cohort table: no split column
    with pytest.raises(ConfigError, match=r"wrong\.csv: .*split"):
        E.evaluate_run(run, wrong)
    assert main(["evaluate", str(run), "--split", str(wrong)]) == 2


def test_unit_mismatch_names_a_file(tmp_path):
    np.save(tmp_path / "a.npy", np.full((16, 20), 33.0, np.float32))
    split = pd.DataFrame({"path": [str(tmp_path / "a.npy")], "patient_id": [1], "label": ["Sick"]})
    bundle = fake_bundle(lambda arrays, tta=False: [0.5], unit="intensity")
    with pytest.raises(ConfigError, match=r"e\.g\. .*a\.npy is celsius"):
        E.predict_split(bundle, split)


def test_the_evaluate_command_ends_stdout_with_its_folder(run_dir, tmp_path, capsys):
    """Its headline, then what it wrote (stdout's last line, as every command's)."""
    from thermocad.cli import main

    split = run_dir.parent / "data" / "split.csv"
    out = tmp_path / "ev"
    ledger = tmp_path / "book"  # the session's shared split keeps no count of this test
    assert main(["evaluate", str(run_dir), "--split", str(split), "--out", str(out),
                 "--ledger", str(ledger)]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"evaluation: {out}" and (out / "metrics.json").is_file()
    assert "out_dir" not in json.loads((out / "metrics.json").read_text())  # the caller's only
