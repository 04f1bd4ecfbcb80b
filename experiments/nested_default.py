"""Which default generalises? Nested cross-validation of the candidate procedures (issue 17).

Every candidate is a whole procedure: fit on some women, choose what it chooses (head
regularisation, ensemble weight, threshold) on inner folds of those women only, predict
women it has never seen. The outer folds (patient-grouped, stratified by diagnosis x batch)
estimate it; nothing outside a candidate's own inner folds informs its choices.

Candidates (all on the default input: the asymmetry map through the frozen ImageNet
efficientnet_lite0 at 320 px, `TrainConfig()`; features computed once per woman, since the
frozen body does not depend on who trains the head):
  baseline     the classical baseline (temperature statistics + asymmetry, logistic regression)
  cnn          the default head (`fit_head`: linear, SGD, 30 epochs of SGDR)
  default      mean of cnn and baseline (the current default)
  cnn_l2       an L2 logistic regression head on standardised features, C chosen by inner CV
  ens_w        cnn and baseline weighted by w in {0, .25, .5, .75, 1}, w chosen on the inner
               out-of-fold predictions (pooled patient-level AUC within the largest batch
               that has both classes, then overall AUC)
  ens_w_l2     the same with the cnn_l2 head
Every candidate's threshold is the highest reaching sensitivity 0.90 on its inner
out-of-fold predictions (the default threshold rule).

    .venv/bin/python experiments/nested_default.py --out /tmp/nested --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from thermocad.cohort.prepare import prepare_cohort
from thermocad.evaluation import bootstrap as B
from thermocad.evaluation import metrics as M
from thermocad.evaluation import thresholds as T
from thermocad.evaluation.periods import healthy_date_drift, period_matched
from thermocad.models.baseline import feature_table, fit_linear_baseline
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, frozen_features

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dmr-ir-frontal"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
C_GRID = np.logspace(-4, 0, 9)
TARGET = 0.9


def cohort(out: Path) -> pd.DataFrame:
    """The kept rows of the prepared cohort, with y and the acquisition date from labels.csv."""
    if not (out / "cohort" / "cohort.csv").exists():
        prepare_cohort(DATA, DATA / "labels.csv", out / "cohort")
    df = pd.read_csv(out / "cohort" / "cohort.csv")
    df = df[df["excluded_reason"].isna()].reset_index(drop=True)
    labels = pd.read_csv(DATA / "labels.csv")[["patient_id", "acquisition_date"]]
    df = df.drop(columns=["acquisition_date"], errors="ignore").merge(labels, on="patient_id")
    return df.assign(y=(df["label"] == "Sick").astype(int))


def cached(path: Path, make) -> np.ndarray | pd.DataFrame:
    if path.exists():
        return pd.read_pickle(path) if path.suffix == ".pkl" else np.load(path)
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    value.to_pickle(path) if isinstance(value, pd.DataFrame) else np.save(path, value)
    return value


def folds(df: pd.DataFrame, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-grouped folds stratified by diagnosis x batch (index arrays into df)."""
    strata = df["label"] + "_" + df["acquisition_batch"].astype(str)
    sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(sgkf.split(np.zeros(len(df)), strata, df["patient_id"]))


def main_batch(df: pd.DataFrame) -> np.ndarray:
    """Rows of the largest batch holding both classes (batch A on DMR-IR)."""
    both = [b for b, p in df.groupby("acquisition_batch") if p["y"].nunique() == 2]
    best = max(both, key=lambda b: (df["acquisition_batch"] == b).sum())
    return (df["acquisition_batch"] == best).to_numpy()


def auc_key(df: pd.DataFrame, p: np.ndarray) -> tuple[float, float]:
    """Selection score: AUC within the main batch, then overall."""
    a = main_batch(df)
    return M.roc_auc(df["y"][a], p[a]), M.roc_auc(df["y"], p)


# --- the CNN heads and the baseline, fitted on rows `tr`, predicting rows `te` -------------


def head_sgd(feats, df, tr, te, seed) -> np.ndarray:
    return fit_head(feats[tr], df["y"].to_numpy()[tr], feats[te], TrainConfig(seed=seed))


def head_l2(feats, df, tr, te, seed) -> np.ndarray:
    """L2 logistic regression on standardised features; C chosen by inner CV AUC on `tr`."""
    sub = df.iloc[tr].reset_index(drop=True)
    inner = folds(sub, 4, seed)
    scores = []
    for C in C_GRID:
        oof = np.zeros(len(tr))
        for a, b in inner:
            oof[b] = _l2(C).fit(feats[tr][a], sub["y"][a]).predict_proba(feats[tr][b])[:, 1]
        scores.append(auc_key(sub, oof))
    C = C_GRID[max(range(len(C_GRID)), key=lambda i: scores[i])]
    return _l2(C).fit(feats[tr], sub["y"]).predict_proba(feats[te])[:, 1]


def _l2(C: float):
    return make_pipeline(
        StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    )


def baseline(bfeats, df, tr, te, seed) -> np.ndarray:
    return fit_linear_baseline(df.iloc[tr], bfeats).predict(bfeats.loc[df["path"].iloc[te]])


def parts(feats, bfeats, df, tr, te, seed) -> dict[str, np.ndarray]:
    """The three ingredients' P(Sick) on `te` from a fit on `tr`."""
    return {
        "baseline": baseline(bfeats, df, tr, te, seed),
        "cnn": head_sgd(feats, df, tr, te, seed),
        "cnn_l2": head_l2(feats, df, tr, te, seed),
    }


def candidates(p: dict[str, np.ndarray], w: dict[str, float]) -> dict[str, np.ndarray]:
    """Each candidate's P(Sick) from the ingredients and the chosen ensemble weights."""
    return {
        "baseline": p["baseline"],
        "cnn": p["cnn"],
        "default": (p["cnn"] + p["baseline"]) / 2,
        "cnn_l2": p["cnn_l2"],
        "ens_w": w["ens_w"] * p["cnn"] + (1 - w["ens_w"]) * p["baseline"],
        "ens_w_l2": w["ens_w_l2"] * p["cnn_l2"] + (1 - w["ens_w_l2"]) * p["baseline"],
    }


def outer_fold(feats, bfeats, df, tr, te, seed) -> pd.DataFrame:
    """One outer fold: inner OOF -> weights and thresholds; refit on tr; predict te."""
    sub = df.iloc[tr].reset_index(drop=True)
    oof = {k: np.zeros(len(tr)) for k in ("baseline", "cnn", "cnn_l2")}
    for a, b in folds(sub, 4, seed):
        for k, v in parts(feats, bfeats, df, tr[a], tr[b], seed).items():
            oof[k][b] = v
    w = {}
    for name, cnn in (("ens_w", "cnn"), ("ens_w_l2", "cnn_l2")):
        mixes = {x: x * oof[cnn] + (1 - x) * oof["baseline"] for x in WEIGHTS}
        w[name] = max(WEIGHTS, key=lambda x: auc_key(sub, mixes[x]))
    inner = candidates(oof, w)
    thr = {k: T.choose_threshold(sub["y"], v) for k, v in inner.items()}
    outer = candidates(parts(feats, bfeats, df, tr, te, seed), w)
    rows = df.iloc[te][["patient_id", "path", "y", "acquisition_batch", "acquisition_date"]]
    return pd.concat(
        [
            rows.assign(candidate=k, prob=v, threshold=thr[k], weight=w.get(k, np.nan))
            for k, v in outer.items()
        ]  # fmt: skip
    )


def score(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """AUC overall / main batch / period-matched with bootstrap intervals; sens/spec at thr."""
    pred = pred.reset_index(drop=True)
    masks = {"all": np.ones(len(pred), bool), "batch_a": main_batch(pred),
             "period": period_matched(pred).to_numpy()}  # fmt: skip
    out = {}
    for name, m in masks.items():
        part = pred[m]  # one row per woman; the library's patient bootstrap (stratified)
        ci = B.bootstrap_ci(part, 0.5, n_boot, seed)["roc_auc"]
        out[name] = (M.roc_auc(part["y"], part["prob"]), *ci, int(m.sum()))
    called = pred["prob"] >= pred["threshold"]
    c = M.get_counts(pred["y"], called.astype(int))
    out["sens"] = (M.sensitivity(c), *M.wilson_ci(c.tp, c.tp + c.fn))
    out["spec"] = (M.specificity(c), *M.wilson_ci(c.tn, c.tn + c.fp))
    return out


def run_nested(parts, df: pd.DataFrame, seeds, k: int = 5, inner: int = 4) -> pd.DataFrame:
    """Fixed candidates through the nested loop: `parts(tr, te, seed)` -> {name: P(Sick) of
    rows te from a fit on rows tr}; each candidate's threshold (sensitivity 0.90) is chosen on
    its inner out-of-fold predictions. One row per (seed, candidate, woman)."""
    rows, cols = [], ["patient_id", "path", "y", "acquisition_batch", "acquisition_date"]
    for seed in seeds:
        for fold, (tr, te) in enumerate(folds(df, k, seed)):
            sub = df.iloc[tr].reset_index(drop=True)
            oof: dict[str, np.ndarray] = {}
            for a, b in folds(sub, inner, seed):
                for name, v in parts(tr[a], tr[b], seed).items():
                    oof.setdefault(name, np.zeros(len(tr)))[b] = v
            for name, p in parts(tr, te, seed).items():
                thr = T.choose_threshold(sub["y"], oof[name])
                rows.append(df.iloc[te][cols].assign(candidate=name, prob=p, threshold=thr,
                                                     seed=seed, outer_fold=fold))  # fmt: skip
    return pd.concat(rows)


def candidate_args(doc: str) -> argparse.Namespace:
    """The command line of a candidate judged on these folds: --nested (this script's --out,
    where the cached features live) and --seeds (outer split seeds, 0-2)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--nested", type=Path, required=True, help="nested_default.py's --out")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    return parser.parse_args()


def date_drift(pred: pd.DataFrame) -> dict:
    """summarise()'s extra column: the Healthy women's date drift of P(Sick) in batch A."""
    return {"drift": healthy_date_drift(pred.reset_index(drop=True), "A", n_boot=0)["roc_auc"]}


def summarise(preds: pd.DataFrame, out: Path, extra=None) -> dict:
    """score() per seed, averaged per candidate (plus `extra(pred_of_one_seed)` columns);
    written to `out` as JSON and printed as a table."""
    results = {}
    for name, pred in preds.groupby("candidate"):
        per_seed = [{**score(p), **(extra(p) if extra else {})} for _, p in pred.groupby("seed")]
        results[name] = {k: np.mean([s[k] for s in per_seed], axis=0).round(3).tolist()
                         for k in per_seed[0]}  # fmt: skip
    out.write_text(json.dumps(results, indent=1))
    cols = [c for c in next(iter(results.values())) if c not in ("weights",)]
    print(pd.DataFrame({k: {m: v[m][0] if isinstance(v[m], list) else v[m] for m in cols}
                        for k, v in results.items()}).T.to_string())  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    df = cohort(args.out)
    paths = df["path"].tolist()
    feats = cached(args.out / "features_default.npy", lambda: frozen_features(TrainConfig(), paths))
    bfeats = cached(args.out / "baseline_features.pkl", lambda: feature_table(paths))
    for seed in args.seeds:
        target = args.out / f"nested_seed{seed}.csv"
        if target.exists():
            continue
        preds = [outer_fold(feats, bfeats, df, tr, te, seed).assign(outer_fold=k)
                 for k, (tr, te) in enumerate(folds(df, args.folds, seed))]  # fmt: skip
        pd.concat(preds).to_csv(target, index=False)
        print(f"seed {seed} done", flush=True)
    all_preds = pd.concat(
        [pd.read_csv(args.out / f"nested_seed{s}.csv").assign(seed=s) for s in args.seeds]
    )
    results = {}
    for name, pred in all_preds.groupby("candidate"):
        per_seed = [score(p) for _, p in pred.groupby("seed")]
        results[name] = {k: np.mean([s[k] for s in per_seed], axis=0).round(3).tolist()
                         for k in per_seed[0]}  # fmt: skip
        w = pred.groupby(["seed", "outer_fold"])["weight"].first().dropna()
        if len(w):
            results[name]["weights"] = w.tolist()
    (args.out / "nested_summary.json").write_text(json.dumps(results, indent=1))
    print(pd.DataFrame({k: {m: v[m][0] if isinstance(v[m], list) else v[m]
                            for m in ("all", "batch_a", "period", "sens", "spec")}
                        for k, v in results.items()}).T.to_string())  # fmt: skip


if __name__ == "__main__":
    main()
