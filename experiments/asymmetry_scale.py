"""The asymmetry channel in degrees (centred at 0, 1 C = 1 unit) instead of through the
temperature channel's normalisation? (issue 17; protocol in records/asymmetry_scale.md)

    .venv/bin/python experiments/asymmetry_scale.py --out /tmp/asym --nested /tmp/nested
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np
import torch

from nested_default import baseline, cached, cohort, head_sgd, run_nested, summarise
from synth_cnn_vs_baseline import cv_aucs, demo_cohort
from thermocad.models.baseline import feature_table
from thermocad.models.registry import create_model
from thermocad.training.config import TrainConfig
from thermocad.training.features import prepared_maps
from thermocad.training.recipe import body_features


def degrees(maps: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) relative-window maps -> their left-right difference in degrees C."""
    cfg = TrainConfig()
    return (maps - maps.flip(-1)) * cfg.norm_width


def both_features(paths: list[str]) -> dict[str, np.ndarray]:
    """Frozen lite0 features of the default prepared maps, today's input and the new one."""
    cfg = TrainConfig()
    transform, maps = prepared_maps(cfg, paths)
    model = create_model(cfg.arch, cfg.pretrained, 1, 2, cfg.weights)
    index = {p: i for i, p in enumerate(dict.fromkeys(paths))}
    rows = [index[p] for p in paths]
    return {"today": body_features(model, maps, transform.finish, 16).numpy()[rows],
            "degrees": body_features(model, maps, degrees, 16).numpy()[rows]}  # fmt: skip


def synthetic_check(out: Path) -> dict:
    df = demo_cohort(out)
    paths = df["path"].tolist()
    return cv_aucs(df, both_features(paths), feature_table(paths))


def parts(feats, bfeats, df, tr, te, seed) -> dict[str, np.ndarray]:
    base = baseline(bfeats, df, tr, te, seed)
    cnn = head_sgd(feats["today"], df, tr, te, seed)
    deg = head_sgd(feats["degrees"], df, tr, te, seed)
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "cnn_deg": deg, "default_deg": (deg + base) / 2}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--nested", type=Path, required=True, help="nested_default.py's --out")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--synthetic-only", action="store_true")
    args = parser.parse_args()
    syn = synthetic_check(args.out)
    print("demo cohort, 5-fold CV AUC:", syn, flush=True)
    if args.synthetic_only or syn["degrees"] <= syn["today"]:
        return
    df = cohort(args.nested)
    paths = df["path"].tolist()
    feats = both_features(paths)
    assert np.allclose(feats["today"], np.load(args.nested / "features_default.npy"), atol=1e-4)
    bfeats = cached(args.nested / "baseline_features.pkl", lambda: feature_table(paths))
    preds = run_nested(partial(parts, feats, bfeats, df), df, args.seeds)
    preds.to_csv(args.out / "nested_degrees.csv", index=False)
    summarise(preds, args.out / "nested_summary.json")


if __name__ == "__main__":
    main()
