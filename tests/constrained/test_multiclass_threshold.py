"""Multi-class post-processing (method="threshold" with k > 2 classes).

The oracles: group rates computed here by hand with numpy, fairlearn's
MetricFrame (through sklfair's one-vs-rest metrics), a brute-force
evaluation of the line search, and the base classifier's own decisions.
"""

import numpy as np
import pandas as pd
import pytest
from compas_levels import compas_encoder, compas_risk_levels
from fairlearn.metrics import MetricFrame
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from sklfair.constrained import FairConstrainedClassifier
from sklfair.constrained._multiclass_threshold import (
    _confusions,
    _line_search,
    fit_offsets,
    log_scores,
)
from sklfair.constraints import DemographicParity
from sklfair.exceptions import ContinuousSensitiveAttributeWarning, UnseenGroupWarning
from sklfair.metrics import multiclass_demographic_parity_difference

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.SmallGroupWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
]


def model():
    return make_pipeline(compas_encoder(), LogisticRegression(max_iter=1000))


def rates_by_hand(y, pred, groups, kind):
    """Per-group rates of every event, computed here without sklfair."""
    classes = np.unique(y)
    table = {}
    for g in np.unique(groups):
        yg, pg = y[groups == g], pred[groups == g]
        if kind == "demographic_parity":
            table[g] = [np.mean(pg == c) for c in classes]
        elif kind == "equal_opportunity":
            table[g] = [np.mean(pg[yg == c] == c) for c in classes]
        else:  # equalized odds
            table[g] = [np.mean(pg[yg == k] == c) for c in classes for k in classes]
    rates = np.array(list(table.values()))
    return rates.max(axis=0) - rates.min(axis=0)


@pytest.fixture(scope="module")
def compas():
    return compas_risk_levels()


@pytest.mark.slow
@pytest.mark.parametrize(
    "constraint, bound",
    [
        ("demographic_parity", 0.05),
        ("equal_opportunity", 0.05),
        ("equalized_odds", 0.05),
    ],
)
def test_compas_risk_levels_meet_the_bound(compas, constraint, bound):
    X, y = compas
    clf = FairConstrainedClassifier(
        model(),
        constraint=constraint,
        bound=bound,
        method="threshold",
        sensitive_columns="race",
    ).fit(X, y)
    pred = clf.predict(X)
    gaps = rates_by_hand(y, pred, X["race"].to_numpy(), constraint)
    blind = clf.estimator_.estimator.predict(X.drop(columns="race"))
    blind_gaps = rates_by_hand(y, clf.classes_[blind], X["race"].to_numpy(), constraint)
    assert gaps.max() <= bound
    assert blind_gaps.max() > 2 * bound  # the base model is far from it
    assert clf.constraint_violation_ == pytest.approx(gaps.max() - bound, abs=1e-12)
    # the price in training accuracy is small on this data
    assert np.mean(pred == y) > np.mean(clf.classes_[blind] == y) - 0.02
    if constraint == "demographic_parity":  # fairlearn's MetricFrame agrees
        assert multiclass_demographic_parity_difference(
            y, pred, sensitive_features=X["race"]
        ) == pytest.approx(gaps.max())


@pytest.mark.slow
def test_predict_is_the_argmax_of_predict_proba_and_deterministic(compas):
    X, y = compas
    clf = FairConstrainedClassifier(
        model(), bound=0.05, method="threshold", sensitive_columns="race"
    ).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    # row by row: no randomness, no dependence on the other rows
    order = np.random.default_rng(0).permutation(len(X))[:500]
    np.testing.assert_array_equal(clf.predict(X.iloc[order]), pred[order])
    refit = FairConstrainedClassifier(
        model(), bound=0.05, method="threshold", sensitive_columns="race"
    ).fit(X, y)
    np.testing.assert_array_equal(refit.estimator_.offsets_, clf.estimator_.offsets_)
    # offsets are centred per group; within a group they reweight the
    # classifier's probabilities
    np.testing.assert_allclose(clf.estimator_.offsets_.sum(axis=1), 0, atol=1e-12)


def _synthetic(n=600, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + group[:, None] * [0.8, -0.3]
    logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]])
    y = (logits + rng.gumbel(size=(n, 3))).argmax(axis=1)
    return np.column_stack([x, group]), y, group


def test_line_search_matches_brute_force():
    X, y, group = _synthetic()
    base = LogisticRegression().fit(X[:, :2], y)
    scores = log_scores(base, X[:, :2], 3)
    rows = group == 1
    offsets = np.array([0.0, 0.3, -0.2])
    shifted = scores[rows] + offsets
    current = _confusions(
        y[rows],
        shifted.argmax(axis=1),
        np.zeros(rows.sum(), int),
        np.ones(rows.sum()),
        1,
        3,
    )[0]
    for c in range(3):
        values, confusions = _line_search(
            shifted, y[rows], np.ones(rows.sum()), c, 3, current
        )
        for value, confusion in zip(values, confusions, strict=True):
            moved = shifted.copy()
            moved[:, c] += value
            expected = np.zeros((3, 3))
            np.add.at(expected, (y[rows], moved.argmax(axis=1)), 1.0)
            np.testing.assert_allclose(confusion, expected)
        # every decision the offset can give appears once
        assert len(np.unique(confusions.reshape(len(values), -1), axis=0)) == len(
            values
        )


def test_integer_weights_equal_repeated_rows():
    X, y, group = _synthetic(300)
    base = LogisticRegression().fit(X[:, :2], y)
    weight = np.random.default_rng(1).integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), weight)
    constraint = DemographicParity(bound=0.02)
    weighted = fit_offsets(
        base,
        constraint,
        X[:, :2],
        y,
        group,
        n_groups=2,
        n_classes=3,
        sample_weight=weight.astype(float),
    )
    repeated = fit_offsets(
        base, constraint, X[rows, :2], y[rows], group[rows], n_groups=2, n_classes=3
    )
    np.testing.assert_allclose(weighted.offsets_, repeated.offsets_)
    assert weighted.violation_ == 0


def test_unseen_group_gets_the_group_blind_decision():
    X, y, _ = _synthetic()
    clf = FairConstrainedClassifier(
        LogisticRegression(), bound=0.05, method="threshold", sensitive_columns=[2]
    ).fit(X, y)
    X_new = X[:30].copy()
    X_new[:10, 2] = 7
    with pytest.warns(UnseenGroupWarning, match="not seen at fit"):
        pred = clf.predict(X_new)
    base = clf.estimator_.estimator
    np.testing.assert_array_equal(pred[:10], base.predict(X_new[:10, :2]))
    np.testing.assert_array_equal(pred[10:], clf.predict(X[10:30]))


def test_a_classifier_with_a_decision_function_only():
    X, y, group = _synthetic()
    clf = FairConstrainedClassifier(
        LinearSVC(), bound=0.05, method="threshold", sensitive_columns=[2]
    ).fit(X, y)
    assert clf.constraint_violation_ <= 0
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_binned_groups_are_read_at_prediction_with_the_fit_bins():
    rng = np.random.default_rng(0)
    n = 800
    X = pd.DataFrame({"x": rng.normal(size=n), "age": rng.integers(18, 80, n)})
    logits = np.column_stack([X["x"], (X["age"] - 50) / 10, -X["x"]])
    y = (logits + rng.gumbel(size=(n, 3))).argmax(axis=1)
    clf = FairConstrainedClassifier(
        LogisticRegression(), bound=0.08, method="threshold", sensitive_columns="age"
    )
    with pytest.warns(ContinuousSensitiveAttributeWarning, match="age"):
        clf.fit(X, y)
    quartile = np.searchsorted(clf.sensitive_bins_["age"], X["age"])
    frame = MetricFrame(
        metrics=lambda t, p: np.mean(p == 2),
        y_true=y,
        y_pred=clf.predict(X),
        sensitive_features=quartile,
    )
    assert frame.difference() <= 0.08 + 1e-12
    X_new = X.iloc[:5].assign(age=[0, 17, 50, 90, 120])  # outside the fit's range
    assert clf.predict(X_new).shape == (5,)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (
            {"constraint": "equalized_odds", "method_params": {"flip": True}},
            TypeError,
            r"unexpected \['flip'\].*max_rounds",
        ),
    ],
)
def test_bad_parameters(params, error, match):
    X, y, _ = _synthetic(200)
    clf = FairConstrainedClassifier(
        LogisticRegression(), method="threshold", sensitive_columns=[2], **params
    )
    with pytest.raises(error, match=match):
        clf.fit(X, y)


class LabelsOnly(ClassifierMixin, BaseEstimator):
    """A classifier with neither predict_proba nor decision_function."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_a_classifier_without_scores_is_refused():
    X, y, _ = _synthetic(200)
    clf = FairConstrainedClassifier(
        LabelsOnly(), method="threshold", sensitive_columns=[2]
    )
    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        clf.fit(X, y)
