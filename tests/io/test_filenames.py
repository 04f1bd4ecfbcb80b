"""DMR file names: patient, view, protocol, acquisition time, sequence number."""

from __future__ import annotations

import pytest

from thermocad.io.filenames import parse_dmr_name
from thermocad.utils.errors import CohortError


@pytest.mark.parametrize(
    ("name", "patient", "view", "protocol", "acquired", "sequence"),
    [
        ("T0287.1.1.D.2015-07-20.18.txt", 287, "frontal", "dynamic", "2015-07-20T18:00", 18),
        ("T0287.1.2.S.2015-07-20.09.txt", 287, "right45", "static", "2015-07-20T09:00", 9),
        ("T0012.1.3.S.2016-01-02.7.png", 12, "right90", "static", "2016-01-02T07:00", 7),
        ("T0012.1.4.D.2016-01-02.10.txt.gz", 12, "left45", "dynamic", "2016-01-02T10:00", 10),
        ("T0287.1.1.D.2015-07-20.18.txt.GZ", 287, "frontal", "dynamic", "2015-07-20T18:00", 18),
        ("T0012.1.5.D.2016-01-02.10.npy", 12, "left90", "dynamic", "2016-01-02T10:00", 10),
        # a number that cannot be an hour is a frame: the date stays, the number is kept
        ("T0005.1.1.D.2015-07-20.101.txt", 5, "frontal", "dynamic", "2015-07-20", 101),
        ("T0001.1.1.S.2015-07-20.18.3.TIFF", 1, "frontal", "static", "2015-07-20T18:00", 3),
        ("T0287.txt", 287, "unknown", "unknown", "", None),
        ("t0042.jpg", 42, "unknown", "unknown", "", None),
        # a view code DMR-IR does not use is no frontal view: "unknown" is for no code at all
        ("T0287.1.9.S.2015-07-20.18.txt", 287, "unrecognised", "static", "2015-07-20T18:00", 18),
        ("T0012.2.3.S.2012-10-26.10.txt", 12, "unrecognised", "static", "2012-10-26T10:00", 10),
        ("T0013.2.1.S.2012-10-26.10.txt", 13, "unrecognised", "static", "2012-10-26T10:00", 10),
    ],
)
def test_parse_dmr_name(name, patient, view, protocol, acquired, sequence):
    parsed = parse_dmr_name(f"/data/sub/{name}")
    assert (parsed.patient_id, parsed.view, parsed.protocol) == (patient, view, protocol)
    assert (parsed.acquired, parsed.sequence) == (acquired, sequence)


def test_view_code_is_kept():
    assert parse_dmr_name("T0287.1.4.S.2015-07-20.18.txt").view_code == "1.4"
    assert parse_dmr_name("T0287.txt").view_code == ""


@pytest.mark.parametrize(
    "name",
    [
        "patient287.txt",
        "T.txt",
        "T0287",
        "T0287.1.1.X.txt",
        "T0287.exe",
        "T0287.1.1.S.2015-13-40.txt",
    ],
)
def test_bad_names_raise(name):
    with pytest.raises(CohortError, match=name.replace(".", r"\.")):
        parse_dmr_name(name)


def test_patient_number_of_any_name():
    from thermocad.io.filenames import patient_number

    assert patient_number("a/T0287.1.1.D.2015-07-20.18.txt") == 287
    assert patient_number("T0012.npy") == 12
    assert patient_number("T0001.1.1.S.2015-02-30.10.txt") == 1  # a bad date: still her number
    assert patient_number("scan.png") is None and patient_number("T12.md") is None
    assert patient_number("T\u0663.1.1.png") is None  # an Arabic-Indic 3 is no DMR number


@pytest.mark.parametrize(
    ("name", "number"),
    [("T0002_rgb.png", 2), ("T0002-left.txt", 2), ("T0002 scan (1).txt.gz", 2),
     ("T0002x.png", None), ("scan_T0002.png", None), ("T0002_rgb.md", None),
     ("t1_weighted.png", None), ("T12-left.txt", None), ("T\u0660\u0660\u0660\u0663_rgb.png", None)],
)  # fmt: skip
def test_a_tagged_name_gives_its_number_only_for_a_file_to_predict(name, number):
    from thermocad.io.filenames import patient_number

    # "T0002_rgb.png": the training-women note must still see patient 2; a cohort does not
    # guess a number from such a name (parse_dmr_name refuses it)
    assert patient_number(name, copies=True) == number
    assert patient_number(name) is None


@pytest.mark.parametrize(
    "name",
    ["T0602.1.5.S.2026-06-04.01 (1).txt", "T0602.1.5.S.2026-06-04.01 - Copy.txt",
     "T0602.1.5.S.2026-06-04.01 copy 2.txt", "T0602.1.5.S.2026-06-04.01(12).txt.gz"],
)  # fmt: skip
def test_a_copys_name_is_read_as_the_originals_only_when_asked(name):
    from thermocad.io.filenames import patient_number, without_copy_mark

    parsed = parse_dmr_name(name, copies=True)  # for predict, explain and the app
    assert (parsed.patient_id, parsed.view) == (602, "left90")
    assert patient_number(name, copies=True) == 602
    assert without_copy_mark(name).startswith("T0602.1.5.S.2026-06-04.01.txt")
    with pytest.raises(CohortError, match="not recognised"):  # a cohort counts no copy twice
        parse_dmr_name(name)
    assert without_copy_mark("T0012 (1)x.txt") == "T0012 (1)x.txt"  # only right before .txt


def test_name_view_reads_a_name_whose_date_cannot_be_one():
    from thermocad.io.filenames import InvalidDateError, name_view, parse_dmr_name

    with pytest.raises(InvalidDateError, match="invalid date '2014-02-30'"):
        parse_dmr_name("T0030.1.2.S.2014-02-30.09.txt")  # a cohort still refuses it
    read = name_view("T0030.1.2.S.2014-02-30.09 (1).txt")
    assert (read.patient_id, read.view, read.view_code, read.acquired) == (30, "right45", "1.2", "")
    assert name_view("scan.txt") is None
