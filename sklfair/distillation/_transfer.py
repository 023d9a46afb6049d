"""The transfer set: extra rows for the student, labelled by the teacher.

:func:`synthesize` makes synthetic rows (mixup with a random partner, then
Gaussian noise) that keep their base row's group; :func:`concat_rows` and
:func:`take_rows` stack and slice any supported container.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "AUGMENT_NOISE_SCALE",
    "AUGMENT_MIXUP_BETA",
    "concat_rows",
    "take_rows",
    "synthesize",
]

#: Standard deviation of the Gaussian noise added to synthetic rows, as a
#: fraction of each feature's standard deviation on the training rows.
AUGMENT_NOISE_SCALE = 0.1

#: Mixup weights ``lam`` are drawn from Beta(a, a) and folded to [0.5, 1] so
#: that a synthetic row stays closer to its base row than to its partner.
AUGMENT_MIXUP_BETA = 0.4


def concat_rows(parts):
    parts = [p for p in parts if p is not None]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, pd.DataFrame):
        return pd.concat(parts, axis=0, ignore_index=True)
    if sp.issparse(first):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts, axis=0)


def take_rows(X, rows):
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    return X[rows]


def synthesize(X, n_augment, fixed_columns, random_state):
    """``n_augment`` synthetic rows per row of X: mixup, then Gaussian noise.

    Each synthetic row starts from a base row ``i`` (every row ``n_augment``
    times) and a random partner ``k``: ``lam * x_i + (1 - lam) * x_k`` with
    ``lam`` from Beta(a, a) folded to [0.5, 1], plus N(0, (s * std_j)^2) noise
    per feature ``j``. The columns in ``fixed_columns`` (the sensitive ones)
    are copied from the base row, so a synthetic row belongs to its base
    row's group; so are the non-numeric (categorical, boolean, text) columns
    of a DataFrame. A sparse X gets noise on its stored entries only.

    Returns the synthetic rows (same container type as X) and the base row of
    each.
    """
    n_samples, n_features = X.shape
    base = np.tile(np.arange(n_samples), n_augment)
    partner = random_state.integers(0, n_samples, size=base.size)
    lam = random_state.beta(AUGMENT_MIXUP_BETA, AUGMENT_MIXUP_BETA, size=base.size)
    lam = np.maximum(lam, 1.0 - lam)
    free = np.ones(n_features, dtype=bool)
    free[list(fixed_columns)] = False

    if isinstance(X, pd.DataFrame):
        # categorical, boolean and text columns are copied from the base row
        numeric = [
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            for dtype in X.dtypes
        ]
        free_cols = [
            c for c, f, num in zip(X.columns, free, numeric, strict=True) if f and num
        ]
        values = _numeric_values(X[free_cols])
        synth = _mix_dense(values, base, partner, lam, random_state)
        out = X.iloc[base].reset_index(drop=True).copy()
        out[free_cols] = synth
        return out, base

    if sp.issparse(X):
        X = sp.csr_array(X, dtype=np.float64)
        A, B = X[base], X[partner]
        mix = sp.diags_array(1.0 - lam) @ (B - A) @ sp.diags_array(free * 1.0)
        out = sp.csr_array(A + mix)
        out.sum_duplicates()
        _, var = _sparse_mean_var(X)
        scale = AUGMENT_NOISE_SCALE * np.sqrt(var) * free
        out.data = (
            out.data
            + random_state.standard_normal(out.data.size) * (scale[out.indices])
        )
        return sp.csr_matrix(out), base

    values = _numeric_values(X)
    synth = values[base].copy()
    synth[:, free] = _mix_dense(values[:, free], base, partner, lam, random_state)
    return synth, base


def _mix_dense(values, base, partner, lam, random_state):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        std = np.nanstd(values, axis=0)
    std = np.where(np.isfinite(std), std, 0.0)
    mixed = lam[:, None] * values[base] + (1.0 - lam[:, None]) * values[partner]
    noise = random_state.standard_normal(mixed.shape) * (AUGMENT_NOISE_SCALE * std)
    return mixed + noise


def _sparse_mean_var(X):
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    return mean, np.maximum(sq - mean**2, 0.0)


def _numeric_values(X):
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "n_augment > 0 needs numeric features to add noise and mix rows "
            f"({exc}). Encode the non-numeric columns first, or pass extra rows "
            "with fit(..., X_unlabeled=...) instead."
        ) from None
