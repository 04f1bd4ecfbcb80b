"""What can the pre-registered new-women check decide? (issue 17; records/new_women_power.md)

No model is chosen here. The rule written for the next new women (records/next_steps.md):
default_theta replaces the default if its period-matched AUC is at least the default's + 0.03
and its specificity at its stored threshold is at least the default's. This script asks how
often that rule would fire, and how noisy its AUC clause is, on checks of the 154 unseen
women's size and larger, if new women behaved like the 120 development women's nested
outer predictions (`dimensionless_temperature.py`'s nested_theta.csv: every woman scored by
both models, each with its inner-chosen threshold).

A simulated check draws women with replacement within five groups (batch-A Healthy imaged
outside / inside the shared period, batch-A Sick inside / outside it, batch-B Sick) in the
120's proportions, scaled to N women; both models score the same draw (a paired comparison).

    .venv/bin/python experiments/new_women_power.py --nested /tmp/nested
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.evaluation import metrics as M
from thermocad.evaluation.periods import period_matched

MARGIN = 0.03
SIZES = (154, 308, 616, 1232)
MODELS = ("default", "default_theta")


def groups(women: pd.DataFrame) -> np.ndarray:
    """Each woman's group: batch x diagnosis x inside the shared period."""
    inside = period_matched(women).to_numpy()
    return (women["acquisition_batch"].astype(str) + "_" + women["y"].astype(str)
            + "_" + np.where(inside, "in", "out")).to_numpy()  # fmt: skip


def draw(group: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a check of about `n` women, each group scaled from its share."""
    out = []
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        k = max(1, round(n * len(rows) / len(group)))
        out.append(rng.choice(rows, k, replace=True))
    return np.concatenate(out)


def endpoints(y, prob, thr, inside) -> tuple[float, float]:
    """Period-matched AUC, and specificity at the stored thresholds over every Healthy woman."""
    healthy = y == 0
    return M.roc_auc(y[inside], prob[inside]), float(np.mean(prob[healthy] < thr[healthy]))


def simulate(one_seed: pd.DataFrame, n: int, n_draws: int, rng) -> dict:
    """The rule's clauses over `n_draws` simulated checks of `n` women (one outer seed)."""
    wide = {m: one_seed[one_seed["candidate"] == m].set_index("path") for m in MODELS}
    women = wide["default"]
    theta = wide["default_theta"].loc[women.index]
    group, y = groups(women.reset_index()), women["y"].to_numpy()
    inside = np.array([g.endswith("_in") for g in group])
    d_auc, spec_ok = [], []
    for _ in range(n_draws):
        i = draw(group, n, rng)
        auc_d, spec_d = endpoints(y[i], women["prob"].to_numpy()[i],
                                  women["threshold"].to_numpy()[i], inside[i])  # fmt: skip
        auc_t, spec_t = endpoints(y[i], theta["prob"].to_numpy()[i],
                                  theta["threshold"].to_numpy()[i], inside[i])  # fmt: skip
        d_auc.append(auc_t - auc_d)
        spec_ok.append(spec_t >= spec_d)
    d_auc, spec_ok = np.array(d_auc), np.array(spec_ok)
    return {"n": n, "n_period": int(round(n * inside.mean())), "mean_diff": d_auc.mean(),
            "sd_diff": d_auc.std(), "p_auc_clause": np.mean(d_auc >= MARGIN),
            "p_auc_clause_null": np.mean(d_auc - d_auc.mean() >= MARGIN),
            "p_spec_clause": spec_ok.mean(), "p_adopt": np.mean((d_auc >= MARGIN) & spec_ok)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nested", type=Path, required=True, help="where nested_theta.csv is")
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    preds = pd.read_csv(args.nested / "nested_theta.csv")
    rng = np.random.default_rng(0)
    rows = [{"seed": seed, **simulate(p, n, args.draws, rng)}
            for seed, p in preds.groupby("seed") for n in SIZES]  # fmt: skip
    table = pd.DataFrame(rows).groupby("n").mean().drop(columns="seed").round(3)
    print(table.to_string())
    table.to_csv(args.nested / "new_women_power.csv")


if __name__ == "__main__":
    main()
