"""Confidence intervals for the gaps between groups: :func:`fairness_interval`.

A gap such as the demographic parity difference is computed from a sample of
people; on new applicants it will differ. :func:`fairness_interval` says by
how much it may, as an interval at a stated confidence, in one of two ways:

``method="analytic"``
    Closed-form intervals (:mod:`sklfair.metrics._analytic`). The gap over
    ``k`` groups is ``max - min`` of the group values, and its interval
    comes from a family of intervals that hold *simultaneously* with the
    stated confidence (Šidák's adjustment: each member at
    ``confidence ** (1 / m)`` for ``m`` members), one of two:

    - ``"pairs"``: for each of the ``k (k - 1) / 2`` pairs of groups, the
      interval of their difference -- Newcombe's hybrid score interval for
      proportions, Welch's for means -- folded to ``|a - b|``; the gap lies
      in ``[max of the lower ends, max of the upper ends]``;
    - ``"groups"``: for each group, the interval of its value (Wilson's
      score interval, Student's t); the gap lies in
      ``[max low - min high, max high - min low]``.

    The family whose interval would be narrower at equal group values (rate
    0.5) is used: a decision from the group sizes alone, which therefore
    keeps the coverage. Pairs win for a few groups of similar sizes (for two
    groups the interval is Newcombe's); groups for many groups or very
    unequal sizes. Equalized odds is the larger of the true and false
    positive rates' gaps, so its family counts both rates' members. Ratios
    (smallest over largest group value) use the per-group family:
    ``[min low / max high, min high / max low]``. With ``sample_weight``,
    Kish's effective size ``(sum w)^2 / sum w^2`` of each group stands for
    its number of rows.

``method="bootstrap"``
    A stratified percentile bootstrap: each group's rows -- or, for rates
    conditioned on the true label (true/false positive rates), each group's
    rows of that label -- are resampled with replacement, keeping their
    number, ``n_boot`` times. Vectorized: a rate only depends on weighted
    counts, so a resample is a draw of counts
    (:mod:`sklfair.metrics._bootstrap`), never a copy of the rows.

Both are intervals for the *between-groups* gap (largest minus smallest
group value, or smallest over largest), the definition the constraints of
:mod:`sklfair.constraints` bound.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length

from .._sensitive import encode_groups
from ._analytic import sidak
from ._base import binarize, check_groups, column
from ._bootstrap import as_generator
from ._gap_analytic import (
    analytic_gap,
    analytic_smallest_certifiable,
    group_value_intervals,
)
from ._gap_bootstrap import (
    bootstrap_smallest_certifiable,
    bootstrap_values,
    group_quantiles,
    quantiles,
)
from ._group_statistics import combine, gap_of_rate, group_statistics
from ._rates import GAP_METRICS, RATES, undefined_rates, warn_undefined_rates
from ._weights import drop_weightless, weights_or_ones

__all__ = [
    "FairnessInterval",
    "fairness_interval",
    "gap_interval",
    "group_intervals",
    "worst_gap_interval",
]

#: The interval's two ends, as :func:`scipy.stats.bootstrap` names them.
ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class FairnessInterval:
    """A gap between groups, with its confidence interval.

    Returned by :func:`fairness_interval`; not meant to be created by hand.
    The names follow :func:`scipy.stats.bootstrap` (``low``, ``high``,
    ``confidence_interval``, ``bootstrap_distribution``) and fairlearn
    (``n_boot``, ``by_group``).

    .. versionadded:: 0.2

    Attributes
    ----------
    metric : str
        The gap's name, e.g. ``"demographic_parity_difference"``.
    estimate : float
        The gap on the given rows (the value of the metric function of the
        same name in :mod:`sklfair.metrics`).
    low, high : float
        The interval's ends.
    confidence : float
        Its confidence level (two-sided: each end errs with probability
        about ``(1 - confidence) / 2``).
    method : {"analytic", "bootstrap"}
        How it was computed.
    group_sizes : pandas.Series
        Number of rows per group (unweighted).
    by_group : pandas.DataFrame
        One row per group and rate compared: the rate ``value``, its own
        interval ``low``/``high`` (at ``confidence``, not adjusted for the
        number of groups) and the ``effective_n`` it rests on (the rows of
        the rate's event -- e.g. the group's positives for a true positive
        rate -- or their Kish size when weighted).
    smallest_certifiable_bound : float
        For a difference: the upper end the interval would have if every
        group had the pooled rate -- the smallest bound that a model with
        these overall rates could certify with these groups' sizes. NaN for
        ratios.
    family : {"pairs", "groups"} or None
        The simultaneous family of the analytic interval (see
        :mod:`sklfair.metrics._intervals`); None for the bootstrap.
    n_boot : int or None
        The number of resamples (bootstrap only).
    bootstrap_distribution : ndarray of shape (n_boot,) or None
        The gap in every resample (bootstrap only).
    """

    metric: str
    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    group_sizes: pd.Series
    by_group: pd.DataFrame
    smallest_certifiable_bound: float = np.nan
    family: str | None = None
    n_boot: int | None = None
    bootstrap_distribution: np.ndarray | None = None

    @property
    def confidence_interval(self):
        """``(low, high)`` as a named tuple, as in :func:`scipy.stats.bootstrap`."""
        return ConfidenceInterval(self.low, self.high)

    def __repr__(self):
        return (
            f"FairnessInterval(metric={self.metric!r}, estimate={self.estimate:.4g}, "
            f"low={self.low:.4g}, high={self.high:.4g}, "
            f"confidence={self.confidence:g}, method={self.method!r})"
        )


# --------------------------------------------------------------------------
# Validation shared with the report, the scorer and certify
# --------------------------------------------------------------------------


def check_confidence(confidence, name="confidence"):
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1 (e.g. 0.95), "
            f"got {confidence!r}."
        )
    return float(confidence)


def check_method(method):
    if method not in ("analytic", "bootstrap"):
        raise ValueError(f"method must be 'analytic' or 'bootstrap', got {method!r}.")
    return method


def check_n_boot(n_boot):
    if (
        isinstance(n_boot, bool)
        or not isinstance(n_boot, numbers.Integral)
        or n_boot < 1
    ):
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}.")
    return int(n_boot)


def gap_interval(
    metric,
    y_true,
    y_pred,
    codes,
    labels,
    weights,
    *,
    confidence,
    method,
    n_boot,
    rng,
    agg="worst_case",
    warn=True,
):
    """The interval of a gap from checked arrays (the engine of the public API).

    ``metric`` is a name of :data:`GAP_METRICS` or a ``(rate_names, kind)``
    pair (``kind`` "difference" or "ratio"); ``y_true``/``y_pred`` are 0/1
    (classification) or floats (regression), ``codes`` group codes in
    ``[0, len(labels))`` and ``weights`` floats; a group whose weights are
    all 0 is left out. ``warn=False`` keeps quiet about undefined rates.
    """
    if isinstance(metric, str):
        rate_names, kind = GAP_METRICS[metric]
    else:
        (rate_names, kind), metric = metric, f"{'/'.join(metric[0])} {metric[1]}"
    # a group of weight 0 has no rate: leave it out
    kept, weights, y_true, y_pred = drop_weightless(codes, weights, y_true, y_pred)
    if len(kept) < len(codes):
        present = np.unique(kept)
        codes, labels = np.searchsorted(present, kept), np.asarray(labels)[present]
    n_groups = len(labels)
    all_stats = [
        group_statistics(name, y_true, y_pred, codes, n_groups, weights)
        for name in rate_names
    ]
    if warn:
        note = ""
        if method == "analytic":
            note = " The analytic interval treats each as anywhere in [0, 1]."
        groups = np.asarray(labels)[codes]
        rates = undefined_rates(rate_names, y_true, groups, weights)
        warn_undefined_rates(metric, rates, note=note, stacklevel=3)
    estimate = float(
        combine([gap_of_rate(s.values, kind) for s in all_stats], kind, agg)
    )
    distribution = None
    family = None
    if method == "analytic":
        low, high, family = analytic_gap(all_stats, kind, agg, confidence)
        by_group = [group_value_intervals(stats, confidence) for stats in all_stats]
    else:
        resampled = [bootstrap_values(stats, n_boot, rng) for stats in all_stats]
        distribution = combine(
            [gap_of_rate(values, kind) for values in resampled], kind, agg
        )
        low, high = quantiles(distribution, confidence)
        by_group = [group_quantiles(values, confidence) for values in resampled]
    if np.isnan(estimate) or (
        kind == "ratio" and not all(st.rate.nonnegative for st in all_stats)
    ):  # a ratio of signed means has no meaning to bound
        low = high = np.nan
    smallest = np.nan
    if kind == "difference" and method == "analytic":
        smallest = analytic_smallest_certifiable(all_stats, agg, confidence, family)
    elif kind == "difference":
        smallest = bootstrap_smallest_certifiable(
            all_stats, agg, confidence, n_boot, rng
        )
    index = pd.Index(labels, name="group")
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "value": stats.values,
                    "low": low_high[0],
                    "high": low_high[1],
                    "effective_n": stats.effective_n,
                },
                index=index,
            )
            for stats, low_high in zip(all_stats, by_group, strict=True)
        ],
        keys=rate_names,
        names=["rate", "group"],
    )
    return FairnessInterval(
        metric=metric,
        estimate=estimate,
        low=low,
        high=high,
        confidence=confidence,
        method=method,
        group_sizes=pd.Series(
            np.bincount(codes, minlength=n_groups), index=index, name="count"
        ),
        by_group=table,
        smallest_certifiable_bound=smallest,
        family=family,
        n_boot=n_boot if method == "bootstrap" else None,
        bootstrap_distribution=distribution,
    )


def group_intervals(
    rate_name,
    y_true,
    y_pred,
    codes,
    n_groups,
    weights,
    *,
    confidence,
    method,
    n_boot,
    rng,
):
    """Per-group intervals of one rate: arrays ``(low, high)`` of length n_groups."""
    stats = group_statistics(rate_name, y_true, y_pred, codes, n_groups, weights)
    if method == "analytic":
        return group_value_intervals(stats, confidence)
    return group_quantiles(bootstrap_values(stats, n_boot, rng), confidence)


def prepare(metric, y_true, y_pred, sensitive_features, sample_weight, pos_label):
    """Checked 0/1 or float labels, group codes and labels, and weights."""
    if metric not in GAP_METRICS:
        raise ValueError(
            f"No interval for the metric {metric!r}; use one of {sorted(GAP_METRICS)}."
        )
    regression = RATES[GAP_METRICS[metric][0][0]].kind == "mean"
    if regression:
        y_true = column(y_true, "y_true").astype(np.float64)
        y_pred = column(y_pred, "y_pred").astype(np.float64)
        check_consistent_length(y_true, y_pred)
    else:
        y_true, y_pred = binarize(y_true, y_pred, pos_label=pos_label, func_name=metric)
        y_true = np.asarray(y_true).astype(np.float64)
        y_pred = np.asarray(y_pred).astype(np.float64)
        if pos_label is None and np.any(y_true < 0):  # {-1, 1} labels
            y_true = (y_true > 0).astype(np.float64)
            y_pred = (y_pred > 0).astype(np.float64)
    groups = check_groups(sensitive_features, len(y_true))
    codes, labels = encode_groups(groups)
    weights = weights_or_ones(sample_weight, len(y_true), "fairness_interval")
    return y_true, y_pred, codes, labels, weights


def fairness_interval(
    metric,
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="analytic",
    confidence=0.95,
    n_boot=1000,
    sample_weight=None,
    pos_label=None,
    agg="worst_case",
    random_state=None,
):
    """Confidence interval of a gap between groups, analytic or bootstrap.

    How far can the gap measured on these rows be from the gap on new rows
    from the same population? The interval answers at a stated confidence.
    Any number of groups; several columns of ``sensitive_features`` form
    intersectional groups. See the module docstring of
    :mod:`sklfair.metrics._intervals` and the user guide for the methods.

    .. versionadded:: 0.2

    Parameters
    ----------
    metric : str
        The gap: ``"demographic_parity_difference"``,
        ``"demographic_parity_ratio"``, ``"equalized_odds_difference"``,
        ``"equalized_odds_ratio"``, ``"equal_opportunity_difference"``,
        ``"equal_opportunity_ratio"``, ``"error_rate_difference"``,
        ``"error_rate_ratio"`` (binary classification),
        ``"mean_prediction_difference"``,
        ``"mean_absolute_error_difference"`` or
        ``"mean_squared_error_difference"`` (regression). Differences are
        largest minus smallest group value, ratios smallest over largest,
        as fairlearn's ``method="between_groups"``.
    y_true : array-like of shape (n_samples,)
        True labels or targets.
    y_pred : array-like of shape (n_samples,)
        Predicted labels or values.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"analytic", "bootstrap"}, default="analytic"
        Closed-form intervals (Newcombe / Welch with a Šidák adjustment over
        the pairs of groups; deterministic) or a stratified percentile
        bootstrap.
    confidence : float, default=0.95
        Confidence level of the (two-sided) interval.
    n_boot : int, default=1000
        Number of bootstrap resamples (``method="bootstrap"``).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: weighted rates, and Kish effective sizes in the
        analytic intervals.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.
    agg : {"worst_case", "mean"}, default="worst_case"
        For equalized odds: the larger of the true and false positive rate
        gaps (smaller ratio), or their mean, as in fairlearn.
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    FairnessInterval
        ``estimate``, ``low``, ``high``, ``confidence``, ``method``,
        ``group_sizes``, ``by_group`` and ``smallest_certifiable_bound``.

    Raises
    ------
    ValueError
        For an unknown metric or method, a confidence outside (0, 1), labels
        that do not fit the metric, or bad ``sensitive_features``.

    See Also
    --------
    certify : Whether held-out rows certify a bound on a gap.
    fairlearn.metrics.MetricFrame : ``n_boot``/``ci_quantiles`` bootstrap
        intervals of per-group metrics and their differences.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.metrics import fairness_interval
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=2000)
    >>> y_pred = (rng.random(2000) < np.where(group == "a", 0.5, 0.4)).astype(int)
    >>> result = fairness_interval(
    ...     "demographic_parity_difference", y_pred, y_pred,
    ...     sensitive_features=group)
    >>> result
    FairnessInterval(metric='demographic_parity_difference', estimate=0.1219, \
low=0.07821, high=0.165, confidence=0.95, method='analytic')
    >>> boot = fairness_interval(
    ...     "demographic_parity_difference", y_pred, y_pred,
    ...     sensitive_features=group, method="bootstrap", random_state=0)
    >>> bool(abs(boot.high - result.high) < 0.01)
    True
    """
    confidence = check_confidence(confidence)
    method = check_method(method)
    n_boot = check_n_boot(n_boot)
    if agg not in ("worst_case", "mean"):
        raise ValueError(f"agg must be 'worst_case' or 'mean', got {agg!r}.")
    y_true, y_pred, codes, labels, weights = prepare(
        metric, y_true, y_pred, sensitive_features, sample_weight, pos_label
    )
    return gap_interval(
        metric,
        y_true,
        y_pred,
        codes,
        labels,
        weights,
        confidence=confidence,
        method=method,
        n_boot=n_boot,
        rng=as_generator(random_state) if method == "bootstrap" else None,
        agg=agg,
    )


def worst_gap_interval(events, codes, labels, weights, *, confidence, **interval):
    """The interval of the largest gap over ``events`` (multi-class): the
    worst of several one-vs-rest rates' differences between groups.

    ``events`` are ``(name, rows of the event, decision indicator)``, each
    rate the share of the indicator among the event's rows.

    Each event's gap gets its interval at Šidák's level ``confidence ** (1 /
    m)`` for ``m`` events, so that all hold at once with ``confidence``; the
    largest gap then lies in ``[max of the lows, max of the highs]``, and
    the smallest certifiable bound is the largest of the events'. An event
    without rows in two groups has no gap and is left out.

    Returns
    -------
    worst : FairnessInterval
        The interval of the event with the highest upper end.
    ends : tuple of float
        ``(estimate, low, high, smallest certifiable bound)`` of the largest gap.
    """
    each = sidak(confidence, len(events))
    results = []
    for event, rows, decided in events:
        present = np.unique(codes[rows])
        if len(present) < 2:
            continue
        result = gap_interval(
            (("selection_rate",), "difference"),
            decided[rows].astype(np.float64),
            decided[rows].astype(np.float64),
            np.searchsorted(present, codes[rows]),
            np.asarray(labels)[present],
            weights[rows],
            confidence=each,
            warn=False,
            **interval,
        )
        results.append(dataclasses.replace(result, metric=event))
    if not results:
        raise ValueError(
            "certify cannot measure a gap: no rate of the constraint has rows in "
            "two groups or more."
        )
    worst = max(results, key=lambda r: r.high)
    ends = tuple(
        float(max(getattr(r, end) for r in results))
        for end in ("estimate", "low", "high", "smallest_certifiable_bound")
    )
    return worst, ends
