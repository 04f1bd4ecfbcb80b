"""Ensembles across folds, measured against the single default model (issue 7).

Within each outer fold of `real_cv.py`'s patient-grouped 5-fold cross-validation, the
training patients are split again into 5 patient-grouped, stratified inner folds, and the
default recipe (`real_cv.DEFAULT`: the CNN head on frozen efficientnet_lite0 features,
averaged with the classical baseline) is trained 5 times, each time without one inner
fold, as a final model built from cross-validation folds would be. The outer fold's
patients are scored by the mean of the 5 CNNs averaged with the mean of the 5 baselines.
The single model trained on all of the outer fold's training patients is `real_cv.py`'s
`chest_asym_320_ens_notta` on the same folds (run it first, same --out, with
`chest_asym_320_notta` and `baseline`: its two halves, for runs that predate the prob_cnn and
prob_baseline columns).

    .venv/bin/python experiments/fold_ensemble.py --out /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from harness import paired_difference, scores, summary
from real_cv import DEFAULT
from thermocad.evaluation.compare import fold_splits
from thermocad.training.config import TrainConfig
from thermocad.utils.files import atomic_write_csv

SINGLE = "chest_asym_320_ens_notta"
HALVES = {"prob_cnn": ("chest_asym_320_notta", "efficientnet_lite0"),
          "prob_baseline": ("baseline", "baseline")}  # fmt: skip


def single_model(out: Path, seed: int) -> pd.DataFrame:
    """real_cv.py's default on this seed's folds, with its CNN and baseline halves."""
    pred = pd.read_csv(
        out / SINGLE / f"seed{seed}" / "efficientnet_lite0" / "valid_predictions.csv"
    )
    for column, (recipe, model) in HALVES.items():
        if column not in pred.columns:  # the same models, run alone on the same folds
            half = pd.read_csv(out / recipe / f"seed{seed}" / model / "valid_predictions.csv")
            pred[column] = pred["path"].map(half.set_index("path")["prob"])
    mean = (pred["prob_cnn"] + pred["prob_baseline"]) / 2
    assert np.allclose(mean, pred["prob"], atol=1e-6), "the halves do not make up the default"
    return pred


def inner_runs(fold_df: pd.DataFrame, seed: int, out: Path, inner: int) -> pd.DataFrame:
    """The outer fold's validation rows with prob_cnn and prob_baseline averaged over the
    `inner` models trained without one inner fold each."""
    train = fold_df[fold_df["split"] == "train"]
    groups = StratifiedGroupKFold(n_splits=inner, shuffle=True, random_state=seed)
    parts = []
    for g, (_, held) in enumerate(groups.split(train, train["label"], train["patient_id"])):
        run_dir = out / f"inner{g}"
        if not (run_dir / "valid_predictions.csv").exists():
            split_csv = out / f"split_inner{g}.csv"
            atomic_write_csv(split_csv, fold_df.drop(index=train.index[held]))
            config = TrainConfig(seed=seed, **DEFAULT)
            train(split_csv, run_dir, config, force=True)
        pred = pd.read_csv(run_dir / "valid_predictions.csv").set_index("path")
        parts.append(pred[["prob_cnn", "prob_baseline"]])
    mean = sum(parts) / len(parts)
    return mean.assign(prob=(mean["prob_cnn"] + mean["prob_baseline"]) / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="real_cv.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--inner", type=int, default=5, help="inner folds (models per fold)")
    args = parser.parse_args()
    rows, preds = [], {"fold_ensemble": [], SINGLE: []}
    for seed in args.seeds:
        single = single_model(args.out, seed)
        split = pd.read_csv(args.out / f"split_seed{seed}.csv")
        scored = []
        for k, fold_df in fold_splits(split):
            out = args.out / "fold_ensemble" / f"seed{seed}" / f"fold{k}"
            scored.append(inner_runs(fold_df, seed, out, args.inner))
        ensemble = pd.concat(scored)
        pred = single.drop(columns=["prob", "prob_cnn", "prob_baseline"]).join(
            ensemble, on="path", how="inner"
        )
        assert len(pred) == len(single), "the ensemble scored other patients than real_cv.py"
        for name, p in (("fold_ensemble", pred), (SINGLE, single)):
            rows.append({"recipe": name, "seed": seed, **scores(p)})
            preds[name].append(p)
        for name in ("prob_cnn", "prob_baseline"):  # each half alone, for the record
            for label, p in (("fold_ensemble", pred), (SINGLE, single)):
                part = p.assign(prob=p[name])
                rows.append({"recipe": f"{label}: {name}", "seed": seed, **scores(part)})
                preds.setdefault(f"{label}: {name}", []).append(part)
    table = pd.DataFrame(rows)
    text = summary(table, preds)
    d = paired_difference(preds["fold_ensemble"], preds[SINGLE])
    cells = [f"{v:+.3f} ({lo:+.3f} to {hi:+.3f})" for v, lo, hi in d.values()]
    text += f"\n\nfold_ensemble - {SINGLE}: AUC {cells[0]}, batch A {cells[1]}"
    (args.out / "fold_ensemble_summary.md").write_text(text + "\n")
    print(text)
    print("mean over seeds:", np.round(table.groupby("recipe")["auc_A"].mean(), 3).to_dict())


if __name__ == "__main__":
    main()
