"""Average the CNN half over the three offline bodies? Aim the threshold at the goal? (issue 17)

Nested cross-validation on the same outer and inner folds as `nested_default.py` (whose
functions it reuses), with the protocol and decision rules of
records/nested_round2.md, written before the run:
  cnn           the lite0 head on the default input (today's CNN half)
  cnn_avg3      the mean of the lite0, lite1 and lite2 heads (`TrainConfig(arch=...)`)
  default       mean of cnn and the baseline (today's default)
  default_avg3  mean of cnn_avg3 and the baseline
Thresholds, chosen on the inner out-of-fold predictions: `sens90` (the highest reaching
sensitivity 0.90, today's rule) and `goal` (the one farthest inside sensitivity 0.85 /
specificity 0.80, see `goal_threshold`).

    .venv/bin/python experiments/nested_round2.py --out /tmp/nested --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from nested_default import baseline, cached, cohort, folds, head_sgd, score
from thermocad.evaluation import thresholds as T
from thermocad.models.baseline import feature_table
from thermocad.training.config import TrainConfig
from thermocad.training.features import frozen_features

ARCHS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
GOAL = (0.85, 0.80)  # sensitivity, specificity


def goal_threshold(y, p, goal: tuple[float, float] = GOAL) -> float:
    """The threshold maximising min(sensitivity - goal[0], specificity - goal[1]) on (y, p);
    ties: the middle one of the tied thresholds (Sick when p >= threshold)."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    cuts = np.unique(p)
    pos, neg = p[y == 1], p[y == 0]
    sens = (pos[None, :] >= cuts[:, None]).mean(1)
    spec = (neg[None, :] < cuts[:, None]).mean(1)
    margin = np.minimum(sens - goal[0], spec - goal[1])
    best = np.flatnonzero(margin >= margin.max() - 1e-12)
    return float(cuts[best[len(best) // 2]])


def parts(feats: dict, bfeats, df, tr, te, seed) -> dict[str, np.ndarray]:
    heads = {a: head_sgd(f, df, tr, te, seed) for a, f in feats.items()}
    cnn, avg3 = heads[ARCHS[0]], np.mean(list(heads.values()), axis=0)
    base = baseline(bfeats, df, tr, te, seed)
    return {"baseline": base, "cnn": cnn, "cnn_avg3": avg3,
            "default": (cnn + base) / 2, "default_avg3": (avg3 + base) / 2}  # fmt: skip


RULES = {"sens90": lambda y, p: T.choose_threshold(y, p),
         "goal": goal_threshold}  # fmt: skip


def outer_fold(feats, bfeats, df, tr, te, seed) -> pd.DataFrame:
    sub = df.iloc[tr].reset_index(drop=True)
    oof: dict[str, np.ndarray] = {}
    for a, b in folds(sub, 4, seed):
        for k, v in parts(feats, bfeats, df, tr[a], tr[b], seed).items():
            oof.setdefault(k, np.zeros(len(tr)))[b] = v
    outer = parts(feats, bfeats, df, tr, te, seed)
    rows = df.iloc[te][["patient_id", "path", "y", "acquisition_batch", "acquisition_date"]]
    return pd.concat([rows.assign(candidate=k, rule=r, prob=outer[k], threshold=f(sub["y"], oof[k]))
                      for k in outer for r, f in RULES.items()])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    df = cohort(args.out)
    paths = df["path"].tolist()
    feats = {}
    for arch in ARCHS:
        name = "features_default.npy" if arch == ARCHS[0] else f"features_{arch}.npy"
        config = TrainConfig(arch=arch)
        feats[arch] = cached(args.out / name, lambda c=config: frozen_features(c, paths))
    bfeats = cached(args.out / "baseline_features.pkl", lambda: feature_table(paths))
    for seed in args.seeds:
        target = args.out / f"round2_seed{seed}.csv"
        if not target.exists():
            preds = [outer_fold(feats, bfeats, df, tr, te, seed).assign(outer_fold=k)
                     for k, (tr, te) in enumerate(folds(df, args.folds, seed))]  # fmt: skip
            pd.concat(preds).to_csv(target, index=False)
            print(f"seed {seed} done", flush=True)
    preds = pd.concat(
        [pd.read_csv(args.out / f"round2_seed{s}.csv").assign(seed=s) for s in args.seeds]
    )
    results = {}
    for (name, rule), pred in preds.groupby(["candidate", "rule"]):
        per_seed = [score(p) for _, p in pred.groupby("seed")]
        res = {k: np.mean([s[k] for s in per_seed], axis=0).round(3).tolist() for k in per_seed[0]}
        res["margin"] = round(min(res["sens"][0] - GOAL[0], res["spec"][0] - GOAL[1]), 3)
        results[f"{name}/{rule}"] = res
    (args.out / "round2_summary.json").write_text(json.dumps(results, indent=1))
    table = {k: {m: v[m][0] if isinstance(v[m], list) else v[m]
                 for m in ("all", "batch_a", "period", "sens", "spec", "margin")}
             for k, v in results.items()}  # fmt: skip
    print(pd.DataFrame(table).T.to_string())


if __name__ == "__main__":
    main()
