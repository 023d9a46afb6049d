"""The classification constraints: selection, true/false positive and error rates.

====================  ==============================================
name                  rate per group
====================  ==============================================
demographic_parity    P(pred = c), one-vs-rest, every class (the
                      positive class only when binary)
equalized_odds        P(pred = c | y = k) (TPR and FPR when binary)
equal_opportunity     P(pred = c | y = c) (TPR when binary)
error_rate_parity     P(pred != y)
====================  ==============================================

In the training loop a rate has two versions: a smooth *surrogate* (the
probability of the class under a tempered softmax, ``softmax(logits /
temperature)``, or ``1 - p(true class)``), which carries the gradient, and the
*hard* value of the decision (``argmax == class``, ``argmax != y``), which is
what the bound is about.

Both are written twice: in torch (``_values``, ``_decisions``: the general
path, on any device) and in numpy (``_host_values``: the surrogate, the
decisions and the surrogate's vector-Jacobian product by hand), which the
loss terms use for a batch on the CPU, where a few numpy calls on a batch of
a few hundred rows cost less than the torch graph and its backward pass.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch
from scipy.special import expit
from sklearn.utils._param_validation import Interval

from ._base import FairnessConstraint

__all__ = ["DemographicParity", "EqualizedOdds", "EqualOpportunity", "ErrorRateParity"]


class _ClassificationConstraint(FairnessConstraint):
    """A classification constraint; its surrogate is a tempered softmax.

    Parameters
    ----------
    bound : float in [0, 1] or None, default=None
        Largest allowed gap; None leaves it to the meta-estimator's ``bound``.
    temperature : float, default=0.25
        The surrogate of a decision is ``softmax(logits / temperature)``. A
        low temperature makes the smooth rates follow the decisions closely
        (the gradient acts on the rows near the decision boundary, the ones
        whose decision can flip), which keeps constrained training from
        oscillating; 1 gives the model's own probabilities.
    """

    _parameter_constraints: dict = {
        **FairnessConstraint._parameter_constraints,
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, *, bound=None, temperature=0.25):
        super().__init__(bound=bound)
        self.temperature = temperature

    def _softmax(self, outputs):
        return torch.softmax(outputs / self.temperature, dim=1)

    # --- the host (numpy) path of the training loop ---------------------
    def _has_host_values(self):
        """Whether :meth:`_host_values` computes what :meth:`_values` and
        :meth:`_decisions` do: the class that defines its numpy surrogate
        also defines the torch methods that are called (a subclass that
        overrides ``_values`` or ``_decisions`` gets the torch path)."""
        return _host_values_match(type(self))

    def _host_values(self, outputs, y):
        """:meth:`_values` in numpy on the host, with the surrogate's
        vector-Jacobian product.

        Parameters
        ----------
        outputs : ndarray of shape (B, n_classes)
            The batch's logits (float32 or float64).
        y : int64 ndarray of shape (B,)
            The class codes.

        Returns
        -------
        values : float64 ndarray of shape (B, n_events)
            The surrogate values.
        hard : ndarray of shape (B, n_events)
            The decisions' 0/1 values.
        mask : ndarray of shape (B, n_events) or None
            The event membership.
        vjp : callable
            ``vjp(r)`` with ``r`` of shape (B, n_events): the gradient of
            ``sum(r * values)`` with respect to ``outputs``, of shape (B,
            n_classes) and ``outputs``' dtype. For the tempered softmax ``S =
            softmax(z / T)`` and ``G`` the rows' coefficients of ``S`` (``r``
            spread onto the columns the values are taken from), it is ``S *
            (G - sum_j G_j S_j) / T``; with two classes, ``+-(G_1 - G_0) *
            S_0 * S_1 / T``.
        """
        temperature = float(self.temperature)
        n_classes = outputs.shape[1]
        if n_classes == 2:
            # the logistic function of the logits' differences, both columns
            # at once: column c is sigmoid((z_c - z_other) / T); in float64
            # the differences are exact, so class 1 wins only when strictly
            # larger, as in argmax
            probs = np.subtract(outputs, outputs[:, ::-1], dtype=np.float64)
            decided = probs[:, 1] > 0
            probs /= temperature
            expit(probs, out=probs)
        else:
            probs = _softmax_np(outputs, temperature)
            decided = outputs.argmax(axis=1)
        values, spread, contrast = self._host_surrogate(probs, y)
        hard, mask = self._host_decisions(decided, y, n_classes)

        if n_classes == 2:
            # S_1 = sigmoid((z_1 - z_0) / T): the gradient is
            # +-(G_1 - G_0) * S_0 * S_1 / T on the two logits, where
            # contrast(r) = G_1 - G_0
            def vjp(coefficients):
                slope = contrast(coefficients)
                slope *= probs[:, 0]
                slope *= probs[:, 1]
                slope /= temperature
                # -slope on class 0's logit, +slope on class 1's
                return (slope[:, None] * _SIGNS).astype(outputs.dtype, copy=False)

            return values, hard, mask, vjp

        def vjp(coefficients):
            spread_out = spread(coefficients)
            centred = spread_out - np.einsum("ij,ij->i", spread_out, probs)[:, None]
            centred *= probs
            centred /= temperature
            return centred.astype(outputs.dtype, copy=False)

        return values, hard, mask, vjp


#: The two logits' shares of a binary surrogate's gradient.
_SIGNS = np.array([-1.0, 1.0])
_SIGNS.flags.writeable = False


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


def _softmax_np(outputs, temperature):
    """``softmax(outputs / temperature)`` by rows, float64."""
    z = np.divide(outputs, temperature, dtype=np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@functools.lru_cache(maxsize=64)
def _column_layout(cols, n_classes):
    """How :func:`_host_columns` takes the columns ``cols`` (a tuple) of
    ``n_classes`` probabilities: the index (a slice when they are a run),
    the spread of the events' coefficients back onto the columns (repeated
    columns add up) and, with two classes, the difference of the spread's
    two columns (``+1`` for an event on class 1, ``-1`` on class 0), as
    bound ``__rmatmul__`` of read-only float64 arrays."""
    first = cols[0]
    index = (
        slice(first, first + len(cols))
        if cols == tuple(range(first, first + len(cols)))
        else list(cols)
    )
    matrix = np.zeros((len(cols), n_classes))
    matrix[np.arange(len(cols)), list(cols)] = 1.0
    matrix.flags.writeable = False
    contrast = None
    if n_classes == 2:
        vector = np.where(np.asarray(cols) == 1, 1.0, -1.0)
        vector.flags.writeable = False
        contrast = vector.__rmatmul__
    return index, matrix.__rmatmul__, contrast


def _host_columns(probs, cols):
    """The surrogate ``probs[:, cols]``, the spread of coefficients back onto
    the columns and, with two classes, the difference of the spread's two
    columns (see :func:`_column_layout`; ``cols`` a tuple)."""
    index, spread, contrast = _column_layout(cols, probs.shape[1])
    return probs[:, index], spread, contrast


@functools.lru_cache(maxsize=64)
def _onehot_layout(cols, n_classes):
    """How :func:`_hard_onehot_np` reads the decided classes: None when the
    events are all "class 1 of two" (the decision itself), else the
    ``(1, len(cols))`` row of the events' classes."""
    if n_classes == 2 and set(cols) == {1}:
        return None
    classes = np.asarray(cols)[None, :]
    classes.flags.writeable = False
    return classes


def _hard_onehot_np(decided, cols, n_classes):
    """:func:`_hard_onehot` in numpy from the decided classes (float64;
    ``cols`` a tuple)."""
    classes = _onehot_layout(cols, n_classes)
    if classes is None:
        positive = decided[:, None].astype(np.float64)
        return positive if len(cols) == 1 else np.repeat(positive, len(cols), 1)
    return (decided[:, None] == classes).astype(np.float64)


def _owner(cls, name):
    """The class of ``cls``'s MRO that defines ``name``."""
    return next((k for k in cls.__mro__ if name in k.__dict__), None)


@functools.cache
def _host_values_match(cls):
    """See :meth:`_ClassificationConstraint._has_host_values`."""
    owner = _owner(cls, "_host_surrogate")
    return (
        owner is not None
        and _owner(cls, "_values") is owner
        and _owner(cls, "_decisions") is owner
        and _owner(cls, "_host_decisions") is owner
    )


def _onehot_np(predictions):
    """Decision probabilities as a 2D float array (one column per class)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim == 1:  # probability of class 1 (binary)
        predictions = np.column_stack([1.0 - predictions, predictions])
    return predictions


def classes_used(n_classes):
    """Classes whose one-vs-rest rate is constrained: class 1 only when binary."""
    return list(_classes_used(n_classes))


@functools.lru_cache(maxsize=64)
def _classes_used(n_classes):
    """:func:`classes_used` as a tuple (cached: read on every batch)."""
    return (1,) if n_classes == 2 else tuple(range(n_classes))


class DemographicParity(_ClassificationConstraint):
    """Equal selection rates: ``P(pred = c | group)`` the same in every group.

    Binary: the rate of the positive class (``classes_[1]``); multi-class:
    one-vs-rest, every class. The surrogate is the mean tempered probability
    (see :class:`_ClassificationConstraint` for ``temperature``).

    Parameters
    ----------
    bound : float in [0, 1] or None, default=None
        Largest allowed gap; None leaves it to the meta-estimator's ``bound``.
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
        return [f"selection_rate[{c}]" for c in classes_used(n_outputs)]

    def _values(self, outputs, batch):
        cols = classes_used(outputs.shape[1])
        surrogate = _columns(self._softmax(outputs), cols)
        return (surrogate, *self._decisions(outputs, batch))

    def _decisions(self, outputs, batch):
        return _hard_onehot(outputs, classes_used(outputs.shape[1])), None

    def _host_surrogate(self, probs, y):
        return _host_columns(probs, _classes_used(probs.shape[1]))

    def _host_decisions(self, decided, y, n_classes):
        return _hard_onehot_np(decided, _classes_used(n_classes), n_classes), None

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        values = predictions[:, classes_used(predictions.shape[1])]
        return values, np.ones_like(values)


class EqualizedOdds(_ClassificationConstraint):
    """Equal ``P(pred = c | y = k, group)`` for every class pair: TPR and FPR.

    Binary: the true and false positive rates; multi-class: the whole
    confusion matrix's rows, one-vs-rest.

    Parameters
    ----------
    bound : float in [0, 1] or None, default=None
        Largest allowed gap; None leaves it to the meta-estimator's ``bound``.
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
        return [(c, k) for c in classes_used(n_classes) for k in range(n_classes)][
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

    def _host_surrogate(self, probs, y):
        return _host_columns(probs, tuple(c for c, _ in self._pairs(probs.shape[1])))

    def _host_decisions(self, decided, y, n_classes):
        cols, labels = zip(*self._pairs(n_classes))
        mask = (y[:, None] == np.asarray(labels)[None, :]).astype(np.float64)
        return _hard_onehot_np(decided, cols, n_classes), mask

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        cols, labels = zip(*self._pairs(predictions.shape[1]))
        values = predictions[:, list(cols)]
        mask = (y[:, None] == np.asarray(labels)[None, :]).astype(np.float64)
        return values, mask


class EqualOpportunity(EqualizedOdds):
    """Equal true positive rates ``P(pred = 1 | y = 1, group)``.

    Multi-class: equal recall of every class, ``P(pred = c | y = c, group)``.
    """

    name = "equal_opportunity"

    def _pairs(self, n_classes):
        return [(c, c) for c in classes_used(n_classes)]

    def event_names(self, n_outputs):
        if n_outputs == 2:
            return ["true_positive_rate"]
        return [f"recall[{c}]" for c, _ in self._pairs(n_outputs)]


class ErrorRateParity(_ClassificationConstraint):
    """Equal error rates ``P(pred != y | group)``.

    The surrogate is ``1 - p(true class)`` (tempered probability).

    Parameters
    ----------
    bound : float in [0, 1] or None, default=None
        Largest allowed gap; None leaves it to the meta-estimator's ``bound``.
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

    def _host_surrogate(self, probs, y):
        rows = np.arange(len(y))

        def spread(coefficients):
            out = np.zeros(probs.shape)
            out[rows, y] = -coefficients[:, 0]
            return out

        def contrast(coefficients):  # two classes: -r on class 1, +r on 0
            return np.where(y == 1, -coefficients[:, 0], coefficients[:, 0])

        return 1.0 - probs[rows, y][:, None], spread, contrast

    def _host_decisions(self, decided, y, n_classes):
        return (decided != y).astype(np.float64)[:, None], None

    def _array_values(self, y, predictions):
        predictions = _onehot_np(predictions)
        values = 1.0 - predictions[np.arange(len(y)), y.astype(np.int64)]
        return values[:, None], np.ones((len(y), 1))
