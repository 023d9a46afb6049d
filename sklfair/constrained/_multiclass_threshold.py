"""Multi-class post-processing: per-group offsets to a classifier's log-scores.

fairlearn's ThresholdOptimizer is binary. For ``k > 2`` classes,
``method="threshold"`` of :class:`~sklfair.constrained.FairConstrainedClassifier`
fits a :class:`GroupOffsets` rule instead:

    decision(x) = argmax_c  log p_c(x) + offset[group(x), c]

one additive offset per (group, class) on the fitted classifier's
log-probabilities (or its ``decision_function``), i.e. each group's class
probabilities are reweighted by ``exp(offset)`` before the argmax. The rule
is deterministic, and its :meth:`~GroupOffsets.predict_proba` is the softmax
of the same shifted scores, so that the most probable class is the decision.

What is optimised
-----------------
On the training rows, :func:`fit_offsets` runs a *coordinate search*: it
visits the offsets one (group, class) at a time and sets each to the value
that is best *lexicographically* for

1. the total excess of the constrained gaps over the bound, ``sum_e max(0,
   max_g rate[e, g] - min_g rate[e, g] - bound)``, then
2. the weighted training error,

among every value that changes the decisions (an exact line search: a
group's decisions change only where a row's shifted score for the class
crosses its best other class, so the rates are evaluated at every such
crossing at once, from cumulative sums of the group's confusion matrix).
Rounds repeat until no single offset improves the pair. When that stops
above the bound, the search goes on from there with a tie-breaker between
the two: the total excess over the bound of the gaps between the group and
each other group. With three groups or more the excess alone has plateaus
-- two groups hold the extremes, and a move of either alone leaves the
spread as it is -- which the pairs' excess leaves, moving the groups
towards each other one at a time; no move of this second search raises
the excess. The result is a local optimum -- not the best rule of the
family -- which meets the bound on the training rows whenever the search
reaches a feasible point (the claim at fit says whether it did). An
undefined rate (a group with no row of a class) counts as 0, as in the
claim and the metrics.

Constraints (the rates of :mod:`sklfair.constraints`): demographic parity
(``P(pred = c | group)`` for every class), equal opportunity (recall of
every class), equalized odds (``P(pred = c | y = k, group)`` for every pair)
and error-rate parity.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import _num_samples

__all__ = ["MULTICLASS_THRESHOLD_CONSTRAINTS", "GroupOffsets", "fit_offsets"]

#: The constraints the multi-class threshold method supports.
MULTICLASS_THRESHOLD_CONSTRAINTS = (
    "demographic_parity",
    "equal_opportunity",
    "equalized_odds",
    "error_rate_parity",
)

#: Smallest probability whose logarithm is taken.
_FLOOR = 1e-12
#: Improvements smaller than this are ties.
_TOL = 1e-12


def log_scores(estimator, X, n_classes):
    """``(n, n_classes)`` log-scores of a classifier fitted on class codes:
    log-probabilities, or its decision function when it has no probabilities."""
    classes = np.asarray(getattr(estimator, "classes_", np.arange(n_classes)))
    classes = classes.astype(np.int64)
    n = _num_samples(X)
    if hasattr(estimator, "predict_proba"):
        proba = np.zeros((n, n_classes))
        proba[:, classes] = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        return np.log(np.maximum(proba, _FLOOR))
    if hasattr(estimator, "decision_function"):
        scores = np.full((n, n_classes), -np.inf)
        decision = np.asarray(estimator.decision_function(X), dtype=np.float64)
        scores[:, classes] = decision.reshape(n, -1)
        return scores
    raise TypeError(
        f"method='threshold' with {n_classes} classes shifts the classifier's "
        f"class scores, but {type(estimator).__name__} has neither predict_proba "
        "nor decision_function."
    )


class GroupOffsets:
    """A fitted classifier followed by per-group offsets to its log-scores.

    Built by :func:`fit_offsets`; see the module docstring.

    Attributes
    ----------
    estimator : classifier
        The fitted classifier, trained on class codes ``0 .. n_classes - 1``.
    offsets_ : ndarray of shape (n_groups, n_classes)
        The offset of each (group code, class code), centred per group.
    n_iter_ : int
        Rounds of the coordinate search (both searches together).
    violation_ : float
        Total excess of the gaps over the bound the search aimed at, on the
        training rows (0 when it is met there).
    """

    def __init__(self, estimator, offsets, n_iter, violation):
        self.estimator = estimator
        self.offsets_ = offsets
        self.n_iter_ = n_iter
        self.violation_ = violation

    def decision_scores(self, X, codes):
        """Shifted log-scores; rows of code -1 (a group unseen at fit) keep
        the classifier's own scores (the group-blind rule)."""
        scores = log_scores(self.estimator, X, self.offsets_.shape[1])
        known = np.asarray(codes) >= 0
        scores[known] += self.offsets_[np.asarray(codes)[known]]
        return scores

    def predict_codes(self, X, codes):
        """Class code of each row's decision."""
        return self.decision_scores(X, codes).argmax(axis=1)

    def predict_proba(self, X, codes):
        """Softmax of the shifted scores: its argmax is the decision."""
        scores = self.decision_scores(X, codes)
        scores -= scores.max(axis=1, keepdims=True)
        proba = np.exp(scores)
        return proba / proba.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------
# Rates from confusion matrices (many at once)
# --------------------------------------------------------------------------


def _rates(name, confusion):
    """Rates ``(..., n_events)`` from confusion matrices ``(..., k, k)``
    indexed [true, predicted]; an undefined rate is 0."""
    total = confusion.sum(axis=(-2, -1))
    row = confusion.sum(axis=-1)  # rows of each true class

    def ratio(numerator, denominator):
        return np.divide(
            numerator,
            denominator,
            out=np.zeros(np.broadcast(numerator, denominator).shape),
            where=denominator > 0,
        )

    if name == "demographic_parity":
        return ratio(confusion.sum(axis=-2), total[..., None])
    if name == "equal_opportunity":
        return ratio(np.diagonal(confusion, axis1=-2, axis2=-1), row)
    if name == "equalized_odds":
        k = confusion.shape[-1]
        return ratio(confusion, row[..., None]).reshape(*confusion.shape[:-2], k * k)
    correct = np.trace(confusion, axis1=-2, axis2=-1)
    return ratio(total - correct, total)[..., None]  # error_rate_parity


def _excess(rates_g, low, high, bound):
    """Total excess over ``bound`` of the spreads, with one group's rates
    ``rates_g`` (..., E) joining the others' extremes ``low``/``high`` (E,)."""
    spread = np.maximum(high, rates_g) - np.minimum(low, rates_g)
    return np.maximum(spread - bound, 0.0).sum(axis=-1)


def _pair_excess(rates_g, others, bound):
    """Total excess over ``bound`` of the gaps between one group's rates
    ``rates_g`` (..., E) and each other group's, ``others`` (G - 1, E): 0
    exactly when :func:`_excess` is, but it also falls when the group moves
    towards one other group while the extremes stay put."""
    gaps = np.abs(rates_g[..., None, :] - others) - bound
    return np.maximum(gaps, 0.0).sum(axis=(-2, -1))


def _violation(name, confusion, bound):
    """Total excess over ``bound`` of the spreads of the groups' rates, from
    their confusion matrices ``(n_groups, k, k)``."""
    rates = _rates(name, confusion)
    return float(np.maximum(rates.max(axis=0) - rates.min(axis=0) - bound, 0.0).sum())


def _improves(keys, current):
    """Whether ``keys`` are lexicographically smaller than ``current``
    (differences within ``_TOL`` are ties)."""
    for key, now in zip(keys, current, strict=True):
        if key < now - _TOL:
            return True
        if key > now + _TOL:
            return False
    return False


def _confusions(y, decisions, codes, weight, n_groups, k):
    cells = (codes * k + y) * k + decisions
    counts = np.bincount(cells, weights=weight, minlength=n_groups * k * k)
    return counts.reshape(n_groups, k, k)


# --------------------------------------------------------------------------
# The coordinate search
# --------------------------------------------------------------------------


def _line_search(scores, y, weight, c, k, base_confusion):
    """Every distinct decision of one group when only class ``c``'s offset
    moves: the offset values and the group's confusion matrix at each.

    ``scores`` are the group's shifted log-scores. A row takes class ``c``
    when ``offset_c + score_c > `` its best other shifted score, i.e. when the
    offset passes ``tau = best_other - scores_c`` (relative to the current
    offset).
    """
    others = scores.copy()
    others[:, c] = -np.inf
    best_other = others.argmax(axis=1)
    tau = others[np.arange(len(y)), best_other] - scores[:, c]
    finite = np.isfinite(tau)
    order = np.argsort(np.where(finite, tau, np.inf), kind="stable")
    tau = tau[order]
    rows_y, rows_other, rows_w = y[order], best_other[order], weight[order]
    # confusion with no row taking c, then each row switching from its best
    # other class to c, in the order of tau
    none = base_confusion.copy()
    current = scores.argmax(axis=1)
    np.subtract.at(none, (y, current), weight)
    np.add.at(none, (y, best_other), weight)
    step = np.zeros((len(tau), k, k))
    step[np.arange(len(tau)), rows_y, c] += rows_w
    step[np.arange(len(tau)), rows_y, rows_other] -= rows_w
    n_finite = int(finite.sum())
    tau, step = tau[:n_finite], step[:n_finite]
    last = np.r_[np.flatnonzero(np.diff(tau) > 0), n_finite - 1] if n_finite else []
    cumulative = np.cumsum(step, axis=0)[last] if n_finite else np.zeros((0, k, k))
    confusion = np.concatenate([none[None], none[None] + cumulative])
    # an offset inside each interval of tau: below all, between, above all
    cut = tau[last] if n_finite else np.empty(0)
    values = np.r_[
        (cut[0] - 1.0) if n_finite else 0.0,
        (cut[:-1] + cut[1:]) / 2.0,
        (cut[-1] + 1.0) if n_finite else np.empty(0),
    ]
    return values, confusion


def fit_offsets(
    estimator,
    constraint,
    X,
    y,
    codes,
    *,
    n_groups,
    n_classes,
    sample_weight=None,
    max_rounds=100,
    aim=None,
):
    """Fit per-group offsets to a fitted classifier's log-scores.

    Parameters
    ----------
    estimator : classifier
        Fitted on class codes ``0 .. n_classes - 1``.
    constraint : FairnessConstraint
        One of ``MULTICLASS_THRESHOLD_CONSTRAINTS``, with its ``bound``.
    X : array-like or DataFrame
        The training rows (the estimator's input).
    y : ndarray of int of shape (n_samples,)
        Class codes.
    codes : ndarray of int of shape (n_samples,)
        Group codes ``0 .. n_groups - 1``.
    n_groups, n_classes : int
    sample_weight : ndarray of shape (n_samples,), default=None
    max_rounds : int, default=100
        Largest number of rounds over every (group, class) offset (both
        searches together).
    aim : float, default=None
        The bound the search aims at (a margin below the constraint's bound,
        see :func:`~sklfair.constrained._fairlearn.aimed_bound`); None: the
        constraint's bound. ``violation_`` is measured against it.

    Returns
    -------
    rule : GroupOffsets
    """
    name = constraint.name
    bound = float(constraint.bound) if aim is None else float(aim)
    if name not in MULTICLASS_THRESHOLD_CONSTRAINTS:
        raise ValueError(
            f"method='threshold' with {n_classes} classes supports "
            f"{list(MULTICLASS_THRESHOLD_CONSTRAINTS)}, not {name!r}."
        )
    k = n_classes
    y = np.asarray(y, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    weight = (
        np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    )
    scores = log_scores(estimator, X, k)
    offsets = np.zeros((n_groups, k))
    members = [np.flatnonzero((codes == g) & (weight > 0)) for g in range(n_groups)]
    present = np.array([m.size > 0 for m in members])
    total = weight.sum()

    def state(offsets):
        decisions = (scores + offsets[codes]).argmax(axis=1)
        return _confusions(y, decisions, codes, weight, n_groups, k)

    confusion = state(offsets)
    groups = np.flatnonzero(present)

    def search(by_pairs, rounds):
        """Coordinate rounds from the current offsets, until no move improves
        (or ``max_rounds`` in all); with ``by_pairs``, a tie in the excess is
        broken by the excess of the group's gaps to each other group."""
        moved = True
        while moved and rounds < max_rounds:
            rounds += 1
            moved = False
            for g in groups:
                rows = members[g]
                for c in range(k):
                    rates = _rates(name, confusion[groups[groups != g]])
                    low, high = rates.min(axis=0), rates.max(axis=0)
                    rates_g = _rates(name, confusion[g])
                    current = [
                        _excess(rates_g, low, high, bound),
                        (confusion[g].sum() - np.trace(confusion[g])) / total,
                    ]
                    values, candidates = _line_search(
                        scores[rows] + offsets[g],
                        y[rows],
                        weight[rows],
                        c,
                        k,
                        confusion[g],
                    )
                    candidate_rates = _rates(name, candidates)
                    error = candidates.sum(axis=(1, 2)) - np.trace(
                        candidates, axis1=1, axis2=2
                    )
                    keys = [_excess(candidate_rates, low, high, bound), error / total]
                    if by_pairs:
                        current.insert(1, _pair_excess(rates_g, rates, bound))
                        keys.insert(1, _pair_excess(candidate_rates, rates, bound))
                    # lexicographic: the keys in order, then the smallest move
                    best = np.lexsort(
                        (np.abs(values), *(np.round(key, 12) for key in keys[::-1]))
                    )[0]
                    if _improves([key[best] for key in keys], current):
                        offsets[g, c] += values[best]
                        confusion[g] = candidates[best]
                        moved = True
        return rounds

    rounds = search(False, 0)
    confusion = state(offsets)  # recomputed: no drift from the updates
    if _violation(name, confusion[present], bound) > 0:
        # stuck above the bound: with three groups or more the excess has
        # plateaus (two groups at the extremes, each move of one alone
        # changes nothing), which the pairs' excess leaves; every move keeps
        # the excess as low, so the bound is met at least as well
        rounds = search(True, rounds)
        confusion = state(offsets)
    violation = _violation(name, confusion[present], bound)
    offsets -= offsets.mean(axis=1, keepdims=True)
    return GroupOffsets(estimator, offsets, rounds, violation)
