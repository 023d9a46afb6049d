"""The rates a gap compares: which rows each averages over, and what.

A per-group rate is the weighted mean of a row value over the rows of an
*event*: the selection rate averages the predictions over all rows, the
true positive rate over the rows whose true label is 1, the false positive
rate over those whose true label is 0. :data:`RATES` names them, and
:data:`GAP_METRICS` says which rates each gap compares and whether as a
difference or a ratio. Nothing here computes a gap.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._group_labels import plain_value
from .._sensitive import encode_groups
from ..exceptions import UndefinedRateWarning

__all__ = [
    "RATES",
    "GAP_METRICS",
    "row_values",
    "undefined_rates",
    "warn_undefined_rates",
]


@dataclass(frozen=True)
class _Rate:
    """A per-group rate: the weighted mean of ``value`` over ``event`` rows."""

    kind: str  # "proportion" (values in {0, 1}) or "mean"
    event: int | None  # the true label the rows are restricted to, or None
    value: str  # what is averaged (see row_values)
    nonnegative: bool = True


#: Rates that have an interval, by the name :mod:`sklfair.metrics` gives them.
RATES = {
    "selection_rate": _Rate("proportion", None, "pred"),
    "true_positive_rate": _Rate("proportion", 1, "pred"),
    "false_positive_rate": _Rate("proportion", 0, "pred"),
    "true_negative_rate": _Rate("proportion", 0, "not_pred"),
    "false_negative_rate": _Rate("proportion", 1, "not_pred"),
    "accuracy": _Rate("proportion", None, "correct"),
    "error_rate": _Rate("proportion", None, "error"),
    "mean_prediction": _Rate("mean", None, "pred", nonnegative=False),
    "mean_absolute_error": _Rate("mean", None, "absolute_error"),
    "mean_squared_error": _Rate("mean", None, "squared_error"),
}

#: Gap metrics with an interval: the rates compared and how.
GAP_METRICS = {
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
    "equalized_odds_difference": (
        ("true_positive_rate", "false_positive_rate"),
        "difference",
    ),
    "equalized_odds_ratio": (("true_positive_rate", "false_positive_rate"), "ratio"),
    "equal_opportunity_difference": (("true_positive_rate",), "difference"),
    "equal_opportunity_ratio": (("true_positive_rate",), "ratio"),
    "error_rate_difference": (("error_rate",), "difference"),
    "error_rate_ratio": (("error_rate",), "ratio"),
    "mean_prediction_difference": (("mean_prediction",), "difference"),
    "mean_absolute_error_difference": (("mean_absolute_error",), "difference"),
    "mean_squared_error_difference": (("mean_squared_error",), "difference"),
}


def row_values(value, y_true, y_pred):
    """What a rate averages, row by row (``value`` as in :class:`_Rate`)."""
    if value == "pred":
        return y_pred
    if value == "not_pred":
        return 1.0 - y_pred
    if value == "correct":
        return (y_true == y_pred).astype(np.float64)
    if value == "error":
        return (y_true != y_pred).astype(np.float64)
    if value == "absolute_error":
        return np.abs(y_true - y_pred)
    return (y_true - y_pred) ** 2


def undefined_rates(rate_names, y_true, groups, weights=None, classes=None):
    """Each rate undefined for a group, as text for a message.

    Parameters
    ----------
    rate_names : iterable of str
        Names of :data:`RATES`; those without an event are always defined.
    y_true : ndarray of shape (n_samples,)
        Binary labels (1 is the positive class), or class labels with
        ``classes``.
    groups : array-like of shape (n_samples,)
        The group of each row.
    weights : ndarray of shape (n_samples,), default=None
        Checked sample weights; a row of weight 0 is not in any event, and
        a group of weight 0 is left out (it has no rate at all).
    classes : array-like, default=None
        With multi-class labels: each class in turn is the positive one
        (one-vs-rest).

    Returns
    -------
    list of str
        E.g. ``"false_positive_rate of group 1 (no negatives)"``.
    """
    events = [(name, RATES[name].event) for name in rate_names]
    events = [(name, event) for name, event in events if event is not None]
    if not events:
        return []
    codes, labels = encode_groups(groups)
    weights = np.ones(len(codes)) if weights is None else weights
    weighed = np.bincount(codes, weights=weights, minlength=len(labels)) > 0
    cells = []
    for label in [None] if classes is None else classes:
        positive = np.asarray(y_true == (1 if label is None else label))
        suffix = "" if label is None else f" for class {plain_value(label)!r}"
        for name, event in events:
            rows = positive if event == 1 else ~positive
            totals = np.bincount(
                codes[rows], weights=weights[rows], minlength=len(labels)
            )
            lacking = "positives" if event == 1 else "negatives"
            cells += [
                f"{name} of group {plain_value(labels[g])!r}{suffix} (no {lacking})"
                for g in np.flatnonzero((totals <= 0) & weighed)
            ]
    return cells


def warn_undefined_rates(where, cells, *, note="", stacklevel=1):
    """Warn (:class:`~sklfair.exceptions.UndefinedRateWarning`) about ``cells``.

    ``cells`` come from :func:`undefined_rates`; nothing happens when there
    are none. ``where`` names the function; ``stacklevel`` is counted from
    the caller, as in :func:`warnings.warn`.
    """
    if not cells:
        return
    shown = ", ".join(cells[:6]) + (", ..." if len(cells) > 6 else "")
    warnings.warn(
        f"{where}: {len(cells)} rate(s) are undefined (no rows in the event): "
        f"{shown}. They count as 0, as in fairlearn's metrics, so the gaps "
        f"involving them measure that group against 0.{note}",
        UndefinedRateWarning,
        stacklevel=stacklevel + 1,
    )
