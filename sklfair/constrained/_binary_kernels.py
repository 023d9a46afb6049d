"""The compiled kernels of :mod:`sklfair.constrained._binary_step` (numba).

Imported only when a fit uses them (importing numba costs time); defined at
module level so that numba caches their machine code on disk and a new
process loads it instead of compiling again.
"""

import math

import numba
import numpy as np

from sklfair.constraints._rates import TINY

__all__ = ["decision_sums", "lagrangian", "penalty"]

jit = numba.njit(cache=True, nogil=True)


@jit
def event_of(kind, label):
    """The event a row of class ``label`` belongs to, -1 for none: equalized
    odds has the true positive rate (y = 1), then the false positive rate
    (y = 0); equal opportunity the positives only; the others one event."""
    if kind == 1:
        return 0 if label == 1 else 1
    if kind == 2 and label != 1:
        return -1
    return 0


@jit
def decision_of(kind, decided, label):
    """What a row's decision (``decided``: class 1) counts in its event: an
    error (the decision is not the row's class) for error-rate parity, the
    decision for class 1 otherwise."""
    if kind == 3:
        return 1.0 if decided != (label == 1) else 0.0
    return 1.0 if decided else 0.0


@jit
def decision_sums(outputs, y, codes, kind, weight, squares, sums):
    """Per (event, group), the decisions' weighted sums on many rows (the
    epoch-end evaluation): ``sums[0]`` of ``weight`` times the decision
    (:func:`decision_of`; class 1 where its logit is strictly larger or
    NaN, as argmax decides), ``sums[1]`` of ``weight``, ``sums[2]`` of ``squares`` (the
    squared weights where ``squares`` is empty)."""
    sums[:] = 0.0
    with_squares = squares.shape[0] > 0
    for i in range(outputs.shape[0]):
        label = y[i]
        event = event_of(kind, label)
        if event < 0:
            continue
        # argmax's decision: class 1 when larger, or NaN (a maximum to
        # argmax) where class 0 is not
        first, second = outputs[i, 0], outputs[i, 1]
        decided = second > first or (math.isnan(second) and not math.isnan(first))
        hard = decision_of(kind, decided, label)
        group = codes[i]
        w = np.float64(weight[i])
        sums[0, event, group] += w * hard
        sums[1, event, group] += w
        sums[2, event, group] += np.float64(squares[i]) if with_squares else w * w


@jit
def rows(outputs, y, codes, weight, dual, kind, temperature, sums, probs):
    """The batch's surrogate probabilities (``probs[:, c]``: the tempered
    sigmoid of class ``c``) and its per-(event, group) sums: of the
    surrogate values, the decisions and the weights (``sums[0:3]``), and
    with held-out rows (``dual`` not empty) the decisions and weights
    under ``dual`` (``sums[3:5]``)."""
    with_dual = dual.shape[0] > 0
    for i in range(outputs.shape[0]):
        # as the numpy path: the logits' difference in float64 (exact),
        # class 1 decided only when strictly larger, as in argmax
        difference = np.float64(outputs[i, 1]) - np.float64(outputs[i, 0])
        decided = difference > 0
        s1 = 1.0 / (1.0 + math.exp(-(difference / temperature)))
        s0 = 1.0 / (1.0 + math.exp(-(-difference / temperature)))
        probs[i, 0] = s0
        probs[i, 1] = s1
        label = y[i]
        event = event_of(kind, label)
        if event < 0:
            continue
        # error rate: 1 - p(true class)
        value = 1.0 - (s1 if label == 1 else s0) if kind == 3 else s1
        hard = decision_of(kind, decided, label)
        group = codes[i]
        w = np.float64(weight[i])
        sums[0, event, group] += value * w
        sums[1, event, group] += hard * w
        sums[2, event, group] += w
        if with_dual:
            w = np.float64(dual[i])
            sums[3, event, group] += hard * w
            sums[4, event, group] += w


@jit
def gaps(numerator, denominator, first, second, out, valid):
    """Every event's pairwise gaps of ``numerator / denominator`` and
    whether both groups of the pair have rows."""
    n_pairs = first.shape[0]
    for e in range(numerator.shape[0]):
        for k in range(n_pairs):
            a, b = first[k], second[k]
            rate_a = numerator[e, a] / max(denominator[e, a], TINY)
            rate_b = numerator[e, b] / max(denominator[e, b], TINY)
            out[e * n_pairs + k] = rate_a - rate_b
            valid[e * n_pairs + k] = denominator[e, a] > 0 and denominator[e, b] > 0


@jit
def linear(
    outputs,
    y,
    codes,
    weight,
    kind,
    temperature,
    sums,
    probs,
    slope,
    first,
    second,
    per_group,
    grad,
    add,
):
    """``sum_k slope_k * surrogate_gap_k`` (without its offset) and its
    gradient with respect to the outputs, written into ``grad`` (``add``:
    added to it, in its dtype, as numpy adds two arrays)."""
    n_events, n_groups = per_group.shape
    n_pairs = first.shape[0]
    for e in range(n_events):  # group_coefficients
        for g in range(n_groups):
            per_group[e, g] = 0.0
        for k in range(n_pairs):
            c = slope[e * n_pairs + k]
            per_group[e, first[k]] += c
            per_group[e, second[k]] -= c
        for g in range(n_groups):
            per_group[e, g] /= max(sums[2, e, g], TINY)
    value = 0.0
    for e in range(n_events):
        for g in range(n_groups):
            value += per_group[e, g] * sums[0, e, g]
    # the term's own gradient, rounded to the gradient's dtype
    own = np.empty_like(grad) if add else grad
    for i in range(outputs.shape[0]):
        label = y[i]
        event = event_of(kind, label)
        if event < 0:
            own[i, 0] = 0.0
            own[i, 1] = 0.0
            continue
        r = per_group[event, codes[i]] * np.float64(weight[i])
        # the derivative's sign on class 1's logit: the error rate's
        # surrogate falls as the true class's probability rises
        contrast = -r if kind == 3 and label == 1 else r
        row = contrast * probs[i, 0] * probs[i, 1] / temperature
        own[i, 0] = -row
        own[i, 1] = row
    if add:
        for i in range(outputs.shape[0]):
            grad[i, 0] += own[i, 0]
            grad[i, 1] += own[i, 1]
    return value


@jit
def lagrangian(
    outputs,
    y,
    codes,
    weight,
    dual,
    target,
    grad,
    add,
    kind,
    temperature,
    first,
    second,
    multipliers,
    running_excess,
    average,
    beta,
    rho,
    dual_step,
    max_multiplier,
):
    """:meth:`LagrangianTerm._addition`, its dual step and the linear
    term's value and gradient (written into ``grad``, or added to it with
    ``add``; see :func:`linear`); returns the term's value and whether any
    slope is nonzero (else the gradient is 0 and ``grad`` is left as is)."""
    n_events, n_groups = average.shape[1], average.shape[2]
    n_gaps = n_events * first.shape[0]
    sums = np.zeros((5, n_events, n_groups))
    probs = np.empty((outputs.shape[0], 2))
    hard_gaps = np.empty(n_gaps)
    valid = np.empty(n_gaps, dtype=np.bool_)
    slope = np.empty(n_gaps)
    rows(outputs, y, codes, weight, dual, kind, temperature, sums, probs)
    # the slope at the running gaps, 0 where the batch leaves a gap
    # undefined; then the offset, -slope @ target
    gaps(sums[0], sums[2], first, second, hard_gaps, valid)
    offset = 0.0
    active = False
    for k in range(n_gaps):
        slope[k] = (multipliers[k] + rho * running_excess[k]) * (
            1.0 if valid[k] else 0.0
        )
        offset += slope[k] * target[k]
        active = active or slope[k] != 0.0
    offset = -offset
    # the dual step on the moving average of the decisions' sums
    current = 3 if dual.shape[0] > 0 else 1
    for j in range(2):
        for e in range(n_events):
            for g in range(n_groups):
                average[j, e, g] = (
                    average[j, e, g] * beta + (1.0 - beta) * sums[current + j, e, g]
                )
    gaps(average[0], average[1], first, second, hard_gaps, valid)
    for k in range(n_gaps):
        excess = hard_gaps[k] - target[k] if valid[k] else 0.0
        running_excess[k] = max(excess, 0.0)
        m = multipliers[k] + excess * dual_step
        multipliers[k] = min(max(m, 0.0), max_multiplier)
    if not active:
        return offset, False
    value = linear(
        outputs,
        y,
        codes,
        weight,
        kind,
        temperature,
        sums,
        probs,
        slope,
        first,
        second,
        np.empty((n_events, n_groups)),
        grad,
        add,
    )
    return offset + value, True


@jit
def penalty(
    outputs,
    y,
    codes,
    weight,
    grad,
    add,
    kind,
    temperature,
    first,
    second,
    n_groups,
    bounds,
    penalty_weight,
):
    """:meth:`PenaltyTerm._addition` and the linear term's value and
    gradient (written into ``grad``, or added to it with ``add``); returns
    the term's value and whether any slope is nonzero (else the gradient is
    0 and ``grad`` is left as is)."""
    n_gaps = bounds.shape[0]
    n_events = n_gaps // first.shape[0]
    sums = np.zeros((5, n_events, n_groups))
    probs = np.empty((outputs.shape[0], 2))
    surrogate_gaps = np.empty(n_gaps)
    valid = np.empty(n_gaps, dtype=np.bool_)
    slope = np.empty(n_gaps)
    rows(outputs, y, codes, weight, weight[:0], kind, temperature, sums, probs)
    gaps(sums[0], sums[2], first, second, surrogate_gaps, valid)
    above, linear_part = 0.0, 0.0
    active = False
    for k in range(n_gaps):
        excess = surrogate_gaps[k] - bounds[k] if valid[k] else 0.0
        slope[k] = penalty_weight * (1.0 if excess > 0 else 0.0)
        above += max(excess, 0.0)
        linear_part += slope[k] * (surrogate_gaps[k] if valid[k] else 0.0)
        active = active or slope[k] != 0.0
    offset = penalty_weight * above - linear_part
    if not active:
        return offset, False
    value = linear(
        outputs,
        y,
        codes,
        weight,
        kind,
        temperature,
        sums,
        probs,
        slope,
        first,
        second,
        np.empty((n_events, n_groups)),
        grad,
        add,
    )
    return offset + value, True
