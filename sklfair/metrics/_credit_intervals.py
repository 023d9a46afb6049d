"""The confidence interval of a credit metric's gap between groups.

:func:`group_gap_interval` is to :func:`~sklfair.metrics.group_gap` (the
gap of a Gini coefficient, a KS statistic, a Brier score or an expected
calibration error between groups) what
:func:`~sklfair.metrics.fairness_interval` is to the fairness gaps: the gap
with a stratified bootstrap interval (the folded percentile interval of the
extreme groups' difference, see
:func:`~sklfair.metrics._credit_bootstrap.gap_ends`), returned as a
:class:`~sklfair.metrics.FairnessInterval`. Each group's rows are resampled
with replacement, keeping their number; a resample is a count per row
(:func:`~sklfair.metrics._bootstrap.resample_row_counts`, the resampling
of :func:`~sklfair.metrics.fairness_interval`), and the metrics of all the
resamples are computed at once from the counts
(:mod:`sklfair.metrics._credit_bootstrap`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._analytic import kish
from ._bootstrap import as_generator
from ._credit import check_gap_method, resolve_metric
from ._credit_bootstrap import (
    bootstrap_group_metrics,
    gap_ends,
    gaps_of_values,
    metric_caller,
)
from ._credit_inputs import checked_inputs, group_masks
from ._gap_bootstrap import group_quantiles
from ._intervals import FairnessInterval, check_confidence, check_n_boot

__all__ = ["group_gap_interval"]


def group_gap_interval(
    metric,
    y_true,
    y_score,
    *,
    sensitive_features,
    method="between_groups",
    confidence=0.95,
    n_boot=1000,
    sample_weight=None,
    pos_label=None,
    random_state=None,
    **kwargs,
):
    """Gap of a credit metric between groups, with its bootstrap interval.

    The gap is :func:`group_gap`'s; the interval is a stratified percentile
    bootstrap: each group's rows are resampled with replacement, keeping
    their number, ``n_boot`` times. As the analytic intervals of
    :func:`fairness_interval` fold the interval of a difference into one of
    its absolute value, the percentile interval of the signed difference
    between the observed extreme groups (the largest and the smallest; or
    the group farthest from the overall value, and the overall value) is
    folded: the gap is at least that pair's distance, and the interval
    reaches 0 when the pair's order is uncertain. With more than two
    groups, the upper end is raised to the percentile upper end of the
    resampled gaps, as another pair may make the gap larger. A resample is a count per
    row, passed to the weighted metric as weights, so nothing is copied;
    the Gini coefficient, KS statistic, Brier score and expected
    calibration error (uniform bins) of every resample are computed at
    once, other metrics once per resample. Resamples where the metric is
    undefined on a group (a Gini on a resample without a default) are left
    out of the interval.

    .. versionadded:: 0.2

    Parameters
    ----------
    metric : str or callable
        As for :func:`group_gap`: ``"gini"``, ``"ks_statistic"``,
        ``"brier_score"``, ``"expected_calibration_error"``, or a callable
        ``metric(y_true, y_score, sample_weight=None, **kwargs)`` that
        accepts weights.
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the class ``pos_label``.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        The gap, as in :func:`group_gap`.
    confidence : float, default=0.95
        Confidence level of the (two-sided) interval.
    n_boot : int, default=1000
        Number of bootstrap resamples.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; a resample multiplies them by its counts.
    pos_label : label, default=None
        The class ``y_score`` scores. Needed when the labels are not {0, 1}
        or {-1, 1}; 1 otherwise.
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.
    **kwargs
        Passed to the metric (e.g. ``n_bins=`` of the calibration error).

    Returns
    -------
    FairnessInterval
        ``estimate`` (the :func:`group_gap`), ``low``, ``high``,
        ``confidence``, ``method="bootstrap"``, ``n_boot``,
        ``bootstrap_distribution`` (the resampled gaps), ``group_sizes``
        and ``by_group``: each group's metric ``value`` with its own
        percentile interval ``low``/``high`` and ``effective_n`` (its rows,
        or their Kish size when weighted).

    See Also
    --------
    group_gap : the gap alone.
    risk_metrics_by_group : every metric per group, with ``confidence=``
        the groups' intervals.
    fairness_interval : the intervals of the fairness gaps.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.metrics import group_gap_interval
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat(["a", "b"], 500)
    >>> y = rng.integers(0, 2, 1000)
    >>> score = y * np.where(group == "a", 1.5, 0.5) + rng.normal(size=1000)
    >>> result = group_gap_interval(
    ...     "gini", y, score, sensitive_features=group, random_state=0)
    >>> round(result.estimate, 3), round(result.low, 3), round(result.high, 3)
    (0.525, 0.415, 0.627)
    >>> result.by_group.loc["gini", ["value", "low", "high"]].round(3)
           value    low   high
    group
    a      0.811  0.755  0.859
    b      0.285  0.190  0.383
    """
    _, probability, name = resolve_metric(metric)
    check_gap_method(method)
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    func_name = f"group_gap_interval({name!r})"
    events, score, w = checked_inputs(
        y_true, y_score, sample_weight, pos_label, func_name, probability
    )
    weights = np.ones(events.size) if w is None else w
    masks = group_masks(sensitive_features, events.size)
    # groups whose weights are all 0 are left out, as group_gap leaves them
    masks = [(label, rows) for label, rows in masks if weights[rows].sum() > 0]
    labels = [label for label, _ in masks]
    codes = np.full(events.size, -1, dtype=np.int64)
    for code, (_, rows) in enumerate(masks):
        codes[rows] = code
    kept = codes >= 0
    events, score, weights, codes = (a[kept] for a in (events, score, weights, codes))
    (resampled,), overall = bootstrap_group_metrics(
        [metric],
        events,
        score,
        weights,
        codes,
        len(labels),
        n_boot,
        as_generator(random_state),
        overall=method == "to_overall",
        kwargs=kwargs,
    )
    distribution = gaps_of_values(
        resampled, None if overall is None else overall[0], method
    )
    func = metric_caller(metric)

    def observed(rows):
        # unweighted as in group_gap: unit weights are not the same for every
        # metric (the quantile bins of the calibration error)
        row_weights = None if w is None else weights[rows]
        return float(func(events[rows], score[rows], row_weights, **kwargs))

    values = np.array([observed(codes == g) for g in range(len(labels))])
    # the gap of group_gap, from the same kernels
    on_all = None
    if overall is not None:
        on_all = observed(slice(None))
    estimate = float(gaps_of_values(values, on_all, method)) if labels else 0.0
    low, high = gap_ends(
        values,
        on_all,
        resampled,
        None if overall is None else overall[0],
        method,
        confidence,
    )
    group_low, group_high = group_quantiles(resampled, confidence)
    index = pd.Index(labels, name="group")
    sum_w = np.bincount(codes, weights=weights, minlength=len(labels))
    sum_w2 = np.bincount(codes, weights=weights**2, minlength=len(labels))
    by_group = pd.concat(
        [
            pd.DataFrame(
                {
                    "value": values,
                    "low": group_low,
                    "high": group_high,
                    "effective_n": kish(sum_w, sum_w2),
                },
                index=index,
            )
        ],
        keys=[name],
        names=["rate", "group"],
    )
    return FairnessInterval(
        metric=f"{name}_gap",
        estimate=float(estimate),
        low=low,
        high=high,
        confidence=confidence,
        method="bootstrap",
        group_sizes=pd.Series(
            np.bincount(codes, minlength=len(labels)), index=index, name="count"
        ),
        by_group=by_group,
        n_boot=n_boot,
        bootstrap_distribution=distribution,
    )
