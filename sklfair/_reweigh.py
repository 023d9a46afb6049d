"""Kamiran & Calders' reweighing weights, and the weighted resample.

:func:`fair_sample_weight` (public through :mod:`sklfair.reweighting`)
gives every (group, label) cell the weight ``P(g) P(y) / P(g, y)`` under the
user's own sample weights; ``_reweigh`` is the computation with its edge
cases (empty cells, single group), shared by the in-memory and the chunked
fits of :class:`~sklfair.reweighting.ReweighingClassifier` (the latter gives
it the counts of a streaming pass); ``_resample_indices`` draws the weighted,
stratified resample for estimators without ``sample_weight``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, column_or_1d

from sklfair._group_labels import plain_value
from sklfair._sensitive import check_sensitive_features, encode_groups

__all__ = ["fair_sample_weight"]


def _reweigh(y, groups, sample_weight=None, *, check_groups=True):
    """Reweighing weights and the (group x label) weight table.

    ``groups`` is validated with ``check_sensitive_features`` unless
    ``check_groups`` is False (it then is that function's output already).

    Returns
    -------
    weights : ndarray of float64, shape (n_samples,)
    table : DataFrame, shape (n_groups, n_labels)
        The cell weights ``P(g) P(y) / P(g, y)``, for the groups and labels
        with positive total weight; NaN for an empty cell.
    cells : dict
        ``group_codes``, ``label_codes`` (per row), ``expected`` (the
        weighted count each cell should have) and ``counts`` (the weighted
        count it has), as (n_groups_all, n_labels_all) arrays.
    """
    y = column_or_1d(y)
    check_classification_targets(y)
    if check_groups:
        groups = check_sensitive_features(groups, n_samples=y.shape[0], name="groups")
    sample_weight = _check_sample_weight(
        sample_weight, y, dtype=np.float64, ensure_non_negative=True
    )
    group_codes, group_labels = encode_groups(groups)
    classes, label_codes = np.unique(y, return_inverse=True)
    n_groups, n_labels = len(group_labels), len(classes)

    counts = np.bincount(
        group_codes * n_labels + label_codes,
        weights=sample_weight,
        minlength=n_groups * n_labels,
    ).reshape(n_groups, n_labels)
    total = counts.sum()
    group_mass, label_mass = counts.sum(axis=1), counts.sum(axis=0)
    present_groups, present_labels = group_mass > 0, label_mass > 0
    if present_groups.sum() < 2:
        (only,) = group_labels[present_groups]
        raise ValueError(
            f"Only the group {only!r} of {groups.name!r} has samples with a "
            "positive sample weight; reweighing needs at least two groups."
        )
    # The weighted count each cell has once the label is independent of the
    # group: total * P(g) * P(y).
    expected = np.outer(group_mass, label_mass) / total
    nonempty = counts > 0
    cell_weight = np.divide(
        expected, counts, out=np.zeros_like(expected), where=nonempty
    )
    empty = ~nonempty & np.outer(present_groups, present_labels)
    if empty.any():
        shown = [
            f"({plain_value(group_labels[g])!r}, {plain_value(classes[k])!r})"
            for g, k in zip(*np.nonzero(empty), strict=True)
        ]
        more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
        warnings.warn(
            f"Reweighing: {len(shown)} (group, label) cell(s) of {groups.name!r} "
            f"have no sample with a positive weight: {', '.join(shown[:10])}{more}. "
            "The label cannot be made independent of the group for those "
            "groups; the other cells keep their finite weights. Merge rare "
            "groups (or labels) to avoid this.",
            UserWarning,
            stacklevel=3,
        )
    weights = sample_weight * cell_weight[group_codes, label_codes]

    table = np.where(nonempty, cell_weight, np.nan)[present_groups][:, present_labels]
    table = pd.DataFrame(
        table,
        index=pd.Index(group_labels[present_groups], name=groups.name),
        columns=pd.Index(classes[present_labels], name="label"),
    )
    cells = {
        "group_codes": group_codes,
        "label_codes": label_codes,
        "expected": expected,
        "counts": counts,
        "sample_weight": sample_weight,
    }
    return weights, table, cells


def fair_sample_weight(y, groups, sample_weight=None):
    """Reweighing weights that make the label independent of the group.

    Kamiran & Calders' reweighing: each sample of the (group ``g``, label
    ``y``) cell gets the weight ``P(g) * P(y) / P(g, y)``, times its own
    ``sample_weight``. The probabilities are computed under
    ``sample_weight``, so that in the data weighted by the result,
    ``P(label | group)`` is the same for every group (and equals the overall
    weighted label distribution), while every group keeps its total weight.

    .. versionadded:: 0.1

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (binary or multi-class).
    groups : array-like, Series or DataFrame of shape (n_samples,) or \
            (n_samples, n_columns)
        Group membership of each sample. Several columns form intersectional
        groups (one group per combination of values that occurs).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative existing weights (e.g. survey weights); None means all 1.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        Finite, non-negative weights. Every group keeps its total
        ``sample_weight`` (unless one of its cells is empty).

    Raises
    ------
    ValueError
        For a single group, missing or continuous-looking groups, a length
        mismatch, continuous labels, negative or all-zero ``sample_weight``.

    Warns
    -----
    UserWarning
        When a (group, label) cell is empty (no sample with positive weight)
        although the group and the label both occur: independence cannot hold
        for that group. The weights stay finite.

    See Also
    --------
    ReweighingClassifier : fits any classifier with these weights.

    Examples
    --------
    >>> from sklfair.reweighting import fair_sample_weight
    >>> y = [1, 1, 0, 1, 0, 0]
    >>> groups = ["a", "a", "a", "b", "b", "b"]
    >>> fair_sample_weight(y, groups)
    array([0.75, 0.75, 1.5 , 1.5 , 0.75, 0.75])
    """
    weights, _, _ = _reweigh(y, groups, sample_weight)
    return weights


def _unweighted(y, sample_weight):
    """The weights, table and cells of a fit without groups: all ones."""
    sample_weight = _check_sample_weight(
        sample_weight, y, dtype=np.float64, ensure_non_negative=True
    )
    classes, label_codes = np.unique(y, return_inverse=True)
    table = pd.DataFrame(
        np.ones((1, classes.size)),
        index=pd.Index(["all"], name="group"),
        columns=pd.Index(classes, name="label"),
    )
    counts = np.bincount(label_codes, weights=sample_weight)[np.newaxis, :]
    cells = {
        "group_codes": np.zeros(y.shape[0], dtype=np.int64),
        "label_codes": label_codes,
        "sample_weight": sample_weight,
        "counts": counts,
        "expected": counts,
    }
    return sample_weight, table, cells


def _largest_remainder(amounts, total):
    """Round non-negative ``amounts`` (summing to ``total``) to integers."""
    floors = np.floor(amounts).astype(np.int64)
    short = int(total - floors.sum())
    if short > 0:
        order = np.argsort(-(amounts - floors), kind="stable")
        floors[order[:short]] += 1
    return floors


def _resample_indices(cells, n_draw, random_state):
    """Row indices of a weighted resample stratified by (group, label) cell.

    Each non-empty cell gets its reweighed share of ``n_draw`` rows (so the
    label is independent of the group up to rounding), drawn with replacement
    within the cell with probabilities proportional to ``sample_weight``.
    """
    rng = check_random_state(random_state)
    counts, expected = cells["counts"], cells["expected"]
    sample_weight = cells["sample_weight"]
    n_labels = counts.shape[1]
    cell_of_row = cells["group_codes"] * n_labels + cells["label_codes"]
    share = np.where(counts > 0, expected, 0.0).ravel()
    sizes = _largest_remainder(share / share.sum() * n_draw, n_draw)
    indices = []
    for cell in np.flatnonzero(sizes):
        rows = np.flatnonzero((cell_of_row == cell) & (sample_weight > 0))
        p = sample_weight[rows] / sample_weight[rows].sum()
        indices.append(rng.choice(rows, size=sizes[cell], replace=True, p=p))
    indices = np.concatenate(indices)
    return indices[rng.permutation(indices.size)]
