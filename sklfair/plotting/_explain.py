"""Figures of explanations: one row's contributions, and importance per group.

Both draw a :class:`shap.Explanation` (as
:func:`sklfair.explain.feature_contributions` returns) with shap's own plots:
a waterfall of one row (:func:`plot_contributions`) and the mean absolute
contribution of each feature over the groups as cohorts
(:func:`plot_group_importance`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_contributions", "plot_group_importance"]


def _checked_shap(explanation):
    """shap (imported now), after checking that ``explanation`` is one it drew."""
    from ..explain._contributions import import_shap

    shap = import_shap()
    values = getattr(explanation, "values", None)
    if values is None or getattr(explanation, "feature_names", None) is None:
        raise TypeError(
            "explanation must be a shap.Explanation with feature names, as "
            "sklfair.explain.feature_contributions returns; got "
            f"{type(explanation).__name__}."
        )
    if np.ndim(values) != 2:
        raise ValueError(
            "explanation must hold one row of contributions per sample "
            f"(2-D values); got shape {np.shape(values)}."
        )
    return shap


def plot_contributions(explanation, row=0, *, max_display=10):
    """Plot one row's contributions to its score as a waterfall.

    The bars start at the base value (the average score of the reference
    rows) and add each feature's contribution in turn, largest first, ending
    at the row's own score: bars to the right push it toward the adverse
    class, bars to the left away from it. The features beyond
    ``max_display - 1`` are summed into one bar. Drawn by
    :func:`shap.plots.waterfall`.

    .. versionadded:: 0.1

    Parameters
    ----------
    explanation : shap.Explanation
        Contributions of several rows, as
        :func:`sklfair.explain.feature_contributions` returns.
    row : int, default=0
        Position of the row to show.
    max_display : int, default=10
        Bars shown, the last one summing the remaining features.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.explain import feature_contributions
    >>> from sklfair.plotting import plot_contributions
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> clf = LogisticRegression().fit(X, X[:, 0] > 0)
    >>> fig = plot_contributions(feature_contributions(clf, X[:5], background=X))
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['Row 0: log-odds of class True']
    """
    import matplotlib.pyplot as plt

    shap = _checked_shap(explanation)
    n_rows = np.shape(explanation.values)[0]
    if not -n_rows <= row < n_rows:
        raise IndexError(f"row {row} is out of range for {n_rows} rows.")
    fig = plt.figure()
    ax = shap.plots.waterfall(explanation[row], max_display=max_display, show=False)
    output = explanation.output_names or "score"
    ax.set_title(f"Row {row % n_rows}: {output}")
    return fig


def plot_group_importance(explanation, groups, *, max_display=10):
    """Plot each feature's mean absolute contribution, group by group.

    One bar per group and feature, the most important features first: how
    much each feature moves the scores of each group's rows. A feature that
    matters far more for one group than another is worth a look (it may
    stand in for the group; see :func:`sklfair.explain.proxy_report`).
    Drawn by :func:`shap.plots.bar` over the groups as cohorts.

    .. versionadded:: 0.1

    Parameters
    ----------
    explanation : shap.Explanation
        Contributions of several rows, as
        :func:`sklfair.explain.feature_contributions` returns.
    groups : array-like, Series or DataFrame of shape (n_samples,) or \
            (n_samples, n_columns)
        Group of each row (several columns form intersectional groups).
    max_display : int, default=10
        Features shown, the last bar summing the remaining ones.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.explain import feature_contributions
    >>> from sklfair.plotting import plot_group_importance
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> clf = LogisticRegression().fit(X, X[:, 0] > 0)
    >>> expl = feature_contributions(clf, X, background=X)
    >>> fig = plot_group_importance(expl, np.where(X[:, 2] > 0, "a", "b"))
    >>> fig.axes[0].get_xlabel()
    'mean |contribution| to log-odds of class True'
    """
    import matplotlib.pyplot as plt

    from .._sensitive import check_sensitive_features

    shap = _checked_shap(explanation)
    labels = check_sensitive_features(
        groups,
        np.shape(explanation.values)[0],
        max_groups=None,
        min_groups=1,
        name="groups",
    )
    labels = np.asarray([str(v) for v in labels], dtype=object)
    fig = plt.figure()
    ax = shap.plots.bar(
        explanation.cohorts(labels).abs.mean(0), max_display=max_display, show=False
    )
    output = explanation.output_names or "score"
    ax.set_xlabel(f"mean |contribution| to {output}")
    return fig
