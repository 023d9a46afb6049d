"""Ranking power of a score: the Gini coefficient and the KS statistic.

How well a probability-of-default score separates the events (defaults)
from the others: :func:`gini` (``2 * AUC - 1``, Somers' D) and
:func:`ks_statistic` (the largest distance between the two classes' score
distributions). Both are computed from the weights of each class at each
distinct score, so ties and sample weights are exact. The ``_gini`` and
``_ks`` kernels take checked arrays, for the per-group tables and gaps.
"""

from __future__ import annotations

import numpy as np

from ._credit_inputs import checked_inputs

__all__ = ["gini", "ks_statistic"]


def gini(y_true, y_score, *, sample_weight=None, pos_label=None):
    """Gini coefficient of a score: ``2 * AUC - 1`` (Somers' D).

    The ranking power lenders quote for a scorecard: 1 when every event
    (e.g. default) scores above every non-event, 0 for a random score,
    negative when the score ranks the wrong way.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score of the class ``pos_label`` (higher: more likely), e.g. the
        predicted probability of default.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    pos_label : label, default=None
        The class ``y_score`` scores (the event). Needed when the labels are
        not {0, 1} or {-1, 1}; 1 otherwise.

    Returns
    -------
    float
        The Gini coefficient in [-1, 1]; NaN when ``y_true`` holds one class
        only (the ranking of events against non-events is undefined).

    See Also
    --------
    sklearn.metrics.roc_auc_score : the area under the ROC curve it rescales.
    ks_statistic : the other ranking measure of credit scoring.

    Examples
    --------
    >>> from sklfair.metrics import gini
    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    args = (y_true, y_score, sample_weight, pos_label)
    return _gini(*checked_inputs(*args, "gini", probability=False))


def _class_weights_by_score(events, score, w):
    """Weights of the events and of the others at each distinct score, in order."""
    if w is None:
        w = np.ones_like(score)
    _, inverse = np.unique(score, return_inverse=True)
    return (
        np.bincount(inverse, weights=w * events),
        np.bincount(inverse, weights=w * (1.0 - events)),
    )


def _gini(events, score, w):
    at_events, at_others = _class_weights_by_score(events, score, w)
    n_events, n_others = at_events.sum(), at_others.sum()
    if n_events == 0 or n_others == 0:
        return float("nan")
    # Mann-Whitney: P(event scores above other) + P(tie) / 2
    others_below = np.cumsum(at_others) - at_others
    auc = at_events @ (others_below + 0.5 * at_others) / (n_events * n_others)
    return float(2.0 * auc - 1.0)


def ks_statistic(y_true, y_score, *, sample_weight=None, pos_label=None):
    """Kolmogorov-Smirnov statistic: the largest gap between the score CDFs.

    The largest distance, over all score values, between the cumulative
    distribution of the score among the events (e.g. defaults) and among
    the non-events. It equals the two-sample statistic of
    :func:`scipy.stats.ks_2samp` on the two sets of scores; with integer
    weights, that of each row repeated as often as its weight.

    .. versionadded:: 0.1

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Score of the class ``pos_label``, e.g. the predicted probability of
        default. Only its order matters.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted empirical distributions).
    pos_label : label, default=None
        The class ``y_score`` scores. Needed when the labels are not {0, 1}
        or {-1, 1}; 1 otherwise.

    Returns
    -------
    float
        The KS statistic in [0, 1]; NaN when ``y_true`` holds one class only.

    See Also
    --------
    scipy.stats.ks_2samp : the same statistic, with a test.
    gini : the other ranking measure of credit scoring.

    Examples
    --------
    >>> from sklfair.metrics import ks_statistic
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    args = (y_true, y_score, sample_weight, pos_label)
    return _ks(*checked_inputs(*args, "ks_statistic", probability=False))


def _ks(events, score, w):
    at_events, at_others = _class_weights_by_score(events, score, w)
    n_events, n_others = at_events.sum(), at_others.sum()
    if n_events == 0 or n_others == 0:
        return float("nan")
    # the CDFs after each distinct score value (ties move together)
    cdf_events = np.cumsum(at_events) / n_events
    cdf_others = np.cumsum(at_others) / n_others
    return float(np.max(np.abs(cdf_events - cdf_others)))
