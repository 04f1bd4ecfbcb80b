"""CLI: evaluate, compare, study, report and demo (handlers import the library lazily)."""

from __future__ import annotations

import argparse

from thermocad.cli import output_file
from thermocad.cli.synth import DIFFICULTIES
from thermocad.models.device import DEVICE_HELP

SMOKE_HELP = (
    "tiny training preset that runs every training stage (a check of the code, not a "
    "result; slower than the default, whose heads train on cached features)"
)


def _archs(text: str) -> list[str]:
    """--archs: comma-separated names, none of them blank (an empty --archs would run the
    baseline alone and still open the test set)."""
    names = [a.strip() for a in text.split(",")]
    if not any(names):
        raise argparse.ArgumentTypeError("empty: give one or more comma-separated architectures")
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} has a blank entry: give comma-separated "
                                         "architectures, e.g. efficientnet_lite0,resnet34")  # fmt: skip
    return names


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    _register_evaluate(sub)
    _register_studies(sub)


def _register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="metrics, intervals and plots of a trained model on a split or on new women",
        description="Score MODEL at its stored threshold on the `--on` rows of a "
        "split, or (--data with --labels) once on a labelled folder of women it never saw: "
        "the served model and each half alone, overall, within batch and period-matched "
        "(written to OUT/external.md). Women the model trained on are refused. Each scoring "
        "of test or new women is counted in a ledger beside the split or labels file "
        "(NAME.test_openings.jsonl), or in --ledger FILE (data on a read-only disk), and in "
        "the user's ledger, which knows the women by their files' bytes wherever their split "
        "is ($THERMOCAD_LEDGER_DIR, else $XDG_DATA_HOME/thermocad, else "
        "~/.local/share/thermocad). MODEL is "
        "a run folder (PyTorch; without PyTorch installed, its model.onnx) or an .onnx file "
        "written by `thermocad export` (ONNX Runtime and numpy only).",
    )
    p.add_argument("run_dir", metavar="MODEL", help="run folder or exported .onnx file")
    p.add_argument("--split", help="split.csv")
    p.add_argument("--on", default="test", choices=["train", "valid", "test"],
                   help="rows of --split to use (default: test)")  # fmt: skip
    p.add_argument("--data", help="folder of new women's thermal files (with --labels)")
    p.add_argument("--labels", help="their patient table CSV (patient_id, diagnosis; "
                   "acquisition_batch and acquisition_date give the batch and period columns)")  # fmt: skip
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average P(Sick) over the image and the model's own test-time "
                   "augmentations (its config's tta: none for the default recipe, 4 for the "
                   "study's); default: as the model was validated and its threshold chosen")  # fmt: skip
    p.add_argument("--out", help="output folder (default: eval_ON, with --data external_FOLDER, "
                   "inside the run folder or beside the .onnx file); not among the thermograms "
                   "scored, and files of its names replaced only with --force")  # fmt: skip
    p.add_argument("--subgroup", default="acquisition_batch", help="column for subgroup metrics")
    p.add_argument("--numbered-apart", action="store_true",
                   help="with --data: the new women are numbered apart from the training women "
                   "(another site's numbers), so a shared patient number is not the same woman")  # fmt: skip
    p.add_argument("--allow-unscored", action="store_true",
                   help="with --data: score the others when labelled women have no file, or "
                   "only unreadable, implausible or other-unit ones (e.g. an 8-bit image for a "
                   "model of °C temperatures); refused by default: a selection nobody chose. "
                   "Each woman left out is listed in external.md")  # fmt: skip
    p.add_argument("--ledger", type=output_file, help="the ledger counting every model scored on these test or "
                   "new women (default: beside the split or labels file); the same file each "
                   "time, on a writable disk")  # fmt: skip
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_evaluate)


def _force_or_resume(p: argparse.ArgumentParser, job: str, same: str, kept: str) -> None:
    """--force or --resume (one of them) for a command whose folder a job fills."""
    again = p.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help=f"replace an earlier {job}'s "
                       "folder (only a folder thermocad made)")  # fmt: skip
    again.add_argument("--resume", action="store_true", help=f"continue an interrupted {job} "
                       f"in OUT (the same command otherwise: {same}): {kept}, an interrupted "
                       "fold continues from its checkpoint, the rest is computed again")  # fmt: skip


def _register_studies(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare architectures and the baseline on the same folds",
        description="Compare architectures and the baseline on the same folds, choose one on "
        "validation data, and score the chosen model once on the split's test women when it has "
        "some (logged in the split's ledger: from the second model scored there, they are no "
        "longer unseen).",
    )
    p.add_argument("--split", required=True, help="split.csv (with a fold column for CV)")
    p.add_argument("--archs", type=_archs, help="comma-separated architectures or named recipe "
                   "variants of the config's arch_overrides (default: the config's archs, else "
                   "efficientnet_lite0,resnet34; resnet34's weights download)")  # fmt: skip
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    p.add_argument("--config", help="study config JSON (train settings, arch_overrides, ...)")
    p.add_argument("--nested", action="store_true", default=None,
                   help="also nested CV: outer folds estimate the whole procedure (the result)")  # fmt: skip
    _force_or_resume(p, "comparison", "split, archs, config", "finished fold runs are kept")
    p.set_defaults(func=_compare)

    p = sub.add_parser("study", help="the whole protocol: prepare, split, compare, test, report")
    p.add_argument("data_dir", help="folder of thermal files")
    p.add_argument("--labels", required=True, help="patient table CSV (patient_id, diagnosis)")
    p.add_argument("--out", required=True, help="study folder to create")
    p.add_argument("--archs", type=_archs, help="comma-separated architectures or named recipe "
                   "variants of the config's arch_overrides (default: the config's archs, else "
                   "efficientnet_lite0,resnet34; resnet34's weights download, so offline give "
                   "efficientnet_lite0)")  # fmt: skip
    p.add_argument("--folds", type=int, help="patient-grouped CV folds (default: 5)")
    p.add_argument("--test", type=float, help="test fraction of each class's women, each once "
                   "however many images (default: 0.2)")  # fmt: skip
    p.add_argument("--seed", type=int, help="random seed (default: 0)")
    p.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    p.add_argument("--config", help="study config JSON; see docs/evaluation.md")
    p.add_argument("--nested", action="store_true", default=None,
                   help="also nested CV: outer folds estimate the whole procedure (the result)")  # fmt: skip
    _force_or_resume(p, "study", "data, labels, options",
                     "its cohort, split and finished fold runs are kept")  # fmt: skip
    p.set_defaults(func=_study)

    p = sub.add_parser("report", help="write the HTML report of a study folder again")
    p.add_argument("study_dir", help="folder written by `thermocad study`")
    p.add_argument("--out", type=output_file, help="HTML file, a name ending in .html; inside "
                   "the study only its report.html (default: STUDY_DIR/report.html)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing report")
    p.set_defaults(func=_report)

    p = sub.add_parser("demo", help="the study on a generated synthetic cohort (a few minutes)")
    p.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    p.add_argument("--patients", type=int, default=96, help="synthetic patients")
    p.add_argument("--difficulty", default="easy", choices=DIFFICULTIES,
                   help="the generator's difficulty (default: easy, a disease every stage can "
                   "show; 'default' is calibrated on real women, nearly invisible on 96)")  # fmt: skip
    p.add_argument("--smoke", action="store_true",
                   help="every training stage, tiny (checks the fine-tuning code: slower than "
                   "the default demo, whose head trains on precomputed features)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace an earlier demo's cohort and "
                   "study in the output folder")  # fmt: skip
    p.set_defaults(func=_demo)


def _evaluate(args: argparse.Namespace) -> int:
    from thermocad.utils.errors import ConfigError

    if args.split is not None and args.data is not None:
        raise ConfigError("evaluate: --split or --data, not both")
    if (args.data is None) != (args.labels is None):  # either one alone: the same words
        raise ConfigError("evaluate: --data and --labels go together (new women: their folder "
                          "and their labels file)")  # fmt: skip
    if args.split is None and args.data is None:
        raise ConfigError("evaluate: give --split (rows of a split) or --data with --labels "
                          "(new women)")  # fmt: skip
    if args.numbered_apart and args.data is None:
        raise ConfigError("evaluate: --numbered-apart goes with --data (a split's women are "
                          "numbered as the training women are)")  # fmt: skip
    if args.allow_unscored and args.data is None:
        raise ConfigError("evaluate: --allow-unscored goes with --data (a split's rows are "
                          "its files, each scored)")  # fmt: skip
    if args.data is not None and args.subgroup != "acquisition_batch":
        raise ConfigError("evaluate: --subgroup is for --split; with --data the table is by "
                          "batch and period already")  # fmt: skip
    if args.data is not None:
        from thermocad.evaluation.external import evaluate_external

        result = evaluate_external(args.run_dir, args.data, args.labels, out_dir=args.out,
                                   tta=args.tta, force=args.force, device=args.device,
                                   ledger=args.ledger, numbered_apart=args.numbered_apart,
                                   allow_unscored=args.allow_unscored)  # fmt: skip
        from thermocad.evaluation.coverage import headline

        print(headline(result["women"], where="in external.md"))
        print(result["table"])
        print(f"evaluation: {result['out_dir']}")
        return 0
    from thermocad.evaluation.evaluate import evaluate_run, headline

    result = evaluate_run(args.run_dir, args.split, on=args.on, tta=args.tta, out_dir=args.out,
                          subgroup=args.subgroup or None, force=args.force,
                          device=args.device, ledger=args.ledger)  # fmt: skip
    print(headline(result))
    print(f"evaluation: {result['out_dir']}")
    return 0


def _needs_training() -> None:
    from thermocad.utils.extras import require_training

    require_training()


def _compare(args: argparse.Namespace) -> int:
    _needs_training()
    from thermocad.pipeline import run_compare

    result = run_compare(args.split, args.out, archs=args.archs, smoke=args.smoke,
                         config_file=args.config, force=args.force, nested=args.nested,
                         resume=args.resume)  # fmt: skip
    print(f"best on validation: {result['best_served']}; table: {result['out_dir']}/comparison.md")
    if "nested" in result:
        print(f"nested estimate (the result): {result['out_dir']}/nested/nested.md")
    print(f"comparison: {result['out_dir']}")  # stdout's last line: what it wrote
    return 0


def _study(args: argparse.Namespace) -> int:
    _needs_training()
    from thermocad.pipeline import run_study

    report = run_study(args.data_dir, args.labels, args.out, archs=args.archs, smoke=args.smoke,
                       config_file=args.config, folds=args.folds, test=args.test, seed=args.seed,
                       force=args.force, nested=args.nested, command=args.command_line,
                       resume=args.resume)  # fmt: skip
    print(f"report: {report}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from thermocad.pipeline import report_study

    print(f"report: {report_study(args.study_dir, args.out, force=args.force)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    _needs_training()
    from thermocad.pipeline import run_demo

    report = run_demo(args.out, force=args.force, n_patients=args.patients, smoke=args.smoke,
                      difficulty=args.difficulty, command=args.command_line)  # fmt: skip
    print(f"report: {report}")
    return 0
