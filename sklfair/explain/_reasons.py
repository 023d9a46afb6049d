"""Reason codes: the columns that pushed each row toward the adverse class.

:func:`reason_codes` ranks each row's contributions
(:func:`~sklfair.explain.feature_contributions`) and keeps the largest
positive ones -- the principal reasons a lender states for a decline -- never
naming a sensitive column. :func:`reason_parity` counts how often each reason
is given in each group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._columns import column_positions
from .._sensitive import check_sensitive_features
from ..exceptions import SensitiveInputWarning
from ._contributions import feature_contributions

__all__ = ["reason_codes", "reason_parity"]


def reason_codes(
    estimator,
    X,
    n_reasons=4,
    *,
    adverse_class=None,
    sensitive_columns=None,
    background=None,
    n_background=100,
    method="auto",
    random_state=None,
    explanation=None,
):
    """The columns that pushed each row's score toward the adverse class most.

    Each row's contributions to the log-odds of the adverse class (shap
    values grouped by the columns of ``X``, see
    :func:`feature_contributions`) are ranked; the ``n_reasons`` largest
    *positive* ones are the row's reasons, largest first. A one-hot-encoded
    category is one column, so one reason. Sensitive columns are never
    reasons.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted binary classifier or Pipeline
        As in :func:`feature_contributions`.
    X : DataFrame or array-like of shape (n_samples, n_features)
        The rows to give reasons for (e.g. the declined applicants).
    n_reasons : int, default=4
        Reasons per row (fewer when fewer columns push toward the adverse
        class).
    adverse_class : label, default=None
        The unfavourable class; ``None`` takes ``classes_[1]`` (for credit
        coded 1 = default). For data coded 1 = good, pass 0.
    sensitive_columns : str, int, list or boolean mask, default=None
        Columns of ``X`` never given as reasons. ``None`` reads them from the
        estimator's ``sensitive_columns`` (an sklfair meta-estimator). A
        callable selector names no column, so excludes none.
    background : DataFrame or array-like, default=None
        Reference rows the contributions are measured against; see
        :func:`feature_contributions`. Reasons answer "why is this row worse
        than the reference", so pass the approved applicants or the training
        data when ``X`` holds the declined ones.
    n_background : int, default=100
        Rows kept from ``background``.
    method : {"auto", "deep", "linear", "permutation"}, default="auto"
        The shap explainer; see :func:`feature_contributions`.
    random_state : int, RandomState instance or None, default=None
        Draws the background rows and the permutations.
    explanation : shap.Explanation, default=None
        Contributions already computed by :func:`feature_contributions` for
        these rows; the other explainer arguments are then ignored.

    Returns
    -------
    reasons : pandas.DataFrame
        One row per row of ``X`` (same index for a DataFrame), with columns
        ``reason_1`` .. ``reason_<n>`` (column names; None where there is no
        further reason) and ``contribution_1`` .. ``contribution_<n>`` (their
        contributions to the log-odds; NaN where there is no reason).

    Warns
    -----
    SensitiveInputWarning
        When a sensitive column moves the scores: it is left out of the
        reasons but still changes decisions.

    See Also
    --------
    reason_parity : how often each reason is given per group.
    sklfair.plotting.plot_contributions : one row's contributions as a chart.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.explain import reason_codes
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"late_payments": rng.poisson(1, 300),
    ...                   "income": rng.normal(3, 1, 300)})
    >>> y = (X.late_payments - X.income + rng.normal(0, 1, 300) > -2).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> reasons = reason_codes(clf, X.iloc[:3], n_reasons=2, background=X)
    >>> list(reasons.columns)
    ['reason_1', 'reason_2', 'contribution_1', 'contribution_2']
    """
    if (
        not isinstance(n_reasons, (int, np.integer))
        or isinstance(n_reasons, bool)
        or n_reasons < 1
    ):
        raise ValueError(f"n_reasons must be a positive integer; got {n_reasons!r}.")
    if explanation is None:
        explanation = feature_contributions(
            estimator,
            X,
            adverse_class=adverse_class,
            background=background,
            n_background=n_background,
            method=method,
            random_state=random_state,
        )
    values = np.asarray(explanation.values, dtype=np.float64)
    names = np.asarray(explanation.feature_names, dtype=object)
    n_rows = X.shape[0]
    if values.shape != (n_rows, X.shape[1]):
        raise ValueError(
            f"explanation has values of shape {values.shape}; X has shape {X.shape}."
        )
    if sensitive_columns is None:
        sensitive_columns = getattr(estimator, "sensitive_columns", None)
    sensitive = []
    if sensitive_columns is not None and not callable(sensitive_columns):
        sensitive = column_positions(X, sensitive_columns)
    if sensitive:
        moved = np.abs(values[:, sensitive]).max(axis=0) > 1e-9
        if moved.any():
            warnings.warn(
                f"The scores move with the sensitive column(s) "
                f"{names[sensitive][moved].tolist()}: they are never given as "
                "reasons, but they change decisions.",
                SensitiveInputWarning,
                stacklevel=2,
            )

    ranked = values.copy()
    ranked[:, sensitive] = -np.inf
    k = min(n_reasons, values.shape[1])
    order = np.argsort(-ranked, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(ranked, order, axis=1)
    given = top > 0
    out = {}
    for i in range(n_reasons):
        if i < k:
            out[f"reason_{i + 1}"] = np.where(given[:, i], names[order[:, i]], None)
        else:
            out[f"reason_{i + 1}"] = np.full(n_rows, None, dtype=object)
    for i in range(n_reasons):
        out[f"contribution_{i + 1}"] = (
            np.where(given[:, i], top[:, i], np.nan) if i < k else np.nan
        )
    index = X.index if isinstance(X, pd.DataFrame) else None
    reasons = pd.DataFrame(out, index=index)
    # names stay Python objects with None for "no reason", whatever string
    # dtype pandas would infer
    for i in range(n_reasons):
        column = f"reason_{i + 1}"
        reasons[column] = pd.Series(out[column], index=reasons.index, dtype=object)
    return reasons


def reason_parity(reasons, groups, *, n_reasons=1, confidence=None):
    """How often each reason is given in each group.

    For every column named as a reason, the share of each group's rows that
    have it among their first ``n_reasons`` reasons (the principal reason
    with the default 1). A reason given much more often to one group than
    another deserves a look (see :func:`proxy_report`).

    .. versionadded:: 0.1

    Parameters
    ----------
    reasons : pandas.DataFrame
        The result of :func:`reason_codes`.
    groups : array-like, Series or DataFrame of shape (n_samples,) or \
            (n_samples, n_columns)
        Group of each row (several columns form intersectional groups).
    n_reasons : int, default=1
        Count a column when it is among a row's first ``n_reasons`` reasons.
    confidence : float in (0, 1), default=None
        With a level, ``difference_low``/``difference_high`` and
        ``ratio_low``/``ratio_high`` give the analytic interval of each
        reason's difference and ratio
        (:func:`~sklfair.metrics.fairness_interval` of the demographic
        parity difference and ratio of "given this reason"); NaN with
        fewer than two groups.

    Returns
    -------
    parity : pandas.DataFrame
        One row per reason, most frequent overall first; one column per
        group with that group's share of rows, then ``overall`` (the share
        among all rows), ``difference`` (largest minus smallest group
        share) and ``ratio`` (smallest over largest group share), each
        followed by its interval when ``confidence`` is set.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.explain import reason_parity
    >>> reasons = pd.DataFrame({"reason_1": ["debt", "debt", "age", None]})
    >>> reason_parity(reasons, ["a", "a", "b", "b"])
            a    b  overall  difference  ratio
    debt  1.0  0.0     0.50         1.0    0.0
    age   0.0  0.5     0.25         0.5    0.0
    """
    columns = [f"reason_{i + 1}" for i in range(n_reasons)]
    missing = [c for c in columns if c not in reasons.columns]
    if missing:
        raise ValueError(
            f"reasons has no column(s) {missing}: pass the result of "
            f"reason_codes with at least n_reasons={n_reasons} reasons."
        )
    labels = check_sensitive_features(
        groups, len(reasons), max_groups=None, min_groups=1, name="groups"
    )
    labels = pd.Series(np.asarray(labels, dtype=object), name="group")
    given = reasons[columns].reset_index(drop=True)
    names = pd.unique(given.to_numpy().ravel())
    names = [n for n in names if n is not None and not pd.isna(n)]
    indicator = pd.DataFrame(
        {name: (given == name).any(axis=1).to_numpy() for name in names}
    ).astype(float)
    if indicator.empty:
        indicator = pd.DataFrame(index=given.index)
    by_group = indicator.groupby(labels, sort=True).mean().T
    parity = by_group.copy()
    parity.columns = [str(c) for c in parity.columns]
    parity["overall"] = indicator.mean()
    shares = by_group.to_numpy()
    high = shares.max(axis=1) if shares.size else np.zeros(len(parity))
    low = shares.min(axis=1) if shares.size else np.zeros(len(parity))
    parity["difference"] = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        parity["ratio"] = np.where(high > 0, low / np.where(high > 0, high, 1), np.nan)
    if confidence is not None:
        parity = _with_intervals(parity, indicator, labels, confidence)
    parity = parity.sort_values("overall", ascending=False, kind="stable")
    parity.index.name = None
    parity.columns.name = None
    return parity


def _with_intervals(parity, indicator, labels, confidence):
    """``parity`` with the intervals of each reason's difference and ratio."""
    from ..metrics import fairness_interval

    bounds = {
        f"{gap}_{end}": [] for gap in ("difference", "ratio") for end in ("low", "high")
    }
    several = labels.nunique() > 1
    for name in parity.index:
        given = indicator[name].to_numpy().astype(int)
        for gap in ("difference", "ratio"):
            low = high = np.nan
            if several:
                interval = fairness_interval(
                    f"demographic_parity_{gap}",
                    given,
                    given,
                    sensitive_features=labels.to_numpy(),
                    confidence=confidence,
                )
                low, high = interval.low, interval.high
            bounds[f"{gap}_low"].append(low)
            bounds[f"{gap}_high"].append(high)
    columns = list(parity.columns)
    for gap in ("difference", "ratio"):
        at = columns.index(gap) + 1
        columns[at:at] = [f"{gap}_low", f"{gap}_high"]
    return parity.assign(**bounds)[columns]
