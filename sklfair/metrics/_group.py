"""Group fairness metrics: gaps in rates between the groups of a sensitive attribute.

Binary classification metrics delegate to :mod:`fairlearn.metrics` (same
signatures, same values) after checking the labels: multi-class or continuous
labels get a clear error instead of a silently meaningless number, and labels
other than {0, 1} / {-1, 1} need ``pos_label``. Multi-class variants work
one-vs-rest and report the worst class; regression variants compare group mean
predictions and group mean absolute errors. :func:`group_metrics` gives the
per-group rates as a DataFrame.
"""

from __future__ import annotations

import fairlearn.metrics as _fm
import numpy as np

from ._base import (
    BASE_METRICS,
    binarize,
    check_class_labels,
    check_groups,
    column,
    metric_frame,
    resolve_metric,
)

__all__ = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "multiclass_demographic_parity_difference",
    "multiclass_equalized_odds_difference",
    "mean_prediction_difference",
    "mean_absolute_error_difference",
    "group_metrics",
]

_DEFAULT_GROUP_METRICS = (
    "count",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "accuracy",
)


def _prepare_binary(y_true, y_pred, sensitive_features, pos_label, func_name):
    y_true, y_pred = binarize(y_true, y_pred, pos_label=pos_label, func_name=func_name)
    groups = check_groups(sensitive_features, len(y_true))
    return y_true, y_pred, groups


def demographic_parity_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    pos_label=None,
):
    """Largest gap in selection rate ``P(y_pred = 1 | group)`` between groups.

    Same definition, signature and value as
    :func:`fairlearn.metrics.demographic_parity_difference`, with checked
    inputs. 0 means every group is selected at the same rate.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (only checked: the selection rate ignores them).
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        ``"between_groups"``: largest minus smallest group rate;
        ``"to_overall"``: largest absolute gap between a group and the
        overall rate.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The positive (selected) label. Needed when the labels are not
        {0, 1} or {-1, 1}; with it the labels are compared to it.

    Returns
    -------
    float
        The demographic parity difference, in [0, 1].

    Raises
    ------
    ValueError
        On multi-class or continuous labels (use
        :func:`multiclass_demographic_parity_difference` or
        :func:`mean_prediction_difference`), on labels that need
        ``pos_label``, and on bad ``sensitive_features``.

    See Also
    --------
    demographic_parity_ratio : the smallest over the largest selection rate.
    group_metrics : the per-group rates.

    Examples
    --------
    >>> from sklfair.metrics import demographic_parity_difference
    >>> y_true = [1, 0, 1, 0, 1, 0]
    >>> y_pred = [1, 1, 1, 0, 0, 0]
    >>> sex = ["f", "f", "f", "m", "m", "m"]
    >>> demographic_parity_difference(y_true, y_pred, sensitive_features=sex)
    1.0
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "demographic_parity_difference"
    )
    return float(
        _fm.demographic_parity_difference(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
        )
    )


def demographic_parity_ratio(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    pos_label=None,
):
    """Smallest over largest group selection rate (1 means parity).

    Same definition, signature and value as
    :func:`fairlearn.metrics.demographic_parity_ratio`, with checked inputs.
    The "four-fifths rule" asks for a ratio of at least 0.8.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (only checked).
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        ``"between_groups"``: smallest over largest group rate;
        ``"to_overall"``: smallest ratio between a group and the overall rate.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The demographic parity ratio, in [0, 1].

    Examples
    --------
    >>> from sklfair.metrics import demographic_parity_ratio
    >>> y_pred = ["yes", "yes", "no", "yes", "no", "no"]
    >>> demographic_parity_ratio(
    ...     y_pred, y_pred, sensitive_features=[0, 0, 0, 1, 1, 1], pos_label="yes"
    ... )
    0.5
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "demographic_parity_ratio"
    )
    return float(
        _fm.demographic_parity_ratio(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
        )
    )


def equalized_odds_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    agg="worst_case",
    pos_label=None,
):
    """The larger of the true- and false-positive-rate gaps between groups.

    Same definition, signature and value as
    :func:`fairlearn.metrics.equalized_odds_difference`, with checked inputs.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How each rate's gap is computed (see
        :func:`demographic_parity_difference`).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        Report the larger of the two gaps, or their mean.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The equalized odds difference, in [0, 1].

    See Also
    --------
    equal_opportunity_difference : the true-positive-rate gap alone.
    multiclass_equalized_odds_difference : one-vs-rest, worst class.

    Examples
    --------
    >>> from sklfair.metrics import equalized_odds_difference
    >>> y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 1, 0, 0, 1, 0, 1, 0]
    >>> group = ["a"] * 4 + ["b"] * 4
    >>> equalized_odds_difference(y_true, y_pred, sensitive_features=group)
    0.5
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "equalized_odds_difference"
    )
    return float(
        _fm.equalized_odds_difference(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
            agg=agg,
        )
    )


def equalized_odds_ratio(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    agg="worst_case",
    pos_label=None,
):
    """The smaller of the true- and false-positive-rate ratios between groups.

    Same definition, signature and value as
    :func:`fairlearn.metrics.equalized_odds_ratio`, with checked inputs.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How each rate's ratio is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        Report the smaller of the two ratios, or their mean.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The equalized odds ratio, in [0, 1].

    Examples
    --------
    >>> from sklfair.metrics import equalized_odds_ratio
    >>> y_true = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> y_pred = [1, 1, 1, 0, 1, 0, 1, 0]
    >>> group = ["a"] * 4 + ["b"] * 4
    >>> equalized_odds_ratio(y_true, y_pred, sensitive_features=group)
    0.5
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "equalized_odds_ratio"
    )
    return float(
        _fm.equalized_odds_ratio(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
            agg=agg,
        )
    )


def equal_opportunity_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    pos_label=None,
):
    """Largest gap in true positive rate ``P(y_pred = 1 | y = 1, group)``.

    Same definition, signature and value as
    :func:`fairlearn.metrics.equal_opportunity_difference`, with checked
    inputs: among the truly positive (e.g. creditworthy), the gap between the
    groups' acceptance rates.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How the gap is computed (see :func:`demographic_parity_difference`).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The equal opportunity difference, in [0, 1].

    Examples
    --------
    >>> from sklfair.metrics import equal_opportunity_difference
    >>> y_true = [1, 1, 0, 1, 1, 0]
    >>> y_pred = [1, 1, 0, 1, 0, 0]
    >>> equal_opportunity_difference(
    ...     y_true, y_pred, sensitive_features=["a", "a", "a", "b", "b", "b"]
    ... )
    0.5
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "equal_opportunity_difference"
    )
    return float(
        _fm.equal_opportunity_difference(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
        )
    )


def equal_opportunity_ratio(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    pos_label=None,
):
    """Smallest over largest group true positive rate (1 means parity).

    Same definition, signature and value as
    :func:`fairlearn.metrics.equal_opportunity_ratio`, with checked inputs.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_pred : array-like of shape (n_samples,)
        Predicted binary labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How the ratio is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The positive label, needed when the labels are not {0, 1} or {-1, 1}.

    Returns
    -------
    float
        The equal opportunity ratio, in [0, 1].

    Examples
    --------
    >>> from sklfair.metrics import equal_opportunity_ratio
    >>> y_true = [1, 1, 0, 1, 1, 0]
    >>> y_pred = [1, 1, 0, 1, 0, 0]
    >>> equal_opportunity_ratio(
    ...     y_true, y_pred, sensitive_features=["a", "a", "a", "b", "b", "b"]
    ... )
    0.5
    """
    y_true, y_pred, groups = _prepare_binary(
        y_true, y_pred, sensitive_features, pos_label, "equal_opportunity_ratio"
    )
    return float(
        _fm.equal_opportunity_ratio(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=sample_weight,
        )
    )


def _one_vs_rest(y_true, y_pred, labels, func_name):
    y_true, y_pred = check_class_labels(y_true, y_pred, func_name)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    for label in labels:
        yield (
            (y_true == label).astype(np.int64),
            (y_pred == label).astype(np.int64),
        )


def multiclass_demographic_parity_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    labels=None,
):
    """Worst one-vs-rest demographic parity difference over the classes.

    For each class ``c`` the selection rate is ``P(y_pred = c | group)``; the
    result is the largest, over the classes, of the gap between groups. On
    binary labels it equals :func:`demographic_parity_difference`.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels (only checked).
    y_pred : array-like of shape (n_samples,)
        Predicted class labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How each class's gap is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    labels : array-like, default=None
        The classes to compare; by default every label in ``y_true`` or
        ``y_pred``.

    Returns
    -------
    float
        The worst class's demographic parity difference.

    Examples
    --------
    >>> from sklfair.metrics import multiclass_demographic_parity_difference
    >>> y_pred = ["a", "b", "c", "a", "a", "c"]
    >>> group = [0, 0, 0, 1, 1, 1]
    >>> round(multiclass_demographic_parity_difference(
    ...     y_pred, y_pred, sensitive_features=group), 4)
    0.3333
    """
    func_name = "multiclass_demographic_parity_difference"
    groups = check_groups(sensitive_features, len(column(y_pred, "y_pred")))
    return max(
        float(
            _fm.demographic_parity_difference(
                t,
                p,
                sensitive_features=groups,
                method=method,
                sample_weight=sample_weight,
            )
        )
        for t, p in _one_vs_rest(y_true, y_pred, labels, func_name)
    )


def multiclass_equalized_odds_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    method="between_groups",
    sample_weight=None,
    agg="worst_case",
    labels=None,
):
    """Worst one-vs-rest equalized odds difference over the classes.

    For each class ``c``, ``y == c`` is the positive outcome and
    :func:`equalized_odds_difference` is computed; the result is the largest
    over the classes. On binary labels it equals
    :func:`equalized_odds_difference`.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True class labels.
    y_pred : array-like of shape (n_samples,)
        Predicted class labels.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    method : {"between_groups", "to_overall"}, default="between_groups"
        How each rate's gap is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    agg : {"worst_case", "mean"}, default="worst_case"
        Within a class, the larger of the two rate gaps or their mean.
    labels : array-like, default=None
        The classes to compare; by default every label in ``y_true`` or
        ``y_pred``.

    Returns
    -------
    float
        The worst class's equalized odds difference.

    Examples
    --------
    >>> from sklfair.metrics import multiclass_equalized_odds_difference
    >>> y_true = ["a", "b", "c", "a", "b", "c"]
    >>> y_pred = ["a", "b", "c", "a", "c", "c"]
    >>> multiclass_equalized_odds_difference(
    ...     y_true, y_pred, sensitive_features=[0, 0, 0, 1, 1, 1])
    1.0
    """
    func_name = "multiclass_equalized_odds_difference"
    groups = check_groups(sensitive_features, len(column(y_pred, "y_pred")))
    return max(
        float(
            _fm.equalized_odds_difference(
                t,
                p,
                sensitive_features=groups,
                method=method,
                sample_weight=sample_weight,
                agg=agg,
            )
        )
        for t, p in _one_vs_rest(y_true, y_pred, labels, func_name)
    )


def _regression_gap(metric, y_true, y_pred, sensitive_features, method, sample_weight):
    y_true = column(y_true, "y_true").astype(np.float64)
    y_pred = column(y_pred, "y_pred").astype(np.float64)
    groups = check_groups(sensitive_features, len(y_pred))
    frame = metric_frame({"m": metric}, y_true, y_pred, groups, sample_weight)
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
    return _regression_gap(
        _fm.mean_prediction, y_true, y_pred, sensitive_features, method, sample_weight
    )


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
    from sklearn.metrics import mean_absolute_error

    return _regression_gap(
        mean_absolute_error, y_true, y_pred, sensitive_features, method, sample_weight
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
    frame = metric_frame(
        {name: func for name, (func, _) in funcs.items()},
        y_true,
        y_pred,
        groups,
        sample_weight,
    )
    by_group = frame.by_group.copy()
    for name, (func, _) in funcs.items():
        if func is BASE_METRICS["count"][0]:
            by_group[name] = by_group[name].astype(np.int64)
    by_group.index.name = "group"
    return by_group
