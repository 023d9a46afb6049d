"""Numbers that stay finite: the checks between float64 input and float32 training.

The nets validate and predict in float64 but train in float32, on targets
standardised in float64. Four things can turn finite input into infinities
or NaN on the way, and each gets a clear answer here instead of a silent
wrong one:

- inputs beyond float32's range (about 3.4e38) would become infinite in the
  training tensors: :func:`check_float32_range` raises a ``ValueError``
  naming the largest value;
- huge sample weights: their mean is taken without overflow
  (:func:`robust_mean`) and the weights the loop sees are checked
  (:func:`scaled_weights`);
- squares of large targets overflow float64 (targets of 1e300 have a
  variance of 1e600): :func:`weighted_location_scale` computes the
  standardisation from deviations divided by their largest size first, so it
  is finite for every finite target whose deviations from the mean are
  finite;
- an optimiser that diverges (the loss growing by orders of magnitude, e.g.
  Adam with ``lr=1e6``) returns a model whose predictions are noise:
  :func:`check_divergence` compares the training loss at the end of the fit
  with the loss before the first step and warns with scikit-learn's
  :class:`~sklearn.exceptions.ConvergenceWarning`. (A loss that becomes
  NaN or infinite stops the fit with
  :class:`~sklfair.nets.NonFiniteLossError` in the training loop.)
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "DIVERGENCE_FACTOR",
    "check_divergence",
    "check_float32_range",
    "robust_mean",
    "scaled_weights",
    "weighted_location_scale",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)

#: A final training loss this many times the initial loss (or than 1, when
#: the initial loss is smaller) means the optimisation diverged.
DIVERGENCE_FACTOR = 1e3


def check_float32_range(values, what):
    """Raise a ``ValueError`` when ``values`` do not fit in float32.

    ``values`` is a dense array or a sparse matrix of float64 (or float32,
    which always fits). No temporary copy of ``values`` is made.
    """
    data = values.data if sp.issparse(values) else values
    if data.dtype != np.float64 or data.size == 0:
        return
    largest = max(abs(float(data.max())), abs(float(data.min())))
    if largest > FLOAT32_MAX:
        raise ValueError(
            f"{what} has values up to {largest:.3g} in absolute value, beyond "
            f"float32's range ({FLOAT32_MAX:.3g}) in which the network trains. "
            "Scale it first (e.g. StandardScaler, or divide by a constant)."
        )


def robust_mean(values):
    """Mean of non-negative ``values`` that does not overflow for huge ones
    (None stands for weights that are all 1)."""
    if values is None:
        return 1.0
    top = values.max()
    if not np.isfinite(top) or top <= 0:
        return float(np.mean(values))
    return float(top * np.mean(values / top))


def scaled_weights(sample_weight, scale):
    """``sample_weight / scale`` as the loop's float32 weights (divided in
    float64, with no float64 copy), or an error when they are not finite
    (sums of merged duplicate rows' weights beyond float64)."""
    weights = np.empty(len(sample_weight), dtype=np.float32)
    np.divide(sample_weight, scale, out=weights, casting="same_kind")
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            "sample_weight is too large: the summed weights of identical rows "
            "overflow float64. Divide the weights by a constant first."
        )
    return weights


def weighted_location_scale(y, sample_weight):
    """Weighted mean and standard deviation of every column of ``y``, finite.

    Parameters
    ----------
    y : ndarray of shape (n_samples, n_outputs), float64, finite
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative, not all zero; None: equal weights.

    Returns
    -------
    mean, std : ndarray of shape (n_outputs,)
        ``std`` is 1 for a constant column.

    Raises
    ------
    ValueError
        When the deviations from the mean overflow float64 (targets spanning
        more than float64's range).
    """
    if sample_weight is None:
        sample_weight = np.ones(len(y))
    w = sample_weight / robust_mean(sample_weight) / len(sample_weight)
    mean = w @ y  # a convex combination: never larger than the largest |y|
    with np.errstate(over="ignore", invalid="ignore"):
        deviation = y - mean
    if not np.all(np.isfinite(deviation)):
        raise ValueError(
            "y spans more than float64's range (its deviations from the mean "
            "overflow): divide y by a constant first."
        )
    size = np.abs(deviation).max(axis=0)
    size = np.where(size > 0, size, 1.0)
    std = size * np.sqrt(w @ (deviation / size) ** 2)
    return mean, np.where(std > 0, std, 1.0)


def check_divergence(initial_loss, final_loss, epoch, lr, owner="The network"):
    """Warn when the training loss grew by orders of magnitude during a fit."""
    if initial_loss is None or final_loss is None:
        return
    reference = max(float(initial_loss), 1.0)
    if not final_loss > DIVERGENCE_FACTOR * reference:
        return
    warnings.warn(
        f"{owner}: the training loss grew from {initial_loss:.3g} before the "
        f"first step to {final_loss:.3g} in epoch {epoch}: the optimisation "
        f"diverged and the model is not usable. Lower lr (now {lr:g}), scale "
        "the inputs (StandardScaler) or check the sample weights and targets "
        "for extreme values.",
        ConvergenceWarning,
        stacklevel=2,
    )
