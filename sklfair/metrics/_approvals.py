"""Approvals per group at a cutoff: the adverse impact ratio and its table.

:func:`adverse_impact_ratio` is the least-approved group's approval rate
over the most-approved group's (the four-fifths rule); :func:`approval_by_group`
tabulates each group's applicants, approvals, approval rate, bad rate among
the approved and ratio, flagging adverse impact, with a confidence interval
for each rate and each ratio.

The intervals are analytic. A group's approval rate has Wilson's score
interval. Its adverse impact ratio, ``p_g / max_h p_h``, is the smallest of
its ratios to each group (capped at 1, its ratio to itself); each ratio of
two independent proportions ``p_g / p_h`` gets the MOVER-R interval of
Donner and Zou, built from the two Wilson intervals as Newcombe's interval
of a difference is (:func:`ratio_interval`), at Šidák's per-comparison
confidence for the ``k - 1`` ratios, and the group's ratio lies between the
smallest lower and the smallest upper ends. With weights, Kish's effective
size of each group stands for its number of rows.

References
----------
A. Donner and G. Y. Zou, "Closed-form confidence intervals for functions of
the normal mean and standard deviation", Statistical Methods in Medical
Research 21 (2012), 347-359; G. Y. Zou and A. Donner, "Construction of
confidence limits about effect measures: a general approach", Statistics in
Medicine 27 (2008), 1693-1702.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length

from . import _analytic as an
from ._base import check_groups, column
from ._intervals import check_confidence
from ._lending import (
    check_convention,
    check_rate,
    is_bad,
    outcomes_or_none,
)
from ._weights import check_sample_weight, weights_or_ones

__all__ = ["adverse_impact_ratio", "approval_by_group", "ratio_interval"]


def ratio_interval(p1, n1, p2, n2, z):
    """MOVER-R interval of ``p1 / p2``, two independent proportions.

    From the Wilson intervals ``(l1, u1)`` and ``(l2, u2)`` at the same
    ``z``, the ends are the roots of ``(p1 - r p2)^2 = (p1 - l1)^2 +
    r^2 (u2 - p2)^2`` (lower) and of the same with ``u1`` and ``l2``
    (upper): Zou and Donner's method of variance estimates recovery.

    Returns
    -------
    low, high : ndarray
        ``0 <= low <= p1 / p2 <= high``; ``high`` is infinite when ``p2``
        may be 0 (``l2 = 0``), and both are NaN when ``p1 = p2 = 0``.
    """
    p1 = np.asarray(p1, dtype=np.float64)
    p2 = np.asarray(p2, dtype=np.float64)
    l1, u1 = an.wilson(p1, n1, z)
    l2, u2 = an.wilson(p2, n2, z)
    product = p1 * p2
    with np.errstate(divide="ignore", invalid="ignore"):
        # lower: a r^2 - 2 p1 p2 r + c = 0, c >= 0, the root below p1 / p2,
        # in the form that stays finite when a is 0 or negative
        a, c = u2 * (2 * p2 - u2), l1 * (2 * p1 - l1)
        root = np.sqrt(np.maximum(product**2 - a * c, 0.0))
        low = np.where(product + root > 0, c / (product + root), 0.0)
        # upper: the root above p1 / p2; infinite when p2 may be 0
        a, c = l2 * (2 * p2 - l2), u1 * (2 * p1 - u1)
        root = np.sqrt(np.maximum(product**2 - a * c, 0.0))
        high = np.where(a > 0, (product + root) / a, np.inf)
    undefined = (p1 == 0) & (p2 == 0)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def _air_intervals(rates, n, confidence):
    """Each group's adverse impact ratio interval, ``(low, high)`` arrays."""
    k = rates.size
    compared = int(np.sum(n > 0))  # the groups with weight: those compared
    z = an.z_value(an.sidak(confidence, max(compared - 1, 1)))
    g, h = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    low, high = ratio_interval(rates[g], n[g], rates[h], n[h], z)
    # a group's ratio to itself is 1; to a group that approves nobody, +inf
    # a group of weight 0 (no rate) is no group: left out of the others' ratios
    itself = g == h
    skip = itself | (rates[h] == 0) | ~(n[h] > 0)
    low = np.where(skip, np.inf, low)
    high = np.where(skip, np.inf, high)
    low = np.minimum(1.0, np.nan_to_num(low, nan=np.inf).min(axis=1))
    high = np.minimum(1.0, np.nan_to_num(high, nan=np.inf).min(axis=1))
    empty = ~(n > 0)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _group_approvals(approved, sensitive_features, w, bad=None):
    """Group labels, then each group's weight, approved weight (and bads),
    and, when weighted, each group's sums of squared weights (of all and of
    the approved)."""
    groups = check_groups(sensitive_features, approved.size)
    codes, labels = pd.factorize(groups, sort=True)
    ones = np.ones(approved.size) if w is None else w
    totals = [
        np.bincount(codes, weights=ones * values, minlength=len(labels))
        for values in (
            (np.ones(approved.size), approved)
            + (() if bad is None else (approved * bad,))
            + (() if w is None else (w, w * approved))
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
    other = outcomes_or_none(y_true)
    approved = ~is_bad(y_pred, bad_label, "y_pred", other=other)
    if other is not None:
        check_consistent_length(other, approved)
    w = weights_or_ones(sample_weight, approved.size, "adverse_impact_ratio")
    _, applicants, n_approved, *_ = _group_approvals(
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
    confidence=0.95,
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
    confidence : float or None, default=0.95
        Level of the intervals of the approval and bad rates (Wilson) and of the
        adverse impact ratio (MOVER-R, see :mod:`sklfair.metrics._approvals`);
        None for no intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (index name ``"group"``), with columns
        ``applicants`` and ``approved`` (counts, or total weights),
        ``approval_rate`` and its interval ``approval_rate_low`` and
        ``approval_rate_high``, ``bad_rate`` (when ``y_true`` is given;
        Wilson's interval ``bad_rate_low``, ``bad_rate_high``),
        ``adverse_impact_ratio`` and its interval
        ``adverse_impact_ratio_low`` and ``adverse_impact_ratio_high``, and
        ``adverse_impact`` (bool); ``attrs["min_ratio"]`` records
        ``min_ratio`` and ``attrs["confidence"]`` ``confidence``. The
        interval columns are left out when ``confidence`` is None. A group
        whose weights are all 0 has NaN rates and intervals and is left out
        of the other groups' ratios.

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
    >>> table[["adverse_impact_ratio_low", "adverse_impact_ratio_high"]].round(3)
           adverse_impact_ratio_low  adverse_impact_ratio_high
    group
    a                         0.752                        1.0
    b                         0.060                        1.0
    """
    min_ratio = check_rate(min_ratio, "min_ratio", low_open=True)
    if confidence is not None:
        confidence = check_confidence(confidence)
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
    labels, applicants, n_approved, *rest = _group_approvals(
        approved, sensitive_features, w, bad
    )
    bads = rest[:1] if bad is not None else []
    sizes = (applicants, n_approved)
    if w is not None:  # Kish's effective sizes of the applicants and approved
        sizes = (an.kish(applicants, rest[-2]), an.kish(n_approved, rest[-1]))
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
    if confidence is not None:
        _add_intervals(table, *sizes, confidence)
    table.attrs["min_ratio"] = min_ratio
    table.attrs["confidence"] = confidence
    return table


def _add_intervals(table, n, n_approved, confidence):
    """The rates' and ratios' interval columns, after each."""
    rates = table["approval_rate"].to_numpy(dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = an.z_value(confidence)
    low, high = an.wilson(rates, n, z)
    # a group of weight 0 has no rate, so no interval
    empty = ~(n > 0)
    columns = [
        ("approval_rate", (np.where(empty, np.nan, low), np.where(empty, np.nan, high)))
    ]
    if "bad_rate" in table:
        bad = table["bad_rate"].to_numpy(dtype=np.float64)
        known = np.isfinite(bad)
        bad_low, bad_high = an.wilson(np.nan_to_num(bad), n_approved, z)
        columns.append(
            (
                "bad_rate",
                (np.where(known, bad_low, np.nan), np.where(known, bad_high, np.nan)),
            )
        )
    ratio_low, ratio_high = _air_intervals(rates, n, confidence)
    if not np.nanmax(rates, initial=0.0) > 0:  # nobody approved: no ratio
        ratio_low = ratio_high = np.full(rates.size, np.nan)
    columns.append(("adverse_impact_ratio", (ratio_low, ratio_high)))
    for name, ends in columns:
        position = table.columns.get_loc(name) + 1
        table.insert(position, f"{name}_high", ends[1])
        table.insert(position, f"{name}_low", ends[0])
