"""Average the default head over 5 seeds? Nested estimate (issue 17; records/head_seeds.md).

.venv/bin/python experiments/head_seeds.py --nested /tmp/nested
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from nested_default import baseline, cached, cohort, folds, head_sgd, score
from thermocad.evaluation import metrics as M
from thermocad.models.baseline import feature_table
from thermocad.training.config import TrainConfig
from thermocad.training.features import frozen_features

N_SEEDS = 5


def parts(feats, bfeats, df, tr, te, seed) -> dict[str, np.ndarray]:
    base = baseline(bfeats, df, tr, te, seed)
    heads = [head_sgd(feats, df, tr, te, seed + i) for i in range(N_SEEDS)]
    cnn, avg = heads[0], np.mean(heads, axis=0)
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "cnn_seeds5": avg, "default_seeds5": (avg + base) / 2}  # fmt: skip


def nested(feats, bfeats, df, seeds) -> pd.DataFrame:
    rows = []
    cols = ["patient_id", "path", "y", "acquisition_batch", "acquisition_date"]
    for seed in seeds:
        for k, (tr, te) in enumerate(folds(df, 5, seed)):
            sub = df.iloc[tr].reset_index(drop=True)
            oof: dict[str, np.ndarray] = {}
            for a, b in folds(sub, 4, seed):
                for name, v in parts(feats, bfeats, df, tr[a], tr[b], seed).items():
                    oof.setdefault(name, np.zeros(len(tr)))[b] = v
            for name, p in parts(feats, bfeats, df, tr, te, seed).items():
                thr = M.choose_threshold(sub["y"], oof[name], method="sensitivity")
                rows.append(df.iloc[te][cols].assign(candidate=name, prob=p, threshold=thr,
                                                     seed=seed, outer_fold=k))  # fmt: skip
    return pd.concat(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nested", type=Path, required=True, help="nested_default.py's --out")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    df = cohort(args.nested)
    paths = df["path"].tolist()
    feats = cached(args.nested / "features_default.npy",
                   lambda: frozen_features(TrainConfig(), paths))  # fmt: skip
    bfeats = cached(args.nested / "baseline_features.pkl", lambda: feature_table(paths))
    preds = nested(feats, bfeats, df, args.seeds)
    preds.to_csv(args.nested / "nested_head_seeds.csv", index=False)
    results = {}
    for name, pred in preds.groupby("candidate"):
        per_seed = [score(p) for _, p in pred.groupby("seed")]
        results[name] = {k: np.mean([s[k] for s in per_seed], axis=0).round(3).tolist()
                         for k in per_seed[0]}  # fmt: skip
    (args.nested / "head_seeds_summary.json").write_text(json.dumps(results, indent=1))
    print(pd.DataFrame({k: {m: v[m][0] for m in ("all", "batch_a", "period", "sens", "spec")}
                        for k, v in results.items()}).T.to_string())  # fmt: skip


if __name__ == "__main__":
    main()
