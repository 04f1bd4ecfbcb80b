"""Patient table: required columns, synonyms, booleans, and clear errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from thermocad.io.labels import read_labels
from thermocad.utils.errors import CohortError


def write(tmp_path, text):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_minimal_table(tmp_path):
    table = read_labels(write(tmp_path, "patient_id,diagnosis\n2,Healthy\n12,Sick\n"))
    assert table["patient_id"].tolist() == [2, 12]
    assert table["diagnosis"].tolist() == ["Healthy", "Sick"]


def test_synonyms_case_and_optional_columns(tmp_path):
    text = (
        "Patient ID, Diagnosis ,Deodorant,Mastectomy,Age,Batch,notes\n"
        "T0002,normal,no,0,45,A,x\n"
        "0012,CANCER,Yes,TRUE,61,B,\n"
        "15, healthy ,,false,,A,y\n"
    )
    table = read_labels(write(tmp_path, text))
    assert table["patient_id"].tolist() == [2, 12, 15]
    assert table["diagnosis"].tolist() == ["Healthy", "Sick", "Healthy"]
    assert table["deodorant"].tolist()[:2] == [False, True] and table["deodorant"].isna()[2]
    assert table["single_breast"].tolist() == [False, True, False]
    assert table["age"].tolist()[:2] == [45, 61] and table["age"].isna()[2]
    assert table["acquisition_batch"].tolist() == ["A", "B", "A"]
    assert table["notes"].tolist() == ["x", "", "y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patient_id,label\n1,Healthy\n2,maybe\n", r"line 3: unknown diagnosis 'maybe'"),
        (
            "patient_id,diagnosis\n1,Healthy\n1,Sick\n",
            r"duplicate patients 1 \(lines 2, 3: they differ, keep the right one\)$",
        ),
        (
            "patient_id,diagnosis\n1,Sick\n2,Healthy\n1,Sick\n",
            r"duplicate patients 1 \(lines 2, 4: the same, keep one\)$",
        ),
        (
            "patient_id,diagnosis\nT0001,Healthy\n\n2,Sick\nT001,Sick\n",
            r"duplicate patients 1 \(lines 2, 5: they differ",
        ),  # a blank line counted
        (
            "patient_id,diagnosis\n1,Sick\n2,Sick\n1,Sick\n2,Healthy\n",
            r"1 \(lines 2, 4: the same, keep one\); 2 \(lines 3, 5: they differ, keep the right",
        ),  # each woman's rows said apart
        ("patient,age\n1,40\n", r"missing required column\(s\) \['diagnosis'\]"),
        ("diagnosis\nSick\n", r"missing required column\(s\) \['patient_id'\]"),
        (  # predict's output given for the labels (a swapped-arguments review)
            "file,patient_id,prob_sick,decision,threshold\nT0001.txt,1,0.7,Sick,0.4\n",
            r"\['diagnosis'\] .*; it is predict's table of P\(Sick\), not a patient table$",
        ),
        ("patient_id,diagnosis\nabc,Sick\n", r"line 2: patient_id 'abc'"),
        ("patient_id,diagnosis,deodorant\n1,Sick,sometimes\n", r"deodorant value 'sometimes'"),
        ("patient_id,diagnosis,age\n1,Sick,old\n", r"line 2: age 'old' is not an age in years"),
        ("patient_id,diagnosis,label\n1,Sick,Sick\n", r"all mean 'diagnosis'"),
        (
            "patient_id,diagnosis,diagnosis\n1,Sick,Healthy\n",
            r"names \['diagnosis'\] more than once",
        ),
        ("sep=;\npatient_id;Age;age\n1;Sick;40\n", r"names \['age'\] more than once"),
        (
            "patient_id,diagnosis,acquisition_date\n1,Sick,2015-02-30\n",
            r"line 2: .*'2015-02-30' is no date in the calendar",
        ),
        (
            "patient_id,diagnosis,acquisition_date\n1,Sick,30/02/2015\n",
            r"'30/02/2015' is not an ISO date",
        ),
        ("", r"not a readable CSV"),
        ("patient_id,diagnosis\n", r"holds no patients \(a header without rows\)"),
        ("patient_id,diagnosis\n,\n,\n", r"holds no patients"),
    ],
)
def test_errors_name_the_file_and_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CohortError, match=message) as info:
        read_labels(path)
    assert str(path) in str(info.value)


def test_a_spreadsheet_or_r_export_reads_as_written(tmp_path):
    """A spreadsheet-export review: R's write.csv writes NA for a missing value (and its row
    names, or a pandas index, as a column without a header); the headerless column is not
    read, NA in an optional column is missing, not an error."""
    text = (
        '"","patient_id","diagnosis","acquisition_date","deodorant","age","batch"\n'
        '"1",2,"Healthy",NA,NA,N/A,"A"\n"2",12,"Sick","2014-03-04","no",51,NA\n'
        '"3",13,"Sick",#N/A,na,,"B"\n'
    )
    table = read_labels(write(tmp_path, text))
    assert list(table.columns) == ["patient_id", "diagnosis", "acquisition_date", "deodorant",
                                   "age", "acquisition_batch"]  # fmt: skip
    assert table["acquisition_date"].tolist() == ["", "2014-03-04", ""]
    assert table["deodorant"].isna()[0] and table["age"].isna()[0] and table["deodorant"].isna()[2]
    assert table["acquisition_batch"].tolist() == ["A", "", "B"]
    with pytest.raises(CohortError, match=r"line 2: patient_id 'NA'"):  # required: still refused
        read_labels(write(tmp_path, "patient_id,diagnosis\nNA,Sick\n"))


def test_utf16_without_a_byte_order_mark_is_named(tmp_path):
    """Every other byte 0: pandas had read it as UTF-8, columns full of NULs."""
    path = tmp_path / "labels.csv"
    path.write_bytes("patient_id,diagnosis\n1,Sick\n".encode("utf-16-le"))
    with pytest.raises(CohortError, match=r"labels\.csv: UTF-16 text \(without a byte order"):
        read_labels(path)
    path.write_bytes("patient_id,diagnosis\n1,Sick\n".encode("utf-16-be"))
    with pytest.raises(CohortError, match=r"UTF-16 text \(without a byte order"):
        read_labels(path)


def test_missing_file(tmp_path):
    with pytest.raises(CohortError, match="not found"):
        read_labels(tmp_path / "nope.csv")


def test_a_folder_given_as_the_labels_is_named_a_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(CohortError) as info:
        read_labels(folder)
    assert str(info.value) == f"{folder}: is a folder, not the labels file"


def test_a_pipe_a_compressed_file_or_a_workbook_is_named_and_never_read(tmp_path):
    """A named pipe would block the header's read forever; a .gz (which pandas would
    decompress, and the separator guess would not) or an .xlsx gives garbled columns."""
    import gzip
    import os
    import zipfile

    fifo = tmp_path / "labels_fifo.csv"
    os.mkfifo(fifo)  # nothing writes to it: opening it to read would wait forever
    with pytest.raises(CohortError, match=r"labels_fifo\.csv: not a regular file \(a pipe"):
        read_labels(fifo)
    packed = tmp_path / "labels.csv.gz"
    packed.write_bytes(gzip.compress(b"patient_id,diagnosis\n1,Sick\n"))
    with pytest.raises(CohortError, match=r"labels\.csv\.gz: a gzip-compressed file"):
        read_labels(packed)
    utf16 = tmp_path / "labels16.csv"
    utf16.write_text("patient_id,diagnosis\n1,Sick\n", encoding="utf-16")
    with pytest.raises(CohortError, match=r"labels16\.csv: UTF-16 text; save it as UTF-8"):
        read_labels(utf16)
    book = tmp_path / "labels.xlsx"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(CohortError, match=r"labels\.xlsx: a zip archive or a spreadsheet"):
        read_labels(book)


def test_a_row_with_too_many_fields_is_one_line(tmp_path):
    path = write(tmp_path, "patient_id,diagnosis\n1,Sick\n2,Healthy\n3,Sick,x,y\n")
    with pytest.raises(CohortError) as info:
        read_labels(path)
    assert "\n" not in str(info.value) and str(info.value).endswith("saw 4)")


@pytest.mark.real
def test_real_labels(dmr_dir):
    table = read_labels(dmr_dir / "labels.csv")
    assert len(table) == 120
    assert table["diagnosis"].value_counts().to_dict() == {"Healthy": 71, "Sick": 49}
    assert set(table["acquisition_batch"]) == {"A", "B"}


def test_a_thermal_matrix_given_as_labels_gives_a_short_message(tmp_path):
    path = write(tmp_path, " ".join(["34.28"] * 640) + "\n" + " ".join(["34.1"] * 640) + "\n")
    with pytest.raises(CohortError, match=r"missing required column\(s\)") as info:
        read_labels(path)
    assert str(path) in str(info.value) and len(str(info.value)) < 300


def test_labels_to_y_marks_the_positive_class():
    from thermocad.io.labels import labels_to_y

    y = labels_to_y(pd.Series(["Sick", "Healthy", "Sick", None]))
    assert y.tolist() == [1, 0, 1, 0] and y.dtype == np.int64


def test_patient_id_too_long_for_an_integer(tmp_path):
    path = write(tmp_path, "patient_id,diagnosis\n1,Healthy\n" + "9" * 30 + ",Sick\n")
    with pytest.raises(CohortError, match=r"line 3: patient_id '9{30}' is too long") as info:
        read_labels(path)  # before: OverflowError: Python int too large to convert to C long
    assert str(path) in str(info.value)
    assert read_labels(write(tmp_path, "patient_id,diagnosis\n" + "9" * 18 + ",Sick\n"))[
        "patient_id"
    ].tolist() == [10**18 - 1]


def test_a_date_with_a_time_zone_keeps_its_day(tmp_path):
    text = "patient_id,diagnosis,acquisition_date\n1,Healthy,2015-07-20T18:00:00Z\n2,Sick,2015-07-21T09:00+01:00\n"
    dates = read_labels(write(tmp_path, text))["acquisition_date"].tolist()
    assert dates == ["2015-07-20", "2015-07-21"]


def test_a_patient_number_is_written_in_ascii_digits(tmp_path):
    # Python's \\d takes any script's digits: '\u0663' (Arabic-Indic 3) was read as patient 3
    path = write(tmp_path, "patient_id,diagnosis\n1,Healthy\nT\u0663,Sick\n")
    with pytest.raises(CohortError, match="line 3: patient_id 'T\u0663' is not a patient number"):
        read_labels(path)


def test_acquisition_dates_with_aliases(tmp_path):
    text = (
        "patient_id,diagnosis,Acquired On\n1,Healthy,2013-08-16\n2,Sick,2015-07-20T18:00\n3,Sick,\n"
    )
    table = read_labels(write(tmp_path, text))
    assert table["acquisition_date"].tolist() == ["2013-08-16", "2015-07-20", ""]
    table = read_labels(write(tmp_path, "patient_id,diagnosis,date\n1,Healthy,2012-10-08\n"))
    assert table["acquisition_date"].tolist() == ["2012-10-08"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("patient_id,diagnosis\n1,Healthy\n\n\n2,Sikc\n", 5),  # blank lines
        ("patient_id,diagnosis\n1,Healthy\n  \n2,Sikc\n", 4),  # a line of spaces
        ('patient_id,diagnosis,notes\n1,Healthy,"a\nb"\n2,Sikc,x\n', 4),  # a cell over 2 lines
        ("sep=;\npatient_id;diagnosis\n\n1;Healthy\n2;Sikc\n", 5),
        ("patient_id,diagnosis\r\n1,Healthy\r\n\r\n2,Sikc\r\n", 4),
    ],
)
def test_errors_give_the_line_of_the_file(tmp_path, text, line):
    with pytest.raises(CohortError, match=rf"labels.csv: line {line}: unknown diagnosis 'Sikc'"):
        read_labels(write(tmp_path, text))
    other = text.replace("Sikc", "Sick").replace("patient_id", "id").replace("2", "x", 1)
    if "x" in other:  # the same line named by another check
        with pytest.raises(CohortError, match=rf"line {line}: patient_id 'x'"):
            read_labels(write(tmp_path, other))


def test_a_frame_with_any_index_is_numbered_as_a_file(tmp_path):
    frame = pd.DataFrame({"patient_id": ["1", "x2"], "diagnosis": ["Healthy", "Sick"]}, ["a", "b"])
    with pytest.raises(CohortError, match=r"the labels table: line 3: patient_id 'x2'"):
        read_labels(frame)


@pytest.mark.parametrize("age", ["inf", "-4", "nan", "121", "1e3", "-inf"])
def test_an_age_that_is_no_age_is_refused_naming_line_and_value(tmp_path, age):
    text = f"patient_id;diagnosis;age\n1;Healthy;50,5\n2;Sick;{age}\n"
    with pytest.raises(CohortError, match=rf"labels.csv: line 3: age '{age}' is not an age"):
        read_labels(write(tmp_path, text))


@pytest.mark.parametrize(
    "value", ["2015-W30-1", "20150720", "2015-07-20junk", "2015-07-20T25:00", "2015-7-20"]
)
def test_only_iso_calendar_dates_are_acquisition_dates(tmp_path, value):
    text = f"patient_id,diagnosis,acquisition_date\n1,Healthy,2015-07-20 09:30:15\n2,Sick,{value}\n"
    with pytest.raises(CohortError, match=rf"labels.csv: line 3: acquisition_date '{value}' "):
        read_labels(write(tmp_path, text))


def test_a_date_whose_time_is_wrong_is_said_so_not_its_day(tmp_path):
    """2014-03-04T24:00 had been 'no date in the calendar' (a dates review)."""
    for value, said in (("2014-03-04T24:00", "has no valid time of day (00:00 to 23:59)"),
                        ("2014-03-04 10:60", "has no valid time of day"),
                        ("2014-02-30T10:00", "is no date in the calendar")):  # fmt: skip
        text = f"patient_id,diagnosis,acquisition_date\n1,Healthy,{value}\n"
        with pytest.raises(
            CohortError, match=rf"line 2: acquisition_date '{value}' {re.escape(said)}"
        ):
            read_labels(write(tmp_path, text))


def test_bad_acquisition_date_names_file_line_and_value(tmp_path):
    path = write(
        tmp_path, "patient_id,diagnosis,acquisition_date\n1,Healthy,2013-08-16\n2,Sick,16/08/2013\n"
    )
    with pytest.raises(CohortError, match=r"labels.csv: line 3: acquisition_date '16/08/2013'"):
        read_labels(path)


def test_a_date_after_today_is_refused_as_a_typo(tmp_path):
    """2041 for 2014 had widened a batch's shared period in silence (a dates review); a day
    ahead is let through, for labels written in a time zone ahead of this one."""
    import datetime

    today = datetime.date.today()
    ahead, later = today + datetime.timedelta(days=1), today + datetime.timedelta(days=2)
    text = f"patient_id,diagnosis,acquisition_date\n1,Healthy,{ahead}\n2,Sick,{later}T09:00\n"
    with pytest.raises(CohortError, match=rf"labels.csv: line 3: acquisition_date "
                       rf"'{later}T09:00' is after today \({today}\): a typo in the year\?$"):  # fmt: skip
        read_labels(write(tmp_path, text))
    kept = read_labels(write(tmp_path, text.replace(f"{later}T09:00", "1950-01-01")))
    assert kept["acquisition_date"].tolist() == [ahead.isoformat(), "1950-01-01"]


def test_spreadsheet_exports_are_read_or_named(tmp_path):
    import pytest

    from thermocad.io.labels import read_labels
    from thermocad.utils.errors import CohortError

    semicolons = tmp_path / "pt_BR.csv"  # Excel's CSV in locales with a decimal comma
    semicolons.write_text("patient_id;diagnosis;age\n1;Sick;50,5\n2;Healthy;40\n")
    table = read_labels(semicolons)
    assert table["patient_id"].tolist() == [1, 2] and table["age"].tolist() == [50.5, 40.0]
    noted = tmp_path / "noted.csv"  # a comma inside a ';' header, and Excel's sep= line
    noted.write_text("sep=;\npatient_id;diagnosis;notes (site, room)\n1;Sick;a, b\n")
    assert read_labels(noted)["notes (site, room)"].tolist() == ["a, b"]
    # Without the sep= line: the header holds more commas than semicolons, but only ';' is
    # on every line as often (it read the header as 3 comma-separated names).
    unmarked = tmp_path / "unmarked.csv"
    unmarked.write_text("patient_id;diagnosis;notes (site, room, camera)\n1;Sick;a\n2;Healthy;b\n")
    assert read_labels(unmarked)["diagnosis"].tolist() == ["Sick", "Healthy"]
    tabs = tmp_path / "tabs.csv"  # sep=<tab>, and a bad row named by its line in the file
    tabs.write_text("sep=\t\npatient_id\tdiagnosis\n1\tSick\nabc\tHealthy\n")
    with pytest.raises(CohortError, match=r"tabs\.csv: line 4: patient_id 'abc'"):
        read_labels(tabs)
    trailing = tmp_path / "trailing.csv"  # the empty rows a spreadsheet leaves at the end
    trailing.write_text("patient_id,diagnosis\n1,Sick\n2,Healthy\n,\n,\n")
    assert len(read_labels(trailing)) == 2
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("patient_id,diagnosis,note\n1,Sick,mamografia não\n".encode("latin-1"))
    with pytest.raises(
        CohortError, match=r"latin1\.csv: not UTF-8 text \(byte 0xe3 on line 2\); save"
    ):
        read_labels(latin)


def test_a_labels_table_with_ids_read_as_floats_is_read_as_whole_numbers():
    import numpy as np

    from thermocad.io.labels import read_labels

    floats = pd.DataFrame({"patient_id": [1.0, 2.0], "diagnosis": ["Sick", "Healthy"]})
    assert read_labels(floats)["patient_id"].tolist() == [1, 2]  # not "'1.0' is not a number"
    missing = floats.assign(patient_id=[1.0, np.nan])
    with pytest.raises(CohortError, match="patient_id '' is not a patient number"):
        read_labels(missing)  # the empty id is named, not a float


def test_a_labels_file_with_ids_written_as_floats_reads_as_the_frame_does(tmp_path):
    """A column of ids saved from a float column (1.0): patient 1, as the same frame is read;
    1.5 is no patient number."""
    path = write(tmp_path, "patient_id,diagnosis\n1.0,Sick\nT0002.00,Healthy\n")
    assert read_labels(path)["patient_id"].tolist() == [1, 2]
    with pytest.raises(CohortError, match="line 2: patient_id '1.5' is not a patient number"):
        read_labels(write(tmp_path, "patient_id,diagnosis\n1.5,Sick\n"))


def test_a_labels_table_is_never_written_over(tmp_path, run_dir, dmr_files, capsys):
    """`--out DATA/labels.csv --force` replaced the user's labels with predictions; a labels
    table in any spelling read_labels takes is refused, thermocad's own tables are not."""
    import os

    from thermocad.cli import main
    from thermocad.cohort.consistency import not_a_labels_table
    from thermocad.utils.errors import OutputExistsError

    tables = {"semicolons.csv": '"patient_id"; "Diagnosis"\n1;Sick\n',
              "label.csv": "Patient,label\n1,Sick\n", "class.csv": "id,class\n1,Sick\n",
              "bom.csv": "\ufeffdiagnosis,patient_id\nSick,1\n"}  # fmt: skip
    for name, text in tables.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        read_labels(tmp_path / name)  # a labels table indeed
        with pytest.raises(OutputExistsError, match="is a patient table"):
            not_a_labels_table(tmp_path / name, "predict")
    ours = {"split.csv": "path,patient_id,label,split\n", "p.csv": "file,patient_id,prob_sick\n",
            "p_patients.csv": "patient_id,n_files,prob_sick,decision\n"}  # fmt: skip
    for name, text in ours.items():
        (tmp_path / name).write_text(text)
        not_a_labels_table(tmp_path / name, "predict")  # --force replaces these
    not_a_labels_table(tmp_path / "none.csv", "predict")  # nothing there: nothing to refuse
    os.mkfifo(tmp_path / "fifo")
    not_a_labels_table(tmp_path / "fifo", "split")  # returns at once: opening it would block
    labels = tmp_path / "label.csv"
    before = labels.read_bytes()
    argv = ["predict", str(run_dir), str(dmr_files[0]), "--out", str(labels), "--force"]
    assert main(argv) == 2 and labels.read_bytes() == before
    assert "predict never writes over one, even with --force" in capsys.readouterr().err


def test_a_column_spelt_like_one_the_table_lacks_is_warned_about(tmp_path, capsys):
    """A misspelt `deodorant` column excludes nobody: the women it names are kept, so say so."""
    from thermocad.io.label_columns import FILTERS
    from thermocad.io.labels import LABEL_FILTERS

    assert tuple(LABEL_FILTERS) == FILTERS
    text = ("patient_id,diagnosis,Deodorent,single breat,notes,acquisition_time\n"
            "2,Healthy,yes,no,x,10:00\n")  # fmt: skip
    labels = write(tmp_path, text)
    table = read_labels(labels)
    assert "deodorant" not in table and table["Deodorent"].tolist() == ["yes"]
    err = capsys.readouterr().err
    assert "column 'Deodorent' is not read as 'deodorant' (did you mean 'deodorant'?)" in err
    assert "column 'single breat' is not read as 'single_breast'" in err
    assert "notes" not in err and "acquisition_time" not in err  # no filter's near miss
    # A misspelt date: without the women's dates the period-matched figures are n/a, silently.
    (tmp_path / "dated").mkdir()
    read_labels(write(tmp_path / "dated", "patient_id,diagnosis,acquisiton_date\n2,Healthy,x\n"))
    assert ("column 'acquisiton_date' is not read as 'acquisition_date' (did you mean "
            "'acquisition_date'?); it is kept as an ordinary column, so the women's dates come "
            "only from full DMR-IR file names") in capsys.readouterr().err  # fmt: skip
    read_labels(labels)
    assert "Deodorent" not in capsys.readouterr().err  # said once (prepare reads it twice)
    (tmp_path / "other").mkdir()
    read_labels(
        write(tmp_path / "other", "patient_id,diagnosis,deodorant,Deodorent\n2,Healthy,no,yes\n")
    )
    assert "Deodorent" not in capsys.readouterr().err  # the table has the real one


def test_a_labels_file_cut_short_is_said_so(tmp_path):
    """A copy stopped partway leaves a last line without its end: the refusal of its diagnosis
    says what probably happened; a whole file's bad value does not."""
    cut = tmp_path / "cut.csv"
    cut.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n3,Hea")
    with pytest.raises(CohortError, match=r"line 4: unknown diagnosis 'Hea' .*last line and has "
                       r"no line end: was the file cut short\?$"):  # fmt: skip
        read_labels(cut)
    whole = tmp_path / "whole.csv"
    whole.write_text("patient_id,diagnosis\n1,Healthy\n2,Hea\n")
    with pytest.raises(CohortError, match=r"\(or normal/cancer\)$"):
        read_labels(whole)
