"""CLI: subcommands of the 'synth' group (handlers import the library lazily)."""

from __future__ import annotations

import argparse

from thermocad.cli import output_file
from thermocad.io.filenames import VIEWS  # standard library only: the CLI still starts fast

_VIEWS = tuple(VIEWS.values())
DIFFICULTIES = ("easy", "default", "hard")  # synth.patient.DIFFICULTIES (a test checks)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    p = sub.add_parser(
        "synth",
        help="generate a synthetic DMR-IR style cohort (physics-inspired thermograms)",
        description=(
            "Write synthetic breast thermograms (DMR-IR text matrices in Celsius) and a "
            "labels.csv that `thermocad prepare` reads. Tumours follow the Pennes bioheat "
            "equation; see docs/synthetic.md."
        ),
    )
    p.add_argument("--patients", type=int, default=100, help="number of patients (default: 100)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--first-id", type=int, default=1,
                   help="first patient number (default: 1; e.g. 101 for a second cohort of other "
                   "women, to score a model on with `evaluate --data`)")  # fmt: skip
    p.add_argument("--format", choices=("space", "semicolon", "mixed"), default="space",
                   help="space: batch A style; semicolon: batch B style; mixed: per patient")  # fmt: skip
    p.add_argument(
        "--sick-fraction",
        type=float,
        default=0.4,
        help="fraction of Sick patients (exactly: n x f, rounded)",
    )
    p.add_argument("--frames", type=int, default=1,
                   help="frames per view: a dynamic series of skin re-warming after cooling")  # fmt: skip
    p.add_argument("--views", nargs="+", choices=_VIEWS, default=["frontal"], metavar="VIEW",
                   help=f"camera views per patient: {', '.join(_VIEWS)} (default: frontal)")  # fmt: skip
    p.add_argument("--difficulty", choices=DIFFICULTIES, default="default",
                   help="tumour size, depth and warming: easy is bigger and warmer, hard "
                   "smaller and deeper, with more healthy hot spots; the default's Sick-breast "
                   "warming, vessels, posture, skin texture, breast height and folds match DMR-IR "
                   "batch A (docs/synthetic.md)")  # fmt: skip
    p.add_argument("--height", type=int, default=480, help="image rows (default: 480)")
    p.add_argument("--width", type=int, default=640, help="image columns (default: 640)")
    p.add_argument("--marker", action="store_true", help="calibration square on the abdomen")
    p.add_argument("--batch-effect", action="store_true",
                   help="per-batch camera offsets; with --format mixed, batch B mostly Sick")  # fmt: skip
    p.add_argument(
        "--blur-fraction", type=float, default=0.0, help="each frame blurred with this probability"
    )
    p.add_argument("--single-breast-fraction", type=float, default=0.0,
                   help="each patient has one breast (mastectomy) with this probability")  # fmt: skip
    p.add_argument("--deodorant-fraction", type=float, default=0.0,
                   help="each patient is flagged a deodorant user with this probability")  # fmt: skip
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier synthetic cohort in OUT (a folder of other thermal files is refused)",
    )
    p.add_argument("--preview", nargs="?", const="", default=None, metavar="PNG", type=output_file,
                   help="also write a contact sheet of the first 12 thermograms, or all if fewer (default: "
                   "OUT_preview.png, beside OUT)")  # fmt: skip
    p.set_defaults(func=_synth)


def _synth(args: argparse.Namespace) -> int:
    from thermocad.synth.cohort import generate_cohort
    from thermocad.utils.progress import log

    labels = generate_cohort(
        args.out, n_patients=args.patients, seed=args.seed, height=args.height,
        width=args.width, sick_fraction=args.sick_fraction, frames=args.frames,
        fmt=args.format, difficulty=args.difficulty, views=tuple(args.views),
        marker=args.marker, batch_effect=args.batch_effect, blur_fraction=args.blur_fraction,
        single_breast_fraction=args.single_breast_fraction,
        deodorant_fraction=args.deodorant_fraction, force=args.force, preview=args.preview,
        first_id=args.first_id,
    )  # fmt: skip
    log(
        f"wrote {args.patients} synthetic patient{'s' if args.patients != 1 else ''} to "
        f"{labels.parent} (labels: {labels})"
    )
    print(f"labels: {labels}")  # stdout's last line: what it wrote, as every command's
    return 0
