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

import warnings

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..exceptions import CutoffTargetWarning
from ._lending import check_convention, check_rate, is_bad
from ._weights import weights_or_ones

__all__ = ["cutoff_for_approval_rate", "cutoff_for_bad_rate"]


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
    approval_rate = check_rate(approval_rate, "approval_rate")
    score = _pd_scores(estimator, X, bad_label)
    w = weights_or_ones(sample_weight, score.size, "cutoff_for_approval_rate")
    check_convention(score, w, bad_label, "mean predicted probability")
    thresholds, approved, _ = _candidates(score, w)
    distance = np.abs(approved / w.sum() - approval_rate)
    # the first (lower) of the nearest rates, with a tolerance for their
    # rounding: 0.3 - 0.2 < 0.2 - 0.1 in floating point
    best = int(np.flatnonzero(distance <= distance.min() + 1e-12)[0])
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
    bad_rate = check_rate(bad_rate, "bad_rate")
    score = _pd_scores(estimator, X, bad_label)
    w = weights_or_ones(sample_weight, score.size, "cutoff_for_bad_rate")
    if y is None:
        bad = score
    else:
        bad = is_bad(y, bad_label, "y").astype(np.float64)
        check_consistent_length(score, bad)
    what = "mean predicted probability" if y is None else "in y"
    check_convention(bad, w, bad_label, what)
    thresholds, approved, inverse = _candidates(score, w)
    bads = np.concatenate([[0.0], np.cumsum(np.bincount(inverse, weights=w * bad))])
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = bads / approved
    # a tolerance for the rounding of the cumulative sums
    feasible = np.flatnonzero(rates[1:] <= bad_rate + 1e-12) + 1
    if feasible.size == 0:
        # the first approval with a weight (rows of weight 0 approve nobody)
        lowest = rates[1:][approved[1:] > 0][0]
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
