"""The HTML report: every section present, self-contained, and readable in a real browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.evaluation.conftest import make_split_csv, split_csv  # noqa: F401  (fixture reused)
from tests.evaluation.test_compare import coin_trainer
from thermocad.evaluation import compare as C
from thermocad.evaluation import periods as EP
from thermocad.evaluation.confounds import confound_audit
from thermocad.reporting import periods as P
from thermocad.reporting import report as R
from thermocad.reporting.study_files import find_study_inputs
from thermocad.utils.errors import OutputExistsError


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    """A study folder with its comparison run, once per module (tests get a copy)."""
    base = tmp_path_factory.mktemp("study_once")
    split = make_split_csv(base)
    root = base / "study"
    (root / "cohort").mkdir(parents=True)
    shutil.copy(split, root / "split.csv")
    cohort = pd.read_csv(split).drop(columns=["split", "fold"]).assign(excluded_reason="")
    extra = cohort.iloc[:3].assign(
        patient_id=[90, 91, 92], excluded_reason=["blurred", "blurred", "deodorant"]
    )
    pd.concat([cohort, extra]).to_csv(root / "cohort" / "cohort.csv", index=False)
    C.compare(root / "split.csv", ["coin", "broken"], root / "compare", config={}, n_boot=50,
              trainer=coin_trainer)  # fmt: skip
    return root


@pytest.fixture
def study_dir(finished_study, tmp_path):
    """This test's own copy of the finished study (some tests edit its files). Paths recorded
    inside it (metrics.json's ledger, valid_metrics.json's plots) still name the shared
    original: a test that edits one of those files must edit the original's, not the copy's."""
    return Path(shutil.copytree(finished_study, tmp_path / "study", symlinks=True))


def test_a_printed_footer_quotes_any_title_safely():
    from thermocad.reporting.html import page_footer

    css = page_footer('a "quoted" </style> title; 2026-12-07 19:38 UTC')
    assert css.count("</style>") == 1 and "\\22 quoted\\22 " in css and "\\3c \\2f style" in css


def test_report_has_every_section_and_is_self_contained(study_dir):
    inputs = find_study_inputs(study_dir)
    assert all(inputs.values())
    out = R.write_report(study_dir / "report.html", **inputs, command="thermocad study x")
    text = out.read_text()
    for key in R.SECTIONS:
        assert f'<section id="{key}">' in text, key
    # nothing fetched from elsewhere: every image is a data URI
    assert not re.search(r'src="(?!data:image/(png|webp);base64,)', text)
    assert len(re.findall(r'src="data:image/(png|webp);base64,', text)) >= 10
    # Each figure's description is read once by a screen reader: its alt text; the caption
    # that repeats it for the eye is hidden from them.
    assert text.count("<figcaption>") == 0 and text.count('<figcaption aria-hidden="true">') >= 10
    assert "adjunct to mammography" in text
    assert "blurred" in text and "Leak check passed" in text
    assert "| broken" not in text and "failed: RuntimeError" in text
    assert "Intended use" in text and "Limitations" in text and "Failure cases" in text
    assert "over 3 patient-grouped folds" in text and "IMAGE-level" not in text
    # On paper every page says what it belongs to and where it falls (a printing review: only
    # page 1 did), and a run's heading is not left alone at the foot of a page.
    footer = re.search(r'@bottom-left \{ content: "([^"]*)"', text).group(1)
    assert footer.startswith("thermocad study report") and "thermocad 0.1" in footer
    assert 'content: "page " counter(page) " of " counter(pages)' in text
    assert text.count("<div class=run><h3>") >= 1
    by_image = R.comparison_section(inputs["compare_dir"], by_image=True)
    assert "over 3 image-level folds (a woman may be in several)" in by_image
    # 6 test women: the calibration's figures say why they have no interval.
    calibration = text.split('<section id="calibration">')[1].split("</section>")[0]
    assert "(no interval: fewer than 5 Sick and Healthy women)" in calibration
    with pytest.raises(
        OutputExistsError,
        match=re.escape(f"{study_dir / 'report.html'} already exists; use --force"),
    ):
        R.write_report(study_dir / "report.html", **inputs)


def test_a_report_written_elsewhere_leaves_the_study_folder_as_it_was(study_dir, tmp_path):
    inputs = find_study_inputs(study_dir)
    before = {p: p.stat().st_mtime_ns for p in study_dir.rglob("*")}
    R.write_report(tmp_path / "elsewhere.html", **inputs)
    after = {p: p.stat().st_mtime_ns for p in study_dir.rglob("*")}
    assert after == before  # no figure drawn into the study (comparison_auc.png was)


def test_the_model_cards_limitations_name_this_cohorts_confounds(study_dir):
    from thermocad.reporting.modelcard import _limitations

    cohort_csv = study_dir / "cohort" / "cohort.csv"
    cohort = pd.read_csv(cohort_csv)
    cohort["room_median"] = 20.0 + 4.0 * (cohort["label"] == "Sick") + 0.01 * cohort.index
    cohort.to_csv(cohort_csv, index=False)
    text = _limitations(cohort_csv)
    assert "In this cohort 1 quantity separates the classes by itself (room temperature" in text
    assert " 5 times " not in text and "called the same 71" not in text  # no other model's figures
    assert "In this cohort" not in _limitations(None)


def test_nested_result_first_and_the_date_audited(split_csv, tmp_path):  # noqa: F811
    root = tmp_path / "study"
    (root / "cohort").mkdir(parents=True)
    split = pd.read_csv(split_csv)
    # Sick women imaged later: the date alone separates the classes, and must be flagged.
    split["acquisition_date"] = [f"{2013 + int(s == 'Sick')}-0{1 + i % 9}-01" for i, s in enumerate(split["label"])]  # fmt: skip
    split.to_csv(root / "split.csv", index=False)
    split.drop(columns=["split", "fold"]).assign(excluded_reason="").to_csv(root / "cohort" / "cohort.csv", index=False)  # fmt: skip
    C.compare(root / "split.csv", ["coin"], root / "compare", config={}, n_boot=20,
              trainer=coin_trainer, nested=True)  # fmt: skip
    text = R.write_report(root / "report.html", **find_study_inputs(root)).read_text()
    assert text.index('<section id="disclaimer">') < text.index('<section id="nested">')
    assert text.index('<section id="nested">') < text.index('<section id="cohort">')
    assert text.index('<section id="nested">') < text.index('<section id="comparison">')
    nested = text.split('<section id="nested">')[1].split("</section>")[0]
    assert (
        "Selection rule: highest patient-level AUC" in nested and "Choices per outer fold" in nested
    )
    assert "period-matched" in nested and "sensitivity (95% CI)" in nested
    assert "optimistic" in R.SECTIONS["comparison"]
    per_fold = text.split("Patient AUC in each validation fold")[1].split("</table>")[0]
    assert "<th>fold 0</th>" in per_fold and "<td>baseline</td>" in per_fold
    assert "minus each other candidate's, on the same women (paired patient bootstrap" in text
    assert "Flag: acquisition date alone separates the classes" in text
    assert "batch A AUC" in text
    # Before any section: the result, then the model it chose and its one test scoring.
    # One table: a row for the result, the baseline alone by the same outer folds (the
    # yardstick), one for the selected model's test, each with whom.
    glance = text.split('<div class="summary" id="glance">')[1].split("</div>")[0]
    assert text.index('id="glance"') < text.index("<nav>")
    assert "<h2>Result at a glance</h2>" in glance and glance.count("<tr>") == 4
    res = json.loads((root / "compare" / "nested" / "nested.json").read_text())
    overall = res["metrics"]["subsets"]["overall"]
    result_row = glance.split("<tr>")[2]
    assert ("nested cross-validation" in result_row
            and f"<td>{overall['n']} ({overall['n_sick']}), none seen by its choices</td>" in result_row
            and f'<td>{overall["roc_auc"]:.3f} <span class="ci">(' in result_row)  # fmt: skip
    test = json.loads((root / "compare" / "test" / "metrics.json").read_text())
    best = json.loads((root / "compare" / "best.json").read_text())
    yardstick, alone = glance.split("<tr>")[3], res["baseline_alone"]["subsets"]["overall"]
    assert "the classical baseline alone, through the same outer folds" in yardstick
    assert f'<td>{alone["roc_auc"]:.3f} <span class="ci">(' in yardstick
    assert alone["n"] == overall["n"]  # the same women
    nested_md = (root / "compare" / "nested" / "nested.md").read_text()
    assert ", the baseline alone (yardstick) |" in nested_md
    assert ": the baseline alone</td>" in text.split('<section id="nested">')[1]
    test_row = glance.split("<tr>")[4]
    assert (f"<b>Selected model</b>: {test.get('model', best['best_served'])}, chosen on "
            "validation folds, scored once on the held-out test set" in test_row)  # fmt: skip
    assert f"<td>{test['patient']['n']} ({test['patient']['n_sick']}), held out</td>" in test_row
    assert f"<td>{test['threshold']:.3f}</td></tr></table>" in test_row
    assert (
        '<th scope="col">women (Sick)</th>' in glance
    )  # these test women are not `thermocad synth`'s
    card = text.split('<section id="model-card">')[1]
    assert (
        "Result (nested cross-validation)" in card
        and html.escape("On women this run's choices did not see: overall (all batch A) AUC")
        in card  # batch A not repeated
        and "; batch A AUC" not in card
    )
    # The folder reused (--force) by a comparison with neither nested CV nor a test split:
    # the earlier nested/ and test/ folders stay, and are not reported as this comparison's.
    assert (root / "compare" / "test" / "metrics.json").exists()
    best = json.loads((root / "compare" / "best.json").read_text())
    (root / "compare" / "best.json").write_text(json.dumps({**best, "test": None, "nested": None}))
    text = R.write_report(root / "report.html", **find_study_inputs(root), force=True).read_text()
    assert (
        "No nested cross-validation in this study" in text and "Choices per outer fold" not in text
    )
    assert "not run (--nested): nothing here estimates the whole procedure" in text
    # Neither its heading nor the nav promises the nested result it does not have.
    assert "choices did not see" not in text
    assert text.count(R.NO_NESTED) == 2  # the nav's link and the heading
    assert "the highest threshold whose pooled out-of-fold sensitivity reaches 0.90" in text
    assert "`" not in text.split('id="model-card"')[1]  # markdown's backticks set as <code>
    assert "<b>No nested cross-validation</b>" in text.split("<nav>")[0]
    assert "no test split: test metrics not available" in text and "no test images" in text


def test_report_without_nested_says_the_figures_are_optimistic(tmp_path):
    assert "No nested cross-validation" in P.nested_section(None)


def test_a_batch_holding_every_woman_is_named_on_the_overall_row_not_repeated():
    subsets = {"overall": {"n": 10, "n_sick": 4, "roc_auc": 0.8}, "batch A": {"n": 10, "n_sick": 4, "roc_auc": 0.8},
               "period-matched": {"n": None}}  # fmt: skip
    assert list(EP.shown_subsets(subsets)) == ["overall (all batch A)", "period-matched"]
    two = {**subsets, "batch A": {"n": 7, "n_sick": 2}, "batch B": {"n": 3, "n_sick": 2}}
    assert list(EP.shown_subsets(two)) == ["overall", "batch A", "period-matched", "batch B"]
    html = P.period_table({"subsets": subsets, "dates": False})
    assert "overall (all batch A)" in html and ">batch A<" not in html
    no_batches = {"overall": subsets["overall"], "batch all": subsets["batch A"]}
    assert list(EP.shown_subsets(no_batches)) == ["overall"]  # not "overall (all batch all)"


def test_model_card_names_the_inputs(tmp_path):
    from thermocad.models.registry import get_arch
    from thermocad.reporting.modelcard import _model_summary
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import eval_transform

    transform = eval_transform(TrainConfig(), get_arch("efficientnet_lite0"))
    meta = {"arch": "efficientnet_lite0", "input_size": 320, "in_chans": transform.in_chans,
            "unit": "celsius", "transform": transform.to_dict()}  # fmt: skip
    (tmp_path / "model.json").write_text(json.dumps(meta))
    card = _model_summary(None, tmp_path)
    assert (
        "1 channel(s) of celsius (asymmetry; window relative, crop breasts, marker remove, "
        "background symmetric)" in card
    )
    assert "averaged with the classical baseline" not in card  # no baseline in this model.json
    # How it was trained comes from its config: the default's head, or the study's stages.
    meta["config"] = TrainConfig().to_dict()
    (tmp_path / "model.json").write_text(json.dumps(meta))
    assert (
        "a last layer (the head) trained for 30 epochs on the features of the pretrained network, which stays frozen, from ImageNet weights"
        in (html.unescape(_model_summary(None, tmp_path)))
    )
    meta["config"] = TrainConfig.study(pretrained=False).to_dict()
    (tmp_path / "model.json").write_text(json.dumps(meta))
    study = html.unescape(_model_summary(None, tmp_path))
    assert ("fine-tuned (2 frozen and 3 unfrozen SGDR cycles, as the 2019 study's recipe "
            "trains)") in study  # fmt: skip
    assert study.count("from random weights") == 1
    # Who trained it, where its files are and which thermocad wrote it, from its model.json.
    meta.update(thermocad_version="9.9", data={"train": {"patients": {"Healthy": 5, "Sick": 3}}})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.json").write_text(json.dumps(meta))
    card = html.unescape(_model_summary(tmp_path / "compare", tmp_path / "run"))
    assert "trained on 8 women (5 Healthy, 3 Sick); files: run/model.safetensors" in card
    assert "by thermocad 9.9" in card
    # With its commit, where the model recorded one (a CLAIM review: 0.1.0 through every change).
    meta["libraries"] = {"thermocad": "9.9 (commit 0123456789ab)"}
    (tmp_path / "run" / "model.json").write_text(json.dumps(meta))
    card = html.unescape(_model_summary(tmp_path / "compare", tmp_path / "run"))
    assert "by thermocad 9.9 (commit 0123456789ab)" in card


def test_report_from_nothing_still_has_sections(tmp_path):
    text = R.write_report(tmp_path / "r.html").read_text()
    assert all(f'<section id="{k}">' in text for k in R.SECTIONS)
    assert "not available" in text


def test_the_split_section_reads_patient_ids_as_the_split_does(tmp_path):
    """Patient "NA" is a woman, as `read_split` reads her: the report counts her and sees her
    on both sides (pandas' default read made her NaN, dropped from counts and the leak check)."""
    rows = {"path": ["a.txt", "b.txt", "c.txt"], "patient_id": ["NA", "NA", "7"],
            "label": ["Sick", "Sick", "Healthy"], "split": ["train", "test", "test"]}  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "split.csv", index=False)
    text = R.split_section(tmp_path / "split.csv")
    assert "LEAK" in text and "NA" in text.split("LEAK")[1]


@pytest.mark.browser
def test_report_in_headless_chromium(study_dir, tmp_path):
    from tests.conftest import chromium_available

    if not chromium_available():
        pytest.skip("chromium or chromedriver missing")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = R.write_report(study_dir / "report.html", **find_study_inputs(study_dir))
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--window-size=1280,2000"):  # fmt: skip
        opts.add_argument(flag)
    from tests.helpers.app import browser_env

    service = Service(shutil.which("chromedriver"), env=browser_env(tmp_path / "browser"))
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.get(out.as_uri())
        assert "thermocad" in driver.title
        ids = {e.get_attribute("id") for e in driver.find_elements("css selector", "section")}
        assert set(R.SECTIONS) <= ids
        broken = driver.execute_script(
            "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )
        assert broken == 0
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        # For a human to look at, where one asks: THERMOCAD_SCREENSHOT=path/to/report.png.
        if keep := os.environ.get("THERMOCAD_SCREENSHOT"):
            shutil.copy(shot, keep)
    finally:
        driver.quit()


def test_training_section_shows_this_comparisons_runs_and_their_own_curves(tmp_path):
    history = "stage,epoch,train_loss,valid_loss,accuracy,roc_auc,seconds\n" + "".join(
        f"head,{e},{1 - e / 10},{1 - e / 20},0.5,0.6,0.01\n" for e in range(3)
    )
    for arch in ("now", "earlier"):  # "earlier": left by a comparison before a --force rerun
        run = tmp_path / arch / "fold0"
        run.mkdir(parents=True)
        (run / "model.json").write_text("{}")
        (run / "history.csv").write_text(history)
        (run / "history.png").write_bytes(b"stale")  # an earlier run's curves
        os.utime(run / "history.png", (0, 0))  # drawn before this run's history
    (tmp_path / "best.json").write_text(json.dumps({"best": "now", "models": ["baseline", "now"]}))
    html = R.training_section(tmp_path)
    assert "<h3>now (fold0)</h3>" in html and "earlier" not in html
    assert (
        (tmp_path / "now" / "fold0" / "history.png").read_bytes().startswith(b"\x89PNG")
    )  # redrawn
    drawn = (tmp_path / "now" / "fold0" / "history.png").stat().st_mtime
    R.training_section(tmp_path)  # up to date: not drawn again
    assert (tmp_path / "now" / "fold0" / "history.png").stat().st_mtime == drawn


def test_a_comparison_that_did_not_finish_reports_nothing_of_an_earlier_one(study_dir):
    from thermocad.utils.errors import ThermocadError

    compare = study_dir / "compare"
    inputs = find_study_inputs(study_dir)
    (compare / "best.json").write_text('{"best": "coin", "mod')  # killed while writing it
    with pytest.raises(ThermocadError, match=r"best\.json: cannot be read as JSON"):
        R.write_report(study_dir / "r0.html", **inputs)
    (compare / "best.json").unlink()  # a rerun that failed before its summary
    text = R.write_report(study_dir / "r1.html", **inputs).read_text()
    assert "no test split: test metrics not available" in text
    assert "No CNN was trained" in text and "No nested cross-validation" in text
    failed = pd.DataFrame({"model": ["coin", "broken"], "status": ["failed: X", "failed: Y"],
                           "n_folds": [float("nan")] * 2})  # fmt: skip
    failed.to_csv(compare / "comparison.csv", index=False)  # every model failed
    text = R.write_report(study_dir / "r2.html", **inputs).read_text()
    assert "No model finished the comparison" in text and "failed: Y" in text


def test_a_report_on_synthetic_women_says_so_at_the_top(tmp_path):
    from thermocad.reporting.study_files import synthetic_note
    from thermocad.synth.files import TRUTH

    (tmp_path / "syn").mkdir()
    cohort = pd.DataFrame({"path": [str(tmp_path / "syn" / "T0001.txt")], "patient_id": [1],
                           "label": ["Sick"], "excluded_reason": [""]})  # fmt: skip
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    assert synthetic_note(tmp_path / "cohort.csv") is None  # no synth_truth.csv: real files
    (tmp_path / "syn" / TRUTH).write_text("patient_id\n1\n")
    assert "Synthetic data written by thermocad synth" in synthetic_note(tmp_path / "cohort.csv")
    html = R.write_report(tmp_path / "report.html", cohort_csv=tmp_path / "cohort.csv").read_text()
    assert html.index("Synthetic data written by") < html.index('<section id="disclaimer">')
    # Its limitations are a synthetic cohort's, not DMR-IR's.
    assert "The patients are synthetic" in html and "DMR-IR batch B" not in html


def test_the_test_section_says_a_cnn_was_tested_from_its_fold0_run():
    from thermocad.reporting.modelcard import tested_run_note

    assert "fold-0 run" in tested_run_note({"run": "study/compare/efficientnet_lite0/fold0"})
    both = tested_run_note(
        {"run": "c/efficientnet_lite0/fold0", "model": "efficientnet_lite0+baseline"}
    )
    assert "it (its baseline half too) trained on the non-test women outside fold 0" in both
    assert tested_run_note({"arch": "baseline"}) == ""  # refitted on every non-test woman


def test_the_test_section_says_when_the_tested_folder_stores_another_threshold(tmp_path):
    """The fold-0 run's model.json keeps the threshold of its own validation women; the test
    uses the pooled cross-validated one: predict with that folder calls at the other."""
    import json

    from thermocad.reporting.modelcard import tested_run_note

    run = tmp_path / "compare" / "efficientnet_lite0" / "fold0"
    run.mkdir(parents=True)
    (run / "model.json").write_text(json.dumps({"threshold": 0.7131}))
    note = tested_run_note({"run": str(run), "threshold": 0.276})
    assert "Its model.json stores another threshold, 0.713, chosen on fold 0's" in note
    assert "stores another" not in tested_run_note({"run": str(run), "threshold": 0.7131})


def test_the_model_cards_model_line_reconciles_the_two_thresholds(tmp_path):
    """A reviewer: the card named a file storing 0.206 and gave metrics at 0.309, unexplained."""
    import json

    from thermocad.reporting.modelcard import model_card_section

    run = tmp_path / "compare" / "efficientnet_lite0" / "fold0"
    run.mkdir(parents=True)
    (run / "model.json").write_text(json.dumps({"arch": "efficientnet_lite0", "threshold": 0.206}))
    from thermocad.evaluation.bootstrap import summarize

    pred = pd.DataFrame({"patient_id": range(6), "y": [1, 1, 1, 0, 0, 0],
                         "prob": [0.9, 0.5, 0.1, 0.8, 0.3, 0.2]})  # fmt: skip
    metrics = summarize(pred, 0.309, n_boot=0)
    test = {"run": str(run), "threshold": 0.309, "model": "efficientnet_lite0",
            "image": metrics, "patient": metrics}  # fmt: skip
    card = model_card_section(None, None, tmp_path / "compare", test, run)
    model_line = card.split("<dt>Model</dt><dd>")[1].split("</dd>")[0]
    assert (
        "decision threshold 0.206), written" in model_line and ". The model tested is" in model_line
    )
    assert "Its model.json stores another threshold, 0.206, chosen on fold 0" in model_line
    assert "<code>predict</code>" in model_line


def test_the_confound_audit_says_it_counts_the_whole_cohort(tmp_path):
    ids = range(1, 21)
    cohort = pd.DataFrame({"patient_id": ids, "label": ["Healthy", "Sick"] * 10,
                           "acquisition_date": [f"2013-{1 + i % 12:02d}-01" for i in ids],
                           "excluded_reason": [""] * 19 + ["lateral view"]})  # fmt: skip
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    html = P.confound_block(tmp_path / "cohort.csv")
    assert "Confound audit (the whole cohort: 19 patients)" in html
    assert ">flag<" not in html  # nothing flagged: no empty column
    late = cohort.assign(
        acquisition_date=[f"{2013 + (i % 2 == 0)}-01-01" for i in ids]
    )  # Sick later
    late.to_csv(tmp_path / "cohort.csv", index=False)
    assert ">flag<" in P.confound_block(tmp_path / "cohort.csv")


def test_the_model_card_puts_ppv_at_a_screening_prevalence():
    from thermocad.reporting.fit_card import prevalence_words as _prevalence

    text = _prevalence({"sensitivity": 0.9, "specificity": 0.8, "n": 20, "n_sick": 8})
    # 0.9 x 0.005 / (0.9 x 0.005 + 0.2 x 0.995) = 0.0221
    assert (
        "40% of the test patients are Sick" in text
        and "give a PPV of 0.022 (of 1,000 women it calls Sick there, about 22 have cancer); "
        "this assumes its Sick means cancer, and rates measured on women chosen by their "
        "diagnosis usually fall in screening (spectrum bias)."
        in text
    )
    # With the rates' intervals, the PPV's range from their ends: sensitivity 0.6-1.0,
    # specificity 0.7-0.9: 0.6 x 0.005 / (0.003 + 0.3 x 0.995) = 0.0099; 0.005 / (0.005 +
    # 0.1 x 0.995) = 0.0478.
    ci = {"sensitivity": (0.6, 1.0), "specificity": (0.7, 0.9)}
    ranged = _prevalence(
        {"sensitivity": 0.9, "specificity": 0.8, "n": 20, "n_sick": 8, "proportion_ci": ci}
    )
    assert ("a PPV of 0.022 (of 1,000 women it calls Sick there, about 22 have cancer); between "
            "0.010 and 0.048 with both at the low or both at the high "
            "ends of their 95% intervals (a range, not a confidence interval)" in ranged)  # fmt: skip
    assert (
        _prevalence({"sensitivity": float("nan"), "specificity": 0.8, "n": 20, "n_sick": 8}) == ""
    )
    # Nobody called Sick: no PPV to say per 1,000 (it had said "about nan"); no false alarm:
    # a PPV of 1, not "1,000 of 1,000" (a diff review).
    nobody = _prevalence({"sensitivity": 0.0, "specificity": 1.0, "n": 20, "n_sick": 8})
    assert "give a PPV of n/a." in nobody and "1,000 women it calls" not in nobody
    clean = _prevalence({"sensitivity": 0.5, "specificity": 1.0, "n": 20, "n_sick": 8})
    assert (
        "give a PPV of 1.000; this assumes its Sick means cancer" in clean
    )  # no false alarm: it may fall
    assert "1,000 women it calls" not in clean
    missed = _prevalence({"sensitivity": 0.0, "specificity": 0.9, "n": 20, "n_sick": 8})
    assert "give a PPV of 0.000." in missed and "about 0 have" not in missed  # calls none right
    from thermocad.reporting.fit_card import _ppv

    assert _ppv({"sensitivity": 0.9, "specificity": 0.8, "counts": {"tp": 9, "fn": 1}}) == []


def test_the_metrics_table_names_the_interval_each_proportion_has():
    m = {"sensitivity": 0.5, "proportion_ci": {"sensitivity": (0.2, 0.8)}, "bootstrap_ci": {}}
    assert "<td>Wilson</td>" in R.metrics_table(m)  # older metrics.json: no method, Wilson
    several = R.metrics_table(
        {**m, "proportion_ci_method": "patient bootstrap (a woman's images drawn together)"}
    )
    assert "<td>Wilson</td>" not in several and "bootstrap over patients" in several
    # A PPV undefined in many replicates (nobody called Sick there) has none, and says why.
    why = "undefined in 184 of 500 resamples; an interval needs 95% of them defined"
    ppv = R.metrics_table({**m, "ppv": 1.0, "proportion_ci_method": "patient bootstrap",
                           "proportion_ci": {**m["proportion_ci"], "ppv": (float("nan"),) * 2},
                           "bootstrap_ci_reasons": {"ppv": why}})  # fmt: skip
    assert f"<td>none: {why}</td>" in ppv and "bootstrap over patients" in ppv


def test_a_metrics_table_says_why_an_interval_is_missing():
    nan = (float("nan"), float("nan"))
    m = {"roc_auc": 0.833, "brier": 0.2, "n": 4, "bootstrap_ci": {"roc_auc": nan, "brier": nan}}
    html = R.metrics_table(m)
    assert "0.833" in html and "none: fewer than 5 women of a class" in html
    m["bootstrap_ci"] = {"roc_auc": (0.7, 0.9), "brier": (0.1, 0.3)}
    assert "bootstrap over patients" in R.metrics_table(m)


def test_the_report_shows_the_calibration_and_pr_auc_intervals_or_why_not(tmp_path):
    from thermocad.evaluation.bootstrap import summarize

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    prob = 1 / (1 + np.exp(-(rng.normal(0, 1.5, 60) + 1.5 * (2 * y - 1))))
    m = summarize(pd.DataFrame({"patient_id": range(60), "y": y, "prob": prob}), 0.5, n_boot=200)
    lo, hi = m["bootstrap_ci"]["calibration_slope"]
    shown = f'{m["calibration_slope"]:.3f} <span class="ci">({lo:.3f}-{hi:.3f})</span>'
    table = R.metrics_table(m)
    assert "<td>calibration slope</td>" in table and shown in table
    for key, name in (("pr_auc", "PR AUC"), ("calibration_intercept", "calibration intercept"),
                      ("brier", "Brier score")):  # fmt: skip
        row = table.split(f"<td>{name}</td>")[1].split("</tr>")[0]
        assert f"{m['bootstrap_ci'][key][1]:.3f})" in row and "bootstrap over patients" in row
    test = {"image": m}
    section = R.calibration_section(test, tmp_path)
    assert f"slope {m['calibration_slope']:.3f} ({lo:.3f}-{hi:.3f})" in section
    # P(Sick) separating the women: no slope, and no interval, with the reason in the table.
    apart = summarize(pd.DataFrame({"patient_id": range(60), "y": y, "prob": 0.2 + 0.6 * y}), 0.5, n_boot=50)  # fmt: skip
    row = R.metrics_table(apart).split("<td>calibration slope</td>")[1].split("</tr>")[0]
    assert "n/a" in row and "none: undefined in 50 of 50 resamples (P(Sick) separates" in row
    # A metrics.json from before these intervals: the figure alone, no interval named.
    old = {**m, "bootstrap_ci": {"roc_auc": (0.7, 0.9)}, "bootstrap_ci_reasons": None}
    row = R.metrics_table(old).split("<td>PR AUC</td>")[1].split("</tr>")[0]
    assert "bootstrap" not in row and "none" not in row


def test_the_confound_audit_shows_each_aucs_interval():
    n = 30
    cohort = pd.DataFrame({"patient_id": range(n), "label": ["Healthy", "Sick"] * (n // 2),
                           "acquisition_batch": ["A"] * 22 + ["B"] * 8,
                           "room_median": 22.0 + np.arange(n) % 7})  # fmt: skip
    html = P.audit_cells(confound_audit(cohort)).to_html()
    assert "no interval: fewer than 5 Sick and Healthy women" in html  # batch B: 4 of each
    row = (
        P.audit_cells(confound_audit(cohort))
        .set_index("quantity")
        .loc["room temperature (background median, C)"]
    )
    assert re.fullmatch(r"0\.\d{3} \(0\.\d{3}-[01]\.\d{3}\)", row["AUC overall"])


def test_a_smoke_comparison_says_so_at_the_top(tmp_path):
    import json

    from thermocad.reporting.study_files import smoke_note

    run = tmp_path / "compare" / "efficientnet_lite0" / "fold0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"max_batches": None}))
    assert smoke_note(tmp_path / "compare") is None
    (run / "config.json").write_text(json.dumps({"max_batches": 2}))
    assert "A smoke run (2 batches per epoch" in smoke_note(tmp_path / "compare")
    html = R.write_report(tmp_path / "r.html", compare_dir=tmp_path / "compare").read_text()
    assert html.index("A smoke run") < html.index('<section id="disclaimer">')


def test_the_summary_says_when_other_models_were_scored_on_the_test_women(tmp_path):
    from thermocad.evaluation import lockbox as L
    from thermocad.reporting.summary import at_a_glance

    pred = pd.DataFrame({"path": ["a", "b"], "patient_id": [1, 2], "prob": [0.2, 0.8]})
    ledger = tmp_path / "split.test_openings.jsonl"
    box = L.record_opening(ledger, pred, "study")
    test = {"patient": {"n": 2, "n_sick": 1, "roc_auc": 1.0, "sensitivity": 1.0,
                        "specificity": 1.0}, "threshold": 0.5, "model": "m", "lockbox": box}  # fmt: skip
    assert "different models" not in at_a_glance(None, test, "m")
    L.record_opening(ledger, pred.assign(prob=[0.3, 0.7]), "another")  # scored since
    assert "2 different models have now been scored on these women" in at_a_glance(None, test, "m")
    # With dates, the period-matched cell gives n, Sick and why it has no interval, and a
    # subset the model does not separate beyond 0.5 is said under the table.
    periods = {"subsets": {"period-matched": {"n": 7, "n_sick": 3, "roc_auc": 0.333, "ci": None}}}
    glance = at_a_glance(None, {**test, "by_period": periods}, "m")
    assert "0.333 (no interval: fewer than 5 Sick and Healthy women), n=7 (3 Sick)" in glance
    # The test women's own AUC says why it has no interval too (a degenerate-cohorts review:
    # a bare 1.000 of 2 women beside a period cell that gave its reason).
    assert "<td>1.000 (no interval: fewer than 5 Sick and Healthy women)</td>" in glance
    assert "Read the period-matched column first" in glance
    assert ("<b>Among the period-matched women the selected model is not shown to tell Sick from "
            "Healthy</b> (AUC 0.333, 7 women, no interval)") in glance  # fmt: skip
    periods["subsets"]["period-matched"].update(roc_auc=1.0, ci=[None, None])  # as metrics.json
    assert "(AUC 1.000, 7 women, no interval)" in at_a_glance(
        None, {**test, "by_period": periods}, "m"
    )
    periods["subsets"]["period-matched"].update(n=40, n_sick=20, roc_auc=0.9, ci=[0.8, 0.97])
    assert "not shown to tell" not in at_a_glance(None, {**test, "by_period": periods}, "m")
    assert "period-matched column first" not in at_a_glance(None, test, "m")  # no dates
    synthetic = at_a_glance(None, {**test, "by_period": periods}, "m", "synthetic patients")
    assert "least among the synthetic patients of a batch" in synthetic
    # A synthetic cohort's figures are not said to be of women.
    glance = at_a_glance(None, test, "m", "synthetic patients")
    assert '<th scope="col">synthetic patients (Sick)</th>' in glance and "women" not in glance.replace(
        "unseen-women", "")  # fmt: skip


def test_a_test_set_whose_scores_separate_the_classes_says_why_it_has_no_slope(tmp_path):
    from thermocad.evaluation.bootstrap import summarize

    df = pd.DataFrame({"patient_id": range(12), "y": [0] * 6 + [1] * 6,
                       "prob": np.r_[np.linspace(0.05, 0.4, 6), np.linspace(0.6, 0.95, 6)]})  # fmt: skip
    m = summarize(df, 0.5, n_boot=50)
    text = html.unescape(R.calibration_section({"image": m}, tmp_path))
    assert "slope n/a (P(Sick) separates the classes: no finite slope)" in text
    assert f"calibration intercept {m['calibration_intercept']:.3f} (" in text  # it has one


@pytest.mark.parametrize(
    "name", ["study.json", "split.csv", "compare/comparison.csv", "other.html"]
)
def test_report_refuses_an_out_inside_the_study_but_its_report(study_dir, capsys, name):
    """`report STUDY --out STUDY/study.json --force` replaced the study's settings with HTML."""
    from thermocad.cli import main
    from thermocad.pipeline import report_study
    from thermocad.utils.errors import ConfigError

    (study_dir / "study.json").write_text("{}")
    before = {p: p.read_bytes() for p in study_dir.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match=re.escape(f"{study_dir / name}: ")):
        report_study(study_dir, study_dir / name, force=True)
    assert main(["report", str(study_dir), "--out", str(study_dir / name), "--force"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert {p: p.read_bytes() for p in study_dir.rglob("*") if p.is_file()} == before
    assert report_study(study_dir, study_dir / "report.html") == study_dir / "report.html"
    # The glossary says the study's own resamples, read from study.json.
    (study_dir / "study.json").write_text('{"n_boot": 20}')
    report_study(study_dir, study_dir / "report.html", force=True)
    assert "20 times in this report" in (study_dir / "report.html").read_text()


def test_report_wants_an_html_name_and_the_study_folder_not_a_file(study_dir, tmp_path, capsys):
    from thermocad.cli import main

    assert main(["report", str(study_dir), "--out", str(tmp_path / "report.txt")]) == 2
    assert capsys.readouterr().err == (f"thermocad: error: {tmp_path / 'report.txt'}: --out is "
                                       "written as an HTML page: give it a name ending in .html\n")  # fmt: skip
    assert not (tmp_path / "report.txt").exists()
    assert main(["report", str(study_dir), "--out", str(tmp_path / "Report.HTML")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "Report.HTML")]) == 2  # a file given as the study
    assert capsys.readouterr().err == (f"thermocad: error: {tmp_path / 'Report.HTML'}: is a "
                                       "file; give the study's folder\n")  # fmt: skip


def test_gradcam_shows_the_top_sick_the_top_false_alarm_and_the_worst_miss(tmp_path):
    """A reviewer: the Grad-CAM panels never showed a false alarm, where a shortcut shows."""
    from thermocad.reporting.modelcard import _examples

    # (a row whose path is no thermogram's, in a crafted folder, is never read into the page)
    pd.DataFrame({"path": [f"{c}.txt" for c in "abcdef"] + ["/home/me/.env"],
                  "y": [1, 1, 1, 0, 0, 0, 1],
                  "prob": [0.9, 0.5, 0.1, 0.8, 0.3, 0.2, 0.99]}).to_csv(
        tmp_path / "predictions.csv", index=False)  # fmt: skip
    assert _examples(tmp_path, 3)["path"].tolist() == ["a.txt", "d.txt", "c.txt"]


def test_the_result_counts_the_candidates_that_were_chosen_among():
    """A candidate that failed in every outer fold's inner folds was never among the choices."""
    from thermocad.reporting.summary import _candidates

    folds = [{"inner_patient_auc": {"baseline": 0.7}}, {"inner_patient_auc": {"baseline": 0.0}}]
    nested = {"candidates": ["baseline", "lite0", "lite0+baseline"], "folds": folds}
    assert _candidates(nested) == "1 of 3 candidates (the others failed in every fold)"
    folds[1]["inner_patient_auc"].update({"lite0": 0.6, "lite0+baseline": 0.8})
    assert _candidates(nested) == "3 candidates"


def test_the_gradcam_note_says_the_map_explains_the_cnn_half_of_a_mean(run_dir, tmp_path):
    """A reviewer: a false alarm the baseline half made was shown as where 'the network looked
    for its Sick score'; the section says the map is the CNN half's."""
    from thermocad.reporting.modelcard import gradcam_section

    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    pd.DataFrame({"path": split["path"].head(2), "y": [1, 0], "prob": [0.7, 0.6]}).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    html = gradcam_section(run_dir, tmp_path, n=2, threshold=0.5)
    assert "Not available" not in html and html.count("<img") == 2
    assert "The map explains the CNN half only" in html  # the smoke run serves the mean


def test_what_scrolls_sideways_is_reachable_by_the_keyboard(tmp_path):
    """A wide table or strip of panels scrolls inside itself on a phone: it takes the focus
    (tabindex), as browsers that do not focus scrolling boxes need; a 2 x 2 grid is shown as
    tall as its rows there."""
    from PIL import Image

    from thermocad.reporting.html import img, table

    png = tmp_path / "p.png"
    Image.new("RGB", (8, 4)).save(png)
    assert '<table class="dataframe t" tabindex="0">' in table(pd.DataFrame({"a": [1.5]}))
    strip = img(png, "a strip", wide=True)
    assert 'class="wide" tabindex="0" role="region" aria-label="a strip"' in strip
    assert "--phone-height" not in strip
    assert 'style="--phone-height:600px"' in img(png, "a grid", wide=True, rows=2)
    assert "tabindex" not in img(png, "one figure")


def test_a_report_on_an_image_level_split_says_its_figures_are_optimistic(tmp_path):
    # It had said "patient-grouped folds" and "never scored on a woman it was trained on".
    rows = {"path": ["a.txt", "b.txt", "c.txt", "d.txt"], "patient_id": [1, 1, 2, 3],
            "label": ["Sick", "Sick", "Healthy", "Healthy"], "split": ["train", "valid"] * 2,
            "split_unit": "image"}  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "split.csv", index=False)
    text = html.unescape(R.write_report(tmp_path / "r.html", split_csv=tmp_path / "split.csv")
                         .read_text())  # fmt: skip
    top = text[: text.index('<section id="disclaimer">')]
    assert "IMAGE-level split" in top and "1 woman has images in more than one" in top
    assert "Split by image (this report)" in text and "Split by patient" not in text
    pd.DataFrame({**rows, "split_unit": "patient", "patient_id": [1, 4, 2, 3]}).to_csv(
        tmp_path / "split.csv", index=False)  # fmt: skip
    text = R.write_report(tmp_path / "r.html", split_csv=tmp_path / "split.csv", force=True)
    assert "IMAGE-level" not in text.read_text() and "Split by patient" in text.read_text()


@pytest.mark.skipif(not __import__("PIL.features").features.check("webp"),
                    reason="this Pillow has no WebP: every figure stays PNG")  # fmt: skip
def test_a_large_figure_is_embedded_as_webp_and_a_plot_as_png(tmp_path):
    """Thermogram figures (galleries, Grad-CAM) are most of a report's bytes: over
    PNG_AS_IS_BYTES they go in as WebP, same size in pixels; the PNG file is left as it is."""
    import base64
    import io

    from PIL import Image

    from thermocad.reporting.html import PNG_AS_IS_BYTES, img

    rng = np.random.default_rng(0)
    noisy = tmp_path / "gallery.png"
    Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(noisy)
    assert noisy.stat().st_size > PNG_AS_IS_BYTES
    before = noisy.read_bytes()
    figure = img(noisy, "a gallery")
    data = base64.b64decode(figure.split("data:image/webp;base64,")[1].split('"')[0])
    with Image.open(io.BytesIO(data)) as embedded:
        assert embedded.format == "WEBP" and embedded.size == (400, 300)
    assert noisy.read_bytes() == before
    plot = tmp_path / "roc.png"
    Image.new("RGB", (400, 300), "white").save(plot)
    assert 'src="data:image/png;base64,' in img(plot, "a plot")


def test_a_study_from_before_best_served_names_its_selected_model(study_dir):
    """An older study's best.json has only `best` and its test metrics no `model`: the top
    table named the selected model '?' (an upgrade review)."""
    best_json = study_dir / "compare" / "best.json"
    best = json.loads(best_json.read_text())
    best_json.write_text(json.dumps({k: v for k, v in best.items() if k != "best_served"}))
    metrics = study_dir / "compare" / "test" / "metrics.json"
    if metrics.exists():
        test = json.loads(metrics.read_text())
        metrics.write_text(json.dumps({k: v for k, v in test.items() if k != "model"}))
    inputs = find_study_inputs(study_dir)
    text = R.write_report(study_dir / "report.html", **inputs, force=True).read_text()
    assert f"<b>Selected model</b>: {best['best']}, chosen" in text
    assert "<b>Selected model</b>: ?" not in text


def test_the_model_card_dates_the_model_by_its_training_not_its_files_copy(tmp_path):
    """model.json's mtime is lost to a plain `cp`: the card reads trained_utc where it is kept
    (models trained since 2026-12-07), the file's time otherwise."""
    import json

    from thermocad.reporting.modelcard import _provenance

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text(json.dumps({}))
    meta = {"thermocad_version": "0.1.0", "trained_utc": "2020-01-02T03:04:05Z"}
    assert "written 2020-01-02 by thermocad 0.1.0" in _provenance(meta, run, None)
    os.utime(run / "model.json", (0, 0))  # 1970: an older model's card reads the file's time
    assert "written 1970-01-01 by thermocad" in _provenance({"thermocad_version": "0"}, run, None)


def test_the_cards_failures_count_women_first():
    """A CLAIM review: "21 missed Sick" of images beside a patient-level table showing 1."""
    from thermocad.reporting.modelcard import _failures

    counts = {"tp": 5, "tn": 9, "fp": 1, "fn": 1}
    test = {"patient": {"counts": counts},
            "image": {"counts": {"tp": 80, "tn": 150, "fp": 21, "fn": 21}}}  # fmt: skip
    assert _failures(test).startswith("On the test women: 1 missed Sick (false negatives) and "
                                      "1 false alarms; counted per image, 21 missed and 21 false alarms; see")  # fmt: skip
    assert _failures({"image": test["image"]}).startswith("On the test images: 21 missed Sick")
