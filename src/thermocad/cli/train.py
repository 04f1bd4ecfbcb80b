"""CLI: subcommands of the 'train' group (handlers import the library lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path

from thermocad.utils.extras import require


def _config_args(p: argparse.ArgumentParser) -> None:
    """Options shared by lr-find and train; unset ones keep TrainConfig's defaults."""
    p.add_argument("--split", required=True, help="split.csv (from `thermocad split`)")
    p.add_argument("--config", metavar="CONFIG_JSON",
                   help="replay the config.json of an earlier run (flags given here override it)")  # fmt: skip
    p.add_argument("--arch", help="architecture name (see `thermocad models`)")
    p.add_argument("--size", type=int, help="input size in pixels (default 320)")
    p.add_argument("--batch-size", type=int, help="images per batch (default 8, as the study)")
    p.add_argument("--lr", type=float, help="head learning rate (default 1e-2)")
    p.add_argument("--lr-find", dest="lr_auto", action="store_true",
                   help="use lr_find's suggestion as the learning rate")  # fmt: skip
    p.add_argument("--weights", help="start from this weights file (.safetensors or state_dict)")
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false", default=None,
                   help="random initial weights (no ImageNet download)")  # fmt: skip
    p.add_argument("--norm", choices=("robust", "celsius", "relative", "intensity"),
                   help="temperature window: relative (default: 14 C centred on the body's "
                   "median), per-image percentiles (robust: for 8/16-bit images), fixed celsius, "
                   "or intensity")  # fmt: skip
    p.add_argument("--norm-low", type=float, help="celsius window low end (default 22)")
    p.add_argument("--norm-high", type=float, help="celsius window high end (default 36)")
    p.add_argument("--channels", nargs="+", choices=("temperature", "asymmetry"),
                   help="input channels (default: asymmetry)")  # fmt: skip
    p.add_argument("--crop", choices=("none", "breasts"), help="default breasts (the chest box)")
    p.add_argument(
        "--marker", choices=("keep", "remove"), help="default remove: mask the calibration marker"
    )
    p.add_argument("--background", choices=("symmetric", "keep", "remove"),
                   help="default symmetric: no asymmetry where a point or its mirror is off the "
                   "body; keep: as recorded; remove: fill what is not the body (the room) with "
                   "the body's coldest percentile")  # fmt: skip
    p.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                   help="also train on every image mirrored left-right and predict the mean "
                   "over an image and its mirror (default off)")  # fmt: skip
    p.add_argument("--ensemble", choices=("baseline", "none"),
                   help="default baseline: P(Sick) is the mean of the CNN and the classical "
                   "baseline fitted on the same patients; none: the CNN alone")  # fmt: skip
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--smoke", action="store_true", help="tiny preset: every stage in seconds")
    p.add_argument("--study-recipe", action="store_true",
                   help="the 2019 study's recipe (whole frame, 224 px, frozen and unfrozen SGDR "
                   "stages) instead of thermocad's default (see docs/results.md)")  # fmt: skip


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--fold", type=_fold, metavar="K|all",
                   help="train on folds != K, validate on fold K; 'all': a final model on every "
                   "non-test patient (needs --threshold)")  # fmt: skip
    p.add_argument("--threshold", type=float,
                   help="decision threshold on P(Sick) to store (default: the highest reaching "
                   "sensitivity 0.9 on validation)")  # fmt: skip
    p.add_argument("--precompute", action=argparse.BooleanOptionalAction, default=None,
                   help="train the head on cached body features first (default on)")  # fmt: skip
    p.add_argument("--head-epochs", type=int, help="epochs of the head stage (default 30)")
    p.add_argument("--frozen-cycles", type=int,
                   help="SGDR cycles with a frozen body on augmented images (default 0; study 2)")  # fmt: skip
    p.add_argument("--schedule", choices=("sgdr", "one_cycle"))
    p.add_argument("--optimizer", choices=("sgd", "adam"), help="default sgd (momentum 0.9)")
    p.add_argument("--cycles", type=int,
                   help="unfrozen SGDR cycles with differential lrs (default 0; study 3)")  # fmt: skip
    p.add_argument("--cycle-len", type=int)
    p.add_argument("--cycle-mult", type=int)
    p.add_argument("--lrs", type=float, nargs="+", help="unfrozen lrs (default 1e-4 1e-3 1e-2)")
    p.add_argument(
        "--tta", type=int, help="augmented copies averaged at validation (default 0; study 4)"
    )
    p.add_argument("--balance", choices=("loss", "sampler", "none"),
                   help="class imbalance: weighted loss (default), balanced sampler or none")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")


def _config(args: argparse.Namespace):
    """A TrainConfig from the options given (the smoke preset under --smoke)."""
    from thermocad.training.config import TrainConfig

    names = ("arch", "size", "batch_size", "lr", "weights", "pretrained", "norm", "norm_low",
             "norm_high", "seed", "precompute", "head_epochs", "frozen_cycles", "schedule",
             "cycles", "cycle_len", "cycle_mult", "tta", "balance", "crop", "marker", "optimizer",
             "ensemble", "background", "mirror")  # fmt: skip
    fields = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    for name in ("lrs", "channels"):
        if getattr(args, name, None):
            fields[name] = tuple(getattr(args, name))
    if args.lr_auto:
        fields["lr"] = None
    if getattr(args, "config", None):
        return _replayed(args, fields)
    if args.smoke:
        return TrainConfig.smoke(**fields)
    return TrainConfig.study(**fields) if args.study_recipe else TrainConfig(**fields)


def _replayed(args: argparse.Namespace, fields: dict):
    """The TrainConfig in --config's file, with the flags given on the command line on top."""
    import json

    from thermocad.training.config import TrainConfig
    from thermocad.utils.errors import ConfigError

    if args.smoke or args.study_recipe:
        raise ConfigError("--config replays a whole config; drop --smoke / --study-recipe")
    try:
        base = TrainConfig.from_dict(json.loads(Path(args.config).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{args.config}: not a readable thermocad config.json ({exc})") from exc
    return base.with_(**fields)


def _models(args: argparse.Namespace) -> int:
    from thermocad.models.registry import get_arch, list_archs
    from thermocad.models.weights import weights_available

    print(f"{'name':<20} {'timm model':<24} {'size':>4}  weights")
    for name in list_archs():
        spec = get_arch(name)
        where = "offline" if spec.weights != "timm" else "download (timm)"
        mark = "available" if weights_available(spec) else "not on this machine"
        print(f"{name:<20} {spec.timm_name:<24} {spec.input_size:>4}  {where}: {mark}")
    print("Any timm model name also works (downloaded weights, or --no-pretrained).")
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    require("torch", "timm", "fastai", extra="train")
    from thermocad.training.run import lr_find

    lr_find(args.split, args.out, _config(args), force=args.force)
    return 0


def _fold(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"fold must be an integer or 'all', not {text!r}"
        ) from None


def _train(args: argparse.Namespace) -> int:
    require("torch", "timm", "fastai", extra="train")
    from thermocad.training.run import train

    run = train(args.split, args.out, _config(args), fold=args.fold, force=args.force,
                resume=args.resume, threshold=args.threshold)  # fmt: skip
    print(run)
    return 0


def _augment_preview(args: argparse.Namespace) -> int:
    from thermocad.preprocess.transforms import preview_file

    print(preview_file(args.path, args.out, size=args.size, n=args.n, seed=args.seed,
                       force=args.force))  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    p = sub.add_parser("models", help="list architectures and whether their weights are here",
                       description="List registered architectures, their input size and whether "
                       "ImageNet weights are available offline.")  # fmt: skip
    p.set_defaults(func=_models)

    p = sub.add_parser("lr-find", help="plot loss versus learning rate and suggest one")
    _config_args(p)
    p.add_argument("--out", default="lr_find.png", help="PNG to write")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_lr_find)

    p = sub.add_parser("train", help="fine-tune a pretrained CNN with the study's recipe")
    _config_args(p)
    _train_args(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("augment-preview", help="grid of augmented copies of one thermogram")
    p.add_argument("path", help="a thermal file")
    p.add_argument("--out", default="augment_preview.png", help="PNG to write")
    p.add_argument("--size", type=int, default=224, help="input size in pixels")
    p.add_argument("-n", type=int, default=8, help="augmented copies")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    p.set_defaults(func=_augment_preview)
