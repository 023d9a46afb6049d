"""Matplotlib figures for fairness measurement and model selection.

- :func:`plot_group_metrics` -- each metric's value per group as bars, the
  overall value as a dashed line, and the gap (largest - smallest group)
  marked with an arrow;
- :func:`plot_pareto_front` -- candidates of a search by score and fairness,
  with the non-dominated ones joined.

Matplotlib is imported inside the functions, so importing :mod:`sklfair`
never loads it. The functions return the :class:`~matplotlib.figure.Figure`
(made with :mod:`matplotlib.pyplot`, so notebooks and sphinx-gallery show it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_group_metrics", "plot_pareto_front"]

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


def _non_dominated(x, y):
    """Mask of the points no other point beats on both (greater is better)."""
    points = np.column_stack([x, y])
    keep = np.ones(len(points), dtype=bool)
    for k, point in enumerate(points):
        if not np.all(np.isfinite(point)):
            keep[k] = False
            continue
        better_or_equal = np.all(points >= point, axis=1)
        strictly = np.any(points > point, axis=1)
        keep[k] = not np.any(better_or_equal & strictly)
    return keep


def _column(results, name):
    for key in (name, f"mean_test_{name}"):
        if key in results:
            return key
    raise ValueError(
        f"No column {name!r} or 'mean_test_{name}' in the results; columns are "
        f"{list(results.columns)[:20]}."
    )


def plot_pareto_front(results, *, score, constraint, front=None, ax=None):
    """Plot search candidates by score and fairness, joining the Pareto front.

    Values are plotted as scikit-learn reports them: greater is better on
    both axes (a gap scorer's ``-gap`` is closer to 0 for fairer models).

    .. versionadded:: 0.1

    Parameters
    ----------
    results : dict or pandas.DataFrame
        ``GridSearchCV.cv_results_`` (or a DataFrame of it), or any table of
        candidates.
    score : str
        The score's column, or a scorer name ``s`` for ``mean_test_s``.
    constraint : str
        The fairness scorer's column, or a scorer name as for ``score``.
    front : pandas.DataFrame, default=None
        The front's rows (e.g. from :func:`sklfair.model_selection.pareto_front`);
        computed here from ``score`` and ``constraint`` when None.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.plotting import plot_pareto_front
    >>> results = {"mean_test_accuracy": [0.80, 0.78, 0.75, 0.70],
    ...            "mean_test_dp": [-0.20, -0.05, -0.10, -0.01]}
    >>> fig = plot_pareto_front(results, score="accuracy", constraint="dp")
    >>> fig.axes[0].get_xlabel()
    'mean_test_dp'
    """
    import matplotlib.pyplot as plt

    results = pd.DataFrame(results)
    score_key = _column(results, score)
    constraint_key = _column(results, constraint)
    x = results[constraint_key].to_numpy(dtype=np.float64)
    y = results[score_key].to_numpy(dtype=np.float64)
    if front is None:
        mask = _non_dominated(x, y)
        front_x, front_y = x[mask], y[mask]
    else:
        front = pd.DataFrame(front)
        front_x = front[_column(front, constraint)].to_numpy(dtype=np.float64)
        front_y = front[_column(front, score)].to_numpy(dtype=np.float64)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    else:
        fig = ax.figure
    ax.scatter(x, y, color="0.6", label="candidates", zorder=2)
    order = np.argsort(front_x)
    ax.plot(
        front_x[order],
        front_y[order],
        color=_GAP_COLOR,
        marker="o",
        label="Pareto front",
        zorder=3,
    )
    ax.set_xlabel(constraint_key)
    ax.set_ylabel(score_key)
    ax.set_title("Score against fairness (greater is better on both)")
    ax.legend(loc="best")
    return fig
