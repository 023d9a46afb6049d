"""The bootstrap interval of a gap: resampled group values and their quantiles.

A stratified percentile bootstrap: each group's rows of a rate's event are
resampled with replacement, keeping their number, ``n_boot`` times. The
resampling itself draws counts, never rows
(:mod:`sklfair.metrics._bootstrap`); here the resampled sums become group
values, gaps and quantiles.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._bootstrap import resample_group_sums
from ._group_statistics import combine, gap_of_rate

__all__ = [
    "bootstrap_values",
    "quantiles",
    "group_quantiles",
    "bootstrap_smallest_certifiable",
]


def bootstrap_values(stats, n_boot, rng):
    """Resampled group values of one rate, shape (n_boot, n_groups)."""
    sums = resample_group_sums(stats.codes, stats.rows, len(stats.sum_w), n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = sums[..., 1] / sums[..., 0]
    empty = sums[..., 0] <= 0
    fill = 0.0 if stats.rate.kind == "proportion" else np.nan
    return np.where(empty, fill, values)


def quantiles(distribution, confidence):
    """The percentile interval of a distribution (its finite values)."""
    alpha = 1.0 - confidence
    finite = distribution[np.isfinite(distribution)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def group_quantiles(values, confidence):
    """The percentile interval of each group's resampled values, ``(low, high)``."""
    alpha = 1.0 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups
        q = np.nanquantile(values, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return q[0], q[1]


def bootstrap_smallest_certifiable(all_stats, agg, confidence, n_boot, rng):
    """Upper end of the difference's bootstrap interval at equal group rates.

    Each group's value is drawn around the pooled rate with the group's
    (effective) size: the smallest bound a certificate could reach with
    these groups, for a model with no gap at all.
    """
    n_groups = len(all_stats[0].sum_w)
    gaps = []
    for stats in all_stats:
        n = stats.effective_n
        pooled = stats.pooled
        if stats.rate.kind == "proportion":
            size = np.maximum(np.round(n), 1).astype(np.int64)
            draws = rng.binomial(size, pooled, size=(n_boot, n_groups)) / size
            draws[:, n <= 0] = 0.0
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.sqrt(stats.variances / n)
            draws = rng.normal(pooled, np.nan_to_num(scale), size=(n_boot, n_groups))
        gaps.append(gap_of_rate(draws, "difference"))
    distribution = combine(gaps, "difference", agg)
    return quantiles(distribution, confidence)[1]
