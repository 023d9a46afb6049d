"""The kernel dependence between decisions and a continuous attribute (numpy).

One definition, shared by the metric :func:`sklfair.metrics.hsic_dependence`
and the constraint :class:`sklfair.constraints.Independence` (its claim and
its training-loop term), so that what is bounded and what is measured agree.

The measure is the normalised Hilbert-Schmidt independence criterion
(HSIC; Gretton et al., 2005, "Measuring statistical dependence with
Hilbert-Schmidt norms"), normalised as a centred kernel alignment (Cortes,
Mohri and Rostamizadeh, 2012), between

- the predictions ``D`` (one column per class of one-hot decisions or
  probabilities, or one column of numbers), with a *linear* kernel, and
- the attribute ``A`` through its weighted mid-rank (its empirical
  distribution function, in ``(0, 1)``), with a Gaussian kernel of width
  ``bandwidth``:

.. math::

    \\mathrm{dep}(D, A) = \\frac{\\mathrm{HSIC}(D, A)}
    {\\sqrt{\\mathrm{HSIC}(D, D)\\, \\mathrm{HSIC}(A, A)}} \\in [0, 1].

With a linear kernel on ``D``, HSIC is zero exactly when the mean of ``D``
does not move with the attribute (the Gaussian kernel is characteristic):
for one-hot decisions that is independence of the decision from the
attribute -- demographic parity for a continuous attribute -- and for
numbers it is "the mean prediction is flat in the attribute". Working on
ranks makes the measure indifferent to any increasing transformation of the
attribute (age in years or in days, income or log income).

Computation. Rows are aggregated per distinct attribute value ("level"):
``HSIC(D, A) = sum_{v, v'} r_v . r_v' L(u_v, u_v')`` with ``r_v`` the
weighted sum of the centred predictions of level ``v`` over the total
weight, so the cost is ``O(n m + V^2 m)`` for ``V`` levels. Above
``MAX_LEVELS`` levels the ranks are rounded to a grid of ``MAX_LEVELS``
points (a change of rank below ``1 / (2 MAX_LEVELS)``, far below the
kernel's width). The value is the V-statistic: on a finite sample of
independent variables it is positive, of order ``1 / n``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_LEVELS",
    "DEFAULT_BANDWIDTH",
    "level_ranks",
    "level_kernel",
    "kernel_dependence",
]

#: Largest number of attribute levels kept apart; more are rounded to a grid.
MAX_LEVELS = 1000

#: Width of the Gaussian kernel on the attribute's ranks (which lie in (0, 1)).
DEFAULT_BANDWIDTH = 0.25


def level_ranks(codes, weight, n_levels):
    """Weighted share and mid-rank of every level, and each row's grid level.

    Parameters
    ----------
    codes : ndarray of int of shape (n,)
        Level of each row, ``0 .. n_levels - 1`` in increasing order of the
        attribute.
    weight : ndarray of shape (n,)
    n_levels : int

    Returns
    -------
    codes : ndarray of int of shape (n,)
        The rows' levels, on the grid when there are more than
        ``MAX_LEVELS``.
    share : ndarray of shape (n_kept,)
        Weighted share of each kept level.
    ranks : ndarray of shape (n_kept,)
        Mid-rank of each kept level: the share of weight below it plus half
        its own.
    """
    share = np.bincount(codes, weights=weight, minlength=n_levels)
    share = share / max(share.sum(), np.finfo(float).tiny)
    ranks = np.cumsum(share) - share / 2.0
    if n_levels > MAX_LEVELS:
        grid = np.rint(ranks * (MAX_LEVELS - 1)).astype(np.int64)
        codes = grid[codes]
        share = np.bincount(grid, weights=share, minlength=MAX_LEVELS)
        ranks = np.arange(MAX_LEVELS) / (MAX_LEVELS - 1)
    return codes, share, ranks


def level_kernel(ranks, bandwidth=DEFAULT_BANDWIDTH):
    """The Gaussian kernel between ranks, ``(n_levels, n_levels)``."""
    difference = ranks[:, None] - ranks[None, :]
    return np.exp(-(difference**2) / (2.0 * bandwidth**2))


def kernel_dependence(values, codes, weight=None, *, bandwidth=DEFAULT_BANDWIDTH):
    """Normalised HSIC between predictions and an attribute's levels.

    Parameters
    ----------
    values : ndarray of shape (n,) or (n, m)
        Predictions: one-hot decisions, probabilities or numbers.
    codes : ndarray of int of shape (n,)
        The attribute's level of each row, ``0 .. V - 1`` in increasing
        order of the attribute (e.g. from :func:`numpy.unique` with
        ``return_inverse=True``).
    weight : ndarray of shape (n,), default=None
    bandwidth : float, default=0.25
        Width of the Gaussian kernel on the ranks.

    Returns
    -------
    dependence : float in [0, 1]
        0 when the predictions or the attribute are constant.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair._dependence import kernel_dependence
    >>> age = np.repeat(np.arange(10), 20)
    >>> round(kernel_dependence((age >= 5).astype(float), age), 3)
    0.787
    >>> round(kernel_dependence(np.tile([0.0, 1.0], 100), age), 3)
    0.0
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    codes = np.asarray(codes, dtype=np.int64)
    n = values.shape[0]
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    total = weight.sum()
    if n == 0 or total <= 0:
        return 0.0
    n_levels = int(codes.max()) + 1
    codes, share, ranks = level_ranks(codes, weight, n_levels)
    centred = values - (weight @ values) / total
    weighted = centred * (weight / total)[:, None]
    residual = np.stack(
        [
            np.bincount(codes, weights=weighted[:, j], minlength=share.size)
            for j in range(values.shape[1])
        ],
        axis=1,
    )
    kernel = level_kernel(ranks, bandwidth)
    cross = float(np.sum(residual * (kernel @ residual)))
    row_mean = kernel @ share
    centred_kernel = kernel - row_mean[:, None] - row_mean[None, :]
    centred_kernel += share @ row_mean
    attribute = float(share @ (centred_kernel**2) @ share)
    covariance = weighted.T @ centred
    own = float(np.sum(covariance**2))
    scale = np.sqrt(own * attribute)
    if not scale > 1e-300:
        return 0.0
    return float(np.clip(cross / scale, 0.0, 1.0))
