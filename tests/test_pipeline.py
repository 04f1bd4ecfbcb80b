"""The one-command study, end to end on a tiny synthetic cohort."""

from __future__ import annotations

import json
import re
from importlib.util import find_spec

import pytest

from thermocad import pipeline as S
from thermocad.reporting.report import SECTIONS
from thermocad.utils.errors import ConfigError, OutputExistsError


def test_settings_precedence(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"folds": 3, "archs": ["resnet18"], "train": {"size": 96}}))
    s = S.load_settings(cfg, folds=4, archs=None)
    assert s["folds"] == 4  # explicit argument beats the file
    assert s["archs"] == ["resnet18"]  # file beats the default
    assert s["test"] == S.DEFAULTS["test"]  # default when neither says
    cfg.write_text(json.dumps({"fold": 3}))
    with pytest.raises(ConfigError, match="unknown keys \\['fold'\\]"):
        S.load_settings(cfg)
    cfg.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        S.load_settings(cfg)


def test_train_config_errors_are_clear():
    with pytest.raises(ConfigError, match=r"unknown training options \['no_such_field'\]"):
        S.train_config(S.load_settings(None, train={"no_such_field": 1}), smoke=True)
    assert S.train_config(S.load_settings(None, seed=3), smoke=True).seed == 3


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"train": {"mirror": True}}, r"c\.json: train: .*removed option mirror"),
        ({"train": {"norm": "celsius"}}, r"c\.json: train: .*Celsius window"),
        ({"train": {"precompute": False}}, r"c\.json: train: .*removed option precompute"),
        ({"threshold_method": "youden"}, r"^\S*c\.json: threshold_method 'youden' was removed"),
        ({"arch_overrides": {"resnet18": {"sise": 96}}}, r"arch_overrides\.resnet18: .*'sise'"),
        # A misspelt architecture's overrides would change nothing; a named variant has "arch".
        # (Checked against timm's names; without timm, training is refused anyway.)
        pytest.param(
            {"arch_overrides": {"efficientnet_lite9": {"pretrained": False}}},
            r"arch_overrides\.efficientnet_lite9: names no architecture, and has no \"arch\"",
            marks=pytest.mark.skipif(find_spec("timm") is None, reason="needs timm"),
        ),
        ({"prepare": {"sharpnes_threshold": 5}}, r"c\.json: prepare: unknown keys \['sharpnes"),
        ({"split": {"folds": 3}}, r"c\.json: split: unknown keys \['folds'\]"),  # a top-level key
        ({"train": [1]}, r"c\.json: train: must be a JSON object"),
        # Values of the wrong kind: "no" read as true ran a nested study; -5 failed after training
        ({"nested": "no"}, r"c\.json: nested: must be true or false, got 'no'"),
        ({"baseline": "false"}, r"c\.json: baseline: must be true or false"),
        (
            {"n_boot": -5},
            r"c\.json: n_boot: must be a whole number of bootstrap draws \(0: no intervals\)",
        ),
        ({"n_boot": 2.5}, r"c\.json: n_boot: must be a whole number"),
        ({"inner_folds": 1}, r"c\.json: inner_folds: must be null or a whole number, at least 2"),
        ({"seed": "abc"}, r"c\.json: seed: must be a whole number, at least 0, got 'abc'"),
        ({"folds": 0}, r"c\.json: folds: must be a whole number, at least 2, got 0"),
        ({"subgroup": 3}, r"c\.json: subgroup: must be a column name, or null"),
    ],
)
def test_a_study_configs_mistakes_are_named_with_the_file(tmp_path, section, error):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(section))
    with pytest.raises(ConfigError, match=error):
        S.load_settings(cfg)  # before anything runs, not ignored or a TypeError later
    # What older study configs hold still loads: the window as low..high, a removed option at
    # today's behaviour.
    cfg.write_text(json.dumps({"train": {"norm_low": 22, "norm_high": 30, "mirror": False,
                                         "precompute": True},
                               "threshold_method": "sensitivity", "target_sensitivity": None}))  # fmt: skip
    settings = S.load_settings(cfg)
    assert S.train_config(settings, smoke=False).norm_width == 8
    cfg.write_text(json.dumps({"n_boot": 0, "subgroup": ""}))  # no intervals, no subgroups
    assert S.load_settings(cfg)["n_boot"] == 0
    from thermocad.study_checks import check_subgroup

    check_subgroup("labels_protocol", ["patient_id", "diagnosis", "protocol"], "l.csv")  # kept so
    with pytest.raises(ConfigError, match="'protocol_' is no column .*labels_protocol"):
        check_subgroup("protocol_", ["patient_id", "diagnosis", "protocol"], "l.csv")
    cfg.write_text(json.dumps({"train": {"norm_low": 22, "norm_high": 30}}))
    settings = S.load_settings(cfg)
    assert (
        "threshold_method" not in settings and settings["target_sensitivity"] == 0.9
    )  # the default, written out


def test_a_study_config_is_read_as_utf8_with_or_without_notepads_mark(tmp_path):
    """It was read in the system's encoding (cp1252 on Windows): a UTF-8 name came out garbled,
    and a byte-order mark was refused everywhere."""
    cfg = tmp_path / "c.json"
    cfg.write_bytes(b"\xef\xbb\xbf" + json.dumps({"subgroup": "r\u00e9gion"}).encode())
    assert S.load_settings(cfg)["subgroup"] == "r\u00e9gion"
    cfg.write_bytes(b'{"subgroup": "r\xe9gion"}')  # Latin-1: said, not a traceback
    with pytest.raises(ConfigError, match=r"c\.json: cannot read the study config"):
        S.load_settings(cfg)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from thermocad.synth.cohort import generate_cohort

    out = tmp_path_factory.mktemp("synth")
    labels = generate_cohort(out / "data", n_patients=16, seed=1, height=96, width=128)
    return out / "data", labels


def _check_report(report):
    text = report.read_text()
    for key in SECTIONS:
        assert f'<section id="{key}">' in text, key
    assert "adjunct to mammography" in text
    return text


def test_labels_of_other_women_are_refused_before_anything_is_written(cohort, tmp_path):
    import pandas as pd

    from thermocad.cohort.prepare import check_labels_match, prepare_cohort
    from thermocad.utils.errors import CohortError

    data, labels = cohort
    other = tmp_path / "other.csv"
    pd.read_csv(labels).assign(patient_id=lambda t: t["patient_id"] + 500).to_csv(
        other, index=False
    )
    with pytest.raises(CohortError, match="other.csv: names none of the 16 patients"):
        S.run_study(data, other, tmp_path / "study", archs=[])
    with pytest.raises(CohortError, match="names none"):
        prepare_cohort(data, other, tmp_path / "prepared")
    assert not (tmp_path / "study").exists() and not (tmp_path / "prepared").exists()
    # Women in a linked subfolder are the data's too, as the walk that reads them finds them.
    import os

    linked = tmp_path / "linked"
    (linked / ".old").mkdir(parents=True)
    os.symlink(data, linked / "sub")
    (linked / "T0099.txt").write_text("30 31\n")  # an unlabelled woman beside the link
    check_labels_match(linked, labels, set(pd.read_csv(labels)["patient_id"]))  # the link counts
    hidden = tmp_path / "hidden"
    (hidden / ".old").mkdir(parents=True)
    (hidden / ".old" / "T0001.txt").write_text("30 31\n")  # not read by the walk: not counted
    (hidden / "T0099.txt").write_text("30 31\n")
    with pytest.raises(CohortError, match="names none of the 1 patients"):
        check_labels_match(hidden, labels, set(pd.read_csv(labels)["patient_id"]))


def test_labels_whose_ids_mostly_miss_the_files_are_refused(cohort, tmp_path):
    """A labels review: row numbers given as patient ids (1 to n) matched some women to
    another woman's row, and prepare went on. Fewer than half of each side paired: refused,
    before anything is written; labels for a larger set of women still pair."""
    import pandas as pd

    from thermocad.cohort.prepare import check_labels_match, prepare_cohort
    from thermocad.utils.errors import CohortError

    data, labels = cohort
    table = pd.read_csv(labels)
    n = len(table)
    shifted = tmp_path / "shifted.csv"  # 7 of 16 women pair
    table.assign(patient_id=table["patient_id"] + n // 2 + 1).to_csv(shifted, index=False)
    both = len(set(table["patient_id"]) & set(pd.read_csv(shifted)["patient_id"]))
    assert 0 < 2 * both < n
    with pytest.raises(CohortError, match=rf"shifted\.csv: only {both} of its {n} women have a"):
        prepare_cohort(data, shifted, tmp_path / "prepared")
    assert not (tmp_path / "prepared").exists()
    more = tmp_path / "more.csv"  # the labels of a whole database: every file paired
    pd.concat([table, table.assign(patient_id=table["patient_id"] + 1000)]).to_csv(
        more, index=False
    )
    check_labels_match(data, more, set(pd.read_csv(more)["patient_id"]))
    folder = tmp_path / "folder"  # women 8-27, labels of rows 1-12: 5 pair
    folder.mkdir()
    for number in range(8, 28):
        (folder / f"T{number:04d}.txt").write_text("30 31\n")
    with pytest.raises(CohortError, match=r"only 5 of its 12 .* 20 women there have a label.* "
                       r"\(they run 1 to 12 without a gap, as row numbers do\)"):  # fmt: skip
        check_labels_match(folder, labels, set(range(1, 13)))


def test_labels_of_one_class_or_too_few_women_are_refused_before_anything_is_written(
    cohort, tmp_path
):
    import pandas as pd

    data, labels = cohort
    table = pd.read_csv(labels)
    counts = table.groupby("diagnosis")["patient_id"].nunique().to_dict()
    healthy = tmp_path / "healthy.csv"
    table.assign(diagnosis="Healthy").to_csv(healthy, index=False)
    with pytest.raises(ConfigError, match=r"healthy.csv: the women of the study are of one class \(16 Healthy, 0 Sick\)"):  # fmt: skip
        S.run_study(data, healthy, tmp_path / "one", archs=[])
    # A Sick woman's row that the study's filters exclude (deodorant) does not count either.
    few = tmp_path / "few.csv"
    sick = table.index[table["diagnosis"] == "Sick"]
    table.assign(deodorant=False).loc[list(table.index[table["diagnosis"] == "Healthy"]) + list(sick[:2])].to_csv(few, index=False)  # fmt: skip
    with pytest.raises(ConfigError, match=rf"few.csv: 3 folds need at least 3 women of each class, and the study has {counts['Healthy']} Healthy, 2 Sick"):  # fmt: skip
        S.run_study(data, few, tmp_path / "few", archs=[], folds=3)
    filtered = tmp_path / "filtered.csv"
    marked = table.assign(deodorant=False)
    marked.loc[sick, "deodorant"] = True
    marked.to_csv(filtered, index=False)
    with pytest.raises(ConfigError, match="of one class"):
        S.run_study(data, filtered, tmp_path / "filtered", archs=[])
    # Enough women of each class for the folds, but not once the test set has taken its own:
    # the split refuses it after the cohort is prepared, and the new folder goes again.
    tight = tmp_path / "tight.csv"
    table.assign(deodorant=False).loc[list(table.index[table["diagnosis"] == "Healthy"]) + list(sick[:3])].to_csv(tight, index=False)  # fmt: skip
    with pytest.raises(ConfigError, match="3 folds need at least 3 patients of each class"):
        S.run_study(data, tight, tmp_path / "tight", archs=[], folds=3, test=0.3)
    names = ("one", "few", "filtered", "tight")
    assert not any((tmp_path / name).exists() for name in names)


@pytest.mark.parametrize(
    ("config", "options", "error"),
    [
        (
            {"threshold_method": "youden"},
            {},
            r"c\.json: threshold_method 'youden' was removed \(Youden's J measured worse.*"
            r"highest threshold reaching target_sensitivity \(default 0\.90\)",
        ),
        (
            {"target_sensitivity": 1.5},
            {},
            r"c\.json: target_sensitivity must be a number in \(0, 1\]",
        ),
        ({}, {"test": 1.0}, r"valid=0\.2 and test=1\.0 must be fractions"),
        ({}, {"folds": 1}, r"--folds \(folds in Python\) must be a whole number, at least 2"),
        ({}, {"archs": ["no_such_net"]}, r"no_such_net"),
        ({"arch_overrides": {"v": {"arch": "nonet"}}}, {"archs": ["v"]}, r"nonet"),
        ({"archs": "efficientnet_lite0"}, {}, r"c\.json: archs: must be a list of architecture"),
        ({"archs": [" "]}, {}, r"c\.json: archs: must be a list"),
        (
            {},
            {"archs": ["efficientnet_lite0", "efficientnet_lite0"]},
            r"'efficientnet_lite0' is given twice",
        ),
        (
            {"subgroup": "acquisiton_batch"},
            {},
            r"subgroup 'acquisiton_batch' is no column of the cohort .*acquisition_batch",
        ),
    ],
)
def test_a_studys_settings_are_checked_before_anything_is_written(cohort, tmp_path, config,
                                                                 options, error):  # fmt: skip
    data, labels = cohort
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=error):
        S.run_study(data, labels, tmp_path / "study", smoke=True, config_file=cfg,
                    **{"archs": None if "archs" in config else [], **options})  # fmt: skip
    assert not (tmp_path / "study").exists()  # a rerun is not told of an interrupted study


def test_report_refuses_a_folder_that_is_not_a_study(tmp_path, capsys):
    from thermocad.cli import main

    with pytest.raises(ConfigError, match=r"nothere: no such folder"):
        S.report_study(tmp_path / "nothere")
    folder = tmp_path / "prepared"  # prepare's and split's outputs, no comparison
    (folder / "cohort").mkdir(parents=True)
    (folder / "cohort" / "cohort.csv").write_text("path,patient_id,label,excluded_reason\n")
    (folder / "split.csv").write_text("path,patient_id,label,split\n")
    with pytest.raises(ConfigError, match=r"prepared: not a study: no compare/comparison\.csv "
                       r"\(found cohort/cohort\.csv, split\.csv\); a study's folder"):  # fmt: skip
        S.report_study(folder)
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no cohort.csv nor split.csv either" in capsys.readouterr().err
    assert not (folder / "report.html").exists() and not any((tmp_path / "empty").iterdir())


def test_study_baseline_only(cohort, tmp_path):
    data, labels = cohort
    report = S.run_study(data, labels, tmp_path / "study", archs=[], folds=2, test=0.25,
                         settings=None, note="Synthetic <data>")  # fmt: skip
    text = _check_report(report)
    assert '<p class="note">Synthetic &lt;data&gt;</p>' in text  # under the title, escaped
    rewritten = S.report_study(tmp_path / "study", tmp_path / "again.html")
    assert '<p class="note">Synthetic &lt;data&gt;</p>' in rewritten.read_text()  # study.json
    (tmp_path / "study" / "study.json").write_text("{broken")
    with pytest.raises(ConfigError, match="study.json: cannot read"):
        S.report_study(tmp_path / "study", tmp_path / "again.html", force=True)
    assert (tmp_path / "study" / "compare" / "comparison.csv").exists()
    (tmp_path / "link").symlink_to(tmp_path / "study" / "compare")
    for out in (tmp_path / "study" / "compare", tmp_path / "link"):
        with pytest.raises(ConfigError, match="a study's own comparison .* give compare another --out"):  # fmt: skip
            S.run_compare(tmp_path / "study" / "split.csv", out, archs=[], force=True)
    assert (tmp_path / "study" / "compare" / "comparison.csv").exists()
    fit_like = tmp_path / "fit"  # a model's folder: cohort/, split.csv, model.json, no compare/
    (fit_like / "cohort").mkdir(parents=True)
    (fit_like / "split.csv").write_text("path,patient_id,label,split\n")
    (fit_like / "model.json").write_text("{}")
    with pytest.raises(ConfigError, match="a model's folder .* not a study"):
        S.report_study(fit_like)
    assert not (fit_like / "report.html").exists()
    assert "Leak check passed" in text and "baseline" in text
    assert "the first model scored on these" in text  # the test set's ledger, beside split.csv
    assert (tmp_path / "study" / "split.test_openings.jsonl").read_text().count("\n") == 1
    with pytest.raises(
        OutputExistsError,
        match=re.escape(f"{tmp_path / 'study'} already exists and is not empty; use --force"),
    ):
        S.run_study(data, labels, tmp_path / "study", archs=[])


@pytest.mark.slow
@pytest.mark.train
def test_study_smoke_cli_with_a_cnn(cohort, tmp_path, capsys):
    from thermocad.cli import main

    data, labels = cohort
    out = tmp_path / "study"
    code = main(["study", str(data), "--labels", str(labels), "--out", str(out), "--smoke",
                 "--archs", "efficientnet_lite0", "--folds", "2", "--test", "0.25"])  # fmt: skip
    assert code == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    text = _check_report(out / "report.html")
    assert "efficientnet_lite0" in text
    assert "<title>thermocad study report: synthetic data</title>" in text  # a tab read alone
    assert (out / "compare" / "efficientnet_lite0" / "fold1" / "model.json").exists()
    # The header's command is the one that ran, every option included, also once rewritten.
    assert "--archs efficientnet_lite0 --folds 2 --test 0.25</code>" in text
    assert main(["report", str(out), "--force"]) == 0
    assert "--folds 2 --test 0.25</code>" in (out / "report.html").read_text()


def test_the_demo_trains_the_default_recipe_and_smoke_the_one_smoke_preset(monkeypatch, tmp_path):
    from thermocad.training.config import TrainConfig

    configs, notes, drawn = [], [], []

    def fake_study(data_dir, labels, out_dir, smoke, force, settings, note, command):
        configs.append(S.train_config(settings, smoke))
        notes.append(note)
        return tmp_path / "report.html"

    def fake_cohort(*a, **k):
        drawn.append(k["difficulty"])
        return tmp_path / "l"

    monkeypatch.setattr(S, "run_study", fake_study)
    monkeypatch.setattr("thermocad.synth.cohort.generate_cohort", fake_cohort)
    S.run_demo(tmp_path / "demo", n_patients=14)
    S.run_demo(tmp_path / "demo", n_patients=14, smoke=True, force=True, difficulty="default")
    assert configs[0] == TrainConfig()  # the demo shows the default recipe as users get it
    assert configs[1] == TrainConfig.smoke(batch_size=8, max_batches=4)
    # The demo's cohort is the easy difficulty unless asked, and its report says so.
    assert drawn == ["easy", "default"]
    assert "'easy' difficulty" in notes[0] and "not the real task's" in notes[0]
    # --force replaces an earlier demo, never a folder of the user's
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    with pytest.raises(OutputExistsError, match="holds files thermocad did not write"):
        S.run_demo(mine, n_patients=14, force=True)
    assert (mine / "thesis.tex").read_text() == "mine" and not (mine / "data").exists()


@pytest.mark.train
def test_the_demo_refuses_too_few_patients_before_writing_anything(tmp_path, capsys):
    from thermocad.cli import main

    # It generated and prepared the cohort before the split refused, naming --folds and --test
    # (flags the demo does not have); --patients 0 left DM/.thermocad behind.
    for n in ("2", "0", "13", "10000"):
        assert main(["demo", "--patients", n, "--out", str(tmp_path / "dm")]) == 2
        need = "at most 9999" if n == "10000" else "at least 14 for the demo's study"
        assert capsys.readouterr().err.startswith(
            f"thermocad: error: --patients (n_patients in Python) must be {need}"
        )
        assert not (tmp_path / "dm").exists()
    # 14 is what its 3 folds and nested inner folds need at 40% Sick: 6 Sick, 1 in the test set
    # and 5 in the folds, so that each outer training set holds the 3 its inner folds need.
    from thermocad.study_checks import check_demo_patients

    check_demo_patients(14, S.load_settings(None, **S.DEMO, seed=0), S.DEMO_SICK_FRACTION)


def test_the_cli_offers_the_generators_difficulties():
    from thermocad.cli.synth import DIFFICULTIES
    from thermocad.synth.cohort import DIFFICULTIES as GENERATED

    assert set(DIFFICULTIES) == set(GENERATED)


def test_study_nested_baseline_only(cohort, tmp_path):
    data, labels = cohort
    report = S.run_study(data, labels, tmp_path / "study", archs=[], folds=2, test=0.25,
                         nested=True)  # fmt: skip
    text = _check_report(report)
    nested = json.loads((tmp_path / "study" / "compare" / "nested" / "nested.json").read_text())
    assert [f["chosen"] for f in nested["folds"]] == ["baseline", "baseline"]  # the only candidate
    assert json.loads((tmp_path / "study" / "study.json").read_text())["nested"] is True
    assert "No nested cross-validation" not in text and "Choices per outer fold" in text


def test_an_interrupted_study_resumes_without_preparing_again(cohort, tmp_path, monkeypatch):
    import pandas as pd

    import thermocad.evaluation.compare as C

    data, labels = cohort
    opts = {"archs": [], "folds": 2, "test": 0.25}
    S.run_study(data, labels, tmp_path / "whole", **opts)
    study, real_prepare, real_baseline = tmp_path / "study", S.prepare_and_split, C.run_baseline

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "prepare_and_split", stop)  # killed while preparing
    with pytest.raises(KeyboardInterrupt):
        S.run_study(data, labels, study, **opts)
    assert json.loads((study / "study_resume.json").read_text())["stage"] == "prepare"
    monkeypatch.setattr(S, "prepare_and_split", real_prepare)
    monkeypatch.setattr(C, "run_baseline", stop)  # then, resumed, killed while comparing
    with pytest.raises(KeyboardInterrupt):
        S.run_study(data, labels, study, resume=True, **opts)
    assert json.loads((study / "study_resume.json").read_text())["stage"] == "compare"
    assert (study / "compare" / "compare_resume.json").is_file()
    monkeypatch.setattr(C, "run_baseline", real_baseline)
    with pytest.raises(
        OutputExistsError,
        match=rf"{re.escape(str(study))} holds an unfinished study .*--resume continues it",
    ):
        S.run_study(data, labels, study, **opts)
    with pytest.raises(
        ConfigError, match=rf"{study}: --resume with other options .*folds \(2 -> 3\)"
    ):
        S.run_study(data, labels, study, resume=True, **{**opts, "folds": 3})
    with pytest.raises(ConfigError, match=r"smoke \(False -> True\)"):
        S.run_study(data, labels, study, resume=True, smoke=True, **opts)
    with pytest.raises(ConfigError, match="one of them"):
        S.run_study(data, labels, study, resume=True, force=True, **opts)
    other = tmp_path / "labels.csv"
    other.write_bytes(labels.read_bytes() + b"\n")
    with pytest.raises(ConfigError, match=f"{study}: the data folder or the labels changed"):
        S.run_study(data, other, study, resume=True, **opts)
    monkeypatch.setattr(S, "prepare_and_split", lambda *a, **k: pytest.fail("prepared again"))
    report = S.run_study(data, labels, study, resume=True, **opts)
    _check_report(report)
    assert not (study / "INCOMPLETE").exists() and not (study / "study_resume.json").exists()
    assert not (study / "compare" / "compare_resume.json").exists()
    for name in ("split.csv", "cohort/cohort.csv"):
        assert (study / name).read_text() == (tmp_path / "whole" / name).read_text()
    got, want = (pd.read_csv(d / "compare" / "comparison.csv").drop(columns="train_time_s")
                 for d in (study, tmp_path / "whole"))  # fmt: skip
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(ConfigError, match="nothing to resume .*finished study"):
        S.run_study(data, labels, study, resume=True, **opts)


def test_a_study_that_fails_in_its_first_stage_leaves_a_new_folder_gone_and_an_old_one_kept(
    cohort, tmp_path, monkeypatch
):
    import thermocad.cohort.prepare
    from thermocad.study_checks import check_compare_out, check_subgroup
    from thermocad.utils.errors import CohortError

    data, labels = cohort

    def no_images(*args, **kwargs):
        raise CohortError("data: no image kept")

    monkeypatch.setattr(thermocad.cohort.prepare, "prepare_cohort", no_images)
    with pytest.raises(CohortError):
        S.run_study(data, labels, tmp_path / "new", archs=[], folds=2)
    assert not (tmp_path / "new").exists()
    old = tmp_path / "old"  # an earlier study, run again with --force: never emptied
    old.mkdir()
    (old / ".thermocad").write_text("written by thermocad study\n")
    (old / "study.json").write_text("{}")
    with pytest.raises(CohortError):
        S.run_study(data, labels, old, archs=[], folds=2, force=True)
    assert (old / "study.json").exists()
    check_subgroup("", ["patient_id", "diagnosis"], "l.csv")  # "": no subgroups, as None
    (tmp_path / "mine" / "compare").mkdir(parents=True)  # a folder called compare, no study's
    check_compare_out(tmp_path / "mine" / "compare")


def test_a_study_of_grey_images_is_refused_before_the_split_when_a_cnn_reads_degrees(tmp_path):
    """A grey-image review: the study's CNNs each failed on `--norm`, a flag study lacks, and
    the baseline alone went on to open the test women. Refused after prepare, nothing kept."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    from thermocad.io.thermal import read_thermal
    from thermocad.synth.cohort import generate_cohort

    labels = generate_cohort(tmp_path / "txt", n_patients=12, seed=2, height=48, width=64,
                             sick_fraction=0.5)  # fmt: skip
    (tmp_path / "png").mkdir()
    for path in (tmp_path / "txt").glob("T*.txt"):
        a = read_thermal(path).array
        grey = np.uint8((a - a.min()) / (a.max() - a.min()) * 255)
        Image.fromarray(grey).save(tmp_path / "png" / f"{path.stem}.png")
    with pytest.raises(ConfigError, match=r'12 of 12 files are 8/16-bit images .* reads degrees '
                       r'\(norm .relative.\): give the study a --config with "train": '
                       r'\{"norm": "robust"\}'):  # fmt: skip
        S.run_study(tmp_path / "png", labels, tmp_path / "study", archs=["efficientnet_lite0"],
                    folds=2)  # fmt: skip
    assert not (tmp_path / "study").exists()
    from thermocad.study_checks import check_units

    cohort = tmp_path / "cohort.csv"
    pd.DataFrame({"path": ["a.png"], "unit": ["intensity"]}).to_csv(cohort, index=False)
    check_units(cohort, {"archs": []}, "d")  # the baseline alone reads grey levels
    check_units(cohort, {"archs": ["a"], "train": {"norm": "robust"}}, "d")
    overridden = {"archs": ["a", "b"], "arch_overrides": {"a": {"norm": "robust"}}}
    with pytest.raises(ConfigError, match="reads degrees"):
        check_units(cohort, overridden, "d")  # b keeps the default's window
