"""Per-group weighted sums of a rate, and from group values to a gap.

:func:`group_statistics` reduces the rows of one rate's event to a few
weighted sums per group (:class:`GroupStatistics`): everything the analytic
intervals need, and the rows the bootstrap resamples. :func:`gap_of_rate`
turns group values into a difference (largest minus smallest) or a ratio
(smallest over largest), and :func:`combine` aggregates the gaps of several
rates (equalized odds: the true and the false positive rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _analytic as an
from ._rates import RATES, _Rate, row_values

__all__ = ["GroupStatistics", "group_statistics", "gap_of_rate", "combine"]


@dataclass
class GroupStatistics:
    """One rate's weighted sums per group, and the rows behind them."""

    name: str
    rate: _Rate
    n_rows: np.ndarray  # rows in the event, per group
    sum_w: np.ndarray
    sum_w2: np.ndarray
    sum_wv: np.ndarray
    sum_wv2: np.ndarray
    codes: np.ndarray = field(repr=False)  # group code of each event row
    rows: np.ndarray = field(repr=False)  # [w, w v] of each event row

    @property
    def values(self):
        """The rate of each group; an empty group's proportion counts as 0
        (as fairlearn counts an undefined rate), an empty group's mean is NaN."""
        with np.errstate(divide="ignore", invalid="ignore"):
            values = self.sum_wv / self.sum_w
        empty = self.sum_w <= 0
        return np.where(
            empty, 0.0 if self.rate.kind == "proportion" else np.nan, values
        )

    @property
    def effective_n(self):
        return an.kish(self.sum_w, self.sum_w2)

    @property
    def variances(self):
        """Weighted sample variance of the values per group (means only)."""
        n = self.effective_n
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum_wv / self.sum_w
            spread = np.maximum(self.sum_wv2 / self.sum_w - mean**2, 0.0)
            return np.where(n > 1, spread * n / (n - 1.0), np.nan)

    @property
    def pooled(self):
        """The rate over all groups together."""
        total = self.sum_w.sum()
        return float(self.sum_wv.sum() / total) if total > 0 else np.nan


def group_statistics(rate_name, y_true, y_pred, codes, n_groups, weights):
    """The weighted sums of one rate per group (see :class:`GroupStatistics`)."""
    rate = RATES[rate_name]
    in_event = np.ones(len(codes), dtype=bool)
    if rate.event is not None:
        in_event = y_true == rate.event
    v = row_values(rate.value, y_true, y_pred)[in_event].astype(np.float64)
    w = weights[in_event]
    c = codes[in_event]

    def sums(x):
        return np.bincount(c, weights=x, minlength=n_groups).astype(np.float64)

    return GroupStatistics(
        name=rate_name,
        rate=rate,
        n_rows=np.bincount(c, minlength=n_groups),
        sum_w=sums(w),
        sum_w2=sums(w * w),
        sum_wv=sums(w * v),
        sum_wv2=sums(w * v * v),
        codes=c,
        rows=np.column_stack([w, w * v]),
    )


def gap_of_rate(values, kind):
    """Difference (max - min) or ratio (min / max) over the last axis."""
    high = values.max(axis=-1)
    low = values.min(axis=-1)
    if kind == "difference":
        return high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(high > 0, low / high, np.nan)


def combine(per_rate, kind, agg):
    """Worst case (largest difference, smallest ratio) or mean over rates."""
    per_rate = np.asarray(per_rate, dtype=np.float64)
    if agg == "mean":
        return per_rate.mean(axis=0)
    return per_rate.max(axis=0) if kind == "difference" else per_rate.min(axis=0)
