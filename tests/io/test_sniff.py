"""Line ends and decimal marks decided for the whole file: lone CRs, lines that disagree."""

from __future__ import annotations

import numpy as np
import pytest

from thermocad.io.text import parse_text
from thermocad.utils.errors import ThermalFormatError


@pytest.mark.parametrize(
    "data",
    [
        b"1 2\r3 4\r\n",  # classic Mac line ends, then an LF at the end
        b"1 2\r3 4\r",
        b"1 2\r\r3 4\r\n",  # a blank line between
        b"1 2\n3 4\r",  # an LF, then a lone CR
        b"1 2;\r\r\n3 4;\r\r\n",  # DMR batch B: CRs before the LF are the line end
    ],
)
def test_a_lone_cr_ends_a_line(data):
    values, _, _ = parse_text(data, "x")
    np.testing.assert_array_equal(values, [[1, 2], [3, 4]])


def test_lines_after_a_lone_cr_are_counted_in_error_messages():
    with pytest.raises(ThermalFormatError, match=r"^x: line 3: 'y' is not a number$"):
        parse_text(b"1.5 2.5\n3.5 4.5\ry 6.5\n", "x")


@pytest.mark.parametrize(
    ("data", "bad", "good"),
    [
        (b"30,1 30,2\n30,3 30,4\n30,5 3.,6\n", 3, 1),  # one stray byte: not CSV, doubled
        (b"30,1;30,2;\n30,3;30,4;\n30,5;30.6;\n", 3, 1),
        (b"30,1 3.,2\n30,3 30,4\n30,5 30,6\n", 1, 2),  # the stray byte in line 1
        (b"30,5 31,5\n30.5 31.5\n", 2, 1),  # as many: the later one
        (b"30.5 31.5\n30,5 31,5\n", 2, 1),
    ],
)
def test_lines_that_disagree_about_the_decimal_mark_are_refused_naming_the_line(data, bad, good):
    with pytest.raises(
        ThermalFormatError,
        match=rf"^x: line {bad}: .* but \d other line\(s\) \(line {good} first\) have .*: the "
        "lines disagree about the decimal mark",
    ):
        parse_text(data, "x")


@pytest.mark.parametrize(
    ("data", "expected", "source_format"),
    [
        (b"30.5,31\n30,31\n", [[30.5, 31], [30, 31]], "csv-comma"),  # integers take no side
        (b"30.1, 30.2\n30.3, 30.4\n", [[30.1, 30.2], [30.3, 30.4]], "csv-comma"),
        # Integers spaced unevenly: some fields hold no comma, so no decimal commas.
        (b"30,31, 32\n33,34, 35\n", [[30, 31, 32], [33, 34, 35]], "csv-comma"),
        (b"30,1 30,2\n30 31\n", [[30.1, 30.2], [30, 31]], "dmr-space-comma-decimal"),
        (
            b"30,1;30,2;\r\n30,3;30,4;\r\n",
            [[30.1, 30.2], [30.3, 30.4]],
            "dmr-semicolon-comma-decimal",
        ),  # fmt: skip
    ],
)
def test_files_whose_lines_agree_are_read(data, expected, source_format):
    values, fmt, _ = parse_text(data, "x")
    np.testing.assert_array_equal(values, np.asarray(expected, dtype=np.float32))
    assert fmt == source_format


@pytest.mark.parametrize("data", [b"28,9, 29,5, 29,4\n30,1, 30,2, 30,3\n", b"28,9,\t29,5\n"])
def test_decimal_commas_with_comma_separators_are_refused(data):
    """ "28,9, 29,5": ',' between digits and before spaces. Read as CSV, it had twice its
    columns (28, 9, 29, 5); no reading is sure, so the file is refused saying why."""
    with pytest.raises(ThermalFormatError, match=r"^x: ',' sits both between digits .* before"):
        parse_text(data, "x")
