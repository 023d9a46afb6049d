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
Without numba, :func:`binary_kind` returns None and the numpy path runs.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.constraints._rates import pair_index

__all__ = ["BinaryStep", "binary_kind", "lagrangian_step", "penalty_step"]

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
    return _binary_kernels.lagrangian, _binary_kernels.penalty


class BinaryStep:
    """The buffers of one fit's compiled batches (allocated once per fit;
    plain arrays: a fitted term that holds them pickles).

    Parameters
    ----------
    kind : int
        The constraint's code (:data:`KINDS`).
    constraint : FairnessConstraint
    n_groups : int
    n_events : int
    """

    def __init__(self, kind, constraint, n_groups, n_events):
        self.kind = kind
        self.temperature = float(constraint.temperature)
        first, second = pair_index(n_groups)
        self.first = np.ascontiguousarray(first, dtype=np.int64)
        self.second = np.ascontiguousarray(second, dtype=np.int64)
        n_gaps = n_events * len(first)
        self.sums = np.zeros((5, n_events, n_groups))
        self.per_group = np.zeros((n_events, n_groups))
        self.gaps = np.zeros(n_gaps)
        self.valid = np.zeros(n_gaps, dtype=np.bool_)
        self.slope = np.zeros(n_gaps)
        self.probs = np.zeros((0, 2))
        self.no_dual = np.zeros(0, dtype=np.float32)

    def buffers(self, n_rows):
        """The probabilities' buffer for a batch of ``n_rows`` rows."""
        if self.probs.shape[0] != n_rows:
            self.probs = np.zeros((n_rows, 2))
        return self.probs


def _rows(batch):
    """The batch's class codes, group codes and weights as numpy views."""
    return (
        batch["y"].numpy(),
        batch["sensitive_features"].numpy(),
        batch["sample_weight"].numpy(),
    )


def lagrangian_step(step, term, outputs, batch, dual, grad):
    """A :class:`LagrangianTerm`'s batch (see the module docstring; ``dual``:
    the batch's held-out weights as numpy, or None): updates its
    multipliers, running excess and moving average in place, writes the
    gradient into ``grad`` and returns the term's value."""
    return _kernels()[0](
        outputs,
        *_rows(batch),
        step.no_dual if dual is None else dual,
        step.kind,
        step.temperature,
        step.first,
        step.second,
        term.multipliers_.numpy(),
        term._running_excess,
        term.target_,
        term._avg[0],
        float(term.smoothing_),
        float(term.rho),
        float(term._dual_step),
        float(term.max_multiplier),
        step.sums,
        step.buffers(outputs.shape[0]),
        step.per_group,
        step.gaps,
        step.valid,
        step.slope,
        grad,
    )


def penalty_step(step, term, outputs, batch, grad):
    """A :class:`PenaltyTerm`'s batch (see the module docstring): writes the
    gradient into ``grad`` and returns the term's value."""
    return _kernels()[1](
        outputs,
        *_rows(batch),
        step.kind,
        step.temperature,
        step.first,
        step.second,
        term.bounds_,
        float(term.weight),
        step.sums,
        step.buffers(outputs.shape[0]),
        step.per_group,
        step.gaps,
        step.valid,
        step.slope,
        grad,
    )
