"""Synthetic, physics-inspired breast thermograms written in the DMR-IR text format.

`generate_cohort` writes a folder that `prepare_cohort` reads like the real database;
`synth_patient` (synth/patient.py) returns arrays in memory. Anatomy and rendering:
synth/body.py; the tumour's surface signature: synth/bioheat.py (Pennes equation).
Parameters and sources: docs/synthetic.md.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np

from thermocad.synth.bioheat import tumour_surface_signal
from thermocad.synth.body import VIEW_YAW
from thermocad.synth.files import TRUTH, dmr_filename, format_matrix, synth_name, write_preview
from thermocad.synth.patient import (
    DIFFICULTIES,
    Difficulty,
    Nuisances,
    _difficulty,
    sample_body,
    synth_patient,
)
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import INCOMPLETE
from thermocad.utils.lock import writes_folder
from thermocad.utils.out_names import check_suffix
from thermocad.utils.stops import written_mark
from thermocad.utils.values import is_whole

__all__ = [
    "DIFFICULTIES", "Difficulty", "Nuisances", "generate_cohort", "sample_body", "synth_patient",
    "tumour_surface_signal", "write_preview",
]  # fmt: skip
FORMATS = ("space", "semicolon", "mixed")


def n_sick_of(n: int, sick_fraction: float) -> int:
    """How many of n women are Sick: n * sick_fraction rounded half up (1 of 1 at 0.5; Python's
    round() would give 0, rounding halves to even)."""
    return int(np.floor(n * sick_fraction + 0.5))


def _assign(rng: np.random.Generator, n: int, sick_fraction: float, fmt: str, confound: bool):
    """Exact class counts in random order, and each patient's acquisition batch."""
    n_sick = n_sick_of(n, sick_fraction)
    sick = rng.permutation(np.arange(n) < n_sick)
    if fmt != "mixed":
        return sick, np.full(n, "A" if fmt == "space" else "B")
    # With batch_effect the batch is confounded with disease, as in DMR-IR (where all batch B
    # women are Sick): 70% of Sick and 30% of Healthy women go to batch B.
    p_b = np.where(sick, 0.7, 0.3) if confound else np.full(n, 0.5)
    return sick, np.where(rng.random(n) < p_b, "B", "A")


def _check(n_patients: int, sick_fraction: float, frames: int, views, fmt: str, h: int, w: int,
           nuis: Nuisances, seed: int = 0, first_id: int = 1):  # fmt: skip
    """Refuse wrong options before the folder is touched; each error names the CLI's flag."""
    _check_numbers(n_patients, sick_fraction, frames, seed, first_id, nuis)
    if fmt not in FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    bad = [v for v in views if v not in VIEW_YAW]
    if bad or not views:
        raise ConfigError(f"--views: unknown views {bad}; choose from {', '.join(VIEW_YAW)}")
    twice = sorted({v for v in views if views.count(v) > 1})
    if twice:  # the second render would overwrite the first's files
        raise ConfigError(f"--views (views in Python) names {', '.join(twice)} more than once; "
                          "give each view once")  # fmt: skip
    from thermocad.io.limits import MAX_SIDE, MAX_VALUES
    from thermocad.preprocess.plausible import MIN_SIDE

    if min(h, w) < MIN_SIDE:  # prepare, predict and the app would refuse such frames
        raise ConfigError(f"--height/--width: image size {h} x {w} is too small (at least "
                          f"{MIN_SIDE} x {MIN_SIDE}, as thermocad reads thermograms)")  # fmt: skip
    if max(h, w) > MAX_SIDE or h * w > MAX_VALUES:  # the reader's limits: it must read them back
        raise ConfigError(f"--height/--width: image size {h} x {w} is larger than thermocad reads "
                          f"(at most {MAX_SIDE} per side and {MAX_VALUES:,} values; DMR-IR: "
                          "480 x 640)")  # fmt: skip


def _check_numbers(n_patients: int, sick_fraction: float, frames: int, seed: int,
                   first_id: int, nuis: Nuisances) -> None:  # fmt: skip
    """The counts, the seed, the fractions and the patient numbers, each error naming its own
    parameter (the CLI's and Python's)."""

    fractions = ("sick_fraction", "blur_fraction", "single_breast_fraction", "deodorant_fraction")
    values = {"sick_fraction": sick_fraction, **{n: getattr(nuis, n) for n in fractions[1:]}}
    whole = is_whole  # 2.0 or True would fail later, after the folder was made
    checks = [("n_patients", whole(n_patients) and n_patients >= 1, n_patients,
               "a whole number, at least 1"),
              ("frames", whole(frames) and frames >= 1, frames, "a whole number, at least 1"),
              ("seed", whole(seed) and seed >= 0, seed, "a whole number, at least 0"),
              *((n, 0.0 <= values[n] <= 1.0, values[n], "between 0 and 1") for n in fractions)]  # fmt: skip
    for name, ok, value, need in checks:
        if not ok:  # NaN fails too
            flag = "--" + name.removeprefix("n_").replace("_", "-")
            raise ConfigError(f"{flag} ({name} in Python) must be {need}, got {value}")
    if first_id < 1:
        raise ConfigError(f"--first-id (first_id in Python) must be at least 1, got {first_id}")
    last = first_id + n_patients - 1
    if last > 9999:  # DMR-IR names hold 4 digits
        raise ConfigError(f"--first-id {first_id} and --patients {n_patients} (first_id and "
                          f"n_patients in Python) number the women {first_id}..{last}, which do "
                          "not fit DMR-IR names (1..9999): lower --first-id or --patients")  # fmt: skip


def _write_patient(out: Path, pid: int, images: dict, label: str, meta: dict,
                   rng: np.random.Generator, frames: int, views: tuple[str, ...]):  # fmt: skip
    """Write one patient's matrices; return its labels.csv row and its hidden parameters."""
    from thermocad.utils.files import atomic_write_bytes

    date = dt.date(2012, 1, 2) + dt.timedelta(days=(pid - 1) // 4)  # 4 a day: 9999 end in 2018
    fmt = "space" if meta["acquisition_batch"] == "A" else "semicolon"
    for (view, k), img in images.items():
        name = dmr_filename(pid, view, k, frames, len(views), date)
        atomic_write_bytes(out / name, format_matrix(img, fmt))
    age = rng.normal(57.0 if label == "Sick" else 50.0, 11.0)  # cancer risk rises with age
    row = {
        "patient_id": pid, "diagnosis": label, "age": int(np.clip(age, 25, 85)),
        "acquisition_batch": meta["acquisition_batch"],
        "acquisition_date": date.isoformat(),  # in patient order, whatever the diagnosis
        "deodorant": "yes" if meta["deodorant"] else "no",
        "single_breast": "yes" if meta["single_breast"] else "no",
    }  # fmt: skip
    hidden = {"patient_id": pid, **{k: v for k, v in meta.items() if k != "blurred"},
              "blurred_frames": sum(meta["blurred"])}  # fmt: skip
    return row, hidden


def _preview_path(out: Path, preview: str | Path | None) -> Path | None:
    """The contact sheet's path: none, the one given, or ("") OUT_preview.png beside OUT."""
    if preview is None:
        return None
    if str(preview):
        check_suffix(preview, ".png", "a PNG image", "--preview")  # x.jpg held PNG bytes
        return Path(preview)
    if out.name in ("", ".."):  # "." and ".." name no folder: the one they are does
        out = out.resolve()
    if not out.name:
        raise ConfigError(f"--preview: {out} names no folder to call it after; give it a name")
    return out.with_name(f"{out.name}_preview.png")


# Beside the thermograms until the cohort is whole: an interrupted synth is known as one.
UNFINISHED = (INCOMPLETE, "a synthetic cohort being written by thermocad synth; not finished\n")


def _earlier_ids(out: Path) -> set[int] | None:
    """The patient numbers of the synthetic cohort in `out`: its truth table's, or the range an
    interrupted run's mark names; None when `out` holds no cohort synth wrote."""
    import pandas as pd

    if (out / TRUTH).is_file():
        try:
            return set(pd.read_csv(out / TRUTH, usecols=["patient_id"])["patient_id"].astype(int))
        except (OSError, ValueError, pd.errors.ParserError):
            return None
    text = written_mark(out / UNFINISHED[0])  # without the stops noted after (utils/stops)
    numbers = re.fullmatch(re.escape(UNFINISHED[1]) + r"patients (\d+)-(\d+)\n", text)
    if numbers:
        return set(range(int(numbers[1]), int(numbers[2]) + 1))
    if text == UNFINISHED[1]:  # interrupted before the mark named its women: every DMR name
        from thermocad.io.filenames import patient_number

        return {n for p in out.iterdir() if (n := patient_number(p)) is not None}
    return None


def _write_patients(out: Path, seed: int, sick, batches, shape: tuple[int, int], difficulty,
                    frames: int, views: tuple[str, ...], nuis,
                    first_id: int = 1) -> tuple[list, list]:  # fmt: skip
    """Every patient's files into `out`: her labels.csv row and her hidden truth."""
    from threadpoolctl import threadpool_limits

    from thermocad.utils.progress import progress

    rows, truth = [], []
    # One BLAS thread: the thin matrix products here are slower with a thread pool.
    with threadpool_limits(limits=1, user_api="blas"):
        for i in progress(range(len(sick)), "synthetic patients", total=len(sick)):
            # Per patient, by her number: under one seed a number is one woman (her anatomy)
            # in any cohort; other numbers (first_id) are other women. Her diagnosis and batch
            # come from the whole cohort's draw, so another cohort may flip her label.
            rng = np.random.default_rng([seed, first_id + i])
            images, label, meta = synth_patient(rng, bool(sick[i]), *shape, difficulty, frames,
                                                views, nuis, str(batches[i]))  # fmt: skip
            row, hidden = _write_patient(out, first_id + i, images, label, meta, rng, frames,
                                         views)  # fmt: skip
            rows.append(row)
            truth.append(hidden)
    return rows, truth


def _start_cohort(out: Path, ids: range) -> None:
    """Clear an earlier synthetic cohort (_replace_earlier_cohort) and mark this one
    unfinished, with its patient numbers, until labels.csv is written."""
    from thermocad.utils.files import atomic_write_text

    _replace_earlier_cohort(out)
    atomic_write_text(out / UNFINISHED[0], f"{UNFINISHED[1]}patients {ids[0]}-{ids[-1]}\n")


def _replace_earlier_cohort(out: Path) -> None:
    """Clear an earlier synthetic cohort (--force): none of its files stays under new labels."""
    files, _ = _earlier_files(out)
    for path in [*files, out / "labels.csv", out / TRUTH, out / UNFINISHED[0]]:
        path.unlink(missing_ok=True)


def _earlier_files(out: Path) -> tuple[list, str]:
    """The earlier synthetic cohort's thermal files in `out`, and what --force does there. Only
    its own files go: a thermal file that is not one of its patients' (another name, another
    number, a subfolder) may be someone's real data, and the folder is refused, naming it,
    with or without --force (so that --force is suggested only where it would work)."""
    from thermocad.io.filenames import patient_number
    from thermocad.io.find import walk_thermal_files
    from thermocad.utils.errors import OutputExistsError

    if not out.is_dir():
        return [], ""
    files, earlier = walk_thermal_files(out)[0], _earlier_ids(out)
    if earlier is None and (out / "labels.csv").exists():  # someone's table: never written over
        raise OutputExistsError(f"{out}: holds a labels.csv that is not an earlier synthetic "
                                "cohort's; choose another --out")  # fmt: skip
    ids = earlier or set()
    foreign = [f for f in files if f.parent != out or patient_number(f) not in ids
               or not synth_name(f.name)]  # fmt: skip
    if foreign:
        raise OutputExistsError(
            f"{out}: holds thermal files that are not an earlier synthetic cohort's (e.g. "
            f"{foreign[0].relative_to(out)}); synth writes a cohort into an empty folder or over "
            "one it wrote itself: choose another --out"
        )
    if earlier is None:
        return files, "to write the cohort into it (its other files stay)"
    return files, "to replace the synthetic cohort it holds (only its own files)"


@writes_folder("out_dir")
def generate_cohort(
    out_dir: str | Path,
    n_patients: int = 100,
    seed: int = 0,
    height: int = 480,
    width: int = 640,
    sick_fraction: float = 0.4,
    frames: int = 1,
    fmt: str = "space",
    difficulty: str | Difficulty = "default",
    views: tuple[str, ...] = ("frontal",),
    marker: bool = False,
    batch_effect: bool = False,
    blur_fraction: float = 0.0,
    single_breast_fraction: float = 0.0,
    deodorant_fraction: float = 0.0,
    force: bool = False,
    preview: str | Path | None = None,
    first_id: int = 1,
) -> Path:
    """Write a synthetic DMR-IR style cohort (T*.txt + labels.csv); returns labels.csv's path.

    `difficulty`: a name of DIFFICULTIES or a `Difficulty`. `preview`: also write a contact
    sheet of the first images there ("" = OUT_preview.png, beside the folder, so that `prepare`
    and `predict` do not meet it among the thermograms). `first_id`: the first patient number
    (under one seed a number is one woman: a second cohort from 101 holds other women than one
    of 100 from 1, for `evaluate --data`; overlapping numbers would be the same women).
    """
    import pandas as pd

    from thermocad.utils.files import atomic_write_csv, check_apart, check_writable, prepare_out_dir

    if isinstance(views, str):  # "frontal" would be read letter by letter
        raise ConfigError(f"views in Python is a list of views, e.g. [{views!r}]; got {views!r}")
    views = tuple(views)
    nuis = Nuisances(marker, batch_effect, blur_fraction, single_breast_fraction,
                     deodorant_fraction)  # fmt: skip
    _check(n_patients, sick_fraction, frames, views, fmt, height, width, nuis, seed, first_id)
    _difficulty(difficulty)
    sheet = _preview_path(Path(out_dir), preview)
    if sheet is not None:  # before the cohort is written: an existing sheet is refused first
        check_apart(sheet, out_dir, "--preview")  # a PNG there is read back as a thermogram
        check_writable(sheet, force=force)
    _, forcing = _earlier_files(Path(out_dir))  # refused at once where --force would be too
    out = prepare_out_dir(out_dir, force=force, forcing=forcing)
    _start_cohort(out, range(first_id, first_id + n_patients))
    draw = [seed, 0] if first_id == 1 else [seed, 0, first_id]  # cohorts from 1: as before
    sick, batches = _assign(np.random.default_rng(draw), n_patients, sick_fraction, fmt,
                            batch_effect)  # fmt: skip
    rows, truth = _write_patients(out, seed, sick, batches, (height, width), difficulty, frames,
                                  views, nuis, first_id)  # fmt: skip
    atomic_write_csv(out / TRUTH, pd.DataFrame(truth))
    labels = atomic_write_csv(out / "labels.csv", pd.DataFrame(rows))
    (out / UNFINISHED[0]).unlink()
    if sheet is not None:
        write_preview(out, sheet, force=True)  # checked above; it logs how many it shows
    return labels
