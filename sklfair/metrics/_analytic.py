"""Closed-form confidence intervals for rates, means and their differences.

The formulas behind ``method="analytic"`` in :mod:`sklfair.metrics`, on
numpy arrays (one entry per group or per pair of groups), with no knowledge
of models, groups or labels:

- :func:`wilson` -- the Wilson score interval of a proportion;
- :func:`newcombe` -- Newcombe's hybrid score interval of a difference of
  two independent proportions (method 10 of Newcombe, 1998), built from the
  two Wilson intervals;
- :func:`mean_interval` and :func:`welch` -- Student's t interval of a mean
  and Welch's interval of a difference of two independent means;
- :func:`sidak` -- the per-comparison confidence that keeps ``m``
  comparisons simultaneously right with the stated confidence;
- :func:`kish` -- Kish's effective sample size of weighted rows, which
  stands in for the number of rows in every formula when rows are weighted;
- :func:`fold_absolute` -- from an interval of ``d`` to one of ``|d|``.

References
----------
R. G. Newcombe, "Interval estimation for the difference between independent
proportions: comparison of eleven methods", Statistics in Medicine 17 (1998),
873-890. E. B. Wilson, "Probable inference, the law of succession, and
statistical inference", JASA 22 (1927), 209-212. Z. Šidák, "Rectangular
confidence regions for the means of multivariate normal distributions", JASA
62 (1967), 626-633. L. Kish, Survey Sampling, Wiley (1965).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from scipy import stats

__all__ = [
    "z_value",
    "sidak",
    "kish",
    "wilson",
    "newcombe",
    "mean_interval",
    "welch",
    "fold_absolute",
]


def z_value(confidence):
    """The two-sided standard normal quantile of a confidence level."""
    return NormalDist().inv_cdf((1.0 + float(confidence)) / 2.0)


def sidak(confidence, n_comparisons):
    """Per-comparison confidence so that ``n_comparisons`` hold jointly.

    Šidák's correction: ``confidence ** (1 / n_comparisons)``. It is exact
    for independent comparisons and conservative for the two-sided
    comparisons of (asymptotically normal) estimates made here.
    """
    return float(confidence) ** (1.0 / max(int(n_comparisons), 1))


def kish(sum_weights, sum_squared_weights):
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 where empty).

    Equals the number of rows when every weight is the same.
    """
    sum_weights = np.asarray(sum_weights, dtype=np.float64)
    sum_squared_weights = np.asarray(sum_squared_weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(sum_squared_weights > 0, sum_weights**2 / sum_squared_weights, 0.0)
    return n


def wilson(p, n, z):
    """Wilson score interval of proportions ``p`` estimated from ``n`` rows.

    Parameters
    ----------
    p, n : array-like
        Observed proportions and (effective) sample sizes; ``n = 0`` gives
        the whole range ``[0, 1]``.
    z : float
        The normal quantile (see :func:`z_value`).

    Returns
    -------
    low, high : ndarray
        Always within ``[0, 1]`` and around ``p``.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n = np.asarray(n, dtype=np.float64)
    empty = n <= 0
    n = np.where(empty, 1.0, n)
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = np.where(empty, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty, 1.0, np.clip(centre + half, 0.0, 1.0))
    # the rounding of centre - half can put the bound a hair past p
    return np.minimum(low, np.where(empty, 0.0, p)), np.maximum(
        high, np.where(empty, 1.0, p)
    )


def newcombe(p1, n1, p2, n2, z):
    """Newcombe's hybrid score interval of ``p1 - p2`` (independent samples).

    ``low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``, where ``(l, u)`` are the
    Wilson intervals of each proportion at the same ``z``.

    Returns
    -------
    low, high : ndarray
        Within ``[-1, 1]`` and around ``p1 - p2``.
    """
    p1 = np.asarray(p1, dtype=np.float64)
    p2 = np.asarray(p2, dtype=np.float64)
    l1, u1 = wilson(p1, n1, z)
    l2, u2 = wilson(p2, n2, z)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


def _t_value(confidence, df):
    df = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(
            df > 0,
            stats.t.ppf((1.0 + confidence) / 2.0, np.where(df > 0, df, 1.0)),
            np.inf,
        )


def mean_interval(mean, variance, n, confidence):
    """Student's t interval of a mean from its sample variance and size.

    ``n <= 1`` (no estimate of the spread) gives an unbounded interval.
    """
    mean = np.asarray(mean, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    t = _t_value(confidence, n - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(n > 1, t * np.sqrt(np.maximum(variance, 0.0) / n), np.inf)
    return mean - half, mean + half


def welch(mean1, var1, n1, mean2, var2, n2, confidence):
    """Welch's interval of ``mean1 - mean2`` (Welch-Satterthwaite degrees).

    A group with ``n <= 1`` gives an unbounded interval.
    """
    n1 = np.asarray(n1, dtype=np.float64)
    n2 = np.asarray(n2, dtype=np.float64)
    ok = (n1 > 1) & (n2 > 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.maximum(var1, 0.0) / np.where(ok, n1, 1.0)
        b = np.maximum(var2, 0.0) / np.where(ok, n2, 1.0)
        denominator = a * a / np.where(ok, n1 - 1.0, 1.0) + b * b / np.where(
            ok, n2 - 1.0, 1.0
        )
        df = np.where(denominator > 0, (a + b) ** 2 / denominator, n1 + n2 - 2.0)
    t = _t_value(confidence, np.where(ok, df, 0.0))
    d = np.asarray(mean1, dtype=np.float64) - np.asarray(mean2, dtype=np.float64)
    half = np.where(ok, t * np.sqrt(a + b), np.inf)
    return d - half, d + half


def fold_absolute(low, high):
    """The interval of ``|d|`` implied by an interval ``[low, high]`` of ``d``."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    straddles = (low <= 0) & (high >= 0)
    folded_low = np.where(straddles, 0.0, np.minimum(np.abs(low), np.abs(high)))
    folded_high = np.maximum(np.abs(low), np.abs(high))
    return folded_low, folded_high
