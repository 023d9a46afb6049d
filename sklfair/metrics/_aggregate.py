"""Average differences of any metric across the groups of a sensitive attribute.

Where fairlearn's ``difference()`` reports the *largest* gap, these report the
*typical* one, which is more stable with many (intersectional) groups. For a
metric with value :math:`m_g` on group :math:`g` (``G`` groups, each counted
once whatever its size) and :math:`m` on all rows:

- **average difference** -- the mean pairwise gap,
  :math:`\\frac{2}{G(G-1)} \\sum_{g < h} |m_g - m_h|`;
- **average absolute difference** -- the mean absolute deviation of the group
  values from the overall value, :math:`\\frac{1}{G} \\sum_g |m_g - m|`;
- **average relative difference** -- that deviation relative to the overall
  value, :math:`\\frac{1}{G} \\sum_g |m_g - m| / |m|` (0 when every group
  equals an overall value of 0, ``inf`` when the overall value is 0 and some
  group is not).

With two groups the average difference equals the largest gap
(``MetricFrame.difference()``). A group whose metric is undefined (NaN, e.g.
an AUC on a group with one class) makes the result NaN.
"""

from __future__ import annotations

import numpy as np

from ._base import (
    RATE_OF,
    binarize,
    check_groups,
    column,
    metric_frame,
    resolve_metric,
)
from ._rates import undefined_rates, warn_undefined_rates
from ._weights import check_sample_weight

__all__ = [
    "average_difference",
    "average_absolute_difference",
    "average_relative_difference",
]


def average_gaps(values, overall):
    """The three averages from group values and the overall value (a dict)."""
    values = np.asarray(values, dtype=np.float64)
    overall = float(overall)
    n_groups = values.size
    pairwise = np.abs(values[:, None] - values[None, :])
    average = pairwise[np.triu_indices(n_groups, k=1)].mean() if n_groups > 1 else 0.0
    deviation = np.abs(values - overall).mean()
    if overall != 0:
        relative = deviation / abs(overall)
    elif np.isnan(deviation):
        relative = np.nan
    else:
        relative = 0.0 if deviation == 0 else np.inf
    return {
        "average_difference": float(average),
        "average_absolute_difference": float(deviation),
        "average_relative_difference": float(relative),
    }


def _average(
    func_name, metric, y_true, y_pred, sensitive_features, sample_weight, pos_label
):
    """The average gap ``func_name`` (a key of :func:`average_gaps`) of a metric."""
    name, func, kind = resolve_metric(metric)
    y_true = column(y_true, "y_true")
    y_pred = column(y_pred, "y_pred")
    if kind in ("binary", "score"):
        if kind == "score":
            y_true, _ = binarize(
                y_true, y_true, pos_label=pos_label, func_name=f"metric {name!r}"
            )
        else:
            y_true, y_pred = binarize(
                y_true, y_pred, pos_label=pos_label, func_name=f"metric {name!r}"
            )
    groups = check_groups(sensitive_features, len(y_true))
    weights = check_sample_weight(sample_weight, len(y_true), func_name)
    if func in RATE_OF:
        rates = undefined_rates([RATE_OF[func]], y_true, groups, weights)
        warn_undefined_rates(func_name, rates, stacklevel=3)
    frame = metric_frame({name: func}, y_true, y_pred, groups, weights)
    values = frame.by_group[name].to_numpy(np.float64)
    return average_gaps(values, float(frame.overall[name]))[func_name]


_PARAMETERS = """
    Parameters
    ----------
    metric : str or callable
        A metric name (``"selection_rate"``, ``"true_positive_rate"``,
        ``"false_positive_rate"``, ``"true_negative_rate"``,
        ``"false_negative_rate"``, ``"accuracy"``, ``"roc_auc"`` (``y_pred``
        are then scores), ``"mean_prediction"``, ``"mean_absolute_error"``,
        ``"mean_squared_error"``, ``"count"``) or a callable
        ``metric(y_true, y_pred)`` returning a number (it gets
        ``sample_weight=`` when it accepts it).
    y_true : array-like of shape (n_samples,)
        True labels or targets.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, values or scores, as ``metric`` expects.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights, passed to the metric when it accepts them.
    pos_label : label, default=None
        Positive label of the binary metric names, needed when the labels
        are not {0, 1} or {-1, 1}.
"""


def average_difference(
    metric, y_true, y_pred, *, sensitive_features, sample_weight=None, pos_label=None
):
    """Mean absolute pairwise gap of a metric between groups.

    :math:`\\frac{2}{G(G-1)} \\sum_{g < h} |m_g - m_h|` over the ``G``
    groups, each counted once. With two groups it is the largest gap.

    .. versionadded:: 0.1
    {parameters}
    Returns
    -------
    float
        The average pairwise difference (NaN when a group's value is NaN).

    See Also
    --------
    average_absolute_difference : mean deviation from the overall value.
    average_relative_difference : the same, relative to the overall value.

    Examples
    --------
    >>> from sklfair.metrics import average_difference
    >>> y_pred = [1, 1, 1, 1, 0, 1, 0, 0, 0]
    >>> group = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]
    >>> # selection rates 1, 2/3 and 0: gaps 1/3, 1, 2/3
    >>> round(average_difference(
    ...     "selection_rate", y_pred, y_pred, sensitive_features=group), 4)
    0.6667
    """
    args = (metric, y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return _average("average_difference", *args)


def average_absolute_difference(
    metric, y_true, y_pred, *, sensitive_features, sample_weight=None, pos_label=None
):
    """Mean absolute deviation of the groups' metric from its overall value.

    :math:`\\frac{1}{G} \\sum_g |m_g - m|`, with :math:`m` the metric on all
    rows and each group counted once.

    .. versionadded:: 0.1
    {parameters}
    Returns
    -------
    float
        The average absolute difference (NaN when a group's value is NaN).

    See Also
    --------
    average_difference : mean pairwise gap between groups.
    average_relative_difference : this, relative to the overall value.

    Examples
    --------
    >>> from sklfair.metrics import average_absolute_difference
    >>> y_pred = [1, 1, 1, 1, 0, 1, 0, 0, 0]
    >>> group = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]
    >>> # overall rate 5/9; deviations 4/9, 1/9, 5/9
    >>> round(average_absolute_difference(
    ...     "selection_rate", y_pred, y_pred, sensitive_features=group), 4)
    0.3704
    """
    args = (metric, y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return _average("average_absolute_difference", *args)


def average_relative_difference(
    metric, y_true, y_pred, *, sensitive_features, sample_weight=None, pos_label=None
):
    """Mean absolute deviation from the overall value, relative to it.

    :math:`\\frac{1}{G} \\sum_g |m_g - m| / |m|`. When the overall value
    :math:`m` is 0 the result is 0 if every group value is 0 too, else
    ``inf``.

    .. versionadded:: 0.1
    {parameters}
    Returns
    -------
    float
        The average relative difference (a fraction of the overall value).

    See Also
    --------
    average_absolute_difference : the same deviation, not relative.

    Examples
    --------
    >>> from sklfair.metrics import average_relative_difference
    >>> y_pred = [1, 1, 1, 1, 0, 1, 0, 0, 0]
    >>> group = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]
    >>> # (10/27) / (5/9)
    >>> round(average_relative_difference(
    ...     "selection_rate", y_pred, y_pred, sensitive_features=group), 4)
    0.6667
    """
    args = (metric, y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return _average("average_relative_difference", *args)


for _func in (
    average_difference,
    average_absolute_difference,
    average_relative_difference,
):
    _func.__doc__ = _func.__doc__.replace("{parameters}", _PARAMETERS)
del _func
