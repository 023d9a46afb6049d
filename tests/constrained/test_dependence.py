"""Bounding the dependence on a continuous attribute in the training loop:
German credit, with age in years kept unbinned."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import (
    DependenceTerm,
    FairConstrainedClassifier,
    fairness_terms,
)
from sklfair.constraints import DemographicParity, Independence
from sklfair.datasets import load_german_credit
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import SensitiveAttributeError
from sklfair.metrics import hsic_dependence
from sklfair.nets import TabularNetClassifier


@pytest.fixture(scope="module")
def german():
    bunch = load_german_credit()
    X = bunch.data.drop(columns=[c for c in ("sex", "age_band") if c in bunch.data])
    return X, np.asarray(bunch.target)


def _net(**params):
    torch.set_num_threads(1)
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder=StandardScaler(),
    )
    defaults = dict(
        hidden_units=(16,), max_epochs=25, batch_size=128, lr=1e-2, random_state=0
    )
    return make_pipeline(encode, TabularNetClassifier(**{**defaults, **params}))


@pytest.mark.slow
def test_lagrangian_meets_the_bound_on_age_in_years(german):
    X, y = german
    plain = _net().fit(X, y)  # age as an input
    before = hsic_dependence(plain.predict(X), sensitive_features=X["age"])
    bound = 0.5 * before
    with warnings.catch_warnings():
        # no bins, no groups: neither the continuous-column nor the
        # small-group warning; new ages at prediction are not "unseen groups"
        warnings.simplefilter("error")
        clf = FairConstrainedClassifier(
            _net(), constraint=Independence(bound=bound), sensitive_columns="age"
        ).fit(X, y)
        X_new = X.iloc[:5].assign(age=[17, 91, 33.5, 120, 19])
        assert clf.predict(X_new).shape == (5,)
    assert clf.method_ == "lagrangian"
    after = hsic_dependence(clf.predict(X), sensitive_features=X["age"])
    assert after <= bound
    assert clf.constraint_violation_ == pytest.approx(after - bound, abs=1e-12)
    assert clf.sensitive_bins_ is None
    np.testing.assert_array_equal(clf.groups_, np.unique(X["age"]))
    history = clf.history_
    assert {"gap hsic", "multiplier hsic", "selected"} <= set(history.columns)
    selected = history.loc[history["selected"], "gap hsic"].item()
    assert selected == pytest.approx(after, rel=1e-6)
    assert isinstance(fairness_terms(clf)[0], DependenceTerm)


@pytest.mark.slow
def test_penalty_trades_accuracy_for_independence(german):
    X, y = german
    light, heavy = (
        FairConstrainedClassifier(
            _net(),
            constraint=Independence(bound=0.0),
            method="penalty",
            penalty=penalty,
            sensitive_columns="age",
        )
        for penalty in (0.1, 20.0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a bound of 0 is never met exactly
        light.fit(X, y)
        heavy.fit(X, y)
    dependence = [
        hsic_dependence(m.predict(X), sensitive_features=X["age"])
        for m in (light, heavy)
    ]
    assert dependence[1] < dependence[0]
    assert heavy.constraint_violation_ == pytest.approx(dependence[1])


def test_the_term_alone_on_a_net():
    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, 600)
    X = np.column_stack([rng.normal(size=600), (age - 50) / 15])
    y = (X[:, 0] + 2 * X[:, 1] + rng.normal(0, 0.5, 600) > 0).astype(int)
    term = DependenceTerm(Independence(bound=0.02), mode="penalty", weight=50.0)
    net = TabularNetClassifier(max_epochs=20, lr=1e-2, random_state=0)
    net.fit(X, y, sensitive_features=age, loss_terms=[term])
    free = TabularNetClassifier(max_epochs=20, lr=1e-2, random_state=0).fit(X, y)
    constrained = hsic_dependence(net.predict(X), sensitive_features=age)
    assert constrained < hsic_dependence(free.predict(X), sensitive_features=age)
    assert term.history_[term.best_epoch_]["gaps"][0] == pytest.approx(constrained)


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning")
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"method": "adversarial"}, ValueError, "'lagrangian' or 'penalty'"),
        (
            {"constraint": [Independence(bound=0.1), DemographicParity(bound=0.1)]},
            ValueError,
            "bounded alone",
        ),
        ({"method_params": {"confidence": 0.9}}, TypeError, "own parameter"),
    ],
)
def test_bad_combinations(params, error, match):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=100), "age": rng.integers(18, 80, 100)})
    y = (X["x"] > 0).astype(int)
    clf = FairConstrainedClassifier(
        TabularNetClassifier(max_epochs=1),
        constraint=Independence(bound=0.1),
        sensitive_columns="age",
    ).set_params(**params)
    with pytest.raises(error, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize("method", ["threshold", "reductions"])
def test_fairlearn_methods_refuse_it(method):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=100), "age": rng.integers(18, 80, 100)})
    y = (X["x"] > 0).astype(int)
    clf = FairConstrainedClassifier(
        LogisticRegression(),
        constraint=Independence(bound=0.1),
        method=method,
        sensitive_columns="age",
    )
    with pytest.raises(ValueError, match="independence"):
        clf.fit(X, y)


# --- the attribute must be one column with an order -------------------------


def _refusing(**params):
    return FairConstrainedClassifier(
        TabularNetClassifier(max_epochs=1), constraint=Independence(bound=0.1), **params
    )


@pytest.mark.parametrize(
    "columns, as_features, match",
    [
        ("purpose", False, "sensitive_columns 'purpose' is an unordered categorical"),
        ("purpose", True, "sensitive_features 'purpose' is an unordered categorical"),
        (["age", "duration_months"], False, r"2 columns \('age', 'duration_months'\)"),
        (["age", "duration_months"], True, r"2 columns \('age', 'duration_months'\)"),
        ("age_text", False, "sensitive_columns 'age_text' has dtype"),
        ("age_text", True, "sensitive_features 'age_text' has dtype"),
    ],
)
def test_a_nominal_or_intersectional_attribute_is_refused(
    german, columns, as_features, match
):
    # sorted nominal labels, text or combinations of columns are no ranks
    X, y = german
    X = X.assign(age_text=X["age"].astype(str))
    if as_features:
        clf, kwargs = _refusing(), {"sensitive_features": X[columns]}
    else:
        clf, kwargs = _refusing(sensitive_columns=columns), {}
    with pytest.raises(SensitiveAttributeError, match=match) as info:
        clf.fit(X, y, **kwargs)  # refused before any training
    assert "demographic_parity" in str(info.value)


def test_an_unnamed_text_array_is_refused(german):
    X, y = german
    ages = X["age"].astype(str).to_list()
    with pytest.raises(SensitiveAttributeError, match="sensitive_features has dtype"):
        _refusing().fit(X.select_dtypes("number"), y, sensitive_features=ages)


@pytest.mark.parametrize(
    "attribute",
    [
        pytest.param(lambda X: X["age"].to_list(), id="python ints"),
        pytest.param(lambda X: X[["age"]].to_numpy(), id="one-column array"),
        pytest.param(
            lambda X: pd.Categorical(X["employment_since"], ordered=True),
            id="ordered categorical",
        ),
        pytest.param(lambda X: pd.Categorical(X["age"]), id="numeric categorical"),
    ],
)
def test_a_numeric_or_ordered_attribute_is_kept(german, attribute):
    X, y = german
    X = X.select_dtypes("number").drop(columns="age").assign(age=X["age"])
    A = attribute(load_german_credit().data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the short fit's own warnings
        clf = _refusing().fit(X, y, sensitive_features=A)
    assert clf.sensitive_bins_ is None
    assert len(clf.groups_) == pd.Series(np.ravel(np.asarray(A))).nunique()


def test_the_fair_student_refuses_a_dependence_constraint_by_name():
    data = load_german_credit()
    X = data.data.select_dtypes("number")
    clf = DistilledClassifier(
        LogisticRegression(max_iter=500),
        TabularNetClassifier(max_epochs=1),
        constraint=Independence(bound=0.1),
        sensitive_columns="age",
    )
    with pytest.raises(ValueError, match="'independence' bounds a dependence"):
        clf.fit(X, data.target)
