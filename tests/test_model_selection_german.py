"""GridSearchCV on bundled German credit: a fairness scorer and constrained_refit.

Both ways the sensitive attribute travels (DESIGN.md): the ``sex`` column inside
X, and ``sensitive_features`` routed with sklearn's metadata routing. The gaps
in ``cv_results_`` are checked against fairlearn on folds refitted by hand.
"""

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn import config_context
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_german_credit
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit
from sklfair.reweighting import ReweighingClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

GRID = {"estimator__logisticregression__C": [0.001, 0.01, 1.0]}
BOUND = 0.08


def model(**params):
    pipe = make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            remainder=StandardScaler(),
        ),
        LogisticRegression(max_iter=2000),
    )
    return ReweighingClassifier(pipe, **params)


@pytest.fixture(scope="module")
def german():
    bunch = load_german_credit()
    X = bunch.data.drop(columns=["age_band", "personal_status"])
    return X, bunch.target.to_numpy()


def oracle_gaps(estimator, X, y, sex, cv):
    """Mean test DP difference per candidate, refitting every fold by hand."""
    gaps = []
    for C in GRID["estimator__logisticregression__C"]:
        fold_gaps = []
        for train, test in cv.split(X, y):
            est = clone(estimator).set_params(estimator__logisticregression__C=C)
            est.fit(X.iloc[train], y[train], sensitive_features=sex[train])
            y_pred = est.predict(X.iloc[test])
            fold_gaps.append(
                demographic_parity_difference(
                    y[test], y_pred, sensitive_features=sex[test]
                )
            )
        gaps.append(np.mean(fold_gaps))
    return np.array(gaps)


def check_selection(search, gaps):
    np.testing.assert_allclose(-search.cv_results_["mean_test_dp"], gaps, atol=1e-12)
    within = gaps <= BOUND
    assert within.any()
    accuracy = search.cv_results_["mean_test_accuracy"]
    expected = np.flatnonzero(within)[np.argmax(accuracy[within])]
    assert search.best_index_ == expected


def test_sensitive_column_inside_X(german):
    X, y = german
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        model(sensitive_columns="sex"),
        GRID,
        cv=cv,
        scoring={
            "accuracy": "accuracy",
            "dp": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns="sex"
            ),
        },
        refit=constrained_refit("accuracy", "dp", bound=BOUND),
    ).fit(X, y)
    X_model = X.drop(columns="sex")
    gaps = oracle_gaps(model(), X_model, y, X["sex"].to_numpy(), cv)
    check_selection(search, gaps)
    assert "sex" not in search.best_estimator_.estimator_[0].feature_names_in_


def test_routed_sensitive_features(german):
    X, y = german
    sex = X["sex"].to_numpy()
    X_model = X.drop(columns="sex")
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        scorer = make_fairness_scorer("demographic_parity_difference")
        search = GridSearchCV(
            model().set_fit_request(sensitive_features=True),
            GRID,
            cv=cv,
            scoring={"accuracy": "accuracy", "dp": scorer},
            refit=constrained_refit("accuracy", "dp", bound=BOUND),
        ).fit(X_model, y, sensitive_features=sex)
    gaps = oracle_gaps(model(), X_model, y, sex, cv)
    check_selection(search, gaps)


def test_no_candidate_within_the_bound_names_the_smallest_gap(german):
    X, y = german
    search = GridSearchCV(
        model(sensitive_columns="sex"),
        {"estimator__logisticregression__C": [1.0, 10.0]},
        cv=3,
        scoring={
            "accuracy": "accuracy",
            "dp": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns="sex"
            ),
        },
        refit=constrained_refit("accuracy", "dp", bound=1e-9),
    )
    with pytest.raises(ValueError, match="smallest"):
        search.fit(X, y)
