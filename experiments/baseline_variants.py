"""Which features carry the classical baseline on the real data, and do more of them help?

    .venv/bin/python experiments/baseline_variants.py --cv /tmp/real_cv

Uses the split files of `experiments/real_cv.py` (patient-grouped 5-fold, seeds 0-2) and the
CNN-alone out-of-fold predictions of its `chest_asym_320_notta` runs, both under `--cv`.
Feature sets, each in a standardised logistic regression fitted on the training folds:
thermocad's baseline features; those plus per-breast shape (skewness, kurtosis, histogram
entropy), gradient (vascular pattern) and quadrant-asymmetry features; and both without the
absolute temperatures (percentiles and mean in Celsius, which carry the room and season, i.e.
the acquisition period), keeping only spreads, temperatures relative to the region's median,
and left/right differences. Each set also averaged with the CNN, as the default recipe does.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from thermocad.evaluation.metrics import roc_auc
from thermocad.io.thermal import read_thermal
from thermocad.models.baseline import baseline_features, chest_region
from thermocad.preprocess.regions import remove_marker

ABSOLUTE = ["p5", "p25", "p50", "p75", "p95", "mean", "median"]  # Celsius, not differences
PERIOD_START = 120  # as in real_cv.py


def side(values: np.ndarray, grad: np.ndarray) -> dict[str, float]:
    hist, _ = np.histogram(values, bins=32)
    p = hist[hist > 0] / hist.sum()
    return {"skew": stats.skew(values), "kurt": stats.kurtosis(values),
            "entropy": float(-(p * np.log(p)).sum()), "grad": grad.mean(),
            "grad90": np.percentile(grad, 90)}  # fmt: skip


def extra_features(array: np.ndarray) -> dict[str, float]:
    """Per-breast shape and gradient statistics, quadrant asymmetry, relative temperatures."""
    a = remove_marker(np.asarray(array, np.float32))
    mask, (top, bottom, left, right) = chest_region(a)
    box, inside = a[top:bottom, left:right], mask[top:bottom, left:right]
    median = float(np.median(box[inside]))
    grad = np.hypot(*np.gradient(ndimage.gaussian_filter(box, 1.5)))
    half = box.shape[1] // 2

    def halves(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:, :half], x[:, -half:][:, ::-1]  # the right breast mirrored

    (lt, rt), (lm, rm), (lg, rg) = halves(box - median), halves(inside), halves(grad)
    ls, rs = side(lt[lm], lg[lm]), side(rt[rm], rg[rm])
    out = {f"asym_{k}": abs(ls[k] - rs[k]) for k in ls} | {f"sum_{k}": ls[k] + rs[k] for k in ls}
    rows, cols = box.shape[0] // 2, half // 2
    quadrants = [(slice(0, rows), slice(0, cols)), (slice(0, rows), slice(cols, half)),
                 (slice(rows, None), slice(0, cols)), (slice(rows, None), slice(cols, half))]  # fmt: skip
    for q, (r, c) in enumerate(quadrants):
        lv, rv = lt[r, c][lm[r, c]], rt[r, c][rm[r, c]]
        if lv.size and rv.size:
            out[f"q{q}_asym"] = abs(lv.mean() - rv.mean())
            out[f"q{q}_max_asym"] = abs(lv.max() - rv.max())
    out["median"] = median
    return out


def table(paths: list[str]) -> pd.DataFrame:
    rows = {}
    for path in paths:
        array = read_thermal(path).array
        base = baseline_features(array)
        extra = extra_features(array)
        relative = {
            f"rel_{k}": base[k] - extra["median"] for k in ("p5", "p25", "p75", "p95", "mean")
        }
        rows[path] = base | extra | relative
    return pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)


def out_of_fold(
    split: pd.DataFrame, feats: pd.DataFrame, cols: list[str], C: float
) -> pd.DataFrame:
    parts = []
    for k in sorted(split["fold"].unique()):
        train, valid = split[split["fold"] != k], split[split["fold"] == k]
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
        model.fit(feats.loc[train["path"], cols].to_numpy(float), train["label"] == "Sick")
        prob = model.predict_proba(feats.loc[valid["path"], cols].to_numpy(float))[:, 1]
        parts.append(valid.assign(prob=prob, y=(valid["label"] == "Sick").astype(int)))
    return pd.concat(parts)


def aucs(pred: pd.DataFrame) -> np.ndarray:
    a = pred[pred["acquisition_batch"] == "A"]
    same = a[a["patient_id"] >= PERIOD_START]
    return np.array([roc_auc(d["y"], d["prob"]) for d in (pred, a, same)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=Path, required=True, help="real_cv.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # skew/kurtosis of flat regions
    splits = {s: pd.read_csv(args.cv / f"split_seed{s}.csv") for s in args.seeds}
    feats = table(splits[args.seeds[0]]["path"].tolist())
    base = list(baseline_features(np.full((64, 64), 30.0, np.float32)).keys())
    extra = [c for c in feats.columns if c not in base]
    sets = {
        "thermocad's baseline features": base,
        "baseline + extra features": base + extra,
        "baseline features, no absolute temperatures": [c for c in base if c not in ABSOLUTE],
        "baseline + extra, no absolute temperatures": [
            c for c in base + extra if c not in ABSOLUTE
        ],
    }
    cnn_runs = args.cv / "chest_asym_320_notta"
    print("| features | C | n | AUC | AUC batch A | AUC batch A, same period "
          "| with the CNN: AUC | batch A | batch A, same period |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, cols in sets.items():
        for C in (1.0, 0.1):
            alone, mixed = [], []
            for s in args.seeds:
                pred = out_of_fold(splits[s], feats, cols, C)
                alone.append(aucs(pred))
                cnn = pd.read_csv(cnn_runs / f"seed{s}/efficientnet_lite0/valid_predictions.csv")
                both = pred.merge(cnn[["path", "prob"]], on="path", suffixes=("", "_cnn"))
                mixed.append(aucs(both.assign(prob=(both["prob"] + both["prob_cnn"]) / 2)))
            cells = " | ".join(f"{v:.3f}" for v in [*np.mean(alone, 0), *np.mean(mixed, 0)])
            print(f"| {name} | {C:g} | {len(cols)} | {cells} |")


if __name__ == "__main__":
    main()
