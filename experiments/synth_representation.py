"""Is the demo CNN's gap to the baseline a matter of too few women, or of what the frozen
body encodes? (issue 17, item 5; synthetic women only)

On the demo's synthetic cohort the default CNN head stays below the classical baseline
(`synth_cnn_vs_baseline.py`: 0.866 against 0.946 on 96 women). This draws a larger cohort of
new synthetic women with the demo's generator and image size (a seed the demo does not use),
holds out 200 of them, and trains each model on 72, 300 and 600 of the rest (3 draws each):

- `cnn`: the default head (`fit_head`) on the frozen ImageNet lite0 features of the default
  input (`TrainConfig()`: the asymmetry map);
- `cnn_temperature`: the same on the temperature channel (`TrainConfig(channels=("temperature",))`);
- `input_stats`: a logistic regression on three numbers of the default input itself, the
  prepared maps of `prepared_maps(TrainConfig(), ...)`: the mean |A|, |mean of A over the
  left half| and the mean A^2, where A is the map minus its mirror (the asymmetry channel);
- `baseline`: `fit_linear_baseline` (18 breast statistics), and `default`: the mean of `cnn`
  and `baseline`, the served model.

Reading, stated before the run: if `cnn` reaches the baseline with 600 women, the demo's gap is
the demo's size; if `input_stats` reaches it with 72 women while `cnn` does not with 600, the
signal is in the CNN's input and the frozen body's pooled features do not carry it.

    .venv/bin/python experiments/synth_representation.py --out /tmp/synth_rep
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from thermocad.evaluation.metrics import roc_auc
from thermocad.models.baseline import feature_table, fit_linear_baseline
from thermocad.synth.cohort import generate_cohort
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, frozen_features, prepared_maps
from thermocad.utils.tables import markdown_table

CNN_INPUTS = {"cnn": TrainConfig(), "cnn_temperature": TrainConfig(channels=("temperature",))}


def cohort(out: Path, n: int, seed: int) -> pd.DataFrame:
    """A synthetic cohort at the demo's image size: one row per woman with path and y."""
    labels = generate_cohort(out / "data", n_patients=n, seed=seed, height=120, width=160,
                             force=True)  # fmt: skip
    df = pd.read_csv(labels)
    df["path"] = [str(next(labels.parent.glob(f"T{int(p):04d}*"))) for p in df["patient_id"]]
    df["y"] = (df["diagnosis"] == "Sick").astype(int)
    return df


def input_stats(paths: list[str]) -> np.ndarray:
    """(n, 3): mean |A|, |mean of A over the left half|, mean A^2 of the default input."""
    _, maps = prepared_maps(TrainConfig(), paths)
    a = maps - maps[:, :, ::-1]
    half = a.shape[2] // 2
    return np.stack([np.abs(a).mean((1, 2)), np.abs(a[:, :, :half].mean((1, 2))),
                     (a**2).mean((1, 2))], axis=1)  # fmt: skip


def probabilities(df, feats, stats, bfeats, tr, te, seed) -> dict[str, np.ndarray]:
    y = df["y"].to_numpy()
    p = {k: fit_head(x[tr], y[tr], x[te], TrainConfig(seed=seed)) for k, x in feats.items()}
    lr = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    p["input_stats"] = lr.fit(stats[tr], y[tr]).predict_proba(stats[te])[:, 1]
    base = fit_linear_baseline(df.iloc[tr], bfeats)
    p["baseline"] = base.predict(bfeats.loc[df["path"].iloc[te]])
    p["default"] = (p["cnn"] + p["baseline"]) / 2
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=800, help="synthetic women drawn")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (the demo's is 0)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[72, 300, 600])
    parser.add_argument("--test", type=int, default=200, help="held-out women")
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args()
    df = cohort(args.out, args.n, args.seed)
    paths = df["path"].tolist()
    feats = {k: frozen_features(cfg, paths) for k, cfg in CNN_INPUTS.items()}
    stats, bfeats = input_stats(paths), feature_table(paths)
    order = np.random.default_rng(0).permutation(len(df))
    te, pool = order[: args.test], order[args.test :]
    y_te = df["y"].to_numpy()[te]
    rows = []
    for size in args.sizes:
        aucs: dict[str, list[float]] = {}
        for draw in range(args.draws):
            tr = np.random.default_rng(draw).choice(pool, size, replace=False)
            for k, p in probabilities(df, feats, stats, bfeats, tr, te, draw).items():
                aucs.setdefault(k, []).append(roc_auc(y_te, p))
        rows.append([size, *(float(np.mean(v)) for v in aucs.values())])
        print(dict(zip(["training women", *aucs], rows[-1], strict=True)), flush=True)
    print(f"\nAUC on {args.test} held-out synthetic women, mean of {args.draws} draws")
    print(markdown_table(["training women", *aucs], rows))


if __name__ == "__main__":
    main()
