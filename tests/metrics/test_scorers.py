"""Fairness scorers in cross_validate and GridSearchCV: groups in X or routed."""

import pickle
from functools import partial

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from sklfair.metrics import average_difference, make_fairness_scorer

CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
GRID = {"logisticregression__C": [0.01, 1.0]}


def expected_fold_gaps(make, X, y, C, metric=fm.demographic_parity_difference):
    """The fairlearn gap on each test fold, computed by hand."""
    gaps = []
    for train, test in CV.split(X, y):
        model = make(C).fit(X.iloc[train], y.iloc[train])
        gaps.append(
            metric(
                y.iloc[test],
                model.predict(X.iloc[test]),
                sensitive_features=X["sex"].iloc[test],
            )
        )
    return np.array(gaps)


def test_scorer_is_minus_the_gap(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    scorer = make_fairness_scorer("equalized_odds_difference", sensitive_columns="sex")
    expected = fm.equalized_odds_difference(
        y, model.predict(X), sensitive_features=X["sex"]
    )
    assert scorer(model, X, y) == pytest.approx(-expected)
    ratio = make_fairness_scorer("demographic_parity_ratio", sensitive_columns="sex")
    assert ratio(model, X, y) == pytest.approx(
        fm.demographic_parity_ratio(y, model.predict(X), sensitive_features=X["sex"])
    )


def test_cross_validate_with_the_column_in_x(german, numeric_model):
    X, y = german
    scoring = {
        "accuracy": "accuracy",
        "dp": make_fairness_scorer(
            "demographic_parity_difference", sensitive_columns="sex"
        ),
    }
    scores = cross_validate(numeric_model(), X, y, cv=CV, scoring=scoring)
    np.testing.assert_allclose(
        scores["test_dp"], -expected_fold_gaps(numeric_model, X, y, 1.0)
    )


def test_grid_search_with_the_column_in_x_in_parallel(german, numeric_model):
    X, y = german
    scorer = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="sex"
    )
    search = GridSearchCV(
        numeric_model(),
        GRID,
        cv=CV,
        scoring={"accuracy": "accuracy", "dp": scorer},
        refit="accuracy",
        n_jobs=2,  # the scorer is pickled to the workers
    ).fit(X, y)
    for k, C in enumerate(GRID["logisticregression__C"]):
        assert search.cv_results_["mean_test_dp"][k] == pytest.approx(
            -expected_fold_gaps(numeric_model, X, y, C).mean()
        )


def test_grid_search_with_routed_sensitive_features(german, numeric_model):
    X, y = german
    A = X["sex"]
    X_model = X.drop(columns=["sex", "age_band"])
    plain = make_fairness_scorer("demographic_parity_difference")
    explicit = make_fairness_scorer("demographic_parity_difference")
    with sklearn.config_context(enable_metadata_routing=True):
        explicit.set_score_request(sensitive_features=True)
        search = GridSearchCV(
            numeric_model(),
            GRID,
            cv=CV,
            scoring={"accuracy": "accuracy", "dp": plain, "dp2": explicit},
            refit="accuracy",
        ).fit(X_model, y, sensitive_features=A)
    for k, C in enumerate(GRID["logisticregression__C"]):
        expected = -expected_fold_gaps(numeric_model, X, y, C).mean()
        assert search.cv_results_["mean_test_dp"][k] == pytest.approx(expected)
        assert search.cv_results_["mean_test_dp2"][k] == pytest.approx(expected)


def test_cross_validate_with_routed_params_in_parallel(german, numeric_model):
    X, y = german
    scorer = make_fairness_scorer("demographic_parity_difference")
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_validate(
            numeric_model(),
            X.drop(columns=["sex", "age_band"]),
            y,
            cv=CV,
            scoring={"dp": scorer},
            params={"sensitive_features": X["sex"]},
            n_jobs=2,
        )
    np.testing.assert_allclose(
        scores["test_dp"], -expected_fold_gaps(numeric_model, X, y, 1.0)
    )


class GroupAwareLogisticRegression(LogisticRegression):
    """Takes sensitive_features in fit (and ignores them), like a fair estimator."""

    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        self.fit_groups_ = np.unique(np.asarray(sensitive_features))
        return super().fit(X, y, sample_weight=sample_weight)


def test_column_scorer_next_to_an_estimator_that_consumes_the_groups():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"income": rng.normal(size=300), "sex": rng.integers(0, 2, 300)})
    y = (X["income"] + 0.5 * X["sex"] > 0).astype(int)
    scorer = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="sex"
    )
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = GroupAwareLogisticRegression().set_fit_request(
            sensitive_features=True
        )
        search = GridSearchCV(
            estimator, {"C": [0.1, 1.0]}, cv=CV, scoring={"dp": scorer}, refit="dp"
        ).fit(X, y, sensitive_features=X["sex"])
    assert search.best_estimator_.fit_groups_.tolist() == [0, 1]
    for k, C in enumerate([0.1, 1.0]):
        gaps = [
            fm.demographic_parity_difference(
                y.iloc[test],
                LogisticRegression(C=C)
                .fit(X.iloc[train], y.iloc[train])
                .predict(X.iloc[test]),
                sensitive_features=X["sex"].iloc[test],
            )
            for train, test in CV.split(X, y)
        ]
        assert search.cv_results_["mean_test_dp"][k] == pytest.approx(-np.mean(gaps))


def test_callable_metric_and_kwargs(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    scorer = make_fairness_scorer(
        partial(average_difference, "true_positive_rate"), sensitive_columns="sex"
    )
    expected = fm.equal_opportunity_difference(  # two groups: mean gap = gap
        y, model.predict(X), sensitive_features=X["sex"]
    )
    assert scorer(model, X, y) == pytest.approx(-expected)
    assert pickle.loads(pickle.dumps(scorer))(model, X, y) == pytest.approx(-expected)

    labels = np.where(y == 1, "good", "bad")
    string_model = numeric_model().fit(X, labels)
    by_name = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="sex", pos_label="good"
    )
    assert by_name(string_model, X, labels) == pytest.approx(
        -fm.demographic_parity_difference(
            y,
            (string_model.predict(X) == "good").astype(int),
            sensitive_features=X["sex"],
        )
    )
    assert "sensitive_columns='sex'" in repr(by_name)
    assert "greater_is_better=False" in repr(by_name)


def test_intersectional_columns(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    scorer = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns=["sex", "age_band"]
    )
    expected = fm.demographic_parity_difference(
        y, model.predict(X), sensitive_features=X[["sex", "age_band"]]
    )
    assert scorer(model, X, y) == pytest.approx(-expected)


def test_no_groups_is_a_clear_error(german, numeric_model):
    X, y = german
    scorer = make_fairness_scorer("demographic_parity_difference")
    with pytest.raises(ValueError, match="got no groups.*sensitive_columns="):
        cross_validate(
            numeric_model(), X, y, cv=CV, scoring={"dp": scorer}, error_score="raise"
        )


def test_both_ways_is_a_clear_error(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    scorer = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="sex"
    )
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sensitive_features=True)
        with pytest.raises(ValueError, match="Both sensitive_columns and"):
            scorer(model, X, y, sensitive_features=X["sex"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown fairness metric 'parity'"):
        make_fairness_scorer("parity")
    with pytest.raises(TypeError, match="name or a callable"):
        make_fairness_scorer(0.5)
    with pytest.raises(ValueError, match="Do not bind sensitive_features"):
        make_fairness_scorer("demographic_parity_difference", sensitive_features=[0, 1])


def test_missing_column_names_the_column(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    scorer = make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="sexe"
    )
    with pytest.raises(ValueError, match="'sexe' is not in X. Did you mean 'sex'"):
        scorer(model, X, y)
