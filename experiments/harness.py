"""The experiments' shared harness: real_cv.py's scores and tables, and heads on frozen features.

Uses only thermocad's public library functions (`thermocad.training.features`: the default
recipe's frozen body and head stage; `thermocad.evaluation.metrics`). Imported by the scripts
beside it (`from harness import ...`), which Python finds because it puts a script's own
folder on the module path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_curve

from thermocad.cohort.split import fold_rows, folds_of
from thermocad.evaluation.bootstrap import bootstrap_ci
from thermocad.evaluation.metrics import roc_auc, wilson_ci
from thermocad.evaluation.thresholds import NOISE_MARGIN, choose_threshold
from thermocad.io.labels import labels_to_y
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, frozen_features, prepared_maps
from thermocad.utils.tables import markdown_table

PERIOD_START = 120  # first batch-A Sick patient is 138; batch A ids below 120 are all Healthy


def youden_threshold(y_true, prob) -> float:
    """Youden's J threshold (max sensitivity + specificity - 1; the highest on a tie), the rule
    the records' older tables used. thermocad dropped it for the sensitivity rule
    (records/decisions.md); kept here to reproduce those tables. Stored as the library's rule
    stores its own: just below the picked score, never above 1 (model.json's bound); 0.5 on
    one class."""
    y, p = np.asarray(y_true).astype(int), np.asarray(prob, float)
    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y, p, drop_intermediate=False)  # every distinct score
    keep = np.isfinite(thr) | (p.max() < 1.0)  # nobody Sick: storable only below a score of 1
    fpr, tpr, thr = fpr[keep], tpr[keep], np.minimum(thr[keep], 1.0)
    picked = float(thr[int(np.argmax(tpr - fpr))])
    lower = p[p < picked]
    return max(picked - NOISE_MARGIN, (picked + (float(lower.max()) if lower.size else 0.0)) / 2)


def fold_thresholds(pred: pd.DataFrame, target: float | None = None) -> pd.Series:
    """Per row, the threshold chosen on the out-of-fold predictions of the other folds: Youden's,
    or with `target` the highest one that reaches that sensitivity there."""
    out = pd.Series(np.nan, index=pred.index)
    for k in pred["fold"].unique():
        other = pred[pred["fold"] != k]
        y, p = other["y"].to_numpy(), other["prob"].to_numpy()
        chosen = youden_threshold(y, p) if target is None else choose_threshold(y, p, target)
        out[pred["fold"] == k] = chosen
    return out


def scores(pred: pd.DataFrame) -> dict:
    """AUCs overall / batch A / period-matched A, and sensitivity/specificity (per-fold thresholds)."""
    y, p = pred["y"].to_numpy(int), pred["prob"].to_numpy(float)
    a = (pred["acquisition_batch"] == "A").to_numpy()
    pm = a & (pred["patient_id"].to_numpy() >= PERIOD_START)
    decision = p >= fold_thresholds(pred).to_numpy()
    tp, fn = int((decision & (y == 1)).sum()), int((~decision & (y == 1)).sum())
    tn, fp = int((~decision & (y == 0)).sum()), int((decision & (y == 0)).sum())
    return {"auc": roc_auc(y, p), "auc_A": roc_auc(y[a], p[a]), "auc_A_period": roc_auc(y[pm], p[pm]),
            "sens": tp / (tp + fn), "spec": tn / (tn + fp), "tp": tp, "fn": fn, "tn": tn, "fp": fp}  # fmt: skip


def auc_intervals(preds: list[pd.DataFrame]) -> dict[str, tuple[float, float]]:
    """Patient-bootstrap 95% intervals of the AUC (all, batch A) of the seed-averaged score."""
    mean = seed_mean(preds)
    in_a = mean[mean["batch"] == "A"]
    return {"all": bootstrap_ci(mean, 0.5)["roc_auc"], "A": bootstrap_ci(in_a, 0.5)["roc_auc"]}


def seed_mean(preds: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per patient: label, batch and the score averaged over seeds."""
    return (
        pd.concat(preds)
        .groupby("patient_id", as_index=False)
        .agg(y=("y", "first"), prob=("prob", "mean"), batch=("acquisition_batch", "first"))
    )


def paired_difference(a: list[pd.DataFrame], b: list[pd.DataFrame], n_boot: int = 2000) -> dict:
    """AUC(a) - AUC(b) on the seed-averaged scores, overall and within batch A, with a paired
    patient-bootstrap 95% interval (the same resampled women score both recipes)."""
    both = seed_mean(a).merge(
        seed_mean(b)[["patient_id", "prob"]], on="patient_id", suffixes=("", "_b")
    )
    rng = np.random.default_rng(0)
    out = {}
    for name, df in (("all", both), ("A", both[both["batch"] == "A"])):
        y, pa, pb = df["y"].to_numpy(int), df["prob"].to_numpy(float), df["prob_b"].to_numpy(float)
        out[name] = paired_auc_difference(y, pa, pb, n_boot, rng)
    return out


def paired_auc_difference(y, pa, pb, n_boot: int, rng) -> tuple[float, float, float]:
    """AUC(pa) - AUC(pb) on the same women, with a paired patient-bootstrap 95% interval."""
    reps = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            reps.append(roc_auc(y[i], pa[i]) - roc_auc(y[i], pb[i]))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return roc_auc(y, pa) - roc_auc(y, pb), float(lo), float(hi)


def summary(table: pd.DataFrame, preds: dict) -> str:
    """Mean (min-max over seeds); pooled Wilson 95% intervals for sensitivity and specificity."""
    header = ["recipe", "seeds", "AUC", "AUC batch A", "AUC batch A, same period", "sensitivity",
              "specificity", "AUC 95% CI", "AUC batch A 95% CI"]  # fmt: skip
    rows = []
    for name, g in table.groupby("recipe", sort=False):
        ci = auc_intervals(preds[name])
        cell = {k: f"{g[k].mean():.3f} ({g[k].min():.3f}-{g[k].max():.3f})"
                for k in ("auc", "auc_A", "auc_A_period")}  # fmt: skip
        tp, fn, tn, fp = (int(g[k].sum()) for k in ("tp", "fn", "tn", "fp"))
        sl, sh = wilson_ci(tp, tp + fn)
        pl, ph = wilson_ci(tn, tn + fp)
        rows.append([name, len(g), cell["auc"], cell["auc_A"], cell["auc_A_period"],
                     f"{tp / (tp + fn):.3f} ({sl:.3f}-{sh:.3f})",
                     f"{tn / (tn + fp):.3f} ({pl:.3f}-{ph:.3f})",
                     f"{ci['all'][0]:.3f}-{ci['all'][1]:.3f}", f"{ci['A'][0]:.3f}-{ci['A'][1]:.3f}"])  # fmt: skip
    return markdown_table(header, rows)


def cv_setup(doc: str) -> tuple[argparse.Namespace, list[str]]:
    """The command line of the feature experiments (--cv, --seeds) and the cohort's usable files."""
    import torch

    from thermocad.cohort.prepare import kept_rows

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--cv", type=Path, required=True, help="real_cv.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    return args, kept_rows(pd.read_csv(args.cv / "cohort" / "cohort.csv"))["path"].tolist()


def prepared(cfg: TrainConfig, paths: list[str]):
    """The evaluation transform of `cfg` and every file prepared by it (the body's inputs)."""
    return prepared_maps(cfg, paths)


def features(cfg: TrainConfig, paths: list[str]) -> np.ndarray:
    """The frozen body's pooled features of every file, prepared by `cfg`'s transform."""
    return frozen_features(cfg, paths)


def train_head(x_tr, y_tr, x_va, seed: int, make_head=None) -> np.ndarray:
    """The default's head stage on given features (the library's fit_head, seeded per split):
    P(Sick) on the validation rows. Linear unless `make_head(n_features)` builds another."""
    return fit_head(x_tr, y_tr, x_va, TrainConfig(seed=seed), make_head)


def standardise(train: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0) + 1e-6
    return ((train - mean) / std).astype(np.float32), ((valid - mean) / std).astype(np.float32)


def fold_heads(
    cv: Path,
    seeds: list[int],
    feats: dict[str, np.ndarray],
    paths: list[str],
    variants: dict[str, tuple[list[str], list[str], object]],
) -> tuple[pd.DataFrame, dict]:
    """For every seed and fold of real_cv.py's splits, a head per variant, trained on the
    training patients' features: (raw keys, keys standardised on the training folds, head
    factory or None for linear, or a scikit-learn classifier fitted instead). Returns the
    scores table and the predictions of each variant, alone and averaged with the baseline
    fitted on the same training patients."""
    index = {p: i for i, p in enumerate(paths)}
    rows, preds = [], {}
    for seed in seeds:
        split = pd.read_csv(cv / f"split_seed{seed}.csv")
        baseline = pd.read_csv(
            cv / "baseline" / f"seed{seed}" / "baseline" / "valid_predictions.csv"
        )
        out = {name: [] for name in variants}
        for fold in folds_of(split):
            tr, va = fold_rows(split, fold)
            i_tr, i_va = tr["path"].map(index).to_numpy(), va["path"].map(index).to_numpy()
            y_tr = labels_to_y(tr["label"])
            for name, (raw, scaled, make_head) in variants.items():
                xs_tr, xs_va = [feats[k][i_tr] for k in raw], [feats[k][i_va] for k in raw]
                for k in scaled:
                    a, b = standardise(feats[k][i_tr], feats[k][i_va])
                    xs_tr.append(a)
                    xs_va.append(b)
                x_tr, x_va = np.hstack(xs_tr), np.hstack(xs_va)
                if hasattr(make_head, "predict_proba"):  # a scikit-learn classifier
                    p = clone(make_head).fit(x_tr, y_tr).predict_proba(x_va)[:, 1]
                else:
                    p = train_head(x_tr, y_tr, x_va, seed, make_head)
                out[name].append(va.assign(prob=p))
        base = baseline.set_index("patient_id")["prob"]
        for name, parts in out.items():
            cnn = pd.concat(parts)
            cnn["y"] = (cnn["label"] == "Sick").astype(int)
            ens = cnn.assign(prob=(cnn["prob"] + cnn["patient_id"].map(base)) / 2)
            for label, pred in ((name, cnn), (f"{name}+baseline", ens)):
                rows.append({"recipe": label, "seed": seed, **scores(pred)})
                preds.setdefault(label, []).append(pred)
    return pd.DataFrame(rows), preds


def report(table: pd.DataFrame, preds: dict, ref: str) -> None:
    """The scores table, then each variant's paired AUC difference to variant `ref`."""
    print(summary(table, preds))
    print()
    rows = []
    for name in preds:
        if name in (ref, f"{ref}+baseline"):
            continue
        other = f"{ref}+baseline" if name.endswith("+baseline") else ref
        d = paired_difference(preds[name], preds[other])
        rows.append([f"{name} - {other}", *(difference(d[k]) for k in ("all", "A"))])
    print(
        markdown_table(["variant", f"AUC - {ref} (95% CI)", f"batch A: AUC - {ref} (95% CI)"], rows)
    )


def difference(v: tuple[float, float, float]) -> str:
    """A paired difference and its interval: '+0.017 (-0.031 to +0.071)'."""
    return f"{v[0]:+.3f} ({v[1]:+.3f} to {v[2]:+.3f})"
