"""CLI: fit, the final model for users from a labelled folder (the handler imports lazily)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `thermocad fit` to the `thermocad` parser."""
    p = sub.add_parser(
        "fit",
        help="the final model for users: prepare, cross-validate, choose the threshold, train on all",
        description="Prepare DATA, cross-validate the default procedure over patient-grouped "
        "folds, choose the decision threshold on the pooled out-of-fold predictions, then train "
        "on every woman. OUT is the model folder that predict, explain, serve and export take; "
        "OUT/cv keeps the cross-validation (oof_predictions.csv, metrics.json). The default "
        "procedure: a head on the frozen efficientnet_lite0's features of the chest's "
        "left/right asymmetry at 320 px, averaged with the classical baseline; the threshold "
        "is the highest reaching sensitivity 0.90 (the options behind it are `thermocad train`'s; "
        "fit takes none of them, so that its model is the procedure measured).",
    )
    p.add_argument("data_dir", help="folder of thermal files")
    p.add_argument("--labels", required=True, help="patient table CSV (patient_id, diagnosis)")
    p.add_argument(
        "--out", required=True, help="run folder to create (with --resume: the interrupted one)"
    )
    p.add_argument("--folds", type=int, default=5, help="patient-grouped cross-validation folds")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the folds, the training and the bootstrap intervals",
    )
    p.add_argument("--smoke", action="store_true", help="the same procedure, tiny (64 px, 2 "
                   "batches per epoch, 1 head epoch): checks the chain on your data; its model is marked as a smoke run, not one to use")  # fmt: skip
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--force",
        action="store_true",
        help="replace an existing fit folder or training run (its model is removed when the new "
        "fit starts: keep a copy to serve meanwhile); never a study's or another command's",
    )
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted fit in OUT (the same DATA, labels and options): finished "
        "folds are kept, an interrupted one continues from its checkpoint (the head stage on "
        "cached features starts again, giving the weights of a fit never stopped)",
    )
    p.set_defaults(func=_fit)


def _fit(args: argparse.Namespace) -> int:
    from thermocad.fit import fit
    from thermocad.training.config import TrainConfig

    # --smoke: the default procedure's stages (a head on precomputed features, no TTA), tiny.
    config = (TrainConfig.smoke(seed=args.seed, frozen_cycles=0, cycles=0, tta=0) if args.smoke
              else TrainConfig(seed=args.seed))  # fmt: skip
    out = fit(args.data_dir, args.labels, args.out, config, folds=args.folds, seed=args.seed,
              force=args.force, resume=args.resume)  # fmt: skip
    print(f"model: {out} (cross-validation: {out / 'cv' / 'metrics.json'})")
    return 0
