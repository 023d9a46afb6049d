"""Fairness scorers in cross_validate and GridSearchCV: groups in X or routed."""

import pickle
from functools import partial

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from sklfair.metrics import (
    average_difference,
    fairness_interval,
    make_fairness_scorer,
)

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

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


# --------------------------------------------------------------------------
# The credible gap: the pessimistic end of the gap's interval
# --------------------------------------------------------------------------


def test_credible_gap_is_the_intervals_pessimistic_end(german, numeric_model):
    X, y = german
    model = numeric_model().fit(X, y)
    y_pred = model.predict(X)
    for metric, end in [
        ("equalized_odds_difference", "high"),
        ("demographic_parity_ratio", "low"),
    ]:
        scorer = make_fairness_scorer(
            metric, sensitive_columns="age_band", upper_confidence=0.9
        )
        interval = fairness_interval(
            metric, y, y_pred, sensitive_features=X["age_band"], confidence=0.9
        )
        sign = -1 if end == "high" else 1
        assert scorer(model, X, y) == pytest.approx(sign * getattr(interval, end))
    boot = make_fairness_scorer(
        "equalized_odds_difference",
        sensitive_columns="age_band",
        upper_confidence=0.95,
        interval="bootstrap",
        n_boot=200,
        random_state=0,
    )
    again = pickle.loads(pickle.dumps(boot))
    assert boot(model, X, y) == again(model, X, y)
    assert "equalized_odds_difference_upper_0.95_bootstrap" in repr(boot)
    # gaps without a point function elsewhere score their estimate
    errors = make_fairness_scorer("error_rate_difference", sensitive_columns="sex")
    assert errors(model, X, y) == pytest.approx(
        -fairness_interval(
            "error_rate_difference", y, y_pred, sensitive_features=X["sex"]
        ).estimate
    )


@pytest.mark.usefixtures("one_thread")
def test_credible_gap_changes_the_constrained_choice(german):
    # A logistic regression on every feature but sex, searched over C on
    # German credit; 5-fold CV, about 62 women per test fold.
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from sklfair.model_selection import constrained_refit

    X, y = german
    categorical = [
        c
        for c in X.select_dtypes("category").columns
        if c not in ("sex", "age_band", "personal_status")  # the latter holds sex
    ]
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number")),
            (OneHotEncoder(handle_unknown="ignore"), categorical),
        ),
        LogisticRegression(max_iter=1000),
    )
    scoring = {
        "accuracy": "accuracy",
        "dp": make_fairness_scorer(
            "demographic_parity_difference", sensitive_columns="sex"
        ),
        "dp_upper": make_fairness_scorer(
            "demographic_parity_difference",
            sensitive_columns="sex",
            upper_confidence=0.95,
        ),
    }
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    search = GridSearchCV(
        model,
        {"logisticregression__C": [0.01, 1.0]},
        cv=cv,
        scoring=scoring,
        refit=constrained_refit("accuracy", "dp_upper", bound=0.11),
    ).fit(X, y)
    results = search.cv_results_
    # C=1 is more accurate and its measured gap (about 0.05) is within the
    # bound on average, so a refit on the measured gap picks it ...
    assert constrained_refit("accuracy", "dp", bound=0.11)(results) == 1
    assert results["mean_test_accuracy"][1] > results["mean_test_accuracy"][0]
    # ... but the upper ends of its intervals are not within it: the credible
    # gap picks the candidate whose gap these folds can vouch for
    assert -results["mean_test_dp"][1] < 0.11 < -results["mean_test_dp_upper"][1]
    assert search.best_index_ == 0
    assert -results["mean_test_dp_upper"][0] <= 0.11
    # the fold scores are the intervals of fairness_interval
    train, test = next(cv.split(X, y))
    fold_model = clone(model).set_params(logisticregression__C=0.01)
    fold_model.fit(X.iloc[train], y.iloc[train])
    interval = fairness_interval(
        "demographic_parity_difference",
        y.iloc[test],
        fold_model.predict(X.iloc[test]),
        sensitive_features=X["sex"].iloc[test],
    )
    assert results["split0_test_dp_upper"][0] == pytest.approx(-interval.high)


def test_credible_gap_bad_arguments():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        make_fairness_scorer("demographic_parity_difference", upper_confidence=95)
    with pytest.raises(ValueError, match="'analytic' or 'bootstrap'"):
        make_fairness_scorer(
            "demographic_parity_difference", upper_confidence=0.9, interval="bca"
        )
    with pytest.raises(ValueError, match="has none"):
        make_fairness_scorer(
            "multiclass_equalized_odds_difference", upper_confidence=0.9
        )
    with pytest.raises(ValueError, match="between-groups"):
        make_fairness_scorer(
            "demographic_parity_difference", upper_confidence=0.9, method="to_overall"
        )
