"""Matplotlib figures for fairness measurement and model selection.

- :func:`plot_group_metrics` -- each metric's value per group as bars, the
  overall value as a dashed line, and the gap (largest - smallest group)
  marked with an arrow;
- :func:`plot_pareto_front` -- candidates of a search by score and fairness,
  with the non-dominated ones joined;
- :func:`plot_contributions` -- one row's contributions to its score, as a
  waterfall of the features pushing it up and down (shap's waterfall plot);
- :func:`plot_group_importance` -- the mean absolute contribution of each
  feature in each group (shap's bar plot over cohorts).

Matplotlib is imported inside the functions, so importing :mod:`sklfair`
never loads it. The functions return the :class:`~matplotlib.figure.Figure`
(made with :mod:`matplotlib.pyplot`, so notebooks and sphinx-gallery show it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "plot_group_metrics",
    "plot_pareto_front",
    "plot_contributions",
    "plot_group_importance",
]

_BAR_COLOR = "#4C72B0"
_GAP_COLOR = "#C44E52"


def _long_frame(frame):
    """Accept the report's tidy frame or a wide groups x metrics table."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame must be a pandas DataFrame, got {type(frame).__name__}."
        )
    if {"group", "metric", "value"} <= set(frame.columns):
        long = frame.copy()
        if "attribute" not in long:
            long["attribute"] = "group"
        return long
    attribute = frame.index.name or "group"
    long = frame.rename_axis("group").reset_index()
    long = long.melt(id_vars="group", var_name="metric", value_name="value")
    long["attribute"] = str(attribute)
    return long


def plot_group_metrics(
    frame,
    *,
    metrics=None,
    attributes=None,
    overall=None,
    figsize=None,
):
    """Plot each metric per group as bars, with the gap between groups marked.

    One row of panels per attribute and one column per metric. In each
    panel the bars are the groups' values, a dashed line the overall value
    (when given) and a red arrow spans the gap from the smallest to the
    largest group value, labelled with its size.

    .. versionadded:: 0.1

    Parameters
    ----------
    frame : pandas.DataFrame
        Either a tidy table with columns ``group``, ``metric``, ``value``
        (and optionally ``attribute``), as :attr:`FairnessReport.frame
        <sklfair.metrics.FairnessReport>`, or a wide table indexed by group
        with one column per metric, as :func:`sklfair.metrics.group_metrics`
        returns.
    metrics : list of str, default=None
        The metrics to show; all but ``count`` when None.
    attributes : list of str, default=None
        The attributes to show; all when None.
    overall : pandas.Series or dict, default=None
        Overall value of each metric, drawn as a dashed line.
    figsize : tuple of float, default=None
        The figure size; by default 3.4 x 2.8 inches per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.metrics import group_metrics
    >>> from sklfair.plotting import plot_group_metrics
    >>> table = group_metrics([1, 0, 1, 0, 1, 1], [1, 1, 0, 0, 1, 0],
    ...                       sensitive_features=["a", "a", "b", "b", "c", "c"])
    >>> fig = plot_group_metrics(table, metrics=["selection_rate", "accuracy"])
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    long = _long_frame(frame)
    all_metrics = [m for m in pd.unique(long["metric"]) if m != "count"]
    metrics = all_metrics if metrics is None else list(metrics)
    all_attributes = list(pd.unique(long["attribute"]))
    attributes = all_attributes if attributes is None else list(attributes)
    for name, wanted, available in (
        ("metric", metrics, set(long["metric"])),
        ("attribute", attributes, set(long["attribute"])),
    ):
        missing = [m for m in wanted if m not in available]
        if missing:
            shown = sorted(map(str, available))
            raise ValueError(f"Unknown {name}(s) {missing}; the frame has {shown}.")
    if not metrics or not attributes:
        raise ValueError("Nothing to plot: no metric (other than count) or attribute.")

    n_rows, n_cols = len(attributes), len(metrics)
    if figsize is None:
        figsize = (3.4 * n_cols, 2.8 * n_rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=figsize, squeeze=False, layout="constrained"
    )
    for i, attribute in enumerate(attributes):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            part = long[(long["attribute"] == attribute) & (long["metric"] == metric)]
            labels = [str(g) for g in part["group"]]
            values = part["value"].to_numpy(dtype=np.float64)
            positions = np.arange(len(values))
            ax.bar(positions, values, color=_BAR_COLOR, width=0.7)
            ax.set_xticks(positions)
            rotate = len(labels) > 4 or max((len(s) for s in labels), default=0) > 8
            ax.set_xticklabels(
                labels, rotation=35 if rotate else 0, ha="right" if rotate else "center"
            )
            if overall is not None and metric in overall:
                ax.axhline(
                    float(overall[metric]),
                    color="0.3",
                    linestyle="--",
                    linewidth=1,
                    label="overall",
                )
            finite = values[np.isfinite(values)]
            if finite.size >= 2:
                low, high = finite.min(), finite.max()
                x = len(values) - 0.35
                for level in (low, high):
                    ax.axhline(level, color=_GAP_COLOR, linestyle=":", linewidth=0.8)
                ax.annotate(
                    "",
                    xy=(x, high),
                    xytext=(x, low),
                    arrowprops={
                        "arrowstyle": "<->",
                        "color": _GAP_COLOR,
                        "lw": 1.5,
                        "shrinkA": 0,
                        "shrinkB": 0,
                    },
                )
                ax.text(
                    0.98,
                    0.97,
                    f"gap {high - low:.3f}",
                    transform=ax.transAxes,
                    color=_GAP_COLOR,
                    va="top",
                    ha="right",
                    fontsize=9,
                )
                ax.set_xlim(-0.6, len(values) - 0.1)
            top = float(finite.max()) if finite.size else 0.0
            if overall is not None and metric in overall:
                top = max(top, float(overall[metric]))
            bottom = min(0.0, float(finite.min()) if finite.size else 0.0)
            ax.set_ylim(bottom, top * 1.18 if top > 0 else 1.0)
            if i == 0:
                ax.set_title(metric.replace("_", " "))
            if j == 0:
                ax.set_ylabel(str(attribute))
    return fig


def plot_pareto_front(
    results, score="accuracy", constraint=None, *, ax=None, annotate=None
):
    """Plot search candidates by fairness gap and score, joining the Pareto front.

    The x axis is the mean fairness gap (lower is fairer, the sign of a
    ``-gap`` scorer undone), the y axis the mean score; the non-dominated
    candidates are joined by a line. The front itself is computed by
    :func:`sklfair.model_selection.pareto_front`.

    .. versionadded:: 0.1

    Parameters
    ----------
    results : dict or pandas.DataFrame
        A search's ``cv_results_``, or the table returned by
        :func:`sklfair.model_selection.pareto_front` (columns ``score`` and
        ``gap``; with ``all_candidates=True`` its ``pareto`` column marks the
        front, otherwise every row is on it).
    score : str, default="accuracy"
        Name of the score in the search's ``scoring`` (for ``cv_results_``).
    constraint : str, default=None
        Name of the fairness scorer (for ``cv_results_``); None uses the only
        other scorer.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure when None.
    annotate : str, default=None
        A ``param_<name>`` column (or parameter name) whose values label the
        front's points.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.plotting import plot_pareto_front
    >>> cv_results = {
    ...     "params": [{"C": 0.1}, {"C": 1.0}, {"C": 10.0}, {"C": 100.0}],
    ...     "mean_test_accuracy": [0.70, 0.75, 0.80, 0.78],
    ...     "mean_test_dp": [-0.01, -0.10, -0.20, -0.25],
    ... }
    >>> fig = plot_pareto_front(cv_results, "accuracy", "dp", annotate="C")
    >>> fig.axes[0].get_xlabel()
    'mean dp gap (lower is fairer)'
    """
    import matplotlib.pyplot as plt

    if isinstance(results, pd.DataFrame) and {"score", "gap"} <= set(results.columns):
        table = results
        score = table.attrs.get("score", "score")
        constraint = table.attrs.get("constraint", "fairness")
    else:
        from .model_selection import pareto_front

        table = pareto_front(
            dict(results) if not isinstance(results, dict) else results,
            score,
            constraint,
            all_candidates=True,
        )
        constraint = table.attrs.get("constraint", constraint)
    on_front = (
        table["pareto"].to_numpy(dtype=bool)
        if "pareto" in table
        else np.ones(len(table), dtype=bool)
    )
    gaps = table["gap"].to_numpy(dtype=np.float64)
    scores = table["score"].to_numpy(dtype=np.float64)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    else:
        fig = ax.figure
    ax.scatter(gaps[~on_front], scores[~on_front], color="0.6", label="dominated")
    order = np.argsort(gaps[on_front], kind="stable")
    ax.plot(
        gaps[on_front][order],
        scores[on_front][order],
        color=_GAP_COLOR,
        marker="o",
        label="Pareto front",
    )
    if annotate is not None:
        key = annotate if annotate in table else f"param_{annotate}"
        if key not in table:
            raise ValueError(f"No column {annotate!r} or {key!r} to annotate with.")
        for label, x, y in zip(
            table[key][on_front], gaps[on_front], scores[on_front], strict=True
        ):
            ax.annotate(
                str(label),
                (x, y),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
    ax.set_xlabel(f"mean {constraint} gap (lower is fairer)")
    ax.set_ylabel(f"mean {score}")
    ax.legend(loc="best")
    return fig


def _check_explanation(explanation):
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

    from .explain._contributions import import_shap

    shap = import_shap()
    _check_explanation(explanation)
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

    from ._sensitive import check_sensitive_features
    from .explain._contributions import import_shap

    shap = import_shap()
    _check_explanation(explanation)
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
