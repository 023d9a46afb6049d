"""The credit metrics of every group, in every stratified bootstrap resample.

A Gini coefficient, a KS statistic or an expected calibration error is not a
sum over rows, so the per-group sums of :mod:`sklfair.metrics._bootstrap`
do not give it; but a resample is still only a count per row
(:func:`~sklfair.metrics._bootstrap.resample_row_counts`), and the weighted
metric with the counts as weights is the metric of the resampled rows. Here
the metrics are computed for a whole chunk of resamples at once, as matrix
operations on the count matrix (resamples x rows):

- Gini: the weighted Mann-Whitney form of :func:`~sklfair.metrics.gini`,
  with the rows sorted by score once and ties handled by blocks;
- KS: the two weighted cumulative distributions at the end of each block of
  tied scores;
- Brier score: a weighted mean;
- expected calibration error with uniform bins: the bins are fixed, and a
  bin's term ``w_b |o_b - p_b|`` is ``|sum of w (event - prob)|`` over its
  rows;
- anything else (quantile bins, a callable metric): the metric called once
  per resample with the counts as weights.
"""

from __future__ import annotations

import functools

import numpy as np

from ._analytic import fold_absolute
from ._bootstrap import resample_row_counts
from ._calibration import _brier, _ece
from ._gap_bootstrap import quantiles
from ._ranking import _gini, _ks

__all__ = [
    "bootstrap_group_metrics",
    "gap_ends",
    "gaps_of_values",
    "metric_caller",
]

# counts (resamples x rows) held at once
_CHUNK_ELEMENTS = 1 << 20


class _SortedRows:
    """One set of rows sorted by score, with where each distinct score starts.

    ``order`` is None when the rows come sorted already (the weights are
    then used as they are).
    """

    def __init__(self, events, score, presorted=False):
        self.order = None if presorted else np.argsort(score, kind="stable")
        self.events = events if presorted else events[self.order]
        self.score = score if presorted else score[self.order]
        n = self.score.size
        starts = np.flatnonzero(np.r_[True, self.score[1:] != self.score[:-1]])
        # without ties (a network's PD), every block is one row
        self.untied = starts.size == n
        self.starts = starts

    def weights(self, weights):
        """The (resamples x rows) weights, in the sorted order."""
        return weights if self.order is None else weights[:, self.order]


def _cumulative(values):
    """Cumulative sums along the rows, with a column of 0 in front."""
    out = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


def _rank_sums(rows, weights, shared):
    """Each resample's weight of events at each distinct score, and the
    cumulative weights of the events and of the others, in score order.

    Rows with the same score are merged first (their weights summed), so
    ties need no special case: the Gini counts half of the tied others and
    the KS compares the distributions after each distinct score. Computed
    once per group and chunk for the Gini and the KS (``shared``).
    """
    if "at_events" not in shared:
        w = rows.weights(weights)
        at_events = w * rows.events
        if not rows.untied:
            w = np.add.reduceat(w, rows.starts, axis=1)
            at_events = np.add.reduceat(at_events, rows.starts, axis=1)
        others = _cumulative(w)
        events = np.cumsum(at_events, axis=1)
        others[:, 1:] -= events  # others[:, i]: the others before score i
        shared.update(at_events=at_events, events=events, others=others)
    return shared["at_events"], shared["events"], shared["others"]


def _gini_many(rows, weights, shared=None):
    shared = {} if shared is None else shared
    at_events, events, others = _rank_sums(rows, weights, shared)
    n_events, n_others = events[:, -1], others[:, -1]
    # the others scoring below, plus half of those with the same score
    below = others[:, :-1] + others[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = 0.5 * np.einsum("bi,bi->b", at_events, below) / (n_events * n_others)
    return np.where((n_events > 0) & (n_others > 0), 2.0 * auc - 1.0, np.nan)


def _ks_many(rows, weights, shared=None):
    shared = {} if shared is None else shared
    _, events, others = _rank_sums(rows, weights, shared)
    others = others[:, 1:]
    n_events, n_others = events[:, -1:], others[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(events / n_events - others / n_others).max(axis=1)
    return np.where((n_events[:, 0] > 0) & (n_others[:, 0] > 0), gap, np.nan)


def _brier_many(rows, weights, shared=None):
    w = rows.weights(weights)
    total = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return w @ (rows.score - rows.events) ** 2 / total


def _uniform_ece_many(rows, weights, shared=None, *, n_bins=10):
    w = rows.weights(weights)
    total = w.sum(axis=1)
    # the bins of _calibration_bins: a score on an inner edge is in the lower bin
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], rows.score)  # non-decreasing: rows sorted
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    misses = np.add.reduceat(w * (rows.events - rows.score), starts, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(misses).sum(axis=1) / total


def _looped(func, events, score, weights, kwargs):
    """The metric once per resample, the resample's weights as sample weights."""
    return np.array([float(func(events, score, w, **kwargs)) for w in weights])


def _vectorized(name, kwargs):
    """The vectorized kernel of a named metric, or None."""
    if name == "gini":
        return _gini_many
    if name == "ks_statistic":
        return _ks_many
    if name == "brier_score":
        return _brier_many
    if name == "expected_calibration_error" and (
        kwargs.get("strategy", "uniform") == "uniform"
    ):
        n_bins = kwargs.get("n_bins", 10)
        return functools.partial(_uniform_ece_many, n_bins=n_bins)
    return None


#: The unvectorized kernels, ``kernel(events, score, w, **kwargs)``.
_KERNELS = {
    "gini": _gini,
    "ks_statistic": _ks,
    "brier_score": _brier,
    "expected_calibration_error": _ece,
}


def metric_caller(metric):
    """``func(events, score, w, **kwargs)`` of a metric name or a callable."""
    if isinstance(metric, str):
        return _KERNELS[metric]

    def call(events, score, w, **kwargs):
        return metric(events, score, sample_weight=w, **kwargs)

    return call


def gaps_of_values(values, overall, method):
    """The gap of group values (last axis); NaN where a group's value is.

    ``values`` has shape (..., n_groups); ``overall`` (the value on all
    rows, same leading shape) is used by ``method="to_overall"``.
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if method == "between_groups":
            gap = values.max(axis=-1) - values.min(axis=-1)
        else:
            gap = np.abs(values - np.asarray(overall)[..., None]).max(axis=-1)
    return np.where(np.isnan(values).any(axis=-1), np.nan, gap)


def gap_ends(values, overall, resampled, resampled_overall, method, confidence):
    """The interval of a gap from its resamples, ``(low, high)``.

    The percentile interval of a gap (largest minus smallest group value,
    or largest distance to the overall value) sits above 0 even when the
    groups do not differ, as no resampled gap is negative. So, as the
    analytic intervals fold the interval of a difference ``d`` into one of
    ``|d|``: the percentile interval of the *signed* difference of the
    observed extreme pair (the largest and the smallest group, or the group
    farthest from the overall value and the overall value) is folded, which
    gives the lower end -- the gap is at least that pair's distance -- and
    the upper end, raised to the percentile upper end of the gap itself
    when other pairs could make the gap larger (more than two groups).

    ``values`` (n_groups,) and ``overall`` are the observed values,
    ``resampled`` (n_boot, n_groups) and ``resampled_overall`` (n_boot,) the
    resampled ones.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.isnan(values).any():
        return np.nan, np.nan
    if method == "between_groups":
        top, bottom = int(np.argmax(values)), int(np.argmin(values))
        signed = resampled[:, top] - resampled[:, bottom]
    else:
        far = int(np.argmax(np.abs(values - overall)))
        signed = resampled[:, far] - resampled_overall
    low, high = quantiles(signed, confidence)
    if np.isnan(low):
        return np.nan, np.nan
    low, high = (float(end) for end in fold_absolute(low, high))
    if values.size > 2 or method == "to_overall":
        whole = quantiles(
            gaps_of_values(resampled, resampled_overall, method), confidence
        )
        high = max(high, whole[1])
    return low, high


def bootstrap_group_metrics(
    metrics,
    events,
    score,
    weights,
    codes,
    n_groups,
    n_boot,
    rng,
    *,
    overall=False,
    kwargs=None,
):
    """Each group's value of each metric, in stratified bootstrap resamples.

    Parameters
    ----------
    metrics : list of str or callable
        Names of :data:`~sklfair.metrics._credit.CREDIT_METRICS`, or
        callables ``metric(y_true, y_score, sample_weight=None, **kwargs)``.
    events, score : ndarray of shape (n_rows,)
        0/1 events and the checked scores.
    weights : ndarray of shape (n_rows,)
        Sample weights (ones when unweighted).
    codes : ndarray of int of shape (n_rows,)
        Group code of each row, in ``[0, n_groups)``.
    n_groups, n_boot : int
    rng : numpy.random.Generator
    overall : bool, default=False
        Also the value on all rows of each resample.
    kwargs : dict, default=None
        Passed to every metric (e.g. ``n_bins``).

    Returns
    -------
    by_group : list of ndarray of shape (n_boot, n_groups)
        One per metric; NaN where the metric is undefined in a resample
        (e.g. a Gini on a resample of a group without events).
    on_all : list of ndarray of shape (n_boot,) or None
        One per metric when ``overall``.
    """
    kwargs = {} if kwargs is None else kwargs
    # rows by group, then by score: each group is a sorted slice
    order = np.lexsort((score, codes))
    events, score, weights, codes = (a[order] for a in (events, score, weights, codes))
    bounds = np.searchsorted(codes, np.arange(n_groups + 1))
    members = [slice(bounds[g], bounds[g + 1]) for g in range(n_groups)]
    sorted_rows = [
        _SortedRows(events[rows], score[rows], presorted=True) for rows in members
    ]
    everything = _SortedRows(events, score) if overall else None
    unweighted = bool(np.all(weights == 1.0))
    kernels = [
        _vectorized(metric if isinstance(metric, str) else None, kwargs)
        for metric in metrics
    ]
    funcs = [metric_caller(metric) for metric in metrics]
    by_group = [np.full((n_boot, n_groups), np.nan) for _ in metrics]
    on_all = [np.full(n_boot, np.nan) for _ in metrics] if overall else None
    chunks = resample_row_counts(
        codes, n_groups, n_boot, rng, chunk_rows=_CHUNK_ELEMENTS
    )
    for start, stop, counts in chunks:
        resampled = counts.astype(np.float64)
        if not unweighted:
            resampled *= weights
        shared = [{} for _ in members]  # per group: what the kernels share
        shared_all = {}
        for m, (kernel, func) in enumerate(zip(kernels, funcs, strict=True)):
            for g, rows in enumerate(members):
                if rows.stop == rows.start:
                    continue
                w = resampled[:, rows]
                if kernel is not None:
                    values = kernel(sorted_rows[g], w, shared[g])
                else:
                    values = _looped(func, events[rows], score[rows], w, kwargs)
                by_group[m][start:stop, g] = values
            if overall:
                if kernel is not None:
                    on_all[m][start:stop] = kernel(everything, resampled, shared_all)
                else:
                    on_all[m][start:stop] = _looped(
                        func, events, score, resampled, kwargs
                    )
    return by_group, on_all
