"""Finding thermal files: one suffix list everywhere, and no folder or file skipped silently."""

from __future__ import annotations

import gzip
import os
import stat

import pytest

from thermocad.cohort.prepare import find_thermal_files
from thermocad.inference.collect import collect_files
from thermocad.io.find import THERMAL_SUFFIXES, is_thermal_file, strip_suffix, walk_thermal_files


def deny_listing(monkeypatch, folder) -> None:
    """Make `folder` unlistable: chmod, and for root (who ignores modes) a refusing scandir."""
    folder.chmod(0)
    if os.geteuid() != 0:
        return
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(folder):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "sub" / ".hidden").mkdir(parents=True)
    (root / "T0001.txt.gz").write_bytes(gzip.compress(b"30.1 30.2\n"))
    (root / "T0002.txt").write_text("30.1 30.2\n")
    (root / "T0003.TIF").write_bytes(b"")
    (root / "sub" / "T0004.npy").write_bytes(b"")
    (root / "sub" / ".hidden" / "T0005.txt").write_text("30\n")
    (root / ".T0006.txt").write_text("30\n")
    (root / "labels.csv").write_text("patient_id,diagnosis\n")
    (root / "locked").mkdir()
    (root / "locked" / "T0007.txt").write_text("30\n")
    yield root
    (root / "locked").chmod(stat.S_IRWXU)


def test_every_thermal_suffix_is_found_in_folders(tree):
    files, problems = walk_thermal_files(tree)
    names = [p.name for p in files]
    assert names == ["T0001.txt.gz", "T0002.txt", "T0003.TIF", "T0007.txt", "T0004.npy"]
    assert problems == []
    assert all(is_thermal_file(f"T0001{suffix}") for suffix in THERMAL_SUFFIXES)
    assert not is_thermal_file("labels.csv") and not is_thermal_file(".T0001.txt")
    assert strip_suffix("T0001.txt.gz") == "T0001" and strip_suffix("a.PNG") == "a"


def test_files_left_out_for_their_names_are_counted(tree, capsys):
    walk_thermal_files(tree)
    assert "left out" not in capsys.readouterr().err  # labels.csv and hidden files: no word
    (tree / "T0008_noext").write_text("30 31\n")
    (tree / "sub" / "scan.pdf").write_bytes(b"%PDF")
    walk_thermal_files(tree)
    err = capsys.readouterr().err
    assert "2 file(s) without a thermal suffix left out (T0008_noext, scan.pdf)" in err


def test_a_folder_an_unfinished_command_marked_is_said(tree, capsys):
    """An interrupted synth leaves part of its women and INCOMPLETE: prepare refuses it, and
    predict and render (which read any folder) now say it."""
    (tree / "sub" / "INCOMPLETE").write_text("a synthetic cohort being written\n")
    files, _ = walk_thermal_files(tree)
    assert len(files) == 5  # still read: predict scores what is there
    err = capsys.readouterr().err
    assert (f"warning: {tree / 'sub'}: marked INCOMPLETE (a synthetic cohort being written): a "
            "command writing it stopped or is still running") in err  # fmt: skip
    assert "left out" not in err  # the mark is no file left out
    walk_thermal_files(tree, say=False)
    assert "INCOMPLETE" not in capsys.readouterr().err


def test_predict_collects_txt_gz_from_folders(tree):
    files, errors = collect_files([tree])  # before: T0001.txt.gz skipped, "1 predicted"
    assert "T0001.txt.gz" in [p.name for p in files]
    assert errors == []


def test_unreadable_subfolders_are_reported(tree, monkeypatch, capsys):
    deny_listing(monkeypatch, tree / "locked")
    files, problems = walk_thermal_files(tree)
    assert "T0007.txt" not in [p.name for p in files]
    assert problems == [(str(tree / "locked"), "cannot list the folder (Permission denied)")]
    _, errors = collect_files([tree])
    assert [(e.file, e.error) for e in errors] == problems
    find_thermal_files(tree)
    warning = f"[thermocad] warning: {tree / 'locked'}: cannot list the folder (Permission denied); skipped"
    assert warning in capsys.readouterr().err.splitlines()


def test_special_files_with_thermal_names_are_reported(tmp_path):
    os.mkfifo(tmp_path / "T0001.txt")
    (tmp_path / "T0002.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "T0003.txt").symlink_to(tmp_path / "T0003.txt")  # a loop
    files, problems = walk_thermal_files(tmp_path)
    assert files == []
    assert [where for where, _ in problems] == [str(tmp_path / f"T000{i}.txt") for i in (1, 2, 3)]
    assert all("not a regular file" in problem for _, problem in problems)


def test_the_same_file_name_in_two_folders_is_said(tmp_path, capsys):
    from thermocad.inference.collect import collect_files
    from thermocad.io.find import same_names, same_names_warning

    for site in ("siteA", "siteB"):  # two sites that both number a woman 101
        (tmp_path / site).mkdir()
        (tmp_path / site / "T0101.txt").write_text("36 36\n")
    (tmp_path / "siteA" / "T0102.txt").write_text("36 36\n")
    files, _ = collect_files([tmp_path])
    assert [sorted(p.parent.name for p in g) for g in same_names(files)] == [["siteA", "siteB"]]
    assert "1 file name(s) occur in more than one folder" in capsys.readouterr().err
    assert same_names_warning([tmp_path / "siteA" / "T0101.txt"]) == ""


def test_linked_folders_are_followed_and_a_loop_is_walked_once(tmp_path, capsys):
    from thermocad.io.find import walk_thermal_files

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "T0201.txt").write_text("36 36\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "T0001.txt").write_text("36 36\n")
    (data / "linked").symlink_to(elsewhere)  # e.g. another disk's folder of women
    (elsewhere / "back").symlink_to(data)  # and a loop back
    files, problems = walk_thermal_files(data)
    assert [p.name for p in files] == ["T0001.txt", "T0201.txt"]
    assert not problems and "a link to a folder already searched" in capsys.readouterr().err


def test_folders_nested_past_any_datas_depth_are_reported_not_a_traceback(tmp_path):
    """Python 3.11's os.walk recurses: 1,000 nested folders raised RecursionError and lost
    the whole run; the walk stops at MAX_DEPTH and says where (shown on fewer: pytest's
    clean-up of a 1,000-deep tree would hit the same limit)."""
    from thermocad.io.find import MAX_DEPTH, walk_thermal_files

    (tmp_path / "T0001.txt").write_text("36 36\n")
    deep = tmp_path
    for _ in range(MAX_DEPTH + 30):
        deep = deep / "a"
        deep.mkdir()
    (deep / "T0002.txt").write_text("36 36\n")
    (tmp_path / "a" / "T0003.txt").write_text("36 36\n")
    files, problems = walk_thermal_files(tmp_path)
    assert [p.name for p in files] == ["T0001.txt", "T0003.txt"]
    [(where, why)] = problems
    assert where == str(tmp_path.joinpath(*["a"] * MAX_DEPTH)) and f"more than {MAX_DEPTH}" in why


def test_a_file_of_another_extension_is_read_by_its_first_bytes(tmp_path):
    import numpy as np

    from thermocad.io.thermal import read_thermal
    from thermocad.utils.errors import ThermalFormatError

    matrix = tmp_path / "T0001.export"  # an extension that says nothing: a text matrix
    matrix.write_text("33.1 33.2\n33.3 33.4\n" * 20)
    assert read_thermal(matrix, cache=False).array.shape == (40, 2)
    npy = tmp_path / "scan.bin"
    with npy.open("wb") as fh:
        np.save(fh, np.full((40, 40), 33.0, np.float32))
    assert read_thermal(npy, cache=False).source_format == "npy"
    pdf = tmp_path / "report.pdf"  # refused by what it is, not by a number on its first line
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n")
    with pytest.raises(
        ThermalFormatError,
        match=r"report.pdf: unsupported file type \(a PDF document\); thermocad reads text",
    ):
        read_thermal(pdf, cache=False)
    dicom = tmp_path / "IR_0042.dcm"  # a PACS export: DICM after a 128-byte preamble
    dicom.write_bytes(b"\x00" * 128 + b"DICM\x02\x00\x00\x00UL\x04\x00")
    with pytest.raises(ThermalFormatError, match=r"IR_0042.dcm: a DICOM file, which thermocad"):
        read_thermal(dicom, cache=False)


def test_a_folder_of_csv_exports_alone_says_why_they_were_left_out(tmp_path, capsys):
    """A camera review: a folder of CSV matrices was refused as holding no thermal files, and
    nothing said that its .csv files were left out, nor how to have them read."""
    from thermocad.io.thermal import read_thermal

    for name in ("IR_0001.csv", "IR_0002.csv"):
        (tmp_path / name).write_text("30.1,30.2\n30.3,30.4\n")
    assert walk_thermal_files(tmp_path) == ([], [])
    said = capsys.readouterr().err
    assert "2 .csv file(s) skipped (IR_0001.csv...): in a folder, thermocad treats CSV " in said
    assert "name each file on the command line, or rename it to .txt" in said
    assert read_thermal(tmp_path / "IR_0001.csv").shape == (2, 2)  # named, it is read
    (tmp_path / "T0001.txt").write_text("30.1 30.2\n30.3 30.4\n")
    walk_thermal_files(tmp_path)  # beside thermograms, CSV files are the tables: no word
    assert ".csv file(s) skipped" not in capsys.readouterr().err
