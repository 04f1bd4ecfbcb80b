"""Calibration of P(Sick): intercept and slope by logistic recalibration (pure functions)."""

from __future__ import annotations

import numpy as np


def calibration_intercept_slope(y_true, prob, eps: float = 1e-6) -> tuple[float, float]:
    """Calibration intercept and slope (Van Calster et al. 2016); perfect is (0, 1).

    Intercept: calibration-in-the-large, `a` of logit P(y=1) = a + logit(prob) (slope fixed
    at 1): below 0, P(Sick) is too high on average; above 0, too low. Slope: `b` of logit
    P(y=1) = c + b * logit(prob): below 1, over-confident. Both are undefined (NaN) with one
    class; the slope also when P(Sick) separates the classes, completely or with the classes
    meeting only at tied scores: its unpenalised fit then has no finite solution (its numbers
    would only say where it stopped). The intercept, a fit with the slope held at 1, has one
    whenever both classes are present. The slope is the maximum-likelihood fit by Newton's
    method (`_newton_slope`, NaN if it fails to converge), the fit every bootstrap replicate
    makes, so the point estimate and its interval come from one fit: scikit-learn's lbfgs at
    its default tolerance stopped short of the maximum where the slope is steep (70.2 for
    134.6 where the classes nearly separate; 2e-3 of the slope on ordinary tables)."""
    if set(np.unique(np.asarray(y_true)).tolist()) != {0, 1}:  # one class, or not 0/1 labels
        return float("nan"), float("nan")
    return replicate_intercept_slope(y_true, prob, eps)


def _intercept_with_offset(y: np.ndarray, offset: np.ndarray) -> float:
    """The maximum-likelihood `a` of logit P(y=1) = a + offset: the root of the score
    sum(y - expit(a + offset)), which falls monotonically in `a` and changes sign inside
    [-60, 60] when both classes are present and the offsets are logits of P(Sick) clipped to
    [1e-6, 1 - 1e-6] (|offset| < 14). Brent's method: no step to overshoot, as Newton's did
    from 0 when P(Sick) was far from the observed rate."""
    from scipy.optimize import brentq
    from scipy.special import expit

    return float(brentq(lambda a: float(np.sum(y - expit(a + offset))), -60.0, 60.0, xtol=1e-10))


def _separated(y: np.ndarray, p: np.ndarray) -> bool:
    """P(Sick) separates the classes, completely or meeting only at tied scores."""
    return bool(p[y == 1].min() >= p[y == 0].max() or p[y == 1].max() <= p[y == 0].min())


def replicate_intercept_slope(y, prob, eps: float = 1e-6) -> tuple[float, float]:
    """`calibration_intercept_slope` for a bootstrap replicate, without its label check (a
    replicate holds both classes): the intercept by root-finding, the slope by Newton's method
    with step halving (the log-likelihood is concave and has a finite maximum when the classes
    overlap; NaN if it fails to converge), undefined in the same cases."""
    from scipy.special import logit as logit_of

    y = np.asarray(y, float)
    if y.min() == y.max():
        return float("nan"), float("nan")
    p = np.clip(np.asarray(prob, float), eps, 1 - eps)
    logit = logit_of(p)
    if _separated(y, p):
        return _intercept_with_offset(y, logit), float("nan")
    return _intercept_with_offset(y, logit), _newton_slope(y, logit)


def _newton_slope(y: np.ndarray, x: np.ndarray, max_iter: int = 100) -> float:
    """b of the maximum-likelihood fit logit P(y=1) = c + b * x (NaN without convergence)."""
    from scipy.special import expit

    def loglik(c: float, b: float) -> float:
        eta = c + b * x
        return float(np.sum(y * eta - np.logaddexp(0, eta)))

    c, b = 0.0, 1.0  # P(Sick) as it is: near the answer when it is roughly calibrated
    current = loglik(c, b)
    for _ in range(max_iter):
        mu = expit(c + b * x)
        w, r = mu * (1 - mu), y - mu
        h00, h01, h11 = w.sum(), (w * x).sum(), (w * x * x).sum()
        g0, g1, det = r.sum(), (r * x).sum(), h00 * h11 - h01 * h01
        if not det > 0:
            return float("nan")
        dc, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        while (new := loglik(c + dc, b + db)) < current - 1e-12 * abs(current):
            dc, db = dc / 2, db / 2  # a step that lowers the likelihood: halve it
            if max(abs(dc), abs(db)) < 1e-12:
                return float("nan")
        c, b, current = c + dc, b + db, new
        if max(abs(dc), abs(db)) < 1e-9 * (1 + abs(c) + abs(b)):
            return float(b) if np.isfinite(b) else float("nan")
    return float("nan")
