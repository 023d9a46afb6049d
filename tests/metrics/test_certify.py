"""Certificates: verdicts, several constraints at once, the honest answer on
Adult's small intersectional groups, the text and HTML renderings."""

import warnings

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklfair.datasets import load_adult
from sklfair.exceptions import BoundNotMetWarning
from sklfair.metrics import FairnessCertificate, certify, fairness_interval

ADULT_NUMERIC = [
    "age",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
]


@pytest.fixture(scope="module")
def german_model(german, numeric_model):
    X, y = german
    return numeric_model().fit(X.iloc[:600], y.iloc[:600])


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        return func(*args, **kwargs)


class Constraint:
    """A stand-in for a sklfair.constraints object that carries its bound."""

    def __init__(self, name, bound=None):
        self.name = name
        self.bound = bound


def test_certificate_is_the_interval_against_the_bound(german, german_model):
    X, y = german
    X_test, y_test = X.iloc[600:], y.iloc[600:]
    certificate = _quiet(
        certify,
        german_model,
        X_test,
        y_test,
        sensitive_columns="age_band",
        constraint=["demographic_parity", "equalized_odds"],
        bound=0.3,
    )
    assert isinstance(certificate, FairnessCertificate)
    y_pred = german_model.predict(X_test)
    for name, metric in [
        ("demographic_parity", "demographic_parity_difference"),
        ("equalized_odds", "equalized_odds_difference"),
    ]:
        row = certificate.results.loc[name]
        expected = fairness_interval(
            metric, y_test, y_pred, sensitive_features=X_test["age_band"]
        )
        assert row["estimate"] == pytest.approx(
            getattr(fm, metric)(y_test, y_pred, sensitive_features=X_test["age_band"])
        )
        assert (row["low"], row["high"]) == (expected.low, expected.high)
        assert row["certified"] == (expected.high <= 0.3)
        assert row["metric"] == metric
    sizes = certificate.group_sizes
    assert sizes["rows"].sum() == 400
    assert (sizes["positives"] + sizes["negatives"] == sizes["rows"]).all()
    assert sizes.loc["<25", "positives"] == int(
        ((X_test["age_band"] == "<25") & (y_test == 1)).sum()
    )
    assert certificate.confidence == 0.95 and certificate.method == "analytic"


def test_several_bounds_and_verdicts(german, german_model):
    X, y = german
    X_test, y_test = X.iloc[600:], y.iloc[600:]
    with pytest.warns(BoundNotMetWarning) as record:
        certificate = certify(
            german_model,
            X_test,
            y_test,
            sensitive_features=X_test["sex"],
            constraint=[
                ("demographic_parity", 0.5),
                Constraint("error_rate_parity", bound=0.01),
                Constraint("equal_opportunity"),  # takes bound=
            ],
            bound=0.02,
        )
    # a constraint object of sklfair.constraints is read by its name
    from sklfair.constraints import DemographicParity

    by_object = _quiet(
        certify,
        german_model,
        X_test,
        y_test,
        sensitive_features=X_test["sex"],
        constraint=DemographicParity(),
        bound=0.5,
    )
    assert by_object.results.index.tolist() == ["demographic_parity"]
    assert by_object.results.loc["demographic_parity", "bound"] == 0.5
    table = certificate.to_frame()
    assert table.index.tolist() == [
        "demographic_parity",
        "error_rate_parity",
        "equal_opportunity",
    ]
    assert table["bound"].tolist() == [0.5, 0.01, 0.02]
    assert table.loc["demographic_parity", "verdict"] == "certified"
    # 400 rows cannot resolve a 0.01 bound for any model
    assert table.loc["error_rate_parity", "verdict"] == (
        "NOT CERTIFIABLE with these rows"
    )
    assert table.loc["error_rate_parity", "smallest_certifiable_bound"] > 0.01
    assert not certificate.certified
    assert (table["confidence"] == 0.95).all()
    message = str(record[0].message)
    assert message.startswith("2 of 3 bound(s) not certified on 400 rows")
    assert "error_rate_parity" in message and "too small to certify" in message
    assert "demographic_parity:" not in message


def test_a_gap_too_large_is_not_the_rows_fault():
    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], size=n)})
    y = ((X["x"] + (X["g"] == "a")) > 0.5).astype(int)
    # the model uses the group: a large, well-measured gap
    model = LogisticRegression().fit(pd.get_dummies(X, dtype=float), y)
    X_test = pd.get_dummies(X, dtype=float)
    with pytest.warns(BoundNotMetWarning, match="above the bound 0.1"):
        certificate = certify(model, X_test, y, sensitive_features=X["g"], bound=0.1)
    row = certificate.results.loc["demographic_parity"]
    assert row["verdict"] == "NOT CERTIFIED" and row["low"] > 0.1
    assert row["smallest_certifiable_bound"] < 0.1


def test_constant_model_is_certified_with_enough_rows(german):
    X, y = german
    model = DummyClassifier(strategy="most_frequent").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        certificate = certify(model, X, y, sensitive_columns="sex")
    assert certificate.certified
    assert certificate.results.loc["demographic_parity", "estimate"] == 0.0
    # 65 young men selected out of 65: their rate on new rows may still be
    # 0.94, so even a model that selects everybody cannot certify 0.05
    with pytest.warns(BoundNotMetWarning, match="'sex=male, age_band=<25': 65"):
        certificate = certify(model, X, y, sensitive_columns=["sex", "age_band"])
    assert certificate.groups == "sex, age_band"
    assert len(certificate.group_sizes) == 4
    row = certificate.results.loc["demographic_parity"]
    assert row["verdict"] == "NOT CERTIFIABLE with these rows"
    assert row["high"] == pytest.approx(row["smallest_certifiable_bound"])


def test_sensitive_columns_reach_the_estimator_as_is(german, german_model):
    X, y = german
    seen = {}

    class Spy(ClassifierMixin, BaseEstimator):
        def __init__(self, model=None):
            self.model = model

        def fit(self, X, y):
            self.classes_ = self.model.classes_
            return self

        def predict(self, X):
            seen["columns"] = list(X.columns)
            return self.model.predict(X)

    by_column = _quiet(
        certify, Spy(german_model).fit(X, y), X, y, sensitive_columns="sex", bound=0.2
    )
    assert "sex" in seen["columns"]
    by_feature = _quiet(
        certify, german_model, X, y, sensitive_features=X["sex"], bound=0.2
    )
    pd.testing.assert_frame_equal(by_column.results, by_feature.results)


def test_bootstrap_certificate_and_weights(german, german_model):
    X, y = german
    weights = np.where(y == 1, 1.0, 2.0)
    one, two = (
        _quiet(
            certify,
            german_model,
            X,
            y,
            sensitive_columns="sex",
            constraint="equalized_odds",
            method="bootstrap",
            n_boot=300,
            sample_weight=weights,
            random_state=0,
        )
        for _ in range(2)
    )
    pd.testing.assert_frame_equal(one.results, two.results)
    assert one.method == "bootstrap"
    assert "effective_rows" in one.group_sizes
    expected = fm.equalized_odds_difference(
        y, german_model.predict(X), sensitive_features=X["sex"], sample_weight=weights
    )
    assert one.results.loc["equalized_odds", "estimate"] == pytest.approx(expected)


def test_regression_constraints():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2))
    groups = rng.choice(["a", "b"], size=1000)
    y = X[:, 0] + (groups == "a") + rng.normal(size=1000)
    model = LinearRegression().fit(X, y)
    certificate = _quiet(
        certify,
        model,
        X,
        y,
        sensitive_features=groups,
        constraint=["group_mean_parity", "group_loss_parity"],
        bound=1.0,
    )
    assert certificate.certified
    assert "positives" not in certificate.group_sizes
    with pytest.raises(ValueError, match="does not apply to a regressor"):
        certify(model, X, y, sensitive_features=groups)


def test_text_and_html(german, german_model):
    X, y = german
    certificate = _quiet(
        certify,
        german_model,
        X,
        y,
        sensitive_columns="sex",
        constraint={"demographic_parity": 0.5, "error_rate_parity": 0.001},
    )
    text = repr(certificate)
    assert text.startswith("Fairness certificate of Pipeline on 1000 held-out rows")
    assert "smallest 'female' with 310 rows" in text
    assert "NOT CERTIFIABLE with these rows" in text and "certified" in text
    page = certificate.to_html(full_page=True)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<tr class="fail">') == 1 and page.count('<tr class="pass">') == 1
    assert certificate._repr_html_() == certificate.to_html()
    assert "<details><summary>Group sizes</summary>" in page


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "certify needs the groups"),
        (
            {"sensitive_columns": "sex", "sensitive_features": np.zeros(1000)},
            ValueError,
            "one way only",
        ),
        ({"sensitive_columns": "sex", "constraint": "parity"}, ValueError, "no gap"),
        ({"sensitive_columns": "sex", "bound": -0.1}, ValueError, "non-negative"),
        ({"sensitive_columns": "sex", "constraint": []}, ValueError, "empty"),
        (
            {"sensitive_columns": "sex", "constraint": ["equalized_odds"] * 2},
            ValueError,
            "more than once",
        ),
        ({"sensitive_columns": "sex", "constraint": 3}, TypeError, "must be a name"),
        (
            {"sensitive_columns": "sex", "constraint": "group_mean_parity"},
            ValueError,
            "does not apply to a classifier",
        ),
        ({"sensitive_columns": "sex", "confidence": 95}, ValueError, "between 0"),
        ({"sensitive_features": np.zeros(10)}, ValueError, "has 10 rows, but X"),
    ],
)
def test_bad_input(german, german_model, kwargs, error, match):
    X, y = german
    with pytest.raises(error, match=match):
        certify(german_model, X, y, **kwargs)


@pytest.mark.slow
def test_adult_sex_by_race_cannot_certify_five_points():
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    model = make_pipeline(
        make_column_transformer((StandardScaler(), ADULT_NUMERIC)),
        LogisticRegression(),
    ).fit(X_train, y_train)
    with pytest.warns(BoundNotMetWarning) as record:
        certificate = certify(
            model, X_test, y_test, sensitive_columns=["sex", "race"], bound=0.05
        )
    sizes = certificate.group_sizes["rows"]
    assert len(sizes) == 10 and sizes.min() == 46
    assert sizes.idxmin() == "sex=Female, race=Other"
    row = certificate.results.loc["demographic_parity"]
    assert row["verdict"] == "NOT CERTIFIABLE with these rows"
    # the bound these rows can certify, named in the warning
    smallest = row["smallest_certifiable_bound"]
    assert 0.1 < smallest < 0.4
    message = str(record[0].message)
    assert "'sex=Female, race=Other': 46 rows" in message
    assert f"the smallest bound they can certify is {smallest:.3f}" in message
    # the same model certifies a bound that large by sex alone
    by_sex = certify(
        model, X_test, y_test, sensitive_columns="sex", bound=float(row["high"])
    )
    assert by_sex.certified
