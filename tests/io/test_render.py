"""Rendering: single maps, contact sheets (shared or per-image range), folders and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from thermocad.cli import main
from thermocad.io.render import contact_sheet, render_folder, render_thermogram
from thermocad.utils.errors import ConfigError, OutputExistsError


def arrays(n=3):
    return [
        np.random.default_rng(i).uniform(25 + i, 35 + i, (64, 80)).astype(np.float32)
        for i in range(n)
    ]


def test_render_thermogram_file_and_axes(tmp_path):
    out = tmp_path / "one.png"
    render_thermogram(arrays(1)[0], out, title="T0001", vmin=20, vmax=40)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 100
    with pytest.raises(OutputExistsError):
        render_thermogram(arrays(1)[0], out)
    render_thermogram(arrays(1)[0], out, force=True, colorbar=False)

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    image = render_thermogram(arrays(1)[0], ax=ax, vmin=26, vmax=30)
    assert image.get_clim() == (26, 30)
    plt.close(fig)
    with pytest.raises(ConfigError, match="2-D"):
        render_thermogram(np.zeros(5))


def test_contact_sheet_ranges(tmp_path, monkeypatch):
    import matplotlib.axes

    seen = []
    original = matplotlib.axes.Axes.imshow

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("vmin"), kwargs.get("vmax")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", spy)
    data = arrays(3)
    out = contact_sheet(data, ["a", "b", "c"], tmp_path / "sheet.png")
    assert out.exists()
    low, high = min(a.min() for a in data), max(a.max() for a in data)
    assert seen == [(pytest.approx(low), pytest.approx(high))] * 3  # one shared range
    seen.clear()
    contact_sheet(data, None, tmp_path / "per.png", shared_range=False, ncols=2)
    assert seen == [(None, None)] * 3  # each image scaled to its own range
    seen.clear()
    contact_sheet(data, None, tmp_path / "fixed.png", vmin=20, vmax=40)
    assert seen == [(20, 40)] * 3
    with pytest.raises(OutputExistsError):
        contact_sheet(data, None, tmp_path / "sheet.png")
    with pytest.raises(ConfigError, match="titles"):
        contact_sheet(data, ["a"], tmp_path / "x.png")
    with pytest.raises(ConfigError, match="at least one"):
        contact_sheet([], None, tmp_path / "y.png")


def test_render_folder_and_cli(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for i, a in enumerate(arrays(2)):
        np.save(data / f"T000{i + 1}.npy", a)
    (data / "sub" / "T0003.txt").write_text("30.1 30.2\n30.3 30.4\n")
    (data / "T0004.txt").write_text("30.1 bad\n")
    summary = render_folder(
        data, tmp_path / "png", shared_range=True, sheet=tmp_path / "s.png", workers=1
    )
    names = sorted(p.name for p in summary.written)
    assert names == ["T0001.png", "T0002.png", "sub__T0003.png"]
    assert len(summary.errors) == 1 and "T0004.txt" in summary.errors[0]
    assert summary.sheet == tmp_path / "s.png" and summary.sheet.exists()
    argv = ["render", str(data), "--out", str(tmp_path / "png")]
    assert main(argv) == 2 and "not empty" in capsys.readouterr().err
    assert main(argv + ["--force", "--colorbar", "--workers", "1"]) == 1  # one unreadable file
    (data / "T0004.txt").unlink()
    capsys.readouterr()
    assert main(argv + ["--force"]) == 0
    assert "also holds" not in capsys.readouterr().err  # the same files drawn again
    (data / "T0002.npy").unlink()  # another folder's run into the same --out: said
    assert main(argv + ["--force"]) == 0
    assert "also holds 1 PNG(s) this run did not draw (e.g. T0002.png" in capsys.readouterr().err
    fresh = tmp_path / "fresh"  # its own sheet inside --out, spelt another way: not another run's
    assert main(["render", str(data), "--out", str(fresh), "--sheet",
                 str(fresh / ".." / "fresh" / "s.png")]) == 0  # fmt: skip
    assert "also holds" not in capsys.readouterr().err
    assert main(["render", str(tmp_path / "nothing"), "--out", str(tmp_path / "p2")]) == 2


def test_degrees_and_grey_levels_never_share_a_scale(tmp_path, monkeypatch):
    import matplotlib.axes
    import matplotlib.figure

    seen, bars = [], []
    imshow, colorbar = matplotlib.axes.Axes.imshow, matplotlib.figure.FigureBase.colorbar

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("vmin"), kwargs.get("vmax")))
        return imshow(self, *args, **kwargs)

    def bar(self, *args, **kwargs):
        bars.append(kwargs.get("label"))
        return colorbar(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", spy)
    monkeypatch.setattr(matplotlib.figure.FigureBase, "colorbar", bar)
    data = tmp_path / "data"
    data.mkdir()
    np.savetxt(data / "T0001.txt", np.full((32, 40), 30.0) + np.eye(32, 40), fmt="%.2f")
    np.savetxt(data / "T0002.txt", np.full((32, 40), 33.0), fmt="%.2f")
    Image.fromarray(np.full((32, 40), 200, np.uint8)).save(data / "T0003.png")
    render_folder(data, tmp_path / "png", shared_range=True, sheet=tmp_path / "s.png", workers=1)
    files, sheet = seen[:3], seen[3:]
    assert files == [(30.0, 33.0), (30.0, 33.0), (200.0, 200.0)]  # one scale per unit
    assert sheet == [(None, None)] * 3  # mixed units: each thumbnail on its own scale
    assert bars == ["temperature (°C)", "temperature (°C)", "intensity"]  # each bar its unit


def test_the_sheet_never_overwrites_a_thermogram(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "T0001.txt").write_text("30.0 31.0\n32.0 33.0\n" * 8)
    before = (data / "T0001.txt").read_bytes()
    with pytest.raises(ConfigError, match="--sheet names one of the thermograms"):
        render_folder(data, tmp_path / "png", sheet=data / "T0001.txt", force=True)
    assert (data / "T0001.txt").read_bytes() == before and not (tmp_path / "png").exists()
    from thermocad.utils.errors import OutputPathError

    with pytest.raises(OutputPathError, match="give --sheet a place outside it"):  # read back later
        render_folder(data, tmp_path / "png", sheet=data / "sheet.png")
    with pytest.raises(OutputPathError, match="give --out a place outside it"):
        render_folder(data, data / "png")
    assert sorted(p.name for p in data.iterdir()) == ["T0001.txt"]


def test_an_unknown_colour_map_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="unknown colour map 'notacmap'"):
        render_folder(tmp_path, tmp_path / "png", cmap="notacmap")
    assert not (tmp_path / "png").exists()


def test_files_that_would_share_a_png_name_each_get_their_own(tmp_path):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "T0001.txt").write_text("30.0 30.0\n30.0 30.0\n")
    np.save(data / "T0001.npy", np.full((2, 2), 35.0, np.float32))  # the same name, another image
    (data / "a" / "T0002.txt").write_text("31.0 31.0\n31.0 31.0\n")
    (data / "a__T0002.txt").write_text("32.0 32.0\n32.0 32.0\n")  # the same flattened name
    (data / "T0003.txt").write_text("33.0 33.0\n33.0 33.0\n")
    summary = render_folder(data, tmp_path / "png", workers=1)
    names = sorted(p.name for p in summary.written)
    assert names == ["T0001.npy.png", "T0001.txt.png", "T0003.png", "a__T0002.txt.png",
                     "a__T0002.txt~2.png"]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == names  # none overwritten
    again = render_folder(data, tmp_path / "png2", workers=1)  # the same names every run
    assert [p.name for p in again.written] == [p.name for p in summary.written]


def test_names_with_dollar_signs_are_drawn_as_they_are_not_as_formulas(tmp_path):
    """matplotlib reads text between two $ as a formula: '$\\badcmd$' in a name had stopped
    the render with a ValueError and left it marked unfinished."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "T0002$\\badcmd$.txt").write_text("30.0 31.0\n32.0 33.0\n")
    (data / "T0003$x$.txt").write_text("30.0 31.0\n32.0 33.0\n")
    summary = render_folder(data, tmp_path / "png", sheet=tmp_path / "sheet.png", workers=1)
    assert len(summary.written) == 2 and (tmp_path / "sheet.png").is_file()
    from thermocad.reporting.galleries import panel_title

    title = panel_title({"y": 1, "prob": 0.5, "patient_id": 3, "acquisition_batch": "B$\\x$"})
    assert title.endswith(r"batch B\$\x\$")


def test_a_sheet_with_a_rendered_images_name_in_the_output_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "T0001.txt").write_text("30.0 31.0\n32.0 33.0\n")
    out = tmp_path / "png"
    with pytest.raises(ConfigError, match=r"--sheet has the name of the PNG drawn for .*T0001"):
        render_folder(data, out, sheet=out / "T0001.png")
    assert not out.exists()  # refused before anything was drawn
    summary = render_folder(data, out, sheet=out / "sheet.png")
    assert sorted(p.name for p in out.iterdir()) == ["T0001.png", "sheet.png"]
    assert summary.sheet == out / "sheet.png"


def test_an_interrupted_render_is_marked_and_its_rerun_told(tmp_path, monkeypatch, capsys):
    import thermocad.io.render as R

    data = tmp_path / "data"
    data.mkdir()
    for i, a in enumerate(arrays(2)):
        np.save(data / f"T000{i + 1}.npy", a)
    real = R.render_thermogram
    calls = []

    def stopped(*args, **kwargs):  # Ctrl-C after the first PNG
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(R, "render_thermogram", stopped)
    argv = ["render", str(data), "--out", str(tmp_path / "r"), "--workers", "1"]
    assert main(argv) == 130
    assert (tmp_path / "r" / "INCOMPLETE").is_file()
    capsys.readouterr()
    monkeypatch.setattr(R, "render_thermogram", real)
    assert main(argv) == 2
    assert (
        f"{tmp_path / 'r'} holds an unfinished render (interrupted or failed: its INCOMPLETE mark)"
        in (capsys.readouterr().err)
    )
    assert main([*argv, "--force"]) == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["T0001.png", "T0002.png"]


def test_a_second_render_into_a_held_folder_is_refused(tmp_path, capsys):
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "T0001.npy", arrays(1)[0])
    out = tmp_path / "r"
    holder = ("import sys\nfrom thermocad.utils.lock import folder_lock\n"
              "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", holder, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"  # another render, drawing there
        assert main(["render", str(data), "--out", str(out), "--force", "--workers", "1"]) == 2
        err = capsys.readouterr().err
        assert "being written by another thermocad process" in err
        assert len(err.strip().splitlines()) == 1
        assert not list(out.glob("*.png")) and not (out / "INCOMPLETE").exists()
    finally:
        proc.communicate("")  # it lets go
    assert main(["render", str(data), "--out", str(out), "--workers", "1"]) == 0


def test_a_killed_renders_temporary_pngs_are_removed_not_counted(tmp_path, capsys, monkeypatch):
    import re

    import thermocad.io.render as R
    from thermocad.utils.files import atomic_path

    monkeypatch.delenv("THERMOCAD_QUIET", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "T0064.npy", arrays(1)[0])
    out = tmp_path / "r"
    out.mkdir()
    # As a render killed by SIGTERM in the middle of a PNG leaves it (no clean-up runs).
    (out / "INCOMPLETE").write_text("a render being written by thermocad render; not finished\n")
    (out / ".T0064.png.reox0g12.png").write_bytes(b"half a PNG")
    (out / ".T0001.png.ab_c9xyz.png").write_bytes(b"another, of another input")
    (out / ".notes.png").write_bytes(b"someone's hidden file: not a temporary name")
    assert main(["render", str(data), "--out", str(out), "--force", "--workers", "1"]) == 0
    err = capsys.readouterr().err  # the one PNG it did not draw is the hidden file of no temp name
    assert "also holds 1 PNG(s) this run did not draw (e.g. .notes.png: " in err
    assert sorted(p.name for p in out.iterdir()) == [".notes.png", "T0064.png"]
    with atomic_path(tmp_path / "T0064.png", suffix=".png") as tmp:  # the names it makes
        assert re.fullmatch(R.LEFTOVER, tmp.name) and tmp.name.startswith(".T0064.png.")


def test_thermocads_figures_are_refused_as_thermograms(tmp_path, dmr_files):
    """A review scored render's grey figures (title and colour bar) 0.94-0.98 Sick: every PNG
    figure thermocad draws carries its mark, and the reader refuses it by name."""
    from thermocad.inference.answer import _one_panel
    from thermocad.io.figure_mark import is_figure
    from thermocad.io.thermal import read_thermal
    from thermocad.reporting.plots import plot_confusion
    from thermocad.utils.errors import ThermalFormatError

    grey = tmp_path / "T0001.png"
    render_thermogram(arrays(1)[0], grey, title="T0001", cmap="gray")
    plot_confusion({"tp": 1, "fn": 1, "fp": 1, "tn": 1}, tmp_path / "confusion.png")
    panel = tmp_path / "panel.png"  # the app's panel, as a user saves it from the page
    panel.write_bytes(_one_panel(lambda fig, ax: ax.imshow(arrays(1)[0], cmap="gray")))
    for figure in (grey, tmp_path / "confusion.png", panel):
        with Image.open(figure) as img:
            assert is_figure(img.info), figure
        with pytest.raises(ThermalFormatError, match=rf"{figure.name}: a figure thermocad drew, "
                           "not a thermogram: give the thermal file it was drawn from"):  # fmt: skip
            read_thermal(figure)
    plain = tmp_path / "T0002.png"  # a grey export of another program is read as before
    Image.fromarray(np.uint8(np.linspace(0, 255, 64 * 80).reshape(64, 80))).save(plain)
    assert read_thermal(plain).unit == "intensity"
