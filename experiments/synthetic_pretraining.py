"""Pretrain the body on synthetic bioheat thermograms, then the nested estimate (issue 17).

Protocol and decision rule: records/synthetic_pretraining.md (written before the run).
1. `generate_cohort(seed=1000)`: 600 synthetic women at 480 x 640 with the calibration marker.
2. `thermocad.train` on them (fold 0 held out): the default input, lite0 from ImageNet, the CNN
   alone, 5 head epochs, then 2 unfrozen SGDR cycles with differential learning rates.
3. The nested estimate on the 120 women (folds of `nested_default.py`) of the default head on
   the pretrained body's features, alone and averaged with the baseline.
4. On the demo's cohort (seed 0, 96 women, 120 x 160): 5-fold CV AUC of that head against the
   baseline's, and of the ImageNet body's head for reference.

    .venv/bin/python experiments/synthetic_pretraining.py --out /tmp/synth_pre --nested /tmp/nested

The rerun on the fixed augmentation first runs only the synthetic gate (record):

    .venv/bin/python experiments/synthetic_pretraining.py --out /tmp/synth_pre2 \
        --nested /tmp/nested --synthetic-check-only

On the calibrated generator, with the study's three unfrozen cycles (record):

    .venv/bin/python experiments/synthetic_pretraining.py --out /tmp/synth_pre4 \
        --nested /tmp/nested --synthetic-check-only --cycles 3
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np

import thermocad
from nested_default import baseline, cached, cohort, head_sgd, run_nested, summarise
from synth_cnn_vs_baseline import cv_aucs, demo_cohort
from thermocad.models.baseline import feature_table
from thermocad.synth.cohort import generate_cohort
from thermocad.training.config import TrainConfig
from thermocad.training.features import frozen_features

PRETRAIN = dict(ensemble="none", head_epochs=5, cycles=2)


def pretrain(out: Path, cycles: int = 2) -> Path:
    """The synthetic-pretrained body's weights file (trained once, then reused)."""
    run = out / "run"
    if (run / "model.safetensors").exists() and not (run / "INCOMPLETE").exists():
        return run / "model.safetensors"
    labels = generate_cohort(out / "data", n_patients=600, seed=1000, marker=True, force=True)
    table = thermocad.prepare(out / "data", labels, out / "cohort", force=True)
    split = thermocad.split(table, folds=5, test=0, seed=0)
    thermocad.train(split, run, TrainConfig(**{**PRETRAIN, "cycles": cycles}), fold=0,
                    force=True)  # fmt: skip
    return run / "model.safetensors"


def parts(feats, bfeats, df, tr, te, seed) -> dict[str, np.ndarray]:
    base = baseline(bfeats, df, tr, te, seed)
    cnn = head_sgd(feats["imagenet"], df, tr, te, seed)
    syn = head_sgd(feats["synthetic"], df, tr, te, seed)
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "cnn_synth": syn, "default_synth": (syn + base) / 2}  # fmt: skip


def demo_check(out: Path, weights: Path) -> dict:
    """5-fold CV AUC on the demo's cohort: both bodies' heads and the baseline (3 split seeds)."""
    df = demo_cohort(out)
    paths = df["path"].tolist()
    fx = {"imagenet": frozen_features(TrainConfig(), paths),
          "synthetic": frozen_features(TrainConfig(weights=str(weights)), paths)}  # fmt: skip
    return cv_aucs(df, fx, feature_table(paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--nested", type=Path, required=True, help="nested_default.py's --out")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--synthetic-check-only",
        action="store_true",
        help="stop after the demo cohort's check (the gate of the rerun)",
    )
    parser.add_argument("--cycles", type=int, default=2,
                        help="unfrozen SGDR cycles of the pretraining (the study's: 3)")  # fmt: skip
    args = parser.parse_args()
    weights = pretrain(args.out, args.cycles)
    print("demo cohort, 5-fold CV AUC:", demo_check(args.out, weights), flush=True)
    if args.synthetic_check_only:
        return
    df = cohort(args.nested)
    paths = df["path"].tolist()
    feats = {"imagenet": cached(args.nested / "features_default.npy",
                                lambda: frozen_features(TrainConfig(), paths)),
             "synthetic": cached(args.out / "features_synthetic.npy",
                                 lambda: frozen_features(TrainConfig(weights=str(weights)), paths))}  # fmt: skip
    bfeats = cached(args.nested / "baseline_features.pkl", lambda: feature_table(paths))
    preds = run_nested(partial(parts, feats, bfeats, df), df, args.seeds)
    preds.to_csv(args.out / "nested_synthetic.csv", index=False)
    summarise(preds, args.out / "nested_summary.json")


if __name__ == "__main__":
    main()
