"""Rate arithmetic: weighted group rates, their pairwise gaps, and their noise.

One implementation serves the training loop (torch tensors on the training
device) and fitted decisions (numpy, float64). The layout is the same
everywhere: per-(event, group) weighted sums ``numerator`` and
``denominator`` of shape ``(n_events, n_groups)``; the rate of group ``g``
for event ``e`` is their ratio; the gaps are the differences between the
rates of every ordered pair of distinct groups (``rate[e, a] - rate[e, b]``
for ``a != b``), event after event, or the rates themselves for a constraint
that bounds a level rather than a difference (``pairwise=False``).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = [
    "TINY",
    "group_sums",
    "group_sums_np",
    "gaps_from_sums",
    "gap_validity",
    "group_coefficients",
    "gap_standard_errors",
    "standard_errors_of_sums",
    "pair_index",
]

#: Denominators are clipped to this before dividing.
TINY = 1e-12


def group_sums(values, mask, codes, weight, n_groups):
    """Weighted sums per event and group, on torch tensors.

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


def group_sums_np(values, mask, codes, weight, n_groups):
    """:func:`group_sums` on numpy arrays, in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints._rates import group_sums_np
    >>> values = np.array([[1.0], [0.0], [1.0], [1.0]])
    >>> num, den = group_sums_np(values, None, np.array([0, 0, 1, 1]), None, 2)
    >>> (num / den).tolist()
    [[0.5, 1.0]]
    """
    values = np.asarray(values, dtype=np.float64)
    n, n_events = values.shape
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    weighted = np.broadcast_to(weight[:, None], (n, n_events))
    if mask is not None:
        weighted = weighted * np.asarray(mask, dtype=np.float64)
    cells = (codes[:, None] + n_groups * np.arange(n_events)[None, :]).ravel()
    size = n_events * n_groups
    numerator = np.bincount(cells, weights=(weighted * values).ravel(), minlength=size)
    denominator = np.bincount(cells, weights=np.ravel(weighted), minlength=size)
    return numerator.reshape(n_events, n_groups), denominator.reshape(
        n_events, n_groups
    )


@functools.lru_cache(maxsize=64)
def pair_index(n_groups):
    """Both members of every ordered pair of distinct groups, as int arrays."""
    first, second = np.meshgrid(np.arange(n_groups), np.arange(n_groups), indexing="ij")
    keep = first != second
    first, second = first[keep], second[keep]
    first.flags.writeable = second.flags.writeable = False
    return first, second


@functools.lru_cache(maxsize=64)
def _pair_index_torch(n_groups, device):
    return tuple(torch.tensor(i, device=device) for i in pair_index(n_groups))


@functools.lru_cache(maxsize=64)
def _pair_matrices_np(n_groups):
    """``(difference, both)`` of shape (n_groups, n_pairs): ``rates @
    difference`` gives every pair's gap and ``present @ both`` counts how
    many of the pair's groups are present (read-only float64 arrays)."""
    first, second = pair_index(n_groups)
    columns = np.arange(len(first))
    difference = np.zeros((n_groups, len(first)))
    difference[first, columns] = 1.0
    difference[second, columns] = -1.0
    both = np.abs(difference)
    difference.flags.writeable = both.flags.writeable = False
    return difference, both


@functools.lru_cache(maxsize=64)
def _pair_matrices_torch(n_groups, device, dtype):
    difference, both = _pair_matrices_np(n_groups)
    return (
        torch.as_tensor(difference.copy(), dtype=dtype, device=device),
        torch.as_tensor(both.copy(), dtype=dtype, device=device),
    )


def _at_least(array, low):
    """``max(array, low)`` elementwise, numpy array or tensor."""
    if isinstance(array, np.ndarray):
        return np.maximum(array, low)
    return array.clamp_min(low)


def _pair_matrices_like(array, n_groups):
    if isinstance(array, np.ndarray):
        return _pair_matrices_np(n_groups)
    return _pair_matrices_torch(n_groups, array.device, array.dtype)


def gaps_from_sums(numerator, denominator, pairwise=True):
    """Gaps and their validity from per-(event, group) weighted sums.

    numpy arrays or tensors in, the same out.

    Parameters
    ----------
    numerator : array of shape (..., n_events, n_groups)
    denominator : array of shape (n_events, n_groups)
    pairwise : bool, default=True
        Pairwise differences (True) or the rates themselves (False).

    Returns
    -------
    gaps : array of shape (..., n_gaps)
    valid : bool array of shape (n_gaps,)
        False where a group of the pair has no (weighted) row in the event.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints._rates import gaps_from_sums
    >>> gaps, valid = gaps_from_sums(np.array([[1.0, 3.0]]), np.array([[2.0, 4.0]]))
    >>> gaps.tolist(), valid.tolist()
    ([-0.25, 0.25], [True, True])
    """
    rates = numerator / _at_least(denominator, TINY)
    shape = tuple(rates.shape[:-2]) + (-1,)
    valid = gap_validity(denominator, pairwise)
    if not pairwise:
        return rates.reshape(shape), valid
    # every pair's difference as one product with a +1/-1 matrix
    difference, _ = _pair_matrices_like(rates, rates.shape[-1])
    return (rates @ difference).reshape(shape), valid


def gap_validity(denominator, pairwise=True):
    """Which gaps are defined: both groups of the pair (the group, when not
    ``pairwise``) have weighted rows in the event.

    Parameters
    ----------
    denominator : array of shape (n_events, n_groups)
        numpy array or tensor.
    pairwise : bool, default=True

    Returns
    -------
    valid : bool array of shape (n_gaps,)
        The validity :func:`gaps_from_sums` returns.
    """
    present = denominator > 0
    if not pairwise:
        return present.reshape(-1)
    n_events, n_groups = denominator.shape[-2:]
    if isinstance(present, np.ndarray):
        # the common case of a batch: every group in every event
        if np.count_nonzero(present) == present.size:
            return _all_valid(n_events * (n_groups - 1) * n_groups)
        _, both = _pair_matrices_np(n_groups)
        return ((present @ both) > 1.5).reshape(-1)
    _, both = _pair_matrices_like(denominator, n_groups)
    return ((present.to(both.dtype) @ both) > 1.5).reshape(-1)


@functools.lru_cache(maxsize=64)
def _all_valid(n_gaps):
    """``n_gaps`` True values (read-only)."""
    valid = np.ones(n_gaps, dtype=bool)
    valid.flags.writeable = False
    return valid


def group_coefficients(coefficients, denominator, pairwise=True):
    """Per-(event, group) row coefficients of ``sum_k c_k * gap_k``.

    ``sum_k coefficients_k * gap_k`` is linear in the rows' values: row ``i``
    of group ``g`` in event ``e`` enters it with ``weight_i * per_group[e,
    g]``. numpy arrays or tensors in, the same out.

    Parameters
    ----------
    coefficients : array of shape (n_gaps,)
        Zero for invalid gaps.
    denominator : array of shape (n_events, n_groups)
        The weighted row counts of the (event, group) cells.
    pairwise : bool, default=True

    Returns
    -------
    per_group : array of shape (n_events, n_groups)
    """
    n_events, n_groups = denominator.shape
    coefficients = coefficients.reshape(n_events, -1)
    if pairwise:
        difference, _ = _pair_matrices_like(coefficients, n_groups)
        coefficients = coefficients @ difference.T
    return coefficients / _at_least(denominator, TINY)


def gap_standard_errors(
    values, mask, codes, weight, n_groups, pairwise=True, squared_weight=None
):
    """Standard errors of the gaps measured on some rows.

    Each rate is a weighted mean; its standard error is ``sqrt(variance /
    n_eff)`` with the weighted variance of the values in its (event, group)
    cell and Kish's effective size ``n_eff = (sum w) ** 2 / sum w ** 2`` (the
    row count when weights are equal). The rates of different groups come
    from different rows, so a gap's standard error is ``sqrt(se_a ** 2 +
    se_b ** 2)``. torch tensors, or numpy arrays (float64), in; the same out.

    Parameters
    ----------
    values : Tensor of shape (n, n_events)
        The decisions' values (e.g. 0/1 selections).
    mask : Tensor of shape (n, n_events) or None
    codes : int64 Tensor of shape (n,)
    weight : Tensor of shape (n,)
    n_groups : int
    pairwise : bool, default=True
    squared_weight : Tensor of shape (n,), default=None
        The rows' summed squared weights where a row stands for several
        identical rows merged into one (their weights summed): Kish's size
        is that of the original rows. None: ``weight ** 2``.

    Returns
    -------
    se : Tensor of shape (n_gaps,)
        0 where a gap is invalid (a group without rows in the event).
    """
    n_events = values.shape[1]
    if isinstance(values, np.ndarray):
        values = values.astype(np.float64, copy=False)
        weight = np.asarray(weight, dtype=np.float64)
        # the values' and the squares' sums, each over the rows once
        sums, den = group_sums_np(values, mask, codes, weight, n_groups)
        squares, _ = group_sums_np(values**2, mask, codes, weight, n_groups)
        sums = np.concatenate([sums, squares])
        squares = (
            weight**2
            if squared_weight is None
            else np.asarray(squared_weight, dtype=np.float64)
        )
        _, den2 = group_sums_np(values, mask, codes, squares, n_groups)
    else:
        values = values.double()
        weight = weight.double()
        squares = torch.cat([values, values**2], dim=1)
        mask2 = None if mask is None else torch.cat([mask, mask], dim=1).double()
        sums, den = group_sums(squares, mask2, codes, weight, n_groups)
        weight2 = weight**2 if squared_weight is None else squared_weight.double()
        _, den2 = group_sums(squares, mask2, codes, weight2, n_groups)
    return standard_errors_of_sums(
        sums[:n_events],
        sums[n_events:],
        den[:n_events],
        den2[:n_events],
        n_groups,
        pairwise,
    )


def standard_errors_of_sums(total, total_squares, den, den2, n_groups, pairwise=True):
    """:func:`gap_standard_errors` from the per-(event, group) sums of the
    rows: of the weighted values (``total``), of the weighted squared values
    (``total_squares``), of the weights (``den``) and of the squared weights
    (``den2``), each of shape ``(n_events, n_groups)``; numpy arrays
    (float64) or tensors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints._rates import standard_errors_of_sums
    >>> total = np.array([[2.0, 1.0]])  # two of four rows, one of four
    >>> se = standard_errors_of_sums(total, total, np.full((1, 2), 4.0),
    ...                              np.full((1, 2), 4.0), 2)
    >>> se.round(4).tolist()  # sqrt(0.25 / 4 + 0.1875 / 4), both orders
    [0.3307, 0.3307]
    """
    sqrt = np.sqrt if isinstance(den, np.ndarray) else torch.sqrt
    mean = total / _at_least(den, TINY)
    variance = _at_least(total_squares / _at_least(den, TINY) - mean**2, 0)
    # var / n_eff with n_eff = den ** 2 / den2
    rate_var = variance * den2 / _at_least(den**2, TINY)
    if not pairwise:
        return sqrt(rate_var).reshape(-1)
    if isinstance(rate_var, np.ndarray):
        first, second = pair_index(n_groups)
    else:
        first, second = _pair_index_torch(n_groups, rate_var.device)
    gap_var = rate_var[:, first] + rate_var[:, second]
    valid = (den[:, first] > 0) & (den[:, second] > 0)
    return (sqrt(gap_var) * valid).reshape(-1)
