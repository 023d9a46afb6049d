"""feature_contributions against exact linear SHAP values and shap's own explainers."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from credit_data import credit as credit_data
from credit_data import preprocessing as make_preprocessing
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from sklfair.constrained import FairConstrainedClassifier
from sklfair.exceptions import BoundNotMetWarning
from sklfair.explain import feature_contributions
from sklfair.explain._contributions import import_shap
from sklfair.nets import TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier

FEATURES = ["income", "debt", "city", "late_payments"]


@pytest.fixture(scope="module")
def credit():
    X, y = credit_data()
    return X.copy(), y.copy()


@pytest.fixture(scope="module")
def preprocessing():
    return make_preprocessing


def log_odds(estimator, X, adverse=1):
    p = estimator.predict_proba(X)[:, adverse]
    return np.log(p) - np.log1p(-p)


def group_by_hand(values, names):
    """Transformed columns -> original columns, by reading their names."""
    out = {}
    for column in FEATURES:
        owned = [
            i
            for i, name in enumerate(names)
            if name == f"standardscaler__{column}"
            or name.startswith(f"onehotencoder__{column}_")
        ]
        out[column] = values[:, owned].sum(axis=1)
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def logistic(credit, preprocessing):
    X, y = credit
    X = X[FEATURES]
    return make_pipeline(preprocessing(), LogisticRegression()).fit(X, y), X


@pytest.fixture(scope="module")
def net(credit, preprocessing):
    X, y = credit
    X = X[FEATURES]
    model = make_pipeline(
        preprocessing(),
        TabularNetClassifier(hidden_units=(16, 8), max_epochs=20, random_state=0),
    )
    return model.fit(X, y), X


def test_linear_is_exact_and_permutation_agrees(logistic):
    model, X = logistic
    rows, background = X.iloc[:6], X.iloc[100:130]
    # oracle: a logistic regression's SHAP values are coef * (z - mean z)
    pre, lr = model[0], model[-1]
    Z, Z_bg = pre.transform(rows), pre.transform(background)
    exact = lr.coef_[0] * (Z - Z_bg.mean(axis=0))
    expected = group_by_hand(exact, list(pre.get_feature_names_out()))

    linear = feature_contributions(model, rows, background=background)
    assert linear.feature_names == FEATURES
    np.testing.assert_allclose(linear.values, expected[FEATURES], atol=1e-10)
    np.testing.assert_allclose(
        linear.values.sum(axis=1) + linear.base_values, log_odds(model, rows)
    )
    # the log-odds are additive, so permutation SHAP on the original
    # columns (a category masked as one) is exact too
    permutation = feature_contributions(
        model, rows, background=background, method="permutation", random_state=0
    )
    np.testing.assert_allclose(permutation.values, linear.values, atol=1e-8)
    np.testing.assert_allclose(permutation.base_values, linear.base_values)
    assert permutation.output_names == "log-odds of class 1"


def test_adverse_class_flips_the_sign(logistic):
    model, X = logistic
    one = feature_contributions(model, X.iloc[:5], background=X.iloc[:50])
    zero = feature_contributions(
        model, X.iloc[:5], adverse_class=0, background=X.iloc[:50]
    )
    np.testing.assert_allclose(zero.values, -one.values)
    np.testing.assert_allclose(zero.base_values, -one.base_values)
    assert zero.output_names == "log-odds of class 0"


def test_deep_gives_each_row_shaps_own_values(net):
    model, X = net
    shap = import_shap()
    rows, background = X.iloc[:300], X.iloc[300:340]  # two blocks of 256
    expl = feature_contributions(model, rows, background=background)
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values,
        log_odds(model, rows),
        atol=1e-4,
    )

    # oracle: shap's DeepExplainer on one row at a time, the usual way
    module = model[-1].net_.module_

    class LogOdds(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, x):
            z = self.module(x)
            return (z[:, 1] - z[:, 0]).unsqueeze(1)

    pre = model[0]
    picked = [0, 1, 255, 256, 299]
    Z = torch.as_tensor(pre.transform(rows.iloc[picked]), dtype=torch.float32)
    Z_bg = torch.as_tensor(pre.transform(background), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = shap.DeepExplainer(LogOdds(), Z_bg).shap_values(Z)
    direct = np.asarray(direct).reshape(len(picked), -1)
    expected = group_by_hand(direct, list(pre.get_feature_names_out()))
    np.testing.assert_allclose(expl.values[picked], expected[FEATURES], atol=1e-5)


def test_deep_explains_a_monotone_net(credit, preprocessing):
    X, y = credit
    X = X[FEATURES]
    pre = preprocessing().set_output(transform="pandas")
    net = TabularNetClassifier(
        monotonic_cst={"standardscaler__late_payments": 1},
        hidden_units=(8,),
        max_epochs=5,
        random_state=0,
    )
    model = make_pipeline(pre, net).fit(X, y)
    rows = X.iloc[:40]
    # explicit "deep": raises rather than falling back if shap cannot run it
    expl = feature_contributions(model, rows, background=X.iloc[50:90], method="deep")
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, log_odds(model, rows), atol=1e-4
    )


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning")
def test_meta_estimators_are_explained_through_their_model(credit, net):
    X, y = credit
    inner, _ = net
    fair = FairConstrainedClassifier(
        inner, bound=0.1, method="lagrangian", sensitive_columns="sex"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        fair.fit(X, y)
    rows, background = X.iloc[:20], X.iloc[200:250]
    expl = feature_contributions(fair, rows, background=background)
    direct = feature_contributions(
        fair.estimator_, rows[FEATURES], background=background[FEATURES]
    )
    assert expl.feature_names == list(X.columns)
    np.testing.assert_allclose(expl.values[:, :4], direct.values)
    assert np.all(expl.values[:, 4] == 0)  # sex is dropped before the net

    # array X, sensitive column by position, linear model inside
    A = X[["income", "debt", "late_payments", "sex"]].assign(
        sex=lambda d: (d["sex"] == "male").astype(float)
    )
    reweighed = ReweighingClassifier(LogisticRegression(), sensitive_columns=[3])
    reweighed.fit(A.to_numpy(), y)
    expl = feature_contributions(
        reweighed, A.to_numpy()[:5], background=A.to_numpy()[:50]
    )
    assert expl.feature_names == ["x0", "x1", "x2", "x3"]
    coef = reweighed.estimator_.coef_[0]
    hand = coef * (A.to_numpy()[:5, :3] - A.to_numpy()[:50, :3].mean(axis=0))
    np.testing.assert_allclose(expl.values[:, :3], hand, atol=1e-10)
    assert np.all(expl.values[:, 3] == 0)


def test_auto_falls_back_to_permutation(credit, preprocessing):
    X, y = credit
    X = X[FEATURES]
    rows, background = X.iloc[:3], X.iloc[50:60]
    # shap's DeepExplainer does not know SiLU
    silu = make_pipeline(
        preprocessing(),
        TabularNetClassifier(
            hidden_units=(8,), activation="silu", max_epochs=3, random_state=0
        ),
    ).fit(X, y)
    with pytest.raises(ValueError, match="does not know a layer"):
        feature_contributions(silu, rows, background=background, method="deep")
    expl = feature_contributions(silu, rows, background=background, random_state=0)
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, log_odds(silu, rows), atol=1e-8
    )
    # interactions mix columns: no single origin for the linear explainer
    poly = make_pipeline(
        preprocessing(), PolynomialFeatures(2), LogisticRegression(max_iter=500)
    ).fit(X, y)
    with pytest.raises(ValueError, match="several original columns"):
        feature_contributions(poly, rows, background=background, method="linear")


def test_bad_input_is_named(logistic):
    model, X = logistic
    with pytest.raises(ValueError, match=r"adverse_class='bad' is not one of"):
        feature_contributions(model, X, adverse_class="bad")
    with pytest.raises(ValueError, match="columns of X"):
        feature_contributions(model, X, background=X[FEATURES[::-1]])
    with pytest.raises(ValueError, match="method must be one of"):
        feature_contributions(model, X, method="kernel")
    with pytest.raises(ValueError, match="not an sklfair net"):
        feature_contributions(model, X.iloc[:2], method="deep")
    Xm, ym = make_classification(
        60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    with pytest.raises(ValueError, match="binary classifiers.*3 classes"):
        feature_contributions(LogisticRegression().fit(Xm, ym), Xm)
    with pytest.raises(ValueError, match="not a classifier"):
        feature_contributions(LinearRegression().fit(Xm, ym), Xm)
