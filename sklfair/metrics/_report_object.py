"""The fairness report object: its tables as text, as HTML and as a figure.

:class:`FairnessReport` holds what :func:`sklfair.metrics.fairness_report`
measured -- the tidy ``frame``, ``overall``, ``gaps`` and ``fairness``
tables -- and renders them: as text (``repr``), as standalone HTML
(:meth:`FairnessReport.to_html`, with the plot embedded as a PNG) and as
group bars with the gaps marked (:meth:`FairnessReport.plot`, matplotlib
imported only then).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from ._html import display_with_intervals, format_float, html_page, with_interval

__all__ = ["FairnessReport"]

_STYLE = """
.sklfair-report { font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #222; max-width: 1100px; }
.sklfair-report h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.sklfair-report h2 { font-size: 1.15em; margin-top: 1.4em;
  border-bottom: 1px solid #ddd; }
.sklfair-report .meta { color: #555; }
.sklfair-report table { border-collapse: collapse; margin: 0.5em 0;
  font-size: 0.9em; }
.sklfair-report th, .sklfair-report td { padding: 3px 10px;
  border-bottom: 1px solid #eee; text-align: right; }
.sklfair-report th { background: #f4f4f4; }
.sklfair-report img { max-width: 100%; }
"""


class FairnessReport:
    """Group metrics of a fitted model for one or more sensitive attributes.

    Built by :func:`fairness_report`; not meant to be created by hand.

    .. versionadded:: 0.1

    Attributes
    ----------
    frame : pandas.DataFrame
        The tidy table: one row per (attribute, group, metric), with columns
        ``attribute``, ``group``, ``metric`` and ``value``, and ``low`` and
        ``high``, the ends of the value's confidence interval (NaN for
        ``count``, ``roc_auc`` and callables; absent when
        ``interval=None``). ``count`` is the (unweighted) number of rows of
        the group.
    overall : pandas.Series
        Each metric on all rows, indexed by metric name.
    gaps : pandas.DataFrame
        One row per (attribute, metric) except ``count``, with the smallest
        and largest group values (``min_group``, ``min``, ``max_group``,
        ``max``), ``difference`` (max - min, fairlearn's
        ``MetricFrame.difference()``), ``ratio`` (min / max) and the
        ``average_difference``, ``average_absolute_difference`` and
        ``average_relative_difference`` defined in :mod:`sklfair.metrics`;
        with intervals, ``difference_low``, ``difference_high``,
        ``ratio_low`` and ``ratio_high`` (the intervals of
        :func:`fairness_interval`; NaN where a metric has none).
    fairness : pandas.DataFrame
        One row per attribute with the named fairness metrics: demographic
        parity and equalized odds differences and ratios and the equal
        opportunity difference (binary), their one-vs-rest worst-class
        variants (multi-class), or the mean prediction and mean absolute
        error differences (regression). With intervals, each binary or
        regression metric is followed, after all of them, by
        ``<name>_low`` and ``<name>_high`` columns.
    attributes : list of str
        The attributes, in order (an intersection is named ``"a & b"``).
    task : {"binary", "multiclass", "continuous"}
        The kind of target.
    pos_label : label or None
        The positive label of the binary rates (None otherwise).
    estimator_name : str
        The class name of the estimator.
    n_samples : int
        The number of rows scored.
    confidence : float or None
        The intervals' confidence level (None without intervals).
    interval : {"analytic", "bootstrap"} or None
        How the intervals were computed (None without intervals).
    """

    def __init__(
        self,
        *,
        frame,
        overall,
        gaps,
        fairness,
        attributes,
        task,
        pos_label,
        estimator_name,
        n_samples,
        confidence=None,
        interval=None,
    ):
        self.frame = frame
        self.overall = overall
        self.gaps = gaps
        self.fairness = fairness
        self.attributes = attributes
        self.task = task
        self.pos_label = pos_label
        self.estimator_name = estimator_name
        self.n_samples = n_samples
        self.confidence = confidence
        self.interval = interval

    def by_group(self, attribute=None):
        """One attribute's metrics as a wide table (groups x metrics).

        Parameters
        ----------
        attribute : str, default=None
            The attribute; the first one when None.

        Returns
        -------
        pandas.DataFrame
            Indexed by group, one column per metric.
        """
        attribute = self.attributes[0] if attribute is None else attribute
        if attribute not in self.attributes:
            raise ValueError(
                f"Unknown attribute {attribute!r}; the report has {self.attributes}."
            )
        part = self.frame[self.frame["attribute"] == attribute]
        table = part.pivot(index="group", columns="metric", values="value")
        table = table.reindex(
            index=pd.unique(part["group"]), columns=pd.unique(part["metric"])
        )
        table.columns.name = None
        table.index.name = attribute
        if "count" in table:
            table["count"] = table["count"].astype(np.int64)
        return table

    def _by_group_display(self, attribute):
        """The wide table of an attribute, values shown with their interval."""
        table = self.by_group(attribute)
        if "low" not in self.frame:
            return table
        part = self.frame[self.frame["attribute"] == attribute]
        shown = table.astype(object)
        for metric in table.columns:
            rows = part[part["metric"] == metric].set_index("group")
            rows = rows.reindex(table.index)
            shown[metric] = [
                with_interval(v, lo, hi) if metric != "count" else str(int(v))
                for v, lo, hi in zip(rows["value"], rows["low"], rows["high"])
            ]
        return shown

    def _interval_note(self):
        if self.interval is None:
            return ""
        return (
            f"Brackets: {self.confidence:.0%} confidence intervals "
            f"({self.interval}); a gap's interval accounts for all its groups at once."
        )

    def _title(self):
        task = {"binary": "binary", "multiclass": "multi-class"}.get(
            self.task, "regression"
        )
        label = f", positive label {self.pos_label!r}" if self.task == "binary" else ""
        return (
            f"Fairness report of {self.estimator_name} on {self.n_samples} "
            f"samples ({task}{label})"
        )

    def __repr__(self):
        with pd.option_context(
            "display.float_format", "{:.3f}".format, "display.width", 120
        ):
            overall = ", ".join(
                f"{name} {format_float(value)}" for name, value in self.overall.items()
            )
            parts = [self._title(), f"overall: {overall}"]
            if self.interval is not None:
                parts.append(self._interval_note())
            parts += [
                "",
                "fairness:",
                display_with_intervals(self.fairness).to_string(),
            ]
            for attribute in self.attributes:
                parts += ["", f"by group ({attribute}):"]
                parts.append(self._by_group_display(attribute).to_string())
        return "\n".join(parts)

    def _tables_html(self):
        def table(df, index=True):
            return df.to_html(
                float_format=lambda v: f"{v:.3f}",
                classes="sklfair-table",
                border=0,
                index=index,
                na_rep="-",
            )

        parts = [
            "<h2>Fairness metrics by attribute</h2>",
            table(display_with_intervals(self.fairness)),
            "<h2>Overall</h2>",
            table(self.overall.to_frame("overall")),
        ]
        for attribute in self.attributes:
            parts += [
                f"<h2>Groups by {html.escape(str(attribute))}</h2>",
                table(self._by_group_display(attribute)),
            ]
        parts += [
            "<h2>Gaps between groups</h2>",
            table(display_with_intervals(self.gaps), index=False),
        ]
        return parts

    def _plot_html(self):
        import matplotlib.pyplot as plt

        fig = self.plot()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return (
            "<h2>Group metrics</h2>"
            f'<img alt="group metrics with the gaps marked" '
            f'src="data:image/png;base64,{data}"/>'
        )

    def to_html(self, *, plot=True, full_page=True, title=None):
        """Render the report as HTML.

        Parameters
        ----------
        plot : bool, default=True
            Embed :meth:`plot` as a base64 PNG.
        full_page : bool, default=True
            A standalone page (``<!DOCTYPE html>`` ...) or a ``<div>``
            fragment to insert in another page.
        title : str, default=None
            The heading; by default, the model and the data size.

        Returns
        -------
        str
            The HTML text.
        """
        title = self._title() if title is None else title
        body = [
            '<div class="sklfair-report">',
            f"<h1>{html.escape(title)}</h1>",
            '<p class="meta">Gaps are between the groups of each attribute: '
            "difference = largest - smallest group value, ratio = smallest / "
            f"largest. {html.escape(self._interval_note())}</p>",
            *self._tables_html(),
        ]
        if plot:
            body.append(self._plot_html())
        body.append("</div>")
        fragment = f"<style>{_STYLE}</style>\n" + "\n".join(body)
        return html_page(title, fragment) if full_page else fragment

    def _repr_html_(self):
        return self.to_html(plot=False, full_page=False)

    def plot(self, *, metrics=None, attributes=None, **kwargs):
        """Plot each metric's group values as bars, with the gap marked.

        Parameters
        ----------
        metrics : list of str, default=None
            The metrics to show; all but ``count`` when None.
        attributes : list of str, default=None
            The attributes to show (one row of panels each); all when None.
        **kwargs
            Passed to :func:`sklfair.plotting.plot_group_metrics` (the
            report's ``gaps`` label each gap with its interval, and the
            intervals of ``frame`` draw error bars).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from ..plotting import plot_group_metrics

        kwargs.setdefault("gaps", self.gaps)
        return plot_group_metrics(
            self.frame,
            metrics=metrics,
            attributes=attributes,
            overall=self.overall,
            **kwargs,
        )
