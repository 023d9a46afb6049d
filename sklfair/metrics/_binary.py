"""Gaps between groups in the rates of a binary classifier's decisions.

Demographic parity (selection rate), equalized odds (true and false positive
rates) and equal opportunity (true positive rate), each as a difference and
as a ratio. They have fairlearn's signatures and values: each delegates to
the :mod:`fairlearn.metrics` function of the same name, after one shared
helper has checked the labels (multi-class or continuous labels get a clear
error instead of a silently meaningless number, and labels other than
{0, 1} / {-1, 1} need ``pos_label``) and the groups.
"""

from __future__ import annotations

import fairlearn.metrics as _fm

from ._base import binarize, check_groups
from ._rates import GAP_METRICS, undefined_rates, warn_undefined_rates
from ._weights import check_sample_weight, drop_weightless

__all__ = [
    "binary_gap",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
]


def binary_gap(
    fairlearn_metric,
    y_true,
    y_pred,
    sensitive_features,
    method,
    sample_weight,
    pos_label,
    *,
    warn=True,
    **options,
):
    """``fairlearn_metric`` on checked 0/1 labels and groups, as a float.

    The one body of the public functions of this module: ``options`` are
    the fairlearn function's own further parameters (``agg``). It warns
    about the rates it counts as 0 because they are undefined, unless
    ``warn=False`` (the report warns once for all its metrics).
    """
    func_name = fairlearn_metric.__name__
    y_true, y_pred = binarize(y_true, y_pred, pos_label=pos_label, func_name=func_name)
    groups = check_groups(sensitive_features, len(y_true))
    weights = check_sample_weight(sample_weight, len(y_true), func_name)
    # a group of weight 0 has no rate: leave it out
    groups, weights, y_true, y_pred = drop_weightless(groups, weights, y_true, y_pred)
    if warn:
        rates = undefined_rates(GAP_METRICS[func_name][0], y_true, groups, weights)
        warn_undefined_rates(func_name, rates, stacklevel=3)
    return float(
        fairlearn_metric(
            y_true,
            y_pred,
            sensitive_features=groups,
            method=method,
            sample_weight=weights,
            **options,
        )
    )


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.demographic_parity_difference, *args)


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.demographic_parity_ratio, *args)


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.equalized_odds_difference, *args, agg=agg)


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.equalized_odds_ratio, *args, agg=agg)


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.equal_opportunity_difference, *args)


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
    args = (y_true, y_pred, sensitive_features, method, sample_weight, pos_label)
    return binary_gap(_fm.equal_opportunity_ratio, *args)
