"""The base class of the fairness constraints: parameters, names and gaps on data.

A constraint object says *which group rates must be close* (its events and
per-row values) and *how close* (``bound``). It is estimator-like:
``get_params``/``set_params`` and ``_parameter_constraints`` come from
scikit-learn's :class:`~sklearn.base.BaseEstimator`, so a meta-estimator's
``constraint__bound`` and ``constraint__temperature`` are searchable in
:class:`~sklearn.model_selection.GridSearchCV` and the object is cloned with
the estimator. It holds no data: the loss terms and the meta-estimators clone
it before use.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ._rates import gaps_from_sums, group_sums_np, pair_index

__all__ = ["FairnessConstraint"]


class FairnessConstraint(BaseEstimator):
    """Base class of the fairness constraints.

    Subclasses define the events and the per-row values: :meth:`_values`
    (surrogate, hard values and event mask on a batch of the training loop,
    torch) and :meth:`_array_values` (hard values and mask of fitted
    decisions, numpy).

    Parameters
    ----------
    bound : float or None, default=None
        Largest allowed gap. None leaves it to the meta-estimator's ``bound``
        (or its default).

    Attributes
    ----------
    name : str
        The string that resolves to this class.
    task : {"classification", "regression"}
    pairwise : bool
        Whether the gaps are differences between pairs of groups (True) or the
        group rates themselves (:class:`BoundedGroupLoss`).
    label_conditional : bool
        Whether the rates are conditional on the label (the adversary of
        :class:`~sklfair.constrained.AdversarialTerm` then sees it too).
    """

    name = None
    task = "classification"
    pairwise = True
    label_conditional = False

    _parameter_constraints: dict = {
        "bound": [Interval(numbers.Real, 0, 1, closed="both"), None],
    }

    def __init__(self, *, bound=None):
        self.bound = bound

    # --- to define in subclasses -----------------------------------------
    def event_names(self, n_outputs):
        """Names of the events, for ``n_outputs`` classes or regression outputs."""
        raise NotImplementedError

    def _values(self, outputs, batch):
        """Surrogate values, hard values and event mask, each (B, n_events)."""
        raise NotImplementedError

    def _array_values(self, y, predictions):
        """Hard values and event mask on numpy data, each (n, n_events)."""
        raise NotImplementedError

    def _decisions(self, outputs, batch):
        """Hard values and event mask only (the epoch-end evaluation, where
        the surrogate would be computed for nothing)."""
        _, hard, mask = self._values(outputs, batch)
        return hard, mask

    def _has_host_values(self):
        """Whether ``_host_values(outputs, y)`` computes :meth:`_values` in
        numpy with the surrogate's gradient (the classification constraints'
        fast path on the CPU); the torch path otherwise."""
        return False

    # --- shared ----------------------------------------------------------
    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_params().items()))))

    def gap_names(self, n_groups, n_outputs, group_labels=None):
        """Names of the gaps, in the order :meth:`gaps` returns them.

        Examples
        --------
        >>> from sklfair.constraints import DemographicParity
        >>> DemographicParity().gap_names(2, 2, ["f", "m"])
        ['selection_rate[1][f - m]', 'selection_rate[1][m - f]']
        """
        labels = (
            [str(g) for g in group_labels]
            if group_labels is not None
            else [str(g) for g in range(n_groups)]
        )
        first, second = pair_index(n_groups)
        names = []
        for event in self.event_names(n_outputs):
            if self.pairwise:
                names += [
                    f"{event}[{labels[a]} - {labels[b]}]"
                    for a, b in zip(first.tolist(), second.tolist(), strict=True)
                ]
            else:
                names += [f"{event}[{labels[g]}]" for g in range(n_groups)]
        return names

    def rates(self, y, predictions, groups, sample_weight=None, n_groups=None):
        """Group rates of fitted decisions on data (numpy, float64).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Class codes ``0 .. n_classes - 1`` (classification) or targets.
        predictions : array-like
            Classification: decision probabilities of shape ``(n_samples,
            n_classes)`` -- one-hot rows for a deterministic classifier, the
            probability of each decision for a randomized one (its expected
            rates are compared). Regression: predictions of shape
            ``(n_samples,)`` or ``(n_samples, n_outputs)``.
        groups : array-like of shape (n_samples,)
            Integer group codes ``0 .. n_groups - 1``.
        sample_weight : array-like of shape (n_samples,), default=None
        n_groups : int, default=None
            Number of groups (default: the largest code plus one).

        Returns
        -------
        numerator, denominator : ndarray of shape (n_events, n_groups)
            Weighted sums of the values and of the weights of each (event,
            group) cell; a rate is their ratio.
        """
        values, mask = self._array_values(np.asarray(y), np.asarray(predictions))
        codes = np.asarray(groups, dtype=np.int64)
        if n_groups is None:
            n_groups = int(codes.max()) + 1 if codes.size else 0
        return group_sums_np(values, mask, codes, sample_weight, n_groups)

    def gaps(self, y, predictions, groups, sample_weight=None):
        """Gaps of fitted decisions on data (numpy, float64).

        Parameters are those of :meth:`rates`.

        Returns
        -------
        gaps : ndarray of shape (n_gaps,)
            NaN where a group has no row in an event.
        """
        numerator, denominator = self.rates(y, predictions, groups, sample_weight)
        gaps, valid = gaps_from_sums(numerator, denominator, self.pairwise)
        gaps = gaps.copy()
        gaps[~valid] = np.nan
        return gaps

    def max_gap(self, y, predictions, groups, sample_weight=None):
        """Largest gap of fitted decisions on data (see :meth:`gaps`)."""
        gaps = self.gaps(y, predictions, groups, sample_weight)
        gaps = gaps[np.isfinite(gaps)]
        return float(gaps.max()) if gaps.size else 0.0
