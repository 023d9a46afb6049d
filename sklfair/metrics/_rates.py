"""The rates a gap compares: which rows each averages over, and what.

A per-group rate is the weighted mean of a row value over the rows of an
*event*: the selection rate averages the predictions over all rows, the
true positive rate over the rows whose true label is 1, the false positive
rate over those whose true label is 0. :data:`RATES` names them, and
:data:`GAP_METRICS` says which rates each gap compares and whether as a
difference or a ratio. Nothing here computes a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RATES", "GAP_METRICS", "row_values"]


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
