"""Approvals per group at a cutoff: the adverse impact ratio and its table.

:func:`adverse_impact_ratio` is the least-approved group's approval rate
over the most-approved group's (the four-fifths rule); :func:`approval_by_group`
tabulates each group's applicants, approvals, approval rate, bad rate among
the approved and ratio, flagging adverse impact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length

from ._base import check_groups, column
from ._lending import (
    check_convention,
    check_rate,
    is_bad,
    outcomes_or_none,
)
from ._weights import check_sample_weight, weights_or_ones

__all__ = ["adverse_impact_ratio", "approval_by_group"]


def _group_approvals(approved, sensitive_features, w, bad=None):
    """Group labels, then each group's weight, approved weight (and bads)."""
    groups = check_groups(sensitive_features, approved.size)
    codes, labels = pd.factorize(groups, sort=True)
    ones = np.ones(approved.size) if w is None else w
    totals = [
        np.bincount(codes, weights=ones * values, minlength=len(labels))
        for values in (
            (np.ones(approved.size), approved)
            + (() if bad is None else (approved * bad,))
        )
    ]
    return (labels, *totals)


def adverse_impact_ratio(
    y_true, y_pred, *, sensitive_features, bad_label=1, sample_weight=None
):
    """Smallest group approval rate over the largest (the four-fifths rule).

    The adverse impact ratio of the least-approved group: its approval rate
    divided by that of the most-approved group. The four-fifths rule of
    the US Uniform Guidelines flags adverse impact below 0.8. It is
    fairlearn's :func:`~fairlearn.metrics.demographic_parity_ratio` of the
    approvals. :func:`approval_by_group` gives every group's ratio.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or None
        Outcomes; only used to check ``bad_label`` (may be None).
    y_pred : array-like of shape (n_samples,)
        Decisions: ``bad_label`` for declined, the other label for approved.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    bad_label : label, default=1
        The label of a bad outcome (default), i.e. of a declined applicant.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float
        The ratio in [0, 1] (1: every group approved at the same rate);
        NaN when no group has an approval.

    Examples
    --------
    >>> from sklfair.metrics import adverse_impact_ratio
    >>> decisions = [0, 0, 0, 1, 0, 1, 1, 1]       # 1 = declined
    >>> adverse_impact_ratio(None, decisions, sensitive_features=list("aaaabbbb"))
    0.3333...
    """
    approved = ~is_bad(y_pred, bad_label, "y_pred", other=outcomes_or_none(y_true))
    w = weights_or_ones(sample_weight, approved.size, "adverse_impact_ratio")
    _, applicants, n_approved = _group_approvals(
        approved.astype(np.float64), sensitive_features, w
    )
    rates = n_approved[applicants > 0] / applicants[applicants > 0]
    top = rates.max()
    return float(rates.min() / top) if top > 0 else float("nan")


def approval_by_group(
    y_true,
    y_pred,
    *,
    sensitive_features,
    bad_label=1,
    sample_weight=None,
    min_ratio=0.8,
):
    """Approval rate, bad rate and adverse impact ratio per group, at a cutoff.

    The table a credit committee reads at a cutoff: for each group the
    applicants, the approved, the approval rate, the bad rate among the
    approved (when the outcomes are known) and the adverse impact ratio,
    the group's approval rate over that of the most-approved group, with
    ``adverse_impact`` flagging ratios below ``min_ratio`` (0.8: the
    four-fifths rule).

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or None
        Outcomes (``bad_label`` for a default), or None for applicants whose
        outcome is unknown (no ``bad_rate`` column then).
    y_pred : array-like of shape (n_samples,)
        Decisions, e.g. ``cutoff.predict(X)``: ``bad_label`` for declined,
        the other label for approved.
    sensitive_features : array-like, Series or DataFrame
        Group of each row; several columns form intersectional groups.
    bad_label : label, default=1
        The label of a bad outcome (default), i.e. of a declined applicant.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted counts and rates).
    min_ratio : float in (0, 1], default=0.8
        The ratio below which a group is flagged.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (index name ``"group"``), with columns
        ``applicants`` and ``approved`` (counts, or total weights),
        ``approval_rate``, ``bad_rate`` (when ``y_true`` is given),
        ``adverse_impact_ratio`` and ``adverse_impact`` (bool);
        ``attrs["min_ratio"]`` records ``min_ratio``.

    Warns
    -----
    LabelConventionWarning
        When most outcomes in ``y_true`` are ``bad_label``: it probably
        names the good class.

    See Also
    --------
    adverse_impact_ratio : the smallest ratio alone, e.g. for a scorer.
    sklfair.plotting.plot_approval_by_group : the table as bars.

    Examples
    --------
    >>> from sklfair.metrics import approval_by_group
    >>> outcome   = [0, 0, 1, 1, 0, 0, 0, 1]          # 1 = default
    >>> decisions = [0, 0, 0, 1, 0, 1, 1, 1]          # 1 = declined
    >>> table = approval_by_group(
    ...     outcome, decisions, sensitive_features=list("aaaabbbb"))
    >>> table[["approved", "approval_rate", "bad_rate", "adverse_impact_ratio"]]
           approved  approval_rate  bad_rate  adverse_impact_ratio
    group
    a             3           0.75  0.333333              1.000000
    b             1           0.25  0.000000              0.333333
    >>> table["adverse_impact"].tolist()      # b: 1/3 of a's rate < 4/5
    [False, True]
    """
    min_ratio = check_rate(min_ratio, "min_ratio", low_open=True)
    y_pred = column(y_pred, "y_pred")
    other = outcomes_or_none(y_true)
    approved = (~is_bad(y_pred, bad_label, "y_pred", other=other)).astype(np.float64)
    weighted = sample_weight is not None
    w = check_sample_weight(sample_weight, approved.size, "approval_by_group")
    bad = None
    if other is not None:
        check_consistent_length(other, approved)
        bad = is_bad(other, bad_label, "y_true", other=y_pred).astype(np.float64)
        check_convention(bad, w, bad_label, "in y_true")
    labels, applicants, n_approved, *bads = _group_approvals(
        approved, sensitive_features, w, bad
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "applicants": applicants,
            "approved": n_approved,
            "approval_rate": n_approved / applicants,
        }
        if bads:
            columns["bad_rate"] = np.where(n_approved > 0, bads[0] / n_approved, np.nan)
    table = pd.DataFrame(columns, index=pd.Index(labels, name="group"))
    if not weighted:
        table = table.astype({"applicants": np.int64, "approved": np.int64})
    top = table["approval_rate"].max()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["adverse_impact_ratio"] = (
            table["approval_rate"] / top if top > 0 else np.nan
        )
    table["adverse_impact"] = table["adverse_impact_ratio"] < min_ratio
    table.attrs["min_ratio"] = min_ratio
    return table
