"""The one sensitive-attribute policy holds for every fairness meta-estimator.

One test per row of the policy table (see the user guide's "sensitive
attributes" page and ``sklfair._sensitive``), each run on all five
meta-estimators: the same case gets the same named error or warning.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from sklfair._sensitive import MIN_GROUP_SIZE
from sklfair.constrained import FairConstrainedClassifier, FairConstrainedRegressor
from sklfair.distillation import DistilledClassifier, DistilledRegressor
from sklfair.exceptions import (
    ContinuousSensitiveAttributeWarning,
    NoSensitiveAttributeWarning,
    SensitiveAttributeError,
    SmallGroupWarning,
    UnseenGroupWarning,
)
from sklfair.nets import TabularNetClassifier, TabularNetRegressor
from sklfair.reweighting import ReweighingClassifier

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
    # the nets train for a few epochs only: the bounds are beside the point
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning"),
]


def _net(regression=False):
    cls = TabularNetRegressor if regression else TabularNetClassifier
    return cls(hidden_units=(8,), max_epochs=2, random_state=0)


ESTIMATORS = {
    "reweighing": ReweighingClassifier(LogisticRegression(), sensitive_columns="group"),
    "constrained classifier": FairConstrainedClassifier(
        _net(), bound=0.2, sensitive_columns="group"
    ),
    "constrained regressor": FairConstrainedRegressor(
        _net(regression=True), bound=10.0, sensitive_columns="group"
    ),
    "distilled classifier": DistilledClassifier(
        LogisticRegression(),
        _net(),
        constraint="demographic_parity",
        bound=0.2,
        sensitive_columns="group",
    ),
    "distilled regressor": DistilledRegressor(
        LinearRegression(),
        _net(regression=True),
        constraint="group_mean_parity",
        bound=10.0,
        sensitive_columns="group",
    ),
}


def _data(estimator, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "group": rng.integers(0, 2, size=n),
        }
    )
    signal = X["x1"] + 0.5 * X["group"]
    if "Regressor" in type(estimator).__name__:
        return X, signal.to_numpy()
    return X, (signal + rng.normal(0, 0.5, n) > 0.25).astype(int).to_numpy()


@pytest.fixture(params=list(ESTIMATORS), ids=list(ESTIMATORS))
def estimator(request):
    return clone(ESTIMATORS[request.param])


def test_missing_attribute_warns_and_fits_without_the_mitigation(estimator):
    X, y = _data(estimator)
    X = X.drop(columns="group")
    estimator.set_params(sensitive_columns=None)
    with pytest.warns(NoSensitiveAttributeWarning, match="no sensitive attribute"):
        estimator.fit(X, y)
    assert estimator.groups_ is None
    assert estimator.predict(X).shape == (len(X),)


def test_both_ways_at_once_is_an_error(estimator):
    X, y = _data(estimator)
    with pytest.raises(SensitiveAttributeError, match="Both sensitive_columns"):
        estimator.fit(X, y, sensitive_features=X["group"])


def test_a_single_group_is_an_error(estimator):
    X, y = _data(estimator)
    X["group"] = 1
    with pytest.raises(SensitiveAttributeError, match="only 1 group"):
        estimator.fit(X, y)


def test_a_single_group_of_positive_weight_is_an_error(estimator):
    X, y = _data(estimator)
    weight = (X["group"] == 1).astype(float).to_numpy()
    with pytest.raises(SensitiveAttributeError, match="only the group 1"):
        estimator.fit(X, y, sample_weight=weight)


def test_a_small_group_warns_with_its_size(estimator):
    X, y = _data(estimator)
    X["group"] = np.where(np.arange(len(X)) < MIN_GROUP_SIZE - 1, 2, X["group"])
    size = MIN_GROUP_SIZE - 1
    with pytest.warns(SmallGroupWarning, match=rf"2: {size} rows"):
        estimator.fit(X, y)
    assert list(estimator.groups_) == [0, 1, 2]
    assert estimator.group_sizes_[2] == size


def test_missing_values_in_the_attribute_are_an_error(estimator):
    X, y = _data(estimator)
    X["group"] = X["group"].astype(float)
    X.loc[[3, 7], "group"] = np.nan
    with pytest.raises(SensitiveAttributeError, match="2 missing value"):
        estimator.fit(X, y)


def _ages(X, seed=1):
    return np.random.default_rng(seed).uniform(18, 80, len(X)).round(1)


def test_a_continuous_attribute_warns_and_is_cut_into_quantile_bins(estimator):
    X, y = _data(estimator)
    X["group"] = _ages(X)
    with pytest.warns(
        ContinuousSensitiveAttributeWarning, match=r"looks continuous.*4 quantile"
    ):
        estimator.fit(X, y)
    points = np.quantile(X["group"], [0.25, 0.5, 0.75], method="inverted_cdf")
    np.testing.assert_allclose(estimator.sensitive_bins_["group"], points)
    assert len(estimator.groups_) == 4
    np.testing.assert_array_equal(
        estimator.group_sizes_,
        np.bincount(np.searchsorted(points, X["group"]), minlength=4),
    )
    # new rows are cut with the fit's points: no warning, no unseen group
    X_new = X.iloc[:20].copy()
    X_new["group"] = np.linspace(0, 120, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert estimator.predict(X_new).shape == (20,)


def test_explicit_bins_are_silent_and_kept(estimator):
    X, y = _data(estimator)
    X["group"] = _ages(X)
    estimator.set_params(sensitive_bins={"group": [40]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContinuousSensitiveAttributeWarning)
        estimator.fit(X, y)
    assert list(estimator.groups_) == ["<=40", ">40"]
    np.testing.assert_array_equal(estimator.sensitive_bins_["group"], [40.0])
    estimator.set_params(sensitive_bins=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContinuousSensitiveAttributeWarning)
        estimator.fit(X, y)
    assert len(estimator.groups_) == 3


def test_a_discrete_attribute_is_not_binned(estimator):
    X, y = _data(estimator)
    estimator.set_params(sensitive_bins=3)
    estimator.fit(X, y)  # two values: fewer than 3 bins would hold
    assert estimator.sensitive_bins_ is None
    np.testing.assert_array_equal(estimator.groups_, [0, 1])


def test_an_unseen_group_at_prediction_warns_and_predicts(estimator):
    X, y = _data(estimator)
    estimator.fit(X, y)
    X_new = X.iloc[:10].copy()
    X_new.loc[X_new.index[:3], "group"] = 5
    with pytest.warns(UnseenGroupWarning, match=r"3 row\(s\).*not seen at fit: 5"):
        predicted = estimator.predict(X_new)
    assert predicted.shape == (10,)
    np.testing.assert_array_equal(predicted[3:], estimator.predict(X.iloc[3:10]))


def test_the_groups_are_recorded_alike(estimator):
    X, y = _data(estimator)
    estimator.fit(X, y)
    np.testing.assert_array_equal(estimator.groups_, [0, 1])
    np.testing.assert_array_equal(
        estimator.group_sizes_, np.bincount(X["group"], minlength=2)
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_one_class_among_the_weighted_rows_is_refused(weighted):
    """One class in y, or one class among the rows of positive weight: a
    clear error naming the class, for every meta-estimator (the check lives
    in the shared layer)."""
    from sklearn.linear_model import LogisticRegression

    from sklfair.reweighting import ReweighingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    groups = np.tile(["a", "b"], 20)
    if weighted:
        y = np.tile(["no", "yes"], 20)
        weight = (y == "yes").astype(float)
    else:
        y, weight = np.full(40, "yes"), None
    with pytest.raises(ValueError, match=r"one class \('yes'\)"):
        ReweighingClassifier(LogisticRegression()).fit(
            X, y, sensitive_features=groups, sample_weight=weight
        )
