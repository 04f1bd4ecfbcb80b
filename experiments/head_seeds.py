"""Average the default head over 5 seeds? Nested estimate (issue 17; records/head_seeds.md).

.venv/bin/python experiments/head_seeds.py --nested /tmp/nested
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nested_default import baseline, cached, candidate_args, cohort, head_sgd, run_nested, summarise
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


def main() -> None:
    args = candidate_args(__doc__)
    df = cohort(args.nested)
    paths = df["path"].tolist()
    feats = cached(args.nested / "features_default.npy",
                   lambda: frozen_features(TrainConfig(), paths))  # fmt: skip
    bfeats = cached(args.nested / "baseline_features.pkl", lambda: feature_table(paths))
    preds = run_nested(partial(parts, feats, bfeats, df), df, args.seeds)
    preds.to_csv(args.nested / "nested_head_seeds.csv", index=False)
    summarise(preds, args.nested / "head_seeds_summary.json")


if __name__ == "__main__":
    main()
