"""Credit risk metrics: Gini, KS, calibration, per group, and their gaps.

How a lender judges a probability-of-default (PD) model, group by group:

- :func:`gini` (``2 * AUC - 1``) and :func:`ks_statistic` (the largest
  distance between the score distributions of the events and the
  non-events) measure how well the score ranks;
- :func:`expected_calibration_error` and :func:`calibration_by_group`
  measure whether a predicted 10% risk is a 10% risk; the Brier score is
  scikit-learn's :func:`~sklearn.metrics.brier_score_loss` (use it as it is
  in a ``MetricFrame`` or a scorer);
- :func:`risk_metrics_by_group` puts them in one table, one row per group;
- :func:`group_gap` is the gap of any of them between groups.

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
overhead): a bootstrap calls :func:`group_gap` once per resample, and it
accepts ``sample_weight``, so resampling counts can be passed as weights.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length

from ._base import binarize, check_groups, column

__all__ = [
    "gini",
    "ks_statistic",
    "expected_calibration_error",
    "calibration_by_group",
    "risk_metrics_by_group",
    "group_gap",
]

_STRATEGIES = ("uniform", "quantile")
_METHODS = ("between_groups", "to_overall")


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _events(y_true, pos_label, func_name):
    """The labels as 0/1 floats, 1 where ``y_true`` is the event ``pos_label``."""
    y = column(y_true, "y_true")
    y01, _ = binarize(y, y, pos_label=pos_label, func_name=func_name)
    return (np.asarray(y01) == 1).astype(np.float64)


def _scores(y_score, n_samples, func_name, *, probability):
    """A 1-d float64 score vector; in [0, 1] when it must be a probability."""
    arr = np.asarray(y_score)
    if arr.ndim == 2 and arr.shape[1] == 2:
        raise ValueError(
            f"{func_name} takes the score of one class, got an array of shape "
            f"{arr.shape}: pass predict_proba(X)[:, 1] (the column of the class "
            "pos_label names), not the whole predict_proba(X)."
        )
    arr = column(arr, "y_score")
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{func_name} needs numeric scores, got y_score of dtype {arr.dtype}."
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"y_true and y_score have different lengths: {n_samples} and "
            f"{arr.shape[0]}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y_score holds NaN or infinite values ({func_name}).")
    if probability and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{func_name} needs probabilities in [0, 1], got values from "
            f"{arr.min():.4g} to {arr.max():.4g}. Pass predict_proba's column, "
            "not a decision_function score."
        )
    return arr


def _weights(sample_weight, n_samples):
    """None, or a 1-d float64 vector of finite non-negative weights."""
    if sample_weight is None:
        return None
    w = column(sample_weight, "sample_weight").astype(np.float64, copy=False)
    check_consistent_length(np.empty(n_samples), w)
    if not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("sample_weight must hold finite, non-negative values.")
    return w


def _check_bins(n_bins, strategy):
    if (
        not isinstance(n_bins, numbers.Integral)
        or isinstance(n_bins, bool)
        or n_bins < 1
    ):
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(
            f"strategy must be one of {list(_STRATEGIES)}, got {strategy!r}."
        )


# --------------------------------------------------------------------------
# The metrics
# --------------------------------------------------------------------------


def gini(y_true, y_score, *, sample_weight=None, pos_label=None):
    """Gini coefficient of a score: ``2 * AUC - 1`` (Somers' D).

    The ranking power lenders quote for a scorecard: 1 when every event
    (e.g. default) scores above every non-event, 0 for a random score,
    negative when the score ranks the wrong way.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score of the class ``pos_label`` (higher: more likely), e.g. the
        predicted probability of default.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The class ``y_score`` scores (the event). Needed when the labels are
        not {0, 1} or {-1, 1}; 1 otherwise.

    Returns
    -------
    float
        The Gini coefficient in [-1, 1]; NaN when ``y_true`` holds one class
        only (the ranking of events against non-events is undefined).

    See Also
    --------
    sklearn.metrics.roc_auc_score : the area under the ROC curve it rescales.
    ks_statistic : the other ranking measure of credit scoring.

    Examples
    --------
    >>> from sklfair.metrics import gini
    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    events = _events(y_true, pos_label, "gini")
    score = _scores(y_score, events.size, "gini", probability=False)
    return _gini(events, score, _weights(sample_weight, events.size))


def _class_weights_by_score(events, score, w):
    """Weights of the events and of the others at each distinct score, in order."""
    if w is None:
        w = np.ones_like(score)
    _, inverse = np.unique(score, return_inverse=True)
    return (
        np.bincount(inverse, weights=w * events),
        np.bincount(inverse, weights=w * (1.0 - events)),
    )


def _gini(events, score, w):
    at_events, at_others = _class_weights_by_score(events, score, w)
    n_events, n_others = at_events.sum(), at_others.sum()
    if n_events == 0 or n_others == 0:
        return float("nan")
    # Mann-Whitney: P(event scores above other) + P(tie) / 2
    others_below = np.cumsum(at_others) - at_others
    auc = at_events @ (others_below + 0.5 * at_others) / (n_events * n_others)
    return float(2.0 * auc - 1.0)


def ks_statistic(y_true, y_score, *, sample_weight=None, pos_label=None):
    """Kolmogorov-Smirnov statistic: the largest gap between the score CDFs.

    The largest distance, over all score values, between the cumulative
    distribution of the score among the events (e.g. defaults) and among
    the non-events. It equals the two-sample statistic of
    :func:`scipy.stats.ks_2samp` on the two sets of scores; with integer
    weights, that of each row repeated as often as its weight.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score of the class ``pos_label``, e.g. the predicted probability of
        default. Only its order matters.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted empirical distributions).
    pos_label : label, default=None
        The class ``y_score`` scores. Needed when the labels are not {0, 1}
        or {-1, 1}; 1 otherwise.

    Returns
    -------
    float
        The KS statistic in [0, 1]; NaN when ``y_true`` holds one class only.

    See Also
    --------
    scipy.stats.ks_2samp : the same statistic, with a test.
    gini : the other ranking measure of credit scoring.

    Examples
    --------
    >>> from sklfair.metrics import ks_statistic
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    events = _events(y_true, pos_label, "ks_statistic")
    score = _scores(y_score, events.size, "ks_statistic", probability=False)
    return _ks(events, score, _weights(sample_weight, events.size))


def _ks(events, score, w):
    at_events, at_others = _class_weights_by_score(events, score, w)
    n_events, n_others = at_events.sum(), at_others.sum()
    if n_events == 0 or n_others == 0:
        return float("nan")
    # the CDFs after each distinct score value (ties move together)
    cdf_events = np.cumsum(at_events) / n_events
    cdf_others = np.cumsum(at_others) / n_others
    return float(np.max(np.abs(cdf_events - cdf_others)))


def _bin_edges(prob, w, n_bins, strategy):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    quantiles = np.linspace(0.0, 1.0, n_bins + 1)
    if w is None:
        # as sklearn.calibration.calibration_curve
        return np.percentile(prob, quantiles * 100)
    return _weighted_quantiles(prob, w, quantiles)


def _weighted_quantiles(values, w, quantiles):
    """Quantiles by the inverted weighted CDF (numpy >= 2's ``inverted_cdf``)."""
    keep = w > 0
    order = np.argsort(values[keep], kind="stable")
    ordered = values[keep][order]
    cumulative = np.cumsum(w[keep][order])
    index = np.searchsorted(cumulative, quantiles * cumulative[-1], side="left")
    return ordered[np.minimum(index, ordered.size - 1)]


def _calibration_bins(events, prob, w, n_bins, strategy):
    """Per non-empty bin: index, edges, rows, weight, mean score, event rate.

    The bins are those of :func:`sklearn.calibration.calibration_curve`: a
    score equal to an inner edge falls in the lower bin.
    """
    edges = _bin_edges(prob, w, n_bins, strategy)
    ids = np.searchsorted(edges[1:-1], prob)
    ones = np.ones_like(prob) if w is None else w
    weight = np.bincount(ids, weights=ones, minlength=n_bins)
    rows = np.bincount(ids, minlength=n_bins)
    predicted = np.bincount(ids, weights=ones * prob, minlength=n_bins)
    observed = np.bincount(ids, weights=ones * events, minlength=n_bins)
    keep = weight > 0
    return {
        "bin": np.flatnonzero(keep),
        "lower": edges[:-1][keep],
        "upper": edges[1:][keep],
        "count": rows[keep],
        "weight": weight[keep],
        "mean_predicted": predicted[keep] / weight[keep],
        "observed_rate": observed[keep] / weight[keep],
    }


def expected_calibration_error(
    y_true,
    y_prob,
    *,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    pos_label=None,
):
    """Expected calibration error: the weighted gap between predicted and observed.

    The probabilities are binned as by
    :func:`sklearn.calibration.calibration_curve`; in each bin ``b`` the
    mean predicted probability ``p_b`` is compared with the observed rate
    of the event ``o_b``, and the gaps are averaged with the bins' shares
    of the rows ``n_b / n``::

        ECE = sum_b (n_b / n) * |o_b - p_b|

    0 for a perfectly calibrated model: a predicted 10% risk is a 10% risk.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_prob : array-like of shape (n_samples,)
        Predicted probability of the class ``pos_label``, in [0, 1].
    n_bins : int, default=10
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        ``"uniform"``: bins of equal width on [0, 1]; ``"quantile"``: bins
        holding the same share of the rows (weighted quantiles, by the
        inverted CDF, when ``sample_weight`` is given).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: weighted means in each bin, bins weighted by their
        total weight.
    pos_label : label, default=None
        The class ``y_prob`` is the probability of. Needed when the labels
        are not {0, 1} or {-1, 1}; 1 otherwise.

    Returns
    -------
    float
        The expected calibration error, in [0, 1]; NaN when every weight
        is 0.

    See Also
    --------
    calibration_by_group : the bins themselves, per group.
    sklearn.calibration.calibration_curve : the binning used here.
    sklearn.metrics.brier_score_loss : calibration and sharpness in one number.

    Examples
    --------
    >>> from sklfair.metrics import expected_calibration_error
    >>> y_true = [0, 0, 1, 0, 1, 1]
    >>> y_prob = [0.1, 0.1, 0.1, 0.8, 0.8, 0.8]
    >>> # bins: predicted 0.1 observed 1/3, predicted 0.8 observed 2/3
    >>> round(expected_calibration_error(y_true, y_prob, n_bins=5), 4)
    0.1833
    """
    _check_bins(n_bins, strategy)
    events = _events(y_true, pos_label, "expected_calibration_error")
    prob = _scores(y_prob, events.size, "expected_calibration_error", probability=True)
    w = _weights(sample_weight, events.size)
    return _ece(events, prob, w, n_bins=n_bins, strategy=strategy)


def _ece(events, prob, w, *, n_bins=10, strategy="uniform"):
    if events.size == 0 or (w is not None and w.sum() == 0):
        return float("nan")
    bins = _calibration_bins(events, prob, w, n_bins, strategy)
    gaps = np.abs(bins["observed_rate"] - bins["mean_predicted"])
    return float(gaps @ bins["weight"] / bins["weight"].sum())


# --------------------------------------------------------------------------
# Per group
# --------------------------------------------------------------------------


def _mean(values, w):
    if values.size == 0 or (w is not None and w.sum() == 0):
        return float("nan")
    return float(np.average(values, weights=w))


def _observed_rate(events, prob, w):
    return _mean(events, w)


def _mean_predicted(events, prob, w):
    return _mean(prob, w)


def _subset(w, rows):
    return None if w is None else w[rows]


def _brier(events, prob, w):
    return _mean((prob - events) ** 2, w)


def _group_masks(sensitive_features, n_samples):
    """The sorted group labels and a boolean row mask for each."""
    groups = check_groups(sensitive_features, n_samples)
    codes, labels = pd.factorize(groups, sort=True)
    return [(label, codes == code) for code, label in enumerate(labels)]


def calibration_by_group(
    y_true,
    y_prob,
    *,
    sensitive_features,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    pos_label=None,
):
    """Reliability table per group: predicted against observed risk in each bin.

    In each group, the probabilities are binned as by
    :func:`sklearn.calibration.calibration_curve` (on that group's rows),
    and each non-empty bin gives the mean predicted probability and the
    observed rate of the event. A calibrated model has the two equal in
    every bin of every group: a predicted 10% risk of default is a 10% risk
    whoever the applicant is. :func:`sklfair.plotting.plot_calibration_by_group`
    draws this table.

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
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Bins of equal width on [0, 1] (the same in every group), or bins
        holding the same share of each group's rows.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted means in each bin).
    pos_label : label, default=None
        The class ``y_prob`` is the probability of. Needed when the labels
        are not {0, 1} or {-1, 1}; 1 otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin of each group, with columns ``group``,
        ``bin`` (the bin's index), ``lower`` and ``upper`` (its edges),
        ``count`` (rows), ``weight`` (their total weight; ``count`` when
        unweighted), ``mean_predicted`` and ``observed_rate``.

    See Also
    --------
    expected_calibration_error : the table's gaps in one number per group.
    sklearn.calibration.calibration_curve : the same bins, for one group.

    Examples
    --------
    >>> from sklfair.metrics import calibration_by_group
    >>> y_true = [0, 1, 0, 1, 0, 0, 1, 1]
    >>> y_prob = [0.2, 0.2, 0.7, 0.7, 0.2, 0.2, 0.7, 0.7]
    >>> table = calibration_by_group(
    ...     y_true, y_prob, sensitive_features=list("aaaabbbb"), n_bins=2)
    >>> table[["group", "bin", "count", "mean_predicted", "observed_rate"]]
      group  bin  count  mean_predicted  observed_rate
    0     a    0      2             0.2            0.5
    1     a    1      2             0.7            0.5
    2     b    0      2             0.2            0.0
    3     b    1      2             0.7            1.0
    """
    _check_bins(n_bins, strategy)
    events = _events(y_true, pos_label, "calibration_by_group")
    prob = _scores(y_prob, events.size, "calibration_by_group", probability=True)
    w = _weights(sample_weight, events.size)
    parts = []
    for label, rows in _group_masks(sensitive_features, events.size):
        w_group = None if w is None else w[rows]
        if w_group is not None and w_group.sum() == 0:
            continue
        bins = _calibration_bins(events[rows], prob[rows], w_group, n_bins, strategy)
        part = pd.DataFrame(bins)
        part.insert(0, "group", label)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    if w is None:
        table["weight"] = table["count"]
    return table


def risk_metrics_by_group(
    y_true,
    y_prob,
    *,
    sensitive_features,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    pos_label=None,
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

    Returns
    -------
    pandas.DataFrame
        Indexed by group (index name ``"group"``), with columns ``count``,
        ``observed_rate``, ``mean_predicted``, ``gini``, ``ks_statistic``,
        ``brier_score`` and ``expected_calibration_error``. The gap of a
        column between groups is ``table[col].max() - table[col].min()``,
        or :func:`group_gap`.

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
    _check_bins(n_bins, strategy)
    events = _events(y_true, pos_label, "risk_metrics_by_group")
    prob = _scores(y_prob, events.size, "risk_metrics_by_group", probability=True)
    w = _weights(sample_weight, events.size)
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
    masks = _group_masks(sensitive_features, events.size)
    table = pd.DataFrame(
        [
            {
                "count": int(rows.sum()),
                **{
                    name: kernel(events[rows], prob[rows], _subset(w, rows))
                    for name, kernel in kernels.items()
                },
            }
            for _, rows in masks
        ],
        index=pd.Index([label for label, _ in masks], name="group"),
    )
    return table


# --------------------------------------------------------------------------
# Gaps
# --------------------------------------------------------------------------

#: Metric names accepted by :func:`group_gap`: (function, needs probabilities).
CREDIT_METRICS = {
    "gini": (_gini, False),
    "ks_statistic": (_ks, False),
    "brier_score": (_brier, True),
    "expected_calibration_error": (_ece, True),
}


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
    if isinstance(metric, str):
        try:
            func, probability = CREDIT_METRICS[metric]
        except KeyError:
            raise ValueError(
                f"Unknown metric {metric!r}; use one of {sorted(CREDIT_METRICS)} "
                "or a callable metric(y_true, y_score, sample_weight=None)."
            ) from None
        name = metric
    elif callable(metric):
        func, probability = metric, False
        name = getattr(metric, "__name__", None) or type(metric).__name__
    else:
        raise TypeError(
            f"metric must be a metric name or a callable, got {type(metric).__name__}."
        )
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}.")
    events = _events(y_true, pos_label, f"group_gap({name!r})")
    score = _scores(
        y_score, events.size, f"group_gap({name!r})", probability=probability
    )
    w = _weights(sample_weight, events.size)
    masks = _group_masks(sensitive_features, events.size)

    if isinstance(metric, str):
        # the unchecked kernels: the inputs were checked once above

        def value(rows):
            return func(events[rows], score[rows], _subset(w, rows), **kwargs)

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
