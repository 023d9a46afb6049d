"""Metrics along a continuous attribute, against independent oracles: scipy's
regression and correlations, a direct O(n^2) Gram-matrix HSIC, and the
chi-square statistic of the binned table for HGR."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from sklfair._dependence import MAX_LEVELS
from sklfair.datasets import load_german_credit
from sklfair.metrics import (
    bin_sensitive_features,
    hgr_correlation,
    hsic_dependence,
    mean_prediction_slope,
    prediction_correlation,
)


def gram_hsic(D, attribute, bandwidth=0.25):
    """Normalised HSIC from the n x n Gram matrices, as Gretton et al. write it."""
    D = np.asarray(D, dtype=float).reshape(len(attribute), -1)
    ranks = stats.rankdata(attribute) / len(attribute) - 0.5 / len(attribute)
    K = D @ D.T
    L = np.exp(-((ranks[:, None] - ranks[None, :]) ** 2) / (2 * bandwidth**2))
    H = np.eye(len(D)) - 1.0 / len(D)
    Kc, Lc = H @ K @ H, H @ L @ H
    return np.sum(Kc * Lc) / np.sqrt(np.sum(Kc * Kc) * np.sum(Lc * Lc))


@pytest.fixture
def sample():
    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, 400).astype(float)
    score = 1 / (1 + np.exp(-(age - 45) / 10 + rng.normal(0, 1, 400)))
    weight = rng.integers(0, 4, 400)
    return age, score, weight


def test_slope_is_scipy_linregress(sample):
    age, score, weight = sample
    expected = stats.linregress(age, score).slope
    assert mean_prediction_slope(score, sensitive_features=age) == pytest.approx(
        expected
    )
    assert mean_prediction_slope(
        score, sensitive_features=age, per=10
    ) == pytest.approx(10 * expected)
    rows = np.repeat(np.arange(len(age)), weight)
    assert mean_prediction_slope(
        score, sensitive_features=age, sample_weight=weight
    ) == pytest.approx(stats.linregress(age[rows], score[rows]).slope)


def test_correlations_are_scipy_pearson_and_spearman(sample):
    age, score, weight = sample
    assert prediction_correlation(score, sensitive_features=age) == pytest.approx(
        stats.pearsonr(age, score).statistic
    )
    assert prediction_correlation(
        score, sensitive_features=age, method="spearman"
    ) == pytest.approx(stats.spearmanr(age, score).statistic)
    rows = np.repeat(np.arange(len(age)), weight)
    assert prediction_correlation(
        score, sensitive_features=age, sample_weight=weight
    ) == pytest.approx(stats.pearsonr(age[rows], score[rows]).statistic)
    # weighted mid-ranks are the mid-ranks of the repeated rows
    assert prediction_correlation(
        score, sensitive_features=age, method="spearman", sample_weight=weight
    ) == pytest.approx(stats.spearmanr(age[rows], score[rows]).statistic)


def test_hsic_is_the_gram_matrix_formula(sample):
    age, score, weight = sample
    decisions = (score > 0.5).astype(int)
    for prediction in (score, decisions):
        assert hsic_dependence(prediction, sensitive_features=age) == pytest.approx(
            gram_hsic(prediction, age), rel=1e-9
        )
    three = np.digitize(score, [0.3, 0.7])  # multi-class labels: one-hot
    assert hsic_dependence(three, sensitive_features=age) == pytest.approx(
        gram_hsic(np.eye(3)[three], age), rel=1e-9
    )
    rows = np.repeat(np.arange(len(age)), weight)
    assert hsic_dependence(
        decisions, sensitive_features=age, sample_weight=weight
    ) == pytest.approx(gram_hsic(decisions[rows], age[rows]), rel=1e-9)


def test_hsic_properties(sample):
    age, score, _ = sample
    decisions = (score > 0.5).astype(int)
    value = hsic_dependence(decisions, sensitive_features=age)
    # ranks only: any increasing transformation of the attribute
    assert hsic_dependence(decisions, sensitive_features=np.exp(age / 10)) == (
        pytest.approx(value)
    )
    assert hsic_dependence(np.ones(400), sensitive_features=age) == 0.0
    assert 0 < value < 1
    bump = (np.abs(age - 49) < 12).astype(int)  # no trend, a dependence
    assert abs(prediction_correlation(bump, sensitive_features=age)) < 0.1
    assert hsic_dependence(bump, sensitive_features=age) > 0.3
    independent = np.random.default_rng(5).integers(0, 2, 400)
    assert hsic_dependence(independent, sensitive_features=age) < 0.02


def test_many_levels_are_rounded_to_a_fine_grid():
    rng = np.random.default_rng(1)
    income = rng.lognormal(10, 1, 3 * MAX_LEVELS // 2)  # all distinct
    decisions = (np.log(income) + rng.normal(0, 1, income.size) > 10).astype(int)
    assert hsic_dependence(decisions, sensitive_features=income) == pytest.approx(
        gram_hsic(decisions, income), rel=1e-3
    )


def test_hgr_of_a_binary_prediction_is_the_phi_coefficient(sample):
    age, score, _ = sample
    decisions = (score > 0.5).astype(int)
    quantile = np.searchsorted(np.unique(np.quantile(age, np.arange(1, 10) / 10)), age)
    table = np.array(
        [
            [np.sum((decisions == d) & (quantile == q)) for q in range(10)]
            for d in (0, 1)
        ]
    )
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    assert hgr_correlation(decisions, sensitive_features=age) == pytest.approx(
        np.sqrt(chi2 / len(age))
    )
    bump = (np.abs(age - 49) < 12).astype(int)
    assert hgr_correlation(bump, sensitive_features=age, bins=20) > 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sensitive_features": ["a", "b", "c"]}, "must be numeric"),
        ({"sensitive_features": [1.0, np.nan, 2.0]}, "missing or infinite"),
        ({"sensitive_features": [1.0, 2.0]}, "2 rows, but y_pred has 3"),
        ({"sensitive_features": [5, 5, 5]}, "single value"),
        ({"sensitive_features": None}, "must be an array-like"),
    ],
)
def test_bad_attribute(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hsic_dependence([0, 1, 1], **kwargs)


def test_slope_refuses_multiclass_predictions():
    with pytest.raises(ValueError, match="hsic_dependence or hgr_correlation"):
        mean_prediction_slope([0, 1, 2, 1], sensitive_features=[20, 30, 40, 50])


@pytest.mark.slow
def test_german_credit_age():
    bunch = load_german_credit()
    X = bunch.data.select_dtypes("number").drop(columns="age")
    age = bunch.data["age"].to_numpy()
    y = np.asarray(bunch.target)
    proba = LogisticRegression(max_iter=2000).fit(X, y).predict_proba(X)[:, 1]
    decisions = (proba > 0.5).astype(int)
    subset = np.random.default_rng(0).choice(len(age), 600, replace=False)
    assert hsic_dependence(
        decisions[subset], sensitive_features=age[subset]
    ) == pytest.approx(gram_hsic(decisions[subset], age[subset]), rel=1e-9)
    slope = mean_prediction_slope(proba, sensitive_features=age, per=10)
    assert slope == pytest.approx(10 * stats.linregress(age, proba).slope)
    # the outcome itself depends on age: far above a permutation null
    rng = np.random.default_rng(0)
    null = [
        hsic_dependence(y, sensitive_features=rng.permutation(age)) for _ in range(50)
    ]
    assert hsic_dependence(y, sensitive_features=age) > 2 * max(null)


@pytest.mark.parametrize("share_at_the_top", [0.0, 0.95])
def test_hgr_bins_are_the_group_metrics_bins(share_at_the_top):
    """One rule for quantile bins: HGR's attribute bins are the groups
    bin_sensitive_features makes -- also where most rows share the largest
    value, so that every quantile is the maximum -- and the measure on
    those groups, as a categorical attribute, is the same number."""
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 59, 400)
    age[rng.random(400) < share_at_the_top] = 60.0
    score = (age < 45) * 0.5 + rng.uniform(0, 0.5, 400)
    codes = bin_sensitive_features(age, 10).cat.codes.to_numpy()
    assert len(np.unique(codes)) == (10 if share_at_the_top == 0 else 2)
    binned = hgr_correlation(score, sensitive_features=age, bins=10)
    assert binned == pytest.approx(
        hgr_correlation(score, sensitive_features=codes, bins=10)
    )
    assert binned > 0.3  # old linear quantiles: one bin, 0, at 95%


def test_hgr_rows_of_weight_zero_take_no_part(sample):
    """Rows of weight 0 do not place the bins either: the same number as
    without them."""
    age, score, weight = sample
    kept = weight > 0
    assert not kept.all()
    assert hgr_correlation(
        score, sensitive_features=age, sample_weight=weight
    ) == pytest.approx(
        hgr_correlation(
            score[kept], sensitive_features=age[kept], sample_weight=weight[kept]
        ),
        abs=1e-12,
    )
