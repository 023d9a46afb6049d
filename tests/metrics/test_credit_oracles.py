"""Credit measures against oracles outside sklfair, and their edge cases.

Regression tests of an independent check of the lender's measures: ties
in the approval-rate cutoff, weightless groups in the tables and
intervals, the quantile calibration error's interval, and input checks.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from sklfair.exceptions import CutoffTargetWarning
from sklfair.metrics import (
    adverse_impact_ratio,
    approval_by_group,
    approval_rate,
    bad_rate,
    cutoff_for_approval_rate,
    cutoff_for_bad_rate,
    group_gap,
    group_gap_interval,
    risk_metrics_by_group,
)


class _ScoreIsPD(ClassifierMixin, BaseEstimator):
    """A 'fitted' classifier whose PD is the first column of X."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        pd_ = np.asarray(X, dtype=np.float64)[:, 0]
        return np.c_[1 - pd_, pd_]


@pytest.mark.parametrize("target, expected", [(0.2, 0.1), (0.65, 0.3)])
def test_equally_near_approval_rates_take_the_lower(target, expected):
    # 10 applicants: one at 0.1, two tied at 0.2, seven tied at 0.3, so the
    # rates possible are 0, 0.1, 0.3 and 1; 0.2 is as near 0.1 as 0.3 and
    # 0.65 as near 0.3 as 1 (the rates' rounding must not break the tie)
    X = np.array([0.1, 0.2, 0.2] + [0.3] * 7)[:, None]
    cutoff = cutoff_for_approval_rate(_ScoreIsPD().fit(X), X, target)
    assert np.mean(cutoff.predict(X) != 1) == pytest.approx(expected)


def test_unreachable_bad_rate_warning_skips_weightless_applicants():
    X = np.array([0.1, 0.2, 0.2, 0.3])[:, None]
    y = np.array([1, 1, 0, 0])
    with pytest.warns(CutoffTargetWarning, match=r"bad rate of 0\.5\b"):
        cutoff = cutoff_for_bad_rate(
            _ScoreIsPD().fit(X), X, y, bad_rate=0.0, sample_weight=[0, 1, 1, 1]
        )
    assert np.all(cutoff.predict(X) == 1)


def test_quantile_ece_interval_estimate_is_group_gap():
    # the bins of the unweighted metric are numpy's percentiles (linear), not
    # the inverted CDF of weighted quantiles: they differ on these rows
    rng = np.random.default_rng(3)
    n = 101
    group = rng.choice(["a", "b"], n)
    prob = rng.random(n)
    events = rng.binomial(1, prob)
    kwargs = dict(sensitive_features=group, n_bins=5, strategy="quantile")
    gap = group_gap("expected_calibration_error", events, prob, **kwargs)
    interval = group_gap_interval(
        "expected_calibration_error",
        events,
        prob,
        n_boot=50,
        random_state=0,
        **kwargs,
    )
    assert interval.estimate == pytest.approx(gap, abs=1e-12)
    table = risk_metrics_by_group(events, prob, **kwargs)
    values = interval.by_group.loc["expected_calibration_error", "value"]
    np.testing.assert_allclose(values, table["expected_calibration_error"])


def test_table_gaps_leave_weightless_groups_out_as_group_gap():
    rng = np.random.default_rng(7)
    n = 300
    group = rng.choice(["a", "b", "c"], n)
    events = rng.integers(0, 2, n)
    prob = rng.random(n)
    weights = np.where(group == "c", 0.0, 1.0)
    table = risk_metrics_by_group(
        events,
        prob,
        sensitive_features=group,
        sample_weight=weights,
        confidence=0.9,
        n_boot=100,
        random_state=0,
    )
    gaps = table.attrs["gaps"]
    for metric in gaps.index:
        expected = group_gap(
            metric, events, prob, sensitive_features=group, sample_weight=weights
        )
        assert gaps.loc[metric, "gap"] == pytest.approx(expected)
        assert np.isfinite(gaps.loc[metric, ["gap_low", "gap_high"]]).all()
    # the weightless group keeps its row, undefined
    assert np.isnan(table.loc["c", "gini"])


def test_weightless_group_leaves_the_others_ratio_intervals_alone():
    rng = np.random.default_rng(0)
    n = 300
    group = rng.choice([3, 7, 9], n)
    outcome = rng.binomial(1, 0.2, n)
    decision = rng.binomial(1, np.where(group == 3, 0.5, 0.2))
    weights = rng.uniform(0, 2, n)
    without = np.where(group == 3, 0.0, weights)
    table = approval_by_group(
        outcome, decision, sensitive_features=group, sample_weight=without
    )
    kept = group != 3
    alone = approval_by_group(
        outcome[kept],
        decision[kept],
        sensitive_features=group[kept],
        sample_weight=weights[kept],
    )
    columns = [
        "approval_rate_low",
        "approval_rate_high",
        "adverse_impact_ratio",
        "adverse_impact_ratio_low",
        "adverse_impact_ratio_high",
    ]
    np.testing.assert_allclose(table.loc[[7, 9], columns], alone[columns])
    assert table.loc[3, columns].isna().all()
    assert adverse_impact_ratio(
        outcome, decision, sensitive_features=group, sample_weight=without
    ) == pytest.approx(alone["adverse_impact_ratio"].min())


def test_rates_refuse_outcomes_of_another_length():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        approval_rate([0, 1, 0], [0, 1, 0, 0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        adverse_impact_ratio([0, 1, 0], [0, 1, 0, 0], sensitive_features=list("aabb"))


def test_label_errors_name_both_label_arrays():
    # the third label is in y_true, not in y_pred
    with pytest.raises(ValueError, match="in y_pred and y_true"):
        bad_rate([0.0, 1.0, np.nan, 0.0], [0, 0, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bad_rate([0, 1, 1, 0], [0, 0, 1, 0]) == pytest.approx(1 / 3)
