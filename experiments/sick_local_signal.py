"""Is there a local Sick signal in the real women that the generator lacks? (issue 17, item 5)

Left-right statistics of the chest box at the demo's 120 x 160 (smoothed signed differences,
above the folds and at them), Sick against Healthy in real batch A, its period-matched subset
and the default generator; which of them follow the acquisition date among Healthy women; and
whether the default CNN half's out-of-fold P(Sick) among Healthy women follows that drift.
Protocol and reading: records/sick_local_signal.md. An inspection: nothing is chosen.

    .venv/bin/python experiments/sick_local_signal.py --out /tmp/sick_local --theta   # 1 min
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

from dimensionless_temperature import cnn_theta_features, room
from nested_default import cached, cohort, folds, head_sgd
from thermocad.evaluation import metrics as M
from thermocad.evaluation.periods import period_matched
from thermocad.io.thermal import read_thermal
from thermocad.models.baseline import chest_region, mirrored_halves
from thermocad.preprocess.regions import remove_marker
from thermocad.preprocess.resize import resize
from thermocad.synth.cohort import DIFFICULTIES, synth_patient
from thermocad.training.config import TrainConfig
from thermocad.training.features import frozen_features
from thermocad.utils.tables import markdown_table

SIZE = (120, 160)  # the demo's rendering size
UPPER, LOWER = (0.15, 0.70), (0.70, 1.0)  # rows of the chest box: the breasts, the folds


def signed_difference(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left half minus the mirrored right half of the chest box (C), and where both are skin."""
    a = remove_marker(np.asarray(array, np.float32))
    mask, (top, bottom, left, right) = chest_region(a)
    lhs, rhs, lmask, rmask = mirrored_halves(
        a[top:bottom, left:right], mask[top:bottom, left:right]
    )
    both = lmask & rmask
    return np.where(both, lhs - rhs, 0.0), both


def smoothed(d: np.ndarray, both: np.ndarray, s: float) -> np.ndarray:
    """D smoothed over skin only (normalised by the smoothed mask); 0 off the skin."""
    weight = gaussian_filter(both.astype(float), s)
    return np.where(both, gaussian_filter(d, s) / np.maximum(weight, 1e-3), 0.0)


def rows(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    h = x.shape[0]
    return x[int(band[0] * h) : int(band[1] * h)]


def statistics(array: np.ndarray) -> dict[str, float]:
    d, both = signed_difference(array)
    out = {}
    for s in (1, 2, 4):
        ds = np.abs(smoothed(d, both, s))
        upper, skin = rows(ds, UPPER), rows(both, UPPER)
        out[f"up_max_{s}"] = float(upper.max())
        out[f"up_p95_{s}"] = float(np.percentile(upper[skin], 95)) if skin.any() else np.nan
        out[f"low_max_{s}"] = float(rows(ds, LOWER).max())
        out[f"mean_{s}"] = float(ds[both].mean())
    spot = np.abs(smoothed(d, both, 2) - smoothed(d, both, 8))
    out["spot"] = float(rows(spot, UPPER).max())
    return out


def real_table(out: Path) -> pd.DataFrame:
    df = cohort(out)
    stats = pd.DataFrame([statistics(resize(read_thermal(p).array, SIZE)) for p in df["path"]])
    rooms = [room(read_thermal(p).array) for p in df["path"]]
    return pd.concat([df, stats.set_index(df.index)], axis=1).assign(room=rooms)


def synthetic_table(n: int = 300, seed: int = 21) -> pd.DataFrame:
    d, out = DIFFICULTIES["default"], []
    for i in range(n):
        sick = i % 5 < 2  # 40% Sick
        image = synth_patient(np.random.default_rng([seed, i + 1]), sick, *SIZE, d)[0]
        out.append({**statistics(image[("frontal", 1)]), "y": int(sick)})
    return pd.DataFrame(out)


def cnn_out_of_fold(df: pd.DataFrame, out: Path, seeds=(0, 1, 2), theta: bool = False):
    """The default CNN half's out-of-fold P(Sick), 5 folds per split seed, mean over seeds;
    `theta`: on the maps in room-relative units (records/dimensionless_temperature.md)."""
    paths = df["path"].tolist()
    if theta:
        feats = cached(out / "cnn_theta.npy", lambda: cnn_theta_features(paths))
    else:
        feats = cached(out / "cnn_features.npy", lambda: frozen_features(TrainConfig(), paths))
    probs = np.zeros((len(seeds), len(df)))
    for i, seed in enumerate(seeds):
        for tr, te in folds(df, 5, seed):
            probs[i, te] = head_sgd(feats, df, tr, te, seed)
    return probs.mean(axis=0)


def auc_table(real: pd.DataFrame, synth: pd.DataFrame, names: list[str]) -> str:
    a = real[real["acquisition_batch"] == "A"]
    pm = a[period_matched(a)]
    healthy = a[a["y"] == 0]
    late = period_matched(a)[a["y"] == 0].astype(int)
    body = [
        [name, f"{M.roc_auc(a['y'], a[name]):.3f}", f"{M.roc_auc(pm['y'], pm[name]):.3f}",
         f"{M.roc_auc(synth['y'], synth[name]):.3f}",
         f"{M.roc_auc(late, healthy[name]):.3f}",
         f"{spearmanr(healthy['room'], healthy[name]).statistic:+.2f}"]
        for name in names
    ]  # fmt: skip
    head = ["statistic", f"real batch A (n={len(a)})", f"period-matched (n={len(pm)})",
            f"synthetic (n={len(synth)})", f"Healthy: shared period vs before ({late.sum()} / "
            f"{len(late) - late.sum()})", "Healthy: rho with the room"]  # fmt: skip
    return markdown_table(head, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="cache folder (features)")
    parser.add_argument("--theta", action="store_true", help="also the CNN half on theta")
    args = parser.parse_args()
    real, synth = real_table(args.out), synthetic_table()
    names = [c for c in synth.columns if c != "y"]
    print("AUC of each statistic alone (Sick against Healthy; last two columns: Healthy only)")
    print(auc_table(real, synth, names))
    a = real[real["acquisition_batch"] == "A"]
    late = period_matched(a)[a["y"] == 0].astype(int)
    print(
        f"The room alone: Sick against Healthy in batch A {M.roc_auc(a['y'], a['room']):.3f}, "
        f"Healthy shared period against before {M.roc_auc(late, a[a['y'] == 0]['room']):.3f}"
    )
    p = cnn_out_of_fold(real, args.out)
    a = (real["acquisition_batch"] == "A").to_numpy()
    healthy = a & (real["y"] == 0).to_numpy()
    print(f"\nCNN half out of fold: AUC batch A {M.roc_auc(real['y'][a], p[a]):.3f}")
    for name in names:
        rho = spearmanr(p[healthy], real[name][healthy]).statistic
        print(f"Healthy batch A: Spearman rho of the CNN's P(Sick) with {name}: {rho:+.2f}")
    rho = spearmanr(p[healthy], real["room"][healthy]).statistic
    print(f"Healthy batch A: Spearman rho of the CNN's P(Sick) with the room: {rho:+.2f}")
    if args.theta:
        q = cnn_out_of_fold(real, args.out, theta=True)
        rho = spearmanr(q[healthy], real["room"][healthy]).statistic
        print(
            f"The CNN half on theta: AUC batch A {M.roc_auc(real['y'][a], q[a]):.3f}, "
            f"Spearman rho with the room among Healthy women {rho:+.2f}"
        )


if __name__ == "__main__":
    main()
