"""The fairness report: every group metric of a fitted model, in one object.

:func:`fairness_report` scores a fitted estimator on ``(X, y)`` and measures
each sensitive attribute on its own (and, optionally, their intersection).
The :class:`FairnessReport` it returns holds tidy tables (``frame``,
``overall``, ``gaps``, ``fairness``), renders them as standalone HTML
(:meth:`FairnessReport.to_html`, with the plot embedded as a PNG) and plots
the group bars with the gaps marked (:meth:`FairnessReport.plot`, matplotlib
imported only then). Every group rate and every gap comes with its confidence
interval (:func:`sklfair.metrics.fairness_interval`), unless
``interval=None``.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._sensitive import (
    check_sensitive_features,
    encode_groups,
    select_sensitive_columns,
)
from ._aggregate import average_gaps
from ._base import BASE_METRICS, column, metric_frame, positive_label, resolve_metric
from ._bootstrap import as_generator
from ._group import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    mean_absolute_error_difference,
    mean_prediction_difference,
    multiclass_demographic_parity_difference,
    multiclass_equalized_odds_difference,
)
from ._intervals import (
    check_confidence,
    check_n_boot,
    check_weights,
    gap_interval,
    group_intervals,
)
from ._rates import GAP_METRICS, RATES

__all__ = ["FairnessReport", "fairness_report"]

_DEFAULT_METRICS = {
    "binary": [
        "count",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "accuracy",
        "roc_auc",
    ],
    "multiclass": ["count", "accuracy"],
    "continuous": ["count", "mean_prediction", "mean_absolute_error"],
}

_FAIRNESS_METRICS = {
    "binary": {
        "demographic_parity_difference": demographic_parity_difference,
        "demographic_parity_ratio": demographic_parity_ratio,
        "equalized_odds_difference": equalized_odds_difference,
        "equalized_odds_ratio": equalized_odds_ratio,
        "equal_opportunity_difference": equal_opportunity_difference,
    },
    "multiclass": {
        "demographic_parity_difference": multiclass_demographic_parity_difference,
        "equalized_odds_difference": multiclass_equalized_odds_difference,
    },
    "continuous": {
        "mean_prediction_difference": mean_prediction_difference,
        "mean_absolute_error_difference": mean_absolute_error_difference,
    },
}

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


def _format_float(value):
    if isinstance(value, float | np.floating):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"
    return str(value)


def _with_interval(value, low, high):
    """``"0.123 [0.050, 0.200]"``, or the value alone without an interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "-" if pd.isna(value) else _format_float(value)
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _display_with_intervals(table, suffixes=("_low", "_high")):
    """A copy for display: each column with ``<col>_low``/``<col>_high``
    becomes text with its interval; the bound columns are dropped."""
    shown = table.copy()
    for name in table.columns:
        low, high = f"{name}{suffixes[0]}", f"{name}{suffixes[1]}"
        if low in table and high in table:
            shown[name] = [
                _with_interval(v, lo, hi)
                for v, lo, hi in zip(table[name], table[low], table[high])
            ]
            shown = shown.drop(columns=[low, high])
    return shown


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
                _with_interval(v, lo, hi) if metric != "count" else str(int(v))
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
                f"{name} {_format_float(value)}" for name, value in self.overall.items()
            )
            parts = [self._title(), f"overall: {overall}"]
            if self.interval is not None:
                parts.append(self._interval_note())
            parts += [
                "",
                "fairness:",
                _display_with_intervals(self.fairness).to_string(),
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
            table(_display_with_intervals(self.fairness)),
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
            table(_display_with_intervals(self.gaps), index=False),
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
        if not full_page:
            return fragment
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
            f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
            f"{fragment}\n</body>\n</html>\n"
        )

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


def _attribute_frame(X, sensitive_columns, sensitive_features, n_samples):
    if sensitive_columns is not None and sensitive_features is not None:
        raise ValueError(
            "Both sensitive_columns and sensitive_features were given; give the "
            "sensitive attributes one way only."
        )
    if sensitive_columns is not None:
        frame = select_sensitive_columns(X, sensitive_columns)
    elif sensitive_features is not None:
        if isinstance(sensitive_features, pd.DataFrame):
            frame = sensitive_features
        elif isinstance(sensitive_features, pd.Series):
            name = sensitive_features.name
            frame = sensitive_features.to_frame(
                "sensitive_feature" if name is None else name
            )
        else:
            array = np.asarray(sensitive_features, dtype=object)
            if array.ndim == 1:
                frame = pd.DataFrame({"sensitive_feature": list(array)})
            elif array.ndim == 2:
                frame = pd.DataFrame(
                    array,
                    columns=[f"sensitive_feature_{i}" for i in range(array.shape[1])],
                )
            else:
                raise ValueError(
                    f"sensitive_features must be 1D or 2D, got shape {array.shape}."
                )
    else:
        raise ValueError(
            "fairness_report needs the sensitive attributes: pass "
            "sensitive_columns= (columns of X) or sensitive_features= (one row "
            "per sample)."
        )
    if frame.shape[0] != n_samples:
        raise ValueError(
            f"sensitive_features has {frame.shape[0]} rows, but X has "
            f"{n_samples} samples."
        )
    return frame.reset_index(drop=True)


def _metric_specs(metrics, task, has_scores):
    if metrics is None:
        names = list(_DEFAULT_METRICS[task])
        if not has_scores and "roc_auc" in names:
            names.remove("roc_auc")
        metrics = names
    if isinstance(metrics, str):
        metrics = [metrics]
    items = (
        metrics.items() if isinstance(metrics, dict) else ((None, m) for m in metrics)
    )
    specs = {}
    for key, metric in items:
        name, func, kind = resolve_metric(metric)
        name = name if key is None else str(key)
        if kind in ("binary", "score") and task != "binary":
            raise ValueError(
                f"metric {name!r} needs binary labels, but the target is {task}."
            )
        if kind == "regression" and task != "continuous":
            raise ValueError(
                f"metric {name!r} is a regression metric, but the target is {task}."
            )
        if kind == "score" and not has_scores:
            raise ValueError(
                f"metric {name!r} needs scores, but the estimator has no "
                "predict_proba or decision_function."
            )
        specs[name] = (func, kind)
    return specs


def _scores(estimator, X, pos_label):
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(estimator.classes_)
        return proba[:, classes.index(pos_label)]
    decision = np.asarray(estimator.decision_function(X), dtype=np.float64)
    classes = list(estimator.classes_)
    return decision if classes.index(pos_label) == 1 else -decision


def _evaluate(specs, data, groups, sample_weight):
    """Group values and overall values of every metric, in the specs' order."""
    by_group, overall = [], []
    for kind in ("any", "labels", "binary", "score", "regression"):
        funcs = {name: func for name, (func, k) in specs.items() if k == kind}
        if not funcs:
            continue
        y_true, y_pred = data["binary" if kind == "score" else kind]
        if kind == "score":
            y_pred = data["score"]
        frame = metric_frame(funcs, y_true, y_pred, groups, sample_weight)
        by_group.append(frame.by_group)
        overall.append(frame.overall)
    order = list(specs)
    by_group = pd.concat(by_group, axis=1)[order]
    overall = pd.concat(overall)[order]
    if "count" in order:
        overall["count"] = len(groups)
    return by_group, overall


_GAP_BOUNDS = ["difference_low", "difference_high", "ratio_low", "ratio_high"]
# The rate of RATES each named base metric is, by function.
_RATE_OF = {BASE_METRICS[name][0]: name for name in RATES if name in BASE_METRICS}


class _Bounds:
    """The report's intervals: per group and metric, per gap, per named gap."""

    def __init__(self, specs, data, task, weights, **interval):
        self.specs = specs
        self.data = data
        self.task = task
        self.weights = weights
        self.interval = interval

    def set_groups(self, groups):
        """Compute every interval of one attribute."""
        codes, labels = encode_groups(groups)
        self.position = {label: i for i, label in enumerate(labels)}
        self.groups = (codes, labels)
        self.by_group, self.gaps = {}, {}
        for metric, (func, kind) in self.specs.items():
            rate = _RATE_OF.get(func)
            if rate is None or kind == "score":
                continue
            y_true, y_pred = self._labels(kind)
            self.by_group[metric] = group_intervals(
                rate, y_true, y_pred, codes, len(labels), self.weights, **self.interval
            )
            self.gaps[metric] = {
                f"{gap}_{end}": getattr(
                    gap_interval(
                        ((rate,), gap),
                        y_true,
                        y_pred,
                        codes,
                        labels,
                        self.weights,
                        warn=False,
                        **self.interval,
                    ),
                    end,
                )
                for gap in ("difference", "ratio")
                for end in ("low", "high")
            }

    def _labels(self, kind):
        if kind == "binary" or (kind == "labels" and self.task == "binary"):
            return self.data["binary"]
        return self.data["regression" if kind == "regression" else "labels"]

    def of(self, metric, group):
        if metric not in self.by_group:
            return np.nan, np.nan
        low, high = self.by_group[metric]
        i = self.position[group]
        return float(low[i]), float(high[i])

    def gap(self, metric):
        return self.gaps.get(metric, dict.fromkeys(_GAP_BOUNDS, np.nan))

    def fairness(self):
        if self.task == "multiclass":
            return {}
        codes, labels = self.groups
        y_true, y_pred = self._labels(
            "binary" if self.task == "binary" else "regression"
        )
        bounds = {}
        for name in _FAIRNESS_METRICS[self.task]:
            if name not in GAP_METRICS:
                continue
            result = gap_interval(
                name,
                y_true,
                y_pred,
                codes,
                labels,
                self.weights,
                warn=False,
                **self.interval,
            )
            bounds[f"{name}_low"], bounds[f"{name}_high"] = result.low, result.high
        return bounds


def fairness_report(
    estimator,
    X,
    y,
    *,
    sensitive_columns=None,
    sensitive_features=None,
    metrics=None,
    intersectional=False,
    sample_weight=None,
    pos_label=None,
    interval="analytic",
    confidence=0.95,
    n_boot=1000,
    random_state=None,
):
    """Measure a fitted model's metrics per group of each sensitive attribute.

    Predictions come from ``estimator.predict(X)`` (and ``predict_proba``,
    where it exists, for the AUC). ``X`` is passed to the estimator as
    given, sensitive columns included: a sklfair meta-estimator drops them
    itself before its inner model.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted estimator
        Classifier (binary or multi-class) or regressor.
    X : DataFrame or array-like of shape (n_samples, n_features)
        The rows to score (usually a held-out test set).
    y : array-like of shape (n_samples,)
        The true labels or targets.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Sensitive columns of ``X`` (see
        :func:`sklfair._sensitive.select_sensitive_columns`); each is one
        attribute.
    sensitive_features : array-like, Series or DataFrame, default=None
        The sensitive attributes given alongside ``X`` (one per column). Give
        this or ``sensitive_columns``, not both.
    metrics : list of str or callable, or dict of str to them, default=None
        The metrics per group. By default: ``count``, ``selection_rate``,
        ``true_positive_rate``, ``false_positive_rate``, ``accuracy`` and
        ``roc_auc`` (when the estimator has ``predict_proba`` or
        ``decision_function``) for binary targets; ``count`` and ``accuracy``
        for multi-class; ``count``, ``mean_prediction`` and
        ``mean_absolute_error`` for regression. Callables are called as
        ``metric(y_true, y_pred)`` on the original labels.
    intersectional : bool, default=False
        With several attributes, also report their intersection (one group
        per combination that occurs), named ``"a & b"``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights for the metrics that accept them.
    pos_label : label, default=None
        The positive label of a binary target: by default 1 for {0, 1} or
        {-1, 1} labels, otherwise the greater label (scikit-learn's
        convention, e.g. ``"good"`` over ``"bad"``).
    interval : {"analytic", "bootstrap"} or None, default="analytic"
        How the confidence intervals of the group rates and the gaps are
        computed (the ``method`` of :func:`fairness_interval`); None for no
        intervals.

        .. versionadded:: 0.2
    confidence : float, default=0.95
        The intervals' (two-sided) confidence level.

        .. versionadded:: 0.2
    n_boot : int, default=1000
        Bootstrap resamples (``interval="bootstrap"``).

        .. versionadded:: 0.2
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.

        .. versionadded:: 0.2

    Returns
    -------
    FairnessReport
        The tables (``frame``, ``overall``, ``gaps``, ``fairness``), with
        ``to_html()`` and ``plot()``.

    Raises
    ------
    ValueError
        When no (or both) sources of sensitive attributes are given, for bad
        sensitive values (missing, continuous, a single group), or for a
        metric that does not fit the target.

    See Also
    --------
    group_metrics : the per-group table of one attribute, from predictions.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.metrics import fairness_report
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"income": rng.normal(size=300),
    ...                   "sex": rng.choice(["female", "male"], size=300)})
    >>> y = (X["income"] + rng.normal(size=300) > 0).astype(int)
    >>> model = LogisticRegression().fit(X[["income"]], y)
    >>> report = fairness_report(model, X[["income"]], y,
    ...                          sensitive_features=X["sex"])
    >>> report.fairness.columns.tolist()[:2]
    ['demographic_parity_difference', 'demographic_parity_ratio']
    >>> report.fairness.filter(like="demographic_parity_difference").columns.tolist()
    ['demographic_parity_difference', 'demographic_parity_difference_low', \
'demographic_parity_difference_high']
    >>> report.by_group("sex").index.tolist()
    ['female', 'male']
    >>> report.to_html(plot=False).startswith("<!DOCTYPE html>")
    True
    """
    check_is_fitted(estimator)
    if interval not in ("analytic", "bootstrap", None):
        raise ValueError(
            f"interval must be 'analytic', 'bootstrap' or None, got {interval!r}."
        )
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    n_samples = _num_samples(X)
    attribute_frame = _attribute_frame(
        X, sensitive_columns, sensitive_features, n_samples
    )
    groups_by_attribute = {}
    for position, name in enumerate(attribute_frame.columns):
        label = str(name)
        groups_by_attribute[label] = check_sensitive_features(
            attribute_frame.iloc[:, position], n_samples, name=label
        ).reset_index(drop=True)
    if intersectional and attribute_frame.shape[1] > 1:
        label = " & ".join(str(c) for c in attribute_frame.columns)
        groups_by_attribute[label] = check_sensitive_features(
            attribute_frame, n_samples, name=label
        ).reset_index(drop=True)

    y_true = column(y, "y")
    if len(y_true) != n_samples:
        raise ValueError(f"y has {len(y_true)} rows, but X has {n_samples} samples.")
    y_pred = column(estimator.predict(X), "predictions")
    if is_regressor(estimator):
        task = "continuous"
        y_true = y_true.astype(np.float64)
        y_pred = y_pred.astype(np.float64)
    else:
        labels = pd.unique(pd.Series(np.concatenate([y_true, y_pred]).astype(object)))
        task = "binary" if len(labels) <= 2 else "multiclass"

    data = {"any": (y_true, y_pred), "labels": (y_true, y_pred)}
    has_scores = False
    if task == "binary":
        pos_label = positive_label(y_true, y_pred, pos_label)
        data["binary"] = (
            (y_true == pos_label).astype(np.int64),
            (y_pred == pos_label).astype(np.int64),
        )
        has_scores = hasattr(estimator, "predict_proba") or hasattr(
            estimator, "decision_function"
        )
    else:
        pos_label = None
        data["regression"] = (y_true, y_pred)
    specs = _metric_specs(metrics, task, has_scores)
    if any(kind == "score" for _, kind in specs.values()):
        data["score"] = _scores(estimator, X, pos_label)

    bounds = None
    if interval is not None:
        bounds = _Bounds(
            specs,
            data,
            task,
            check_weights(sample_weight, n_samples),
            confidence=confidence,
            method=interval,
            n_boot=n_boot,
            rng=as_generator(random_state),
        )
    rows, gap_rows, fairness_rows = [], [], []
    overall = None
    for attribute, groups in groups_by_attribute.items():
        group_values = groups.to_numpy()
        by_group, overall = _evaluate(specs, data, group_values, sample_weight)
        if bounds is not None:
            bounds.set_groups(groups)
        for group, values in by_group.iterrows():
            for metric, value in values.items():
                rows.append(
                    (attribute, group, metric, value)
                    if bounds is None
                    else (attribute, group, metric, value, *bounds.of(metric, group))
                )
        for metric in by_group.columns:
            if specs[metric][0] is resolve_metric("count")[1]:
                continue
            values = by_group[metric].astype(np.float64)
            low, high = values.min(), values.max()
            gap_rows.append(
                {
                    "attribute": attribute,
                    "metric": metric,
                    "min_group": values.idxmin() if values.notna().any() else None,
                    "min": low,
                    "max_group": values.idxmax() if values.notna().any() else None,
                    "max": high,
                    "difference": high - low,
                    "ratio": low / high if high != 0 else np.nan,
                    **average_gaps(values.to_numpy(), overall[metric]),
                    **({} if bounds is None else bounds.gap(metric)),
                }
            )
        y_fair_true, y_fair_pred = data["binary" if task == "binary" else "labels"]
        fairness_rows.append(
            {
                "attribute": attribute,
                **{
                    name: func(
                        y_fair_true,
                        y_fair_pred,
                        sensitive_features=group_values,
                        sample_weight=sample_weight,
                    )
                    for name, func in _FAIRNESS_METRICS[task].items()
                },
                **({} if bounds is None else bounds.fairness()),
            }
        )
    columns = ["attribute", "group", "metric", "value"]
    frame = pd.DataFrame(
        rows, columns=columns if bounds is None else [*columns, "low", "high"]
    )
    count_rows = frame["metric"].isin(
        [name for name, (f, _) in specs.items() if f is resolve_metric("count")[1]]
    )
    frame["value"] = frame["value"].astype(np.float64)
    frame.loc[count_rows, "value"] = frame.loc[count_rows, "value"].round()
    gaps = pd.DataFrame(
        gap_rows,
        columns=[
            "attribute",
            "metric",
            "min_group",
            "min",
            "max_group",
            "max",
            "difference",
            "ratio",
            "average_difference",
            "average_absolute_difference",
            "average_relative_difference",
            *([] if bounds is None else _GAP_BOUNDS),
        ],
    )
    fairness = pd.DataFrame(fairness_rows).set_index("attribute")
    overall = overall.astype(np.float64)
    overall.name = "overall"
    return FairnessReport(
        frame=frame,
        overall=overall,
        gaps=gaps,
        fairness=fairness,
        attributes=list(groups_by_attribute),
        task=task,
        pos_label=pos_label,
        estimator_name=type(estimator).__name__,
        n_samples=n_samples,
        confidence=None if interval is None else confidence,
        interval=interval,
    )
