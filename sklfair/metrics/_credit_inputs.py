"""Checked inputs of the credit metrics: events, scores, bins, groups.

The credit metrics (:mod:`sklfair.metrics._credit`) take binary outcomes
and the score of one class; here they become 0/1 event floats, a float64
score vector (a probability where the metric needs one), checked binning
options and one boolean row mask per group, each checked once so that the
per-group kernels run on plain arrays.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ._base import binarize, check_groups, column
from ._weights import check_sample_weight

__all__ = [
    "checked_inputs",
    "event_vector",
    "score_vector",
    "check_bins",
    "group_masks",
    "subset",
]

_STRATEGIES = ("uniform", "quantile")


def event_vector(y_true, pos_label, func_name):
    """The labels as 0/1 floats, 1 where ``y_true`` is the event ``pos_label``."""
    y = column(y_true, "y_true")
    y01, _ = binarize(y, y, pos_label=pos_label, func_name=func_name)
    return (np.asarray(y01) == 1).astype(np.float64)


def score_vector(y_score, n_samples, func_name, *, probability):
    """A 1-d float64 score vector; in [0, 1] when it must be a probability."""
    arr = np.asarray(y_score)
    if arr.ndim == 2 and arr.shape[1] == 2:
        raise ValueError(
            f"{func_name} takes the score of one class, got an array of shape "
            f"{arr.shape}: pass predict_proba(X)[:, 1] (the column of the class "
            "pos_label names), not the whole predict_proba(X)."
        )
    arr = column(arr, "y_score")
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{func_name} needs numeric scores, got y_score of dtype {arr.dtype}."
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"y_true and y_score have different lengths: {n_samples} and "
            f"{arr.shape[0]}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"y_score holds NaN or infinite values ({func_name}).")
    if probability and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{func_name} needs probabilities in [0, 1], got values from "
            f"{arr.min():.4g} to {arr.max():.4g}. Pass predict_proba's column, "
            "not a decision_function score."
        )
    return arr


def checked_inputs(y_true, y_score, sample_weight, pos_label, func_name, probability):
    """``(events, score, weights)`` of a credit metric, each checked once."""
    events = event_vector(y_true, pos_label, func_name)
    score = score_vector(y_score, events.size, func_name, probability=probability)
    return events, score, check_sample_weight(sample_weight, events.size, func_name)


def check_bins(n_bins, strategy):
    if (
        not isinstance(n_bins, numbers.Integral)
        or isinstance(n_bins, bool)
        or n_bins < 1
    ):
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(
            f"strategy must be one of {list(_STRATEGIES)}, got {strategy!r}."
        )


def subset(w, rows):
    return None if w is None else w[rows]


def group_masks(sensitive_features, n_samples):
    """The sorted group labels and a boolean row mask for each."""
    groups = check_groups(sensitive_features, n_samples)
    codes, labels = pd.factorize(groups, sort=True)
    return [(label, codes == code) for code, label in enumerate(labels)]
