"""The public API at the top level: each function on tiny synthetic data, and docs/api.md's example."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import thermocad
from tests.conftest import REPO
from tests.helpers.training import make_split

API = ("read_thermal", "prepare", "split", "train", "evaluate", "predict", "load_model",
       "TrainConfig", "study")  # fmt: skip


def test_dir_lists_the_api():
    assert set(API) <= set(dir(thermocad))
    assert all(callable(getattr(thermocad, name)) for name in API)


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    from thermocad.synth.cohort import generate_cohort

    out = tmp_path_factory.mktemp("api")
    labels = generate_cohort(out / "data", n_patients=8, seed=2, height=64, width=80)
    return out / "data", labels


def test_prepare_returns_the_cohort_and_writes_only_when_asked(cohort_dir, tmp_path):
    data, labels = cohort_dir
    cohort = thermocad.prepare(data, labels)
    assert len(cohort) == 8 and set(cohort["label"]) == {"Healthy", "Sick"}
    assert not list(tmp_path.iterdir())
    # The labels as a DataFrame, and cohort.csv written when out_dir is given.
    written = thermocad.prepare(data, pd.read_csv(labels), tmp_path / "c")
    assert (tmp_path / "c" / "cohort.csv").exists()
    assert written["path"].tolist() == cohort["path"].tolist()
    # Missing values read the same in memory as from cohort.csv: NaN, never "".
    for col in ("excluded_reason", "acquisition_date"):
        assert cohort[col].isna().tolist() == written[col].isna().tolist()
    assert cohort["excluded_reason"].isna().all()
    # And of the same kind: an empty text column read back is text, not floats (a notebook's
    # `.str.contains` worked on one and failed on the other).
    for col in ("excluded_reason", "acquired"):
        assert cohort[col].dtype == written[col].dtype, col
    assert not written["excluded_reason"].str.contains("blurred").any()


def test_split_takes_a_dataframe_or_a_csv(cohort_dir, tmp_path):
    data, labels = cohort_dir
    cohort = thermocad.prepare(data, labels, tmp_path)
    a = thermocad.split(cohort, valid=0.25, test=0.25, seed=0)
    b = thermocad.split(tmp_path / "cohort.csv", valid=0.25, test=0.25, seed=0)
    assert a["split"].tolist() == b["split"].tolist() and set(a["split"]) == {
        "train",
        "valid",
        "test",
    }
    # Excluded rows are not split.
    excluded = cohort.assign(excluded_reason=["blurred"] + [""] * (len(cohort) - 1))
    assert len(thermocad.split(excluded, valid=0.25, test=0.25)) == len(cohort) - 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("api_train")
    table = pd.read_csv(make_split(root, {"train": 4, "valid": 2, "test": 2}))
    cfg = thermocad.TrainConfig.smoke(cycles=0, frozen_cycles=0, tta=0)
    return table, thermocad.train(table, root / "run", cfg)


def test_train_returns_the_run_directory(trained):
    table, run = trained
    assert isinstance(run, Path) and (run / "model.json").exists()
    assert pd.read_csv(run / "split.csv")["path"].tolist() == table["path"].tolist()
    model = thermocad.load_model(run)
    assert 0 <= model.threshold <= 1


def test_evaluate_and_predict_take_a_run_or_a_model(trained, tmp_path, capsys):
    table, run = trained
    result = thermocad.evaluate(run, table, on="test", n_boot=50)
    assert result["image"]["n"] == 4 and len(result["predictions"]) == 4
    # A test split given as a DataFrame is counted all the same (it had been recorded nowhere).
    book = Path(os.environ["THERMOCAD_LEDGER_DIR"]) / "dataframe_splits.test_openings.jsonl"
    assert f"is counted in {book}" in capsys.readouterr().err
    assert len(book.read_text().splitlines()) >= 1
    same = thermocad.evaluate(thermocad.load_model(run), table, on="test", n_boot=50)
    np.testing.assert_allclose(same["predictions"]["prob"], result["predictions"]["prob"])
    files = table.loc[table["split"] == "test", "path"].tolist()
    pred = thermocad.predict(run, files)
    assert pred["file"].tolist() == sorted(files)
    np.testing.assert_allclose(pred["prob_sick"], result["predictions"]["prob"], atol=1e-6)
    (tmp_path / "bad.txt").write_text("not a matrix\n")
    # A bad file's own type, with every failing file (an embedding review: a service could not
    # tell a bad upload from its own mistakes)
    with pytest.raises(thermocad.ThermalFormatError, match="^cannot predict .*bad.txt") as info:
        thermocad.predict(run, [*files, tmp_path / "bad.txt"])
    assert [Path(f).name for f, _ in info.value.failures] == ["bad.txt"]
    with pytest.raises(thermocad.ConfigError, match="no rows with split == 'holdout'"):
        thermocad.evaluate(run, table, on="holdout")
    with pytest.raises(thermocad.ConfigError, match="^predict: no files given"):
        thermocad.predict(run, [])
    image = thermocad.read_thermal(files[0]).array
    with pytest.raises(thermocad.ConfigError, match=r"got one \d+ x \d+ array: pass \[array\]"):
        thermocad.load_model(run).predict(image)
    # Arrays are refused as a file's frame would be: named by their place, never a score or an
    # IndexError (an embedding review)
    bad = {"expected a 2-D array": np.zeros((0, 0)), "is not finite": np.full(image.shape, np.inf),
           "not an array of numbers": "abc"}  # fmt: skip
    for says, array in bad.items():
        for cnn_only in (False, True):
            with pytest.raises(thermocad.ThermalFormatError, match=f"^array 1: .*{says}"):
                thermocad.load_model(run).predict([image, array], cnn_only=cnn_only)
    own = pred.set_index("file").loc[str(files[0]), "prob_sick"]
    assert thermocad.load_model(run).predict([image])[0] == pytest.approx(own, abs=1e-6)
    # An image's grey levels given to this °C model without their unit are refused, not scored
    # as degrees (a parity review: P 0.50093 above the threshold, with no word); with their
    # unit they are scored, as predict's --allow-unit-mismatch scores them (no call).
    grey = np.uint8((image - image.min()) / (image.max() - image.min()) * 255)
    for cnn_only in (False, True):
        with pytest.raises(thermocad.ThermalFormatError, match=r'^array 1: its values reach 2\d\d '
                           r'.*unit="intensity"'):  # fmt: skip
            thermocad.load_model(run).predict([image, grey], cnn_only=cnn_only)
    assert np.isfinite(thermocad.load_model(run).predict([grey], unit="intensity")).all()


def test_an_exported_model_loads_and_evaluates_as_a_run(trained, tmp_path):
    from thermocad.inference.export import export_onnx

    table, run = trained
    onnx = export_onnx(run, tmp_path / "model.onnx")
    model = thermocad.load_model(onnx)  # as `thermocad evaluate model.onnx` loads it
    assert model.threshold == thermocad.load_model(run).threshold
    result = thermocad.evaluate(onnx, table, on="test", n_boot=0)
    torch_result = thermocad.evaluate(run, table, on="test", n_boot=0)
    np.testing.assert_allclose(result["predictions"]["prob"], torch_result["predictions"]["prob"],
                               atol=1e-4)  # fmt: skip
    swapped = table.assign(split=table["split"].replace({"train": "test", "test": "train"}))
    with pytest.raises(thermocad.ConfigError, match="trained the model"):
        thermocad.evaluate(onnx, swapped, n_boot=0)  # its metadata says who trained it


def test_a_loaded_model_keeps_the_safeguards_of_its_folder(trained, tmp_path, capsys):
    """A model loaded from a run folder is checked against the women that folder names, as the
    folder itself would be (docs/api.md's example passes a loaded model)."""
    table, run = trained
    model = thermocad.load_model(run)
    swapped = table.assign(split=table["split"].replace({"train": "test", "test": "train"}))
    with pytest.raises(thermocad.ConfigError, match="trained the model"):
        thermocad.evaluate(model, swapped, n_boot=0)
    tuned = table.assign(split=table["split"].replace({"train": "valid", "valid": "train"}))
    with pytest.raises(thermocad.ConfigError, match="trained the model"):
        thermocad.evaluate(model, tuned, on="valid", n_boot=0)
    thermocad.evaluate(model, table, on="train", n_boot=0)
    assert "these are the model's training women" in capsys.readouterr().err
    table.to_csv(tmp_path / "split.csv", index=False)
    thermocad.evaluate(model, tmp_path / "split.csv", n_boot=0)
    (entry,) = pd.read_json(tmp_path / "split.test_openings.jsonl", lines=True).to_dict("records")
    assert entry["source"] == str(run)  # where it came from, not "a loaded model"


def test_a_table_without_a_column_is_named_as_given(trained, tmp_path):
    table, run = trained
    with pytest.raises(
        thermocad.ConfigError, match=r"^the split table: missing columns \['path'\]"
    ):
        thermocad.evaluate(run, table.drop(columns=["path"]), on="valid", n_boot=0)
    with pytest.raises(
        thermocad.ConfigError, match=r"^the split table: .*no fold 5|^the split table: has no fold"
    ):
        thermocad.train(table, tmp_path / "run", thermocad.TrainConfig.smoke(), fold=5)
    assert not (tmp_path / "run").exists()


def test_train_takes_a_runs_own_config_as_a_dict(trained, tmp_path):
    import json

    _, run = trained
    saved = json.loads((run / "config.json").read_text())
    again = thermocad.train(trained[0], tmp_path / "again", saved)
    assert json.loads((again / "config.json").read_text()) == saved
    with pytest.raises(thermocad.ConfigError, match="config: 'smoke' is not a TrainConfig"):
        thermocad.train(trained[0], tmp_path / "x", "smoke")
    assert not (tmp_path / "x").exists()


def test_evaluate_keeps_the_command_lines_safeguards(trained, tmp_path, capsys):
    table, run = trained
    table.to_csv(tmp_path / "split.csv", index=False)  # a split file: its test scoring is logged
    capsys.readouterr()
    result = thermocad.evaluate(run, tmp_path / "split.csv", n_boot=0)
    assert result["lockbox"]["models"] == 1 and (tmp_path / "split.test_openings.jsonl").exists()
    assert "is a smoke run" in capsys.readouterr().err  # the model's warnings, as the CLI's
    # Women the run trained on, called "test" by another split: refused, as by the CLI.
    swapped = table.assign(split=table["split"].replace({"train": "test", "test": "train"}))
    with pytest.raises(thermocad.ConfigError, match="trained the model"):
        thermocad.evaluate(run, swapped, n_boot=0)
    # As `thermocad evaluate`: a misspelt subgroup is named, and validation women are flagged.
    with pytest.raises(thermocad.ConfigError, match="no column 'bach' for the subgroup"):
        thermocad.evaluate(run, table, subgroup="bach", n_boot=0)
    thermocad.evaluate(run, table, on="valid", n_boot=0)
    assert "threshold was chosen on these validation women" in capsys.readouterr().err


@pytest.mark.parametrize(("call", "said"), [
    (lambda d, c, t, r: thermocad.split(c, folds=2.5), r"--folds \(folds in Python\) must be a whole"),
    (lambda d, c, t, r: thermocad.split(c, valid="0.2"), r"--valid \(valid in Python\) must be a fraction"),
    (lambda d, c, t, r: thermocad.split(c, seed="a"), r"--seed \(seed in Python\) must be a whole"),
    (lambda d, c, t, r: thermocad.prepare(*d, workers=0), r"--workers \(workers in Python\) must be"),
    (lambda d, c, t, r: thermocad.prepare(*d, sharpness_threshold="high"), r"--sharpness-threshold "),
    (lambda d, c, t, r: thermocad.evaluate(r, t, n_boot=2.5), r"^n_boot must be a whole number"),
    (lambda d, c, t, r: thermocad.evaluate(r, t, n_boot=-1), r"^n_boot must be a whole number"),
    (lambda d, c, t, r: thermocad.evaluate(r, t, tta="yes"), r"^--tta/--no-tta \(tta in Python\)"),
    (lambda d, c, t, r: thermocad.predict(r, t["path"], tta=3), r"^--tta/--no-tta \(tta in Python\)"),
    # Yes/no keywords: a string "False" is true to Python, and had replaced a cohort.csv.
    (lambda d, c, t, r: thermocad.prepare(*d, out_dir=r, force="False"), r"^--force \(force in Python\) must be True or False, got 'False'"),
    (lambda d, c, t, r: thermocad.prepare(*d, allow_mixed_shapes="no"), r"^--allow-mixed-shapes \("),
    (lambda d, c, t, r: thermocad.split(c, counts="3,2,2"), r"^--counts \(counts in Python\) must be 3 whole numbers, .* got '3,2,2'"),
    (lambda d, c, t, r: thermocad.split(c, counts=(3, 2.5, 2)), r"^--counts \(counts in Python\) must be 3 whole"),
    (lambda d, c, t, r: thermocad.split(c, balance="yes"), r"^--balance \(balance in Python\) must be True or False"),
    (lambda d, c, t, r: thermocad.train(t, r, force="no"), r"^--force \(force in Python\) must be True or False"),
    (lambda d, c, t, r: thermocad.train(t, r, fold="all", threshold="0.5"), r"^--threshold must be a probability in 0..1, got '0.5'$"),
    (lambda d, c, t, r: thermocad.predict(r, t["path"], allow_unit_mismatch="no"), r"^--allow-unit-mismatch \("),
    (lambda d, c, t, r: thermocad.study(*d, r, force=1), r"^--force \(force in Python\) must be True or False"),
    (lambda d, c, t, r: thermocad.read_thermal(t["path"][0], cache="no"), r"^cache \(in Python\) must be True or False"),
])  # fmt: skip
def test_an_options_value_of_the_wrong_kind_is_named(cohort_dir, trained, call, said):
    """Python callers get the CLI's one-line refusal, naming the option both ways, not a
    TypeError from deep inside numpy or scikit-learn, nor a value silently taken."""
    table, run = trained
    cohort = thermocad.prepare(*cohort_dir)
    with pytest.raises(thermocad.ConfigError, match=said):
        call(cohort_dir, cohort, table, run)


@pytest.mark.parametrize(("call", "said"), [
    (lambda r: thermocad.prepare(3, "labels.csv"), r"^data_dir must be a path \(str or pathlib.Path\), got 3$"),
    (lambda r: thermocad.prepare(".", ["a.csv"]), r"^labels must be a path \(str or pathlib.Path\) or a DataFrame, got \['a.csv'\]$"),
    (lambda r: thermocad.prepare(".", "l.csv", out_dir=1), r"^out_dir must be .* or None, got 1$"),
    (lambda r: thermocad.split(5), r"^cohort must be a path .* or a DataFrame, got 5$"),
    (lambda r: thermocad.split(pd.Series([1])), r"^cohort must be .*, got a Series$"),
    (lambda r: thermocad.train(["a"], "out"), r"^split_table must be"),
    (lambda r: thermocad.load_model(3), r"^model must be a path \(str or pathlib.Path\), got 3$"),
    (lambda r: thermocad.evaluate(3, "split.csv"), r"^model must be a path .* or a loaded model, got 3$"),
    (lambda r: thermocad.evaluate(r, "split.csv", ledger=2), r"^ledger must be"),
    (lambda r: thermocad.predict(r, 3), r"^files must be a path or a list of paths, got 3$"),
    (lambda r: thermocad.predict(r, ["a.txt", 3]), r"^each of files must be a path"),
    (lambda r: thermocad.read_thermal(3), r"^path must be a path"),
    (lambda r: thermocad.study(1, "l.csv", "out"), r"^data_dir must be a path"),
    (lambda r: thermocad.study(".", 3, "out"), r"^study: labels must be a CSV file's path \(str or pathlib.Path\), got 3$"),
    (lambda r: thermocad.evaluate_external(3, ".", "l.csv"), r"^run_dir must be a path"),
])  # fmt: skip
def test_a_path_of_the_wrong_type_is_named(trained, call, said, tmp_path, monkeypatch):
    """A notebook's slip (an int, a list, a Series where a path goes) is refused by its keyword
    before anything is read or written, not met as a TypeError deep inside."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(thermocad.ThermocadError, match=said):
        call(trained[1])
    assert not list(tmp_path.iterdir())


def test_commands_that_keep_the_labels_files_name_refuse_a_dataframe(cohort_dir, trained, tmp_path):
    from thermocad.fit import fit

    data, labels = cohort_dir
    table = pd.read_csv(labels)
    for call in (lambda: thermocad.study(data, table, tmp_path / "s", archs=[]),
                 lambda: thermocad.evaluate_external(trained[1], data, table, tmp_path / "e"),
                 lambda: fit(data, table, tmp_path / "f")):  # fmt: skip
        with pytest.raises(thermocad.ThermocadError, match=r": labels must be a CSV file's path, "
                           r"not a DataFrame \(.*\): save it with \.to_csv"):  # fmt: skip
            call()
    assert not list(tmp_path.iterdir())


def test_study_returns_the_report(cohort_dir, tmp_path):
    data, labels = cohort_dir
    report = thermocad.study(data, labels, tmp_path / "study", archs=[], folds=2, test=0.25)
    assert report == tmp_path / "study" / "report.html" and report.exists()
    assert not (tmp_path / "study" / "INCOMPLETE").exists()
    # A rerun interrupted before its report leaves no report that looks like its own.
    from thermocad.evaluation import compare as compare_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compare_module, "compare", interrupted)
        with pytest.raises(KeyboardInterrupt):
            thermocad.study(data, labels, tmp_path / "study", archs=[], folds=2, test=0.25,
                            force=True)  # fmt: skip
    assert not report.exists()
    from thermocad.pipeline import report_study

    with pytest.raises(thermocad.ConfigError, match=r"the study did not finish; run the same "
                       r"`thermocad study \.\.\.` with --resume to continue it"):  # fmt: skip
        report_study(tmp_path / "study")  # nor is one made from what it left (nor --force said)
    from thermocad.utils import lock

    with pytest.MonkeyPatch.context() as mp:  # while it runs: wait, not redo
        mp.setattr(lock, "running_writer", lambda folder: "pid 7, since today: thermocad study")
        with pytest.raises(thermocad.ConfigError, match=r"did not finish; it is running now "
                           r"\(pid 7, since today: thermocad study\): wait for it to finish"):  # fmt: skip
            report_study(tmp_path / "study")


@pytest.mark.slow
def test_the_example_in_docs_api_runs(tmp_path, monkeypatch):
    text = (REPO / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # and again, as a notebook cell run twice
        exec(compile(blocks[0], "docs/api.md", "exec"), {"__name__": "__main__"})  # noqa: S102
    assert (tmp_path / "run" / "model.json").exists() and os.path.isdir(tmp_path / "data")


def test_notebook_conveniences(trained, tmp_path):
    _, run = trained
    model = thermocad.load_model(run)
    assert repr(model).startswith(f"ModelBundle({model.meta['arch']}") and len(repr(model)) < 200
    from thermocad.inference.export import export_onnx

    onnx = thermocad.load_model(export_onnx(run, tmp_path / "m.onnx"))
    assert repr(onnx) == repr(model).replace("ModelBundle", "OnnxModel", 1)
    image = thermocad.read_thermal(pd.read_csv(run / "split.csv")["path"][0])
    assert re.fullmatch(r"Thermogram\(\S+: \d+ x \d+ celsius, [\d.]+\.\.[\d.]+, \w+\)", repr(image))
    assert issubclass(thermocad.OutputExistsError, thermocad.ThermocadError)  # catchable by name
    assert "size = 320: input size in pixels" in thermocad.TrainConfig.__doc__  # help() shows it
    with pytest.raises(
        thermocad.ConfigError, match=r"options \['sise'\] \(did you mean 'size'\?\); valid: arch, "
    ):
        thermocad.train(tmp_path / "split.csv", tmp_path / "run", {"sise": 64})
    with pytest.raises(thermocad.ConfigError, match=r"unknown options \['smoke'\] for train"):
        thermocad.train(tmp_path / "split.csv", tmp_path / "run", smoke=True)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_study_takes_one_architecture_as_a_string(monkeypatch, tmp_path):
    import thermocad.pipeline

    seen = {}
    monkeypatch.setattr(thermocad.pipeline, "run_study", lambda *a, **k: seen.update(k))
    thermocad.study("data", "labels.csv", tmp_path / "s", archs="efficientnet_lite0")
    assert seen["archs"] == ["efficientnet_lite0"]


def test_a_dataframe_test_split_is_still_scored_where_no_ledger_can_be_written(
    trained, tmp_path, monkeypatch, capsys
):
    # A read-only home (a container, a cluster): said, and scored uncounted, as the user
    # ledger itself does; an explicit ledger= that cannot be written is refused.
    table, run = trained
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("THERMOCAD_LEDGER_DIR", str(tmp_path / "file" / "ledgers"))
    result = thermocad.evaluate(run, table, on="test", n_boot=0)
    assert result["patient"]["n"] == 4
    assert "could not be counted in" in capsys.readouterr().err
    with pytest.raises(thermocad.ConfigError, match="pass ledger= a file on a writable disk"):
        thermocad.evaluate(run, table, on="test", n_boot=0, ledger=tmp_path / "file" / "x.jsonl")


def test_a_call_leaves_the_callers_random_state_and_plotting_backend_alone(
    trained, tmp_path, monkeypatch
):
    """A notebook's own draws after train() or load_model() go on as if neither had run (train
    seeds the global generators for runs that repeat, and building a network draws from
    torch's); nothing chooses matplotlib's backend for it (it had been switched to Agg)."""
    import random

    import matplotlib
    import torch

    def refused(*args, **kwargs):
        raise AssertionError("matplotlib.use called: the notebook's backend would change")

    monkeypatch.setattr(matplotlib, "use", refused)
    table, _ = trained
    cfg = thermocad.TrainConfig.smoke(cycles=0, frozen_cycles=0, tta=0, seed=7)
    deterministic = torch.backends.cudnn.deterministic
    from thermocad.inference.explain import explain_file

    pytest.importorskip("pytorch_grad_cam")
    first = table["path"].iloc[0]
    for call in (lambda: thermocad.train(table, tmp_path / "run", cfg),  # draws its figures
                 lambda: thermocad.load_model(tmp_path / "run"),
                 lambda: explain_file(tmp_path / "run", first, tmp_path / "cam")):  # fmt: skip
        random.seed(5), np.random.seed(5), torch.manual_seed(5)
        expected = random.random(), np.random.random(), torch.rand(1).item()
        random.seed(5), np.random.seed(5), torch.manual_seed(5)
        call()
        assert (random.random(), np.random.random(), torch.rand(1).item()) == expected
        assert torch.backends.cudnn.deterministic == deterministic
    assert (tmp_path / "run" / "schedule.png").exists()


def test_torch_imported_by_a_call_is_not_left_at_its_seed(trained, tmp_path):
    """In a fresh process whose first torch is train()'s, torch is left seeded afresh, as a new
    process has it, not at the run's seed (a diff review: every notebook drew the same)."""
    import subprocess
    import sys

    table, _ = trained
    table.to_csv(tmp_path / "split.csv", index=False)
    code = (
        "import sys, thermocad\n"
        "assert 'torch' not in sys.modules\n"
        "cfg = thermocad.TrainConfig.smoke(cycles=0, frozen_cycles=0, tta=0, seed=7)\n"
        f"thermocad.train({str(tmp_path / 'split.csv')!r}, {str(tmp_path / 'run')!r}, cfg)\n"
        "import torch\n"
        "print(torch.initial_seed(), torch.backends.cudnn.deterministic)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "THERMOCAD_QUIET": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    seed, deterministic = done.stdout.split()
    assert int(seed) != 7 and deterministic == "False"
