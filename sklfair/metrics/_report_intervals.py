"""The fairness report's confidence intervals: per group, per gap, per named gap.

:class:`ReportIntervals` computes, for one sensitive attribute at a time,
the interval of every group rate the report shows, of the difference and
ratio of each metric between groups, and of the named fairness gaps, with
:func:`sklfair.metrics.fairness_interval`'s engine.
"""

from __future__ import annotations

import numpy as np

from .._sensitive import encode_groups
from ._base import RATE_OF
from ._certify import multiclass_events
from ._intervals import gap_interval, group_intervals, worst_gap_interval
from ._rates import GAP_METRICS
from ._report_inputs import FAIRNESS_METRICS

__all__ = ["GAP_BOUNDS", "ReportIntervals"]

GAP_BOUNDS = ["difference_low", "difference_high", "ratio_low", "ratio_high"]


class ReportIntervals:
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
            rate = RATE_OF.get(func)
            if rate is None or kind == "score":
                continue
            y_true, y_pred = self._labels(kind)
            self.by_group[metric] = group_intervals(
                rate, y_true, y_pred, codes, len(labels), self.weights, **self.interval
            )
            self.gaps[metric] = {
                f"{gap}_{end}": getattr(self._gap(((rate,), gap), y_true, y_pred), end)
                for gap in ("difference", "ratio")
                for end in ("low", "high")
            }

    def _gap(self, metric, y_true, y_pred):
        """The interval of a gap over the current attribute's groups."""
        codes, labels = self.groups
        return gap_interval(
            metric,
            y_true,
            y_pred,
            codes,
            labels,
            self.weights,
            warn=False,
            **self.interval,
        )

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
        return self.gaps.get(metric, dict.fromkeys(GAP_BOUNDS, np.nan))

    def fairness(self):
        if self.task == "multiclass":
            return self._multiclass_fairness()
        y_true, y_pred = self._labels(
            "binary" if self.task == "binary" else "regression"
        )
        bounds = {}
        for name in FAIRNESS_METRICS[self.task]:
            if name not in GAP_METRICS:
                continue
            result = self._gap(name, y_true, y_pred)
            bounds[f"{name}_low"], bounds[f"{name}_high"] = result.low, result.high
        return bounds

    def _multiclass_fairness(self):
        """Intervals of the multi-class named gaps. Each is the worst class's
        one-vs-rest gap (as ``multiclass_demographic_parity_difference`` and
        ``multiclass_equalized_odds_difference`` compute it), so its interval
        is that of the largest of those rates' gaps, all holding at once."""
        y_true, y_pred = (np.asarray(a) for a in self.data["labels"])
        codes, labels = self.groups
        weights = np.ones(len(y_true)) if self.weights is None else self.weights
        classes = np.unique(np.concatenate([y_true, y_pred]))
        events = {
            "demographic_parity_difference": multiclass_events(
                "demographic_parity", classes, y_true, y_pred
            ),
            "equalized_odds_difference": [
                event
                for c in classes
                for event in (
                    (f"true_positive_rate[{c}]", y_true == c, y_pred == c),
                    (f"false_positive_rate[{c}]", y_true != c, y_pred == c),
                )
            ],
        }
        bounds = {}
        for name in FAIRNESS_METRICS[self.task]:
            try:
                _, (_, low, high, _) = worst_gap_interval(
                    events[name], codes, labels, weights, **self.interval
                )
            except ValueError:  # no rate with rows in two groups
                low = high = np.nan
            bounds[f"{name}_low"], bounds[f"{name}_high"] = low, high
        return bounds
