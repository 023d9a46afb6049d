"""The tree explainer of feature_contributions against shap's own TreeExplainer."""

import numpy as np
import pytest
from credit_data import credit as credit_data
from credit_data import preprocessing as make_preprocessing
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline

from sklfair.explain import feature_contributions, reason_codes
from sklfair.explain._contributions import import_shap

FEATURES = ["income", "debt", "city", "late_payments"]


def _log_odds(model, X, adverse=1):
    p = model.predict_proba(X)[:, adverse]
    return np.log(p) - np.log1p(-p)


def _direct(model, X):
    """shap's TreeExplainer on the final step, one-hot columns summed by name."""
    shap = import_shap()
    pre, final = model[0], model[-1]
    explainer = shap.TreeExplainer(final, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(pre.transform(X)))
    names = pre.get_feature_names_out()
    grouped = {
        column: values[:, [column in name for name in names]].sum(axis=1)
        for column in FEATURES
    }
    return grouped, explainer.expected_value


@pytest.fixture(scope="module")
def data():
    X, y = credit_data()
    return X.copy(), y.copy()


def test_gradient_boosting_is_shaps_tree_explainer(data):
    X, y = data
    model = make_pipeline(
        make_preprocessing(), HistGradientBoostingClassifier(max_iter=30)
    ).fit(X[FEATURES], y)
    rows = X[FEATURES].iloc[:40]
    expl = feature_contributions(model, rows)  # auto: the tree explainer
    direct, expected = _direct(model, rows)
    for j, column in enumerate(FEATURES):
        np.testing.assert_allclose(expl.values[:, j], direct[column], atol=1e-10)
    np.testing.assert_allclose(expl.base_values, float(np.ravel(expected)[0]))
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + expl.base_values, _log_odds(model, rows), atol=1e-8
    )
    # the other class's log-odds: every contribution changes sign
    other = feature_contributions(model, rows, adverse_class=0, method="tree")
    np.testing.assert_allclose(other.values, -expl.values)
    # reasons name the original columns, never the sensitive one (in X,
    # left out by the preprocessing)
    model = make_pipeline(
        make_preprocessing(), HistGradientBoostingClassifier(max_iter=30)
    ).fit(X, y)
    reasons = reason_codes(
        model, X.iloc[:40], n_reasons=2, sensitive_columns="sex", method="tree"
    )
    given = set(reasons[["reason_1", "reason_2"]].stack().dropna())
    assert given and given <= set(FEATURES)


def test_forest_probabilities_are_carried_to_the_log_odds(data):
    X, y = data
    model = make_pipeline(
        make_preprocessing(),
        RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
    ).fit(X[FEATURES], y)
    rows = X[FEATURES].iloc[:40]
    expl = feature_contributions(model, rows, method="tree")
    p = model.predict_proba(rows)[:, 1]
    direct, expected = _direct(model, rows)  # contributions to probabilities
    mean = float(np.asarray(expected).ravel()[1])
    base = np.log(mean) - np.log1p(-mean)
    np.testing.assert_allclose(expl.base_values, base)
    np.testing.assert_allclose(
        expl.values.sum(axis=1) + base, _log_odds(model, rows), atol=1e-8
    )
    # the rescale rule: each row's probability contributions times the
    # logit's slope between the mean and the row's probability
    slope = (_log_odds(model, rows) - base) / (p - mean)
    for j, column in enumerate(FEATURES):
        np.testing.assert_allclose(
            expl.values[:, j], direct[column][:, 1] * slope, atol=1e-8
        )


def test_shap_interventional_still_misses_threshold_ties(data):
    """Why the tree explainer is path-dependent: in shap 0.51, the
    interventional algorithm sends a value equal to a histogram gradient
    boosting split threshold (thresholds are data values) down the other
    branch, so its values miss the model's output on such rows. When this
    fails, shap has fixed it, and the interventional algorithm (with the
    background rows as reference) could be used."""
    shap = import_shap()
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(600, 2))
    target = (Z[:, 1] - Z[:, 0] + rng.normal(size=600) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=5).fit(Z, target)
    explainer = shap.TreeExplainer(
        model, data=Z[100:110], feature_perturbation="interventional"
    )
    values = explainer.shap_values(Z[:100], check_additivity=False)
    miss = np.abs(
        values.sum(axis=1) + explainer.expected_value - model.decision_function(Z[:100])
    )
    assert miss.max() > 0.01
    # the same rows moved off the thresholds are explained exactly
    moved = Z[:100] + 1e-9
    explainer = shap.TreeExplainer(
        model, data=Z[100:110] + 1e-9, feature_perturbation="interventional"
    )
    values = explainer.shap_values(moved, check_additivity=False)
    miss = (
        values.sum(axis=1) + explainer.expected_value - model.decision_function(moved)
    )
    assert np.abs(miss).max() < 1e-6


def test_tree_does_not_apply_to_other_models(data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = make_pipeline(make_preprocessing(), LogisticRegression()).fit(
        X[FEATURES], y
    )
    with pytest.raises(ValueError, match="not a tree model"):
        feature_contributions(model, X[FEATURES].iloc[:2], method="tree")
    # native categorical splits: refused ("auto" then takes the permutation
    # explainer, as for any model the model-specific ones refuse)
    native = HistGradientBoostingClassifier(
        max_iter=5, categorical_features="from_dtype"
    ).fit(X[FEATURES], y)
    with pytest.raises(ValueError, match="splits categories natively"):
        feature_contributions(native, X[FEATURES].iloc[:2], method="tree")
