"""The objective of a cutoff search: :func:`make_cutoff_scorer`.

A scikit-learn scorer rating the lending decisions at a cutoff -- the
approval rate under a bad-rate ceiling, the bad rate under an approval
floor, or the profit -- for
:class:`~sklearn.model_selection.TunedThresholdClassifierCV`. A cutoff
breaking a constraint scores below every cutoff meeting it.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.metrics import make_scorer

from ._base import column
from ._lending import check_rate, is_bad
from ._weights import weights_or_ones

__all__ = ["make_cutoff_scorer"]

_OBJECTIVES = ("approval_rate", "bad_rate", "profit")


def _lending_objective(
    y_true,
    y_pred,
    *,
    pos_label,
    objective,
    max_bad_rate=None,
    min_approval_rate=None,
    gain=None,
    loss=None,
    sample_weight=None,
):
    """Objective value of lending decisions; infeasible ones score below all others.

    ``pos_label`` is the bad label (scikit-learn's name: the class whose
    score is thresholded). A decision breaking a constraint scores the
    objective's lowest possible value minus its violation, so that the
    search moves towards feasibility and prefers any feasible cutoff.
    """
    y_true = column(y_true, "y_true")
    y_pred = column(y_pred, "y_pred")
    w = weights_or_ones(sample_weight, y_true.size, "make_cutoff_scorer")
    bad = is_bad(y_true, pos_label, "y_true", other=y_pred)
    approved = ~is_bad(y_pred, pos_label, "y_pred", other=y_true)
    total, n_approved = w.sum(), w @ approved
    approval = n_approved / total
    bads = w @ (approved & bad)
    rate = bads / n_approved if n_approved > 0 else np.nan
    if objective == "approval_rate":
        value, lowest = approval, 0.0
    elif objective == "bad_rate":
        value, lowest = (-rate if n_approved > 0 else -1.0), -1.0
    else:
        value = (gain * (n_approved - bads) - loss * bads) / total
        lowest = -loss
    violation = 0.0
    if max_bad_rate is not None and n_approved > 0:
        violation += max(0.0, rate - max_bad_rate)
    if min_approval_rate is not None:
        violation += max(0.0, min_approval_rate - approval)
    return float(value if violation == 0 else lowest - violation)


def make_cutoff_scorer(
    objective="approval_rate",
    *,
    bad_label=1,
    max_bad_rate=None,
    min_approval_rate=None,
    gain=None,
    loss=None,
):
    """Make the objective of a cutoff search for ``TunedThresholdClassifierCV``.

    The scorer rates the lending decisions at a cutoff (greater is better),
    for :class:`sklearn.model_selection.TunedThresholdClassifierCV`, which
    tries cutoffs on the probability of default and keeps the best on
    average over its cross-validation folds:

    - ``"approval_rate"``: approve as many as possible while the bad rate
      among the approved stays at most ``max_bad_rate``;
    - ``"bad_rate"``: the lowest bad rate among the approved while at least
      ``min_approval_rate`` of the applicants are approved (scored as minus
      the bad rate);
    - ``"profit"``: the mean profit per applicant, ``gain`` for each good
      loan approved and ``-loss`` for each bad one (declined: 0), optionally
      under either constraint. With ``sample_weight`` routed to the scorer
      (e.g. the amounts lent), profits are in money.

    A cutoff that breaks a constraint scores below every cutoff that meets
    it, by how far it misses. The scorer's ``pos_label`` is ``bad_label``,
    so the search thresholds the probability of ``bad_label`` and its
    ``predict`` gives ``bad_label`` (declined) at or above the cutoff. It
    also works as a plain scorer of a classifier's ``predict``.

    .. versionadded:: 0.1

    Parameters
    ----------
    objective : {"approval_rate", "bad_rate", "profit"}, default="approval_rate"
        What to maximize (the bad rate is minimized).
    bad_label : label, default=1
        The class of a bad outcome (default).
    max_bad_rate : float in [0, 1], default=None
        The highest bad rate allowed among the approved. Required for
        ``"approval_rate"``.
    min_approval_rate : float in (0, 1], default=None
        The lowest approval rate allowed. Required for ``"bad_rate"``.
    gain : float, default=None
        Profit of a good loan approved. Required for ``"profit"``.
    loss : float, default=None
        Loss on a bad loan approved (positive). Required for ``"profit"``.

    Returns
    -------
    scorer : callable
        A scikit-learn scorer, ``scorer(estimator, X, y)``.

    See Also
    --------
    cutoff_for_bad_rate : the cutoff for a bad rate on one data set, no CV.
    sklearn.model_selection.TunedThresholdClassifierCV : the search.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import TunedThresholdClassifierCV
    >>> from sklfair.metrics import bad_rate, make_cutoff_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> y = (X[:, 0] + rng.normal(size=1000) > 1).astype(int)   # 1 = default
    >>> scorer = make_cutoff_scorer("approval_rate", max_bad_rate=0.08)
    >>> tuned = TunedThresholdClassifierCV(
    ...     LogisticRegression(), scoring=scorer, cv=5).fit(X, y)
    >>> decisions = tuned.predict(X)       # 1: declined (PD >= the cutoff)
    >>> round(float((decisions != 1).mean()), 2), round(bad_rate(y, decisions), 2)
    (0.54, 0.06)
    """
    if objective not in _OBJECTIVES:
        raise ValueError(
            f"objective must be one of {list(_OBJECTIVES)}, got {objective!r}."
        )
    if max_bad_rate is not None:
        max_bad_rate = check_rate(max_bad_rate, "max_bad_rate")
    if min_approval_rate is not None:
        min_approval_rate = check_rate(
            min_approval_rate, "min_approval_rate", low_open=True
        )
    if objective == "approval_rate" and max_bad_rate is None:
        raise ValueError(
            "objective='approval_rate' needs max_bad_rate=: without it the "
            "best cutoff approves everybody."
        )
    if objective == "bad_rate" and min_approval_rate is None:
        raise ValueError(
            "objective='bad_rate' needs min_approval_rate=: without it the "
            "best cutoff approves (almost) nobody."
        )
    if objective == "profit":
        for name, value in (("gain", gain), ("loss", loss)):
            if (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not np.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"objective='profit' needs {name}= a non-negative number, "
                    f"got {value!r}."
                )
        gain, loss = float(gain), float(loss)
    elif gain is not None or loss is not None:
        raise ValueError("gain= and loss= are only used by objective='profit'.")
    return make_scorer(
        _lending_objective,
        response_method="predict",
        pos_label=bad_label,
        objective=objective,
        max_bad_rate=max_bad_rate,
        min_approval_rate=min_approval_rate,
        gain=gain,
        loss=loss,
    )
