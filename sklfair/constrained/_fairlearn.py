"""The fairlearn adapters: reductions (ExponentiatedGradient) and threshold
post-processing (ThresholdOptimizer) for estimators outside the training loop.

- :func:`fairlearn_moment` translates an sklfair constraint and its bound into
  the matching fairlearn ``Moment``;
- :func:`fit_reductions` and :func:`mixture_proba` /
  :func:`mixture_prediction` fit and read an ``ExponentiatedGradient``
  mixture through its public ``predictors_`` and ``weights_``;
  :func:`mixture_threshold` chooses the cut on the mixture's probability
  whose deterministic decisions keep the bound fairlearn aimed at;
- :func:`fit_threshold` and :func:`threshold_proba` fit a
  ``ThresholdOptimizer`` and read its randomized rule through its public
  ``interpolated_thresholder_.interpolation_dict`` (fairlearn's own
  probabilities come from a private method), with a group-blind rule for
  rows whose group the optimizer never saw;
- :func:`row_uniforms` draws the randomized decisions reproducibly per row.
"""

from __future__ import annotations

import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import _num_samples

from sklfair._fitting import fit_with_params
from sklfair.constraints import (
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.constraints._rates import gaps_from_sums
from sklfair.metrics._calibration import weighted_quantiles

from ._feasibility import event_sizes, gap_floors

__all__ = [
    "THRESHOLD_CONSTRAINTS",
    "fairlearn_moment",
    "aimed_bound",
    "fit_reductions",
    "mixture_proba",
    "mixture_prediction",
    "mixture_threshold",
    "fit_threshold",
    "threshold_proba",
    "thresholded_classifier",
    "interpolated_positive",
    "row_uniforms",
    "repeat_rows",
]

#: sklfair constraint name -> ThresholdOptimizer's ``constraints``.
THRESHOLD_CONSTRAINTS = {
    "demographic_parity": "demographic_parity",
    "equalized_odds": "equalized_odds",
    "equal_opportunity": "true_positive_rate_parity",
}


class fairlearn_pandas_warnings(warnings.catch_warnings):
    """Silence the pandas deprecation warnings fairlearn 0.15 triggers itself
    (``Series.at`` enlargement in ExponentiatedGradient) under pandas 3."""

    def __enter__(self):
        result = super().__enter__()
        for message in (
            "Setting a value on a .* via .at with a key",
            "Setting an item of incompatible dtype",
        ):
            warnings.filterwarnings("ignore", message=message)
        return result


# --------------------------------------------------------------------------
# Moments
# --------------------------------------------------------------------------


def _events(constraint, y):
    if isinstance(constraint, EqualOpportunity):
        return [y == 1]
    if isinstance(constraint, EqualizedOdds):
        return [y == 1, y == 0]
    return [np.ones(len(y), dtype=bool)]


def _difference_bound(bound, events, groups):
    """The bound on ``|group rate - overall rate|`` that keeps every
    between-group difference within ``bound``.

    With two groups of shares ``p`` and ``1 - p`` in an event, a group's
    distance to the overall rate is ``(1 - its share)`` times the
    between-group difference, so ``bound * max(p, 1 - p)`` (the smallest over
    the events) is exact; with more groups ``bound / 2`` guarantees it.
    """
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    if codes.max() + 1 != 2:
        return float(bound) / 2.0
    shares = []
    for event in events:
        counts = np.bincount(codes[event], minlength=2)
        if counts.sum():
            shares.append(counts.max() / counts.sum())
    return float(bound) * (min(shares) if shares else 0.5)


def fairlearn_moment(constraint, y, groups):
    """The fairlearn Moment for ``constraint`` (with its bound) on this data.

    fairlearn bounds each group's rate minus the overall rate, sklfair the
    difference between any two groups; the bound is translated so that the
    two agree (see :func:`_difference_bound`).

    Parameters
    ----------
    constraint : FairnessConstraint
        With its ``bound`` set.
    y : ndarray of shape (n_samples,)
        Class codes (0/1) or regression targets.
    groups : ndarray of shape (n_samples,)
        Group codes.

    Returns
    -------
    moment : fairlearn.reductions.Moment

    Raises
    ------
    ValueError
        For a constraint fairlearn has no Moment for.
    """
    from fairlearn import reductions

    y = np.asarray(y)
    if isinstance(constraint, BoundedGroupLoss):
        y = y.astype(np.float64)
        loss = reductions.SquareLoss(float(y.min()), float(y.max()))
        return reductions.BoundedGroupLoss(loss, upper_bound=float(constraint.bound))
    moments = {
        EqualOpportunity: reductions.TruePositiveRateParity,
        EqualizedOdds: reductions.EqualizedOdds,
        DemographicParity: reductions.DemographicParity,
        ErrorRateParity: reductions.ErrorRateParity,
    }
    moment = next(
        (m for cls, m in moments.items() if type(constraint) is cls),
        None,
    )
    if moment is None:
        raise ValueError(
            f"fairlearn has no reductions Moment for {constraint.name!r}; use a "
            "training-loop method (lagrangian, penalty) with an sklfair net."
        )
    bound = _difference_bound(constraint.bound, _events(constraint, y), groups)
    return moment(difference_bound=bound)


# --------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------


class _FinalStepWeights(BaseEstimator):
    """Fits ``estimator`` with ``sample_weight`` given to its final step.

    fairlearn calls ``fit(X, y, sample_weight=w)``; a Pipeline would reject
    that, so the weights go through :func:`sklfair._fitting.fit_with_params`.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, sample_weight=None):
        self.estimator_ = fit_with_params(
            clone(self.estimator), X, y, sample_weight=sample_weight
        )
        self.classes_ = getattr(self.estimator_, "classes_", None)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def repeat_rows(X, y, groups, sample_weight, method):
    """Integer sample weights as repeated rows (fairlearn takes no weights)."""
    if sample_weight is None:
        return X, y, groups
    counts = np.rint(sample_weight)
    if not np.allclose(counts, sample_weight):
        raise ValueError(
            f"method={method!r} takes integer sample weights only (fairlearn's "
            "reductions and post-processing have no weights, so each row is "
            f"repeated weight times). Use method='lagrangian' with an sklfair "
            "net for real-valued weights."
        )
    rows = np.repeat(np.arange(len(counts)), counts.astype(np.int64))
    if isinstance(X, pd.DataFrame):
        X = X.iloc[rows]
    elif sp.issparse(X):
        X = sp.csr_array(X)[rows]
    else:
        X = np.asarray(X)[rows]
    return X, np.asarray(y)[rows], np.asarray(groups)[rows]


def aimed_bound(
    constraint, y, groups, confidence, *, sample_weight=None, n_classes=None
):
    """The bound the methods without epochs aim at: ``bound - z * se``.

    The margin of the training-loop methods, computed before fitting (the
    reductions and the threshold rules have no epochs to measure their
    decisions on): for every pair of groups and event, ``z`` the one-sided
    normal quantile of ``confidence`` and ``se = sqrt(p (1 - p) (1 / n_a +
    1 / n_b))`` at the anticipated rate ``p`` -- the share of the class among
    the labels for demographic parity, the least favourable 0.5 for the
    conditional and error rates -- with ``n`` the groups' (Kish effective)
    sizes in the event. A pair whose margin would exceed half the bound
    cannot resolve it and sets no margin (as in the loop); the largest margin
    of the others is taken, since fairlearn's Moment and ThresholdOptimizer's
    ``tol`` have one bound for every group.

    Parameters
    ----------
    constraint : FairnessConstraint
        A classification constraint with its ``bound``.
    y : array-like of int of shape (n_samples,)
        Class codes ``0 .. n_classes - 1``.
    groups : array-like of shape (n_samples,)
        The rows' groups.
    confidence : float
        0.5 or less: no margin.
    sample_weight : array-like of shape (n_samples,), default=None
    n_classes : int, default=None
        None: from ``y`` (at least 2).

    Returns
    -------
    aimed : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constrained._fairlearn import aimed_bound
    >>> from sklfair.constraints import DemographicParity
    >>> y = np.tile([0, 0, 0, 1], 5000)  # 25% positives: se 0.0061, margin 0.0101
    >>> groups = np.repeat([0, 1], 10000)
    >>> round(aimed_bound(DemographicParity(bound=0.05), y, groups, 0.95), 4)
    0.0399
    >>> aimed_bound(DemographicParity(bound=0.05), y, groups, 0.5)
    0.05
    """
    bound = float(constraint.bound)
    if (
        confidence <= 0.5
        or constraint.task != "classification"
        # a dependence on a continuous attribute has no groups to resolve
        or getattr(constraint, "continuous_attribute", False)
    ):
        return bound
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    y = np.asarray(y).astype(np.int64, copy=False)
    weight = None if sample_weight is None else np.asarray(sample_weight, float)
    n_classes = max(int(y.max()) + 1, 2) if n_classes is None else n_classes
    n, rates = event_sizes(
        constraint, y, codes, weight, int(codes.max()) + 1, n_classes
    )
    first, second = np.triu_indices(n.shape[1], 1)
    present = (n[:, first] > 0) & (n[:, second] > 0)
    with np.errstate(divide="ignore"):
        inverse = np.where(n > 0, 1.0 / n, np.inf)
    p = rates[:, None]
    z = NormalDist().inv_cdf(float(confidence))
    margins = z * np.sqrt(p * (1.0 - p) * (inverse[:, first] + inverse[:, second]))
    resolvable = margins[present & (margins <= 0.5 * bound)]
    return bound - (float(resolvable.max()) if resolvable.size else 0.0)


def fit_reductions(
    estimator, constraint, X, y, groups, *, eps, max_iter, params, confidence=0.5
):
    """Fit fairlearn's ExponentiatedGradient around ``estimator``, aimed at
    :func:`aimed_bound` (the bound itself with ``confidence=0.5``).

    Returns the fitted ``ExponentiatedGradient`` and the bound it aimed at.
    """
    from fairlearn.reductions import ExponentiatedGradient

    aimed = aimed_bound(constraint, y, groups, confidence)
    if aimed != float(constraint.bound):
        constraint = clone(constraint).set_params(bound=aimed)
    moment = fairlearn_moment(constraint, y, groups)
    try:
        reduction = ExponentiatedGradient(
            _FinalStepWeights(estimator),
            constraints=moment,
            eps=eps,
            max_iter=max_iter,
            **params,
        )
    except TypeError as exc:
        raise TypeError(
            f"method_params does not fit method='reductions': {exc}"
        ) from None
    with fairlearn_pandas_warnings():
        reduction.fit(X, y, sensitive_features=groups)
    return reduction, aimed


def _class_probabilities(estimator, X, n_classes=2):
    """``(n, n_classes)`` probabilities of a classifier trained on codes 0..k-1."""
    classes = np.asarray(getattr(estimator, "classes_", np.arange(n_classes)))
    proba = np.zeros((_num_samples(X), n_classes))
    if hasattr(estimator, "predict_proba"):
        p = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        proba[:, classes.astype(int)] = p.reshape(len(p), -1)
    else:
        pred = np.asarray(estimator.predict(X)).astype(int)
        proba[np.arange(len(pred)), pred] = 1.0
    return proba


def _mixture(reduction, X, predict):
    weights = reduction.weights_
    total = None
    for index, weight in weights.items():
        if weight > 0:
            part = weight * predict(reduction.predictors_[index], X)
            total = part if total is None else total + part
    return total / max(float(weights.sum()), 1e-300)


def mixture_proba(reduction, X):
    """Class probabilities of a fitted binary ExponentiatedGradient mixture."""
    return _mixture(reduction, X, _class_probabilities)


def mixture_prediction(reduction, X):
    """Mean prediction of a fitted ExponentiatedGradient mixture of regressors."""
    return _mixture(
        reduction,
        X,
        lambda predictor, X: np.asarray(predictor.predict(X), np.float64).reshape(-1),
    )


#: Candidate cuts of :func:`mixture_threshold`: the mixture probability's
#: weighted quantiles at these levels on the training rows (besides 0.5).
CUT_QUANTILES = np.linspace(0.0, 1.0, 401)


def mixture_threshold(
    proba, constraint, aimed, y, codes, sample_weight, n_groups, confidence=0.5
):
    """The cut on the mixture's positive probability above which ``predict``
    decides the positive class.

    ExponentiatedGradient's bound holds for its randomized rule (each row's
    decision drawn with the mixture's probability); deciding the most
    probable class instead can move the gaps above it. Every gap is aimed at
    ``aimed`` (the bound fairlearn aimed at), or, for a pair of groups too
    small to tell a gap of ``aimed`` from zero, at the smallest gap it can
    resolve at ``confidence`` (the floors of the lagrangian,
    :func:`~sklfair.constrained._feasibility.gap_floors`). The mixture's most
    probable class (cut 0.5) is kept when its decisions on the training rows
    meet those aims; otherwise the cut is the most accurate one, among 0.5
    and the probability's weighted quantiles on the training rows
    (:data:`CUT_QUANTILES`), whose decisions meet them, and when none does,
    the one with the smallest excess (the claim then says the bound was not
    met). A gap undefined for a pair (a group without rows in an event) sets
    no aim, as in the training loop.

    Parameters
    ----------
    proba : ndarray of shape (n_samples,)
        The mixture's probability of the positive class on the training rows.
    constraint : FairnessConstraint
    aimed : float
        The bound the decisions must meet.
    y, codes : ndarray of shape (n_samples,)
        Class codes (0, 1) and group codes.
    sample_weight : ndarray of shape (n_samples,) or None
    n_groups : int
    confidence : float, default=0.5
        Of the floors (0.5: none).

    Returns
    -------
    threshold : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constrained._fairlearn import mixture_threshold
    >>> from sklfair.constraints import DemographicParity
    >>> codes = np.repeat([0, 1], 4)
    >>> y = np.array([0, 1, 1, 1, 0, 0, 0, 1])
    >>> proba = np.array([0.2, 0.7, 0.8, 0.9, 0.1, 0.2, 0.45, 0.6])
    >>> # at 0.5 the groups' positive rates are 3/4 and 1/4: a gap of 0.5
    >>> float(mixture_threshold(proba, DemographicParity(), 0.25, y, codes, None, 2))
    0.2
    """
    proba = np.asarray(proba, dtype=np.float64)
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    floors = gap_floors(
        constraint, y, codes, sample_weight, n_groups, confidence, n_classes=2
    )
    aims = np.maximum(float(aimed), floors)

    def excess_and_accuracy(cut):
        decided = (proba > cut).astype(np.int64)
        numerator, denominator = constraint.rates(
            y, np.eye(2)[decided], codes, sample_weight, n_groups=n_groups
        )
        gaps, valid = gaps_from_sums(numerator, denominator, constraint.pairwise)
        excess = np.max(gaps[valid] - aims[valid], initial=-np.inf)
        return excess, float(np.sum(weight * (decided == y)))

    if excess_and_accuracy(0.5)[0] <= 0:
        return 0.5
    # integer weights give the quantiles of the repeated rows
    quantiles = weighted_quantiles(proba, weight, CUT_QUANTILES)
    cuts = np.unique(np.append(quantiles, 0.5))
    excess, accuracy = np.array([excess_and_accuracy(cut) for cut in cuts]).T
    meets = excess <= 0
    if not meets.any():
        return float(cuts[np.argmin(excess)])
    best = np.flatnonzero(meets)[np.argmax(accuracy[meets])]
    return float(cuts[best])


# --------------------------------------------------------------------------
# Threshold post-processing
# --------------------------------------------------------------------------


class _Float64Scores(BaseEstimator):
    """A fitted classifier whose scores are handed to fairlearn as float64.

    fairlearn 0.15's ThresholdOptimizer fails on float32 scores under pandas 3.
    """

    def __init__(self, estimator, method):
        self.estimator = estimator
        self.method = method

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y=None, **params):  # already fitted (prefit=True)
        return self

    def predict(self, X):
        scores = getattr(self.estimator, self.method)(X)
        scores = np.asarray(scores, dtype=np.float64)
        if self.method == "predict_proba":
            scores = scores[:, 1]
        return scores.reshape(-1)


def thresholded_classifier(estimator):
    """The fitted classifier whose scores a group-threshold model thresholds.

    For a classifier fitted with ``method="threshold"`` on two classes
    (fairlearn's ``ThresholdOptimizer`` in ``estimator_``), the fitted
    estimator (net or Pipeline) whose score the group thresholds turn into
    decisions; it takes ``X`` without the sensitive columns the model drops.
    None for any other model.
    """
    if getattr(estimator, "method_", None) != "threshold":
        return None
    scores = getattr(getattr(estimator, "estimator_", None), "estimator_", None)
    return scores.estimator if isinstance(scores, _Float64Scores) else None


#: The group-blind decision on a score from each score method: predict the
#: positive class above this.
_BLIND_THRESHOLD = {"predict_proba": 0.5, "decision_function": 0.0, "predict": 0.5}


def fit_threshold(estimator, constraint, X, y, groups, *, params, confidence=0.5):
    """Fit ThresholdOptimizer on a fitted classifier's scores.

    Its ``tol`` (unless ``params`` sets it) is :func:`aimed_bound` at
    ``confidence`` (the bound itself with 0.5); equalized odds has no
    tolerance in fairlearn and is met exactly.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    score_method = next(
        m
        for m in ("predict_proba", "decision_function", "predict")
        if hasattr(estimator, m)
    )
    if constraint.name != "equalized_odds" and "tol" not in params:
        params["tol"] = aimed_bound(constraint, y, groups, confidence)
    try:
        optimizer = ThresholdOptimizer(
            estimator=_Float64Scores(estimator, score_method),
            constraints=THRESHOLD_CONSTRAINTS[constraint.name],
            prefit=True,
            predict_method="predict",
            **params,
        )
    except TypeError as exc:
        raise TypeError(
            f"method_params does not fit method='threshold': {exc}"
        ) from None
    with fairlearn_pandas_warnings():
        optimizer.fit(X, y, sensitive_features=groups)
    return optimizer


def interpolated_positive(interpolation, scores, codes, blind):
    """Probability of the positive decision under a fitted threshold rule.

    ``interpolation`` is a ThresholdOptimizer's public
    ``interpolated_thresholder_.interpolation_dict``: per group, the
    probabilities ``p0``/``p1`` of two threshold operations on the score, and
    optionally ``p_ignore`` of a constant prediction -- what fairlearn's
    private ``_pmf_predict`` computes. Rows of a group the rule does not know
    get ``blind``, the group-blind decision.
    """
    positive = np.asarray(blind, dtype=np.float64).copy()
    for group, rule in interpolation.items():
        rows = codes == group
        if not rows.any():
            continue
        s = scores[rows]
        p = rule.p0 * rule.operation0(s) + rule.p1 * rule.operation1(s)
        if "p_ignore" in rule:
            p = rule.p_ignore * rule.prediction_constant + (1 - rule.p_ignore) * p
        positive[rows] = p
    return positive


def threshold_proba(optimizer, X, codes):
    """Probability of each decision of a ThresholdOptimizer fitted by
    :func:`fit_threshold`; rows whose code is -1 (a group the optimizer never
    saw) get the group-blind decision of the estimator's score.

    Returns
    -------
    proba : ndarray of shape (n_samples, 2)
    """
    scorer = optimizer.estimator
    scores = scorer.predict(X)
    blind = scores > _BLIND_THRESHOLD[scorer.method]
    positive = interpolated_positive(
        optimizer.interpolated_thresholder_.interpolation_dict, scores, codes, blind
    )
    return np.column_stack([1.0 - positive, positive])


def row_uniforms(X, seed):
    """One pseudo-random number in [0, 1) per row, a function of its content.

    Rows with the same values get the same number, in any batch and any order,
    so randomized decisions are reproducible and do not depend on which other
    rows are predicted with them.
    """
    if sp.issparse(X):
        X = sp.csr_array(X)
        X.sum_duplicates()
        X.sort_indices()
        X.eliminate_zeros()
        cells = pd.util.hash_array(X.data.astype(np.float64)) ^ pd.util.hash_array(
            X.indices.astype(np.int64)
        )
        cells = cells * np.uint64(0x9E3779B97F4A7C15)
        hashes = np.zeros(X.shape[0], dtype=np.uint64)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        np.add.at(hashes, rows, cells)
    else:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    z = hashes.astype(np.uint64) ^ np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
