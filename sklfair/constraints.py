"""Fairness constraints: differentiable batch rates for the loop, fairlearn Moments.

A constraint object says *which group rates must be close*. It serves the two
ways :class:`~sklfair.constrained.FairConstrainedClassifier` enforces it:

- the one training loop of :mod:`sklfair.nets`, through the loss terms defined
  here (:class:`LagrangianTerm`, :class:`PenaltyTerm`, :class:`AdversarialTerm`),
  which call :meth:`FairnessConstraint.batch_gaps` on every batch;
- fairlearn's reductions, through :meth:`FairnessConstraint.moment`.

Rates and gaps
--------------
A constraint defines one or more *events* (all rows for demographic parity;
``y = 1`` and ``y = 0`` for equalized odds) and a per-row *value* (the
prediction of the positive class, the error). The rate of group ``g`` for event
``e`` is the weighted mean of the value over the rows of ``g`` in ``e``::

    rate[e, g] = sum_i w_i 1[g_i = g, e_i] value_i / sum_i w_i 1[g_i = g, e_i]

The *gaps* are the differences between the rates of every ordered pair of
groups, ``rate[e, a] - rate[e, b]`` for ``a != b``, so that "every gap is at
most ``bound``" means exactly "max over groups minus min over groups is at most
``bound``" -- the between-group difference that
:func:`fairlearn.metrics.demographic_parity_difference` and
:func:`~fairlearn.metrics.equalized_odds_difference` report. (fairlearn's
Moments bound each group's rate minus the overall rate instead;
:meth:`FairnessConstraint.moment` translates the bound, see there.)
:class:`BoundedGroupLoss` is the exception: its "gaps" are the group losses
themselves, bounded from above.

In the loop the value has two versions: a smooth *surrogate* (the probability
of the class under a tempered softmax, ``softmax(logits / temperature)``, or
``1 - p(true class)``), which carries the gradient,
and the *hard* value of the decision (``argmax == class``, ``argmax != y``),
which is what the bound is about. :class:`LagrangianTerm` moves its
multipliers with the hard gaps and pushes the network with the surrogate ones
(the proxy-Lagrangian of Cotter et al., 2019), so the bound holds for the
decisions, not only for the probabilities. A group that is absent from a batch
(or from an event of a batch) gives no gap: its pairs are marked invalid and
contribute nothing.

Names
-----
======================  ======================================  ======================
name                    rate per group                          fairlearn Moment
======================  ======================================  ======================
demographic_parity      P(pred = c), one-vs-rest, every class   DemographicParity
                        (the positive class only when binary)
equalized_odds          P(pred = c | y = k) (TPR and FPR)       EqualizedOdds
equal_opportunity       P(pred = c | y = c) (TPR when binary)   TruePositiveRateParity
error_rate_parity       P(pred != y)                            ErrorRateParity
group_mean_parity       mean prediction (regression)            --
group_loss_parity       mean squared error (regression)         --
bounded_group_loss      mean squared error, each <= bound       BoundedGroupLoss
======================  ======================================  ======================
"""

from __future__ import annotations

import copy
import functools
from statistics import NormalDist

import numpy as np
import torch
from torch import nn

from sklfair.nets._objective import LossTerm

__all__ = [
    "FairnessConstraint",
    "DemographicParity",
    "EqualizedOdds",
    "EqualOpportunity",
    "ErrorRateParity",
    "GroupMeanParity",
    "GroupLossParity",
    "BoundedGroupLoss",
    "CLASSIFICATION_CONSTRAINTS",
    "REGRESSION_CONSTRAINTS",
    "resolve_constraint",
    "LagrangianTerm",
    "PenaltyTerm",
    "AdversarialTerm",
]

_TINY = 1e-12


# --------------------------------------------------------------------------
# Rates and gaps (one implementation, used by the loop and on numpy data)
# --------------------------------------------------------------------------


def group_sums(values, mask, codes, weight, n_groups):
    """Weighted sums per event and group.

    Parameters
    ----------
    values : Tensor of shape (n, n_events)
    mask : Tensor of shape (n, n_events) or None
        1 where the row belongs to the event (None: every row, every event).
    codes : int64 Tensor of shape (n,)
        Group codes in ``[0, n_groups)``.
    weight : Tensor of shape (n,)
    n_groups : int

    Returns
    -------
    numerator, denominator : Tensor of shape (n_events, n_groups)
    """
    weighted = weight[:, None].to(values.dtype)
    if mask is not None:
        weighted = weighted * mask
    n_events = values.shape[1]
    stacked = torch.cat([weighted * values, weighted.expand(-1, n_events)], dim=1)
    sums = stacked.new_zeros(n_groups, 2 * n_events).index_add_(0, codes, stacked).T
    return sums[:n_events], sums[n_events:]


class FairnessConstraint:
    """Base class of the fairness constraints.

    Subclasses define the events and the per-row values (:meth:`_values` for
    the loop, :meth:`_array_values` for fitted predictions) and, where fairlearn
    has one, :meth:`_make_moment`. Objects hold no data: the loss terms and
    the meta-estimators deep-copy them before use.

    Attributes
    ----------
    name : str
        The string that resolves to this class.
    task : {"classification", "regression"}
    pairwise : bool
        Whether the gaps are differences between pairs of groups (True) or the
        group rates themselves (:class:`BoundedGroupLoss`).
    """

    name = None
    task = "classification"
    pairwise = True
    #: Whether the adversary of :class:`AdversarialTerm` also sees the label.
    label_conditional = False

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

    def _make_moment(self, difference_bound, y):
        raise NotImplementedError(
            f"fairlearn has no reductions Moment for {self.name!r}; use a "
            "training-loop method (lagrangian, penalty) with an sklfair net."
        )

    # --- shared ----------------------------------------------------------
    def __repr__(self):
        params = ", ".join(
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if value != getattr(type(self), f"_default_{key}", None)
        )
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self).items()))))

    def gap_names(self, n_groups, n_outputs, group_labels=None):
        """Names of the gaps, in the order :meth:`batch_gaps` returns them."""
        labels = (
            [str(g) for g in group_labels]
            if group_labels is not None
            else [str(g) for g in range(n_groups)]
        )
        first, second = _pairs(n_groups)
        names = []
        for event in self.event_names(n_outputs):
            if self.pairwise:
                names += [
                    f"{event}[{labels[a]} - {labels[b]}]"
                    for a, b in zip(first.tolist(), second.tolist())
                ]
            else:
                names += [f"{event}[{labels[g]}]" for g in range(n_groups)]
        return names

    def gaps_from_sums(self, numerator, denominator):
        """Gaps and their validity from per-(event, group) weighted sums.

        Parameters
        ----------
        numerator : Tensor of shape (..., n_events, n_groups)
        denominator : Tensor of shape (n_events, n_groups)

        Returns
        -------
        gaps : Tensor of shape (..., n_gaps)
        valid : bool Tensor of shape (n_gaps,)
            False where a group of the pair has no (weighted) row in the event.
        """
        if isinstance(numerator, np.ndarray):  # the host-side dual arithmetic
            return self._gaps_from_sums_np(numerator, denominator)
        rates = numerator / denominator.clamp_min(_TINY)
        present = denominator > 0
        if not self.pairwise:
            return rates.flatten(-2), present.reshape(-1)
        # every pair's difference as one product with a +1/-1 matrix (one
        # kernel instead of four index gathers on the hot path)
        difference, both = _pair_matrices(rates.shape[-1], rates.device, rates.dtype)
        gaps = rates @ difference
        valid = (present.to(rates.dtype) @ both) > 1.5
        return gaps.flatten(-2), valid.reshape(-1)

    def _gaps_from_sums_np(self, numerator, denominator):
        """:meth:`gaps_from_sums` on numpy arrays (same layout and meaning)."""
        rates = numerator / np.maximum(denominator, _TINY)
        present = denominator > 0
        shape = rates.shape[:-2] + (-1,)
        if not self.pairwise:
            return rates.reshape(shape), present.reshape(-1)
        difference, both = _pair_matrices_like(rates, rates.shape[-1])
        valid = (present @ both) > 1.5
        return (rates @ difference).reshape(shape), valid.reshape(-1)

    def group_coefficients(self, coefficients, denominator):
        """Per-(event, group) row coefficients of ``sum_k c_k * gap_k``.

        ``sum_k coefficients_k * gap_k`` is linear in the rows' values: row
        ``i`` of group ``g`` enters it with ``weight_i * per_group[event, g]``.
        numpy arrays or tensors in, the same out.

        Parameters
        ----------
        coefficients : ndarray or Tensor of shape (n_gaps,)
            Zero for invalid gaps.
        denominator : ndarray or Tensor of shape (n_events, n_groups)
            The weighted row counts of the (event, group) cells.

        Returns
        -------
        per_group : ndarray or Tensor of shape (n_events, n_groups)
        """
        n_events, n_groups = denominator.shape
        coefficients = coefficients.reshape(n_events, -1)
        if self.pairwise:
            difference, _ = _pair_matrices_like(coefficients, n_groups)
            coefficients = coefficients @ difference.T
        return coefficients / denominator.clip(min=_TINY)

    def gap_standard_errors(self, values, mask, codes, weight, n_groups):
        """Standard errors of the gaps measured on some rows.

        Each rate is a weighted mean; its standard error is
        ``sqrt(variance / n_eff)`` with the weighted variance of the values
        in its (event, group) cell and Kish's effective size ``n_eff = (sum
        w) ** 2 / sum w ** 2`` (the row count when weights are equal). The
        rates of different groups come from different rows, so a gap's
        standard error is ``sqrt(se_a ** 2 + se_b ** 2)``.

        Parameters
        ----------
        values : Tensor of shape (n, n_events)
            The decisions' values (e.g. 0/1 selections).
        mask : Tensor of shape (n, n_events) or None
        codes : int64 Tensor of shape (n,)
        weight : Tensor of shape (n,)
        n_groups : int

        Returns
        -------
        se : Tensor of shape (n_gaps,)
            0 where a gap is invalid (a group without rows in the event).
        """
        values = values.double()
        weight = weight.double()
        squares = torch.cat([values, values**2], dim=1)
        mask2 = None if mask is None else torch.cat([mask, mask], dim=1).double()
        n_events = values.shape[1]
        sums, den = group_sums(squares, mask2, codes, weight, n_groups)
        _, den2 = group_sums(squares, mask2, codes, weight**2, n_groups)
        den, den2 = den[:n_events], den2[:n_events]
        mean = sums[:n_events] / den.clamp_min(_TINY)
        variance = (sums[n_events:] / den.clamp_min(_TINY) - mean**2).clamp_min(0)
        # var / n_eff with n_eff = den ** 2 / den2
        rate_var = variance * den2 / (den**2).clamp_min(_TINY)
        if not self.pairwise:
            return rate_var.sqrt().flatten()
        first, second = _pairs(n_groups, str(rate_var.device))
        gap_var = rate_var[:, first] + rate_var[:, second]
        valid = (den[:, first] > 0) & (den[:, second] > 0)
        return (gap_var.sqrt() * valid).flatten()

    def batch_statistics(self, outputs, batch, n_groups):
        """One pass over a batch of the training loop: what the loss terms need.

        Returns
        -------
        stats : dict
            ``"values"`` (surrogate values ``(B, n_events)``, with gradient),
            ``"hard"`` (the decisions' values ``(B, n_events)``, no gradient),
            ``"mask"`` (event membership ``(B, n_events)`` or None for every
            row), ``"surrogate_gaps"`` and ``"hard_gaps"`` (``(n_gaps,)``,
            detached), ``"valid"``, and the detached per-(event, group) sums
            ``"hard_numerator"`` and ``"denominator"``.
        """
        values, hard, mask = self._values(outputs, batch)
        with torch.no_grad():
            weight = batch["sample_weight"]
            codes = batch["sensitive_features"]
            numerator, denominator = group_sums(
                torch.cat([values.detach(), hard], dim=1),
                None if mask is None else torch.cat([mask, mask], dim=1),
                codes,
                weight,
                n_groups,
            )
            n_events = values.shape[1]
            denominator = denominator[:n_events]
            gaps, valid = self.gaps_from_sums(
                numerator.view(2, n_events, n_groups), denominator
            )
        return {
            "values": values,
            "hard": hard,
            "mask": mask,
            "surrogate_gaps": gaps[0],
            "hard_gaps": gaps[1],
            "valid": valid,
            "hard_numerator": numerator[n_events:],
            "denominator": denominator,
        }

    def weighted_gap_sum(self, stats, batch, coefficients):
        """``sum_k coefficients_k * surrogate_gap_k``, differentiable.

        Computed as one weighted sum over the batch rows (the coefficients are
        spread back onto the rows of each group), so its backward pass costs
        one multiplication whatever the number of groups and gaps. Invalid
        gaps must have a zero coefficient.

        Parameters
        ----------
        stats : dict
            From :meth:`batch_statistics`.
        batch : dict
        coefficients : Tensor of shape (n_gaps,), no gradient

        Returns
        -------
        total : scalar Tensor
        """
        with torch.no_grad():
            per_group = self.group_coefficients(coefficients, stats["denominator"])
            rows = per_group.T[batch["sensitive_features"]]
            rows = rows * batch["sample_weight"][:, None].to(rows.dtype)
            if stats["mask"] is not None:
                rows = rows * stats["mask"]
        return (rows * stats["values"]).sum()

    def batch_gaps(self, outputs, batch, n_groups):
        """Differentiable (surrogate) gaps of a batch of the training loop.

        Parameters
        ----------
        outputs : Tensor
            Logits ``(B, n_classes)`` of a classifier or predictions
            ``(B, n_outputs)`` of a regressor.
        batch : dict
            The loop's batch (see :mod:`sklfair.nets._objective`); needs
            ``"sensitive_features"`` and ``"sample_weight"``.
        n_groups : int

        Returns
        -------
        surrogate : Tensor of shape (n_gaps,)
            Smooth gaps, with gradient.
        hard : Tensor of shape (n_gaps,)
            Gaps of the decisions (no gradient).
        valid : bool Tensor of shape (n_gaps,)
            False where a group of the pair has no row of the event in the
            batch (its gap is then meaningless and should be ignored).
        """
        values, hard, mask = self._values(outputs, batch)
        weight = batch["sample_weight"]
        codes = batch["sensitive_features"]
        numerator, denominator = group_sums(values, mask, codes, weight, n_groups)
        surrogate, valid = self.gaps_from_sums(numerator, denominator)
        with torch.no_grad():
            hard_numerator, _ = group_sums(hard, mask, codes, weight, n_groups)
            hard, _ = self.gaps_from_sums(hard_numerator, denominator)
        return surrogate, hard, valid

    def gaps(self, y, predictions, groups, sample_weight=None):
        """Gaps of fitted decisions on data (numpy, float64).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Class codes ``0 .. n_classes - 1`` (classification) or targets.
        predictions : array-like
            Classification: decision probabilities of shape
            ``(n_samples, n_classes)`` -- one-hot rows for a deterministic
            classifier, the probability of each decision for a randomized one
            (its expected rates are compared). Regression: predictions of
            shape ``(n_samples,)`` or ``(n_samples, n_outputs)``.
        groups : array-like of shape (n_samples,)
            Integer group codes ``0 .. n_groups - 1``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        gaps : ndarray of shape (n_gaps,)
            NaN where a group has no row in an event.
        """
        values, mask = self._array_values(np.asarray(y), np.asarray(predictions))
        codes = torch.as_tensor(np.asarray(groups), dtype=torch.int64)
        n = values.shape[0]
        weight = (
            torch.ones(n, dtype=torch.float64)
            if sample_weight is None
            else torch.as_tensor(np.asarray(sample_weight, dtype=np.float64))
        )
        n_groups = int(codes.max()) + 1 if n else 0
        num, den = group_sums(
            torch.as_tensor(values, dtype=torch.float64),
            torch.as_tensor(mask, dtype=torch.float64),
            codes,
            weight,
            n_groups,
        )
        gaps, valid = self.gaps_from_sums(num, den)
        gaps = gaps.numpy().copy()
        gaps[~valid.numpy()] = np.nan
        return gaps

    def max_gap(self, y, predictions, groups, sample_weight=None):
        """Largest gap of fitted decisions on data (see :meth:`gaps`)."""
        gaps = self.gaps(y, predictions, groups, sample_weight)
        gaps = gaps[np.isfinite(gaps)]
        return float(gaps.max()) if gaps.size else 0.0

    def moment(self, bound, *, y=None, sensitive_features=None):
        """The matching fairlearn Moment for ``ExponentiatedGradient``.

        fairlearn bounds ``|rate of a group - overall rate|``, sklfair the
        difference between any two groups. The bound is translated so that
        the two agree: with two groups of shares ``p`` and ``1 - p`` in an
        event, a group's distance to the overall rate is ``(1 - its share)``
        times the between-group difference, so ``difference_bound = bound *
        max(p, 1 - p)`` (the smallest over the events) is exact; with more
        groups ``bound / 2`` guarantees every between-group difference is at
        most ``bound``. Without ``y`` and ``sensitive_features`` the safe
        ``bound / 2`` is used.

        Parameters
        ----------
        bound : float
            Largest allowed between-group gap.
        y : array-like of shape (n_samples,), default=None
            Binary labels (0/1) of the training data.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group labels of the training data.

        Returns
        -------
        moment : fairlearn.reductions.Moment
        """
        difference_bound = float(bound)
        if self.pairwise:
            difference_bound = float(bound) / 2.0
            if y is not None and sensitive_features is not None:
                difference_bound = _fairlearn_bound(
                    bound, self._moment_events(np.asarray(y)), sensitive_features
                )
        return self._make_moment(difference_bound, y)

    def _moment_events(self, y):
        return [np.ones(len(y), dtype=bool)]


@functools.lru_cache(maxsize=64)
def _pair_matrices(n_groups, device, dtype):
    """``(difference, both)`` of shape (n_groups, n_pairs), pairs as in
    :func:`_pairs`: ``rates @ difference`` gives every pair's gap and
    ``present @ both`` counts how many of the pair's groups are present."""
    first, second = _pairs(n_groups)
    columns = torch.arange(len(first))
    difference = torch.zeros((n_groups, len(first)), dtype=dtype)
    difference[first, columns] = 1.0
    difference[second, columns] = -1.0
    return difference.to(device), difference.abs().to(device)


@functools.lru_cache(maxsize=64)
def _pair_matrices_np(n_groups):
    """:func:`_pair_matrices` as float64 numpy arrays (read-only)."""
    matrices = _pair_matrices(n_groups, "cpu", torch.float64)
    difference, both = (m.numpy().copy() for m in matrices)
    difference.flags.writeable = both.flags.writeable = False
    return difference, both


def _pair_matrices_like(array, n_groups):
    """:func:`_pair_matrices` for a numpy array or a tensor (its device, dtype)."""
    if isinstance(array, np.ndarray):
        return _pair_matrices_np(n_groups)
    return _pair_matrices(n_groups, array.device, array.dtype)


@functools.lru_cache(maxsize=64)
def _pairs(n_groups, device="cpu"):
    """Both members of every ordered pair of distinct groups (cached per device)."""
    first, second = torch.meshgrid(
        torch.arange(n_groups), torch.arange(n_groups), indexing="ij"
    )
    keep = first != second
    return first[keep].to(device), second[keep].to(device)


def _fairlearn_bound(bound, events, sensitive_features):
    labels = np.asarray(sensitive_features, dtype=object).reshape(-1)
    _, codes = np.unique(labels.astype(str), return_inverse=True)
    if codes.max() + 1 != 2:
        return float(bound) / 2.0
    shares = []
    for event in events:
        counts = np.bincount(codes[event], minlength=2)
        if counts.sum():
            shares.append(counts.max() / counts.sum())
    return float(bound) * (min(shares) if shares else 0.5)


class _ClassificationConstraint(FairnessConstraint):
    """A classification constraint; its surrogate is a tempered softmax.

    Parameters
    ----------
    temperature : float, default=0.25
        The surrogate of a decision is ``softmax(logits / temperature)``. A
        low temperature makes the smooth rates follow the decisions closely
        (the gradient acts on the rows near the decision boundary, the ones
        whose decision can flip), which keeps constrained training from
        oscillating; 1 gives the model's own probabilities.
    """

    _default_temperature = 0.25

    def __init__(self, *, temperature=0.25):
        self.temperature = temperature

    def _softmax(self, outputs):
        return torch.softmax(outputs / self.temperature, dim=1)


def _hard_onehot(outputs, cols):
    """Decisions (argmax) as 0/1 values of the classes ``cols``, shape (B, len)."""
    cols = list(cols)
    if outputs.shape[1] == 2 and set(cols) == {1}:
        # class 1 wins only when strictly larger, as in argmax (ties: class 0)
        positive = outputs.argmax(dim=1, keepdim=True).to(outputs.dtype)
        return positive if len(cols) == 1 else positive.expand(-1, len(cols))
    onehot = torch.nn.functional.one_hot(outputs.argmax(dim=1), outputs.shape[1])
    return _columns(onehot, cols).to(outputs.dtype)


def _columns(tensor, cols):
    """``tensor[:, cols]``, as a view when ``cols`` is a run or one repeated
    column (no gather, and no index backward in the training loop)."""
    cols = list(cols)
    first = cols[0]
    if cols == list(range(first, first + len(cols))):
        return tensor[:, first : first + len(cols)]
    if len(set(cols)) == 1:
        return tensor[:, first : first + 1].expand(-1, len(cols))
    return tensor[:, cols]


def _onehot_np(predictions):
    """Decision probabilities as a 2D float array (one column per class)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim == 1:  # probability of class 1 (binary)
        predictions = np.column_stack([1.0 - predictions, predictions])
    return predictions


def _classes_used(n_classes):
    """Classes whose one-vs-rest rate is constrained: class 1 only when binary."""
    return [1] if n_classes == 2 else list(range(n_classes))


class DemographicParity(_ClassificationConstraint):
    """Equal selection rates: ``P(pred = c | group)`` the same in every group.

    Binary: the rate of the positive class (``classes_[1]``); multi-class:
    one-vs-rest, every class. The surrogate is the mean tempered probability
    (see :class:`_ClassificationConstraint` for ``temperature``).

    Parameters
    ----------
    temperature : float, default=0.25
        Temperature of the surrogate's softmax (see
        :class:`_ClassificationConstraint`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints import DemographicParity
    >>> decisions = np.array([[0, 1], [1, 0], [0, 1], [0, 1]])  # one-hot
    >>> DemographicParity().gaps([0, 0, 1, 1], decisions, groups=[0, 0, 1, 1])
    array([-0.5,  0.5])
    """

    name = "demographic_parity"

    def event_names(self, n_outputs):
        return [f"selection_rate[{c}]" for c in _classes_used(n_outputs)]

    def _values(self, outputs, batch):
        cols = _classes_used(outputs.shape[1])
        surrogate = _columns(self._softmax(outputs), cols)
        return (surrogate, *self._decisions(outputs, batch))

    def _decisions(self, outputs, batch):
        return _hard_onehot(outputs, _classes_used(outputs.shape[1])), None

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        values = predictions[:, _classes_used(predictions.shape[1])]
        return values, np.ones_like(values)

    def _make_moment(self, difference_bound, y):
        from fairlearn.reductions import DemographicParity as Moment

        return Moment(difference_bound=difference_bound)


class EqualizedOdds(_ClassificationConstraint):
    """Equal ``P(pred = c | y = k, group)`` for every class pair: TPR and FPR.

    Binary: the true and false positive rates; multi-class: the whole
    confusion matrix's rows, one-vs-rest.

    Parameters
    ----------
    temperature : float, default=0.25
        Temperature of the surrogate's softmax (see
        :class:`_ClassificationConstraint`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints import EqualizedOdds
    >>> y = [1, 1, 0, 0, 1, 1, 0, 0]
    >>> decisions = np.eye(2)[[1, 1, 0, 0, 1, 0, 1, 0]]
    >>> groups = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> EqualizedOdds().gaps(y, decisions, groups)  # TPR 1 vs .5, FPR 0 vs .5
    array([ 0.5, -0.5, -0.5,  0.5])
    """

    name = "equalized_odds"
    label_conditional = True

    def _pairs(self, n_classes):
        return [(c, k) for c in _classes_used(n_classes) for k in range(n_classes)][
            :: 1 if n_classes > 2 else -1
        ]

    def event_names(self, n_outputs):
        if n_outputs == 2:
            return ["true_positive_rate", "false_positive_rate"]
        return [f"P(pred={c}|y={k})" for c, k in self._pairs(n_outputs)]

    def _values(self, outputs, batch):
        cols = [c for c, _ in self._pairs(outputs.shape[1])]
        surrogate = _columns(self._softmax(outputs), cols)
        return (surrogate, *self._decisions(outputs, batch))

    def _decisions(self, outputs, batch):
        cols, labels = zip(*self._pairs(outputs.shape[1]))
        labels = torch.as_tensor(labels, device=outputs.device)
        mask = (batch["y"][:, None] == labels[None, :]).to(outputs.dtype)
        return _hard_onehot(outputs, cols), mask

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        cols, labels = zip(*self._pairs(predictions.shape[1]))
        values = predictions[:, list(cols)]
        mask = (y[:, None] == np.asarray(labels)[None, :]).astype(np.float64)
        return values, mask

    def _moment_events(self, y):
        return [y == 1, y == 0]

    def _make_moment(self, difference_bound, y):
        from fairlearn.reductions import EqualizedOdds as Moment

        return Moment(difference_bound=difference_bound)


class EqualOpportunity(EqualizedOdds):
    """Equal true positive rates ``P(pred = 1 | y = 1, group)``.

    Multi-class: equal recall of every class, ``P(pred = c | y = c, group)``.
    """

    name = "equal_opportunity"

    def _pairs(self, n_classes):
        return [(c, c) for c in _classes_used(n_classes)]

    def event_names(self, n_outputs):
        if n_outputs == 2:
            return ["true_positive_rate"]
        return [f"recall[{c}]" for c, _ in self._pairs(n_outputs)]

    def _moment_events(self, y):
        return [y == 1]

    def _make_moment(self, difference_bound, y):
        from fairlearn.reductions import TruePositiveRateParity

        return TruePositiveRateParity(difference_bound=difference_bound)


class ErrorRateParity(_ClassificationConstraint):
    """Equal error rates ``P(pred != y | group)``.

    The surrogate is ``1 - p(true class)`` (tempered probability).

    Parameters
    ----------
    temperature : float, default=0.25
        Temperature of the surrogate's softmax (see
        :class:`_ClassificationConstraint`).
    """

    name = "error_rate_parity"

    def event_names(self, n_outputs):
        return ["error_rate"]

    def _values(self, outputs, batch):
        p_true = self._softmax(outputs).gather(1, batch["y"][:, None])
        return (1.0 - p_true, *self._decisions(outputs, batch))

    def _decisions(self, outputs, batch):
        y = batch["y"]
        return (outputs.argmax(dim=1) != y).to(outputs.dtype)[:, None], None

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        values = 1.0 - predictions[np.arange(len(y)), y.astype(np.int64)]
        return values[:, None], np.ones((len(y), 1))

    def _make_moment(self, difference_bound, y):
        from fairlearn.reductions import ErrorRateParity as Moment

        return Moment(difference_bound=difference_bound)


class _RegressionConstraint(FairnessConstraint):
    task = "regression"

    @staticmethod
    def _as_2d(array):
        array = np.asarray(array, dtype=np.float64)
        return array.reshape(len(array), -1)


class GroupMeanParity(_RegressionConstraint):
    """Regression: the mean prediction differs by at most ``bound`` between groups.

    The regression analogue of demographic parity, one rate per output.
    """

    name = "group_mean_parity"

    def event_names(self, n_outputs):
        if n_outputs == 1:
            return ["mean_prediction"]
        return [f"mean_prediction[{j}]" for j in range(n_outputs)]

    def _values(self, outputs, batch):
        return outputs, outputs.detach(), None

    def _array_values(self, y, predictions):
        values = self._as_2d(predictions)
        return values, np.ones_like(values)


class GroupLossParity(_RegressionConstraint):
    """Regression: group mean squared errors differ by at most ``bound``."""

    name = "group_loss_parity"

    def event_names(self, n_outputs):
        return ["mean_squared_error"]

    def _values(self, outputs, batch):
        loss = batch["sample_loss"][:, None]
        return loss, loss.detach(), None

    def _array_values(self, y, predictions):
        loss = ((self._as_2d(y) - self._as_2d(predictions)) ** 2).mean(axis=1)
        return loss[:, None], np.ones((len(loss), 1))


class BoundedGroupLoss(GroupLossParity):
    """Regression: every group's mean squared error is at most ``bound``.

    Not a gap: the bound is on the level of each group's loss (fairlearn's
    :class:`~fairlearn.reductions.BoundedGroupLoss`).
    """

    name = "bounded_group_loss"
    pairwise = False

    def _make_moment(self, difference_bound, y):
        from fairlearn.reductions import BoundedGroupLoss as Moment
        from fairlearn.reductions import SquareLoss

        if y is None:
            raise ValueError("bounded_group_loss needs y to set the loss range.")
        y = np.asarray(y, dtype=np.float64)
        return Moment(
            SquareLoss(float(y.min()), float(y.max())), upper_bound=difference_bound
        )


CLASSIFICATION_CONSTRAINTS = {
    cls.name: cls
    for cls in (DemographicParity, EqualizedOdds, EqualOpportunity, ErrorRateParity)
}
REGRESSION_CONSTRAINTS = {
    cls.name: cls for cls in (GroupMeanParity, GroupLossParity, BoundedGroupLoss)
}


def resolve_constraint(constraint, task="classification"):
    """Turn a constraint name or object into a fresh constraint object.

    Parameters
    ----------
    constraint : str or FairnessConstraint
        A name (see the module docstring) or an object, which is deep-copied
        so that the caller's object is never modified.
    task : {"classification", "regression"}, default="classification"

    Returns
    -------
    constraint : FairnessConstraint

    Examples
    --------
    >>> from sklfair.constraints import resolve_constraint
    >>> resolve_constraint("equalized_odds")
    EqualizedOdds()
    >>> resolve_constraint("statistical_parity")
    Traceback (most recent call last):
    ...
    ValueError: Unknown constraint 'statistical_parity' for classification; choose \
one of ['demographic_parity', 'equalized_odds', 'equal_opportunity', \
'error_rate_parity'] or pass a FairnessConstraint object.
    """
    known = (
        CLASSIFICATION_CONSTRAINTS
        if task == "classification"
        else (REGRESSION_CONSTRAINTS)
    )
    if isinstance(constraint, str):
        if constraint not in known:
            other = (
                REGRESSION_CONSTRAINTS
                if task == "classification"
                else CLASSIFICATION_CONSTRAINTS
            )
            hint = ""
            if constraint in other:
                hint = f" ({constraint!r} is for the other kind of estimator.)"
            raise ValueError(
                f"Unknown constraint {constraint!r} for {task}; choose one of "
                f"{list(known)} or pass a FairnessConstraint object.{hint}"
            )
        return known[constraint]()
    if isinstance(constraint, FairnessConstraint):
        if constraint.task != task:
            raise ValueError(
                f"{constraint!r} is a {constraint.task} constraint; this "
                f"estimator needs a {task} one: {list(known)}."
            )
        return copy.deepcopy(constraint)
    raise TypeError(
        "constraint must be a name or a sklfair.constraints.FairnessConstraint, "
        f"got {type(constraint).__name__}."
    )


# --------------------------------------------------------------------------
# Loss terms for the one training loop
# --------------------------------------------------------------------------


class _GapTerm(LossTerm):
    """Shared part of the fairness loss terms: setup and the per-epoch record.

    At the end of every epoch the network is evaluated (in eval mode, no
    gradient) on the training rows -- at most ``monitor_size`` of them, drawn
    once -- and the exact hard gaps of its decisions and its weighted base
    loss are recorded: :meth:`epoch_summary` returns the largest gap under
    ``"fairness_gap"``, and ``history_`` keeps one dict per epoch with the
    full gap vector (named by ``gap_names_``) and ``"loss"``. This costs one
    forward pass over those rows per epoch.
    """

    requires = ("sensitive_features",)
    monitor_size = 50_000

    def __init__(self, constraint, bound=0.0):
        self.constraint = constraint
        self.bound = bound

    def setup(self, net, data):
        self.constraint_ = _resolve_any(self.constraint)
        self.n_groups_ = int(data["n_groups"])
        self.n_outputs_ = int(data["n_outputs"])
        if self.constraint_.task == "classification" and self.n_outputs_ == 1:
            self.n_outputs_ = 2
        self.device_ = data["sample_weight"].device
        self.gap_names_ = self.constraint_.gap_names(self.n_groups_, self.n_outputs_)
        self._net = net
        self._monitor = _monitor_rows(data, self.monitor_size, self.device_)
        self.history_ = []

    def on_train_end(self, net):
        """Drop the references to the training data."""
        self._monitor = None
        self._net = None

    @torch.no_grad()
    def _forward_monitor(self):
        """The current network's hard values, event mask and per-row base
        loss on the monitored rows."""
        net, rows = self._net, self._monitor
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            outputs = _forward_in_chunks(module, rows["X"])
        finally:
            module.train(was_training)
        sample_loss = net.sample_loss(outputs, rows["y"])
        batch = dict(rows, sample_loss=sample_loss)
        hard, mask = self.constraint_._decisions(outputs, batch)
        return hard, mask, sample_loss

    @torch.no_grad()
    def _gaps_and_loss(self, hard, mask, sample_loss, weight):
        """Hard gaps (NaN where invalid) and weighted base loss, on the
        monitored rows weighted by ``weight``."""
        numerator, denominator = group_sums(
            hard, mask, self._monitor["sensitive_features"], weight, self.n_groups_
        )
        gaps, valid = self.constraint_.gaps_from_sums(numerator, denominator)
        gaps = gaps.masked_fill(~valid, float("nan")).cpu().numpy().astype(np.float64)
        loss = float((weight * sample_loss).sum() / weight.sum().clamp_min(_TINY))
        return gaps, loss

    def _evaluate(self):
        """Hard gaps and weighted base loss of the current network."""
        hard, mask, sample_loss = self._forward_monitor()
        return self._gaps_and_loss(
            hard, mask, sample_loss, self._monitor["sample_weight"]
        )

    def epoch_summary(self):
        gaps, loss = self._evaluate()
        self.history_.append({"gaps": gaps, "loss": loss})
        return {"fairness_gap": _nanmax(gaps)}


#: Rows per forward pass of the epoch-end evaluation on a CPU.
_MONITOR_CHUNK = 4096


def _forward_in_chunks(module, X):
    """``module(X)`` over many rows; on a CPU in chunks of ``_MONITOR_CHUNK``.

    A chunk's activations stay in the CPU's cache: on Taiwan credit (21,000
    rows, a 64-64 MLP, one thread) the pass takes 3.6 ms in chunks against
    8.9 ms at once; where the first layer's product dominates (Adult, 108
    inputs) the two cost the same. A GPU gets the rows at once.
    """
    if X.device.type != "cpu" or X.shape[0] <= _MONITOR_CHUNK:
        return module(X)
    return torch.cat(
        [
            module(X[start : start + _MONITOR_CHUNK])
            for start in range(0, X.shape[0], _MONITOR_CHUNK)
        ]
    )


def _monitor_rows(data, size, device):
    """The training rows evaluated at each epoch end (all, or a fixed sample)."""
    n = int(data["sample_weight"].shape[0])
    keys = ["y", "sample_weight", "sensitive_features"]
    if n > size:
        generator = torch.Generator().manual_seed(0)
        index = torch.randperm(n, generator=generator)[:size]
    else:
        index = None
    rows = {"index": index}
    for key in keys:
        tensor = data[key]
        rows[key] = tensor if index is None else tensor[index.to(tensor.device)]
    # a copy: a term may change the training weights in place (held-out rows)
    rows["sample_weight"] = rows["sample_weight"].clone()
    X = data["X"]
    if isinstance(X, torch.Tensor):
        rows["X"] = X if index is None else X[index.to(X.device)]
    else:  # a scipy sparse matrix kept on the host
        X = X if index is None else X[index.numpy()]
        rows["X"] = torch.as_tensor(X.toarray(), dtype=torch.float32, device=device)
    return rows


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _host_to_tensor(array, like):
    """A host array as a tensor of ``like``'s dtype and device (converted by
    numpy where it can: cheaper than a torch call for a few numbers)."""
    dtype = _NUMPY_DTYPES.get(like.dtype)
    if dtype is None:
        return torch.from_numpy(np.ascontiguousarray(array)).to(like.device, like.dtype)
    return torch.from_numpy(np.ascontiguousarray(array, dtype=dtype)).to(like.device)


def _as_dtype(tensor, dtype):
    """``tensor.to(dtype)``, without a torch call when it already has it."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def _resolve_any(constraint):
    if isinstance(constraint, str) and constraint in REGRESSION_CONSTRAINTS:
        return resolve_constraint(constraint, "regression")
    if isinstance(constraint, FairnessConstraint):
        return copy.deepcopy(constraint)
    return resolve_constraint(constraint, "classification")


def _nanmax(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else 0.0


class LagrangianTerm(_GapTerm):
    """Constrained training: one Lagrange multiplier per gap, updated by dual ascent.

    The term added to the batch loss is an augmented Lagrangian of the
    constraints ``gap_k <= bound``::

        sum_k lambda_k * (s_k - bound) + rho / 2 * sum_k max(0, s_k - bound) ** 2

    where ``s_k`` are the batch's surrogate gaps (gaps of groups absent from
    the batch are left out). After every optimizer step the multipliers take
    a projected ascent step on the *hard* gaps ``h_k`` of the decisions, taken
    from a moving average of the per-group sums over recent batches so that
    small groups are estimated from enough rows::

        lambda_k <- clip(lambda_k + dual_lr / n_batches * (h_k - bound), 0, max)

    A multiplier grows as long as its gap exceeds the bound and shrinks back
    towards zero once it is met, so the bound is met rather than traded off
    against accuracy (the proxy-Lagrangian of Cotter, Jiang & Sridharan, 2019:
    the network follows the smooth gaps, the multipliers the real ones).

    Gradient descent-ascent oscillates around the boundary, so the last
    network need not meet the bound even when most did. With
    ``select_best=True`` the network is evaluated on the training rows at the
    end of every epoch (see the base class) and, when training ends, the
    parameters of the epoch with the lowest loss among those that met the
    target (below), else among those that met the bound, else of the
    smallest violation, are restored.

    **Meeting the bound on new data.** A gap measured on a sample is an
    estimate: on new rows the same network's gap differs by the sampling
    noise of both samples, so a network aimed exactly at ``bound`` exceeds it
    on new data about half the time. Two remedies, which combine:

    - ``confidence`` > 0.5 aims the multipliers and the restore at
      ``bound - margin_``, with ``margin_ = z * se`` per gap: ``z`` the
      normal quantile of ``confidence`` (1.645 for 0.95) and ``se`` the
      standard error of the gap on the rows that drive the multipliers
      (:meth:`FairnessConstraint.gap_standard_errors`, recomputed from the
      decisions at the end of every epoch). If those rows were a fresh
      sample, a gap estimated at most ``bound - margin_`` would mean a gap at
      most ``bound`` in the population with probability ``confidence``. The
      margin never exceeds half the bound (on data too small to confirm the
      bound it would otherwise ask for no gap at all).
    - ``validation_fraction`` > 0 holds out that share of the training rows,
      stratified by group and label, from the network's loss: the
      multipliers and the restore use the decisions on those rows only
      (the two-dataset scheme of Cotter et al., 2019, "Training
      well-generalizing classifiers for fairness metrics and other
      data-dependent constraints"). This removes the optimism of a gap
      measured on the rows the network fits -- large with small data, large
      networks or long training -- at the price of fewer rows to fit and a
      noisier gap estimate. The restore then picks the lowest loss *on the
      held-out rows*. The rows are kept out by setting their weight to 0 in
      the loop's training tensors during :meth:`setup` (the other weights
      are scaled to keep a mean of 1); the first batch checks that the loop
      honoured it.

    **Where the arithmetic runs.** Per step, the batch is reduced on the
    training device to a few sums per (event, group) cell, which are copied
    to the host in one transfer; the multipliers, the margin and the dual
    step live there, as float64 CPU tensors, and are updated in numpy. These
    are arrays of a handful of numbers: in eager torch their dozens of small
    operations cost more than the network's own step on a CPU, in numpy a
    few microseconds. On a GPU the copy makes every step wait for its
    forward pass (one synchronisation per step).

    For a :class:`~sklfair.nets.TabularNetRegressor`, which standardises
    its target inside, gaps and ``bound`` are in units of the target's
    standard deviation (squared for the losses);
    :class:`~sklfair.constrained.FairConstrainedRegressor` converts.

    Parameters
    ----------
    constraint : str or FairnessConstraint
    bound : float
        Largest allowed gap.
    dual_lr : float, default=5.0
        Step size of the multipliers, per epoch: each batch moves them by
        ``dual_lr / n_batches`` times the violation.
    rho : float, default=1.0
        Weight of the quadratic penalty of the augmented Lagrangian (0: plain
        Lagrangian).
    smoothing : float in [0, 1) or "auto", default="auto"
        Decay of the moving average of the per-group sums used by the dual
        step. ``"auto"`` averages over enough batches for the smallest
        (event, group) cell to hold about 200 rows (and at most one epoch).
    max_multiplier : float, default=100.0
        Upper clip of the multipliers.
    select_best : bool, default=True
        Restore the best epoch's parameters at the end of training.
    validation_fraction : float in [0, 1), default=0.0
        Share of the training rows held out from the network's loss to
        drive the multipliers and the restore (0: every row does both).
    confidence : float in [0.5, 1), default=0.5
        Aim at ``bound - z * se`` (see above); 0.5 means no margin.
        :class:`~sklfair.constrained.FairConstrainedClassifier` uses 0.95.
    random_state : int, default=0
        Seeds the choice of the held-out rows.

    Attributes
    ----------
    multipliers_ : Tensor of shape (n_gaps,)
        Current multipliers, in the order of ``gap_names_``.
    margin_ : Tensor of shape (n_gaps,)
        Current margin of every gap (zeros when ``confidence=0.5``).
    target_ : Tensor of shape (n_gaps,)
        ``bound - margin_``: what the multipliers aim at.
    gap_names_ : list of str
    history_ : list of dict
        One dict per epoch: ``"gaps"`` (hard gaps on the training rows at the
        end of the epoch), ``"loss"``, ``"margin"`` and ``"multipliers"``;
        with held-out rows also ``"validation_gaps"`` and
        ``"validation_loss"`` (on those rows).
    best_epoch_ : int
        Index (in ``history_``) of the epoch whose parameters were restored;
        the last one when ``select_best=False``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.constraints import LagrangianTerm
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> groups = (X[:, 0] > 0).astype(int)
    >>> term = LagrangianTerm("demographic_parity", bound=0.05)
    >>> net = TabularNetClassifier(max_epochs=5, random_state=0)
    >>> net = net.fit(X, y, sensitive_features=groups, loss_terms=[term])
    >>> term.gap_names_
    ['selection_rate[1][0 - 1]', 'selection_rate[1][1 - 0]']
    >>> len(term.history_), term.multipliers_.shape
    (5, torch.Size([2]))
    """

    def __init__(
        self,
        constraint,
        bound,
        *,
        dual_lr=5.0,
        rho=1.0,
        smoothing="auto",
        max_multiplier=100.0,
        select_best=True,
        validation_fraction=0.0,
        confidence=0.5,
        random_state=0,
    ):
        super().__init__(constraint, bound)
        self.dual_lr = dual_lr
        self.rho = rho
        self.smoothing = smoothing
        self.max_multiplier = max_multiplier
        self.select_best = select_best
        self.validation_fraction = validation_fraction
        self.confidence = confidence
        self.random_state = random_state

    def setup(self, net, data):
        fraction, confidence = float(self.validation_fraction), float(self.confidence)
        if not 0.0 <= fraction < 1.0:
            raise ValueError(
                "validation_fraction must be in [0, 1), got "
                f"{self.validation_fraction!r}."
            )
        if not 0.5 <= confidence < 1.0:
            raise ValueError(
                f"confidence must be in [0.5, 1), got {self.confidence!r} (0.5: no "
                "margin; 0.95: the bound holds with 95% confidence)."
            )
        super().setup(net, data)
        self.z_ = NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0
        n_gaps = len(self.gap_names_)
        # the multipliers' arithmetic runs on the host (see Notes)
        self.multipliers_ = torch.zeros(n_gaps, dtype=torch.float64)
        self.margin_ = torch.zeros(n_gaps, dtype=torch.float64)
        n_events = len(self.constraint_.event_names(self.n_outputs_))
        # moving averages of the decisions' sums and of the row counts
        self._avg = np.zeros((2, n_events, self.n_groups_))
        self._pending = None
        n = int(data["sample_weight"].shape[0])
        self._held_out = None
        self._dual_weight = None
        self._monitor_dual_weight = self._monitor["sample_weight"]
        if fraction > 0:
            self._hold_out(data, fraction)
        batch_size = n if net.batch_size in (None, -1) else min(net.batch_size, n)
        n_batches = max(1, -(-n // batch_size))
        self._dual_step = float(self.dual_lr) / n_batches
        if self.smoothing == "auto":
            self.smoothing_ = self._auto_smoothing(data, batch_size, n_batches)
        else:
            self.smoothing_ = float(self.smoothing)
        self.best_epoch_ = None
        self._best = None

    @torch.no_grad()
    def _hold_out(self, data, fraction):
        """Keep a stratified share of the rows out of the network's loss.

        The rows are drawn within every (group, label) cell (every group for
        regression), so each cell keeps its share; their weight is set to 0
        in the training tensors *in place* (the loop then leaves them out of
        the base loss and of the surrogate gaps) and the other rows' weights
        are scaled up so that the mean weight stays 1.
        """
        weight = data["sample_weight"]
        codes = data["sensitive_features"].cpu().numpy().astype(np.int64)
        strata = codes
        if self.constraint_.task == "classification":
            strata = codes * self.n_outputs_ + data["y"].cpu().numpy().astype(np.int64)
        n = len(strata)
        draw = np.random.RandomState(self.random_state).random_sample(n)
        order = np.lexsort((draw, strata))
        sizes = np.bincount(strata)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(starts, sizes)
        # at least one row of every cell of two or more rows, never all of them
        take = np.where(sizes >= 2, np.clip(np.rint(fraction * sizes), 1, sizes - 1), 0)
        held = torch.as_tensor(rank < take[strata], device=weight.device)
        total, kept = weight.sum(), weight.masked_fill(held, 0.0)
        if not held.any() or kept.sum() <= 0:
            raise ValueError(
                f"validation_fraction={fraction} leaves no rows to hold out or to "
                "fit on; use validation_fraction=0 on so little data."
            )
        self._held_out = held
        self._dual_weight = weight.masked_fill(~held, 0.0)
        index = self._monitor["index"]
        monitor_held = held if index is None else held[index.to(held.device)]
        self._monitor_dual_weight = self._monitor["sample_weight"] * monitor_held
        weight.copy_(kept * (total / kept.sum()))
        self._verify_held_out = True

    def _auto_smoothing(self, data, batch_size, n_batches):
        with torch.no_grad():
            rows = self._monitor
            outputs = torch.zeros(
                (rows["y"].shape[0], self.n_outputs_), device=self.device_
            )
            batch = dict(rows, sample_loss=torch.zeros_like(rows["sample_weight"]))
            values, _, mask = self.constraint_._values(outputs, batch)
            ones = (self._monitor_dual_weight > 0).to(values.dtype)
            _, counts = group_sums(
                values, mask, rows["sensitive_features"], ones, self.n_groups_
            )
        share = float(counts[counts > 0].min()) / float(rows["y"].shape[0])
        window = min(n_batches, max(1.0, 200.0 / max(share * batch_size, _TINY)))
        return 1.0 - 1.0 / window

    @property
    def target_(self):
        """What the multipliers aim at: ``bound - margin_``."""
        return self.bound - self.margin_

    def __call__(self, loss, outputs, batch):
        if self._held_out is not None and self._verify_held_out:
            self._check_held_out(batch)
        values, hard, mask = self.constraint_._values(outputs, batch)
        with torch.no_grad():
            weighted, sums = self._batch_sums(values.detach(), hard, mask, batch)
            surrogate, valid = self.constraint_.gaps_from_sums(sums[0], sums[2])
            multipliers = self.multipliers_.numpy()
            excess = np.where(valid, surrogate - (self.bound - self.margin_.numpy()), 0)
            positive = np.maximum(excess, 0.0)
            slope = np.where(valid, multipliers + self.rho * positive, 0.0)
            # value of the augmented Lagrangian minus its linear part below
            offset = float(
                multipliers @ excess
                + 0.5 * self.rho * positive @ positive
                - slope @ np.where(valid, surrogate, 0.0)
            )
            per_group = self.constraint_.group_coefficients(slope, sums[2])
            per_group = _host_to_tensor(per_group.T, values)
            rows = per_group[batch["sensitive_features"]] * weighted
            self._pending = (outputs, sums)
        # the gradient of the augmented Lagrangian (linear in the rows'
        # surrogate values), and its value
        return loss + ((rows * values).sum() + offset)

    def _batch_sums(self, values, hard, mask, batch):
        """The batch's per-(event, group) sums, copied to the host at once.

        Returns the rows' weights ``(B, n_events)`` (event membership
        included) and a float64 array of shape ``(3, n_events,
        n_groups)``: the surrogate values', the decisions' and the weights'
        sums -- or ``(5, ...)`` with held-out rows, whose decisions and
        weights follow.
        """
        n_events = values.shape[1]
        weighted = _as_dtype(batch["sample_weight"], values.dtype)[:, None]
        weighted = weighted.expand(-1, n_events) if mask is None else weighted * mask
        columns = [values * weighted, hard * weighted, weighted]
        if self._held_out is not None:
            dual = _as_dtype(self._dual_weight[batch["index"]], values.dtype)[:, None]
            dual = dual.expand(-1, n_events) if mask is None else dual * mask
            columns += [hard * dual, dual]
        stacked = torch.cat(columns, dim=1)
        sums = stacked.new_zeros(self.n_groups_, stacked.shape[1])
        sums.index_add_(0, batch["sensitive_features"], stacked)
        # to float64 on the host: numpy's conversion of a few numbers is
        # cheaper than a torch operation
        host = sums.cpu()
        if host.dtype not in _NUMPY_DTYPES:  # e.g. bfloat16, unknown to numpy
            host = host.double()
        host = host.numpy().T.astype(np.float64)
        return weighted, host.reshape(-1, n_events, self.n_groups_)

    def _check_held_out(self, batch):
        """Fail loudly if the loop does not train on the weights set in setup."""
        held = self._held_out[batch["index"]]
        if held.any():
            if bool((batch["sample_weight"][held] != 0).any()):
                raise RuntimeError(
                    "The training loop did not leave the held-out rows out of "
                    "the loss (their weights were set to 0 in LossTerm.setup); "
                    "validation_fraction > 0 cannot be used with this loop."
                )
            self._verify_held_out = False

    def after_step(self, net, outputs, batch):
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] is outputs:
            sums = pending[1]
        else:  # called without this step's __call__
            with torch.no_grad():
                values, hard, mask = self.constraint_._values(outputs.detach(), batch)
                _, sums = self._batch_sums(values, hard, mask, batch)
        # the decisions on the batch (on its held-out rows, with held-out rows)
        current = sums[1:3] if self._held_out is None else sums[3:5]
        beta = self.smoothing_
        self._avg *= beta
        self._avg += (1.0 - beta) * current
        hard, valid = self.constraint_.gaps_from_sums(self._avg[0], self._avg[1])
        target = self.bound - self.margin_.numpy()
        step = np.where(valid, hard - target, 0.0) * self._dual_step
        multipliers = self.multipliers_.numpy()
        multipliers += step
        # np.clip's dispatch costs more than its two halves on a few numbers
        np.maximum(multipliers, 0.0, out=multipliers)
        np.minimum(multipliers, self.max_multiplier, out=multipliers)

    def epoch_summary(self):
        hard, mask, sample_loss = self._forward_monitor()
        gaps, loss = self._gaps_and_loss(
            hard, mask, sample_loss, self._monitor["sample_weight"]
        )
        record = {"gaps": gaps, "loss": loss}
        summary = {"fairness_gap": _nanmax(gaps)}
        dual_gaps, dual_loss = gaps, loss
        if self._held_out is not None:
            dual_gaps, dual_loss = self._gaps_and_loss(
                hard, mask, sample_loss, self._monitor_dual_weight
            )
            record.update(validation_gaps=dual_gaps, validation_loss=dual_loss)
            summary["fairness_validation_gap"] = _nanmax(dual_gaps)
        if self.z_ > 0:
            se = self.constraint_.gap_standard_errors(
                hard,
                mask,
                self._monitor["sensitive_features"],
                self._monitor_dual_weight,
                self.n_groups_,
            )
            # never aim below half the bound: on data too small to confirm
            # the bound, the margin alone would ask for no gap at all
            margin = (self.z_ * se).clamp_max(0.5 * self.bound)
            self.margin_ = margin.to(device="cpu", dtype=torch.float64)
        # copies: the dual step updates the multipliers in place
        margin = self.margin_.numpy().copy()
        record["margin"] = margin
        multipliers = self.multipliers_.numpy().copy()
        record["multipliers"] = multipliers
        self.history_.append(record)
        summary["fairness_multiplier_max"] = float(multipliers.max(initial=0.0))
        epoch = len(self.history_) - 1
        self.best_epoch_ = epoch
        if self.select_best:
            # meeting the target (bound - margin) first, then the bound, then
            # the smallest excess over the target; the lowest loss among equals
            largest = _nanmax(dual_gaps - (self.bound - margin))
            excess = max(largest, 0.0) if largest > 1e-9 else 0.0
            tier = (
                0 if excess == 0.0 else (1 if _nanmax(dual_gaps) <= self.bound else 2)
            )
            key = (tier, excess, dual_loss)
            if self._best is None or key < self._best[0]:
                state = self._net.module_.state_dict()
                self._best = (key, epoch, {k: v.clone() for k, v in state.items()})
        return summary

    def on_train_end(self, net):
        """Restore the best epoch's parameters; drop the references to the data."""
        if self._best is not None:
            _, self.best_epoch_, state = self._best
            net.module_.load_state_dict(state)
        self._best = None
        self._held_out = None
        self._dual_weight = None
        self._monitor_dual_weight = None
        self._pending = None
        super().on_train_end(net)


class PenaltyTerm(_GapTerm):
    """A fixed weight on the surrogate gaps above ``bound``.

    Adds ``weight * sum_k max(0, s_k - bound)`` to the batch loss. For two
    groups and ``bound=0`` this is ``weight * |rate_a - rate_b|`` summed over
    the events: the simple in-processing baseline, which trades accuracy for
    fairness at a rate set by ``weight`` and does not guarantee the bound.

    Parameters
    ----------
    constraint : str or FairnessConstraint
    weight : float
    bound : float, default=0.0
    """

    def __init__(self, constraint, weight, bound=0.0):
        super().__init__(constraint, bound)
        self.weight = weight

    def __call__(self, loss, outputs, batch):
        stats = self.constraint_.batch_statistics(outputs, batch, self.n_groups_)
        with torch.no_grad():
            excess = (stats["surrogate_gaps"] - self.bound) * stats["valid"]
            slope = self.weight * (excess > 0).to(excess.dtype)
            value = self.weight * excess.clamp_min(0).sum()
            linear = (slope * stats["surrogate_gaps"]).sum()
        term = self.constraint_.weighted_gap_sum(stats, batch, slope)
        return loss + term + (value - linear)


class AdversarialTerm(_GapTerm):
    """Adversarial debiasing (Zhang, Lemoine & Mitchell, 2018) in the one loop.

    An adversary network predicts the group from the model's output (and the
    label, for equalized odds and equal opportunity; for error-rate parity it
    sees the log-probability of the true class). The model minimises its
    loss minus ``alpha`` times the adversary's loss; the adversary takes one
    step of its own optimizer after every model step. With ``projection=True``
    the component of the model's gradient that helps the adversary is removed
    as in the paper (computed with respect to the batch outputs, a cheap
    stand-in for the parameter-space projection).

    The bound is not enforced: ``alpha`` sets the trade-off; the hard gaps are
    recorded like the other terms'.

    Parameters
    ----------
    constraint : str or FairnessConstraint
    alpha : float, default=1.0
        Weight of the adversary's loss.
    hidden_units : tuple of int, default=(32,)
        Hidden layers of the adversary (``()``: logistic regression, as in the
        paper).
    lr : float, default=1e-3
        Adam learning rate of the adversary.
    projection : bool, default=True
    random_state : int or None, default=None
        Seeds the adversary's initialisation (None: the net's torch seed).

    Attributes
    ----------
    adversary_ : torch.nn.Module
    """

    def __init__(
        self,
        constraint,
        *,
        alpha=1.0,
        hidden_units=(32,),
        lr=1e-3,
        projection=True,
        random_state=None,
    ):
        super().__init__(constraint, 0.0)
        self.alpha = alpha
        self.hidden_units = hidden_units
        self.lr = lr
        self.projection = projection
        self.random_state = random_state

    def setup(self, net, data):
        super().setup(net, data)
        if not self.constraint_.pairwise:
            raise ValueError(
                f"{self.constraint_.name!r} bounds a level, not a difference "
                "between groups; an adversary cannot enforce it. Use the "
                "lagrangian method."
            )
        n_in = self._n_features()
        layers, width = [], n_in
        with torch.random.fork_rng(devices=[]):
            if self.random_state is not None:
                torch.manual_seed(int(self.random_state))
            for units in self.hidden_units:
                layers += [nn.Linear(width, int(units)), nn.ReLU()]
                width = int(units)
            layers.append(nn.Linear(width, self.n_groups_))
            adversary = nn.Sequential(*layers)
        self.adversary_ = adversary.to(self.device_)
        self.optimizer_ = torch.optim.Adam(self.adversary_.parameters(), lr=self.lr)

    def _n_features(self):
        c = self.constraint_
        if c.task == "regression":
            base = 1 if isinstance(c, GroupLossParity) else self.n_outputs_
        elif isinstance(c, ErrorRateParity):
            base = 1
        else:
            base = 1 if self.n_outputs_ == 2 else self.n_outputs_
        if c.label_conditional:
            return base * (1 + self.n_outputs_)
        return base

    def _features(self, outputs, batch):
        c = self.constraint_
        if c.task == "regression":
            if isinstance(c, GroupLossParity):
                return batch["sample_loss"][:, None]
            return outputs
        if isinstance(c, ErrorRateParity):
            return torch.log_softmax(outputs, dim=1).gather(1, batch["y"][:, None])
        if outputs.shape[1] == 2:
            base = outputs[:, 1:] - outputs[:, :1]
        else:
            base = torch.log_softmax(outputs, dim=1)
        if not c.label_conditional:
            return base
        label = torch.nn.functional.one_hot(batch["y"], self.n_outputs_).to(base.dtype)
        return torch.cat([base, (base[:, :, None] * label[:, None, :]).flatten(1)], 1)

    def _row_weight(self, batch):
        weight = batch["sample_weight"]
        c = self.constraint_
        if isinstance(c, EqualOpportunity):  # only the rows of the events count
            n = self.n_outputs_
            classes = torch.as_tensor(_classes_used(n), device=weight.device)
            weight = weight * (batch["y"][:, None] == classes[None, :]).any(1)
        return weight

    def _adversary_loss(self, features, batch):
        logits = self.adversary_(features)
        loss = torch.nn.functional.cross_entropy(
            logits, batch["sensitive_features"], reduction="none"
        )
        weight = self._row_weight(batch)
        return (weight * loss).sum() / weight.sum().clamp_min(_TINY)

    def __call__(self, loss, outputs, batch):
        for p in self.adversary_.parameters():
            p.requires_grad_(False)
        try:
            adv_loss = self._adversary_loss(self._features(outputs, batch), batch)
        finally:
            for p in self.adversary_.parameters():
                p.requires_grad_(True)
        if not (self.projection and torch.is_grad_enabled() and outputs.requires_grad):
            return loss - self.alpha * adv_loss
        g_pred = torch.autograd.grad(loss, outputs, retain_graph=True)[0]
        g_adv = torch.autograd.grad(adv_loss, outputs, retain_graph=True)[0]
        unit = g_adv / g_adv.norm().clamp_min(_TINY)
        wanted = g_pred - (g_pred * unit).sum() * unit - self.alpha * g_adv
        correction = ((outputs - outputs.detach()) * (wanted - g_pred)).sum()
        return loss - self.alpha * adv_loss.detach() + correction

    def after_step(self, net, outputs, batch):
        super().after_step(net, outputs, batch)
        outputs = outputs.detach()
        batch = dict(batch)
        if "sample_loss" in batch:
            batch["sample_loss"] = batch["sample_loss"].detach()
        self.optimizer_.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = self._adversary_loss(self._features(outputs, batch), batch)
            loss.backward()
        self.optimizer_.step()
