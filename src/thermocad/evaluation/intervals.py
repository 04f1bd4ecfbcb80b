"""Intervals (pure functions): Wilson's for a proportion; for the bootstrap, figures fast
enough to compute on every replicate, the percentile interval of replicates some of which
leave a figure undefined, and the ROC AUC's BCa interval (auc_interval).

The fast figures are the point estimates' own definitions (average precision as scikit-learn
computes it, the Mann-Whitney AUC), computed without scikit-learn's input checks; the point
estimates themselves stay with metrics.py and calibration.py.
"""

from __future__ import annotations

import numpy as np

# A class with fewer women than this gives no bootstrap interval: drawing from 1-4 women of a
# class cannot show how the figure would vary with other women (1 woman: not at all).
MIN_PER_CLASS = 5

# An interval needs the figure defined in at least this share of the replicates: a replicate
# where it is undefined is dropped, and dropping more would leave percentiles of a biased few
# (the calibration slope, undefined where P(Sick) separates the classes, would lose exactly
# the replicates where it is largest).
MIN_DEFINED_SHARE = 0.95


def wilson_ci(successes: int, total: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion (scipy's, without continuity correction);
    (NaN, NaN) when total is 0."""
    from scipy.stats import binomtest

    if total == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(successes), int(total)).proportion_ci(method="wilson")
    return float(ci.low), float(ci.high)


def fast_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count half), fast enough for thousands of bootstrap replicates."""
    from scipy.stats import rankdata

    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fast_average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision (metrics.pr_auc's, scikit-learn's: tied scores form one step); NaN
    without both classes."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(p_sorted)), len(p_sorted) - 1]  # end of each tie
    tps = np.cumsum(y_sorted)[last]
    precision = tps / (last + 1)
    recall_step = np.diff(np.r_[0, tps]) / n_pos
    return float(np.sum(recall_step * precision))


def percentile_interval(values, alpha: float = 0.05) -> tuple[tuple[float, float], int]:
    """((low, high), how many replicates left the figure undefined): the percentile interval
    of the finite replicate `values`, or (NaN, NaN) when fewer than MIN_DEFINED_SHARE of them
    are finite."""
    v = np.asarray(values, float)
    finite = v[np.isfinite(v)]
    undefined = len(v) - len(finite)
    if not len(finite) or len(finite) < MIN_DEFINED_SHARE * len(v):
        return (float("nan"), float("nan")), undefined
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    return (float(np.percentile(finite, lo)), float(np.percentile(finite, hi))), undefined


def bca_interval(values, estimate: float, jackknife, alpha: float = 0.05
                 ) -> tuple[tuple[float, float], int]:  # fmt: skip
    """The bias-corrected and accelerated (BCa, Efron 1987) interval of the finite replicate
    `values` of a figure whose estimate is `estimate` and whose leave-one-woman-out values are
    `jackknife`: the percentile interval at levels moved for the replicates' bias (z0, from
    the share below the estimate) and skew (the acceleration, from the jackknife). As
    percentile_interval: ((low, high), undefined replicates), NaN with too few finite ones."""
    from scipy.stats import norm

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    v = np.asarray(values, float)
    finite = v[np.isfinite(v)]
    undefined = len(v) - len(finite)
    jack = np.asarray(jackknife, float)
    if (not len(finite) or len(finite) < MIN_DEFINED_SHARE * len(v) or not np.isfinite(estimate)
            or not np.isfinite(jack).all()):  # fmt: skip
        return (float("nan"), float("nan")), undefined
    below = (np.sum(finite < estimate) + 0.5 * np.sum(finite == estimate)) / len(finite)
    z0 = norm.ppf(np.clip(below, 1 / (2 * len(finite)), 1 - 1 / (2 * len(finite))))
    d = jack.mean() - jack
    spread = np.sum(d**2)
    accel = np.sum(d**3) / (6 * spread**1.5) if spread > 0 else 0.0
    z = norm.ppf([alpha / 2, 1 - alpha / 2])
    levels = norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.percentile(finite, 100 * levels)
    return (float(low), float(high)), undefined


def jackknife_auc(y: np.ndarray, x: np.ndarray, groups=None) -> np.ndarray:
    """The Mann-Whitney AUC of `x` with each woman left out in turn: each row, or each of
    `groups` (the row indices of one woman's images, all of one class). In O(n log n): a
    woman's rows take their own pairs out of the count (a Sick row's with the Healthy rows it
    beats, a Healthy row's with the Sick rows that beat it; ties half) and her class's size
    out of the denominator."""
    y, x = np.asarray(y).astype(bool), np.asarray(x, float)
    pos, neg = np.sort(x[y]), np.sort(x[~y])
    n_pos, n_neg = len(pos), len(neg)
    beaten = (np.searchsorted(neg, x, "left") + np.searchsorted(neg, x, "right")) / 2
    beating = n_pos - (np.searchsorted(pos, x, "left") + np.searchsorted(pos, x, "right")) / 2
    pairs = np.where(y, beaten, beating)  # each row's share of the Mann-Whitney count
    total = pairs[y].sum()
    groups = [[i] for i in range(len(y))] if groups is None else groups
    out = np.full(len(groups), np.nan)
    for k, rows in enumerate(groups):
        sick, n = bool(y[rows[0]]), len(rows)
        size = (n_pos - n) * n_neg if sick else n_pos * (n_neg - n)
        if size > 0:
            out[k] = (total - pairs[rows].sum()) / size
    return out


def auc_interval(y, x, replicates, groups=None, alpha: float = 0.05
                 ) -> tuple[tuple[float, float], int]:  # fmt: skip
    """The ROC AUC's interval from its patient-bootstrap `replicates`: BCa (bca_interval).
    In simulation (120 and 31 women, one score each, 1,000 replicates) it covered 93.6-96.2%
    where the percentile interval covered 90.6-94.5% (experiments/records/auc_interval_bca.md);
    fewer replicates make its ends noisier. `groups`: as jackknife_auc."""
    estimate = fast_auc(np.asarray(y), np.asarray(x, float))
    return bca_interval(replicates, estimate, jackknife_auc(y, x, groups), alpha)


def undefined_reason(name: str, undefined: int, n_boot: int) -> str:
    """Why a figure has no interval: undefined in too many of the `n_boot` replicates."""
    why = " (P(Sick) separates the classes there)" if name == "calibration_slope" else ""
    return (f"undefined in {undefined} of {n_boot} resamples{why}; an interval needs "
            f"{MIN_DEFINED_SHARE:.0%} of them defined")  # fmt: skip


def stratified_auc_replicates(
    y: np.ndarray, x: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> np.ndarray:
    """The Mann-Whitney AUC of `x` (higher = Sick; ties count half) in each of `n_boot`
    replicates that draw, with replacement, as many Sick and as many Healthy rows as there
    are (one row per woman): all replicates at once, ranked along each row."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    pos, neg = x[y == 1], x[y == 0]
    drawn_pos = pos[rng.integers(0, len(pos), (n_boot, len(pos)))]
    drawn_neg = neg[rng.integers(0, len(neg), (n_boot, len(neg)))]
    ranks = rankdata(np.hstack([drawn_pos, drawn_neg]), axis=1)
    n_pos, n_neg = len(pos), len(neg)
    return (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def paired_auc_difference(
    y, a, b, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, tuple[float, float]]:
    """AUC(a) - AUC(b) of two scores of the same women (one row per woman; higher = Sick),
    and its paired percentile interval (in simulation it covered 93.3-95.2%, BCa less:
    experiments/records/auc_interval_bca.md): each of `n_boot` replicates draws, with replacement,
    as many Sick and as many Healthy women as there are, and scores both on that one draw, so
    the interval is of the difference, not of two AUCs apart (stratified_auc_replicates with
    one seed draws the same women for both). NaN without both classes; the interval NaN with
    fewer than MIN_PER_CLASS women of a class, as every other bootstrap interval."""
    y, a, b = np.asarray(y, int), np.asarray(a, float), np.asarray(b, float)
    if not (y == 1).any() or not (y == 0).any():
        return float("nan"), (float("nan"), float("nan"))
    if min((y == 1).sum(), (y == 0).sum()) < MIN_PER_CLASS:
        return fast_auc(y, a) - fast_auc(y, b), (float("nan"), float("nan"))
    diffs = stratified_auc_replicates(y, a, n_boot, seed) - stratified_auc_replicates(
        y, b, n_boot, seed
    )
    return fast_auc(y, a) - fast_auc(y, b), percentile_interval(diffs, alpha)[0]
