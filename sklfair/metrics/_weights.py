"""The one check of sample weights in :mod:`sklfair.metrics`, and weightless groups.

Every metric, scorer, interval, certificate and report function of
:mod:`sklfair.metrics` passes its ``sample_weight`` through
:func:`check_sample_weight`, with scikit-learn's semantics
(``sklearn.utils.validation._check_sample_weight`` with
``ensure_non_negative=True``): one number per row, finite, non-negative and
not all zero. Anything else is a ``ValueError`` that names the function and
the problem, never a silently wrong value.

A row of weight 0 counts for nothing, so a group whose weights are all 0 has
no rate at all: :func:`drop_weightless` keeps the rows of the other groups
only, and the gaps leave such a group out, as the constrained estimators' claim
does (:mod:`sklfair.constrained`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_sample_weight", "weights_or_ones", "drop_weightless"]


def _first(mask, values):
    """``"row i: value"`` of the first row where ``mask`` holds."""
    row = int(np.flatnonzero(mask)[0])
    return f"row {row}: {float(values[row])!r}"


def check_sample_weight(sample_weight, n_samples, func_name):
    """``sample_weight`` as a float64 vector of ``n_samples``, or None.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The weights given to a public function.
    n_samples : int
        The number of rows they must weigh.
    func_name : str
        The public function, named in the errors.

    Returns
    -------
    ndarray of shape (n_samples,) or None
        None when ``sample_weight`` is None.

    Raises
    ------
    ValueError
        When the weights are not one number per row, or hold a NaN, an
        infinite or a negative value, or are all 0.
    """
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.ndim != 1:
        raise ValueError(
            f"{func_name}: sample_weight must be one-dimensional (one weight per "
            f"row), got an array of shape {weights.shape}."
        )
    if weights.dtype.kind not in "biuf":
        try:
            if weights.dtype.kind != "O":
                raise TypeError
            weights = weights.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{func_name}: sample_weight must hold numbers, got values of "
                f"dtype {weights.dtype}."
            ) from None
    weights = weights.astype(np.float64)
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"{func_name}: sample_weight has {weights.shape[0]} values, but there "
            f"are {n_samples} rows."
        )
    bad = ~np.isfinite(weights)
    if bad.any():
        raise ValueError(
            f"{func_name}: sample_weight holds {int(bad.sum())} NaN or infinite "
            f"value(s) (first at {_first(bad, weights)}); weights must be finite."
        )
    negative = weights < 0
    if negative.any():
        raise ValueError(
            f"{func_name}: sample_weight holds {int(negative.sum())} negative "
            f"value(s) (first at {_first(negative, weights)}); weights must be "
            "non-negative."
        )
    if not (weights > 0).any():
        raise ValueError(
            f"{func_name}: sample_weight is 0 for every row; at least one weight "
            "must be positive."
        )
    return weights


def weights_or_ones(sample_weight, n_samples, func_name):
    """The checked weights (:func:`check_sample_weight`), ones when None."""
    weights = check_sample_weight(sample_weight, n_samples, func_name)
    return np.ones(n_samples) if weights is None else weights


def drop_weightless(groups, weights, *arrays):
    """``(groups, weights, *arrays)`` without the groups whose weights are all 0.

    ``groups`` holds the group (label or code) of each row, ``weights`` the
    checked weights or None, ``arrays`` other per-row arrays. Everything is
    returned as it is when every group has weight.
    """
    if weights is None:
        return (groups, weights, *arrays)
    codes, _ = pd.factorize(np.asarray(groups))
    keep = np.bincount(codes, weights=weights)[codes] > 0
    if keep.all():
        return (groups, weights, *arrays)
    return tuple(np.asarray(values)[keep] for values in (groups, weights, *arrays))
