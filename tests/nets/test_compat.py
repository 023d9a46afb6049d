"""The nets inside sklearn and fairlearn machinery, on bundled German credit data."""

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier


@pytest.fixture(scope="module")
def german():
    bunch = load_german_credit()
    X = bunch.data.drop(columns=list(bunch.sensitive.columns))
    return X, bunch.target.to_numpy(), bunch.sensitive["sex"].to_numpy()


def preprocessor():
    return make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include="category"),
        ),
        remainder=StandardScaler(),
    )


def test_pipeline_cross_validation_matches_logistic_regression(german):
    X, y, _ = german
    net = make_pipeline(
        preprocessor(), TabularNetClassifier(max_epochs=15, random_state=0)
    )
    scores = cross_val_score(net, X, y, cv=3)
    baseline = cross_val_score(
        make_pipeline(preprocessor(), LogisticRegression(max_iter=1000)), X, y, cv=3
    )
    assert scores.mean() > 0.7
    assert scores.mean() > baseline.mean() - 0.03


def test_grid_search_over_hidden_units_and_lr(german):
    X, y, _ = german
    search = GridSearchCV(
        make_pipeline(
            preprocessor(), TabularNetClassifier(max_epochs=10, random_state=0)
        ),
        {
            "tabularnetclassifier__hidden_units": [(8,), (32, 32)],
            "tabularnetclassifier__lr": [1e-3, 1e-2],
        },
        cv=2,
        scoring="roc_auc",
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.7
    assert search.best_estimator_.predict_proba(X).dtype == np.float64


# fairlearn 0.15 uses pandas idioms that pandas 3 deprecates (Series.at on new keys)
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_fairlearn_exponentiated_gradient_around_the_net(german):
    X, y, sex = german
    Xt = preprocessor().fit_transform(X)
    mitigator = ExponentiatedGradient(
        TabularNetClassifier(
            hidden_units=(16,), lr=1e-2, max_epochs=30, random_state=0
        ),
        DemographicParity(difference_bound=0.02),
        max_iter=5,
    ).fit(Xt, y, sensitive_features=sex)
    y_pred = mitigator.predict(Xt, random_state=0)
    # non-degenerate: both classes predicted, better than the majority class
    assert 0.05 < y_pred.mean() < 0.95
    assert np.mean(y_pred == y) > 0.7


def test_fairlearn_threshold_optimizer_with_the_fitted_net(german):
    X, y, sex = german
    X_tr, X_te, y_tr, y_te, s_tr, s_te = train_test_split(
        X, y, sex, test_size=0.3, stratify=y, random_state=0
    )
    net = make_pipeline(
        preprocessor(), TabularNetClassifier(max_epochs=20, random_state=0)
    ).fit(X_tr, y_tr)
    post = ThresholdOptimizer(
        estimator=net,
        constraints="demographic_parity",
        predict_method="predict_proba",
        prefit=True,
    ).fit(X_tr, y_tr, sensitive_features=s_tr)
    y_post = post.predict(X_te, sensitive_features=s_te, random_state=0)
    before = demographic_parity_difference(
        y_te, net.predict(X_te), sensitive_features=s_te
    )
    after = demographic_parity_difference(y_te, y_post, sensitive_features=s_te)
    assert np.mean(y_post == y_te) > 0.65
    assert after <= before + 0.05
