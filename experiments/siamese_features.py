"""Siamese features over the two breasts, measured against whole-chest features (issue 7).

Frozen ImageNet efficientnet_lite0 (one input channel), the default evaluation transform
(marker masked, chest crop, per-image window) at --size px. Each chest map is cut at its
centre; the right half is mirrored onto the left, and both halves go through the same network
(shared weights: a siamese pair). A standardised logistic regression (C chosen by inner 4-fold
CV on the training folds only) then learns from:
  full           pooled features of the whole chest map
  siamese        |f_left - f_right| and f_left + f_right
  absdiff        |f_left - f_right| only
  siamese+full   both of the above
  siamese+base   siamese features plus the classical baseline's features
on the patient-grouped folds that `real_cv.py` wrote (run it first), seeds 0-2.

    .venv/bin/python experiments/siamese_features.py --cv /tmp/real_cv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from harness import scores
from thermocad.cohort.prepare import kept_rows
from thermocad.models.baseline import feature_table
from thermocad.models.registry import create_model
from thermocad.preprocess.transforms import EvalTransform
from thermocad.training.data import load_maps


def pooled_features(model: torch.nn.Module, maps: np.ndarray) -> np.ndarray:
    x = (torch.from_numpy(np.ascontiguousarray(maps))[:, None] - 0.449) / 0.226
    with torch.inference_mode():
        parts = [model.forward_head(model.forward_features(x[i : i + 16]), pre_logits=True)
                 for i in range(0, len(x), 16)]  # fmt: skip
    return torch.cat(parts).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=Path, required=True, help="real_cv.py's --out folder")
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()
    cohort = kept_rows(pd.read_csv(args.cv / "cohort" / "cohort.csv")).reset_index(drop=True)
    paths = cohort["path"].tolist()
    maps, _ = load_maps(paths, EvalTransform(size=args.size, crop="breasts", marker="remove"))
    model = create_model("efficientnet_lite0", in_chans=1).eval()
    half = args.size // 2
    full = pooled_features(model, maps)
    left, right = pooled_features(model, maps[:, :, :half]), pooled_features(model, maps[:, :, half:][:, :, ::-1])  # fmt: skip
    siamese = np.hstack([np.abs(left - right), left + right])
    base = feature_table(paths).loc[paths].to_numpy(float)
    variants = {"full": full, "siamese": siamese, "absdiff": np.abs(left - right),
                "siamese+full": np.hstack([siamese, full]), "siamese+base": np.hstack([siamese, base])}  # fmt: skip
    y = (cohort["label"] == "Sick").to_numpy(int)
    rows = []
    for seed in (0, 1, 2):
        split = pd.read_csv(args.cv / f"split_seed{seed}.csv")
        fold = cohort["path"].map(dict(zip(split["path"], split["fold"], strict=True))).to_numpy()
        for name, X in variants.items():
            prob = np.zeros(len(y))
            for k in np.unique(fold):
                train, test = fold != k, fold == k
                clf = make_pipeline(StandardScaler(), LogisticRegressionCV(
                    Cs=np.logspace(-4, 0, 9), cv=4, scoring="roc_auc", max_iter=5000))  # fmt: skip
                prob[test] = clf.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
            pred = cohort[["patient_id", "acquisition_batch"]].assign(y=y, prob=prob, fold=fold)
            rows.append({"variant": name, "seed": seed, **scores(pred)})
    table = pd.DataFrame(rows).groupby("variant", sort=False)
    print(table[["auc", "auc_A", "auc_A_period", "sens", "spec"]].mean().round(3).to_string())


if __name__ == "__main__":
    main()
