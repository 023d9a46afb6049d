"""One batch of a fairness term for a binary classifier, as one compiled call.

On a CPU, :class:`~sklfair.constrained.LagrangianTerm` and
:class:`~sklfair.constrained.PenaltyTerm` compute a batch's addition to the
loss in numpy (:class:`~sklfair.constrained._gap_term.GapTerm`): the
surrogate and the decisions, their per-(event, group) sums, the gaps, the
lagrangian's dual step, and the gradient of the linear term with respect to
the outputs. That is a few dozen numpy calls on arrays of a few hundred
numbers, each paying numpy's and the interpreter's fixed cost, and between
two of the network's training steps the interpreter's code runs cold: those
calls cost about as much as the step itself.

When numba is installed (the ``speed`` extra), the same arithmetic for one
built-in binary constraint (:class:`~sklfair.constraints.DemographicParity`,
:class:`~sklfair.constraints.EqualizedOdds`,
:class:`~sklfair.constraints.EqualOpportunity`,
:class:`~sklfair.constraints.ErrorRateParity`, not a subclass) runs as one
compiled function per batch, operation for operation as the numpy path
computes it: rows in order, float64 sums, the same formulas (the numbers
agree to the last bit in the tests, and could differ only where numpy's
vector products sum in another order). The kernels live in
:mod:`~sklfair.constrained._binary_kernels`, imported on first use.
:func:`binary_kind` says whether a term's constraints take it;
:func:`lagrangian_step` and :func:`penalty_step` are the two terms' batches.
The epoch-end evaluation of any such term (the lagrangian, the penalty, the
adversary's) reduces the decisions on the monitored rows in one compiled
pass too (:class:`MonitorDecisions`).
Without numba, :func:`binary_kind` returns None and the numpy path runs.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import torch

from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.constraints._rates import pair_index

__all__ = [
    "BinaryStep",
    "MonitorDecisions",
    "binary_kind",
    "lagrangian_step",
    "penalty_step",
]

#: The constraints the compiled step computes, by exact class, and the code
#: the kernel reads: the events a row belongs to and its surrogate follow
#: from it (see :func:`_rows`).
KINDS = {
    DemographicParity: 0,
    EqualizedOdds: 1,
    EqualOpportunity: 2,
    ErrorRateParity: 3,
}

#: Whether the compiled step may be used (tests turn it off to compare).
ENABLED = True


def binary_kind(constraints, n_outputs):
    """The kernel's code of the one constraint in ``constraints``, or None
    where the compiled step does not apply: several constraints, more than
    two classes, a constraint that is not one of :data:`KINDS` exactly, or
    numba not installed (or not importable with this numpy)."""
    if not ENABLED or len(constraints) != 1 or n_outputs != 2:
        return None
    kind = KINDS.get(type(constraints[0]))
    if kind is None or _kernels() is None:
        return None
    return kind


@functools.cache
def _kernels():
    """The compiled functions, or None without numba (numba is imported,
    and their machine code loaded from its cache or compiled, on the first
    call)."""
    if importlib.util.find_spec("numba") is None:
        return None
    try:
        from . import _binary_kernels
    except ImportError:  # e.g. a numba release that predates this numpy
        return None
    return _binary_kernels


class BinaryStep:
    """One fit's compiled batches: the constraint's code and pairs, and the
    term's state the kernel reads and updates in place (its multipliers,
    moving averages and constants), bound at the first batch. Plain arrays:
    a fitted term that holds one pickles.

    Parameters
    ----------
    kind : int
        The constraint's code (:data:`KINDS`).
    constraint : FairnessConstraint
    n_groups : int
    """

    def __init__(self, kind, constraint, n_groups):
        self.kind = kind
        self.temperature = float(constraint.temperature)
        first, second = pair_index(n_groups)
        self.first = np.ascontiguousarray(first, dtype=np.int64)
        self.second = np.ascontiguousarray(second, dtype=np.int64)
        self.n_groups = n_groups
        self.no_dual = np.zeros(0, dtype=np.float32)
        self.state = None

    def run(self, kernel, outputs, batch, into, *leading):
        """``kernel`` on the batch (its numpy views), then ``leading``, the
        gradient's buffer, the constraint's code, temperature and pairs, and
        :attr:`state` (the term's part); returns the term's value and
        its gradient with respect to ``outputs`` (None where it is 0), or,
        given ``into`` (a tensor of the outputs' dtype and shape on the
        host), ``into`` with the gradient added to it in place."""
        host = outputs.detach().numpy()
        if into is None:
            gradient = np.empty(host.shape, dtype=host.dtype)
        else:
            gradient = into.numpy()
        value, active = kernel(
            host,
            batch["y"].numpy(),
            batch["sensitive_features"].numpy(),
            batch["sample_weight"].numpy(),
            *leading,
            gradient,
            into is not None,
            self.kind,
            self.temperature,
            self.first,
            self.second,
            *self.state,
        )
        if into is not None:
            return value, into
        return value, torch.from_numpy(gradient) if active else None


class MonitorDecisions:
    """The decisions of a binary classifier on the monitored rows at an
    epoch end, kept as the network's outputs: :meth:`sums` reduces them per
    (event, group) in one compiled pass (the numpy path builds the 0/1
    decisions and their event masks, then bincounts them).

    Parameters
    ----------
    kind : int
        The constraint's code (:data:`KINDS`).
    outputs : ndarray of shape (n_rows, 2)
        The network's outputs (logits).
    y, codes : int ndarray of shape (n_rows,)
        The rows' class codes and group codes.
    n_events, n_groups : int
    """

    def __init__(self, kind, outputs, y, codes, n_events, n_groups):
        self.kind = kind
        self.outputs = outputs
        self.y = y
        self.codes = codes
        self.sums_shape = (3, n_events, n_groups)

    def sums(self, weight, squares=None):
        """Per (event, group) under ``weight`` (an array of the rows): the
        weighted decisions, the weights, and ``squares`` (the rows' squared
        weights when None), each of shape ``(n_events, n_groups)``, float64.
        The decisions are 0 or 1: their weighted squares' sums are the
        first."""
        sums = np.empty(self.sums_shape)
        _kernels().decision_sums(
            self.outputs,
            self.y,
            self.codes,
            self.kind,
            weight,
            _NO_ROWS if squares is None else squares,
            sums,
        )
        return sums[0], sums[1], sums[2]


#: An empty array: the kernels' "not given" for an optional row array.
_NO_ROWS = np.zeros(0)


def lagrangian_step(step, term, outputs, batch, dual, into=None):
    """A :class:`LagrangianTerm`'s batch (see the module docstring; ``dual``:
    the batch's held-out weights as numpy, or None): updates its
    multipliers, running excess and moving average in place and returns
    its value and gradient (:meth:`BinaryStep.run`)."""
    if step.state is None:  # the term's arrays, updated in place by the kernel
        step.state = (
            term.multipliers_.numpy(),
            term._running_excess,
            term._avg[0],
            float(term.smoothing_),
            float(term.rho),
            float(term._dual_step),
            float(term.max_multiplier),
        )
    dual = step.no_dual if dual is None else dual
    # the target changes at epoch ends (the margin)
    kernel = _kernels().lagrangian
    return step.run(kernel, outputs, batch, into, dual, term.target_)


def penalty_step(step, term, outputs, batch, into=None):
    """A :class:`PenaltyTerm`'s batch (see the module docstring): its value
    and gradient (:meth:`BinaryStep.run`)."""
    if step.state is None:
        step.state = (
            step.n_groups,
            term.bounds_,
            float(term.weight),
        )
    return step.run(_kernels().penalty, outputs, batch, into)
