"""Tests for the synthetic thermogram generator (tiny 64 x 80 images)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad import read_thermal
from thermocad.io.filenames import parse_dmr_name
from thermocad.synth.body import render_static
from thermocad.synth.cohort import (
    DIFFICULTIES,
    Nuisances,
    generate_cohort,
    sample_body,
    synth_patient,
)
from thermocad.utils.errors import ConfigError, OutputExistsError

SMALL = {"height": 64, "width": 80}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _sharpness(img: np.ndarray) -> float:
    return float(np.abs(np.diff(img, 2, axis=0)).mean() + np.abs(np.diff(img, 2, axis=1)).mean())


def test_same_seed_same_bytes_and_different_seeds_differ(tmp_path):
    a = _files(generate_cohort(tmp_path / "a", 4, seed=3, fmt="mixed", **SMALL).parent)
    b = _files(generate_cohort(tmp_path / "b", 4, seed=3, fmt="mixed", **SMALL).parent)
    c = _files(generate_cohort(tmp_path / "c", 4, seed=4, fmt="mixed", **SMALL).parent)
    assert a == b
    assert a.keys() == c.keys() and a["T0001.txt"] != c["T0001.txt"]


@pytest.mark.parametrize(
    ("fmt", "source"), [("space", "dmr-space"), ("semicolon", "dmr-semicolon")]
)
def test_formats_read_back_with_the_real_reader(tmp_path, fmt, source):
    labels = generate_cohort(tmp_path / fmt, 2, seed=1, fmt=fmt, **SMALL)
    thermo = read_thermal(labels.parent / "T0001.txt")
    assert thermo.source_format == source and thermo.unit == "celsius"
    assert thermo.array.shape == (64, 80)
    # The written file is the in-memory image of the same per-patient stream, rounded.
    sick = pd.read_csv(labels)["diagnosis"][0] == "Sick"
    batch = "A" if fmt == "space" else "B"
    images, _, _ = synth_patient(np.random.default_rng([1, 1]), sick, **SMALL, batch=batch)
    tol = 0.0051 if fmt == "space" else 1e-4
    np.testing.assert_allclose(thermo.array, images[("frontal", 1)], atol=tol)
    assert 15.0 < thermo.array.min() < thermo.array.max() < 40.0


def test_mixed_format_follows_the_batch_column(tmp_path):
    labels = generate_cohort(tmp_path / "m", 12, seed=0, fmt="mixed", **SMALL)
    table = pd.read_csv(labels)
    assert set(table["acquisition_batch"]) == {"A", "B"}
    for row in table.itertuples():
        fmt = read_thermal(labels.parent / f"T{row.patient_id:04d}.txt").source_format
        assert fmt == ("dmr-space" if row.acquisition_batch == "A" else "dmr-semicolon")


def test_labels_are_balanced_as_asked(tmp_path):
    table = pd.read_csv(generate_cohort(tmp_path / "l", 10, seed=2, sick_fraction=0.3, **SMALL))
    assert list(table.columns) == [
        "patient_id", "diagnosis", "age", "acquisition_batch", "acquisition_date", "deodorant",
        "single_breast"]  # fmt: skip
    # Dated as the long DMR names are: four women a day in patient order, whatever the label.
    assert table["acquisition_date"].tolist()[::4] == ["2012-01-02", "2012-01-03", "2012-01-04"]
    assert (table["diagnosis"] == "Sick").sum() == 3 and (
        table["diagnosis"] == "Healthy"
    ).sum() == 7
    assert list(table["patient_id"]) == list(range(1, 11))
    # A second cohort of other women: numbered from 101, its files named so.
    other = generate_cohort(tmp_path / "m", 3, seed=2, first_id=101, **SMALL)
    assert list(pd.read_csv(other)["patient_id"]) == [101, 102, 103]
    assert sorted(p.name for p in other.parent.glob("T*.txt")) == [
        "T0101.txt",
        "T0102.txt",
        "T0103.txt",
    ]
    with pytest.raises(ConfigError, match="do not fit DMR-IR names"):
        generate_cohort(tmp_path / "n", 3, first_id=9998, **SMALL)


def test_under_one_seed_a_patient_number_is_one_woman(tmp_path):
    # Her stream is [seed, number]: overlapping numbers are the same women whatever the cohort's
    # size; numbers apart (--first-id) are other women.
    def cohort(name: str, n: int, sick: float, first: int) -> Path:
        return generate_cohort(tmp_path / name, n, seed=2, sick_fraction=sick, first_id=first,
                               **SMALL).parent  # fmt: skip

    def images(folder: Path, ids) -> dict[int, np.ndarray]:
        return {i: read_thermal(folder / f"T{i:04d}.txt").array.ravel() for i in ids}

    healthy, shifted = cohort("a", 4, 0.0, 1), cohort("b", 3, 0.0, 3)
    sick, apart = cohort("c", 4, 1.0, 1), cohort("d", 3, 0.0, 101)
    for name in ("T0003.txt", "T0004.txt"):  # the same diagnosis and batch: the same bytes
        assert (healthy / name).read_bytes() == (shifted / name).read_bytes()
    mine, flipped = images(healthy, range(1, 5)), images(sick, range(1, 5))
    others = images(apart, range(101, 104))

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a, b)[0, 1])

    # Her diagnosis flipped: other files, but her anatomy (0.997-0.9996 measured) ...
    assert all(not np.array_equal(mine[i], flipped[i]) and corr(mine[i], flipped[i]) > 0.99
               for i in mine)  # fmt: skip
    # ... while women numbered apart are other women (at most 0.96 measured).
    assert max(corr(others[j], mine[i]) for j in others for i in mine) < 0.99


def test_dynamic_frames_are_near_identical_siblings(tmp_path):
    labels = generate_cohort(
        tmp_path / "d", 2, seed=5, frames=4, views=("frontal", "left45"), **SMALL
    )
    paths = sorted(labels.parent.glob("T0001.1.1.D.*.txt"))
    assert len(paths) == 4 and len(list(labels.parent.glob("T*.txt"))) == 16
    names = [parse_dmr_name(p) for p in paths]
    assert {n.view for n in names} == {"frontal"} and {n.protocol for n in names} == {"dynamic"}
    assert [n.sequence for n in names] == [1, 2, 3, 4]
    assert parse_dmr_name(next(labels.parent.glob("T0001.1.4.D.*"))).view == "left45"
    frames = [read_thermal(p).array for p in paths]
    other = read_thermal(sorted(labels.parent.glob("T0002.1.1.D.*"))[0]).array
    same = np.corrcoef(frames[0].ravel(), frames[1].ravel())[0, 1]
    assert same > 0.99 > np.corrcoef(frames[0].ravel(), other.ravel())[0, 1]
    # Skin re-warms after cooling: each frame is warmer on average than the previous one.
    assert np.all(np.diff([f.mean() for f in frames]) > 0)


def test_marker_is_a_uniform_square_on_the_abdomen():
    nuis = Nuisances(marker=True)
    img = synth_patient(np.random.default_rng(0), False, **SMALL, nuisances=nuis)[0][("frontal", 1)]
    plain = synth_patient(np.random.default_rng(0), False, **SMALL)[0][("frontal", 1)]
    # The marker (24-28 C) sits on ~31-34 C skin; elsewhere only camera noise differs.
    square = np.abs(img - plain) > 0.5
    rows, cols = np.nonzero(square)
    assert square.sum() == 16  # 4 x 4 pixels: 6% of 80 columns
    assert rows.min() > 0.8 * 64 and abs(cols.mean() - 40) < 5
    assert img[square].std() < 0.1 and img[square].max() < 28.3


def test_blurred_frames_are_less_sharp():
    def mean_sharpness(blur: float) -> float:
        nuis = Nuisances(blur_fraction=blur)
        imgs = [
            synth_patient(np.random.default_rng(i), False, 96, 128, nuisances=nuis)
            for i in range(3)
        ]
        return np.mean([_sharpness(im[0][("frontal", 1)]) for im in imgs])

    assert mean_sharpness(1.0) < 0.5 * mean_sharpness(0.0)


def test_single_breast_changes_only_one_side(tmp_path):
    body = sample_body(np.random.default_rng(1), False, DIFFICULTIES["default"], single_breast=True)
    body.posture_deg = 0.0  # facing the camera: each breast stays in its own half
    missing = [i for i, br in enumerate(body.breasts) if not br.present]
    assert len(missing) == 1
    without, _ = render_static(body, "frontal", 64, 80)
    body.breasts[missing[0]].present = True
    with_both, _ = render_static(body, "frontal", 64, 80)
    changed = np.abs(without - with_both) > 0.05
    # Breast 0 is the patient's right, drawn on the image's left half.
    left_half = changed[:, :40].sum() > 0
    assert changed.any() and left_half == (missing[0] == 0)
    assert changed[:, 40:].sum() == 0 if missing[0] == 0 else changed[:, :40].sum() == 0
    table = pd.read_csv(generate_cohort(tmp_path / "s", 3, single_breast_fraction=1.0,
                                        deodorant_fraction=1.0, **SMALL))  # fmt: skip
    assert set(table["single_breast"]) == {"yes"} and set(table["deodorant"]) == {"yes"}


def test_posture_turns_both_breasts_the_same_way():
    body = sample_body(np.random.default_rng(4), False, DIFFICULTIES["default"])
    body.mottle[:] = 0.0  # geometry only
    body.posture_deg = 0.0
    facing, _ = render_static(body, "frontal", 96, 128)
    body.posture_deg = 10.0  # the patient's right turned toward the camera
    turned, _ = render_static(body, "frontal", 96, 128)

    def shift(cols: slice) -> int:
        """The horizontal move (px, + = toward the image's right) that best maps the facing
        breast band onto the turned one within `cols`."""
        band = slice(40, 80)
        err = {s: np.mean((turned[band, cols.start + s : cols.stop + s]
                           - facing[band, cols.start : cols.stop]) ** 2)
               for s in range(-8, 9)}  # fmt: skip
        return min(err, key=err.get)

    # Both breasts move toward the image's right (each half of the chest on its own).
    assert shift(slice(24, 60)) > 0 and shift(slice(68, 104)) > 0


def test_fold_width_and_breast_height_move_the_fold():
    body = sample_body(np.random.default_rng(6), False, DIFFICULTIES["default"])
    body.fold_amp = 0.0
    bare, _ = render_static(body, "frontal", 96, 128)
    body.fold_amp = 3.0
    warm = {}
    for width in (0.03, 0.2):
        body.fold_width = width
        img, _ = render_static(body, "frontal", 96, 128)
        warm[width] = int(((img - bare) > 0.5).sum())
    # A band warms many more pixels than a line along the same contour.
    assert warm[0.2] > 3 * warm[0.03] > 0
    low = dataclasses.replace(DIFFICULTIES["default"], breast_height=(0.55, 0.55))
    high = dataclasses.replace(DIFFICULTIES["default"], breast_height=(0.4, 0.4))
    ys = [
        [b.y for b in sample_body(np.random.default_rng(6), False, d).breasts] for d in (low, high)
    ]
    assert ys == [[0.55, 0.55], [0.4, 0.4]]


def test_default_posture_adds_pixelwise_asymmetry_to_healthy_women():
    from thermocad.models.baseline import baseline_features

    def mirror(d):
        rngs = [np.random.default_rng([5, i]) for i in range(24)]
        return np.median([baseline_features(synth_patient(r, False, 60, 80, d)[0][("frontal", 1)])
                          ["mirror_mean"] for r in rngs])  # fmt: skip

    default = DIFFICULTIES["default"]
    assert default.posture_sd_deg > 0
    assert mirror(default) > mirror(dataclasses.replace(default, posture_sd_deg=0.0))


def test_tumour_adds_its_bioheat_signal():
    body = sample_body(np.random.default_rng(7), True, DIFFICULTIES["easy"])
    sick, _ = render_static(body, "frontal", 96, 128)
    peak = body.tumour.peak
    body.tumour = None
    healthy, _ = render_static(body, "frontal", 96, 128)
    assert 0.05 < peak < 2.5
    assert (sick - healthy).max() == pytest.approx(peak, rel=0.1)


def test_bad_options_raise_readable_errors(tmp_path):
    with pytest.raises(ConfigError, match="difficulty"):
        generate_cohort(tmp_path / "x", 2, difficulty="brutal", **SMALL)
    with pytest.raises(ConfigError, match="views"):
        generate_cohort(tmp_path / "x", 2, views=("top",), **SMALL)
    # In Python: what argparse would refuse fails before the folder is made (a TypeError came
    # after its INCOMPLETE mark); a view given as a string is not read letter by letter.
    for options, message in (({"frames": 2.0}, r"frames in Python\) must be a whole number"),
                             ({"n_patients": 3.5}, r"n_patients in Python\) must be a whole"),
                             ({"views": "frontal"}, r"a list of views, e\.g\. \['frontal'\]")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            generate_cohort(tmp_path / "z", **{"n_patients": 2, **options}, **SMALL)
        assert not (tmp_path / "z").exists()
    generate_cohort(tmp_path / "y", 1, **SMALL)
    with pytest.raises(OutputExistsError):
        generate_cohort(tmp_path / "y", 1, **SMALL)
    generate_cohort(tmp_path / "y", 1, force=True, **SMALL)


def test_a_forced_rerun_replaces_the_earlier_cohort_and_nothing_else(tmp_path):
    generate_cohort(tmp_path / "s", 4, frames=2, **SMALL)  # T0001.1.1.D... names, 8 files
    generate_cohort(tmp_path / "s", 3, seed=1, force=True, **SMALL)  # T0001.txt names, 3 files
    assert sorted(p.name for p in (tmp_path / "s").glob("T*")) == ["T0001.txt", "T0002.txt",
                                                                  "T0003.txt"]  # fmt: skip
    real = tmp_path / "real"  # thermal files synth did not write: never removed
    real.mkdir()
    (real / "T0042.txt").write_text("36.0 36.1\n36.2 36.3\n")
    with pytest.raises(OutputExistsError, match="not an earlier synthetic cohort"):
        generate_cohort(real, 2, force=True, **SMALL)
    assert [p.name for p in real.iterdir()] == ["T0042.txt"]
    # Nor are files added to a synthetic cohort's folder: a real woman, notes, a figure.
    added = {"T0312.txt": "36.0 36.1\n", "notes.txt": "mine", "figure.png": "png"}
    for name, text in added.items():
        (tmp_path / "s" / name).write_text(text)
        with pytest.raises(OutputExistsError, match=rf"\(e\.g\. {name}\)"):
            generate_cohort(tmp_path / "s", 3, seed=2, force=True, **SMALL)
        (tmp_path / "s" / name).unlink()
    generate_cohort(tmp_path / "s", 3, seed=2, force=True, **SMALL)  # its own files: replaced
    table = tmp_path / "tables"  # someone's labels.csv and notes, no thermogram yet
    table.mkdir()
    (table / "labels.csv").write_text("patient_id,diagnosis\n7,Sick\n")
    with pytest.raises(OutputExistsError, match="holds a labels.csv that is not"):
        generate_cohort(table, 2, force=True, **SMALL)
    assert (table / "labels.csv").read_text() == "patient_id,diagnosis\n7,Sick\n"
    # A file of one of its patients' numbers that synth never writes (someone's .npy): kept.
    np.save(tmp_path / "s" / "T0002.npy", np.zeros((4, 4), np.float32))
    with pytest.raises(
        OutputExistsError, match=r"not an earlier synthetic cohort's \(e\.g\. T0002\.npy"
    ):
        generate_cohort(tmp_path / "s", 3, seed=5, force=True, **SMALL)
    assert (tmp_path / "s" / "T0002.npy").exists()


def test_without_force_a_folder_force_could_not_take_is_refused_as_such_at_once(tmp_path):
    # --force is suggested only where it would work: someone's thermograms are named at once.
    png = tmp_path / "png"
    png.mkdir()
    (png / "T0001.png").write_bytes(b"png")
    with pytest.raises(OutputExistsError, match=r"not an earlier synthetic cohort's \(e\.g\. "
                       r"T0001\.png\).*choose another --out") as refused:  # fmt: skip
        generate_cohort(png, 2, **SMALL)
    assert "--force" not in str(refused.value)
    generate_cohort(tmp_path / "s", 2, **SMALL)  # an earlier cohort: --force replaces it
    with pytest.raises(OutputExistsError, match=r"use --force .* to replace the synthetic "
                       r"cohort it holds \(only its own files\)"):  # fmt: skip
        generate_cohort(tmp_path / "s", 2, **SMALL)


def test_an_interrupted_cohort_is_replaced_by_a_forced_rerun(tmp_path, monkeypatch, capsys):
    import thermocad.synth.cohort as C

    real_write, written = C._write_patient, []

    def interrupted(out, *args):
        if len(written) == 2:
            raise KeyboardInterrupt  # Ctrl-C after two women
        written.append(args[0])
        return real_write(out, *args)

    monkeypatch.setattr(C, "_write_patient", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_cohort(tmp_path / "s", 5, **SMALL)
    assert (tmp_path / "s" / "INCOMPLETE").exists() and not (tmp_path / "s" / "labels.csv").exists()
    monkeypatch.undo()
    # prepare says why there is no labels.csv; a rerun does not count the mark as a stray file.
    from thermocad.cli import main

    assert main(["prepare", str(tmp_path / "s"), "--labels", str(tmp_path / "s" / "labels.csv"),
                 "--out", str(tmp_path / "c")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "labels file not found (" in err and "is marked INCOMPLETE: what writes it was" in err
    assert main(["synth", "--patients", "3", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "unfinished synthetic cohort" in err and "without a thermal suffix" not in err
    generate_cohort(tmp_path / "s", 3, force=True, **SMALL)
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "T0001.txt", "T0002.txt", "T0003.txt", "labels.csv", "synth_truth.csv"]  # fmt: skip


def test_cli_writes_cohort_and_preview(tmp_path):
    from thermocad.cli import main

    out = tmp_path / "cli"
    argv = ["synth", "--patients", "3", "--out", str(out), "--seed", "1", "--height", "64",
            "--width", "80", "--marker", "--preview"]  # fmt: skip
    assert main(argv) == 0
    # The sheet sits beside the folder, so `prepare` finds only thermograms inside it.
    assert (out / "labels.csv").exists() and (tmp_path / "cli_preview.png").stat().st_size > 1000
    assert not list(out.glob("*.png"))
    assert main(argv) == 2  # refuses to overwrite without --force


def test_generated_cohort_passes_prepare(tmp_path):
    from thermocad.cohort.prepare import prepare_cohort

    # 240 x 320: prepare's sharpness threshold is absolute, calibrated near full resolution.
    labels = generate_cohort(tmp_path / "data", 6, seed=0, frames=3, fmt="mixed", marker=True,
                             blur_fraction=0.3, deodorant_fraction=0.3, height=240, width=320)  # fmt: skip
    summary = prepare_cohort(tmp_path / "data", labels, tmp_path / "out")
    cohort = pd.read_csv(summary.cohort_csv)
    truth = pd.read_csv(labels.parent / "synth_truth.csv")
    table = pd.read_csv(labels)
    assert len(cohort) == 18 and set(cohort["view"]) == {"frontal"}
    assert set(cohort["protocol"]) == {"dynamic"} and set(cohort["unit"]) == {"celsius"}
    merged = cohort.groupby("patient_id")["label"].first()
    assert merged.to_dict() == table.set_index("patient_id")["diagnosis"].to_dict()
    # Every blurred frame falls under prepare's sharpness threshold, and no sharp one does.
    # (the reason column names only the first reason, e.g. deodorant before blur).
    assert (cohort["sharpness"] < 0.5).sum() == truth["blurred_frames"].sum() > 0
    deodorant = cohort["excluded_reason"].fillna("").eq("deodorant")
    assert deodorant.sum() == 3 * (table["deodorant"] == "yes").sum() == 6  # every frame of hers


def test_a_difficulty_can_be_given_as_is(tmp_path):
    # The same draws with the named default and with its Difficulty; a stronger Sick-breast
    # warming changes only the Sick patients' images.
    named = synth_patient(np.random.default_rng(3), True, 32, 40, "default")[0]
    same = synth_patient(np.random.default_rng(3), True, 32, 40, DIFFICULTIES["default"])[0]
    warmer = dataclasses.replace(DIFFICULTIES["default"], sick_asymmetry=(3.0, 3.0))
    hot = synth_patient(np.random.default_rng(3), True, 32, 40, warmer)[0]
    cold = synth_patient(np.random.default_rng(3), False, 32, 40, warmer)[0]
    healthy = synth_patient(np.random.default_rng(3), False, 32, 40, "default")[0]
    key = ("frontal", 1)
    assert np.array_equal(named[key], same[key]) and not np.allclose(named[key], hot[key])
    assert np.array_equal(cold[key], healthy[key])


def test_difficulty_orders_the_tumour_signal():
    def median_peak(name: str) -> float:
        bodies = [
            sample_body(np.random.default_rng(i), True, DIFFICULTIES[name]) for i in range(40)
        ]
        return float(np.median([b.tumour.peak for b in bodies]))

    assert median_peak("easy") > median_peak("default") > median_peak("hard") > 0


def test_batch_effect_confounds_batch_with_disease(tmp_path):
    labels = generate_cohort(tmp_path / "b", 60, seed=0, fmt="mixed", batch_effect=True,
                             sick_fraction=0.5, height=32, width=32)  # fmt: skip
    table = pd.read_csv(labels)
    share_b = table.groupby("diagnosis")["acquisition_batch"].apply(lambda s: (s == "B").mean())
    # Batch B is drawn with p = 0.7 for Sick and 0.3 for Healthy patients.
    assert share_b["Sick"] > share_b["Healthy"] + 0.2
    # And it is another camera and room: the same woman (the same draws) imaged in batch B is
    # 0.6 C warmer on the body (the camera's offset) and 0.6 + 1.5 C in the background (the
    # warmer room), within float32 rounding.
    nuis = Nuisances(batch_effect=True)
    a, b = (synth_patient(np.random.default_rng(4), True, **SMALL, nuisances=nuis, batch=batch)
            [0][("frontal", 1)] for batch in "AB")  # fmt: skip
    shift = b - a
    body, room = shift[32, 40], shift[32, [0, -1]]  # the chest's middle; the sides' background
    np.testing.assert_allclose([body, *room], [0.6, 2.1, 2.1], atol=1e-3)
    assert shift.min() > 0.6 - 1e-3 and shift.max() < 2.1 + 1e-3


def test_sizes_fractions_and_the_preview_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="too small .at least 32 x 32"):
        generate_cohort(tmp_path / "tiny", 1, height=31, width=64)  # prepare would exclude it
    with pytest.raises(ConfigError, match="larger than thermocad reads"):
        generate_cohort(tmp_path / "big", 1, height=5000, width=5000)
    with pytest.raises(ConfigError, match=r"--blur-fraction \(blur_fraction in Python\) must "
                       "be between 0 and 1, got 5"):  # fmt: skip
        generate_cohort(tmp_path / "blur", 1, blur_fraction=5, **SMALL)
    (tmp_path / "c_preview.png").write_bytes(b"an earlier sheet")
    with pytest.raises(OutputExistsError, match="c_preview.png"):
        generate_cohort(tmp_path / "c", 1, preview="", **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c_preview.png"]  # no cohort written
    # A sheet inside the cohort would be read back as a thermogram by prepare (and block
    # synth --force there): refused before anything is written.
    from thermocad.utils.errors import OutputPathError

    with pytest.raises(OutputPathError, match="--preview a place outside it"):
        generate_cohort(tmp_path / "d", 1, preview=tmp_path / "d" / "prev.png", **SMALL)
    assert not (tmp_path / "d").exists()


def test_a_cohort_interrupted_before_its_mark_named_its_women_is_still_replaced(tmp_path):
    from thermocad.synth.cohort import UNFINISHED

    old = tmp_path / "s"  # as versions before the numbered mark left it
    old.mkdir()
    (old / "INCOMPLETE").write_text(UNFINISHED[1])
    for i in (1, 2, 3):
        (old / f"T000{i}.txt").write_text("36 36\n")
    generate_cohort(old, 2, force=True, **SMALL)
    assert sorted(p.name for p in old.glob("T*")) == ["T0001.txt", "T0002.txt"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--patients", "0",
         "--patients (n_patients in Python) must be a whole number, at least 1, got 0"),
        ("--frames", "0", "--frames (frames in Python) must be a whole number, at least 1, got 0"),
        ("--sick-fraction", "1.5",
         "--sick-fraction (sick_fraction in Python) must be between 0 and 1, got 1.5"),
        # numpy refused a negative seed with a traceback, after the folder was marked INCOMPLETE
        ("--seed", "-1", "--seed (seed in Python) must be a whole number, at least 0, got -1"),
        ("--blur-fraction", "nan",
         "--blur-fraction (blur_fraction in Python) must be between 0 and 1, got nan"),
        ("--patients", "10000",
         "--first-id 1 and --patients 10000 (first_id and n_patients in Python) number the "
         "women 1..10000, which do not fit DMR-IR names (1..9999): lower --first-id or --patients"),
        ("--first-id", "0", "--first-id (first_id in Python) must be at least 1, got 0"),
        # The second render of a view overwrote the first's files, and the truth counted both.
        ("--views", "frontal left45 frontal",
         "--views (views in Python) names frontal more than once; give each view once"),
    ],
)  # fmt: skip
def test_each_count_error_names_only_its_own_parameter(tmp_path, capsys, option, value, message):
    from thermocad.cli import main

    assert main(["synth", "--out", str(tmp_path / "s"), option, *value.split()]) == 2
    assert capsys.readouterr().err == f"thermocad: error: {message}\n"
    assert not (tmp_path / "s").exists()


def test_the_sick_count_rounds_halves_up(tmp_path):
    # round() rounds halves to even: one woman at 0.5 was Healthy, 5 at 0.5 gave 2 Sick.
    table = pd.read_csv(generate_cohort(tmp_path / "one", 1, sick_fraction=0.5, **SMALL))
    assert list(table["diagnosis"]) == ["Sick"]
    from thermocad.synth.cohort import n_sick_of

    assert [n_sick_of(n, 0.5) for n in (1, 3, 5, 9)] == [1, 2, 3, 5]
    assert n_sick_of(96, 0.4) == 38 and n_sick_of(10, 0.3) == 3  # no half: as before


def test_the_preview_says_how_many_thermograms_it_shows(tmp_path, capsys, monkeypatch):
    from thermocad.cli import main

    monkeypatch.delenv("THERMOCAD_QUIET", raising=False)
    base = ["synth", "--height", "64", "--width", "80", "--preview"]
    assert main([*base, "--out", str(tmp_path / "two"), "--patients", "2"]) == 0
    err = capsys.readouterr().err
    assert (
        "preview of all 2 thermograms (by file name)" in err and "first 12" not in err
    )  # (a path may hold "12")
    assert main([*base, "--out", str(tmp_path / "many"), "--patients", "13"]) == 0
    assert "preview of the first 12 of 13 thermograms" in capsys.readouterr().err


def test_a_forced_rerun_replaces_the_preview_too(tmp_path):
    from thermocad.cli import main

    base = ["synth", "--patients", "3", "--out", str(tmp_path / "fp"), "--height", "64",
            "--width", "80", "--preview"]  # fmt: skip
    assert main([*base, "--seed", "1"]) == 0
    sheet = tmp_path / "fp_preview.png"
    first = sheet.read_bytes()
    assert main([*base, "--seed", "2", "--force"]) == 0  # the sheet was refused after the cohort
    assert sheet.read_bytes() != first  # the new cohort's, not the old one's beside it
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("spelt", [".", ".."])
def test_the_default_preview_of_dot_or_dot_dot_is_named_after_the_folder(
    tmp_path, monkeypatch, spelt
):
    from thermocad.cli import main

    cohort = tmp_path / "a" / "c"
    here = cohort if spelt == "." else cohort / "sub"  # ".." from c/sub: c (holding sub: --force)
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    argv = ["synth", "--out", spelt, "--patients", "2", "--height", "64", "--width", "80",
            "--preview", "--force"]  # fmt: skip
    assert main(argv) == 0  # ".": a traceback (PosixPath('.') has an empty name)
    assert (cohort / "labels.csv").is_file()
    # Beside the folder, named after it (".." gave ".._preview.png", inside the cohort).
    assert sorted(p.name for p in cohort.parent.iterdir()) == ["c", "c_preview.png"]


def test_the_preview_is_a_png_and_names_each_tiles_view_and_frame(tmp_path, capsys, monkeypatch):
    from thermocad.cli import main

    base = ["synth", "--height", "64", "--width", "80", "--patients", "1"]
    assert main([*base, "--out", str(tmp_path / "a"), "--preview", str(tmp_path / "p.jpg")]) == 2
    assert "--preview is written as a PNG image" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # refused before anything is written
    seen = {}
    monkeypatch.setattr("thermocad.io.render.contact_sheet",
                        lambda arrays, titles, out, force: seen.setdefault("titles", titles) and out)  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "b"), "--frames", "2", "--views", "frontal",
                 "left45", "--preview"]) == 0  # fmt: skip
    assert seen["titles"] == ["T0001 Healthy\nfrontal, frame 1", "T0001 Healthy\nfrontal, frame 2",
                              "T0001 Healthy\nleft45, frame 1", "T0001 Healthy\nleft45, frame 2"]  # fmt: skip
    assert "wrote 1 synthetic patient to" in capsys.readouterr().err
