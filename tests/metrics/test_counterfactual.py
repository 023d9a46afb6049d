"""The counterfactual flip rate, against hand-counted flips of known models."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklfair.metrics import counterfactual_flip_rate


class RuleClassifier(ClassifierMixin, BaseEstimator):
    """Accepts when income > threshold[group]; a known rule to count flips by hand."""

    def __init__(self, thresholds=None, column="group"):
        self.thresholds = thresholds
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def _limit(self, group):
        return 0.0 if pd.isna(group) else self.thresholds[group]

    def predict(self, X):
        if isinstance(X, pd.DataFrame):
            group, income = X[self.column].astype(object), X["income"]
            limits = np.array([self._limit(g) for g in group])
            return (income.to_numpy() > limits).astype(int)
        X = np.asarray(X)
        limits = np.array([self._limit(g) for g in X[:, 1]])
        return (X[:, 0].astype(float) > limits).astype(int)


@pytest.fixture
def data():
    X = pd.DataFrame(
        {
            "income": [1.0, 2.0, 3.0, 4.0, 1.5, 2.5, 3.5, 4.5],
            "group": ["f", "f", "f", "f", "m", "m", "m", "m"],
        }
    )
    return X, np.zeros(8, dtype=int)


def test_binary_swap(data):
    X, y = data
    model = RuleClassifier({"f": 2.2, "m": 3.2}).fit(X, y)
    # f rows as m: incomes 1, 2, 3, 4 vs 3.2 -> (0,0,1,1) vs (0,0,0,1): row 3 flips
    # m rows as f: 1.5, 2.5, 3.5, 4.5 vs 2.2 -> (0,1,1,1) vs (0,0,1,1): row 6 flips
    assert counterfactual_flip_rate(model, X, "group") == pytest.approx(2 / 8)


def test_mapping_counts_only_mapped_rows(data):
    X, y = data
    model = RuleClassifier({"f": 2.2, "m": 3.2}).fit(X, y)
    assert counterfactual_flip_rate(model, X, "group", mapping={"m": "f"}) == (
        pytest.approx(1 / 4)
    )


def test_three_values_any_other_value(data):
    X, y = data
    X = X.copy()
    X.loc[[0, 4], "group"] = "x"
    model = RuleClassifier({"f": 2.2, "m": 3.2, "x": 0.0}).fit(X, y)
    # row: value, income -> predictions as f, m, x; flipped if they differ
    # 0 x 1.0 -> 0 0 1 flips; 1 f 2.0 -> 0 0 1 flips; 2 f 3.0 -> 1 0 1 flips;
    # 3 f 4.0 -> 1 1 1; 4 x 1.5 -> 0 0 1 flips; 5 m 2.5 -> 1 0 1 flips;
    # 6 m 3.5 -> 1 1 1; 7 m 4.5 -> 1 1 1
    assert counterfactual_flip_rate(model, X, "group") == pytest.approx(5 / 8)


def test_categorical_column(data):
    X, y = data
    X = X.assign(group=pd.Categorical(X["group"], categories=["f", "m", "unused"]))
    model = RuleClassifier({"f": 2.2, "m": 3.2, "unused": 0}).fit(X, y)
    # only the observed values are swapped, and the dtype is kept
    assert counterfactual_flip_rate(model, X, "group") == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="not a valid value for column 'group'"):
        counterfactual_flip_rate(model, X, "group", mapping={"f": "other"})


def test_numpy_array_by_position(data):
    X, y = data
    array = X.to_numpy(dtype=object)
    model = RuleClassifier({"f": 2.2, "m": 3.2}).fit(array, y)
    assert counterfactual_flip_rate(model, array, 1) == pytest.approx(2 / 8)
    assert counterfactual_flip_rate(model, array, -1) == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="integer position"):
        counterfactual_flip_rate(model, array, "group")
    with pytest.raises(ValueError, match="out of range"):
        counterfactual_flip_rate(model, array, 5)


def test_dataframe_position_and_missing_rows(data):
    X, y = data
    X = X.copy()
    X["group"] = X["group"].astype(object)
    X.loc[7, "group"] = None
    model = RuleClassifier({"f": 2.2, "m": 3.2}).fit(X, y)
    # row 7 is left out: flips at rows 3 and 6 out of 7 rows
    assert counterfactual_flip_rate(model, X, 1) == pytest.approx(2 / 7)


def test_model_that_drops_the_column_never_flips():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"income": rng.normal(size=100), "sex": rng.integers(0, 2, 100)})
    y = (X["income"] + X["sex"] > 0.5).astype(int)
    blind = make_pipeline(
        make_column_transformer(("passthrough", ["income"])), LogisticRegression()
    ).fit(X, y)
    assert counterfactual_flip_rate(blind, X, "sex") == 0.0
    seeing = LogisticRegression().fit(X, y)
    flips = counterfactual_flip_rate(seeing, X, "sex")
    swapped = X.assign(sex=1 - X["sex"])
    assert flips == pytest.approx(np.mean(seeing.predict(swapped) != seeing.predict(X)))
    assert flips > 0


def test_errors(data):
    X, y = data
    model = RuleClassifier({"f": 2.2, "m": 3.2}).fit(X, y)
    with pytest.raises(ValueError, match="'sex' is not in X"):
        counterfactual_flip_rate(model, X, "sex")
    with pytest.raises(ValueError, match="single value"):
        counterfactual_flip_rate(model, X.assign(group="f"), "group")
    with pytest.raises(ValueError, match="none of the mapping's keys"):
        counterfactual_flip_rate(model, X, "group", mapping={"x": "f"})
    with pytest.raises(TypeError, match="mapping must be a dict"):
        counterfactual_flip_rate(model, X, "group", mapping=[("f", "m")])
    with pytest.raises(TypeError, match="sparse"):
        counterfactual_flip_rate(
            LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]),
            sp.csr_matrix(np.eye(4)),
            0,
        )
    with pytest.raises(NotFittedError):
        counterfactual_flip_rate(LogisticRegression(), X, "group")
