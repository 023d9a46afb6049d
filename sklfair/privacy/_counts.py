"""Reweighing from noisy counts: fairness weights under their own privacy budget.

Kamiran & Calders' reweighing reads the (group x label) counts of the whole
training set, so every row's weight depends on every other row. Released
with the Laplace mechanism, those counts cost ``epsilon`` once; each row's
weight is then a function of its own group and label and of the released
counts, which is what :class:`DPSGD` (``accept_weights=True``) needs for its
guarantee to hold. The two budgets add up (sequential composition).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from .._sensitive import check_sensitive_features, encode_groups

__all__ = ["noisy_fair_sample_weight"]


@validate_params(
    {
        "y": ["array-like"],
        "groups": ["array-like"],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def noisy_fair_sample_weight(y, groups, *, epsilon, random_state=None):
    """Reweighing weights computed from counts released with the Laplace mechanism.

    The weight of a row in the (group ``g``, label ``y``) cell is
    ``P(g) P(y) / P(g, y)`` (Kamiran & Calders' reweighing, as
    :func:`~sklfair.reweighting.fair_sample_weight`), with the probabilities
    taken from the cell counts plus Laplace noise of scale ``1 / epsilon``.
    Adding or removing one row changes one count by one, so the noisy table,
    and every weight derived from it, is ``epsilon``-differentially private.
    Noisy counts below 1 are raised to 1, and the weights are divided by the
    largest cell weight of the table, so that they lie in ``(0, 1]`` as a
    private fit needs (post-processing of the released table, free of
    charge; only ratios of weights matter to a weighted fit).

    Give the weights to a net trained with
    ``DPSGD(target_epsilon=..., accept_weights=True)``: the model is then
    ``(epsilon + target_epsilon, delta)``-differentially private in all.

    .. versionadded:: 0.2

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    groups : array-like, Series or DataFrame of shape (n_samples,) or \
            (n_samples, n_columns)
        Group of each row (several columns form intersectional groups). The
        set of groups and of labels is treated as public: only the counts are
        protected.
    epsilon : float
        Privacy budget spent on the counts.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise (reproducible, not a secure source).

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        Weights in ``(0, 1]``, proportional to Kamiran & Calders' weights
        computed from the noisy counts.

    See Also
    --------
    sklfair.reweighting.fair_sample_weight : the same weights from exact counts.
    DPSGD : private training that can take these weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.privacy import noisy_fair_sample_weight
    >>> rng = np.random.default_rng(0)
    >>> groups = rng.choice(["a", "b"], size=2000)
    >>> y = (rng.random(2000) < np.where(groups == "a", 0.3, 0.6)).astype(int)
    >>> w = noisy_fair_sample_weight(y, groups, epsilon=1.0, random_state=0)
    >>> for g in ("a", "b"):  # weighted positive rate, about equal
    ...     rows = groups == g
    ...     print(g, round(np.average(y[rows], weights=w[rows]), 2))
    a 0.47
    b 0.47
    """
    y = column_or_1d(y)
    check_classification_targets(y)
    groups = check_sensitive_features(groups, n_samples=y.shape[0], name="groups")
    group_codes, _ = encode_groups(groups)
    _, label_codes = np.unique(y, return_inverse=True)
    n_labels = int(label_codes.max()) + 1
    n_groups = int(group_codes.max()) + 1
    counts = np.bincount(
        group_codes * n_labels + label_codes, minlength=n_groups * n_labels
    ).reshape(n_groups, n_labels)
    rng = check_random_state(random_state)
    noisy = counts + rng.laplace(scale=1.0 / epsilon, size=counts.shape)
    noisy = np.maximum(noisy, 1.0)
    expected = np.outer(noisy.sum(axis=1), noisy.sum(axis=0)) / noisy.sum()
    cell_weight = expected / noisy
    return (cell_weight / cell_weight.max())[group_codes, label_codes]
