"""explain: Grad-CAM at the registered layer, mapped back onto the thermogram, and the figure."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from thermocad.cli import main
from thermocad.inference.explain import _to_image_grid, gradcam
from thermocad.inference.panels import mirror


def test_gradcam_shape_range_and_layer(run_dir, dmr_files):
    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    array = read_thermal(dmr_files[0]).array
    heat = gradcam(bundle, array)
    assert heat.shape == array.shape and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() <= 1
    assert np.isfinite(heat).all()
    # The registered layer is a real submodule of this model.
    assert any(m is bundle.target_layer() for m in bundle.model.modules())
    # Deterministic: the same input gives the same map.
    np.testing.assert_array_equal(heat, gradcam(bundle, array))


def test_grad_cam_and_predictions_in_other_threads_take_turns_on_the_network(run_dir, dmr_files):
    """Grad-CAM hooks the model's layers: a forward pass in another thread meanwhile mixed into
    its map (an embedding review: maps off by up to 1.0). Both hold the model's own lock."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from thermocad.io.thermal import read_thermal
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    arrays = [read_thermal(f).array for f in dmr_files]
    alone = [gradcam(bundle, a) for a in arrays]
    probs = bundle.predict(arrays)
    for call in (lambda: gradcam(bundle, arrays[0]), lambda: bundle.predict(arrays[:1])):
        done = threading.Event()
        with bundle.lock:  # held here: the other thread's call waits for it
            worker = threading.Thread(target=lambda c=call, d=done: (c(), d.set()))
            worker.start()
            assert not done.wait(0.5)
        worker.join(60)
        assert done.is_set()
    with ThreadPoolExecutor(4) as pool:
        maps = [pool.submit(gradcam, bundle, a) for a in arrays * 3]
        predicted = [pool.submit(bundle.predict, arrays) for _ in range(6)]
        for i, future in enumerate(maps):
            np.testing.assert_array_equal(future.result(), alone[i % len(arrays)])
        for future in predicted:
            np.testing.assert_array_equal(future.result(), probs)


def test_heatmap_mapped_back_through_crop():
    # A 2x2 model-grid map with one hot cell, on a 40x60 frame without crop: the hot quarter
    # (top-left) must land in the top-left 20x30 corner of the frame.
    cam = np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    heat = _to_image_grid(cam, np.zeros((40, 60), np.float32), crop="none")
    assert heat.shape == (40, 60)
    assert heat[:20, :30].mean() > heat[20:, 30:].mean()
    assert heat.max() == pytest.approx(1.0) and heat.min() == pytest.approx(0.0)
    flat = _to_image_grid(np.zeros((2, 2), np.float32), np.zeros((40, 60), np.float32), "none")
    assert not flat.any()  # a flat map stays 0 rather than dividing by zero


def test_mirror_about_the_body_midline():
    # A warm body over columns 10..49 of a 70-column frame: its midline is near 29.5, so a spot at
    # columns 14..17 mirrors to about 59 - 17..59 - 14 = 42..45 (about 52..55 about the frame).
    a = np.full((30, 70), 22.0, np.float32)
    a[:, 10:50] = 33.0
    a[12:16, 14:18] = 35.0  # a hot spot on one side
    m = mirror(a)
    hot_cols = np.flatnonzero((m[12:16] > 34).any(axis=0))
    assert hot_cols.min() >= 40 and hot_cols.max() <= 47
    assert m[12:16, 14:18].mean() == pytest.approx(33.0)
    # Columns whose mirror lies outside the frame are blank, not themselves unflipped (a seam).
    blank = np.isnan(m).all(axis=0)
    assert blank[-8:].all() and not np.isnan(m[:, : 70 - 11]).any()


def test_explain_cli_writes_figure(run_dir, dmr_files, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["explain", str(run_dir), str(dmr_files[1]), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"figures: {out}\n"  # logs on stderr, the output on stdout
    png = out / "T0002_gradcam.png"
    with Image.open(png) as im:
        assert 1.0 < im.width / im.height < 1.8  # four panels, two by two
        # what drew it and when, as predict's row says it (a provenance review)
        import hashlib

        digest = hashlib.sha256(dmr_files[1].read_bytes()).hexdigest()
        model = hashlib.sha256((run_dir / "model.json").read_bytes()).hexdigest()
        assert f"model_sha256={model} engine=PyTorch " in im.info["Comment"]
        assert im.info["Comment"].endswith(f"file=T0002.txt file_sha256={digest}")
    before = png.read_bytes()
    capsys.readouterr()
    assert main(["explain", str(run_dir), str(dmr_files[1]), "--out", str(out)]) == 2  # no --force
    assert (
        f"thermocad: error: {png} already exists; use --force (force=True in Python) to overwrite it"
        in capsys.readouterr().err
    )
    assert png.read_bytes() == before  # the earlier figure left whole
    assert main(["explain", str(run_dir), str(dmr_files[1]), "--out", str(out), "--force"]) == 0
    before = png.read_bytes()
    bad = tmp_path / "in" / "bad.txt"
    bad.parent.mkdir()
    bad.write_text("nothing thermal here\n")
    capsys.readouterr()
    assert main(["explain", str(run_dir), str(bad), "--out", str(out)]) == 2
    assert f"thermocad: error: {bad}: line 1: 'nothing' is not a number" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["T0002_gradcam.png"]  # nothing drawn for it
    assert png.read_bytes() == before
    # A figure inside the thermogram's folder: refused (test_explain_refuses_an_out_among...)
    # Several files: one figure each; a bad one is named and the others are still drawn.
    two = tmp_path / "two"
    assert main(["explain", str(run_dir), str(dmr_files[0]), str(bad), str(dmr_files[2]),
                 "--out", str(two)]) == 1  # fmt: skip
    assert sorted(p.name for p in two.iterdir()) == ["T0001_gradcam.png", "T0003_gradcam.png"]
    assert capsys.readouterr().out == f"figures: {two}\n"
    bad2 = bad.with_name("bad2.txt")
    bad2.write_text("nothing thermal here either\n")
    none = tmp_path / "none"  # every file failing: no figures, so stdout names none
    assert main(["explain", str(run_dir), str(bad), str(bad2), "--out", str(none)]) == 1
    said = capsys.readouterr()
    assert said.out == "" and "wrote 0 figures" in said.err and "2 files failed" in said.err
    fig = tmp_path / "fig.png"  # an image's name: the figure goes in a folder, said so
    assert main(["explain", str(run_dir), str(dmr_files[1]), "--out", str(fig)]) == 2
    assert not fig.exists()


def test_explain_checks_its_input_before_its_output(run_dir, dmr_files, tmp_path, capsys):
    # A folder of no thermal files is said as such, whatever --out: the output's checks come
    # after (its --out inside the folder's parent was refused as "inside the data folder").
    folder = tmp_path / "some_folder"
    folder.mkdir()
    (tmp_path / "figs2").mkdir()
    (tmp_path / "figs2" / "some_folder_gradcam.png").write_bytes(b"an earlier figure")
    for out in (tmp_path / "figs2", tmp_path / "elsewhere"):
        assert main(["explain", str(run_dir), str(folder), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.endswith(f"error: nothing to explain: {folder}: folder contains no thermal "
                            "files\n")  # fmt: skip
    # A folder of thermograms is explained file by file, as predict walks it (it was refused).
    shutil.copy(dmr_files[0], folder / "T0001.txt")
    (folder / "notes.md").write_text("not a thermogram")
    assert main(["explain", str(run_dir), str(folder), "--out", str(tmp_path / "f3")]) == 0
    assert [p.name for p in (tmp_path / "f3").iterdir()] == ["T0001_gradcam.png"]
    missing = tmp_path / "gone.txt"
    assert main(["explain", str(run_dir), str(missing), "--out", str(tmp_path)]) == 2
    assert f"{missing}: cannot read the file" in capsys.readouterr().err


def test_a_folder_is_explained_from_python_as_by_the_command(run_dir, dmr_files, tmp_path, capsys):
    from thermocad.inference.explain import explain_paths

    folder = tmp_path / "in"
    folder.mkdir()
    for f in dmr_files[:2]:
        shutil.copy(f, folder / f.name)
    (folder / "broken.txt").write_text("not a matrix")
    # A training file under another name: its note follows its own line, named.
    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    train = Path(split[split["split"] == "train"].iloc[0]["path"])
    shutil.copy(train, folder / ("scan" + train.suffix))
    written, failed = explain_paths(run_dir, folder, tmp_path / "figs")
    assert [p.name for p in written] == ["T0001_gradcam.png", "T0002_gradcam.png",
                                         "scan_gradcam.png"]  # fmt: skip
    assert failed == 1 and sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "T0001_gradcam.png", "T0002_gradcam.png", "scan_gradcam.png"]  # fmt: skip
    # Many files: a short line each (the whole result is a single file's), the folder once.
    lines = capsys.readouterr().err.splitlines()
    said = [x for x in lines if ": P(Sick) = " in x]
    assert len(said) == 3 and all(len(x) < 200 and "neither half alone" not in x for x in said)
    assert not any(x.startswith("[thermocad] wrote") and "_gradcam.png" in x for x in lines)
    assert lines[-1] == (f"[thermocad] wrote 3 figures to {tmp_path / 'figs'}; 1 file failed "
                         "(said above)")  # fmt: skip
    scan = "scan" + train.suffix
    note = next(i for i, x in enumerate(lines) if x.startswith(f"[thermocad] note: {scan}: "))
    assert lines[note - 1].startswith(f"[thermocad] {scan}: P(Sick) = ")


def test_explain_loads_the_model_once_and_says_a_command_error_once(
    run_dir, dmr_files, tmp_path, capsys, monkeypatch
):
    import thermocad.inference.loading as L

    loads = []
    load = L.load_model
    monkeypatch.setattr(L, "load_model", lambda *a, **k: loads.append(a) or load(*a, **k))
    files = [str(f) for f in dmr_files[:2]]
    assert main(["explain", str(run_dir), *files, "--out", str(tmp_path / "figs")]) == 0
    assert len(loads) == 1  # not once per file
    # The model, --device, --out: the command's errors, said once (exit 2), as with one file.
    for model, more in ((tmp_path / "no_run", []), (run_dir, ["--device", "cuda:7"]),
                        (run_dir, ["--device", "gpu"]), (run_dir.parent / "model.onnx", [])):  # fmt: skip
        capsys.readouterr()
        assert main(["explain", str(model), *files, "--out", str(tmp_path / "o"), *more]) == 2
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "failed:" not in err, err
    assert main(["explain", str(run_dir), *files, "--out", str(tmp_path / "fig.png")]) == 2
    assert capsys.readouterr().err.count("--out is the folder the figure goes in") == 1
    assert not (tmp_path / "o").exists()


def test_files_of_the_same_name_get_figures_of_their_own(run_dir, dmr_files, tmp_path, capsys):
    from thermocad.inference.figures import figure_names

    for folder, source in (("a", dmr_files[1]), ("b", dmr_files[2])):
        (tmp_path / folder).mkdir()
        shutil.copy(source, tmp_path / folder / "T0002.txt")
    a, b = tmp_path / "a" / "T0002.txt", tmp_path / "b" / "T0002.txt"
    out = tmp_path / "figs"
    capsys.readouterr()
    assert main(["explain", str(run_dir), str(a), str(b), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["T0002.txt_gradcam.png",
                                                     "T0002.txt~2_gradcam.png"]  # fmt: skip
    err = capsys.readouterr().err
    assert f"wrote {out / 'T0002.txt~2_gradcam.png'} (for {b}: another file given" in err
    assert f"{a}: P(Sick) = " in err and f"{b}: P(Sick) = " in err  # each result by its path
    # Each said once, by the name given; the same file given twice is explained once.
    assert main(["explain", str(run_dir), str(a), str(a), "--out", str(tmp_path / "o")]) == 0
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["T0002_gradcam.png"]
    assert "1 repeated file(s) explained once" in capsys.readouterr().err
    names = figure_names(["x/T1.txt", "y/T1.txt", "z/T1.npy", "t1.TXT", "T1.txt~2.npy", "T2.txt",
                          "T3.txt.gz"])  # fmt: skip
    assert list(names.values()) == ["T1.txt_gradcam.png", "T1.txt~3_gradcam.png",
                                    "T1.npy_gradcam.png", "t1.TXT~4_gradcam.png",
                                    "T1.txt~2_gradcam.png", "T2_gradcam.png",
                                    "T3_gradcam.png"]  # fmt: skip
    # A gzipped file alone keeps its own name, and is not said to share another's.
    (tmp_path / "zipped").mkdir()
    gz = tmp_path / "zipped" / "T0003.txt.gz"
    gz.write_bytes(gzip.compress(dmr_files[1].read_bytes()))
    assert main(["explain", str(run_dir), str(gz), "--out", str(tmp_path / "gz")]) == 0
    assert [p.name for p in (tmp_path / "gz").iterdir()] == ["T0003_gradcam.png"]
    assert "another file given has its name" not in capsys.readouterr().err
    # A name too long for a figure's (255 bytes with _gradcam.png) is shortened, and is its own:
    # explain had stopped with 'File name too long', then said it shared another file's name.
    long = tmp_path / "zipped" / ("T0015" + "x" * 246 + ".txt")
    shutil.copy(dmr_files[1], long)
    assert main(["explain", str(run_dir), str(long), "--out", str(tmp_path / "long")]) == 0
    [figure] = (tmp_path / "long").iterdir()
    assert len(figure.name) == 255 and figure.name.endswith("_gradcam.png")
    assert "another file given has its name" not in capsys.readouterr().err
    from thermocad.inference.explain import explain_file

    assert explain_file(run_dir, long, tmp_path / "long2").name == figure.name


def test_a_symlink_loop_among_the_files_is_refused_by_name(run_dir, dmr_files, tmp_path, capsys):
    """predict and explain: a link that loops (c -> d -> c) is one failed file, named, and the
    other files are done (Python's resolve() raised RuntimeError: a traceback, nothing done)."""
    (tmp_path / "loopC.txt").symlink_to(tmp_path / "loopD.txt")
    (tmp_path / "loopD.txt").symlink_to(tmp_path / "loopC.txt")
    good = str(dmr_files[0])
    loop = str(tmp_path / "loopC.txt")
    assert main(["predict", str(run_dir), loop, good, "--out", str(tmp_path / "p.csv")]) == 1
    assert len(pd.read_csv(tmp_path / "p.csv")) == 1
    assert "loopC.txt" in capsys.readouterr().err
    assert main(["explain", str(run_dir), loop, good, "--out", str(tmp_path / "figs")]) == 1
    assert [p.name for p in (tmp_path / "figs").iterdir()] == [f"{Path(good).stem}_gradcam.png"]
    assert "loopC.txt" in capsys.readouterr().err


def test_a_figure_written_meanwhile_is_replaced_only_with_force(
    run_dir, dmr_files, tmp_path, monkeypatch
):
    import thermocad.inference.explain as E
    from thermocad.utils.errors import OutputExistsError

    out = tmp_path / "figs"
    target = out / "T0002_gradcam.png"
    draw = E.explain_array

    def meanwhile(*args, **kwargs):  # another command writes the same figure while this draws
        out.mkdir(exist_ok=True)
        target.write_bytes(b"the other command's figure")
        return draw(*args, **kwargs)

    monkeypatch.setattr(E, "explain_array", meanwhile)
    with pytest.raises(OutputExistsError, match="written since this command began"):
        E.explain_file(run_dir, dmr_files[1], out)
    assert target.read_bytes() == b"the other command's figure"
    assert [p.name for p in out.iterdir()] == [target.name]  # no temporary left
    E.explain_file(run_dir, dmr_files[1], out, force=True)
    with Image.open(target) as im:
        assert 1.0 < im.width / im.height < 1.8  # two by two


def test_explain_refuses_an_implausible_thermogram(run_dir, tmp_path):
    from thermocad.inference.explain import explain_file
    from thermocad.utils.errors import ImplausibleThermogramError

    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "zeros.npy", np.zeros((48, 64), np.float32))
    with pytest.raises(ImplausibleThermogramError, match=r"zeros\.npy: nearly constant"):
        explain_file(run_dir, tmp_path / "in" / "zeros.npy", tmp_path / "figs")
    assert not (tmp_path / "figs" / "zeros_gradcam.png").exists()


def test_explain_notes_a_lateral_view_as_predict_does(run_dir, dmr_files, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    lateral = tmp_path / "in" / "T0002.1.2.S.2013-01-01.00.txt"  # view code 2: not frontal
    shutil.copy(dmr_files[1], lateral)
    assert main(["explain", str(run_dir), str(lateral), "--out", str(tmp_path / "figs")]) == 0
    err = capsys.readouterr().err
    assert "trained on frontal views only" in err
    assert "T0002.1.2.S.2013-01-01.00.txt: no Sick/Healthy call: the file name says" in err


def test_explain_notes_a_training_file_by_its_bytes_as_predict_does(run_dir, tmp_path, capsys):
    import pandas as pd

    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    row = split[split["split"] == "train"].iloc[0]
    (tmp_path / "in").mkdir()
    copy = tmp_path / "in" / ("scan" + Path(row["path"]).suffix)  # no patient number in it
    shutil.copy(row["path"], copy)
    assert main(["explain", str(run_dir), str(copy), "--out", str(tmp_path / "figs")]) == 0
    assert (
        f"byte for byte a file of training patient {row['patient_id']}" in capsys.readouterr().err
    )


def test_probability_and_threshold_never_read_the_same_for_different_decisions():
    from thermocad.inference.notes import shown

    assert shown(0.40758, 0.40762) == ("0.40758", "0.40762")  # 4 places: both 0.4076
    assert shown(0.2313, 0.40757385) == ("0.2313", "0.4076")
    assert shown(0.5, 0.5) == ("0.5000", "0.5000")


def test_the_overlay_draws_the_map_only_inside_the_box_the_network_saw():
    from matplotlib.figure import Figure

    from thermocad.inference.panels import draw_overlay

    array = np.random.default_rng(0).normal(30, 1, (40, 60)).astype(np.float32)
    heat = np.full((40, 60), 0.5, np.float32)
    fig = Figure()
    ax = fig.subplots()
    draw_overlay(fig, ax, array, heat, 0.3, 0.5, seen=(10, 30, 5, 55))
    shown = ax.get_images()[1].get_array()
    assert shown.mask[:10].all() and shown.mask[:, :5].all() and not shown.mask[10:30, 5:55].any()
    assert len(ax.patches) == 1 and "the network saw the dashed box only" in ax.get_title()
    fig = Figure()
    ax = fig.subplots()
    draw_overlay(fig, ax, array, heat, 0.3, 0.5)  # the whole frame seen: no box, nothing masked
    assert not np.ma.getmaskarray(ax.get_images()[1].get_array()).any() and not ax.patches


def test_no_box_is_drawn_where_the_crop_keeps_the_whole_frame(monkeypatch):
    from types import SimpleNamespace

    import thermocad.preprocess.regions as R
    from thermocad.inference.explain import seen_box

    bundle = SimpleNamespace(transform=SimpleNamespace(crop="breasts"))
    array = np.zeros((40, 60), np.float32)
    monkeypatch.setattr(R, "breast_box", lambda a: (0, 40, 0, 60))  # no torso found
    assert seen_box(bundle, array) is None
    monkeypatch.setattr(R, "breast_box", lambda a: (5, 35, 10, 50))
    assert seen_box(bundle, array) == (5, 35, 10, 50)
    assert seen_box(SimpleNamespace(transform=SimpleNamespace(crop="none")), array) is None


def test_the_thermogram_colour_bar_says_it_is_clipped_and_gives_the_hottest_pixel():
    """The scale stops at the 99.5th percentile (a hot marker would wash out the breasts): the
    bar's arrows and label say so; the hottest pixel is often the one of interest."""
    from matplotlib.figure import Figure

    from thermocad.inference.panels import draw_thermogram

    array = np.random.default_rng(0).normal(30, 1, (40, 60)).astype(np.float32)
    array[5, 5] = 36.04
    fig = Figure()
    ax = fig.subplots()
    draw_thermogram(fig, ax, array, "celsius")
    bar = ax.get_images()[0].colorbar
    assert bar.extend == "both" and bar.ax.get_ylabel() == "°C (hottest pixel 36.0)"
    flat = np.full((40, 60), 30.0, np.float32)  # nothing past the scale: no arrows, no note
    fig = Figure()
    ax = fig.subplots()
    draw_thermogram(fig, ax, flat, "celsius")
    bar = ax.get_images()[0].colorbar
    assert bar.extend == "neither" and bar.ax.get_ylabel() == "°C"


def test_the_overlay_says_when_the_cnn_halfs_p_sick_leaves_out_the_augmented_copies():
    from matplotlib.figure import Figure

    from thermocad.inference.panels import draw_overlay

    array = np.random.default_rng(0).normal(30, 1, (40, 60)).astype(np.float32)
    heat = np.full((40, 60), 0.5, np.float32)
    for one_pass, says in ((False, "(its P(Sick) 0.5281)"),
                           (True, "(its P(Sick) 0.5281,\nof the image without its "
                                  "augmented copies)")):  # fmt: skip
        fig = Figure()
        ax = fig.subplots()
        draw_overlay(fig, ax, array, heat, 0.53, 0.5, cnn=0.5281, one_pass=one_pass)
        assert says in ax.get_title()


def test_explain_refuses_an_out_among_the_thermograms_explained(
    run_dir, dmr_files, tmp_path, capsys
):
    """Its PNGs there were read back as (pseudo-colour) thermograms by the next predict."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(dmr_files[1], data / "T0002.txt")
    for given in (data, data / "T0002.txt"):
        assert main(["explain", str(run_dir), str(given), "--out", str(data / "figs")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"thermocad: error: {data / 'figs'}: is inside the data folder")
    assert sorted(p.name for p in data.iterdir()) == ["T0002.txt"]


def test_a_figure_of_a_model_that_makes_no_result_says_so_under_its_title(
    run_dir, dmr_files, tmp_path, monkeypatch
):
    """A figure passed around alone says what predict's model_warning column says."""
    from matplotlib.text import Annotation

    import thermocad.inference.explain as E

    drawn, draw = [], E.explain_figure
    monkeypatch.setattr(
        E, "explain_figure", lambda *a, **k: drawn.append(draw(*a, **k)) or drawn[-1]
    )
    assert main(["explain", str(run_dir), str(dmr_files[1]), "--out", str(tmp_path / "f")]) == 0
    (warning,) = [a for a in drawn[0].artists if isinstance(a, Annotation)]  # the smoke run's
    assert warning.get_text() == "Smoke-run model: not a result."
    assert warning.get_color() == E.WARNING and warning.get_fontweight() == "bold"
    assert drawn[0].get_suptitle().endswith("is not evidence of a lesion.\n ")  # its line kept free
    array = np.zeros((40, 60), np.float32)
    fig = E.explain_figure(array, array, 0.3, 0.5)  # a model that makes a result: no line
    assert not [a for a in fig.artists if isinstance(a, Annotation)]
    assert fig.get_suptitle().endswith(
        "not a diagnosis. A bright spot of the map is not evidence of a lesion."
    )


def test_the_asymmetry_panel_is_blank_where_a_point_or_its_mirror_is_off_the_body():
    """Skin minus room along outlines that do not overlay measures where the woman stood, not
    a temperature difference: the panel leaves it blank, as the model's input does."""
    from matplotlib.figure import Figure

    from thermocad.inference.panels import draw_asymmetry

    array = np.full((60, 80), 22.0, np.float32)  # the room
    array[5:55, 20:60] = 33.0  # a torso about column 40
    array[20:40, 60:70] = 33.0  # an arm on one side only
    array[25:35, 30:35] += 1.5  # a warm spot on the other
    fig = Figure()
    ax = fig.subplots()
    draw_asymmetry(fig, ax, array, "celsius")
    shown = np.ma.masked_invalid(ax.get_images()[0].get_array())
    assert shown.mask[20:40, 60:70].all() and shown.mask[:, :20].all()  # arm, room: blank
    assert np.allclose(shown[27, 31], 1.5) and np.allclose(shown[27, 48], -1.5)  # the spot
    assert [t.get_text() for t in ax.texts] == ["R", "L"]
    # A torso the frame cuts at its left edge: an arm whose mirror lies beyond the frame has no
    # mirror to differ from, so it is blank too (it was drawn at 0, "no difference").
    clipped = np.full((60, 80), 22.0, np.float32)
    clipped[5:55, 0:30] = 33.0  # the torso, about column 15
    clipped[20:40, 30:60] = 33.0  # an arm reaching beyond the mirror of column 0
    fig = Figure()
    ax = fig.subplots()
    draw_asymmetry(fig, ax, clipped, "celsius")
    shown = np.ma.masked_invalid(ax.get_images()[0].get_array())
    assert shown.mask[:, 31:].all() and not shown.mask[30, 5:25].all()


def test_a_map_of_differences_only_says_it_may_stand_for_either_breast():
    from types import SimpleNamespace

    from matplotlib.figure import Figure

    from thermocad.inference.answer import EITHER_SIDE_CAPTION, _overlay
    from thermocad.inference.explain import differences_only
    from thermocad.inference.panels import draw_overlay

    array = np.random.default_rng(0).normal(30, 1, (40, 60)).astype(np.float32)
    heat = np.full((40, 60), 0.5, np.float32)
    for either_side in (False, True):
        fig = Figure()
        ax = fig.subplots()
        draw_overlay(fig, ax, array, heat, 0.3, 0.5, either_side=either_side)
        assert ("a spot may mean either breast" in ax.get_title()) is either_side
    for channels, says in ((("asymmetry",), True), (("temperature",), False),
                           (("temperature", "asymmetry"), False)):  # fmt: skip
        bundle = SimpleNamespace(transform=SimpleNamespace(channels=channels, crop="none"),
                                 threshold=0.5, views=lambda: 0)  # fmt: skip
        assert differences_only(bundle) is says
        assert (EITHER_SIDE_CAPTION in _overlay(bundle, array, heat, 0.3, None, True)) is says


def test_the_asymmetry_panel_leaves_the_marker_out_and_the_figure_fits_its_titles():
    """The calibration square (painted over for the default model) drew a +-2.5 C pair; a
    fixed 4.2-inch figure let six title lines run into the heading."""
    from matplotlib.figure import Figure

    from thermocad.inference.explain import explain_figure
    from thermocad.inference.panels import draw_asymmetry
    from thermocad.preprocess.regions import find_marker
    from thermocad.synth.cohort import Nuisances, synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(1), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    marker = find_marker(a)
    assert marker is not None
    fig = Figure()
    ax = fig.subplots()
    draw_asymmetry(fig, ax, a, "celsius")
    shown = np.ma.masked_invalid(ax.get_images()[0].get_array())
    assert shown.mask[marker.slices()].all()
    heat = np.full(a.shape, 0.5, np.float32)
    plain = explain_figure(a, heat, 0.3, 0.5).get_size_inches()[1]
    busy = explain_figure(a, heat, 0.3, 0.5, title="T0001\nnote: one\nnote: two", cnn=0.2,
                          call=False, seen=(10, 200, 20, 300), one_pass=True, either_side=True)  # fmt: skip
    assert busy.get_size_inches()[1] > plain + 1.0


def test_the_overlay_says_when_the_call_is_the_baselines_not_the_cnns_it_explains():
    """The mean calls Sick while the CNN alone is under the threshold: the map (the CNN's)
    would read as the call's reason; its title says the call is the baseline's."""
    from thermocad.inference.panels import overlay_title

    lines = overlay_title(0.42, 0.40, 0.24, True, True, False, False, False)
    assert lines[-1] == "the CNN alone would not call Sick: the call is the baseline's"
    agree = overlay_title(0.42, 0.40, 0.45, True, True, False, False, False)
    assert not any("would not call" in x for x in agree)
    healthy = overlay_title(0.38, 0.40, 0.55, True, True, False, False, False)
    assert healthy[-1] == "the CNN alone would not call Healthy: the call is the baseline's"
    assert not any(
        "would not call" in x
        for x in overlay_title(0.5, 0.4, 0.2, False, True, False, False, False)
    )  # no call


def test_figure_and_png_names_are_names_every_disk_takes(tmp_path):
    """A filesystem review: render wrote NUL.png and T0002:left.png from Linux file names,
    which an SMB share, NTFS or a USB stick refuses; explain named its figures the same way."""
    from thermocad.inference.figures import figure_names
    from thermocad.io.png_names import output_names

    given = ["NUL.txt", "T0002:left.txt", "T0002_left.npy", "T0003?.txt", "T0004. .txt"]
    names = figure_names(given)
    assert list(names.values()) == ["NUL__gradcam.png", "T0002_left.txt_gradcam.png",
                                    "T0002_left.npy_gradcam.png", "T0003__gradcam.png",
                                    "T0004_gradcam.png"]  # fmt: skip
    pngs = output_names([tmp_path / name for name in given], tmp_path)
    assert list(pngs.values()) == ["NUL_.png", "T0002_left.txt.png", "T0002_left.npy.png",
                                   "T0003_.png", "T0004.png"]  # fmt: skip
