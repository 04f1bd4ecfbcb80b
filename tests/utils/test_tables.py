"""Reading CSV tables: every unreadable input is one error that names the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thermocad.cli import main
from thermocad.utils.errors import CohortError, ConfigError
from thermocad.utils.tables import read_table


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"split file not found \(make it with `thermocad split`\)"),
        (b"\x93NUMPY\x01\x00\xb8\xff", "not a readable CSV table"),
        (b'a,b\n1,2,3,4\n"x\n', "not a readable CSV table"),
        (b"", "not a readable CSV table"),
        (b"path,label\nx,Sick\n", r"missing columns \['split'\]"),
        (b"path,split\nx,train,extra\n", r"rows have more fields than its header \(path, split\)"),
    ],
)
def test_errors_name_the_file(tmp_path, content, message):
    csv = tmp_path / "t.csv"
    if content is not None:
        csv.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as info:
        read_table(csv, "split file", "thermocad split", ("path", "split"))
    assert str(csv) in str(info.value)


def test_error_class_and_read_csv_options(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("patient_id,diagnosis\n007,Sick\n")
    assert read_table(csv, "labels file", dtype=str)["patient_id"].tolist() == ["007"]
    with pytest.raises(CohortError, match="labels file not found"):
        read_table(tmp_path / "none.csv", "labels file", error=CohortError)


def test_cli_binary_cohort_is_one_line(tmp_path, capsys):
    (tmp_path / "cohort.bin").write_bytes(b"\x93NUMPY\x01\x00\xb8\xff")
    assert main(["split", str(tmp_path / "cohort.bin"), "--out", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thermocad: error:") and "cohort.bin" in err and "Traceback" not in err


def test_markdown_table_formats_floats_and_keeps_other_cells():
    from thermocad.utils.tables import markdown_table

    text = markdown_table(["recipe", "AUC", "n"], [["a", 0.91234, 3], ["b", "0.800 (0.7-0.9)", 4]])
    assert text.splitlines() == [
        "| recipe | AUC | n |",
        "|---|---|---|",
        "| a | 0.912 | 3 |",
        "| b | 0.800 (0.7-0.9) | 4 |",
    ]


def test_fmt_ci_writes_every_estimate_one_way():
    from thermocad.utils.tables import fmt_ci

    assert fmt_ci(0.9123, (0.85, 0.96)) == "0.912 (0.850-0.960)"
    assert fmt_ci(-0.12, (-0.3, 0.05)) == "-0.120 (-0.300 to 0.050)"  # not "-0.300-0.050"
    assert fmt_ci(0.5) == fmt_ci(0.5, (float("nan"), float("nan"))) == "0.500"
    assert fmt_ci(None) == fmt_ci(float("nan"), (0.1, 0.2)) == "n/a"
    # numpy's float32 is no Python float, and pandas has its own NA (a property review)
    assert fmt_ci(np.float32("nan")) == fmt_ci(pd.NA) == "n/a"
    assert fmt_ci(0.5, (np.float32("nan"), 0.6)) == "0.500"
    assert fmt_ci(np.float32(0.5), (np.float32(0.25), np.float32(0.75))) == "0.500 (0.250-0.750)"


def test_a_markdown_tables_cells_keep_a_bar_or_a_line_break_inside():
    """A batch named 'A|pwn' with a line break had split comparison.md's header in two."""
    from thermocad.utils.tables import markdown_table

    text = markdown_table(["batch A|pwn\nline AUC", "n"], [["x|y", 0.5], ["plain", 3]])
    assert text.splitlines() == [r"| batch A\|pwn line AUC | n |", "|---|---|",
                                 r"| x\|y | 0.500 |", "| plain | 3 |"]  # fmt: skip
