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
