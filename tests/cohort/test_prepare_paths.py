"""Paths cohort.csv must be able to name: a folder or file name that is not UTF-8 text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cohort.test_prepare import thermogram, write_text
from thermocad.cohort.prepare import prepare_cohort
from thermocad.io.thermal import read_thermal


@pytest.mark.skipif(sys.platform != "linux", reason="Linux names may hold any bytes")
def test_a_file_whose_path_is_not_utf8_is_excluded_saying_so(tmp_path):
    data = tmp_path / "data"
    latin1 = Path(os.fsdecode(os.fsencode(data) + b"/caf\xe9"))  # a Latin-1 folder name
    write_text(latin1 / "T0001.txt", thermogram(1))
    write_text(data / "T0002.txt", thermogram(2))
    write_text(data / "ok" / "T0003.txt", thermogram(3))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n3,Healthy\n")
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1)
    assert summary.exclusions == {"path not UTF-8": 1}
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    reasons = dict(zip(cohort["patient_id"], cohort["excluded_reason"], strict=True))
    assert reasons == {
        1: "path not UTF-8: the name 'caf\\udce9' is not UTF-8 text; rename it",
        2: "",
        3: "",
    }
    for path in cohort.loc[cohort["excluded_reason"] == "", "path"]:
        read_thermal(path)  # every kept row's path opens again


def test_disks_of_other_systems_files_and_names(tmp_path, capsys):
    """A filesystem review (data from a Mac, a Windows PC, a USB stick): what those systems
    keep on a disk is not taken for thermograms, a name with its extension twice is said, and
    two names differing only in case (one file on macOS and Windows) are warned of."""
    import unicodedata

    data = tmp_path / "data"
    write_text(data / "T0001.txt", thermogram(1))
    write_text(data / "t0001.txt", thermogram(2))  # another file on Linux, the same elsewhere
    write_text(data / "T0002.txt.txt", thermogram(3))  # renamed "T0002.txt", extensions hidden
    write_text(data / "$RECYCLE.BIN" / "S-1-5-21" / "$RAB12CD.txt", thermogram(4))
    write_text(data / "System Volume Information" / "T0005.txt", thermogram(5))
    write_text(data / "~$T0006.txt", thermogram(6))
    write_text(data / "T0007.txt", thermogram(7))
    nfc, nfd = (unicodedata.normalize(form, "São João") for form in ("NFC", "NFD"))
    labels = tmp_path / "labels.csv"  # one batch, its accents typed on Windows and on a Mac
    labels.write_text(f"patient_id,diagnosis,acquisition_batch\n1,Healthy,{nfc}\n"
                      f"2,Sick,{nfd}\n7,Sick,{nfd}\n")  # fmt: skip
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1)
    err = capsys.readouterr().err
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    assert sorted(Path(p).name for p in cohort["path"]) == [
        "T0001.txt", "T0002.txt.txt", "T0007.txt", "t0001.txt"]  # fmt: skip
    names = cohort["path"].map(lambda p: Path(p).name)
    reasons = dict(zip(names, cohort["excluded_reason"], strict=True))
    assert reasons["T0002.txt.txt"].endswith("ends in its extension twice: rename it T0002.txt")
    assert summary.exclusions == {"file name not recognised": 1}
    assert summary.batches == {"SÃO JOÃO": 3}  # one batch, whichever way it was typed
    assert "1 pair(s) of file names differ only in case (e.g. T0001.txt and t0001.txt)" in err
