"""Gaps of fitted decisions (``FairnessConstraint.gaps``) against fairlearn's
metrics and hand computations."""

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
)

from sklfair.constraints import (
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    GroupLossParity,
    GroupMeanParity,
)


def random_decisions(n=300, n_groups=3, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    groups = rng.randint(n_groups, size=n)
    pred = (rng.rand(n) < 0.3 + 0.15 * groups + 0.2 * y).astype(int)
    weight = rng.randint(1, 4, size=n).astype(float)
    return y, pred, groups, weight


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "constraint, metric",
    [
        (DemographicParity(), demographic_parity_difference),
        (EqualizedOdds(), equalized_odds_difference),
        (EqualOpportunity(), equal_opportunity_difference),
    ],
)
def test_max_gap_is_fairlearn_difference(constraint, metric, weighted):
    y, pred, groups, weight = random_decisions()
    sample_weight = weight if weighted else None
    expected = metric(y, pred, sensitive_features=groups, sample_weight=sample_weight)
    got = constraint.max_gap(y, np.eye(2)[pred], groups, sample_weight)
    assert got == pytest.approx(expected)
    assert expected > 0.05  # the data do have a gap


def test_error_rate_gap_is_metricframe_difference():
    y, pred, groups, weight = random_decisions(seed=1)

    def error(y_true, y_pred, sample_weight):
        return np.average(y_true != y_pred, weights=sample_weight)

    frame = MetricFrame(
        metrics=error,
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
        sample_params={"sample_weight": weight},
    )
    got = ErrorRateParity().max_gap(y, np.eye(2)[pred], groups, weight)
    assert got == pytest.approx(frame.difference())


def test_gaps_are_ordered_pairs_and_named():
    y, pred, groups, _ = random_decisions(n_groups=2)
    constraint = EqualizedOdds()
    gaps = constraint.gaps(y, np.eye(2)[pred], groups)
    names = constraint.gap_names(2, 2, ["f", "m"])
    assert names == [
        "true_positive_rate[f - m]",
        "true_positive_rate[m - f]",
        "false_positive_rate[f - m]",
        "false_positive_rate[m - f]",
    ]
    tpr = [pred[(groups == g) & (y == 1)].mean() for g in (0, 1)]
    fpr = [pred[(groups == g) & (y == 0)].mean() for g in (0, 1)]
    expected = [tpr[0] - tpr[1], tpr[1] - tpr[0], fpr[0] - fpr[1], fpr[1] - fpr[0]]
    np.testing.assert_allclose(gaps, expected)


def test_an_undefined_rate_is_nan_in_the_gaps():
    # group 1 has no negatives: no false positive rate
    y = np.array([1, 0, 1, 0, 1, 1, 1, 1])
    pred = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    gaps = EqualizedOdds().gaps(y, np.eye(2)[pred], groups)
    assert np.isfinite(gaps[:2]).all() and np.isnan(gaps[2:]).all()


def test_multiclass_demographic_parity_is_one_vs_rest():
    rng = np.random.RandomState(0)
    groups = rng.randint(2, size=200)
    pred = rng.randint(3, size=200)
    gaps = DemographicParity().gaps(np.zeros(200, int), np.eye(3)[pred], groups)
    assert gaps.shape == (6,)  # 3 classes x 2 ordered pairs
    for c in range(3):
        rate = [np.mean(pred[groups == g] == c) for g in (0, 1)]
        assert gaps[2 * c] == pytest.approx(rate[0] - rate[1])


def test_randomized_decisions_compare_expected_rates():
    # one group always selected with probability .8, the other .5
    proba = np.array([[0.2, 0.8]] * 5 + [[0.5, 0.5]] * 5)
    groups = np.repeat([0, 1], 5)
    assert DemographicParity().max_gap(np.zeros(10, int), proba, groups) == (
        pytest.approx(0.3)
    )


def test_regression_gaps_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 5.0])
    groups = np.array([0, 0, 1, 1])
    assert GroupMeanParity().max_gap(y, pred, groups) == pytest.approx(3.5 - 1.75)
    mse = [np.mean([0.25, 0.0]), np.mean([1.0, 1.0])]
    assert GroupLossParity().max_gap(y, pred, groups) == pytest.approx(mse[1] - mse[0])
    np.testing.assert_allclose(BoundedGroupLoss().gaps(y, pred, groups), mse)


def test_rates_are_weighted_sums_per_event_and_group():
    y, pred, groups, weight = random_decisions(n_groups=2)
    numerator, denominator = EqualizedOdds().rates(y, np.eye(2)[pred], groups, weight)
    for g in (0, 1):
        for event, label in enumerate((1, 0)):  # TPR, then FPR
            rows = (groups == g) & (y == label)
            assert denominator[event, g] == pytest.approx(weight[rows].sum())
            assert numerator[event, g] == pytest.approx((weight * pred)[rows].sum())
