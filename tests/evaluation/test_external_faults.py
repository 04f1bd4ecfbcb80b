"""`evaluate --data`: new-user findings (a file in another unit, --no-tta, --numbered-apart,
small classes, one class, the threshold's float noise)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from thermocad.evaluation.external import evaluate_external, external_table
from thermocad.utils.errors import ConfigError


@pytest.fixture
def women(tmp_path):
    """12 synthetic women numbered from 101 (the smoke run trained on 0..27), half Sick."""
    from thermocad.synth.cohort import generate_cohort

    labels = generate_cohort(tmp_path / "new", n_patients=12, seed=5, height=64, width=80,
                             sick_fraction=0.5, first_id=101)  # fmt: skip
    return tmp_path / "new", labels


def _as_png(data, pid: int) -> None:
    """Woman `pid`'s file saved as an 8-bit PNG (image intensities), her text file removed."""
    src = next(data.glob(f"T{pid:04d}.*"))
    array = np.loadtxt(src) if src.suffix == ".txt" else np.load(src)
    scaled = (array - array.min()) / (array.max() - array.min()) * 255
    Image.fromarray(scaled.astype(np.uint8)).save(data / f"T{pid:04d}.png")
    src.unlink()


def test_a_file_in_another_unit_is_a_fault_of_the_folder(run_dir, women, tmp_path):
    data, labels = women
    _as_png(data, 101)
    out = tmp_path / "ext"
    with pytest.raises(ConfigError) as err:  # refused before scoring, the woman named
        evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20)
    text = str(err.value)
    assert "1 of the 12 labelled women would get no score for a fault of the folder" in text
    assert (
        "patient 101 (" in text
        and "T0101.png: image intensities (8/16-bit grey levels), not the model's temperatures (°C)"
        in text
    )
    assert "split" not in text and not labels.with_name("labels.test_openings.jsonl").exists()
    cohort = pd.read_csv(out / "cohort" / "cohort.csv")  # it gives the file's reason
    assert cohort.loc[cohort["patient_id"] == 101, "excluded_reason"].str.startswith(
        "image intensities").all()  # fmt: skip
    result = evaluate_external(run_dir, data, labels, out_dir=out, n_boot=20, force=True,
                               allow_unscored=True)  # fmt: skip
    assert result["women"]["scored"] == 11 and result["served"]["patient"]["n"] == 11
    assert [w["patient_id"] for w in result["women"]["not_scored"]] == [101]
    assert "- Not scored: patient 101" in (out / "external.md").read_text()


def test_one_class_is_refused_even_with_allow_unscored(run_dir, women, tmp_path, capsys):
    data, labels = women
    table = pd.read_csv(labels)
    for pid in table.loc[table["diagnosis"] == "Sick", "patient_id"]:
        next(data.glob(f"T{pid:04d}.*")).write_bytes(b"")  # unreadable
    with pytest.raises(ConfigError, match=r"the women to be scored are 0 Sick women, "
                       r"6 Healthy women: AUC, sensitivity and specificity need"):  # fmt: skip
        evaluate_external(run_dir, data, labels, out_dir=tmp_path / "ext", n_boot=20,
                          allow_unscored=True)  # fmt: skip
    assert not labels.with_name("labels.test_openings.jsonl").exists()  # no opening counted


def test_no_tta_and_numbered_apart_are_recorded(run_dir, women, tmp_path, capsys):
    data, labels = women
    run = shutil.copytree(run_dir, tmp_path / "run")
    meta = json.loads((run / "model.json").read_text())
    meta.setdefault("config", {})["tta"] = 4  # validated with 4 augmented copies
    meta["threshold"] = 0.12078164000000001  # a float32 printed as a float64
    (run / "model.json").write_text(json.dumps(meta))
    table = pd.read_csv(labels)
    table.loc[0, "patient_id"] = 3  # a number a training woman has: another site's woman
    table.to_csv(labels, index=False)
    next(data.glob("T0101.*")).rename(data / "T0003.txt")
    out = tmp_path / "ext"
    result = evaluate_external(run, data, labels, out_dir=out, n_boot=20, tta=False,
                               numbered_apart=True)  # fmt: skip
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["tta_note"] == "scored without the 4 augmented copies its threshold was " \
        "chosen with (--no-tta): a call near the threshold may differ"  # fmt: skip
    assert saved["numbered_apart"] == {"given": True, "shared_with_training": 1}
    head = "\n".join((out / "external.md").read_text().splitlines()[:12])  # under the warnings
    assert "**Scored without the 4 augmented copies its threshold was chosen with" in head
    assert "set aside (--numbered-apart): 1 of these patient numbers is also a training" in head
    assert result["threshold"] == 0.12078164 and "0.12078164000000001" not in json.dumps(saved)


def test_the_threshold_is_written_without_float_noise():
    from thermocad.evaluation.external import tidy

    assert tidy(0.12078164000000001) == 0.12078164
    assert repr(tidy(float(np.float32(0.3)))) == "0.3"
    assert tidy(0.123456789012345) == 0.123456789012345  # a float64's own digits are kept


def test_auc_without_an_interval_says_why():
    periods = {"primary_batch": "A", "subsets": {
        "overall": {"n": 9, "n_sick": 3, "roc_auc": 0.861, "ci": [float("nan")] * 2},
        "batch A": {"n": 9, "n_sick": 3, "roc_auc": 0.861, "ci": None},
        "period-matched": {"n": 6, "n_sick": 5, "roc_auc": 0.8, "ci": None}}}  # fmt: skip
    patient = {"n": 9, "n_sick": 3, "sensitivity": 0.5, "specificity": 0.5,
               "proportion_ci": {"sensitivity": (0.1, 0.9), "specificity": (0.2, 0.8)}}  # fmt: skip
    table = external_table({"model": "m", "served": {"by_period": periods, "patient": patient},
                            "halves": {}})  # fmt: skip
    assert "| m (served) | 0.861 (no interval: fewer than 5 Sick women) |" in table
    # the batch and period-matched cells too, each by its own women
    assert "| 0.861 (no interval: fewer than 5 Sick women), n=9 |" in table
    assert "0.800 (no interval: fewer than 5 Healthy women), n=6" in table


def test_the_synthetic_note_only_when_numbers_are_shared(tmp_path, capsys):
    from thermocad.evaluation.trained_files import synthetic_note

    synthetic = {"data": {"synthetic_share": 1.0}}
    synthetic_note(synthetic, tmp_path / "run", tmp_path, shared=0)
    assert capsys.readouterr().err == ""
    synthetic_note(synthetic, tmp_path / "run", tmp_path, shared=2)
    assert "give --numbered-apart" in capsys.readouterr().err


def test_a_file_cut_short_is_a_fault_of_the_folder():
    """prepare excludes a frame smaller than the others' (a file cut at a line end): the folder's
    fault, so evaluate --data refuses (unless --allow-unscored), not the study's filter."""
    from thermocad.evaluation.coverage import women_scored

    labels = pd.DataFrame({"patient_id": [1, 2], "diagnosis": ["Healthy", "Sick"]})
    reason = "frame size 32x80 unlike the cohort's 64x80: a file cut short at the end of a line"
    cohort = pd.DataFrame({"path": ["/d/T0001.txt", "/d/T0002.txt"], "patient_id": [1, 2],
                           "excluded_reason": ["", reason]})  # fmt: skip
    (woman,) = women_scored(labels, cohort, "/d")["not_scored"]
    assert woman["patient_id"] == 2 and woman["fault"] and "frame size 32x80" in woman["why"]


def test_external_md_says_when_the_run_keeps_no_record_of_its_training_women():
    """An older thermocad's run, without its women's numbers: external.md says they could not
    be checked by number (the log had said so, the file nothing)."""
    from thermocad.evaluation.external_report import _set_aside

    unknown = _set_aside({"numbered_apart": {"given": False, "shared_with_training": None}})
    assert "**The run keeps no record of its training women's numbers" in "\n".join(unknown)
    assert _set_aside({"numbered_apart": {"given": False, "shared_with_training": 0}}) == []
