"""A fixed weight on the gaps above the bound: :class:`PenaltyTerm`."""

from __future__ import annotations

import numpy as np

from ._binary_step import penalty_step
from ._gap_term import GapTerm

__all__ = ["PenaltyTerm"]


class PenaltyTerm(GapTerm):
    """A fixed weight on the surrogate gaps above their bound.

    Adds ``weight * sum_k max(0, s_k - bound_k)`` to the batch loss. For two
    groups and ``bound=0`` this is ``weight * |rate_a - rate_b|`` summed over
    the events: the simple in-processing baseline, which trades accuracy for
    fairness at a rate set by ``weight`` and does not guarantee the bound.

    Parameters
    ----------
    constraint : str, FairnessConstraint or list of them
    weight : float
    bound : float or None, default=None
        The bound of a constraint given by name (or of an object without
        one); None: the object's own bound, else 0.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.constrained import PenaltyTerm
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> term = PenaltyTerm("demographic_parity", weight=2.0)
    >>> net = TabularNetClassifier(max_epochs=3, random_state=0).fit(
    ...     X, y, sensitive_features=(X[:, 0] > 0).astype(int), loss_terms=[term])
    >>> len(term.history_)
    3
    """

    _default_bound = 0.0

    def __init__(self, constraint, weight, bound=None):
        super().__init__(constraint, bound)
        self.weight = weight

    _additive = True

    def _addition(self, outputs, batch):
        parts, sums = self._batch_sums(outputs, batch)
        surrogate, valid = self._gaps(sums, 0, 2)
        excess = np.where(valid, surrogate - self.bounds_, 0.0)
        slope = self.weight * (excess > 0)
        # value of the penalty minus its linear part
        offset = float(
            self.weight * np.maximum(excess, 0.0).sum()
            - slope @ np.where(valid, surrogate, 0.0)
        )
        return parts, sums, slope, offset

    def _binary_batch(self, outputs, batch, into=None):
        return penalty_step(self._binary, self, outputs, batch, into)
