"""Cohort preparation: filters, exclusion reasons, batches, summary, streaming, real data."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from thermocad.cli import main
from thermocad.cohort.prepare import (
    COLUMNS,
    DEFAULT_SHARPNESS_THRESHOLD,
    find_thermal_files,
    prepare_cohort,
)
from thermocad.evaluation.confounds import confound_audit
from thermocad.io.thermal import read_thermal
from thermocad.preprocess.plausible import sharpness
from thermocad.synth.cohort import generate_cohort
from thermocad.utils.errors import CohortError, ConfigError, OutputExistsError


def thermogram(seed: int, shape=(64, 80), blur: float = 0.0) -> np.ndarray:
    """A warm body with texture and camera noise (0.05 C), like a tiny DMR frame."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    body = 34 - 0.002 * ((rows - shape[0] / 2) ** 2 + (cols - shape[1] / 2) ** 2)
    array = body + gaussian_filter(rng.normal(0, 1, shape), 1.5) + rng.normal(0, 0.05, shape)
    return gaussian_filter(array, blur) if blur else array


def write_text(path, array, sep=" ", fmt="%.2f"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sep.join(fmt % v for v in row) for row in array) + "\n")


@pytest.fixture()
def folder(tmp_path):
    data = tmp_path / "data"
    write_text(data / "T0001.1.1.S.2015-07-20.10.txt", thermogram(1))
    write_text(data / "T0002.1.1.D.2016-02-01.11.txt", thermogram(2), sep=";", fmt="%.5f")
    write_text(data / "T0002.1.2.D.2016-02-01.11.txt", thermogram(3), sep=";", fmt="%.5f")
    write_text(data / "T0003.txt", thermogram(4))
    write_text(data / "T0004.txt", thermogram(5))
    write_text(data / "T0005.txt", thermogram(6))
    write_text(data / "T0006.txt", thermogram(7, blur=3))
    (data / "T0007.txt").write_text("garbage here\n")
    (data / "weird.txt").write_text("30.1 30.2\n")
    (data / "notes.md").write_text("not a thermogram")
    (data / ".hidden").mkdir()
    write_text(data / ".hidden" / "T0001.txt", thermogram(1))
    grey = (np.clip(thermogram(8) - 20, 0, 17) * 15).astype(np.uint8)
    (data / "sub").mkdir()
    Image.fromarray(grey).save(data / "sub" / "T0008.1.1.S.2015-07-20.10.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "patient_id,diagnosis,deodorant,mastectomy,age\n"
        "1,Healthy,no,no,40\n2,Sick,no,no,55\n3,healthy,yes,no,\n4,Sick,no,yes,60\n"
        "6,Healthy,no,no,33\n7,Sick,,,\n8,Sick,no,no,70\n"
    )
    return data, labels


def test_prepare_rows_reasons_and_summary(folder, tmp_path):
    data, labels = folder
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    assert list(cohort.columns) == COLUMNS + ["deodorant", "single_breast", "age"]
    reason = dict(
        zip(cohort["path"].str.split("/").str[-1], cohort["excluded_reason"], strict=True)
    )
    assert reason["T0001.1.1.S.2015-07-20.10.txt"] == ""
    assert reason["T0002.1.1.D.2016-02-01.11.txt"] == ""
    assert reason["T0002.1.2.D.2016-02-01.11.txt"] == "not frontal"
    assert reason["T0003.txt"] == "deodorant"
    assert reason["T0004.txt"] == "single breast"
    assert reason["T0005.txt"] == "patient not in labels"
    assert reason["T0006.txt"].startswith("blurred")
    assert reason["T0007.txt"].startswith("unreadable: ") and "not a number" in reason["T0007.txt"]
    # As predict refuses it: a 1 x 2 matrix cannot be a breast thermogram (named first).
    assert reason["weird.txt"].startswith("not a breast thermogram: 1x2 pixels is too small")
    assert reason["T0008.1.1.S.2015-07-20.10.png"] == ""
    assert len(cohort) == 10  # hidden folders and non-thermal files are not searched
    kept = (
        cohort[cohort["excluded_reason"] == ""].astype({"patient_id": int}).set_index("patient_id")
    )
    assert kept.loc[1, "acquired"] == "2015-07-20T10:00" and kept.loc[2, "protocol"] == "dynamic"
    # no batch column in the table: inferred from the format (space -> A, ';' -> B)
    assert (kept.loc[1, "acquisition_batch"], kept.loc[2, "acquisition_batch"]) == ("A", "B")
    assert kept.loc[8, "unit"] == "intensity" and kept.loc[1, "unit"] == "celsius"
    assert summary.kept_images == {"Healthy": 1, "Sick": 2}
    assert summary.kept_patients == {"Healthy": 1, "Sick": 2}
    assert summary.units == {"celsius": 2, "intensity": 1}  # said before train refuses the mix
    assert any(line.startswith("warning: the kept images mix units") for line in summary.lines())
    assert summary.exclusions == {
        "not frontal": 1, "deodorant": 1, "single breast": 1, "patient not in labels": 1,
        f"blurred (sharpness < {DEFAULT_SHARPNESS_THRESHOLD:g})": 1, "unreadable": 1,
        "not a breast thermogram": 1,
    }  # fmt: skip
    assert "1 Healthy and 2 Sick images from 3 patients" in summary.lines()[0]
    assert any("T0007.txt" in line for line in summary.lines())


def test_batch_from_table_and_refusal(folder, tmp_path):
    data, _ = folder
    labels = tmp_path / "labels_batch.csv"
    labels.write_text("patient_id,diagnosis,acquisition_batch\n1,Healthy,C\n2,Sick,\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=2)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    kept = cohort[cohort["excluded_reason"] == ""].astype({"patient_id": int})
    batch = kept.set_index("patient_id")["acquisition_batch"]
    assert (batch[1], batch[2]) == ("C", "B")  # the table wins; an empty cell falls back
    with pytest.raises(OutputExistsError):
        prepare_cohort(data, labels, tmp_path / "out")
    prepare_cohort(data, labels, tmp_path / "out", force=True, workers=1)


def test_decimal_comma_files_keep_the_batch_their_separator_tells(tmp_path):
    data = tmp_path / "data"
    for pid, sep in ((1, " "), (2, ";")):  # batch A's layout, batch B's, each with 29,52
        array = thermogram(pid)
        (data).mkdir(exist_ok=True)
        text = "\n".join(sep.join(f"{v:.2f}".replace(".", ",") for v in row) for row in array)
        (data / f"T000{pid}.txt").write_text(text + "\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    batch = cohort.astype({"patient_id": int}).set_index("patient_id")["acquisition_batch"]
    assert (batch[1], batch[2]) == ("A", "B")


def test_labels_columns_never_overwrite_what_prepare_computes(folder, tmp_path, capsys):
    data, _ = folder
    labels = tmp_path / "labels_clinical.csv"  # a clinical table with a height and a path
    labels.write_text("patient_id,diagnosis,height,path\n1,Healthy,158,a.txt\n2,Sick,171,a.txt\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    kept = (
        cohort[cohort["excluded_reason"] == ""].astype({"patient_id": int}).set_index("patient_id")
    )
    assert kept["path"].nunique() == len(kept) and not kept["path"].str.endswith("a.txt").any()
    assert set(kept["height"]) == {"64"} and kept.loc[1, "labels_height"] == "158"
    assert kept.loc[2, "labels_path"] == "a.txt"
    assert "height, path are computed by prepare" in capsys.readouterr().err


def test_a_file_cut_short_is_excluded_or_kept_with_a_warning_when_allowed(tmp_path, capsys):
    labels = generate_cohort(tmp_path / "syn", 4, seed=1, height=64, width=80)
    cut = tmp_path / "syn" / "T0003.txt"
    lines = cut.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[: len(lines) // 2]))  # cut at a line end: still a matrix
    summary = prepare_cohort(tmp_path / "syn", labels, tmp_path / "out", workers=1)
    reason = "frame size 32x80 unlike the cohort's 64x80"
    assert summary.exclusions == {reason: 1} and not summary.odd_shapes
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    why = cohort.set_index(cohort["path"].str.rsplit("/", n=1).str[-1])["excluded_reason"]
    assert why["T0003.txt"] == (f"{reason}: a file cut short at the end of a line, or another "
                                "camera? (--allow-mixed-shapes keeps it)")  # fmt: skip
    assert f"excluded, {reason}: 1" in capsys.readouterr().err
    summary = prepare_cohort(tmp_path / "syn", labels, tmp_path / "out", workers=1, force=True,
                             allow_mixed_shapes=True)  # fmt: skip
    assert len(summary.odd_shapes) == 1 and summary.odd_shapes[0].startswith("T0003.txt: ")
    assert summary.exclusions == {}
    assert "1 kept images differ in size from the others (e.g. T0003.txt: " in (
        capsys.readouterr().err
    )


def test_a_folder_marked_incomplete_is_refused(folder, tmp_path):
    data, labels = folder
    (data / "INCOMPLETE").write_text("a synthetic cohort being written by thermocad synth\n")
    try:
        with pytest.raises(CohortError, match="marked INCOMPLETE \\(a synthetic cohort being"):
            prepare_cohort(data, labels, tmp_path / "out", workers=1)
    finally:
        (data / "INCOMPLETE").unlink()


def test_acquisition_date_from_labels_or_file_name(folder, tmp_path):
    data, _ = folder
    labels = tmp_path / "labels_dates.csv"
    labels.write_text("patient_id,diagnosis,date\n1,Healthy,2014-01-02\n2,Sick,\n3,Healthy,\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    assert "acquisition_date" in COLUMNS and list(cohort.columns).count("acquisition_date") == 1
    dates = cohort.set_index(cohort["path"].str.rsplit("/", n=1).str[-1])["acquisition_date"]
    assert dates["T0001.1.1.S.2015-07-20.10.txt"] == "2014-01-02"  # the labels win
    assert dates["T0002.1.1.D.2016-02-01.11.txt"] == "2016-02-01"  # else the full DMR name
    assert dates["T0003.txt"] == ""  # a short name and no date in the labels: missing


def test_cli_prepare(folder, tmp_path, capsys):
    data, labels = folder
    argv = ["prepare", str(data), "--labels", str(labels), "--out", str(tmp_path / "o")]
    assert main(argv + ["--workers", "1"]) == 0
    assert main(argv) == 2 and "already exists" in capsys.readouterr().err
    assert main(argv + ["--force", "--sharpness-threshold", "0"]) == 0
    cohort = pd.read_csv(tmp_path / "o" / "cohort.csv", keep_default_na=False)
    assert not cohort["excluded_reason"].str.startswith("blurred").any()


def test_a_negative_sharpness_threshold_is_refused_before_anything_is_written(folder, tmp_path,
                                                                              capsys):  # fmt: skip
    data, labels = folder
    for bad in ("-5", "nan"):
        argv = ["prepare", str(data), "--labels", str(labels), "--out", str(tmp_path / "o"),
                "--sharpness-threshold", bad]  # fmt: skip
        assert main(argv) == 2
        assert (
            "--sharpness-threshold (sharpness_threshold in Python) must be a number, at least 0"
            in (capsys.readouterr().err)
        )
    assert not (tmp_path / "o").exists()


def test_empty_or_missing_folder(tmp_path, folder):
    _, labels = folder
    (tmp_path / "empty").mkdir()
    with pytest.raises(CohortError, match=r"no thermal files found \([^)]*\)$"):
        prepare_cohort(tmp_path / "empty", labels, tmp_path / "out")
    # Another site's comma-separated matrices named .csv: taken for tables, and said so
    (tmp_path / "empty" / "T0001.csv").write_text("30.1,30.2\n30.3,30.4\n")
    (tmp_path / "empty" / "labels.csv").write_text("patient_id,diagnosis\n")  # not counted
    with pytest.raises(CohortError, match=r"its 1 T<number>\.csv file\(s\) are taken for tables"):
        prepare_cohort(tmp_path / "empty", labels, tmp_path / "out")
    with pytest.raises(CohortError, match="not found"):
        find_thermal_files(tmp_path / "missing")
    (tmp_path / "T0001.txt").write_text("30 31\n")
    with pytest.raises(CohortError, match=r"T0001\.txt: is a file; give the folder"):
        find_thermal_files(tmp_path / "T0001.txt")


def test_sharpness_separates_blur():
    sharp = thermogram(0)
    assert sharpness(sharp) > DEFAULT_SHARPNESS_THRESHOLD > sharpness(gaussian_filter(sharp, 3))
    assert sharpness(np.full((10, 10), 30.0)) == 0.0  # flat: no edges at all


def test_memory_does_not_grow_with_file_count(tmp_path):
    """Peak traced memory for 4 and 16 files of 100 x 120 is about the same: rows stream."""
    text = "\n".join(" ".join(f"{v:.2f}" for v in row) for row in thermogram(0, (100, 120))) + "\n"
    peaks = []
    for n in (4, 16):
        data = tmp_path / f"d{n}"
        data.mkdir()
        for i in range(n):
            (data / f"T{i + 1:04d}.txt").write_text(text)
        labels = tmp_path / f"labels{n}.csv"
        labels.write_text(
            "patient_id,diagnosis\n" + "".join(f"{i + 1},Healthy\n" for i in range(n))
        )
        tracemalloc.start()
        prepare_cohort(data, labels, tmp_path / f"out{n}", workers=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    array_bytes = 100 * 120 * 4
    assert peaks[1] < peaks[0] + 4 * array_bytes, peaks  # 12 more arrays would add 12 x 48 kB


@pytest.mark.real
def test_real_cohort(dmr_dir, tmp_path):
    labels = pd.read_csv(dmr_dir / "labels.csv")
    no_batch = tmp_path / "labels.csv"
    labels.drop(columns="acquisition_batch").to_csv(no_batch, index=False)
    summary = prepare_cohort(dmr_dir, no_batch, tmp_path / "out")
    assert summary.kept_images == {"Healthy": 71, "Sick": 49}
    assert summary.kept_patients == {"Healthy": 71, "Sick": 49}
    assert summary.exclusions == {} and summary.unknown_view == 120
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")
    inferred = cohort.set_index("patient_id")["acquisition_batch"]
    truth = labels.set_index("patient_id")["acquisition_batch"]
    assert (inferred.loc[truth.index] == truth).all()  # batch A/B from the file format alone
    dates = cohort.set_index("patient_id")["acquisition_date"]
    assert (dates.loc[truth.index] == labels.set_index("patient_id")["acquisition_date"]).all()
    # The room drifts with the date: alone it separates the classes within batch A (0.844,
    # experiments/records/sick_local_signal.md), so the audit must flag it.
    audit = confound_audit(cohort)  # batches inferred from the formats, checked above
    room = audit.set_index("quantity").loc["room temperature (background median, C)"]
    assert room["AUC within batch A"] == pytest.approx(0.844, abs=0.01) and room["flag"]


@pytest.mark.real
def test_real_sharpness_threshold(dmr_dir):
    """None of the 120 sharp frontal images is excluded; each sigma-3 blurred copy is."""
    scores, blurred = [], []
    for path in sorted(dmr_dir.glob("T*.txt")):
        array = read_thermal(path).array
        scores.append(sharpness(array))
        blurred.append(sharpness(gaussian_filter(array, 3)))
    assert min(scores) > DEFAULT_SHARPNESS_THRESHOLD > max(blurred)


def test_room_temperature_is_the_background_median(tmp_path):
    """A synthetic cohort whose batch B stood in a 1.5 C warmer room (batch_effect): the
    cohort's room column reads the background, and the confound audit names it."""
    labels = generate_cohort(tmp_path / "data", 24, seed=3, height=60, width=80, fmt="mixed",
                             batch_effect=True)  # fmt: skip
    prepare_cohort(tmp_path / "data", labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")
    room = cohort.groupby("acquisition_batch")["room_median"].median()
    assert 18 < room["A"] < 26 and 1.0 < room["B"] - room["A"] < 2.5
    assert (cohort["room_median"] < cohort["skin_median"] - 5).all()
    audit = confound_audit(cohort).set_index("quantity")
    assert "room temperature (background median, C)" in audit.index
    # Grey images hold no temperatures, but their marker is found in grey levels and audited
    # (a review: marker_px had been empty for every image).
    from PIL import Image

    from thermocad.cohort.image_stats import image_stats
    from thermocad.synth.cohort import Nuisances, synth_patient

    (tmp_path / "png").mkdir()
    frames, _, _ = synth_patient(np.random.default_rng(2), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    Image.fromarray(np.uint8((a - a.min()) / (a.max() - a.min()) * 255)).save(
        tmp_path / "png" / "T1.png"
    )
    stats = image_stats(read_thermal(tmp_path / "png" / "T1.png"))
    assert stats["unit"] == "intensity" and stats["marker_px"] > 0
    assert np.isnan(stats["skin_median"]) and np.isnan(stats["room_median"])


def test_invalid_date_in_a_dmr_name_is_named(tmp_path, capsys):
    data = tmp_path / "data"
    write_text(data / "T0001.1.1.S.2015-02-30.10.txt", thermogram(1))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n")
    # Nothing kept: cohort.csv still says why, and prepare fails naming the main reason.
    with pytest.raises(CohortError, match=r"no image kept of 1 file.*invalid date.*cohort\.csv"):
        prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    assert cohort["excluded_reason"].tolist() == ["file name has an invalid date: 2015-02-30"]
    write_text(data / "T0002.txt", thermogram(2))
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n3,Sick\n4,Healthy\n")
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    assert summary.exclusions == {"file name has an invalid date": 1}
    # In the labels, but no file name matches: said, not silently (1's name matches her, its
    # date aside: a dates review had seen her listed as without a file)
    assert summary.unmatched_labels == [3, 4]
    assert "patients in the labels whom no file name here matches: 2 (3, 4)" in summary.lines()
    # The labels date her: her image is kept at their date, and the name's date said ignored.
    labels.write_text("patient_id,diagnosis,acquisition_date\n1,Healthy,2015-03-02\n"
                      "2,Sick,\n3,Sick,\n4,Healthy,\n")  # fmt: skip
    summary = prepare_cohort(data, labels, tmp_path / "out", workers=1, force=True)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    first = cohort[cohort["patient_id"] == 1].iloc[0]
    assert first["excluded_reason"] == "" and first["acquisition_date"] == "2015-03-02"
    assert first["view"] == "frontal" and summary.exclusions == {}
    assert "the invalid date 2015-02-30 in its name is ignored; the labels date her 2015-03-02" in (
        capsys.readouterr().err
    )


def test_a_copys_name_is_excluded_as_a_copy(tmp_path):
    """T0001 (1).txt, a browser's copy: excluded (a woman counted twice), said as a copy."""
    data = tmp_path / "data"
    for name in ("T0001.txt", "T0001 (1).txt", "T0002.txt", "scan.txt"):
        write_text(data / name, thermogram(1))
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n2,Sick\n")
    prepare_cohort(data, labels, tmp_path / "out", workers=1)
    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv", keep_default_na=False)
    reason = dict(zip(cohort["path"].str.split("/").str[-1], cohort["excluded_reason"],
                      strict=True))  # fmt: skip
    assert reason["T0001 (1).txt"].startswith("file name of a copy (T0012 (1).txt): rename it")
    # what names are read, for another site's files (a second site's walkthrough)
    assert reason["scan.txt"].startswith("file name not recognised: name each woman's files")
    assert "T0012.txt" in reason["scan.txt"] and reason["T0001.txt"] == ""


def test_one_file_under_two_patient_numbers_is_warned_of(folder, tmp_path, capsys):
    """A split by patient would put the one woman on two sides; the same number twice (a copy
    in another folder, or under a name of her number spelt otherwise) is one woman whose image
    would count twice: a warning of its own."""
    import shutil

    data, labels = folder
    first = "T0001.1.1.S.2015-07-20.10.txt"
    shutil.copy(data / first, data / "T0009.txt")
    labels.write_text(labels.read_text() + "9,Healthy,no,no,41\n")
    prepare_cohort(data, labels, tmp_path / "out")
    err = capsys.readouterr().err
    assert ("WARNING: 2 kept files are copies of files of another patient number, byte for "
            f"byte or saved again ({first} = T0009.txt)") in err  # fmt: skip
    (data / "T0009.txt").unlink()
    shutil.copy(data / first, data / "sub" / first)
    shutil.copy(data / first, data / "T1.txt")
    prepare_cohort(data, labels, tmp_path / "out", force=True)
    err = capsys.readouterr().err
    assert "files of another patient number" not in err
    assert ("WARNING: 3 kept files are copies of a file of the same patient number, byte for "
            f"byte or saved again ({first} = T1.txt = {first}): her image would count "
            "twice") in err  # fmt: skip
    # Both warnings at once: a log line each (one_line had joined them with a literal \n).
    for path in (*data.glob("T1.txt"), *(data / "sub").glob(first)):
        path.unlink()
    shutil.copy(data / first, data / "T0009.txt")  # (patient 9 is labelled above)
    shutil.copy(data / "T0002.1.1.D.2016-02-01.11.txt", data / "T2.txt")  # her file twice
    prepare_cohort(data, labels, tmp_path / "out", force=True)
    warned = [line for line in capsys.readouterr().err.splitlines() if "WARNING: " in line]
    assert len(warned) == 2 and all(w.startswith("[thermocad] WARNING: ") for w in warned)


def test_a_frame_saved_again_under_another_number_is_warned_of(folder, tmp_path, capsys):
    """Gzipped, or its numbers spaced otherwise, a woman's frame under another number is still
    one woman (a leakage review: only identical bytes had been caught, and split put the
    re-saved copies on other sides than hers)."""
    import gzip

    data, labels = folder
    first = "T0001.1.1.S.2015-07-20.10.txt"
    text = (data / first).read_bytes()
    (data / "T0009.txt.gz").write_bytes(gzip.compress(text))
    (data / "T0010.txt").write_bytes(text.replace(b" ", b"  ").replace(b"\n", b"\r\n"))
    labels.write_text(labels.read_text() + "9,Healthy,no,no,41\n10,Healthy,no,no,42\n")
    prepare_cohort(data, labels, tmp_path / "out")
    err = capsys.readouterr().err
    assert ("WARNING: 3 kept files are copies of files of another patient number, byte for "
            f"byte or saved again ({first} = T0009.txt.gz = T0010.txt)") in err  # fmt: skip


def test_the_labels_file_is_never_the_cohort_written(folder, tmp_path):
    data, labels = folder
    out = tmp_path / "out"
    out.mkdir()
    inside = out / "cohort.csv"
    inside.write_text(labels.read_text())
    with pytest.raises(ConfigError, match="cohort.csv: is the labels file"):
        prepare_cohort(data, inside, out, force=True)
    assert inside.read_text() == labels.read_text()


def test_grey_images_exported_two_ways_are_warned_of(tmp_path, capsys):
    """A grey-image review: per-image min-max exports mixed with one fixed window went without
    a word; their grey levels mean different temperatures."""
    labels = generate_cohort(tmp_path / "txt", 8, seed=3, height=60, width=80, sick_fraction=0.5)
    (tmp_path / "png").mkdir()
    for k, path in enumerate(sorted((tmp_path / "txt").glob("T*.txt"))):
        a = read_thermal(path).array
        low, high = (a.min(), a.max()) if k % 2 else (15.0, 40.0)  # own range, or a fixed one
        grey = np.uint8(np.round(np.clip((a - low) / (high - low), 0, 1) * 255))
        Image.fromarray(grey).save(tmp_path / "png" / f"{path.stem}.png")
    prepare_cohort(tmp_path / "png", labels, tmp_path / "out", workers=1)
    assert (
        "warning: 4 of 8 kept grey images span the whole grey range (each scaled to its own "
        "coldest and warmest pixel) and 4 do not (e.g. T"
    ) in capsys.readouterr().err
    from thermocad.cohort.exports import grey_exports_note

    cohort = pd.read_csv(tmp_path / "out" / "cohort.csv")
    assert grey_exports_note(cohort.iloc[1::2]) == ""  # one way only: nothing to say
    assert grey_exports_note(cohort.iloc[0::2]) == ""
