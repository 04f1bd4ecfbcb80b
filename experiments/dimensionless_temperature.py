"""Temperatures as the dimensionless theta = (T - T_room) / (37 - T_room)? Nested estimate
(issue 17; protocol and rule in records/dimensionless_temperature.md).

    .venv/bin/python experiments/dimensionless_temperature.py --nested /tmp/nested
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nested_default import (
    baseline,
    cached,
    candidate_args,
    cohort,
    date_drift,
    head_sgd,
    run_nested,
    summarise,
)
from thermocad.io.thermal import read_thermal
from thermocad.models.baseline import feature_table
from thermocad.models.registry import create_model
from thermocad.preprocess.regions import room_temperature
from thermocad.training.config import TrainConfig
from thermocad.training.features import prepared_maps
from thermocad.training.recipe import body_features

T_CORE, REFERENCE = 37.0, 15.0  # 15 C = 37 C core - 22 C reference room


def room(array: np.ndarray) -> float:
    """The background's median temperature (`room_temperature`; the coldest pixel when the
    body fills the frame)."""
    value = room_temperature(array)
    return float(np.min(array)) if value is None else value


def theta_reader(path: str) -> np.ndarray:
    a = read_thermal(path).array.astype(np.float32)
    t_room = room(a)
    return REFERENCE * (a - t_room) / (T_CORE - t_room)


def cnn_theta_features(paths: list[str]) -> np.ndarray:
    cfg = TrainConfig()
    transform, maps = prepared_maps(cfg, paths)
    uniq = list(dict.fromkeys(paths))
    scale = np.array([REFERENCE / (T_CORE - room(read_thermal(p).array)) for p in uniq])
    model = create_model(cfg.arch, cfg.pretrained, 1, 2, cfg.weights)
    feats = body_features(model, (maps * scale[:, None, None]).astype(np.float32),
                          transform.finish, 16).numpy()  # fmt: skip
    index = {p: i for i, p in enumerate(uniq)}
    return feats[[index[p] for p in paths]]


def parts(f, df, tr, te, seed) -> dict[str, np.ndarray]:
    base, base_t = baseline(f["b"], df, tr, te, seed), baseline(f["b_theta"], df, tr, te, seed)
    cnn, cnn_t = head_sgd(f["cnn"], df, tr, te, seed), head_sgd(f["cnn_theta"], df, tr, te, seed)
    return {"baseline": base, "cnn": cnn, "default": (cnn + base) / 2,
            "baseline_theta": base_t, "cnn_theta": cnn_t,
            "default_theta": (cnn_t + base_t) / 2}  # fmt: skip


def main() -> None:
    args = candidate_args(__doc__)
    df = cohort(args.nested)
    paths = df["path"].tolist()
    out = args.nested
    f = {"cnn": np.load(out / "features_default.npy"),
         "b": cached(out / "baseline_features.pkl", lambda: feature_table(paths)),
         "cnn_theta": cached(out / "features_theta.npy", lambda: cnn_theta_features(paths)),
         "b_theta": cached(out / "baseline_features_theta.pkl",
                           lambda: feature_table(paths, reader=theta_reader))}  # fmt: skip
    preds = run_nested(partial(parts, f, df), df, args.seeds)
    preds.to_csv(out / "nested_theta.csv", index=False)

    summarise(preds, out / "theta_summary.json", date_drift)


if __name__ == "__main__":
    main()
