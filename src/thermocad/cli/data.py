"""CLI: the data subcommands prepare, split and render (handlers import the library lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermocad.cli import output_file
from thermocad.utils.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    _add_prepare(sub)
    _add_split(sub)
    _add_render(sub)


def _add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="find thermal files, join labels, apply the study's filters -> cohort.csv",
        description="Read every thermal file under DATA_DIR (recursively), join the patient "
        "table and write OUT_DIR/cohort.csv with one row per image; excluded images keep a row "
        "with their reason (not frontal, unrecognised view code, deodorant, single breast, "
        "blurred, unreadable, ...).",
    )
    p.add_argument("data_dir", help="folder of DMR-IR text files, images or .npy, each named "
                   "by its woman's number as DMR-IR's are: T0012.txt, T0012.npy, "
                   "T0012.1.1.S.2013-10-14.txt (1.1: frontal; a name without a view code is "
                   "taken as frontal); other names are excluded")  # fmt: skip
    p.add_argument(
        "--labels",
        required=True,
        help="CSV with patient_id (or id, patient; T0012 or 12), diagnosis (or label, class: "
        "Healthy/normal or Sick/cancer) and optional columns: deodorant, "
        "single_breast (or mastectomy), yes/no (or true/false, 1/0), where yes excludes the "
        "woman and an empty or missing value counts as no; acquisition_batch (case ignored; empty: the file's text "
        "format gives it, said in the log); acquisition_date (or date, exam_date; YYYY-MM-DD, "
        "used over the date in a DMR file name); age; any others are copied into cohort.csv",
    )
    p.add_argument("--out", required=True, help="output folder for cohort.csv")
    p.add_argument(
        "--sharpness-threshold",
        type=float,
        default=None,
        help="images whose sharpness (variance of the Laplacian of the 0..100-scaled map) is "
        "below this are excluded as blurred (default: 0.5; at least 0, and 0 excludes none)",
    )
    p.add_argument(
        "--allow-mixed-shapes",
        action="store_true",
        help="keep images whose frame size differs from the cohort's most common one (another "
        "camera on purpose); by default they are excluded, since a file cut short at the end "
        "of a line reads as a smaller frame",
    )
    p.add_argument("--workers", type=_workers, default=None,
                   help="reader processes (default: all cores)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing cohort.csv")
    p.set_defaults(func=_prepare)


def _add_split(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "split",
        help="patient-grouped, label-stratified train/valid/test split -> split.csv",
        description="Split the kept rows of COHORT by patient (never the same patient on two "
        "sides), stratified by label. With --folds K, non-test patients get folds 0..K-1 and "
        "fold 0 is the valid split (--valid is then ignored).",
    )
    p.add_argument("cohort", help="cohort.csv written by `thermocad prepare`")
    p.add_argument("--valid", type=float, default=0.2, help="fraction of each class's patients "
                   "for validation, each once however many images she has (of images with "
                   "--unit image; with --folds, fold 0 validates instead)")  # fmt: skip
    p.add_argument("--test", type=float, default=0.2, help="fraction of each class's patients "
                   "held out for test (of images with --unit image; 0: cross-validation only)")  # fmt: skip
    p.add_argument("--folds", type=int, default=None, help="K patient-grouped folds over the "
                   "non-test patients, balanced in patients of each class, fold 0 the "
                   "validation split (default: none)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same split)")
    p.add_argument(
        "--balance", action="store_true", help="equal images per class (the study's 500+500)"
    )
    p.add_argument(
        "--counts",
        default=None,
        help="images per class: TRAIN,VALID,TEST (e.g. 320,80,100). With --unit patient (the "
        "default) whole patients are divided, so each class's total is exact but the TRAIN, "
        "VALID and TEST numbers are approximate; --unit image gives them exactly",
    )
    p.add_argument(
        "--unit",
        choices=("patient", "image"),
        default="patient",
        help="'image' reproduces the study's leaky random image-level split (warns)",
    )
    p.add_argument("--out", required=True, type=output_file, help="split.csv to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing split.csv")
    p.set_defaults(func=_split)


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="thermograms to colour-mapped PNGs (+ a contact sheet)")
    p.add_argument("data_dir", help="folder of thermal files")
    p.add_argument("--out", required=True, help="output folder for PNGs")
    p.add_argument(
        "--shared-range",
        action="store_true",
        help="one colour scale for all files of a unit (degrees; grey levels apart)",
    )
    p.add_argument("--colorbar", action="store_true", help="draw a colour bar on each PNG")
    p.add_argument("--sheet", default=None, type=output_file,
                   help="also write a contact sheet PNG here, of the first 24 readable "
                        "files (each file still gets its own PNG)")  # fmt: skip
    p.add_argument("--cmap", default="inferno", help="matplotlib colour map (default: inferno)")
    p.add_argument("--workers", type=_workers, default=None,
                   help="reader threads (default: all cores)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    p.set_defaults(func=_render)


def _prepare(args: argparse.Namespace) -> int:
    from thermocad.cohort.prepare import DEFAULT_SHARPNESS_THRESHOLD, prepare_cohort

    threshold = args.sharpness_threshold
    prepare_cohort(
        args.data_dir,
        args.labels,
        args.out,
        sharpness_threshold=DEFAULT_SHARPNESS_THRESHOLD if threshold is None else threshold,
        force=args.force,
        workers=args.workers,
        allow_mixed_shapes=args.allow_mixed_shapes,
    )
    print(f"cohort: {Path(args.out) / 'cohort.csv'}")  # stdout's last line: what it wrote
    return 0


def _workers(text: str) -> int:
    """--workers: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return value


def _counts(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise ConfigError(f"--counts must be TRAIN,VALID,TEST integers, got {text!r}")
    return values  # type: ignore[return-value]


def _split(args: argparse.Namespace) -> int:
    from thermocad.cohort.split import run_split

    run_split(
        args.cohort,
        args.out,
        valid=args.valid,
        test=args.test,
        folds=args.folds,
        seed=args.seed,
        unit=args.unit,
        balance=args.balance,
        counts=_counts(args.counts),
        force=args.force,
    )
    print(f"split: {args.out}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from thermocad.io.render import render_folder

    summary = render_folder(
        args.data_dir,
        args.out,
        shared_range=args.shared_range,
        colorbar=args.colorbar,
        sheet=args.sheet,
        cmap=args.cmap,
        force=args.force,
        workers=args.workers,
    )
    print(f"images: {args.out}")
    return 1 if summary.errors else 0
