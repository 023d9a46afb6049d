"""Figures of fairness measurement and model selection.

:func:`plot_group_metrics` draws each metric per group as bars with the gap
marked; :func:`plot_pareto_front` draws a search's candidates by gap and
score, joining the non-dominated ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._style import BAR_COLOR, GAP_COLOR

__all__ = ["plot_group_metrics", "plot_pareto_front"]


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


def _error_bars(part, values):
    """``yerr`` for :meth:`~matplotlib.axes.Axes.bar` and the bars' tops."""
    if not {"low", "high"} <= set(part.columns):
        return None, values
    low = part["low"].to_numpy(dtype=np.float64)
    high = part["high"].to_numpy(dtype=np.float64)
    known = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
    if not known.any():
        return None, values
    below = np.where(known, np.maximum(values - low, 0.0), 0.0)
    above = np.where(known, np.maximum(high - values, 0.0), 0.0)
    return np.vstack([below, above]), np.where(known, high, values)


def _gap_interval(gaps, attribute, metric):
    """`` [low, high]`` of a gap from a report's gaps table, or ``""``."""
    if gaps is None or not {"difference_low", "difference_high"} <= set(gaps):
        return ""
    rows = gaps[gaps["metric"] == metric]
    if "attribute" in rows:
        rows = rows[rows["attribute"].astype(str) == str(attribute)]
    if len(rows) != 1:
        return ""
    low, high = rows.iloc[0][["difference_low", "difference_high"]]
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f" [{low:.3f}, {high:.3f}]"


def plot_group_metrics(
    frame,
    *,
    metrics=None,
    attributes=None,
    overall=None,
    figsize=None,
    gaps=None,
    error_bars=True,
):
    """Plot each metric per group as bars, with the gap between groups marked.

    One row of panels per attribute and one column per metric. In each
    panel the bars are the groups' values, a dashed line the overall value
    (when given) and a red arrow spans the gap from the smallest to the
    largest group value, labelled with its size -- and its interval, when
    ``gaps`` has one. When the table has ``low`` and ``high`` columns (as
    :attr:`FairnessReport.frame <sklfair.metrics.FairnessReport>`), each bar
    carries its interval as an error bar.

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
    gaps : pandas.DataFrame, default=None
        The gaps' intervals, as :attr:`FairnessReport.gaps
        <sklfair.metrics.FairnessReport>`: columns ``metric``,
        ``difference_low`` and ``difference_high`` (and ``attribute``).
        Each gap label then reads ``gap 0.123 [0.050, 0.200]``.

        .. versionadded:: 0.2
    error_bars : bool, default=True
        Draw the ``low``/``high`` intervals of ``frame`` as error bars.

        .. versionadded:: 0.2

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.metrics import group_metrics
    >>> from sklfair.plotting import plot_group_metrics
    >>> table = group_metrics([1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 1, 0],
    ...                       sensitive_features=["a", "a", "b", "b", "c", "c"])
    >>> fig = plot_group_metrics(table, metrics=["selection_rate", "accuracy"])
    >>> len(fig.axes)
    2

    With intervals, from a report:

    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklfair.metrics import fairness_report
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 1)), rng.integers(0, 2, size=200)
    >>> model = DummyClassifier(strategy="stratified", random_state=0).fit(X, y)
    >>> report = fairness_report(model, X, y,
    ...                          sensitive_features=rng.choice(["a", "b"], 200))
    >>> fig = plot_group_metrics(report.frame, metrics=["selection_rate"],
    ...                          gaps=report.gaps)
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    ['gap 0.052 [0.000, 0.186]']
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
            yerr, tops = _error_bars(part, values) if error_bars else (None, values)
            ax.bar(
                positions,
                values,
                color=BAR_COLOR,
                width=0.7,
                yerr=yerr,
                ecolor="0.25",
                capsize=3 if yerr is not None else 0,
            )
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
                    ax.axhline(level, color=GAP_COLOR, linestyle=":", linewidth=0.8)
                ax.annotate(
                    "",
                    xy=(x, high),
                    xytext=(x, low),
                    arrowprops={
                        "arrowstyle": "<->",
                        "color": GAP_COLOR,
                        "lw": 1.5,
                        "shrinkA": 0,
                        "shrinkB": 0,
                    },
                )
                ax.text(
                    0.98,
                    0.97,
                    f"gap {high - low:.3f}{_gap_interval(gaps, attribute, metric)}",
                    transform=ax.transAxes,
                    color=GAP_COLOR,
                    va="top",
                    ha="right",
                    fontsize=9,
                )
                ax.set_xlim(-0.6, len(values) - 0.1)
            finite_tops = tops[np.isfinite(tops)]
            top = float(finite_tops.max()) if finite_tops.size else 0.0
            if overall is not None and metric in overall:
                top = max(top, float(overall[metric]))
            bottom = min(0.0, float(finite.min()) if finite.size else 0.0)
            ax.set_ylim(bottom, top * 1.18 if top > 0 else 1.0)
            if i == 0:
                ax.set_title(metric.replace("_", " "))
            if j == 0:
                ax.set_ylabel(str(attribute))
    return fig


def _pareto_error(table, name):
    """Error bars of the ``score`` or ``gap`` column, or None.

    From ``<name>_low``/``<name>_high`` columns (intervals, asymmetric) when
    the table has them, else from ``std_<name>`` (one standard deviation).
    """
    values = table[name].to_numpy(dtype=np.float64)
    if {f"{name}_low", f"{name}_high"} <= set(table.columns):
        low = table[f"{name}_low"].to_numpy(dtype=np.float64)
        high = table[f"{name}_high"].to_numpy(dtype=np.float64)
        below = np.nan_to_num(np.maximum(values - low, 0.0))
        above = np.nan_to_num(np.maximum(high - values, 0.0))
        return np.vstack([below, above])
    if f"std_{name}" in table:
        return np.nan_to_num(table[f"std_{name}"].to_numpy(dtype=np.float64))
    return None


def plot_pareto_front(
    results,
    score="accuracy",
    constraint=None,
    *,
    ax=None,
    annotate=None,
    error_bars=True,
):
    """Plot search candidates by fairness gap and score, joining the Pareto front.

    The x axis is the mean fairness gap (lower is fairer, the sign of a
    ``-gap`` scorer undone), the y axis the mean score; the non-dominated
    candidates are joined by a line. The front itself is computed by
    :func:`sklfair.model_selection.pareto_front`. Error bars show how much
    each point may move: the intervals ``gap_low``/``gap_high`` and
    ``score_low``/``score_high`` when the table has them (e.g. from
    :func:`sklfair.metrics.certify` on held-out rows), otherwise one
    standard deviation over the CV folds (``std_gap``, ``std_score``, from
    ``cv_results_``).

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
    error_bars : bool, default=True
        Draw the x (gap) and y (score) error bars the table allows.

        .. versionadded:: 0.2

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

    A table of held-out gaps with their intervals gets horizontal error bars:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"score": [0.80, 0.78], "gap": [0.10, 0.04],
    ...                       "gap_low": [0.06, 0.01], "gap_high": [0.15, 0.09]})
    >>> fig = plot_pareto_front(table)
    >>> len(fig.axes[0].containers)  # the error bars
    1
    """
    import matplotlib.pyplot as plt

    if isinstance(results, pd.DataFrame) and {"score", "gap"} <= set(results.columns):
        table = results
        score = table.attrs.get("score", "score")
        constraint = table.attrs.get("constraint", "fairness")
    else:
        from ..model_selection import pareto_front

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
    xerr = _pareto_error(table, "gap") if error_bars else None
    yerr = _pareto_error(table, "score") if error_bars else None
    if xerr is not None or yerr is not None:
        ax.errorbar(
            gaps,
            scores,
            xerr=xerr,
            yerr=yerr,
            fmt="none",
            ecolor="0.55",
            elinewidth=0.9,
            capsize=2,
            zorder=1,
        )
    ax.scatter(gaps[~on_front], scores[~on_front], color="0.6", label="dominated")
    order = np.argsort(gaps[on_front], kind="stable")
    ax.plot(
        gaps[on_front][order],
        scores[on_front][order],
        color=GAP_COLOR,
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
