"""prepare's checks of names, sizes, batches and dates across the cohort (review findings)."""

from __future__ import annotations

import pandas as pd

from tests.cohort.test_prepare import thermogram, write_text
from thermocad.cohort.prepare import prepare_cohort


def reasons(out) -> dict[str, str]:
    cohort = pd.read_csv(out / "cohort.csv", keep_default_na=False)
    names = cohort["path"].str.rsplit("/", n=1).str[-1]
    return dict(zip(names, cohort["excluded_reason"], strict=True))


def test_view_codes_that_are_no_dmr_view_are_excluded_not_kept_as_unknown(tmp_path):
    data = tmp_path / "data"
    write_text(data / "T0012.2.3.S.2012-10-26.10.txt", thermogram(1))
    write_text(data / "T0013.1.9.S.2012-10-26.10.txt", thermogram(2))
    write_text(data / "T0014.1.1.S.2012-10-26.10.txt", thermogram(3))
    write_text(data / "T0015.txt", thermogram(4))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n12,Healthy\n13,Sick\n14,Healthy\n15,Sick\n")
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1)
    why = reasons(tmp_path / "out")
    assert why["T0012.2.3.S.2012-10-26.10.txt"] == "unrecognised view code 2.3"
    assert why["T0013.1.9.S.2012-10-26.10.txt"] == "unrecognised view code 1.9"
    assert why["T0014.1.1.S.2012-10-26.10.txt"] == why["T0015.txt"] == ""
    assert summary.unknown_view == 1  # the short name alone
    said = "kept images whose file name gives no view (short names): 1, taken as frontal views"
    assert any(line.startswith(said) for line in summary.lines())
    assert summary.exclusions == {"unrecognised view code 2.3": 1, "unrecognised view code 1.9": 1}
    assert "excluded, unrecognised view code 2.3: 1" in summary.lines()


def test_the_mixed_shapes_option_goes_through_the_cli_api_and_study_config(tmp_path):
    from thermocad import api
    from thermocad.cli import main
    from thermocad.study_checks import check_sections

    data = tmp_path / "data"
    write_text(data / "T0001.txt", thermogram(1))
    write_text(data / "T0002.txt", thermogram(2))
    write_text(data / "T0003.txt", thermogram(3, shape=(48, 80)))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n3,Sick\n")
    table = api.prepare(data, labels, workers=1)
    assert table["excluded_reason"].fillna("").str.startswith("frame size 48x80 unlike").sum() == 1
    assert (
        api.prepare(data, labels, workers=1, allow_mixed_shapes=True)["excluded_reason"]
        .isna()
        .all()
    )
    argv = ["prepare", str(data), "--labels", str(labels), "--out", str(tmp_path / "o")]
    assert main([*argv, "--allow-mixed-shapes", "--workers", "1"]) == 0
    assert reasons(tmp_path / "o")["T0003.txt"] == ""
    check_sections({"prepare": {"allow_mixed_shapes": True}})  # a study config may set it


def test_a_tie_between_frame_sizes_keeps_the_larger(tmp_path):
    """Half the files cut short: no majority, and a cut file is the smaller one."""
    data = tmp_path / "data"
    write_text(data / "T0001.txt", thermogram(1, shape=(32, 80)))
    write_text(data / "T0002.txt", thermogram(2))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    why = reasons(tmp_path / "out")
    assert why["T0001.txt"].startswith("frame size 32x80 unlike the cohort's 64x80")
    assert why["T0002.txt"] == ""


def test_batches_are_upper_cased_and_those_from_the_file_format_are_counted(tmp_path, capsys):
    data = tmp_path / "data"
    for pid in range(1, 5):
        write_text(data / f"T000{pid}.txt", thermogram(pid), sep=";" if pid == 4 else " ")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis,acquisition_batch\n1,Healthy,a\n2,Sick, A \n"
                      "3,Healthy,\n4,Sick,\n")  # fmt: skip
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")
    assert cohort.set_index("patient_id")["acquisition_batch"].to_dict() == {
        1: "A", 2: "A", 3: "A", 4: "B"}  # fmt: skip
    assert summary.batches == {"A": 3, "B": 1}  # `a` and `A` are one batch
    err = capsys.readouterr().err
    assert ("acquisition batches: 2 kept images have no acquisition_batch in the labels "
            "(patients 3, 4), so the file's text format gave it") in err  # fmt: skip
    labels.write_text("patient_id,diagnosis,acquisition_batch\n1,Healthy,a\n2,Sick,A\n"
                      "3,Healthy,a\n4,Sick,b\n")  # fmt: skip
    prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    assert "acquisition batches:" not in capsys.readouterr().err  # every batch given


def test_a_woman_whose_files_give_two_batches_is_in_none(tmp_path, capsys):
    """Her batch came from whichever file was first (a batch-B Sick woman counted in batch A's
    table, where the date separates the classes least); now it is unknown, and said."""
    data = tmp_path / "data"
    write_text(data / "T0001.1.1.S.2014-01-01.10.txt", thermogram(1), sep=";")
    write_text(data / "T0001.1.1.D.2014-01-01.11.txt", thermogram(1), sep=" ")
    write_text(data / "T0002.txt", thermogram(2), sep=" ")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Sick\n2,Healthy\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")
    batches = cohort.groupby("patient_id")["acquisition_batch"].agg(lambda b: set(b.fillna("")))
    assert batches.to_dict() == {1: {""}, 2: {"A"}}
    assert ("the files of 1 patient(s) (1) give different batches (their text formats differ)"
            in capsys.readouterr().err)  # fmt: skip
    labels.write_text("patient_id,diagnosis,acquisition_batch\n1,Sick,B\n2,Healthy,A\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")  # the labels' batch is hers
    assert set(cohort.loc[cohort["patient_id"] == 1, "acquisition_batch"]) == {"B"}
    assert "give different batches" not in capsys.readouterr().err
    # An excluded file (a lateral view in the other format) leaves the kept image's batch alone.
    (data / "T0001.1.1.D.2014-01-01.11.txt").unlink()
    write_text(data / "T0001.1.4.S.2014-01-01.12.txt", thermogram(1), sep=" ")
    labels.write_text("patient_id,diagnosis\n1,Sick\n2,Healthy\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv").set_index("path")
    assert (
        cohort.loc[str(data.resolve() / "T0001.1.1.S.2014-01-01.10.txt"), "acquisition_batch"]
        == "B"
    )


def test_labels_dates_far_from_the_file_names_are_said_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    for pid, date in ((1, "2015-07-20"), (2, "2015-07-20"), (3, "2016-02-01"), (4, "2016-02-01")):
        write_text(data / f"T000{pid}.1.1.S.{date}.10.txt", thermogram(pid))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis,acquisition_date\n1,Healthy,2015-07-21\n"
                      "2,Sick,2014-01-02\n3,Healthy,\n4,Sick,2016-03-01\n")  # fmt: skip
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "acquisition dates" in ln]
    assert notes == [
        "[thermocad] acquisition dates: for 2 images (patients 2, 4) the labels' "
        "acquisition_date differs by more than a day from the file name's (e.g. patient 2: "
        "2014-01-02 in the labels, 2015-07-20 in the name); the labels' is used (cohort.csv: "
        "acquisition_date; the name's: acquired)"
    ]  # a day apart (patient 1) is the same session; no date in the labels (3): the name's
    dates = pd.read_csv(tmp_path / "out" / "cohort.csv").set_index("patient_id")
    assert dates.loc[2, "acquisition_date"] == "2014-01-02"  # the labels still win
    # Every difference a day and month swapped (a sheet read month first): a warning says so.
    labels.write_text("patient_id,diagnosis,acquisition_date\n1,Healthy,2015-07-20\n"
                      "2,Sick,2015-07-20\n3,Healthy,2016-01-02\n4,Sick,2016-01-02\n")  # fmt: skip
    prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "acquisition dates" in ln]
    assert len(notes) == 1 and notes[0].startswith("[thermocad] warning: acquisition dates: for 2")
    assert notes[0].endswith("; in each, day and month are swapped: were the labels' dates read "
                             "month first? Correct them, or leave the cells empty to take the "
                             "names'")  # fmt: skip


def test_a_kept_cohort_of_one_class_or_too_few_women_of_one_is_warned_of(tmp_path, capsys):
    data = tmp_path / "data"
    for n in range(1, 7):
        write_text(data / f"T{n:04d}.txt", thermogram(n))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n")  # one woman of the six: one class
    prepare_cohort(data, labels, tmp_path / "one", workers=1)  # still written: a warning only
    err = capsys.readouterr().err
    assert ("warning: the kept cohort holds 1 Healthy and 0 Sick women: too few Healthy and Sick "
            "women to train on or to measure a model on") in err  # fmt: skip
    assert "1 of the labels' 1 women matched a file here" in err
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Healthy\n3,Sick\n9,Sick\n")
    prepare_cohort(data, labels, tmp_path / "few", workers=1)
    err = capsys.readouterr().err
    assert "holds 2 Healthy and 1 Sick women: too few Sick women" in err
    assert "3 of the labels' 4 women matched a file here" in err
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Healthy\n3,Sick\n4,Sick\n")
    prepare_cohort(data, labels, tmp_path / "two", workers=1)
    assert "too few" not in capsys.readouterr().err


def test_synths_own_short_names_are_not_said_to_lack_a_view(tmp_path, capsys):
    import shutil

    from thermocad.synth.cohort import generate_cohort

    labels = generate_cohort(tmp_path / "syn", 4, height=64, width=80)
    summary = prepare_cohort(tmp_path / "syn", labels, tmp_path / "out", workers=1)
    assert summary.unknown_view == 0 and "no view" not in capsys.readouterr().err
    other = tmp_path / "other"  # the same short names, not in a folder synth wrote: said
    shutil.copytree(tmp_path / "syn", other, ignore=shutil.ignore_patterns("synth_truth.csv"))
    summary = prepare_cohort(other, labels, tmp_path / "out2", workers=1)
    assert summary.unknown_view == 4
    assert "gives no view (short names): 4, taken as frontal" in capsys.readouterr().err
