"""Shared plumbing of :mod:`sklfair.metrics`.

The named base metrics (``"selection_rate"``, ``"accuracy"``, ...), the checks
on labels and groups, and the one place that builds fairlearn's
:class:`~fairlearn.metrics.MetricFrame`. Nothing here is public.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    roc_auc_score,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length

from .._sensitive import check_sensitive_features
from ._rates import RATES
from ._weights import drop_weightless


def roc_auc(y_true, y_score, sample_weight=None):
    """Area under the ROC curve of binary 0/1 labels, NaN with one class only.

    Unlike :func:`sklearn.metrics.roc_auc_score` it neither raises nor warns
    when a group holds a single class: the AUC is simply undefined there.
    """
    y_true = np.asarray(y_true)
    if np.unique(y_true).size < 2:
        return float("nan")
    return float(roc_auc_score(y_true, y_score, sample_weight=sample_weight))


# name -> (function, kind). Kinds: "binary" (needs 0/1 labels), "labels" (any
# class labels), "score" (binary 0/1 labels and a continuous score),
# "regression" (numbers), "any".
BASE_METRICS = {
    "count": (count, "any"),
    "selection_rate": (selection_rate, "binary"),
    "true_positive_rate": (true_positive_rate, "binary"),
    "false_positive_rate": (false_positive_rate, "binary"),
    "true_negative_rate": (true_negative_rate, "binary"),
    "false_negative_rate": (false_negative_rate, "binary"),
    "accuracy": (accuracy_score, "labels"),
    "roc_auc": (roc_auc, "score"),
    "mean_prediction": (mean_prediction, "regression"),
    "mean_absolute_error": (mean_absolute_error, "regression"),
    "mean_squared_error": (mean_squared_error, "regression"),
}


#: The rate of :data:`~sklfair.metrics._rates.RATES` that a named base metric
#: is, by function (for the intervals and the undefined-rate warnings).
RATE_OF = {BASE_METRICS[name][0]: name for name in RATES if name in BASE_METRICS}


def resolve_metric(metric):
    """Return ``(name, function, kind)`` for a metric name or a callable."""
    if isinstance(metric, str):
        try:
            func, kind = BASE_METRICS[metric]
        except KeyError:
            raise ValueError(
                f"Unknown metric {metric!r}; use one of {sorted(BASE_METRICS)} "
                "or a callable metric(y_true, y_pred)."
            ) from None
        return metric, func, kind
    if callable(metric):
        name = getattr(metric, "__name__", None) or type(metric).__name__
        return name, metric, "any"
    raise TypeError(
        f"metric must be a metric name or a callable, got {type(metric).__name__}."
    )


def column(y, name):
    """One-dimensional numpy view of a label or prediction vector."""
    if y is None:
        raise ValueError(f"{name} is required, got None.")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional, got an array of shape {arr.shape}."
        )
    return arr


def check_groups(sensitive_features, n_samples, name="sensitive_features"):
    """Group labels as a numpy array, one per row (clear errors on bad input)."""
    if sensitive_features is None:
        raise ValueError(
            f"{name} is required: pass the group of each row (array, Series or "
            "DataFrame; several columns form intersectional groups)."
        )
    groups = check_sensitive_features(sensitive_features, n_samples, name=name)
    return groups.to_numpy()


def _labels(*arrays):
    values = pd.unique(
        pd.Series(np.concatenate([np.asarray(a, dtype=object) for a in arrays]))
    )
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def _is_01(labels):
    def ok(allowed):
        return all(
            isinstance(v, numbers.Number)
            and not isinstance(v, complex)
            and v in allowed
            for v in labels
        )

    return ok({0, 1}) or ok({-1, 1})


def check_class_labels(y_true, y_pred, func_name):
    """Validate class labels (binary or multi-class); reject regression targets."""
    y_true = column(y_true, "y_true")
    y_pred = column(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        kind = type_of_target(y, input_name=name)
        if kind == "continuous":
            raise ValueError(
                f"{func_name} needs class labels, but {name} holds continuous "
                "values. For regression use mean_prediction_difference or "
                "mean_absolute_error_difference; for scores, threshold them first."
            )
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"{func_name} needs a vector of class labels, got {name} of "
                f"type {kind!r}."
            )
    return y_true, y_pred


def binarize(y_true, y_pred, *, pos_label, func_name):
    """Check binary labels and return them as 0/1 (unchanged when already 0/1).

    Raises a clear error for multi-class or continuous labels, and for labels
    other than {0, 1} or {-1, 1} when ``pos_label`` is not given.
    """
    y_true, y_pred = check_class_labels(y_true, y_pred, func_name)
    labels = _labels(y_true, y_pred)
    if len(labels) > 2:
        shown = ", ".join(repr(v) for v in labels[:10])
        raise ValueError(
            f"{func_name} is defined for binary labels, got {len(labels)} classes "
            f"({shown}{', ...' if len(labels) > 10 else ''}). For multi-class "
            "labels use multiclass_demographic_parity_difference or "
            "multiclass_equalized_odds_difference (one-vs-rest, worst class)."
        )
    if pos_label is None:
        if _is_01(labels):
            return y_true, y_pred
        raise ValueError(
            f"{func_name} cannot tell which label is the positive outcome among "
            f"{labels}; pass pos_label= (e.g. pos_label={labels[-1]!r})."
        )
    if len(labels) == 2 and pos_label not in labels:
        raise ValueError(f"pos_label={pos_label!r} is not one of the labels {labels}.")
    return (
        (y_true == pos_label).astype(np.int64),
        (y_pred == pos_label).astype(np.int64),
    )


def positive_label(y_true, y_pred, pos_label):
    """The positive label used by the report: 1 for 0/1 labels, else the last."""
    if pos_label is not None:
        return pos_label
    labels = _labels(y_true, y_pred)
    return 1 if _is_01(labels) else labels[-1]


def accepts_sample_weight(func):
    try:
        return "sample_weight" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def metric_frame(metrics, y_true, y_pred, groups, sample_weight=None):
    """Fairlearn's MetricFrame, passing ``sample_weight`` to the metrics that take it.

    ``metrics`` is a dict name -> callable; ``groups`` a 1-d array or Series;
    ``sample_weight`` weights checked by
    :func:`~sklfair.metrics._weights.check_sample_weight` (or None). A group
    whose weights are all 0 is left out: it has no value.
    """
    sample_params = None
    if sample_weight is not None:
        groups, sample_weight, y_true, y_pred = drop_weightless(
            groups, sample_weight, y_true, y_pred
        )
        sample_params = {
            name: {"sample_weight": sample_weight}
            for name, func in metrics.items()
            if accepts_sample_weight(func)
        }
    return MetricFrame(
        metrics=metrics,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
        sample_params=sample_params or None,
    )
