"""Does the default CNN head match the classical baseline on the synthetic demo cohort? (issue 17)

The demo's CNN alone reached patient AUC 0.82 against the baseline's 0.894 on 96 synthetic
women at 120 x 160 px. This measures, on synthetic cohorts written by `generate_cohort` (the
demo's generator, seed 0), the default head (`fit_head` on the frozen lite0 features of
`TrainConfig()`'s input) against the baseline (`fit_linear_baseline`), both on the same
patient-grouped 5-fold splits, for a few cohort sizes and image sizes, with the seconds each
cohort costs (generation, features). Synthetic data only: no choice on real women is made here.

    .venv/bin/python experiments/synth_cnn_vs_baseline.py --out /tmp/synth_cnn \
        --cohorts 96x120 192x120 96x240
    .venv/bin/python experiments/synth_cnn_vs_baseline.py --out /tmp/synth_cnn \
        --cohorts 192x120 --difficulty easy --cohort-seed 21   # the demo's difficulty, new women
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

import thermocad
from thermocad.evaluation.metrics import roc_auc
from thermocad.io.labels import with_y
from thermocad.models.baseline import feature_table, fit_linear_baseline
from thermocad.synth.cohort import generate_cohort
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, frozen_features
from thermocad.utils.tables import markdown_table


def demo_cohort(out: Path) -> pd.DataFrame:
    """The demo's synthetic cohort (seed 0, 96 women, 120 x 160), prepared: kept rows with y."""
    labels = generate_cohort(out / "demo_data", n_patients=96, seed=0, height=120, width=160,
                             force=True)  # fmt: skip
    table = thermocad.prepare(out / "demo_data", labels)
    return with_y(table[table["excluded_reason"].fillna("") == ""]).reset_index(drop=True)


def cv_aucs(df: pd.DataFrame, features: dict[str, np.ndarray], bfeats: pd.DataFrame,
            seeds: int = 3) -> dict[str, float]:  # fmt: skip
    """Patient AUC of 5-fold CV, mean over split seeds: the default head on each feature set
    (rows of `df`) and the baseline (`bfeats`, indexed by path)."""
    y = df["y"].to_numpy()
    res: dict[str, list[float]] = {k: [] for k in [*features, "baseline"]}
    for seed in range(seeds):
        p = {k: np.zeros(len(df)) for k in res}
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(df, y):
            for k, x in features.items():
                p[k][te] = fit_head(x[tr], y[tr], x[te], TrainConfig(seed=seed))
            p["baseline"][te] = fit_linear_baseline(df.iloc[tr], bfeats).predict(
                bfeats.loc[df["path"].iloc[te]]
            )
        for k in res:
            res[k].append(roc_auc(y, p[k]))
    return {k: round(float(np.mean(v)), 3) for k, v in res.items()}


def one(out: Path, n: int, height: int, seeds: int, difficulty: str = "default",
        cohort_seed: int = 0) -> dict:  # fmt: skip
    t0 = time.perf_counter()
    labels = generate_cohort(out / f"{n}x{height}_{difficulty}_{cohort_seed}", n_patients=n,
                             seed=cohort_seed, height=height, width=height * 4 // 3,
                             difficulty=difficulty, force=True)  # fmt: skip
    df = pd.read_csv(labels)
    df["path"] = [str(next(labels.parent.glob(f"T{int(p):04d}*"))) for p in df["patient_id"]]
    df["y"] = (df["diagnosis"] == "Sick").astype(int)
    t1 = time.perf_counter()
    feats = frozen_features(TrainConfig(), df["path"].tolist())
    t2 = time.perf_counter()
    aucs = cv_aucs(df, {"cnn": feats}, feature_table(df["path"].tolist()), seeds)
    return {"cohort": f"{n} women, {height}x{height * 4 // 3}, {difficulty}, seed {cohort_seed}",
            "generate_s": round(t1 - t0),
            "features_s": round(t2 - t1), "cnn_auc": aucs["cnn"],
            "baseline_auc": aucs["baseline"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--cohorts",
        nargs="+",
        default=["96x120", "192x120", "96x240"],
        help="N x image height (width = 4/3 height)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="CV split seeds")
    parser.add_argument("--difficulty", default="default", help="the generator's difficulty")
    parser.add_argument("--cohort-seed", type=int, default=0, help="generator seed (demo: 0)")
    args = parser.parse_args()
    rows = []
    for spec in args.cohorts:
        n, h = map(int, spec.split("x"))
        rows.append(one(args.out, n, h, args.seeds, args.difficulty, args.cohort_seed))
        print(rows[-1], flush=True)
    print(markdown_table(list(rows[0]), [list(r.values()) for r in rows]))


if __name__ == "__main__":
    main()
