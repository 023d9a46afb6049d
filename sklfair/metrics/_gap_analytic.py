"""The analytic interval of a gap, from simultaneous per-pair or per-group intervals.

The gap over ``k`` groups is ``max - min`` of the group values; its interval
comes from a family of intervals that hold *simultaneously* (Šidák's
adjustment, :func:`sklfair.metrics._analytic.sidak`): the ``"pairs"`` of
groups (Newcombe, Welch) or the ``"groups"`` one by one (Wilson, Student's
t), whichever would be narrower at equal group values. Ratios use the
per-group family. The formulas themselves are in
:mod:`sklfair.metrics._analytic`; the per-group sums in
:mod:`sklfair.metrics._group_statistics`.
"""

from __future__ import annotations

import numpy as np

from . import _analytic as an
from ._group_statistics import combine

__all__ = [
    "analytic_gap",
    "group_value_intervals",
    "analytic_smallest_certifiable",
]


def _pair_intervals(stats, confidence, at=None):
    """Intervals of ``|value_a - value_b|`` for every pair of groups.

    ``at`` replaces the observed group values by one common value (for the
    smallest certifiable bound and the choice of family).
    """
    n_groups = len(stats.sum_w)
    a, b = np.triu_indices(n_groups, k=1)
    values = stats.values if at is None else np.full(n_groups, at)
    n = stats.effective_n
    if stats.rate.kind == "proportion":
        low, high = an.newcombe(
            values[a], n[a], values[b], n[b], an.z_value(confidence)
        )
    else:
        var = stats.variances
        low, high = an.welch(
            values[a], var[a], n[a], values[b], var[b], n[b], confidence
        )
    return an.fold_absolute(low, high)


def group_value_intervals(stats, confidence, at=None):
    """Per-group intervals of the rate at ``confidence`` (each on its own)."""
    values = stats.values if at is None else np.full(len(stats.sum_w), at)
    n = stats.effective_n
    if stats.rate.kind == "proportion":
        return an.wilson(values, n, an.z_value(confidence))
    low, high = an.mean_interval(values, stats.variances, n, confidence)
    if stats.rate.nonnegative:
        low = np.maximum(low, 0.0)
    return low, high


def _family_size(family, n_groups, n_rates):
    if family == "pairs":
        return n_rates * n_groups * (n_groups - 1) // 2
    return n_rates * n_groups


def _difference_interval(stats, family, confidence, at=None):
    """Interval of one rate's max - min over groups, from a simultaneous family.

    ``"pairs"``: the pairwise intervals of ``|a - b|`` (Newcombe or Welch),
    ``[max of their lows, max of their highs]``. ``"groups"``: the
    per-group intervals ``[L_g, U_g]`` (Wilson or t), ``[max L - min U,
    max U - min L]``. ``confidence`` is the per-comparison level.
    """
    if family == "pairs":
        low, high = _pair_intervals(stats, confidence, at=at)
        return low.max(), high.max()
    low, high = group_value_intervals(stats, confidence, at=at)
    return max(0.0, low.max() - high.min()), high.max() - low.min()


def _choose_family(all_stats, confidence):
    """The family whose interval would be narrower at equal group values.

    Decided from the groups' sizes (and, for means, their spreads) alone --
    at rate 0.5 for proportions, at the pooled mean for means -- never from
    the observed gap, so the choice does not bias the coverage. Pairwise
    intervals win for a few groups of similar sizes; per-group intervals
    for many groups or very unequal sizes (fewer comparisons to adjust for).
    """
    n_groups = len(all_stats[0].sum_w)
    widths = {}
    for family in ("pairs", "groups"):
        each = an.sidak(confidence, _family_size(family, n_groups, len(all_stats)))
        widths[family] = max(
            _difference_interval(
                stats,
                family,
                each,
                at=0.5 if stats.rate.kind == "proportion" else stats.pooled,
            )[1]
            for stats in all_stats
        )
    return "pairs" if widths["pairs"] <= widths["groups"] else "groups"


def analytic_gap(all_stats, kind, agg, confidence):
    """``(low, high, family)`` of a gap by the closed-form intervals."""
    n_groups = len(all_stats[0].sum_w)
    n_rates = len(all_stats)
    lows, highs = [], []
    if kind == "difference":
        family = _choose_family(all_stats, confidence)
        each = an.sidak(confidence, _family_size(family, n_groups, n_rates))
        for stats in all_stats:
            low, high = _difference_interval(stats, family, each)
            lows.append(low)
            highs.append(high)
    else:
        family = "groups"
        each = an.sidak(confidence, n_rates * n_groups)
        for stats in all_stats:
            if not stats.rate.nonnegative:
                lows.append(np.nan)
                highs.append(np.nan)
                continue
            low, high = group_value_intervals(stats, each)
            top = high.max()
            with np.errstate(divide="ignore", invalid="ignore"):
                lows.append(low.min() / top if top > 0 else np.nan)
                floor = low.max()
                highs.append(min(1.0, high.min() / floor) if floor > 0 else 1.0)
    low, high = combine(lows, kind, agg), combine(highs, kind, agg)
    return float(low), float(high), family


def analytic_smallest_certifiable(all_stats, agg, confidence, family):
    """Upper end of the difference's interval if every group had the pooled rate.

    The smallest bound a certificate could reach with these groups' sizes,
    for a model with the observed overall rates and no gap at all.
    """
    n_groups = len(all_stats[0].sum_w)
    each = an.sidak(confidence, _family_size(family, n_groups, len(all_stats)))
    highs = [
        _difference_interval(stats, family, each, at=stats.pooled)[1]
        for stats in all_stats
    ]
    return float(combine(highs, "difference", agg))
