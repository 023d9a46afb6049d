"""Lenders' cutoffs: the decision threshold for a target, and who it approves.

A lender approves the applicants whose predicted probability of default
(PD) is below a cutoff, and sets the cutoff for a business target: an
approval rate ("approve 70% of applicants"), a bad rate among the approved
("at most 5% of the loans we make default"), or a profit. The cutoffs are
scikit-learn's own decision-threshold classifiers:

- :func:`cutoff_for_approval_rate` and :func:`cutoff_for_bad_rate` return a
  :class:`~sklearn.model_selection.FixedThresholdClassifier` around the
  fitted (frozen) model;
- :func:`make_cutoff_scorer` makes the objective of a
  :class:`~sklearn.model_selection.TunedThresholdClassifierCV`, which picks
  the cutoff by cross-validation.

At the cutoff, :func:`approval_by_group` tabulates each group's approval
rate, bad rate among the approved and :func:`adverse_impact_ratio` (the
four-fifths rule); :func:`approval_rate` and :func:`bad_rate` are the two
rates on their own, for :class:`~fairlearn.metrics.MetricFrame` or
:func:`~sklearn.metrics.make_scorer`.

**Label convention.** ``bad_label`` names the class of a bad outcome
(default), 1 by default as in most credit data (Taiwan credit: 1 =
default). A row is *approved* when its predicted label is not
``bad_label`` (predicted good), and the cutoff classifiers predict
``bad_label`` when the PD, ``predict_proba``'s column for ``bad_label``,
is at or above the cutoff: scikit-learn's ``pos_label`` is the bad label.
Data whose target is 1 for a *good* risk (German credit) needs
``bad_label=0``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import make_scorer
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..exceptions import CutoffTargetWarning, LabelConventionWarning
from ._base import check_groups, column

__all__ = [
    "cutoff_for_approval_rate",
    "cutoff_for_bad_rate",
    "make_cutoff_scorer",
    "approval_rate",
    "bad_rate",
    "adverse_impact_ratio",
    "approval_by_group",
]

_OBJECTIVES = ("approval_rate", "bad_rate", "profit")


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def _check_rate(value, name, *, low_open=False):
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


def _weights(sample_weight, n_samples):
    if sample_weight is None:
        return np.ones(n_samples)
    w = column(sample_weight, "sample_weight").astype(np.float64, copy=False)
    check_consistent_length(np.empty(n_samples), w)
    if not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("sample_weight must hold finite, non-negative values.")
    if w.sum() == 0:
        raise ValueError("sample_weight sums to 0: there is nothing to rate.")
    return w


def _is_bad(y, bad_label, name, other=None):
    """``y == bad_label`` as a bool array, checking that the label exists."""
    y = column(y, name)
    labels = set(pd.unique(y).tolist())
    if other is not None:
        labels |= set(pd.unique(other).tolist())
    if len(labels) > 2:
        raise ValueError(
            f"Lending decisions are binary, got {len(labels)} labels "
            f"{sorted(labels, key=str)[:10]} in {name}."
        )
    if len(labels) == 2 and bad_label not in labels:
        raise ValueError(
            f"bad_label={bad_label!r} is not one of the labels "
            f"{sorted(labels, key=str)}; pass bad_label= the label of a bad "
            "outcome (default)."
        )
    return y == bad_label


def _pd_scores(estimator, X, bad_label):
    """The probability of ``bad_label`` predicted by a fitted binary classifier."""
    check_is_fitted(estimator)
    classes = np.asarray(estimator.classes_)
    if classes.size != 2:
        raise ValueError(
            f"A lending cutoff needs a binary classifier, got classes {list(classes)}."
        )
    position = np.flatnonzero(classes == bad_label)
    if position.size != 1:
        raise ValueError(
            f"bad_label={bad_label!r} is not one of the estimator's classes "
            f"{list(classes)}; pass bad_label= the class of a bad outcome "
            "(default)."
        )
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(
            f"{type(estimator).__name__} has no predict_proba: a cutoff on the "
            "probability of default needs one (calibrate it with "
            "sklearn.calibration.CalibratedClassifierCV)."
        )
    return np.asarray(estimator.predict_proba(X), dtype=np.float64)[:, position[0]]


def _cutoff_classifier(estimator, threshold, bad_label):
    return FixedThresholdClassifier(
        FrozenEstimator(estimator),
        threshold=float(threshold),
        pos_label=bad_label,
        response_method="predict_proba",
    )


def _candidates(score, w):
    """Each possible cutoff and the weight approved below it.

    The cutoffs are the distinct scores, then one just above the largest
    (everybody approved); rows approved at cutoff ``t`` are those with a
    score below ``t``. Returns the cutoffs, the approved weight at each and
    the index of each row's score.
    """
    values, inverse = np.unique(score, return_inverse=True)
    at_value = np.bincount(inverse, weights=w)
    approved = np.concatenate([[0.0], np.cumsum(at_value)])
    thresholds = np.append(values, np.nextafter(values[-1], np.inf))
    return thresholds, approved, inverse


# --------------------------------------------------------------------------
# Cutoffs
# --------------------------------------------------------------------------


def cutoff_for_approval_rate(
    estimator, X, approval_rate=0.7, *, bad_label=1, sample_weight=None
):
    """The cutoff that approves a target share of the applicants in ``X``.

    The cutoff is the probability of default (PD) below which the share
    ``approval_rate`` of the applicants in ``X`` (their weight, with
    ``sample_weight``) is approved: the lowest-risk applicants first. With
    tied scores the achieved rate is the nearest one possible (the lower of
    two equally near). No outcome is needed, so ``X`` may be the applicants
    of the period the cutoff is for.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted classifier
        A binary classifier with ``predict_proba`` (or a Pipeline ending in
        one), fitted. It is wrapped in a
        :class:`~sklearn.frozen.FrozenEstimator`: it is not refitted.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The applicants the target refers to, as ``estimator`` takes them.
    approval_rate : float in [0, 1], default=0.7
        The share of applicants to approve.
    bad_label : label, default=1
        The class of a bad outcome (default); the PD is ``predict_proba``'s
        column for it.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the applicants in the approval rate.

    Returns
    -------
    sklearn.model_selection.FixedThresholdClassifier
        Ready to predict (no fit needed): ``predict`` gives ``bad_label``
        (declined) where the PD is at or above ``threshold``, the other
        class (approved) below it.

    Warns
    -----
    LabelConventionWarning
        When the mean predicted probability of ``bad_label`` is above 0.5:
        it probably names the good class.

    See Also
    --------
    cutoff_for_bad_rate : a cutoff for a target bad rate among the approved.
    approval_by_group : approval and bad rates per group at the cutoff.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.metrics import cutoff_for_approval_rate
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = (X[:, 0] + rng.normal(size=500) > 1).astype(int)   # 1 = default
    >>> model = LogisticRegression().fit(X, y)
    >>> cutoff = cutoff_for_approval_rate(model, X, approval_rate=0.7)
    >>> cutoff
    FixedThresholdClassifier(estimator=FrozenEstimator(...), pos_label=1,
                             response_method='predict_proba', threshold=...)
    >>> float(np.mean(cutoff.predict(X) != 1))     # share approved
    0.7
    """
    approval_rate = _check_rate(approval_rate, "approval_rate")
    score = _pd_scores(estimator, X, bad_label)
    w = _weights(sample_weight, score.size)
    _check_convention(score, w, bad_label, "mean predicted probability")
    thresholds, approved, _ = _candidates(score, w)
    rates = approved / w.sum()
    best = int(np.argmin(np.abs(rates - approval_rate)))  # first: the lower rate
    return _cutoff_classifier(estimator, thresholds[best], bad_label)


def cutoff_for_bad_rate(
    estimator, X, y=None, *, bad_rate, bad_label=1, sample_weight=None
):
    """The cutoff approving the most applicants with at most a target bad rate.

    Approving the applicants of ``X`` from the lowest probability of
    default (PD) up, the cutoff stops at the largest approval whose bad
    rate among the approved is at most ``bad_rate``. The bad rate is the
    observed one when the outcomes ``y`` are given, and the expected one
    (the mean PD of the approved) otherwise, which needs a calibrated model.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted classifier
        A binary classifier with ``predict_proba`` (or a Pipeline ending in
        one), fitted; wrapped in a :class:`~sklearn.frozen.FrozenEstimator`.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The applicants, as ``estimator`` takes them.
    y : array-like of shape (n_samples,), default=None
        Their outcomes. When None, the bad rate is the expected one.
    bad_rate : float in [0, 1]
        The highest bad rate allowed among the approved.
    bad_label : label, default=1
        The class of a bad outcome (default).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the applicants (e.g. the amounts lent, for a bad rate by
        value).

    Returns
    -------
    sklearn.model_selection.FixedThresholdClassifier
        Ready to predict: ``bad_label`` (declined) where the PD is at or
        above ``threshold``.

    Warns
    -----
    CutoffTargetWarning
        When even the lowest-risk applicants have a bad rate above
        ``bad_rate``: the cutoff returned approves nobody.
    LabelConventionWarning
        When most applicants are bad (observed, or by the mean predicted
        probability): ``bad_label`` probably names the good class.

    See Also
    --------
    cutoff_for_approval_rate : a cutoff for a target approval rate.
    make_cutoff_scorer : the same target, cross-validated.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.metrics import bad_rate, cutoff_for_bad_rate
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = (X[:, 0] + rng.normal(size=500) > 1).astype(int)   # 1 = default
    >>> model = LogisticRegression().fit(X, y)
    >>> cutoff = cutoff_for_bad_rate(model, X, y, bad_rate=0.05)
    >>> bool(bad_rate(y, cutoff.predict(X)) <= 0.05)
    True
    """
    bad_rate = _check_rate(bad_rate, "bad_rate")
    score = _pd_scores(estimator, X, bad_label)
    w = _weights(sample_weight, score.size)
    if y is None:
        bad = score
    else:
        bad = _is_bad(y, bad_label, "y").astype(np.float64)
        check_consistent_length(score, bad)
    what = "mean predicted probability" if y is None else "in y"
    _check_convention(bad, w, bad_label, what)
    thresholds, approved, inverse = _candidates(score, w)
    bads = np.concatenate([[0.0], np.cumsum(np.bincount(inverse, weights=w * bad))])
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = bads / approved
    # a tolerance for the rounding of the cumulative sums
    feasible = np.flatnonzero(rates[1:] <= bad_rate + 1e-12) + 1
    if feasible.size == 0:
        lowest = rates[1]
        warnings.warn(
            f"No cutoff keeps the bad rate among the approved at or below "
            f"{bad_rate:g}: the lowest-risk applicants alone have a bad rate of "
            f"{lowest:.4g}. The cutoff returned approves nobody.",
            CutoffTargetWarning,
            stacklevel=2,
        )
        best = 0
    else:
        best = int(feasible[-1])
    return _cutoff_classifier(estimator, thresholds[best], bad_label)


# --------------------------------------------------------------------------
# Rates of decisions
# --------------------------------------------------------------------------


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
    approved = ~_is_bad(y_pred, bad_label, "y_pred", other=_other(y_true))
    w = _weights(sample_weight, approved.size)
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
    approved = ~_is_bad(y_pred, bad_label, "y_pred", other=y_true)
    bad = _is_bad(y_true, bad_label, "y_true", other=column(y_pred, "y_pred"))
    check_consistent_length(bad, approved)
    w = _weights(sample_weight, approved.size)
    total = w @ approved
    if total == 0:
        return float("nan")
    return float(w @ (approved & bad) / total)


def _other(y_true):
    return None if y_true is None else column(y_true, "y_true")


# --------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------


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
    approved = ~_is_bad(y_pred, bad_label, "y_pred", other=_other(y_true))
    w = _weights(sample_weight, approved.size)
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
    min_ratio = _check_rate(min_ratio, "min_ratio", low_open=True)
    y_pred = column(y_pred, "y_pred")
    other = _other(y_true)
    approved = (~_is_bad(y_pred, bad_label, "y_pred", other=other)).astype(np.float64)
    weighted = sample_weight is not None
    w = _weights(sample_weight, approved.size) if weighted else None
    bad = None
    if other is not None:
        check_consistent_length(other, approved)
        bad = _is_bad(other, bad_label, "y_true", other=y_pred).astype(np.float64)
        _check_convention(bad, w, bad_label, "in y_true")
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


def _check_convention(bad, w, bad_label, what):
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


# --------------------------------------------------------------------------
# Scorer for TunedThresholdClassifierCV
# --------------------------------------------------------------------------


def _lending_objective(
    y_true,
    y_pred,
    *,
    pos_label,
    objective,
    max_bad_rate=None,
    min_approval_rate=None,
    gain=None,
    loss=None,
    sample_weight=None,
):
    """Objective value of lending decisions; infeasible ones score below all others.

    ``pos_label`` is the bad label (scikit-learn's name: the class whose
    score is thresholded). A decision breaking a constraint scores the
    objective's lowest possible value minus its violation, so that the
    search moves towards feasibility and prefers any feasible cutoff.
    """
    y_true = column(y_true, "y_true")
    y_pred = column(y_pred, "y_pred")
    w = _weights(sample_weight, y_true.size)
    bad = _is_bad(y_true, pos_label, "y_true", other=y_pred)
    approved = ~_is_bad(y_pred, pos_label, "y_pred", other=y_true)
    total, n_approved = w.sum(), w @ approved
    approval = n_approved / total
    bads = w @ (approved & bad)
    rate = bads / n_approved if n_approved > 0 else np.nan
    if objective == "approval_rate":
        value, lowest = approval, 0.0
    elif objective == "bad_rate":
        value, lowest = (-rate if n_approved > 0 else -1.0), -1.0
    else:
        value = (gain * (n_approved - bads) - loss * bads) / total
        lowest = -loss
    violation = 0.0
    if max_bad_rate is not None and n_approved > 0:
        violation += max(0.0, rate - max_bad_rate)
    if min_approval_rate is not None:
        violation += max(0.0, min_approval_rate - approval)
    return float(value if violation == 0 else lowest - violation)


def make_cutoff_scorer(
    objective="approval_rate",
    *,
    bad_label=1,
    max_bad_rate=None,
    min_approval_rate=None,
    gain=None,
    loss=None,
):
    """Make the objective of a cutoff search for ``TunedThresholdClassifierCV``.

    The scorer rates the lending decisions at a cutoff (greater is better),
    for :class:`sklearn.model_selection.TunedThresholdClassifierCV`, which
    tries cutoffs on the probability of default and keeps the best on
    average over its cross-validation folds:

    - ``"approval_rate"``: approve as many as possible while the bad rate
      among the approved stays at most ``max_bad_rate``;
    - ``"bad_rate"``: the lowest bad rate among the approved while at least
      ``min_approval_rate`` of the applicants are approved (scored as minus
      the bad rate);
    - ``"profit"``: the mean profit per applicant, ``gain`` for each good
      loan approved and ``-loss`` for each bad one (declined: 0), optionally
      under either constraint. With ``sample_weight`` routed to the scorer
      (e.g. the amounts lent), profits are in money.

    A cutoff that breaks a constraint scores below every cutoff that meets
    it, by how far it misses. The scorer's ``pos_label`` is ``bad_label``,
    so the search thresholds the probability of ``bad_label`` and its
    ``predict`` gives ``bad_label`` (declined) at or above the cutoff. It
    also works as a plain scorer of a classifier's ``predict``.

    .. versionadded:: 0.1

    Parameters
    ----------
    objective : {"approval_rate", "bad_rate", "profit"}, default="approval_rate"
        What to maximize (the bad rate is minimized).
    bad_label : label, default=1
        The class of a bad outcome (default).
    max_bad_rate : float in [0, 1], default=None
        The highest bad rate allowed among the approved. Required for
        ``"approval_rate"``.
    min_approval_rate : float in (0, 1], default=None
        The lowest approval rate allowed. Required for ``"bad_rate"``.
    gain : float, default=None
        Profit of a good loan approved. Required for ``"profit"``.
    loss : float, default=None
        Loss on a bad loan approved (positive). Required for ``"profit"``.

    Returns
    -------
    scorer : callable
        A scikit-learn scorer, ``scorer(estimator, X, y)``.

    See Also
    --------
    cutoff_for_bad_rate : the cutoff for a bad rate on one data set, no CV.
    sklearn.model_selection.TunedThresholdClassifierCV : the search.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import TunedThresholdClassifierCV
    >>> from sklfair.metrics import bad_rate, make_cutoff_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> y = (X[:, 0] + rng.normal(size=1000) > 1).astype(int)   # 1 = default
    >>> scorer = make_cutoff_scorer("approval_rate", max_bad_rate=0.08)
    >>> tuned = TunedThresholdClassifierCV(
    ...     LogisticRegression(), scoring=scorer, cv=5).fit(X, y)
    >>> decisions = tuned.predict(X)       # 1: declined (PD >= the cutoff)
    >>> round(float((decisions != 1).mean()), 2), round(bad_rate(y, decisions), 2)
    (0.54, 0.06)
    """
    if objective not in _OBJECTIVES:
        raise ValueError(
            f"objective must be one of {list(_OBJECTIVES)}, got {objective!r}."
        )
    if max_bad_rate is not None:
        max_bad_rate = _check_rate(max_bad_rate, "max_bad_rate")
    if min_approval_rate is not None:
        min_approval_rate = _check_rate(
            min_approval_rate, "min_approval_rate", low_open=True
        )
    if objective == "approval_rate" and max_bad_rate is None:
        raise ValueError(
            "objective='approval_rate' needs max_bad_rate=: without it the "
            "best cutoff approves everybody."
        )
    if objective == "bad_rate" and min_approval_rate is None:
        raise ValueError(
            "objective='bad_rate' needs min_approval_rate=: without it the "
            "best cutoff approves (almost) nobody."
        )
    if objective == "profit":
        for name, value in (("gain", gain), ("loss", loss)):
            if (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not np.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"objective='profit' needs {name}= a non-negative number, "
                    f"got {value!r}."
                )
        gain, loss = float(gain), float(loss)
    elif gain is not None or loss is not None:
        raise ValueError("gain= and loss= are only used by objective='profit'.")
    return make_scorer(
        _lending_objective,
        response_method="predict",
        pos_label=bad_label,
        objective=objective,
        max_bad_rate=max_bad_rate,
        min_approval_rate=min_approval_rate,
        gain=gain,
        loss=loss,
    )
