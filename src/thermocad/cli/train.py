"""CLI: subcommands of the 'train' group (handlers import the library lazily)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from thermocad.cli import output_file
from thermocad.utils.extras import require_training


def _flag(p: argparse.ArgumentParser, f, hint) -> None:
    """One option for a TrainConfig field: type, choices and help (with the default) from it."""
    from thermocad.training.config import base_type, default_of

    kind, _, is_tuple = base_type(hint)
    default = default_of(f)
    shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
    help = f.metadata["help"] + ("" if default is None else f" (default: {shown})")
    kwargs = {"help": help, "default": None}
    if kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        kwargs |= {"type": kind, "choices": f.metadata["choices"]}
        if is_tuple:
            kwargs["nargs"] = "+"
    p.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _field_args(p: argparse.ArgumentParser, group: str) -> None:
    """An option for each TrainConfig field of `group` ("config": train and lr-find; "train")."""
    from dataclasses import fields

    from thermocad.training.config import TrainConfig, field_types

    hints = field_types()
    for f in fields(TrainConfig):
        if f.metadata.get("cli") == group:
            _flag(p, f, hints[f.name])


def _config_args(p: argparse.ArgumentParser) -> None:
    """Options shared by lr-find and train; unset ones keep the preset's (TrainConfig's) values."""
    p.add_argument("--split", required=True, help="split.csv (from `thermocad split`)")
    p.add_argument("--config", metavar="CONFIG_JSON",
                   help="replay the config.json of an earlier run, or its folder or model.json "
                   "(flags given here override it; train without --fold: the run's fold)")  # fmt: skip
    _field_args(p, "config")
    p.add_argument("--smoke", action="store_true", help="tiny preset: every stage in seconds "
                   "(with --config: replay a smoke run's config, 2 batches per epoch)")  # fmt: skip
    p.add_argument("--study-recipe", action="store_true",
                   help="the 2019 study's recipe (whole frame, 224 px, frozen and unfrozen SGDR "
                   "stages) instead of thermocad's default (see docs/results.md); on --arch, "
                   "efficientnet_lite0 by default (the study: resnet34, which downloads its "
                   "weights); where it differs from the study: docs/training.md")  # fmt: skip


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--fold", type=_fold, metavar="K|all",
                   help="train on folds != K, validate on fold K; 'all': a final model on every "
                   "non-test patient (needs --threshold)")  # fmt: skip
    p.add_argument("--threshold", type=float,
                   help="decision threshold on P(Sick) to store (default: the highest reaching "
                   "sensitivity 0.9 on validation)")  # fmt: skip
    _field_args(p, "train")
    p.add_argument("--lr-find", dest="lr_auto", action="store_true",
                   help="use lr_find's suggestion as the learning rate")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--force", action="store_true", help="replace an earlier run in --out (only a folder "
                   "thermocad made)")  # fmt: skip


def _config(args: argparse.Namespace):
    """A TrainConfig from the options given (the smoke preset under --smoke)."""
    from dataclasses import fields as dataclass_fields

    from thermocad.training.config import TrainConfig

    given = {f.name: getattr(args, f.name, None) for f in dataclass_fields(TrainConfig)}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if v is not None}
    if getattr(args, "lr_auto", False):
        given["lr"] = None
    if getattr(args, "config", None):
        return _replayed(args, given)
    if args.smoke and args.study_recipe:
        from thermocad.utils.errors import ConfigError

        raise ConfigError("--smoke and --study-recipe are two presets: choose one")
    if args.smoke:
        return TrainConfig.smoke(**given)
    return TrainConfig.study(**given) if args.study_recipe else TrainConfig(**given)


def _replayed(args: argparse.Namespace, fields: dict):
    """The TrainConfig in --config's file (a run's config.json; its model.json or the run folder
    serve too), with the flags given on the command line on top; the run's fold too (in its
    model.json) when train is given no --fold."""
    from thermocad.training.config import TrainConfig
    from thermocad.utils.errors import ConfigError
    from thermocad.utils.progress import log

    if args.study_recipe:
        raise ConfigError("--config replays a whole config; drop --study-recipe")
    path = Path(args.config)
    path = path / "config.json" if path.is_dir() else path  # a run folder: its config.json
    saved, meta = _read_json(path), None  # meta: the run's model.json, for its fold
    if isinstance(saved.get("config"), dict) and "tensors" in saved:  # a model.json: its config
        meta, saved = saved, saved["config"]
    elif (path.parent / "model.json").is_file():  # the record beside a run's config.json
        meta = _read_json(path.parent / "model.json")
    try:  # the flags given replace the file's values before the whole is checked
        config = TrainConfig.from_dict(saved, **fields)
    except ConfigError as exc:
        raise ConfigError(f"{path} with the flags given: {exc}") from exc
    except TypeError as exc:
        raise ConfigError(f"{path}: not a readable thermocad config.json ({exc})") from exc
    flags = ", ".join(f"--{k.replace('_', '-')}" for k in fields) or "none"
    said = [f"flags given on top: {flags}"]
    said += _replayed_smoke(args, config, path) + _replayed_fold(args, meta)
    log(f"replaying the config of {path} ({'; '.join(said)})")
    return config


def _read_json(path: Path) -> dict:
    from thermocad.utils.errors import ConfigError

    try:
        saved = json.loads(path.read_text(encoding="utf-8-sig"))  # (Notepad's mark too)
        if not isinstance(saved, dict):
            raise TypeError("it holds no JSON object")
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a readable thermocad config.json ({exc})") from exc
    return saved


def _replayed_smoke(args: argparse.Namespace, config, path: Path) -> list[str]:
    """A smoke run's config (max_batches: a check of the code) replays only with --smoke, which
    otherwise has no place beside --config; what the log says of it."""
    from thermocad.utils.errors import ConfigError

    n = config.max_batches
    if n and not args.smoke:
        raise ConfigError(f"{path}: a smoke run's config ({n} batches per epoch, max_batches={n}: "
                          "a check of the code, not a model); add --smoke to replay it as one, "
                          "or train without --config")  # fmt: skip
    if args.smoke and not n:
        raise ConfigError("--config replays a whole config; drop --smoke (it replays only a smoke "
                          f"run's config, and {path} is a full run's)")  # fmt: skip
    return [f"a smoke run: {n} batches per epoch (max_batches)"] if n else []


def _replayed_fold(args: argparse.Namespace, meta: dict | None) -> list[str]:
    """train without --fold trains on the fold the replayed run trained on (its model.json's):
    args.fold set to it; what the log says of it."""
    if not hasattr(args, "fold") or meta is None or meta.get("fold") is None:
        return []  # lr-find (no folds), no model.json, or a run on the split column
    if args.fold is not None:
        return [f"--fold {args.fold} (the run's: {meta['fold']})"]
    args.fold = meta["fold"]
    return [f"its fold: {args.fold} (model.json; --fold gives another)"]


def _models(args: argparse.Namespace) -> int:
    from thermocad.models.registry import get_arch, list_archs
    from thermocad.models.spec import TIMM
    from thermocad.models.weights import weights_available
    from thermocad.utils.extras import available

    # Without the training stack no weights serve (and timm's cache cannot be asked): said once.
    missing = [m for m in ("torch", "timm", "fastai") if not available(m)]
    print(f"{'name':<20} {'timm model':<24} {'size':>4}  weights")
    for name in list_archs():
        spec = get_arch(name)
        where = "offline" if spec.weights != TIMM else "download (timm)"
        if not missing:
            where += ": available" if weights_available(spec) else ": not on this machine"
        print(f"{name:<20} {spec.timm_name:<24} {spec.input_size:>4}  {where}")
    print(
        "size: the architecture's own input size; thermocad's default recipe trains at 320 "
        "(--size)."
    )
    if missing:
        print(f"Training needs the [train] extra ({', '.join(missing)}: not installed here): "
              "pip install 'thermocad[train]'; then this list says which weights are on this "
              "machine, and any timm model name works too.")  # fmt: skip
    else:
        print("Any timm model name also works (downloaded weights, or --no-pretrained).")
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    require_training()
    from thermocad.training.run import lr_find

    lr_find(args.split, args.out, _config(args), force=args.force)
    print(f"plot: {args.out}")
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
    require_training()
    from thermocad.training.run import train
    from thermocad.utils.errors import ConfigError

    if args.force and args.resume:  # as fit says it
        raise ConfigError("--force starts a run again, --resume continues one: give one of them")
    run = train(args.split, args.out, _config(args), fold=args.fold, force=args.force,
                resume=args.resume, threshold=args.threshold)  # fmt: skip

    if not (run / "model.json").is_file():  # another rank of a multi-GPU run: rank 0 writes it
        print(run)
        return 0
    from thermocad.models.bundle import META
    from thermocad.models.meta import read_meta

    meta = read_meta(run / META)
    auc = (meta.get("metrics") or {}).get("roc_auc")
    said = f"threshold {meta['threshold']:.4f}"
    if meta.get("fold") == "all":
        said += ", no validation women (the per-epoch figures are in-sample)"
    elif auc is not None and auc == auc:  # of what predict serves: the per-epoch AUC is the CNN's
        whose = "the CNN averaged with the baseline" if meta.get("baseline") else "the model"
        said = f"validation AUC of {whose} {auc:.3f} (images), " + said
    print(f"model: {run} ({said})")
    return 0


def _augment_preview(args: argparse.Namespace) -> int:
    from thermocad.preprocess.augment import preview_file

    path = preview_file(args.path, args.out, size=args.size, n=args.n, seed=args.seed,
                        force=args.force)  # fmt: skip
    print(f"plot: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    p = sub.add_parser("models", help="list architectures and whether their weights are here",
                       description="List registered architectures, their input size and whether "
                       "ImageNet weights are available offline.")  # fmt: skip
    p.set_defaults(func=_models)

    p = sub.add_parser("lr-find", help="plot loss versus learning rate and suggest one")
    _config_args(p)
    p.add_argument("--out", default="lr_find.png", type=output_file,
                   help="PNG to write: a name ending in .png, outside the folders of the split's "
                   "thermograms")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    p.set_defaults(func=_lr_find)

    p = sub.add_parser("train", help="train an ImageNet CNN on a split: thermocad's default "
                       "recipe, or the 2019 study's (--study-recipe)")  # fmt: skip
    _config_args(p)
    _train_args(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("augment-preview", help="grid of augmented copies of one thermogram",
                       description="Write a grid of one thermogram and augmented copies of it, "
                       "as the 2019 study's recipe (train --study-recipe) augments its training "
                       "images: the whole frame at 224 px, per-image grey levels (the study's "
                       "Figure 13). The default recipe trains its head on un-augmented images, "
                       "so it sees none of these.")  # fmt: skip
    p.add_argument("path", help="a thermal file")
    p.add_argument("--out", default="augment_preview.png", type=output_file,
                   help="PNG to write: a name ending in .png, outside the thermogram's folder "
                   "(a later predict or prepare of it would read the PNG as a thermogram)")  # fmt: skip
    p.add_argument("--size", type=int, default=224, help="input size in pixels, 16..1024")
    p.add_argument("-n", type=int, default=8, help="augmented copies, 1..64")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    p.set_defaults(func=_augment_preview)
