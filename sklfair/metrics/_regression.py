"""Gaps between groups for regression: mean predictions and mean absolute errors.

The regression analogues of demographic parity (the gap between the groups'
mean predictions) and of an error-rate gap (between their mean absolute
errors), computed through fairlearn's :class:`~fairlearn.metrics.MetricFrame`.
"""

from __future__ import annotations

import fairlearn.metrics as _fm
import numpy as np
from sklearn.metrics import mean_absolute_error

from ._base import check_groups, column, metric_frame
from ._weights import check_sample_weight

__all__ = ["mean_prediction_difference", "mean_absolute_error_difference"]


def _regression_gap(
    metric, func_name, y_true, y_pred, sensitive_features, method, sample_weight
):
    y_true = column(y_true, "y_true").astype(np.float64)
    y_pred = column(y_pred, "y_pred").astype(np.float64)
    groups = check_groups(sensitive_features, len(y_pred))
    weights = check_sample_weight(sample_weight, len(y_pred), func_name)
    frame = metric_frame({"m": metric}, y_true, y_pred, groups, weights)
    return float(frame.difference(method=method)["m"])


def mean_prediction_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
):
    """Largest gap between the groups' mean predictions (regression parity).

    The regression analogue of demographic parity: with ``"between_groups"``
    it is ``max_g mean(y_pred | g) - min_g mean(y_pred | g)``.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets (only checked).
    y_pred : array-like of shape (n_samples,)
        Predicted values.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        Largest minus smallest group mean, or largest absolute gap between a
        group mean and the overall mean.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted means).

    Returns
    -------
    float
        The gap, in the unit of the target.

    Examples
    --------
    >>> from sklfair.metrics import mean_prediction_difference
    >>> mean_prediction_difference(
    ...     [0, 0, 0, 0], [1.0, 3.0, 2.0, 2.5], sensitive_features=["a", "a", "b", "b"]
    ... )
    0.25
    """
    args = (y_true, y_pred, sensitive_features, method, sample_weight)
    return _regression_gap(_fm.mean_prediction, "mean_prediction_difference", *args)


def mean_absolute_error_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
):
    """Largest gap between the groups' mean absolute errors.

    The regression analogue of an error-rate gap: with ``"between_groups"``
    it is ``max_g MAE_g - min_g MAE_g``.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets.
    y_pred : array-like of shape (n_samples,)
        Predicted values.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        Largest minus smallest group MAE, or largest absolute gap between a
        group MAE and the overall MAE.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float
        The gap, in the unit of the target.

    Examples
    --------
    >>> from sklfair.metrics import mean_absolute_error_difference
    >>> mean_absolute_error_difference(
    ...     [1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 4.0, 0.0],
    ...     sensitive_features=["a", "a", "b", "b"],
    ... )
    1.5
    """
    args = (y_true, y_pred, sensitive_features, method, sample_weight)
    return _regression_gap(mean_absolute_error, "mean_absolute_error_difference", *args)
