"""Lending decisions and their rates: approval rate, bad rate, the label convention.

A row is *approved* when its decision is not ``bad_label``, and *bad*
when its outcome is ``bad_label`` (see :mod:`sklfair.metrics._cutoffs` for
the convention). :func:`approval_rate` and :func:`bad_rate` are the two
rates of a set of decisions; the checks here (rates in [0, 1], labels that
contain ``bad_label``, a warning when most applicants are "bad") are shared
by the cutoffs, the per-group table and the cutoff scorer.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length

from ..exceptions import LabelConventionWarning
from ._base import column
from ._weights import weights_or_ones

__all__ = [
    "approval_rate",
    "bad_rate",
    "check_rate",
    "is_bad",
    "outcomes_or_none",
    "check_convention",
]


# the labels is_bad compares those of y_true or y_pred with
_OTHER_NAME = {"y_pred": "y_true", "y_true": "y_pred"}


def check_rate(value, name, *, low_open=False):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(value)
        or value < 0
        or value > 1
        or (low_open and value == 0)
    ):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}.")
    return float(value)


def is_bad(y, bad_label, name, other=None):
    """``y == bad_label`` as a bool array, checking that the label exists.

    ``other`` holds the labels ``y`` is compared with (the outcomes of
    decisions ``y_pred``, or the decisions of outcomes ``y_true``): the two
    together must have two labels at most.
    """
    y = column(y, name)
    labels = set(pd.unique(y).tolist())
    where = name
    if other is not None:
        labels |= set(pd.unique(other).tolist())
        where = f"{name} and {_OTHER_NAME.get(name, 'the labels compared')}"
    if len(labels) > 2:
        raise ValueError(
            f"Lending decisions are binary, got {len(labels)} labels "
            f"{sorted(labels, key=str)[:10]} in {where}."
        )
    if len(labels) == 2 and bad_label not in labels:
        raise ValueError(
            f"bad_label={bad_label!r} is not one of the labels "
            f"{sorted(labels, key=str)}; pass bad_label= the label of a bad "
            "outcome (default)."
        )
    return y == bad_label


def outcomes_or_none(y_true):
    return None if y_true is None else column(y_true, "y_true")


def check_convention(bad, w, bad_label, what):
    """Warn when the 'bad' class is the majority (labels probably inverted)."""
    share = float(np.average(bad, weights=w))
    if share > 0.5:
        warnings.warn(
            f"{share:.0%} of the applicants are bad by bad_label={bad_label!r} "
            f"({what}), while defaults are usually the minority: check that "
            "bad_label names the bad outcome (default). Data whose target is 1 "
            "for a good risk, like German credit, need bad_label=0.",
            LabelConventionWarning,
            stacklevel=3,
        )


def approval_rate(y_true, y_pred, *, bad_label=1, sample_weight=None):
    """Share of the applicants approved (``y_pred`` is not ``bad_label``).

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or None
        Outcomes; only used to check ``bad_label`` (may be None).
    y_pred : array-like of shape (n_samples,)
        Decisions: ``bad_label`` for declined, the other label for approved.
    bad_label : label, default=1
        The label of a bad outcome (default), i.e. of a declined applicant.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float
        The approval rate, in [0, 1].

    Examples
    --------
    >>> from sklfair.metrics import approval_rate
    >>> approval_rate(None, [0, 0, 1, 0])    # 1 = predicted default: declined
    0.75
    """
    other = outcomes_or_none(y_true)
    approved = ~is_bad(y_pred, bad_label, "y_pred", other=other)
    if other is not None:
        check_consistent_length(other, approved)
    w = weights_or_ones(sample_weight, approved.size, "approval_rate")
    return float(w @ approved / w.sum())


def bad_rate(y_true, y_pred, *, bad_label=1, sample_weight=None):
    """Share of bad outcomes among the approved applicants.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Outcomes: ``bad_label`` for a default.
    y_pred : array-like of shape (n_samples,)
        Decisions: ``bad_label`` for declined, the other label for approved.
    bad_label : label, default=1
        The label of a bad outcome (default).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (e.g. the amounts lent, for a bad rate by value).

    Returns
    -------
    float
        The bad rate among the approved, in [0, 1]; NaN when nobody is
        approved.

    Examples
    --------
    >>> from sklfair.metrics import bad_rate
    >>> bad_rate([0, 1, 1, 0], [0, 0, 1, 0])  # approved: rows 0, 1, 3
    0.3333...
    """
    y_true = column(y_true, "y_true")
    approved = ~is_bad(y_pred, bad_label, "y_pred", other=y_true)
    bad = is_bad(y_true, bad_label, "y_true", other=column(y_pred, "y_pred"))
    check_consistent_length(bad, approved)
    w = weights_or_ones(sample_weight, approved.size, "bad_rate")
    total = w @ approved
    if total == 0:
        return float("nan")
    return float(w @ (approved & bad) / total)
