"""Calibration of predicted probabilities: the expected calibration error, per group.

The probabilities are binned as by
:func:`sklearn.calibration.calibration_curve`; :func:`expected_calibration_error`
averages each bin's gap between the mean predicted probability and the
observed rate, and :func:`calibration_by_group` gives the bins themselves,
group by group (the reliability table that
:func:`sklfair.plotting.plot_calibration_by_group` draws).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._analytic import kish, wilson, z_value
from ._credit_inputs import (
    check_bins,
    checked_inputs,
    group_masks,
)
from ._intervals import check_confidence

__all__ = ["expected_calibration_error", "calibration_by_group"]


def _bin_edges(prob, w, n_bins, strategy):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    quantiles = np.linspace(0.0, 1.0, n_bins + 1)
    if w is None:
        # as sklearn.calibration.calibration_curve
        return np.percentile(prob, quantiles * 100)
    return weighted_quantiles(prob, w, quantiles)


def weighted_quantiles(values, w, quantiles):
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
    squared = np.bincount(ids, weights=ones * ones, minlength=n_bins)
    keep = weight > 0
    return {
        "bin": np.flatnonzero(keep),
        "lower": edges[:-1][keep],
        "upper": edges[1:][keep],
        "count": rows[keep],
        "weight": weight[keep],
        "mean_predicted": predicted[keep] / weight[keep],
        "observed_rate": observed[keep] / weight[keep],
        "weight2": squared[keep],
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
        The expected calibration error, in [0, 1].

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
    check_bins(n_bins, strategy)
    events, prob, w = checked_inputs(
        y_true, y_prob, sample_weight, pos_label, "expected_calibration_error", True
    )
    return _ece(events, prob, w, n_bins=n_bins, strategy=strategy)


def _ece(events, prob, w, *, n_bins=10, strategy="uniform"):
    if events.size == 0 or (w is not None and w.sum() == 0):
        return float("nan")
    bins = _calibration_bins(events, prob, w, n_bins, strategy)
    gaps = np.abs(bins["observed_rate"] - bins["mean_predicted"])
    return float(gaps @ bins["weight"] / bins["weight"].sum())


def _brier(events, prob, w):
    """The Brier score (weighted mean squared error of the probabilities)."""
    if events.size == 0 or (w is not None and w.sum() == 0):
        return float("nan")
    return float(np.average((prob - events) ** 2, weights=w))


def calibration_by_group(
    y_true,
    y_prob,
    *,
    sensitive_features,
    n_bins=10,
    strategy="uniform",
    sample_weight=None,
    pos_label=None,
    confidence=0.95,
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
    confidence : float or None, default=0.95
        Level of Wilson's interval of each bin's observed rate (with
        weights, on Kish's effective size of the bin's rows); None for no
        intervals.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin of each group, with columns ``group``,
        ``bin`` (the bin's index), ``lower`` and ``upper`` (its edges),
        ``count`` (rows), ``weight`` (their total weight; ``count`` when
        unweighted), ``mean_predicted``, ``observed_rate`` and its interval
        ``observed_rate_low`` and ``observed_rate_high`` (with
        ``confidence``).

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
    check_bins(n_bins, strategy)
    if confidence is not None:
        confidence = check_confidence(confidence)
    events, prob, w = checked_inputs(
        y_true, y_prob, sample_weight, pos_label, "calibration_by_group", True
    )
    parts = []
    for label, rows in group_masks(sensitive_features, events.size):
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
    if confidence is not None:
        n = table["count"] if w is None else kish(table["weight"], table["weight2"])
        low, high = wilson(table["observed_rate"], n, z_value(confidence))
        table["observed_rate_low"], table["observed_rate_high"] = low, high
    return table.drop(columns="weight2")
