"""Credit risk metrics against independent oracles (sklearn, scipy, fairlearn)."""

import functools

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from scipy.stats import ks_2samp, mannwhitneyu
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, make_scorer, roc_auc_score
from sklearn.model_selection import cross_validate

from sklfair.metrics import (
    calibration_by_group,
    expected_calibration_error,
    gini,
    group_gap,
    ks_statistic,
    make_fairness_scorer,
    risk_metrics_by_group,
)


@pytest.fixture(scope="module")
def scored():
    """Labels, tied scores, groups and integer weights of 400 rows."""
    rng = np.random.default_rng(0)
    n = 400
    groups = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    score = np.round(rng.beta(2, 5, size=n), 2)  # ties, as scorecards have
    shift = np.where(groups == "b", 0.1, 0.0)
    y = (rng.random(n) < np.clip(score + shift, 0, 1)).astype(int)
    weights = rng.integers(0, 4, size=n)
    return y, score, groups, weights


def _ece_oracle(y, prob, n_bins, strategy):
    """ECE from calibration_curve and each bin's share of the rows."""
    prob_true, prob_pred = calibration_curve(y, prob, n_bins=n_bins, strategy=strategy)
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        edges = np.percentile(prob, np.linspace(0, 100, n_bins + 1))
    counts = np.array(
        [np.sum(np.searchsorted(edges[1:-1], prob) == b) for b in range(n_bins)]
    )
    counts = counts[counts > 0]
    return float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))


def test_gini_is_rescaled_auc_and_mann_whitney(scored):
    y, score, _, weights = scored
    expected = 2 * roc_auc_score(y, score) - 1
    assert gini(y, score) == pytest.approx(expected, abs=1e-12)
    u = mannwhitneyu(score[y == 1], score[y == 0]).statistic
    assert gini(y, score) == pytest.approx(2 * u / (y.sum() * (y == 0).sum()) - 1)
    weighted = 2 * roc_auc_score(y, score, sample_weight=weights) - 1
    assert gini(y, score, sample_weight=weights) == pytest.approx(weighted)
    assert gini(y, 1 - score) == pytest.approx(-expected)


def test_ks_equals_scipy_two_sample_statistic(scored):
    y, score, _, weights = scored
    oracle = ks_2samp(score[y == 1], score[y == 0]).statistic
    assert ks_statistic(y, score) == pytest.approx(oracle, abs=1e-12)
    # integer weights: each row repeated as often as its weight
    rep = np.repeat(np.arange(y.size), weights)
    oracle = ks_2samp(score[rep][y[rep] == 1], score[rep][y[rep] == 0]).statistic
    assert ks_statistic(y, score, sample_weight=weights) == pytest.approx(oracle)


def test_string_labels_need_and_use_pos_label(scored):
    y, score, _, _ = scored
    words = np.where(y == 1, "default", "paid")
    assert gini(words, score, pos_label="default") == pytest.approx(gini(y, score))
    assert ks_statistic(words, score, pos_label="default") == pytest.approx(
        ks_statistic(y, score)
    )
    with pytest.raises(ValueError, match="pos_label"):
        gini(words, score)


def test_one_class_gives_nan_not_a_number_that_looks_real():
    assert np.isnan(gini([0, 0, 0], [0.1, 0.2, 0.3]))
    assert np.isnan(ks_statistic([1, 1], [0.1, 0.2]))
    # a class present only with weight 0 is absent
    assert np.isnan(gini([0, 1, 0], [0.1, 0.2, 0.3], sample_weight=[1, 0, 1]))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_from_calibration_curve(scored, strategy):
    y, score, _, _ = scored
    for n_bins in (5, 10):
        expected = _ece_oracle(y, score, n_bins, strategy)
        value = expected_calibration_error(y, score, n_bins=n_bins, strategy=strategy)
        assert value == pytest.approx(expected, abs=1e-12)


def test_weighted_quantile_bins_are_numpys_inverted_cdf(scored):
    from sklfair.metrics._calibration import weighted_quantiles

    _, score, _, weights = scored
    q = np.linspace(0, 1, 11)
    for w in (weights.astype(float), np.random.default_rng(3).random(score.size)):
        expected = np.quantile(score, q, weights=w, method="inverted_cdf")
        np.testing.assert_array_equal(weighted_quantiles(score, w, q), expected)


def test_ece_weights(scored):
    y, score, _, weights = scored
    rep = np.repeat(np.arange(y.size), weights)
    assert expected_calibration_error(y, score, sample_weight=weights) == pytest.approx(
        expected_calibration_error(y[rep], score[rep])
    )
    assert expected_calibration_error(
        y, score, sample_weight=np.ones(y.size)
    ) == pytest.approx(expected_calibration_error(y, score))
    # a calibrated forecast by construction: each bin's rate is its mean score
    y_cal = np.array([0] * 9 + [1] + [0] * 6 + [1] * 4)
    p_cal = np.array([0.1] * 10 + [0.4] * 10)
    assert expected_calibration_error(y_cal, p_cal) == pytest.approx(0.0)


def test_calibration_by_group_matches_calibration_curve_per_group(scored):
    y, score, groups, _ = scored
    for strategy in ("uniform", "quantile"):
        table = calibration_by_group(
            y, score, sensitive_features=groups, n_bins=8, strategy=strategy
        )
        assert list(pd.unique(table["group"])) == ["a", "b", "c"]
        for group in ("a", "b", "c"):
            rows = groups == group
            prob_true, prob_pred = calibration_curve(
                y[rows], score[rows], n_bins=8, strategy=strategy
            )
            part = table[table["group"] == group]
            np.testing.assert_allclose(part["observed_rate"], prob_true)
            np.testing.assert_allclose(part["mean_predicted"], prob_pred)
            assert part["count"].sum() == rows.sum()
            # the table's bins give the group's ECE
            ece = (
                np.sum(
                    part["weight"]
                    * np.abs(part["observed_rate"] - part["mean_predicted"])
                )
                / part["weight"].sum()
            )
            assert ece == pytest.approx(
                expected_calibration_error(
                    y[rows], score[rows], n_bins=8, strategy=strategy
                )
            )


def test_risk_metrics_by_group_against_metricframe_oracles(scored):
    y, score, groups, weights = scored
    table = risk_metrics_by_group(y, score, sensitive_features=groups)
    assert table.index.name == "group"
    for group in ("a", "b", "c"):
        rows = groups == group
        row = table.loc[group]
        assert row["count"] == rows.sum()
        assert row["observed_rate"] == pytest.approx(y[rows].mean())
        assert row["mean_predicted"] == pytest.approx(score[rows].mean())
        assert row["gini"] == pytest.approx(2 * roc_auc_score(y[rows], score[rows]) - 1)
        assert row["ks_statistic"] == pytest.approx(
            ks_2samp(score[rows & (y == 1)], score[rows & (y == 0)]).statistic
        )
    frame = MetricFrame(
        metrics=brier_score_loss,
        y_true=y,
        y_pred=score,
        sensitive_features=groups,
        sample_params={"sample_weight": weights},
    )
    weighted = risk_metrics_by_group(
        y, score, sensitive_features=groups, sample_weight=weights
    )
    np.testing.assert_allclose(weighted["brier_score"], frame.by_group.to_numpy())


@pytest.mark.parametrize(
    "name, oracle",
    [
        ("gini", lambda y, p: 2 * roc_auc_score(y, p) - 1),
        ("ks_statistic", lambda y, p: ks_2samp(p[y == 1], p[y == 0]).statistic),
        ("brier_score", brier_score_loss),
        ("expected_calibration_error", lambda y, p: _ece_oracle(y, p, 10, "uniform")),
    ],
)
def test_group_gap_equals_metricframe_difference(scored, name, oracle):
    y, score, groups, _ = scored
    frame = MetricFrame(
        metrics=oracle, y_true=y, y_pred=score, sensitive_features=groups
    )
    for method in ("between_groups", "to_overall"):
        gap = group_gap(name, y, score, sensitive_features=groups, method=method)
        assert gap == pytest.approx(frame.difference(method=method), abs=1e-12)


def test_group_gap_with_resampling_counts_as_weights(scored):
    """A bootstrap may pass counts as weights instead of copying rows."""
    y, score, groups, weights = scored
    rep = np.repeat(np.arange(y.size), weights)
    for name in ("gini", "ks_statistic", "brier_score", "expected_calibration_error"):
        by_weight = group_gap(
            name, y, score, sensitive_features=groups, sample_weight=weights
        )
        by_rows = group_gap(name, y[rep], score[rep], sensitive_features=groups[rep])
        assert by_weight == pytest.approx(by_rows, abs=1e-12)
    # a group drawn zero times is left out, as if absent from the resample
    no_c = np.where(groups == "c", 0, 1)
    keep = groups != "c"
    assert group_gap(
        "gini", y, score, sensitive_features=groups, sample_weight=no_c
    ) == pytest.approx(
        group_gap("gini", y[keep], score[keep], sensitive_features=groups[keep])
    )


def test_group_gap_nan_group_and_callables():
    y = [0, 1, 0, 1, 0, 0]
    p = [0.1, 0.7, 0.3, 0.6, 0.2, 0.4]
    g = ["a", "a", "b", "b", "c", "c"]
    # group c has no default: its Gini, hence the gap, is undefined
    assert np.isnan(group_gap("gini", y, p, sensitive_features=g))
    # a callable gets 0/1 labels and the weights
    gap = group_gap(
        lambda t, s, sample_weight=None: float(np.average(s, weights=sample_weight)),
        y,
        p,
        sensitive_features=g,
    )
    assert gap == pytest.approx(0.45 - 0.3)
    with pytest.raises(ValueError, match="Unknown metric 'auc'"):
        group_gap("auc", y, p, sensitive_features=g)
    with pytest.raises(ValueError, match="method must be one of"):
        group_gap("gini", y, p, sensitive_features=g, method="ratio")


def test_input_errors():
    y = [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"predict_proba\(X\)\[:, 1\]"):
        gini(y, np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        expected_calibration_error(y, [-1.0, 0.5, 2.0, 0.1])
    with pytest.raises(ValueError, match="NaN"):
        ks_statistic(y, [0.1, np.nan, 0.2, 0.3])
    with pytest.raises(ValueError, match="different lengths"):
        gini(y, [0.1, 0.2])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(y, [0.1, 0.2, 0.3, 0.4], n_bins=0)
    with pytest.raises(ValueError, match="strategy"):
        calibration_by_group(y, [0.1] * 4, sensitive_features="aabb", strategy="x")
    with pytest.raises(ValueError, match="non-negative"):
        gini(y, [0.1, 0.2, 0.3, 0.4], sample_weight=[1, -1, 1, 1])


def test_as_scorers_in_cross_validation(german, numeric_model):
    X, y = german
    scoring = {
        "gini": make_scorer(gini, response_method="predict_proba"),
        "auc": "roc_auc",
        "gini_gap": make_fairness_scorer(
            functools.partial(group_gap, "gini"),
            response_method="predict_proba",
            sensitive_columns="sex",
        ),
    }
    scores = cross_validate(numeric_model(), X, y, scoring=scoring, cv=3)
    np.testing.assert_allclose(scores["test_gini"], 2 * scores["test_auc"] - 1)
    assert (scores["test_gini_gap"] <= 0).all()
    # the gap scorer holds -gap; check one split by hand
    model = numeric_model().fit(X.iloc[:700], y.iloc[:700])
    test = X.iloc[700:]
    proba = model.predict_proba(test)[:, 1]
    gap = group_gap("gini", y.iloc[700:], proba, sensitive_features=test["sex"])
    assert scoring["gini_gap"](model, test, y.iloc[700:]) == pytest.approx(-gap)


def _by_group_oracles(y, proba, groups):
    for group in np.unique(groups):
        rows = groups == group
        yield (
            group,
            rows,
            {
                "gini": 2 * roc_auc_score(y[rows], proba[rows]) - 1,
                "ks_statistic": ks_2samp(
                    proba[rows & (y == 1)], proba[rows & (y == 0)]
                ).statistic,
                "brier_score": brier_score_loss(y[rows], proba[rows]),
            },
        )


def test_german_credit_by_sex_and_age(german, numeric_model):
    """German credit: 1 = good, so the event scored is 'good' (pos_label=1)."""
    X, y = german
    proba = numeric_model().fit(X, y).predict_proba(X)[:, 1]
    y = y.to_numpy()
    for attribute in ("sex", "age_band"):
        groups = X[attribute].to_numpy()
        table = risk_metrics_by_group(y, proba, sensitive_features=groups)
        for group, rows, oracle in _by_group_oracles(y, proba, groups):
            for name, value in oracle.items():
                assert table.loc[group, name] == pytest.approx(value, abs=1e-12)
            prob_true, prob_pred = calibration_curve(y[rows], proba[rows], n_bins=10)
            curve = calibration_by_group(y, proba, sensitive_features=groups)
            part = curve[curve["group"] == group]
            np.testing.assert_allclose(part["observed_rate"], prob_true)
            np.testing.assert_allclose(part["mean_predicted"], prob_pred)
    # the ranking metrics do not depend on which class is called the event
    bad = 1 - y
    assert gini(bad, 1 - proba) == pytest.approx(gini(y, proba))
    assert ks_statistic(bad, 1 - proba) == pytest.approx(ks_statistic(y, proba))


@pytest.mark.slow
def test_taiwan_credit_by_sex_and_age():
    """Taiwan credit: 1 = default; a logistic model on the full 30,000 rows."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklfair.datasets import load_taiwan_credit

    data = load_taiwan_credit()
    X, y = data.data, data.target.to_numpy()
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number"))
        ),
        LogisticRegression(max_iter=500),
    )
    proba = model.fit(X, y).predict_proba(X)[:, 1]
    for attribute in ("sex", "age_band"):
        groups = data.sensitive[attribute].to_numpy()
        table = risk_metrics_by_group(y, proba, sensitive_features=groups)
        curve = calibration_by_group(
            y, proba, sensitive_features=groups, strategy="quantile"
        )
        for group, rows, oracle in _by_group_oracles(y, proba, groups):
            for name, value in oracle.items():
                assert table.loc[group, name] == pytest.approx(value, abs=1e-10)
            prob_true, prob_pred = calibration_curve(
                y[rows], proba[rows], n_bins=10, strategy="quantile"
            )
            part = curve[curve["group"] == group]
            np.testing.assert_allclose(part["observed_rate"], prob_true)
            np.testing.assert_allclose(part["mean_predicted"], prob_pred)
        frame = MetricFrame(
            metrics=lambda t, p: 2 * roc_auc_score(t, p) - 1,
            y_true=y,
            y_pred=proba,
            sensitive_features=groups,
        )
        assert group_gap("gini", y, proba, sensitive_features=groups) == (
            pytest.approx(frame.difference(), abs=1e-10)
        )
