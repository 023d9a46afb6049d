"""Figures of credit risk: calibration and approvals per group.

:func:`plot_calibration_by_group` draws a reliability diagram with one curve
per group; :func:`plot_approval_by_group` the approval rates, adverse
impact ratios and bad rates per group at a lending cutoff, with the
four-fifths line. Each figure draws the intervals its table carries
(``<column>_low`` and ``<column>_high``) as error bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._style import BAR_COLOR, GAP_COLOR, check_table

__all__ = ["plot_calibration_by_group", "plot_approval_by_group"]


def _error(table, name, values):
    """Error bar lengths ``(2, n)`` from ``name_low``/``name_high``, or None."""
    if not {f"{name}_low", f"{name}_high"} <= set(table.columns):
        return None
    low = table[f"{name}_low"].to_numpy(dtype=np.float64)
    high = table[f"{name}_high"].to_numpy(dtype=np.float64)
    known = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
    below = np.where(known, np.maximum(values - low, 0.0), 0.0)
    above = np.where(known, np.maximum(high - values, 0.0), 0.0)
    return np.vstack([below, above])


def plot_calibration_by_group(table, *, groups=None, ax=None):
    """Plot a reliability diagram with one curve per group.

    Each curve joins a group's bins at (mean predicted probability,
    observed rate); a calibrated model follows the dashed diagonal in every
    group. The legend gives each group's expected calibration error,
    computed from the table's bins. When the table has the intervals of
    the observed rates (``observed_rate_low``/``observed_rate_high``, as
    :func:`~sklfair.metrics.calibration_by_group` gives), they are drawn as
    error bars.

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

    check_table(
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
    shown = ["mean_predicted", "observed_rate"]
    shown += [c for c in ("observed_rate_high",) if c in part]
    top = float(np.nanmax(part[shown].to_numpy(dtype=np.float64)))
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
        (line,) = ax.plot(
            predicted, observed, marker="o", label=f"{group} (ECE {ece:.3f})"
        )
        error = _error(rows, "observed_rate", observed)
        if error is not None:
            ax.errorbar(
                predicted,
                observed,
                yerr=error,
                fmt="none",
                ecolor=line.get_color(),
                elinewidth=1,
                capsize=2,
                alpha=0.6,
            )
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration by group")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def plot_approval_by_group(table, *, min_ratio=None, figsize=None):
    """Plot approval rates, impact ratios (and bad rates) per group at a cutoff.

    The first panel shows each group's approval rate, a group with adverse
    impact in red, and a dashed line at ``min_ratio`` times the highest
    rate (the four-fifths line for 0.8): a bar below it is flagged. The
    second shows each group's adverse impact ratio (its approval rate over
    the highest) against the dashed line at ``min_ratio``. The third, when
    the table has outcomes, shows each group's bad rate among the approved.
    The intervals of the table (``<column>_low``/``<column>_high``, as
    :func:`~sklfair.metrics.approval_by_group` gives by default) are drawn
    as error bars; a bar's label is its value.

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
    ['approval rate', 'adverse impact ratio', 'bad rate among approved']
    """
    import matplotlib.pyplot as plt

    check_table(
        table,
        ["approval_rate", "adverse_impact"],
        "sklfair.metrics.approval_by_group",
    )
    if min_ratio is None:
        min_ratio = table.attrs.get("min_ratio", 0.8)
    panels = ["approval_rate"]
    panels += ["adverse_impact_ratio"] if "adverse_impact_ratio" in table else []
    panels += ["bad_rate"] if "bad_rate" in table else []
    # intersectional labels ("sex=female, age_band=<25") one part a line
    labels = [str(g).replace(", ", "\n") for g in table.index]
    longest = max((len(p) for label in labels for p in label.split("\n")), default=1)
    small = longest > 8
    width = 0.085 * longest * len(labels) * (0.8 if small else 1.0) + 1.0
    rotate = width > 7.0
    if figsize is None:
        lines = max(label.count("\n") for label in labels) + 1
        figsize = (min(max(3.2, width), 7.0) * len(panels), 2.4 + 0.3 * lines)
    fig, axes = plt.subplots(
        1, len(panels), figsize=figsize, squeeze=False, layout="constrained"
    )
    positions = np.arange(len(labels))
    flagged = table["adverse_impact"].to_numpy(dtype=bool)
    colors = np.where(flagged, GAP_COLOR, BAR_COLOR)
    for ax, name in zip(axes[0], panels, strict=True):
        values = table[name].to_numpy(dtype=np.float64)
        error = _error(table, name, values)
        bars = ax.bar(positions, values, color=colors, width=0.7)
        if error is not None:
            ax.errorbar(
                positions,
                values,
                yerr=error,
                fmt="none",
                ecolor="0.2",
                elinewidth=1,
                capsize=3,
            )
        ax.bar_label(bars, fmt="%.3f", fontsize=8, label_type="center", color="w")
        ax.set_xticks(positions)
        ax.set_xticklabels(
            labels,
            rotation=30 if rotate else 0,
            ha="right" if rotate else "center",
            fontsize=8 if small else None,
        )
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size else 1.0
        reach = values if error is None else values + error[1]
        reach = reach[np.isfinite(reach)]
        highest = float(reach.max()) if reach.size else 1.0
        ax.set_ylim(0, highest * 1.1 if highest > 0 else 1.0)
        if name == "approval_rate":
            ax.set_title(f"approval rate\n(dashed: {min_ratio:g} x the highest)")
            ax.axhline(min_ratio * top, color=GAP_COLOR, linestyle="--", linewidth=1)
        elif name == "adverse_impact_ratio":
            ax.set_title(f"adverse impact ratio\n(dashed: {min_ratio:g})")
            ax.axhline(min_ratio, color=GAP_COLOR, linestyle="--", linewidth=1)
        else:
            ax.set_title("bad rate among approved")
    return fig
