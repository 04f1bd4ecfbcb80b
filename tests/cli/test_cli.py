"""The command line: errors a user can cause end in one line and a non-zero exit."""

from __future__ import annotations

from thermocad.cli import main


def test_unwritable_output_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "cohort"
    assert (
        main(["synth", "--out", str(out), "--patients", "1", "--height", "64", "--width", "80"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("thermocad: error:") and "Traceback" not in err
    assert str(out) in err and len(err.strip().splitlines()) == 1
