"""Gaps between groups for multi-class decisions: one-vs-rest, worst class.

For each class ``c``, ``y == c`` is the positive outcome and the binary gap
(:mod:`fairlearn.metrics`) is computed; the result is the largest over the
classes. On binary labels they equal their binary counterparts.
"""

from __future__ import annotations

import fairlearn.metrics as _fm
import numpy as np
from sklearn.utils.multiclass import unique_labels

from ._base import check_class_labels, check_groups, column
from ._rates import GAP_METRICS, undefined_rates, warn_undefined_rates
from ._weights import check_sample_weight, drop_weightless

__all__ = [
    "worst_class",
    "multiclass_demographic_parity_difference",
    "multiclass_equalized_odds_difference",
]


def worst_class(
    fairlearn_metric,
    y_true,
    y_pred,
    sensitive_features,
    method,
    sample_weight,
    labels,
    *,
    warn=True,
    **options,
):
    """The largest one-vs-rest ``fairlearn_metric`` over the classes.

    The one body of the public functions of this module: ``options`` are
    the fairlearn function's own further parameters (``agg``).
    It warns about the rates it counts as 0 because they are undefined (a
    group without a class, or with nothing else), unless ``warn=False``.
    """
    func_name = f"multiclass_{fairlearn_metric.__name__}"
    groups = check_groups(sensitive_features, len(column(y_pred, "y_pred")))
    y_true, y_pred = check_class_labels(y_true, y_pred, func_name)
    weights = check_sample_weight(sample_weight, len(y_true), func_name)
    # a group of weight 0 has no rate: leave it out
    groups, weights, y_true, y_pred = drop_weightless(groups, weights, y_true, y_pred)
    try:
        found = unique_labels(y_true, y_pred)
    except ValueError as exc:  # e.g. numbers in y_true, strings in y_pred
        raise ValueError(
            f"{func_name}: {str(exc).rstrip('.')}. y_true and y_pred must hold "
            "labels of the same kind, or no label of one would ever equal a "
            "label of the other."
        ) from None
    if labels is None:
        labels = found
    elif not np.isin(labels, found).any():
        raise ValueError(
            f"{func_name}: none of labels={np.asarray(labels).tolist()!r} occurs "
            f"in y_true or y_pred, whose labels are {found.tolist()!r}."
        )
    if warn:
        rate_names = GAP_METRICS[fairlearn_metric.__name__][0]
        rates = undefined_rates(rate_names, y_true, groups, weights, classes=labels)
        warn_undefined_rates(func_name, rates, stacklevel=3)
    return max(
        float(
            fairlearn_metric(
                (y_true == label).astype(np.int64),
                (y_pred == label).astype(np.int64),
                sensitive_features=groups,
                method=method,
                sample_weight=weights,
                **options,
            )
        )
        for label in labels
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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, labels)
    return worst_class(_fm.demographic_parity_difference, *args)


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

    Notes
    -----
    With more than two classes this is not the gap that the
    ``"equalized_odds"`` constraint of :mod:`sklfair.constraints` bounds. The
    constraint bounds every ``P(pred = c | y = k, group)``, one rate per pair
    of classes; here the false positive rate of class ``c`` is ``P(pred = c
    | y != c, group)``, which mixes the rows of the other classes in each
    group's own proportions. So a model fitted with ``bound=b`` can score
    above ``b`` here when the groups' label distributions differ (the fitted
    estimator's ``constraint_violation_ + bound`` is the constraint's own
    largest gap on the training data).

    Examples
    --------
    >>> from sklfair.metrics import multiclass_equalized_odds_difference
    >>> y_true = ["a", "b", "c", "a", "b", "c"]
    >>> y_pred = ["a", "b", "c", "a", "c", "c"]
    >>> multiclass_equalized_odds_difference(
    ...     y_true, y_pred, sensitive_features=[0, 0, 0, 1, 1, 1])
    1.0
    """
    args = (y_true, y_pred, sensitive_features, method, sample_weight, labels)
    return worst_class(_fm.equalized_odds_difference, *args, agg=agg)
