"""How often does the patient bootstrap's 95% AUC interval hold the true AUC? (issue 17)

Every AUC interval thermocad reports is the percentile interval of the class-stratified
patient bootstrap (`stratified_auc_replicates`, `percentile_interval`). A reviewer's
simulation found it covering less than 95% at high AUC. This measures it: binormal scores
(Healthy N(0, 1), Sick N(d, 1): true AUC Phi(d / sqrt 2)) for the 120 development women's
class sizes (49 Sick, 71 Healthy) and the period-matched subset's (16 Sick, 15 Healthy);
each of `--reps` cohorts gets its interval from `--boot` resamples, as the report computes it.
The command of its record (experiments/records/bootstrap_coverage.md):

    .venv/bin/python experiments/bootstrap_coverage.py --reps 2000 --boot 1000

and, both intervals from the same replicates (experiments/records/auc_interval_bca.md):

    .venv/bin/python experiments/bootstrap_coverage.py --reps 2000 --boot 1000 --methods percentile bca

and of the paired AUC difference of two scores of the same women:

    .venv/bin/python experiments/bootstrap_coverage.py --paired --reps 2000 --boot 1000 --methods percentile bca
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import norm

from thermocad.evaluation.intervals import (
    auc_interval,
    bca_interval,
    fast_auc,
    jackknife_auc,
    percentile_interval,
    stratified_auc_replicates,
)
from thermocad.utils.tables import markdown_table

SETTINGS = ((49, 71, 0.95), (49, 71, 1.8), (49, 71, 2.65), (16, 15, 0.75), (16, 15, 1.4))


def coverage(n_sick: int, n_healthy: int, d: float, reps: int, boot: int, seed: int,
             method: str = "percentile") -> dict:  # fmt: skip
    """Share of simulated cohorts whose interval holds the true AUC, and where it misses;
    `method`: percentile or bca, from the same replicates (the same draws for both)."""
    rng = np.random.default_rng([seed, n_sick, int(d * 100)])
    y = np.r_[np.ones(n_sick, int), np.zeros(n_healthy, int)]
    estimates, bounds = [], []
    for r in range(reps):
        x = np.r_[rng.normal(d, 1, n_sick), rng.normal(0, 1, n_healthy)]
        estimates.append(fast_auc(y, x))
        replicates = stratified_auc_replicates(y, x, boot, r)
        bounds.append((auc_interval(y, x, replicates) if method == "bca"
                       else percentile_interval(replicates))[0])  # fmt: skip
    true = float(norm.cdf(d / np.sqrt(2)))
    return {"interval": method, "women (Sick / Healthy)": f"{n_sick} / {n_healthy}",
            "true AUC": f"{true:.3f}", "mean estimate": f"{np.mean(estimates):.3f}",
            **_misses(true, bounds, "true AUC")}  # fmt: skip


def _misses(true: float, bounds: list[tuple[float, float]], what: str) -> dict:
    """Coverage, the share of intervals above and below `true`, and their mean width."""
    low, high = np.array(bounds).T
    below, above = float(np.mean(true < low)), float(np.mean(true > high))
    return {
        "coverage": f"{1 - below - above:.3f}",
        f"{what} below the interval": f"{below:.3f}",
        "above it": f"{above:.3f}",
        "mean width": f"{np.mean(high - low):.3f}",
    }


PAIRED = ((49, 71, 1.8, 1.8, 0.7), (49, 71, 2.65, 1.8, 0.7), (49, 71, 1.8, 0.95, 0.5),
          (16, 15, 1.4, 1.4, 0.7), (16, 15, 2.0, 1.4, 0.6))  # fmt: skip


def paired_coverage(n_sick: int, n_healthy: int, da: float, db: float, rho: float, reps: int,
                    boot: int, seed: int, method: str = "percentile") -> dict:  # fmt: skip
    """As coverage, for AUC(a) - AUC(b) of two scores of the same women (bivariate normal
    within each class, correlation `rho`), both AUCs' replicates on the same draws."""
    rng = np.random.default_rng([seed, n_sick, int(da * 100), int(db * 100), int(rho * 10)])
    y = np.r_[np.ones(n_sick, int), np.zeros(n_healthy, int)]
    true = float(norm.cdf(da / np.sqrt(2)) - norm.cdf(db / np.sqrt(2)))
    cov = [[1, rho], [rho, 1]]
    bounds = []
    for r in range(reps):
        x = np.r_[rng.multivariate_normal([da, db], cov, n_sick),
                  rng.multivariate_normal([0, 0], cov, n_healthy)]  # fmt: skip
        a, b = x[:, 0], x[:, 1]
        diffs = stratified_auc_replicates(y, a, boot, r) - stratified_auc_replicates(y, b, boot, r)
        if method == "bca":
            jack = jackknife_auc(y, a) - jackknife_auc(y, b)
            bounds.append(bca_interval(diffs, fast_auc(y, a) - fast_auc(y, b), jack)[0])
        else:
            bounds.append(percentile_interval(diffs)[0])
    return {"interval": method, "women (Sick / Healthy)": f"{n_sick} / {n_healthy}",
            "d_a, d_b, rho": f"{da}, {db}, {rho}", "true difference": f"{true:.3f}",
            **_misses(true, bounds, "true difference")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000, help="simulated cohorts per setting")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per cohort")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["percentile"],
                        choices=["percentile", "bca"], help="intervals to measure")  # fmt: skip
    parser.add_argument("--paired", action="store_true",
                        help="the paired AUC difference of two scores instead of one AUC")  # fmt: skip
    args = parser.parse_args()
    measure, settings = (paired_coverage, PAIRED) if args.paired else (coverage, SETTINGS)
    rows = [measure(*s, args.reps, args.boot, args.seed, m) for m in args.methods
            for s in settings]  # fmt: skip
    print(markdown_table(list(rows[0]), [list(r.values()) for r in rows]))


if __name__ == "__main__":
    main()
