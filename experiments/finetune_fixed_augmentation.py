"""The default plus the study's unfrozen stage, on the fixed augmentation (issue 17; protocol
and rule in records/finetune_fixed_augmentation.md). Outer folds of nested_default.py (seed 0)
on the real women, and 5-fold CV on the demo's synthetic cohort.

    .venv/bin/python experiments/finetune_fixed_augmentation.py --nested /tmp/nested \
        --synthetic /tmp/ft_synth
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from finetune_outer import nested, split_for
from synth_cnn_vs_baseline import demo_cohort
from thermocad.evaluation.metrics import roc_auc
from thermocad.evaluation.periods import healthy_date_drift
from thermocad.training.config import TrainConfig
from thermocad.training.run import train

RECIPES = {"head": TrainConfig(), "ft": TrainConfig(cycles=2)}


def fold_predictions(df: pd.DataFrame, te: np.ndarray, config: TrainConfig) -> pd.DataFrame:
    """Train on every row but `te`, return `te`'s prob, prob_cnn and prob_baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        split_csv = split_for(df, te, Path(tmp))
        run = train(split_csv, Path(tmp) / "run", config, force=True)
        pred = pd.read_csv(run / "valid_predictions.csv")
    return pred[["patient_id", "prob", "prob_cnn", "prob_baseline"]]


def real(out: Path) -> None:
    N = nested()
    df = N.cohort(out)
    target = out / "outer_default_ft_seed0.csv"
    if not target.exists():
        preds = []
        for k, (_, te) in enumerate(N.folds(df, 5, 0)):
            rows = df.iloc[te][["patient_id", "y", "acquisition_batch", "acquisition_date"]]
            preds.append(rows.merge(fold_predictions(df, te, RECIPES["ft"]), on="patient_id")
                         .assign(outer_fold=k))  # fmt: skip
            print(f"real fold {k} done", flush=True)
        pd.concat(preds).to_csv(target, index=False)
    ft = pd.read_csv(target)
    base = pd.read_csv(out / "nested_seed0.csv")
    cands = {name: base[base["candidate"] == name] for name in ("default", "cnn", "baseline")}
    cands["default_ft"] = ft
    cands["cnn_ft"] = ft.assign(prob=ft["prob_cnn"])
    rows = {}
    for name, pred in cands.items():
        pred = pred.reset_index(drop=True).assign(threshold=1.0)
        s = N.score(pred)
        drift = healthy_date_drift(pred, "A", n_boot=0)["roc_auc"]
        rows[name] = {**{k: f"{s[k][0]:.3f} ({s[k][1]:.3f}-{s[k][2]:.3f})"
                         for k in ("all", "batch_a", "period")}, "drift": round(drift, 3)}  # fmt: skip
    print(pd.DataFrame(rows).T.to_string())


def synthetic(out: Path) -> None:
    df = demo_cohort(out)
    y = df["y"].to_numpy()
    probs = {k: np.zeros(len(df)) for k in ("cnn_head", "cnn_ft", "baseline")}
    for _tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(df, y):
        head = fold_predictions(df, te, RECIPES["head"]).set_index("patient_id")
        ft = fold_predictions(df, te, RECIPES["ft"]).set_index("patient_id")
        ids = df["patient_id"].iloc[te]
        probs["cnn_head"][te] = head.loc[ids, "prob_cnn"]
        probs["cnn_ft"][te] = ft.loc[ids, "prob_cnn"]
        probs["baseline"][te] = head.loc[ids, "prob_baseline"]
        print("synthetic fold done", flush=True)
    print({k: round(roc_auc(y, p), 3) for k, p in probs.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nested", type=Path, help="nested_default.py's --out (real women)")
    parser.add_argument("--synthetic", type=Path, help="work folder for the demo cohort")
    args = parser.parse_args()
    if args.synthetic:
        synthetic(args.synthetic)
    if args.nested:
        real(args.nested)


if __name__ == "__main__":
    main()
