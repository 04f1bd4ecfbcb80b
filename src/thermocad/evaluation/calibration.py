"""Calibration of P(Sick): intercept and slope by logistic recalibration (pure functions)."""

from __future__ import annotations

import numpy as np


def calibration_intercept_slope(y_true, prob, eps: float = 1e-6) -> tuple[float, float]:
    """Calibration intercept and slope (Van Calster et al. 2016); perfect is (0, 1).

    Intercept: calibration-in-the-large, `a` of logit P(y=1) = a + logit(prob) (slope fixed
    at 1): below 0, P(Sick) is too high on average; above 0, too low. Slope: `b` of logit
    P(y=1) = c + b * logit(prob): below 1, over-confident. Undefined (NaN) with one class, or
    when P(Sick) separates the classes, completely or with the classes meeting only at tied
    scores: the slope's unpenalised fit then has no finite solution (its numbers would only
    say where it stopped), so neither is reported."""
    if len(np.unique(np.asarray(y_true))) != 2:  # one class (or not a 0/1 label)
        return float("nan"), float("nan")
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y_true, float)
    p = np.clip(np.asarray(prob, float), eps, 1 - eps)
    if p[y == 1].min() >= p[y == 0].max() or p[y == 1].max() <= p[y == 0].min():
        return float("nan"), float("nan")
    logit = np.log(p / (1 - p))
    # Unpenalised fit: the recalibration slope must not be shrunk towards 0.
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(logit.reshape(-1, 1), y)
    return _intercept_with_offset(y, logit), float(model.coef_[0, 0])


def _intercept_with_offset(y: np.ndarray, offset: np.ndarray) -> float:
    """The maximum-likelihood `a` of logit P(y=1) = a + offset: the root of the score
    sum(y - expit(a + offset)), which falls monotonically in `a` and changes sign inside
    [-60, 60] when both classes are present and the offsets are logits of P(Sick) clipped to
    [1e-6, 1 - 1e-6] (|offset| < 14). Brent's method: no step to overshoot, as Newton's did
    from 0 when P(Sick) was far from the observed rate."""
    from scipy.optimize import brentq
    from scipy.special import expit

    return float(brentq(lambda a: float(np.sum(y - expit(a + offset))), -60.0, 60.0, xtol=1e-10))
