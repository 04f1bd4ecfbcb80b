"""Measure how hard the synthetic task is: logistic regression on whole-image temperature stats.

Usage: python experiments/synth_difficulty.py [--patients 200] [--height 240 --width 320]
Prints the patient-level 5-fold cross-validated ROC AUC per difficulty (one frontal frame each):
"simple" = whole-image statistics below; "baseline" = thermocad.models.baseline's breast-region
statistics and mirrored asymmetry features, the project's non-deep baseline.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from thermocad.synth.cohort import Nuisances, synth_patient


def features(img: np.ndarray) -> np.ndarray:
    """Percentiles, mean, std and left-right differences over the whole image."""
    half = img.shape[1] // 2
    left, right = img[:, :half], img[:, -half:]
    pct = np.percentile(img, [5, 25, 50, 75, 95, 99])
    diff = left.mean() - right.mean()
    diff99 = np.percentile(left, 99) - np.percentile(right, 99)
    return np.r_[pct, img.mean(), img.std(), diff, abs(diff), abs(diff99)]


def cohort_features(n: int, seed: int, difficulty: str, height: int, width: int):
    """Features and labels of n in-memory patients (40% Sick)."""
    rng0 = np.random.default_rng(seed)
    sick = rng0.permutation(np.arange(n) < int(0.4 * n))
    from thermocad.models.baseline import baseline_features

    xs, xb = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i + 1])
        images, _, _ = synth_patient(rng, bool(sick[i]), height, width, difficulty,
                                     nuisances=Nuisances())  # fmt: skip
        xs.append(features(images[("frontal", 1)]))
        xb.append(list(baseline_features(images[("frontal", 1)]).values()))
    return np.array(xs), np.nan_to_num(np.array(xb)), sick.astype(int)


def cv_auc(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Five-fold stratified CV AUC of a standardised logistic regression (one image = one patient)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--difficulties", nargs="+", default=["easy", "default", "hard"])
    args = parser.parse_args()
    print("| difficulty | seed | patients | AUC simple | AUC baseline |\n|---|---|---|---|---|")
    for difficulty in args.difficulties:
        for seed in args.seeds:
            t = time.time()
            x, xb, y = cohort_features(args.patients, seed, difficulty, args.height, args.width)
            auc, auc_b = cv_auc(x, y, seed), cv_auc(xb, y, seed)
            print(f"| {difficulty} | {seed} | {args.patients} | {auc:.3f} | {auc_b:.3f} | "
                  f"({time.time() - t:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
