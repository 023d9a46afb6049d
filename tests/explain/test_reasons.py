"""reason_codes and reason_parity, against hand-ranked contributions."""

import warnings

import numpy as np
import pandas as pd
import pytest
from credit_data import credit as credit_data
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_german_credit
from sklfair.exceptions import BoundNotMetWarning, SensitiveInputWarning
from sklfair.explain import (
    feature_contributions,
    proxy_report,
    reason_codes,
    reason_parity,
)
from sklfair.explain._contributions import import_shap
from sklfair.nets import TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def credit():
    X, y = credit_data()
    return X.copy(), y.copy()


def hand_explanation(values, names):
    shap = import_shap()
    values = np.asarray(values, dtype=float)
    return shap.Explanation(
        values=values, base_values=np.zeros(len(values)), feature_names=names
    )


def test_reasons_are_the_largest_positive_contributions():
    names = ["income", "debt", "city", "sex"]
    values = [
        [-0.5, 1.0, 0.3, 2.0],  # sex would be first: never a reason
        [0.2, 0.2, -1.0, 0.0],  # a tie keeps the column order
        [-1.0, -0.1, -0.2, 0.0],  # nothing pushes toward the adverse class
    ]
    X = pd.DataFrame(np.zeros((3, 4)), columns=names, index=[10, 11, 12])
    with pytest.warns(SensitiveInputWarning, match=r"\['sex'\]"):
        reasons = reason_codes(
            None,
            X,
            n_reasons=3,
            sensitive_columns="sex",
            explanation=hand_explanation(values, names),
        )
    assert list(reasons.index) == [10, 11, 12]
    assert reasons.loc[10, ["reason_1", "reason_2", "reason_3"]].tolist() == [
        "debt",
        "city",
        None,
    ]
    assert reasons.loc[11, ["reason_1", "reason_2"]].tolist() == ["income", "debt"]
    assert reasons.loc[12].isna().all()
    np.testing.assert_array_equal(
        reasons[["contribution_1", "contribution_2", "contribution_3"]],
        [[1.0, 0.3, np.nan], [0.2, 0.2, np.nan], [np.nan] * 3],
    )
    # more reasons asked than columns exist
    many = reason_codes(
        None, X, n_reasons=6, explanation=hand_explanation(values, names)
    )
    assert many.shape == (3, 12)
    assert many.loc[10, "reason_1"] == "sex"  # no sensitive column given
    with pytest.raises(ValueError, match="n_reasons must be a positive integer"):
        reason_codes(None, X, n_reasons=0)


def test_sensitive_columns_come_from_the_meta_estimator(credit):
    X, y = credit
    X = X.assign(sex=(X["sex"] == "male").astype(float))
    X = X[["income", "debt", "late_payments", "sex"]]
    # the model keeps sex as an input: it moves the scores, but is no reason
    model = ReweighingClassifier(
        LogisticRegression(), sensitive_columns="sex", drop_sensitive=False
    ).fit(X, y)
    with pytest.warns(SensitiveInputWarning):
        reasons = reason_codes(
            model, X.iloc[:40], n_reasons=4, background=X, random_state=0
        )
    assert "sex" not in set(reasons.filter(like="reason").stack())
    # the contributions are the linear model's, whichever rank they get
    expl = feature_contributions(model, X.iloc[:40], background=X, random_state=0)
    top = np.argmax(np.where(expl.values[:, :3] > 0, expl.values[:, :3], -np.inf), 1)
    has = (expl.values[:, :3] > 0).any(axis=1)
    assert list(reasons["reason_1"][has]) == list(np.asarray(X.columns)[top][has])


def test_reason_parity_counts_by_hand():
    reasons = pd.DataFrame(
        {
            "reason_1": ["debt", "debt", "income", "debt", None, "income"],
            "reason_2": ["income", None, "debt", "city", None, "city"],
        }
    )
    groups = ["a", "a", "a", "b", "b", "b"]
    first = reason_parity(reasons, groups)
    assert list(first.index) == ["debt", "income"]
    np.testing.assert_allclose(first.loc["debt", ["a", "b"]], [2 / 3, 1 / 3])
    np.testing.assert_allclose(first.loc["income", ["a", "b"]], [1 / 3, 1 / 3])
    np.testing.assert_allclose(first["overall"], [0.5, 2 / 6])
    np.testing.assert_allclose(first["difference"], [1 / 3, 0.0])
    np.testing.assert_allclose(first["ratio"], [0.5, 1.0])
    both = reason_parity(reasons, groups, n_reasons=2)
    np.testing.assert_allclose(both.loc["city", ["a", "b"]], [0.0, 2 / 3])
    np.testing.assert_allclose(both.loc["debt", ["a", "b"]], [1.0, 1 / 3])
    # intersectional groups from two columns
    two = pd.DataFrame({"sex": ["f", "f", "m", "m", "m", "m"], "old": [0, 1] * 3})
    assert len(reason_parity(reasons, two).columns) == 4 + 3
    with pytest.raises(ValueError, match=r"no column\(s\) \['reason_3'\]"):
        reason_parity(reasons, groups, n_reasons=3)


@pytest.mark.slow
def test_german_credit_declines_with_reasons_and_proxies():
    """A fair net on German credit (1 = good): reasons for the declined."""
    data = load_german_credit(as_frame=True)
    X, y = data.data.drop(columns=["age_band"]), data.target
    pre = make_column_transformer(
        (
            OneHotEncoder(sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_exclude="category")),
    )
    net = make_pipeline(
        pre, TabularNetClassifier(hidden_units=(32,), max_epochs=30, random_state=0)
    )
    fair = FairConstrainedClassifier(net, bound=0.05, sensitive_columns="sex")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        fair.fit(X, y)
    declined = X[fair.predict(X) == 0]
    assert len(declined) > 50
    reasons = reason_codes(
        fair, declined, adverse_class=0, background=X, random_state=0
    )
    given = set(reasons.filter(like="reason_").stack())
    assert "sex" not in given and "checking_account_status" in given
    assert (reasons["contribution_1"] > 0).all()
    parity = reason_parity(reasons, declined["sex"])
    assert {"female", "male", "difference"} <= set(parity.columns)
    # personal_status encodes sex: the proxy report says so
    report = proxy_report(X.drop(columns="sex"), X["sex"], random_state=0)
    assert report.loc["personal_status", "auc"] > 0.99
    assert report.loc["personal_status", "proxy"]


def test_reason_parity_intervals_are_those_of_the_reason_indicator():
    """With ``confidence``, each reason's difference and ratio get the
    analytic interval of the demographic parity difference and ratio of
    "given this reason" by group; none with a single group."""
    from sklfair.metrics import fairness_interval

    rng = np.random.default_rng(0)
    reasons = pd.DataFrame({"reason_1": rng.choice(["debt", "income", None], 300)})
    groups = rng.choice(["a", "b", "c"], 300)
    parity = reason_parity(reasons, groups, confidence=0.9)
    assert list(parity.columns[-6:]) == [
        "difference",
        "difference_low",
        "difference_high",
        "ratio",
        "ratio_low",
        "ratio_high",
    ]
    for name in ["debt", "income"]:
        given = (reasons["reason_1"] == name).to_numpy().astype(int)
        for gap in ["difference", "ratio"]:
            oracle = fairness_interval(
                f"demographic_parity_{gap}",
                given,
                given,
                sensitive_features=groups,
                confidence=0.9,
            )
            row = parity.loc[name]
            assert (row[f"{gap}_low"], row[f"{gap}_high"]) == (oracle.low, oracle.high)
            assert row[gap] == pytest.approx(oracle.estimate)
            assert row[f"{gap}_low"] <= row[gap] <= row[f"{gap}_high"]
    plain = reason_parity(reasons, groups)
    pd.testing.assert_frame_equal(parity[plain.columns], plain)
    single = reason_parity(reasons, ["a"] * 300, confidence=0.9)
    assert single[["difference_low", "ratio_high"]].isna().all().all()
