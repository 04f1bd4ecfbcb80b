"""Calibrate the generator's Sick-breast warming against the real women (issue 17, item 5).

Protocol and rule: records/synth_calibration.md (written before the run). The target is the
median of the baseline's `asym_mean` (|mean of the left breast region - mean of the right|, C)
among the Sick women of batch A in the real data; the family is the default difficulty with
`sick_asymmetry = s x (0.4, 1.3)`; the chosen s is the one whose synthetic Sick median is
closest to the target. Only a summary of the real images is used, no model.

    .venv/bin/python experiments/synth_calibration.py --data ../shared/data/dmr-ir-frontal
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pandas as pd

import thermocad
from thermocad.evaluation.metrics import roc_auc
from thermocad.models.baseline import baseline_features, feature_table
from thermocad.synth.cohort import DIFFICULTIES, synth_patient
from thermocad.utils.tables import markdown_table

TODAY = (0.4, 1.3)  # the hand-tuned default warming the protocol scales (now calibrated)


def summary(asym: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"healthy_median": float(np.median(asym[y == 0])),
            "sick_median": float(np.median(asym[y == 1])), "auc": roc_auc(y, asym)}  # fmt: skip


def real_target(data: str) -> dict[str, float]:
    """`asym_mean` of the kept batch-A women of the real data, by class."""
    table = thermocad.prepare(data, f"{data}/labels.csv")
    kept = table[(table["excluded_reason"].fillna("") == "") & (table["acquisition_batch"] == "A")]
    asym = feature_table(kept["path"].tolist()).loc[kept["path"], "asym_mean"].to_numpy()
    return {"n": len(kept), **summary(asym, (kept["label"] == "Sick").to_numpy(int))}


def synthetic(scale: float, n: int, seed: int) -> dict[str, float]:
    """`asym_mean` of n in-memory synthetic women (40% Sick) with the warming scaled."""
    d = dataclasses.replace(DIFFICULTIES["default"], sick_asymmetry=(scale * TODAY[0],
                                                                     scale * TODAY[1]))  # fmt: skip
    sick = np.random.default_rng(seed).permutation(np.arange(n) < int(0.4 * n))
    asym = [baseline_features(synth_patient(np.random.default_rng([seed, i + 1]), bool(s), 120,
                                            160, d)[0][("frontal", 1)])["asym_mean"]
            for i, s in enumerate(sick)]  # fmt: skip
    return summary(np.asarray(asym), sick.astype(int))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the real data folder (with labels.csv)")
    parser.add_argument("--n", type=int, default=300, help="synthetic women per scale")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--scales", type=float, nargs="+",
                        default=[round(0.1 * k, 1) for k in range(2, 11)])  # fmt: skip
    args = parser.parse_args()
    target = real_target(args.data)
    print(f"real batch A ({target['n']} women): Healthy median {target['healthy_median']:.3f}, "
          f"Sick median {target['sick_median']:.3f}, AUC {target['auc']:.3f}", flush=True)  # fmt: skip
    rows = []
    for s in args.scales:
        rows.append({"scale": s, "warming (C)": f"{s * TODAY[0]:.2f}-{s * TODAY[1]:.2f}",
                     **synthetic(s, args.n, args.seed)})  # fmt: skip
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    best = table.loc[(table["sick_median"] - target["sick_median"]).abs().idxmin()]
    low, high = (round(v * best["scale"] / 0.05) * 0.05 for v in TODAY)
    print(markdown_table(list(table.columns), table.itertuples(index=False)))
    print(f"chosen: scale {best['scale']}, sick_asymmetry = ({low:.2f}, {high:.2f})")


if __name__ == "__main__":
    main()
