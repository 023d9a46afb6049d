"""Oracles for the sensitive-attribute policy on the bundled real data.

Checked as a user would: the meta-estimators on COMPAS, with the group
column in the dtypes users have (bool, pandas' nullable Int64) beside the
data's categorical columns, against a plain scikit-learn Pipeline and
Kamiran & Calders' formula computed by hand.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_compas
from sklfair.exceptions import SensitiveAttributeError, UnseenGroupWarning
from sklfair.reweighting import ReweighingClassifier


@pytest.fixture(scope="module")
def compas_head():
    """The first 1200 rows of COMPAS (fast: not the whole data set)."""
    data = load_compas()
    X = data.data[["sex", "age", "priors_count", "c_charge_degree"]].iloc[:1200]
    return X.reset_index(drop=True), data.target.iloc[:1200].reset_index(drop=True)


def _pipeline():
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    return make_pipeline(encode, LogisticRegression(max_iter=1000))


def _hand_weights(groups, y):
    frame = pd.DataFrame({"g": np.asarray(groups), "y": np.asarray(y)})
    n = len(frame)
    p_g = frame.groupby("g").size() / n
    p_y = frame.groupby("y").size() / n
    p_gy = frame.groupby(["g", "y"]).size() / n
    return {(g, k): p_g[g] * p_y[k] / p_gy[(g, k)] for g, k in p_gy.index}


@pytest.mark.parametrize("dtype", ["bool", "Int64", "boolean", "Float64"])
def test_bool_and_nullable_group_columns_beside_categorical_ones(compas_head, dtype):
    # sklearn's check_array casts such a frame to float64 whole, which failed
    # with "Cannot cast str dtype to float64" on the categorical columns,
    # although the Pipeline alone fits the frame.
    X, y = compas_head
    male = (X["sex"] == "Male").to_numpy()
    X = X.assign(sex=pd.array(male, dtype="boolean").astype(dtype))
    _pipeline().fit(X, y)  # the oracle: scikit-learn alone takes this frame
    model = ReweighingClassifier(_pipeline(), sensitive_columns="sex").fit(X, y)
    expected = _hand_weights(male, y)
    for g, k in expected:
        label = model.groups_[list(np.asarray(model.groups_, dtype=float)).index(g)]
        assert model.weights_.loc[label, k] == pytest.approx(expected[(g, k)])
    assert list(model.feature_names_in_) == list(X.columns)
    permuted = X.assign(sex=X["sex"].sample(frac=1, random_state=0).to_numpy())
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(permuted))

    threshold = FairConstrainedClassifier(
        _pipeline(), method="threshold", sensitive_columns="sex", bound=0.1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        threshold.fit(X, y)
    assert threshold.predict(X).shape == (len(y),)


def test_nullable_group_column_with_missing_values(compas_head):
    X, y = compas_head
    sex = pd.array((X["sex"] == "Male").to_numpy().astype(int), dtype="Int64")
    sex[[3, 7]] = pd.NA
    X_missing = X.assign(sex=sex)
    model = ReweighingClassifier(_pipeline(), sensitive_columns="sex")
    with pytest.raises(SensitiveAttributeError, match=r"'sex'.*2 missing.*3, 7"):
        model.fit(X_missing, y)
    model.fit(X_missing.fillna({"sex": 0}), y)
    with pytest.warns(UnseenGroupWarning, match="2 row"):
        assert model.predict(X_missing).shape == (len(y),)


def test_distillation_takes_unlabeled_rows_with_a_bool_group_column(compas_head):
    # the same frame as X_unlabeled of a DistilledClassifier: its own check
    # of the unlabeled rows cast the frame whole too
    from sklfair.distillation import DistilledClassifier
    from sklfair.nets import TabularNetClassifier

    X, y = compas_head
    X = X.assign(sex=(X["sex"] == "Male").to_numpy())
    student = _pipeline()
    student.steps[-1] = (
        "net",
        TabularNetClassifier(hidden_units=(8,), max_epochs=2, random_state=0),
    )
    clf = DistilledClassifier(
        _pipeline(), student, sensitive_columns="sex", random_state=0
    )
    clf.fit(X.iloc[:800], y.iloc[:800], X_unlabeled=X.iloc[800:])
    assert clf.predict(X.iloc[800:]).shape == (400,)
    # the student never reads the group: permuting it changes nothing
    shuffled = X.iloc[800:].assign(
        sex=X["sex"].iloc[800:].sample(frac=1, random_state=0).to_numpy()
    )
    np.testing.assert_array_equal(clf.predict(X.iloc[800:]), clf.predict(shuffled))
