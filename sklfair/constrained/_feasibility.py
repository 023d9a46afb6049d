"""Can the data support the claim? Before fitting: the bound against what the
groups' sizes can resolve; after fitting: a model fair only because useless.

:func:`resolvable_bounds` computes, for each constraint, the smallest bound a
certificate (:func:`sklfair.metrics.certify`) could confirm with groups of
these sizes if the model had no gap at all: the largest upper end, over the
pairs of groups and the events, of Newcombe's interval of a zero difference
at the anticipated rate, with Šidák's adjustment for the number of pairs and
events -- the definition the certificates use. The anticipated rate is the
share of the class among the labels for demographic parity (a model's
selection rate follows its base rate) and the least favourable 0.5 for the
conditional and error rates, which are unknown before fitting. A bound below
it gets an :class:`~sklfair.exceptions.InfeasibleBoundWarning` with the
numbers.

:func:`warn_if_degenerate` warns (:class:`~sklfair.exceptions.DegenerateModelWarning`)
when a fitted classifier's decisions on its training rows are nearly
constant, or its accuracy is within two standard errors of always predicting
the majority class.
"""

from __future__ import annotations

import warnings

import numpy as np

from sklfair._group_labels import plain_value
from sklfair.constraints import DemographicParity
from sklfair.constraints._rates import pair_index
from sklfair.exceptions import DegenerateModelWarning, InfeasibleBoundWarning
from sklfair.metrics._analytic import kish, newcombe, sidak, z_value

from ._claim import row_blocks

__all__ = [
    "resolvable_bounds",
    "gap_floors",
    "event_sizes",
    "warn_if_unresolvable",
    "degenerate_sums",
    "warn_if_degenerate",
    "warn_if_degenerate_sums",
]

#: Share of the most frequent decision above which decisions are "constant".
CONSTANT_SHARE = 0.99

#: A class decided at less than this fraction of its label rate is "nearly
#: never predicted" (for classes of at least 5% of the labels).
RARELY = 0.2


def _integer_codes(codes):
    """``codes`` as an integer array, copied only when it is not one (small
    integer dtypes are widened block by block where they are used)."""
    codes = np.asarray(codes)
    return codes if codes.dtype.kind in "iu" else codes.astype(np.int64)


def event_sizes(constraint, y, codes, weight, n_groups, n_classes, squares=None):
    """Kish effective sizes ``(n_events, n_groups)`` and anticipated rates.

    ``squares``: the rows' summed squared weights where rows stand for
    several identical rows merged (their weights summed); None: ``weight ** 2``.

    Summed block by block (:func:`~sklfair.constrained._claim.row_blocks`):
    the labels' one-hot decisions and event masks exist for one block of rows
    at a time. ``weight`` None: every row weighs 1.
    """
    sum_w = sum_w2 = weighted_values = None
    for rows in row_blocks(len(y)):
        w_block = np.ones(rows.stop - rows.start) if weight is None else weight[rows]
        y_block = y[rows].astype(np.int64, copy=False)
        decisions = np.eye(n_classes)[y_block]  # the labels as decisions
        values, mask = constraint._array_values(y_block, decisions)
        n_events = values.shape[1]
        size = n_events * n_groups
        code_block = codes[rows].astype(np.int64, copy=False)
        cells = (code_block[:, None] + n_groups * np.arange(n_events)[None, :]).ravel()
        w = (w_block[:, None] * mask).ravel()
        w2 = w**2 if squares is None else (squares[rows][:, None] * mask).ravel()
        part = (
            np.bincount(cells, weights=w, minlength=size),
            np.bincount(cells, weights=w2, minlength=size),
            w_block @ values,
        )
        if sum_w is None:
            sum_w, sum_w2, weighted_values = part
        else:
            sum_w += part[0]
            sum_w2 += part[1]
            weighted_values += part[2]
    n = kish(sum_w, sum_w2).reshape(n_events, n_groups)
    if isinstance(constraint, DemographicParity):
        total = len(y) if weight is None else weight.sum()
        rates = weighted_values / total  # the classes' shares
    else:
        rates = np.full(n_events, 0.5)
    return n, rates


def _n_classes(y, n_classes):
    """The number of classes: ``n_classes`` when given, else from the codes
    ``y`` (at least 2); never fewer than the codes hold."""
    seen = max(int(np.max(y)) + 1, 2) if len(y) else 2
    if n_classes is None:
        return seen
    if seen > n_classes:
        raise ValueError(f"y holds class code {seen - 1}, but n_classes={n_classes}.")
    return int(n_classes)


def resolvable_bounds(
    constraints, y, codes, sample_weight, n_groups, confidence, n_classes=None
):
    """Smallest bound each classification constraint's groups can certify.

    Parameters
    ----------
    constraints : list of FairnessConstraint
    y : ndarray of int of shape (n_samples,)
        Class codes ``0 .. n_classes - 1``.
    codes : ndarray of int of shape (n_samples,)
        Group codes ``0 .. n_groups - 1``.
    sample_weight : ndarray of shape (n_samples,) or None
    n_groups : int
    confidence : float in (0, 1)
    n_classes : int, default=None
        The fit's number of classes; None: ``y.max() + 1`` (at least 2). A
        fit passes it: a class may be absent from the rows given (a sample).

    Returns
    -------
    bounds : dict
        Constraint name -> ``(bound, detail)``: the smallest bound, and the
        pair and event that set it (``(group a, group b, size a, size b,
        rate)``), for the classification constraints between groups
        (regression constraints and dependences on a continuous attribute are
        left out).
    """
    y, codes = _integer_codes(y), _integer_codes(codes)
    weight = None if sample_weight is None else np.asarray(sample_weight)
    n_classes = _n_classes(y, n_classes)
    first, second = pair_index(n_groups)
    keep = first < second  # unordered pairs
    first, second = first[keep], second[keep]
    bounds = {}
    for constraint in constraints:
        if constraint.task != "classification" or getattr(
            constraint, "continuous_attribute", False
        ):  # a dependence on a continuous attribute has no groups to resolve
            continue
        n, rates = event_sizes(constraint, y, codes, weight, n_groups, n_classes)
        present = (n[:, first] > 0) & (n[:, second] > 0)
        if not present.any():
            continue
        z = z_value(sidak(confidence, int(present.sum())))
        p = np.broadcast_to(rates[:, None], present.shape)
        _, high = newcombe(p, n[:, first], p, n[:, second], z)
        high = np.where(present, high, -np.inf)
        event, pair = np.unravel_index(np.argmax(high), high.shape)
        a, b = first[pair], second[pair]
        bounds[constraint.name] = (
            float(high[event, pair]),
            (a, b, float(n[event, a]), float(n[event, b]), float(rates[event])),
        )
    return bounds


def gap_floors(
    constraint,
    y,
    codes,
    sample_weight,
    n_groups,
    confidence,
    n_classes=None,
    squared_weight=None,
):
    """Per gap (ordered pairs, event after event): the smallest gap those two
    groups can tell from zero at ``confidence`` -- the half-width of
    Newcombe's interval of a zero difference at the anticipated rate, with
    Šidák's adjustment for the constraint's number of pairs and events (as in
    :func:`resolvable_bounds`). 0 for a regression constraint. ``n_classes``:
    as in :func:`resolvable_bounds` (the floors have one entry per event of
    that many classes, whichever classes the rows hold). ``squared_weight``:
    the rows' summed squared weights where rows stand for several identical
    rows merged into one (Kish's size is that of the original rows); None:
    the squares of ``sample_weight``.

    Returns
    -------
    floors : ndarray of shape (n_gaps,)
    """
    first, second = pair_index(n_groups)
    if constraint.task != "classification" or confidence <= 0.5:
        n_events = 1 if constraint.task != "classification" else None
        size = len(first) if constraint.pairwise else n_groups
        if n_events is None:
            n_events = len(constraint.event_names(_n_classes(y, n_classes)))
        return np.zeros(n_events * size)
    y, codes = _integer_codes(y), _integer_codes(codes)
    weight = None if sample_weight is None else np.asarray(sample_weight)
    n_classes = _n_classes(y, n_classes)
    squares = None if squared_weight is None else np.asarray(squared_weight)
    n, rates = event_sizes(
        constraint, y, codes, weight, n_groups, n_classes, squares=squares
    )
    if not constraint.pairwise:
        return np.zeros(n.size)
    present = (n[:, first] > 0) & (n[:, second] > 0)
    z = z_value(sidak(confidence, max(int(present.sum()) // 2, 1)))
    p = np.broadcast_to(rates[:, None], present.shape)
    _, high = newcombe(p, n[:, first], p, n[:, second], z)
    return np.where(present, high, 0.0).ravel()


def warn_if_unresolvable(constraints, bounds, labels, confidence, owner):
    """Warn for every constraint whose bound is below its resolvable bound."""
    for constraint in constraints:
        if constraint.name not in bounds:
            continue
        smallest, (a, b, n_a, n_b, rate) = bounds[constraint.name]
        if float(constraint.bound) >= smallest:
            continue
        first, second = plain_value(labels[a]), plain_value(labels[b])
        warnings.warn(
            f"{owner}: bound={constraint.bound} on {constraint.name} is tighter "
            "than these groups can resolve. The pair "
            f"{first!r} ({n_a:.0f} rows) and {second!r} "
            f"({n_b:.0f} rows) at a rate of {rate:.2f} cannot tell a gap below "
            f"{smallest:.3f} from sampling noise at {confidence:.0%} confidence, "
            "so neither meeting nor missing the bound on the training rows says "
            "much about new data. The training-loop methods aim such pairs at "
            "the smallest gap they resolve instead of chasing the bound into a "
            f"useless model. Use a bound of at least {smallest:.3f}, merge small "
            "groups, or collect more data.",
            InfeasibleBoundWarning,
            stacklevel=4,
        )


def degenerate_sums(y, decisions, sample_weight, sums=None):
    """The weighted sums :func:`warn_if_degenerate` reads, of some rows.

    Parameters
    ----------
    y : ndarray of int of shape (n_samples,)
        Class codes.
    decisions : ndarray of shape (n_samples, n_classes)
        One-hot decisions, or each decision's probability.
    sample_weight : ndarray of shape (n_samples,) or None
    sums : ndarray or None
        The sums of other rows, to add these rows' to (in place).

    Returns
    -------
    sums : ndarray of shape (3 + 2 * n_classes,)
        The total weight, the sum of squared weights, the weight of correct
        decisions, then each class's weight of decisions and of labels.
    """
    y = np.asarray(y, dtype=np.int64)
    n_classes = decisions.shape[1]
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    part = np.concatenate(
        [
            [
                weight.sum(),
                (weight**2).sum(),
                weight @ decisions[np.arange(len(y)), y],
            ],
            weight @ decisions,
            np.bincount(y, weights=weight, minlength=n_classes),
        ]
    )
    if sums is None:
        return part
    sums += part
    return sums


def warn_if_degenerate(y, decisions, sample_weight, owner, classes=None):
    """Warn when classification decisions are nearly constant or no better
    than the majority class.

    Degenerate: a class that makes up at least 5% of the labels is decided
    at less than a fifth of its rate (nearly never predicted), or 99% of the
    decisions are one class, or the accuracy is within two standard errors
    of always predicting the majority class.

    Parameters
    ----------
    y : ndarray of int of shape (n_samples,)
        Class codes.
    decisions : ndarray of shape (n_samples, n_classes)
        One-hot decisions, or each decision's probability.
    sample_weight : ndarray of shape (n_samples,) or None
    owner : str
    classes : array-like of shape (n_classes,), default=None
        The class labels, to name a neglected class in the warning.

    Returns
    -------
    degenerate : bool
    """
    sums = None
    for rows in row_blocks(len(y)):
        weight = None if sample_weight is None else sample_weight[rows]
        sums = degenerate_sums(y[rows], decisions[rows], weight, sums)
    return warn_if_degenerate_sums(sums, owner, classes=classes, stacklevel=5)


def warn_if_degenerate_sums(sums, owner, classes=None, stacklevel=4):
    """:func:`warn_if_degenerate` from the :func:`degenerate_sums` of the rows
    (added up over blocks of rows)."""
    n_classes = (len(sums) - 3) // 2
    total, sum_w2, correct = sums[:3]
    decided = sums[3 : 3 + n_classes] / total  # share of each decision
    labels = sums[3 + n_classes :] / total
    accuracy = float(correct / total)
    majority = float(labels.max())
    n_eff = float(kish(total, sum_w2))
    hair = 2.0 * np.sqrt(max(majority * (1 - majority), 1e-12) / max(n_eff, 1.0))
    neglected = (labels >= 0.05) & (decided < RARELY * labels)
    if decided.max() >= CONSTANT_SHARE:
        reason = (
            f"{decided.max():.1%} of its decisions on the training rows are the "
            "same class"
        )
    elif neglected.any():
        c = int(np.flatnonzero(neglected)[0])
        name = (
            f"class {c} (by position)"
            if classes is None
            else repr(plain_value(classes[c]))
        )
        reason = (
            f"{name} makes up {labels[c]:.1%} of the "
            f"training labels but only {decided[c]:.1%} of its decisions"
        )
    elif accuracy - majority < hair:
        reason = (
            f"its training accuracy {accuracy:.4f} is within {hair:.4f} (two "
            f"standard errors) of always predicting the majority class "
            f"({majority:.4f})"
        )
    else:
        return False
    warnings.warn(
        f"{owner} may be fair only because it is useless: {reason}. Loosen the "
        "bound, check that the groups can resolve it, or use another method.",
        DegenerateModelWarning,
        stacklevel=stacklevel,
    )
    return True
