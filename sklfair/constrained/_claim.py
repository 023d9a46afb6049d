"""The claim a fitted constrained model makes about its bounds.

:func:`claim_violation` measures the fitted model's decisions on the training
data with the metrics' definitions -- the largest between-group difference of
each rate, an undefined rate (a group with no row in an event: no negatives,
no false positive rate) counting as 0 as in fairlearn and
:mod:`sklfair.metrics` -- and warns when a bound is not met. The constrained
estimators and the fair student share it, so the claim and the metric never
disagree.

:func:`row_blocks` and :func:`add_rate_sums` let a claim on many rows be
summed block by block (:data:`BLOCK_ROWS` rows at a time): the decisions of
one block and the rates' temporaries are all that is alive, never an array
of decisions for every row.
"""

from __future__ import annotations

import warnings

import numpy as np

from sklfair._group_labels import plain_value
from sklfair.exceptions import BoundNotMetWarning, UndefinedRateWarning

__all__ = [
    "BLOCK_ROWS",
    "add_rate_sums",
    "claim_violation",
    "claimed_gap",
    "gap_of_sums",
    "row_blocks",
    "violation_of_gaps",
]

#: Rows whose decisions and rate sums are computed at a time (a few MB of
#: temporaries whatever the number of rows).
BLOCK_ROWS = 2**13


def row_blocks(n_rows, block_rows=None):
    """Slices of ``block_rows`` consecutive rows covering ``range(n_rows)``
    (default :data:`BLOCK_ROWS`).

    Examples
    --------
    >>> from sklfair.constrained._claim import row_blocks
    >>> list(row_blocks(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    block_rows = BLOCK_ROWS if block_rows is None else block_rows
    return [
        slice(start, min(start + block_rows, n_rows))
        for start in range(0, n_rows, block_rows)
    ]


def add_rate_sums(sums, constraints, y, decisions, codes, sample_weight, n_groups):
    """Each constraint's rate sums of one block of rows, added to ``sums``.

    Parameters
    ----------
    sums : list of (numerator, denominator) or None
        The sums of the blocks so far (None before the first block); updated
        in place.
    constraints : list of FairnessConstraint
    y, decisions, codes, sample_weight :
        The block's rows, as :meth:`FairnessConstraint.rates` takes them.
    n_groups : int

    Returns
    -------
    sums : list of (numerator, denominator)
        Arrays of shape ``(n_events, n_groups)``, one pair per constraint.
    """
    part = [
        constraint.rates(y, decisions, codes, sample_weight, n_groups=n_groups)
        for constraint in constraints
    ]
    if sums is None:
        return [(np.array(num), np.array(den)) for num, den in part]
    for (num, den), (n, d) in zip(sums, part, strict=True):
        num += n
        den += d
    return sums


def claim_violation(
    constraints, y, decisions, codes, sample_weight, labels, *, owner, advice
):
    """The largest gap minus its bound over ``constraints``, rounded to 1e-12.

    Parameters
    ----------
    constraints : list of FairnessConstraint
        Each with its bound.
    y : ndarray of shape (n_samples,)
        Class codes or targets.
    decisions : ndarray
        One-hot decisions (or decision probabilities) ``(n, n_classes)``, or
        regression predictions.
    codes : ndarray of shape (n_samples,)
        Group codes.
    sample_weight : ndarray of shape (n_samples,) or None
    labels : ndarray of shape (n_groups,)
        The group labels, for the messages.
    owner : str
        Who makes the claim, for the messages.
    advice : str
        What to do when a bound is not met.

    Returns
    -------
    violation : float
        Positive when a bound is not met.

    Warns
    -----
    BoundNotMetWarning
        When a bound is not met.
    UndefinedRateWarning
        When a rate is undefined for a group.
    """
    gaps = [
        claimed_gap(constraint, y, decisions, codes, sample_weight, labels)
        for constraint in constraints
    ]
    return violation_of_gaps(constraints, gaps, owner=owner, advice=advice)


def violation_of_gaps(constraints, gaps, *, owner, advice, where="training data"):
    """The largest gap minus its bound, rounded to 1e-12, from each
    constraint's gap (see :func:`claim_violation`); warns when a bound is not
    met on ``where``."""
    excess, worst = -np.inf, None
    for constraint, gap in zip(constraints, gaps, strict=True):
        if gap - float(constraint.bound) > excess:
            excess, worst = gap - float(constraint.bound), (constraint, gap)
    violation = float(np.round(excess, 12))
    if violation > 0:
        constraint, gap = worst
        warnings.warn(
            f"{owner} did not meet the bound: the largest {constraint.name} gap on "
            f"the {where} is {gap:.4f}, above bound={constraint.bound}. "
            f"{advice}",
            BoundNotMetWarning,
            stacklevel=4,
        )
    return violation


def claimed_gap(constraint, y, decisions, codes, sample_weight, labels):
    """The largest gap of ``decisions`` with undefined rates counted as 0.

    A rate is undefined for a group without rows in an event (no negatives:
    no false positive rate); as in fairlearn's metrics it counts as 0, and an
    :class:`~sklfair.exceptions.UndefinedRateWarning` names it.
    """
    numerator, denominator = constraint.rates(
        y, decisions, codes, sample_weight, n_groups=len(labels)
    )
    n_events = decisions.shape[1] if decisions.ndim > 1 else 1
    return gap_of_sums(constraint, numerator, denominator, labels, n_events)


def gap_of_sums(constraint, numerator, denominator, labels, n_events):
    """:func:`claimed_gap` from the summed rates' numerators and denominators
    ``(n_events, n_groups)`` of ``constraint.rates`` (added up over chunks)."""
    # groups without a row of positive weight take no part at all
    kept = denominator.sum(axis=0) > 0
    numerator, denominator, labels = (
        numerator[:, kept],
        denominator[:, kept],
        labels[kept],
    )
    present = denominator > 0
    rates = np.divide(
        numerator, denominator, out=np.zeros_like(numerator), where=present
    )
    if not present.all():
        events = constraint.event_names(n_events)
        cells = [
            f"{events[e]} of group {plain_value(labels[g])!r}"
            for e, g in zip(*np.nonzero(~present), strict=True)
        ]
        warnings.warn(
            f"{len(cells)} rate(s) are undefined on the training data "
            f"(no rows in the event): {', '.join(cells[:6])}. They count as 0, as "
            "in fairlearn's metrics, so the gaps involving them measure that "
            "group against 0.",
            UndefinedRateWarning,
            stacklevel=5,
        )
    if not constraint.pairwise:
        return float(rates.max())
    return float((rates.max(axis=1) - rates.min(axis=1)).max())
