"""Metrics per group as a table: :func:`group_metrics`.

A thin layer over :attr:`fairlearn.metrics.MetricFrame.by_group` with the
named base metrics of :mod:`sklfair.metrics._base` and checked labels. The
gaps between groups are in :mod:`sklfair.metrics._binary` (binary
decisions), :mod:`sklfair.metrics._multiclass` and
:mod:`sklfair.metrics._regression`.
"""

from __future__ import annotations

import numpy as np

from ._base import (
    BASE_METRICS,
    RATE_OF,
    binarize,
    check_groups,
    column,
    metric_frame,
    resolve_metric,
)
from ._rates import undefined_rates, warn_undefined_rates
from ._weights import check_sample_weight

__all__ = ["group_metrics"]

_DEFAULT_GROUP_METRICS = (
    "count",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "accuracy",
)


def group_metrics(
    y_true,
    y_pred,
    *,
    sensitive_features,
    metrics=_DEFAULT_GROUP_METRICS,
    sample_weight=None,
    pos_label=None,
):
    """Metrics per group as a DataFrame (one row per group, one column per metric).

    A thin layer over :attr:`fairlearn.metrics.MetricFrame.by_group` with
    named metrics and checked labels.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels (or values, for regression metrics).
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    metrics : sequence of str or dict of str to callable, \
            default=("count", "selection_rate", "true_positive_rate", \
"false_positive_rate", "accuracy")
        Metric names (``"count"``, ``"selection_rate"``,
        ``"true_positive_rate"``, ``"false_positive_rate"``,
        ``"true_negative_rate"``, ``"false_negative_rate"``, ``"accuracy"``,
        ``"mean_prediction"``, ``"mean_absolute_error"``,
        ``"mean_squared_error"``) or a dict of column name to
        ``metric(y_true, y_pred)`` callables.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, passed to the metrics that accept them.
    pos_label : label, default=None
        The positive label of the binary rates, needed when the labels are
        not {0, 1} or {-1, 1}.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (index name ``"group"``).

    Examples
    --------
    >>> from sklfair.metrics import group_metrics
    >>> group_metrics(
    ...     [1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"]
    ... )
           count  selection_rate  true_positive_rate  false_positive_rate  accuracy
    group
    a          2             1.0                 1.0                  1.0       0.5
    b          2             0.0                 0.0                  0.0       0.5
    """
    if isinstance(metrics, dict):
        funcs = {name: resolve_metric(m)[1:] for name, m in metrics.items()}
    elif isinstance(metrics, str):
        funcs = {metrics: resolve_metric(metrics)[1:]}
    else:
        funcs = {resolve_metric(m)[0]: resolve_metric(m)[1:] for m in metrics}
    kinds = {kind for _, kind in funcs.values()}
    if "score" in kinds:
        raise ValueError(
            "group_metrics works on predicted labels; 'roc_auc' needs scores "
            "(use fairness_report, which calls predict_proba)."
        )
    y_true = column(y_true, "y_true")
    y_pred = column(y_pred, "y_pred")
    if "binary" in kinds:
        y_true, y_pred = binarize(
            y_true, y_pred, pos_label=pos_label, func_name="group_metrics"
        )
    groups = check_groups(sensitive_features, len(y_true))
    weights = check_sample_weight(sample_weight, len(y_true), "group_metrics")
    rates = [RATE_OF[func] for func, _ in funcs.values() if func in RATE_OF]
    warn_undefined_rates(
        "group_metrics",
        undefined_rates(dict.fromkeys(rates), y_true, groups, weights),
        stacklevel=2,
    )
    frame = metric_frame(
        {name: func for name, (func, _) in funcs.items()},
        y_true,
        y_pred,
        groups,
        weights,
    )
    by_group = frame.by_group.copy()
    for name, (func, _) in funcs.items():
        if func is BASE_METRICS["count"][0]:
            by_group[name] = by_group[name].astype(np.int64)
    by_group.index.name = "group"
    return by_group
