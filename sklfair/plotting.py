"""Matplotlib figures for fairness measurement and model selection.

- :func:`plot_group_metrics` -- each metric's value per group as bars (with
  error bars when the table has intervals), the overall value as a dashed
  line, and the gap (largest - smallest group) marked with an arrow and
  labelled with its interval when one is given;
- :func:`plot_pareto_front` -- candidates of a search by score and fairness,
  with the non-dominated ones joined, and error bars from the table's
  intervals or standard deviations;
- :func:`plot_calibration_by_group` -- a reliability diagram with one curve
  per group (predicted against observed risk);
- :func:`plot_approval_by_group` -- approval and bad rates per group at a
  lending cutoff, with the four-fifths line;
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
    "plot_calibration_by_group",
    "plot_approval_by_group",
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
    >>> table = group_metrics([1, 0, 1, 0, 1, 1], [1, 1, 0, 0, 1, 0],
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
                color=_BAR_COLOR,
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
                    f"gap {high - low:.3f}{_gap_interval(gaps, attribute, metric)}",
                    transform=ax.transAxes,
                    color=_GAP_COLOR,
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


def _check_table(table, columns, source):
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a pandas DataFrame, got {type(table).__name__}."
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"The table lacks the column(s) {missing}: pass the table {source} returns."
        )


def plot_calibration_by_group(table, *, groups=None, ax=None):
    """Plot a reliability diagram with one curve per group.

    Each curve joins a group's bins at (mean predicted probability,
    observed rate); a calibrated model follows the dashed diagonal in every
    group. The legend gives each group's expected calibration error,
    computed from the table's bins.

    .. versionadded:: 0.1

    Parameters
    ----------
    table : pandas.DataFrame
        The table :func:`sklfair.metrics.calibration_by_group` returns.
    groups : list, default=None
        The groups to draw, in this order; all when None.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.metrics import calibration_by_group
    >>> from sklfair.plotting import plot_calibration_by_group
    >>> table = calibration_by_group(
    ...     [0, 1, 0, 1, 0, 0, 1, 1], [0.2, 0.2, 0.7, 0.7, 0.2, 0.2, 0.7, 0.7],
    ...     sensitive_features=list("aaaabbbb"), n_bins=2)
    >>> fig = plot_calibration_by_group(table)
    >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    ['perfectly calibrated', 'a (ECE 0.250)', 'b (ECE 0.250)']
    """
    import matplotlib.pyplot as plt

    _check_table(
        table,
        ["group", "mean_predicted", "observed_rate", "weight"],
        "sklfair.metrics.calibration_by_group",
    )
    available = list(pd.unique(table["group"]))
    groups = available if groups is None else list(groups)
    unknown = [g for g in groups if g not in available]
    if unknown:
        raise ValueError(f"Unknown group(s) {unknown}; the table has {available}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
    else:
        fig = ax.figure
    part = table[table["group"].isin(groups)]
    top = float(part[["mean_predicted", "observed_rate"]].to_numpy().max())
    top = min(1.0, max(top * 1.08, 0.05))
    ax.plot(
        [0, top], [0, top], linestyle="--", color="0.5", label="perfectly calibrated"
    )
    for group in groups:
        rows = table[table["group"] == group]
        weight = rows["weight"].to_numpy(dtype=np.float64)
        predicted = rows["mean_predicted"].to_numpy(dtype=np.float64)
        observed = rows["observed_rate"].to_numpy(dtype=np.float64)
        ece = float(np.abs(observed - predicted) @ weight / weight.sum())
        ax.plot(predicted, observed, marker="o", label=f"{group} (ECE {ece:.3f})")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration by group")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def plot_approval_by_group(table, *, min_ratio=None, figsize=None):
    """Plot approval rates (and bad rates) per group at a lending cutoff.

    The left panel shows each group's approval rate, a group with adverse
    impact in red, and a dashed line at ``min_ratio`` times the highest
    rate (the four-fifths line for 0.8): a bar below it is flagged. The
    right panel, when the table has outcomes, shows each group's bad rate
    among the approved.

    .. versionadded:: 0.1

    Parameters
    ----------
    table : pandas.DataFrame
        The table :func:`sklfair.metrics.approval_by_group` returns.
    min_ratio : float, default=None
        The ratio of the dashed line; None takes the ``min_ratio`` the table
        was made with (0.8 when it does not say).
    figsize : tuple of float, default=None
        The figure size; by default about 0.9 inch per group and panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklfair.metrics import approval_by_group
    >>> from sklfair.plotting import plot_approval_by_group
    >>> table = approval_by_group(
    ...     [0, 0, 1, 1, 0, 0, 0, 1], [0, 0, 0, 1, 0, 1, 1, 1],
    ...     sensitive_features=list("aaaabbbb"))
    >>> fig = plot_approval_by_group(table)
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes]
    ['approval rate', 'bad rate among approved']
    """
    import matplotlib.pyplot as plt

    _check_table(
        table,
        ["approval_rate", "adverse_impact"],
        "sklfair.metrics.approval_by_group",
    )
    if min_ratio is None:
        min_ratio = table.attrs.get("min_ratio", 0.8)
    panels = ["approval_rate"] + (["bad_rate"] if "bad_rate" in table else [])
    # intersectional labels ("sex=female, age_band=<25") one part a line
    labels = [str(g).replace(", ", "\n") for g in table.index]
    longest = max((len(p) for label in labels for p in label.split("\n")), default=1)
    small = longest > 8
    width = 0.085 * longest * len(labels) * (0.8 if small else 1.0) + 1.0
    rotate = width > 7.0
    if figsize is None:
        lines = max(label.count("\n") for label in labels) + 1
        figsize = (min(max(3.6, width), 7.0) * len(panels), 2.4 + 0.3 * lines)
    fig, axes = plt.subplots(
        1, len(panels), figsize=figsize, squeeze=False, layout="constrained"
    )
    positions = np.arange(len(labels))
    flagged = table["adverse_impact"].to_numpy(dtype=bool)
    colors = np.where(flagged, _GAP_COLOR, _BAR_COLOR)
    for ax, name in zip(axes[0], panels, strict=True):
        values = table[name].to_numpy(dtype=np.float64)
        bars = ax.bar(positions, values, color=colors, width=0.7)
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
        ax.set_xticks(positions)
        ax.set_xticklabels(
            labels,
            rotation=30 if rotate else 0,
            ha="right" if rotate else "center",
            fontsize=8 if small else None,
        )
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        ax.set_ylim(0, top * 1.2 if top > 0 else 1.0)
        if name == "approval_rate":
            ax.set_title(f"approval rate\n(dashed: {min_ratio:g} x the highest)")
            ax.axhline(min_ratio * top, color=_GAP_COLOR, linestyle="--", linewidth=1)
        else:
            ax.set_title("bad rate among approved")
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
