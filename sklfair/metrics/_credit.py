"""Credit risk metrics per group, and their gaps between groups.

How a lender judges a probability-of-default (PD) model, group by group:

- :func:`~sklfair.metrics.gini` (``2 * AUC - 1``) and
  :func:`~sklfair.metrics.ks_statistic` (the largest distance between the
  score distributions of the events and the non-events) measure how well
  the score ranks (:mod:`sklfair.metrics._ranking`);
- :func:`~sklfair.metrics.expected_calibration_error` and
  :func:`~sklfair.metrics.calibration_by_group` measure whether a predicted
  10% risk is a 10% risk (:mod:`sklfair.metrics._calibration`); the Brier
  score is scikit-learn's :func:`~sklearn.metrics.brier_score_loss` (use it
  as it is in a ``MetricFrame`` or a scorer);
- here, :func:`risk_metrics_by_group` puts them in one table, one row per
  group, and :func:`group_gap` is the gap of any of them between groups.

The metrics have the signature ``metric(y_true, y_score, *,
sample_weight=None, pos_label=None, ...)``, so they work in fairlearn's
:class:`~fairlearn.metrics.MetricFrame` and in
:func:`sklearn.metrics.make_scorer` (``response_method="predict_proba"``).
``y_score`` is the score, or the probability, of the class ``pos_label``
names (1 by default): for a PD model with ``y = 1`` for a default, the
predicted probability of default.

A metric that needs both classes (Gini, KS) is NaN on rows of one class
only, and so is a gap involving such a group: the value is undefined, not
zero. The tables and :func:`group_gap` compute the groups' values with a
direct loop over the groups, checking the inputs once, rather than through
a ``MetricFrame`` (the same values, without its per-call and per-row
overhead), and accept ``sample_weight``, so resampling counts can be passed
as weights. The intervals of the groups' values and of the gaps
(``risk_metrics_by_group(confidence=...)``,
:func:`~sklfair.metrics.group_gap_interval`) compute every resample at once
(:mod:`sklfair.metrics._credit_bootstrap`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ._bootstrap import as_generator
from ._calibration import _brier, _ece
from ._credit_bootstrap import bootstrap_group_metrics, gap_ends, gaps_of_values
from ._credit_inputs import (
    check_bins,
    checked_inputs,
    group_masks,
    subset,
)
from ._gap_bootstrap import group_quantiles
from ._intervals import check_confidence, check_n_boot
from ._ranking import _gini, _ks

__all__ = [
    "risk_metrics_by_group",
    "group_gap",
    "CREDIT_METRICS",
    "resolve_metric",
    "check_gap_method",
]

_METHODS = ("between_groups", "to_overall")


def _mean(values, w):
    if values.size == 0 or (w is not None and w.sum() == 0):
        return float("nan")
    return float(np.average(values, weights=w))


def _observed_rate(events, prob, w):
    return _mean(events, w)


def _mean_predicted(events, prob, w):
    return _mean(prob, w)


def risk_metrics_by_group(
    y_true,
    y_prob,
    *,
    sensitive_features,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    pos_label=None,
    confidence=None,
    n_boot=1000,
    random_state=None,
):
    """The risk metrics of a PD model, one row per group.

    The values of fairlearn's :class:`~fairlearn.metrics.MetricFrame`
    ``by_group`` for these metrics: the rows, the observed rate of the event
    and the mean predicted probability (equal for a model calibrated in the
    large), :func:`gini`, :func:`ks_statistic`, the Brier score
    (:func:`sklearn.metrics.brier_score_loss`) and
    :func:`expected_calibration_error`.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_prob : array-like of shape (n_samples,)
        Predicted probability of the class ``pos_label``, in [0, 1].
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    n_bins : int, default=10
        Number of bins of the expected calibration error.
    strategy : {"uniform", "quantile"}, default="uniform"
        Binning of the expected calibration error.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, for every metric.
    pos_label : label, default=None
        The class ``y_prob`` is the probability of (the event, e.g. default).
        Needed when the labels are not {0, 1} or {-1, 1}; 1 otherwise.
    confidence : float, default=None
        When given, each group's Gini, KS, Brier score and expected
        calibration error get a stratified percentile bootstrap interval at
        this level (the resamples of :func:`group_gap_interval`, one set for
        the four metrics): columns ``<metric>_low`` and ``<metric>_high``.
    n_boot : int, default=1000
        Number of bootstrap resamples (with ``confidence``).
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (index name ``"group"``), with columns ``count``,
        ``observed_rate``, ``mean_predicted``, ``gini``, ``ks_statistic``,
        ``brier_score`` and ``expected_calibration_error`` (each of the
        last four followed by ``_low`` and ``_high`` with ``confidence``).
        The gap of a column between groups is ``table[col].max() -
        table[col].min()``, or :func:`group_gap`; with its interval,
        :func:`group_gap_interval`. With ``confidence``,
        ``attrs["gaps"]`` holds the gaps of the four metrics with their
        intervals from the same resamples (columns ``gap``, ``gap_low``,
        ``gap_high``, indexed by ``metric``; groups whose weights are all 0
        left out, as :func:`group_gap` leaves them out), and
        ``attrs["confidence"]`` the level. A group whose weights are all 0
        has a row of NaN values.

    Examples
    --------
    >>> from sklfair.metrics import risk_metrics_by_group
    >>> y_true = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> y_prob = [0.1, 0.4, 0.35, 0.8, 0.2, 0.3, 0.6, 0.9]
    >>> table = risk_metrics_by_group(
    ...     y_true, y_prob, sensitive_features=list("aaaabbbb"))
    >>> table[["count", "observed_rate", "mean_predicted", "gini"]]
           count  observed_rate  mean_predicted  gini
    group
    a          4            0.5           0.4125   0.5
    b          4            0.5           0.5000   1.0
    """
    check_bins(n_bins, strategy)
    if confidence is not None:
        confidence = check_confidence(confidence)
        n_boot = check_n_boot(n_boot)
    events, prob, w = checked_inputs(
        y_true, y_prob, sample_weight, pos_label, "risk_metrics_by_group", True
    )
    kernels = {
        "observed_rate": _observed_rate,
        "mean_predicted": _mean_predicted,
        "gini": _gini,
        "ks_statistic": _ks,
        "brier_score": _brier,
        "expected_calibration_error": functools.partial(
            _ece, n_bins=n_bins, strategy=strategy
        ),
    }
    masks = group_masks(sensitive_features, events.size)
    table = pd.DataFrame(
        [
            {
                "count": int(rows.sum()),
                **{
                    name: kernel(events[rows], prob[rows], subset(w, rows))
                    for name, kernel in kernels.items()
                },
            }
            for _, rows in masks
        ],
        index=pd.Index([label for label, _ in masks], name="group"),
    )
    if confidence is not None:
        _add_intervals(
            table, events, prob, w, masks, confidence, n_boot, random_state, kernels
        )
    return table


def _add_intervals(table, events, prob, w, masks, confidence, n_boot, seed, kernels):
    """``<metric>_low``/``_high`` of the bootstrapped metrics, after each."""
    weights = np.ones(events.size) if w is None else w
    codes = np.zeros(events.size, dtype=np.int64)
    for code, (_, rows) in enumerate(masks):
        codes[rows] = code
    names = list(_BOOTSTRAPPED)
    resampled, _ = bootstrap_group_metrics(
        names,
        events,
        prob,
        weights,
        codes,
        len(masks),
        n_boot,
        as_generator(seed),
        kwargs=kernels["expected_calibration_error"].keywords,
    )
    # groups whose weights are all 0 are left out of the gaps, as group_gap
    # leaves them out
    weighted = np.bincount(codes, weights=weights, minlength=len(masks)) > 0
    gaps = []
    for name, values in zip(names, resampled, strict=True):
        low, high = group_quantiles(values, confidence)
        position = table.columns.get_loc(name) + 1
        table.insert(position, f"{name}_high", high)
        table.insert(position, f"{name}_low", low)
        observed = table[name].to_numpy()[weighted]
        values = values[:, weighted]
        gap = float(gaps_of_values(observed, None, "between_groups"))
        ends = gap_ends(observed, None, values, None, "between_groups", confidence)
        gaps.append([gap, *ends])
    table.attrs["gaps"] = pd.DataFrame(
        gaps,
        index=pd.Index(names, name="metric"),
        columns=["gap", "gap_low", "gap_high"],
    )
    table.attrs["confidence"] = confidence


# the columns of risk_metrics_by_group that get bootstrap intervals
_BOOTSTRAPPED = ("gini", "ks_statistic", "brier_score", "expected_calibration_error")

#: Metric names accepted by :func:`group_gap`: (function, needs probabilities).
CREDIT_METRICS = {
    "gini": (_gini, False),
    "ks_statistic": (_ks, False),
    "brier_score": (_brier, True),
    "expected_calibration_error": (_ece, True),
}


def resolve_metric(metric):
    """``(kernel, needs probabilities, name)`` of a metric name or callable."""
    if isinstance(metric, str):
        try:
            func, probability = CREDIT_METRICS[metric]
        except KeyError:
            raise ValueError(
                f"Unknown metric {metric!r}; use one of {sorted(CREDIT_METRICS)} "
                "or a callable metric(y_true, y_score, sample_weight=None)."
            ) from None
        return func, probability, metric
    if callable(metric):
        name = getattr(metric, "__name__", None) or type(metric).__name__
        return metric, False, name
    raise TypeError(
        f"metric must be a metric name or a callable, got {type(metric).__name__}."
    )


def check_gap_method(method):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    return method


def group_gap(
    metric,
    y_true,
    y_score,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    pos_label=None,
    **kwargs,
):
    """Gap of a score metric between groups (largest minus smallest group value).

    The value of ``MetricFrame(...).difference(method=method)`` for the
    metric, except that a group where the metric is undefined (NaN, e.g. a
    Gini on a group without defaults) makes the gap NaN rather than being
    left out. Groups whose weights are all 0 are left out, so that
    resampling counts passed as ``sample_weight`` behave as resampled rows.
    Use it as a scorer with
    ``make_fairness_scorer(functools.partial(group_gap, "gini"),
    response_method="predict_proba")``.

    .. versionadded:: 0.1

    Parameters
    ----------
    metric : str or callable
        ``"gini"``, ``"ks_statistic"``, ``"brier_score"``,
        ``"expected_calibration_error"``, or a callable
        ``metric(y_true, y_score, sample_weight=None, **kwargs)``, called
        on each group's rows with 0/1 labels (1 for ``pos_label``).
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the class ``pos_label``.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        ``"between_groups"``: the largest minus the smallest group value;
        ``"to_overall"``: the largest absolute difference between a group's
        value and the value on all rows.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, passed to the metric.
    pos_label : label, default=None
        The class ``y_score`` scores. Needed when the labels are not {0, 1}
        or {-1, 1}; 1 otherwise.
    **kwargs
        Passed to the metric (e.g. ``n_bins=`` of the calibration error).

    Returns
    -------
    float
        The gap, in the metric's unit (>= 0); NaN when the metric is
        undefined on a group.

    See Also
    --------
    group_gap_interval : the gap with its bootstrap confidence interval.
    risk_metrics_by_group : every metric per group.
    fairlearn.metrics.MetricFrame.difference : the same gap, NaN groups left out.

    Examples
    --------
    >>> from sklfair.metrics import group_gap
    >>> y_true = [0, 0, 1, 1, 0, 0, 1, 1]
    >>> y_prob = [0.1, 0.4, 0.35, 0.8, 0.2, 0.3, 0.6, 0.9]
    >>> group_gap("gini", y_true, y_prob, sensitive_features=list("aaaabbbb"))
    0.5
    """
    func, probability, name = resolve_metric(metric)
    check_gap_method(method)
    events, score, w = checked_inputs(
        y_true, y_score, sample_weight, pos_label, f"group_gap({name!r})", probability
    )
    masks = group_masks(sensitive_features, events.size)

    if isinstance(metric, str):
        # the unchecked kernels: the inputs were checked once above

        def value(rows):
            return func(events[rows], score[rows], subset(w, rows), **kwargs)

    else:

        def value(rows):
            if w is None:
                return func(events[rows], score[rows], **kwargs)
            return func(events[rows], score[rows], sample_weight=w[rows], **kwargs)

    values = []
    for _, rows in masks:
        if w is not None and w[rows].sum() == 0:
            continue
        values.append(float(value(rows)))
    values = np.asarray(values)
    if np.isnan(values).any():
        return float("nan")
    if values.size == 0:
        return 0.0
    if method == "between_groups":
        return float(values.max() - values.min())
    overall = float(value(slice(None)))
    return float(np.max(np.abs(values - overall)))
