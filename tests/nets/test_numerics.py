"""Numbers that stay finite between float64 input and float32 training (issue 22)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sklfair.nets import TabularNetClassifier, TabularNetRegressor
from sklfair.nets._numerics import check_divergence, weighted_location_scale
from sklfair.privacy import DPSGD


@pytest.fixture(scope="module")
def regression():
    return make_regression(n_samples=200, n_features=5, noise=1, random_state=0)


def regressor(**params):
    return TabularNetRegressor(
        **{"hidden_units": (16,), "max_epochs": 30, "random_state": 0, **params}
    )


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_regressor_targets_of_any_finite_scale(regression, scale):
    """Standardisation is scale-free: y * scale trains the same network as y
    (before: 1e300 overflowed the variance and predicted +-inf, 1e-300
    underflowed it and predicted a constant)."""
    X, y = regression
    reference = regressor().fit(X, y).predict(X)
    scaled = regressor().fit(X, y * scale).predict(X)
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled / scale, reference, rtol=1e-4, atol=1e-4)


def test_location_and_scale_against_numpy():
    rng = np.random.default_rng(0)
    y = rng.normal(3.0, 2.0, size=(50, 2))
    w = rng.uniform(0, 2, size=50)
    mean, std = weighted_location_scale(y, w)
    expected_mean = np.average(y, axis=0, weights=w)
    expected_std = np.sqrt(np.average((y - expected_mean) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(std, expected_std, rtol=1e-12)
    # far beyond the square's range, the same answer scaled
    big_mean, big_std = weighted_location_scale(y * 1e300, w)
    np.testing.assert_allclose(big_mean / 1e300, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(big_std / 1e300, expected_std, rtol=1e-12)
    # a constant column has scale 1
    assert weighted_location_scale(np.ones((4, 1)), np.ones(4))[1] == 1.0


def test_targets_beyond_float64_differences_are_an_error(regression):
    X, _ = regression
    y = np.where(np.arange(len(X)) % 4 == 0, -1.5e308, 1.5e308)  # mean 0.75e308
    # (sklearn's finiteness check sums y, which overflows: numpy's own warning)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="y spans more than float64's range"):
            regressor().fit(X, y)


def test_private_regressor_targets_beyond_float32_are_an_error(regression):
    X, y = regression
    with pytest.raises(ValueError, match="float32's range"):
        regressor(privacy=DPSGD(8.0), max_epochs=1).fit(X, y * 1e40)


@pytest.mark.parametrize("Estimator", [TabularNetClassifier, TabularNetRegressor])
def test_inputs_beyond_float32_are_an_error(Estimator):
    X, y = make_classification(n_samples=50, random_state=0)
    X[3, 2] = 1e39
    with pytest.raises(ValueError, match=r"X has values up to 1e\+39.*float32"):
        Estimator(max_epochs=1).fit(X, y)


def test_huge_equal_weights_train_like_unit_weights():
    """Weights whose sum overflows float64 are still equal weights."""
    X, y = make_classification(n_samples=200, random_state=0)
    params = dict(hidden_units=(8,), max_epochs=3, batch_size=32, random_state=0)
    plain = TabularNetClassifier(**params).fit(X, y)
    huge = TabularNetClassifier(**params).fit(X, y, sample_weight=np.full(200, 1e307))
    np.testing.assert_array_equal(plain.predict_proba(X), huge.predict_proba(X))


def test_divergence_warns():
    """Adam at lr=1e6 ends with a loss of about 1e18: a warning says so."""
    X, y = make_classification(n_samples=300, random_state=0)
    clf = TabularNetClassifier(lr=1e6, max_epochs=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged.*Lower lr") as record:
        clf.fit(X, y)
    assert len(record) == 1
    assert clf.history_["train_loss"].iloc[-1] > 1e3


def test_a_converging_fit_does_not_warn():
    X, y = make_classification(n_samples=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        TabularNetClassifier(max_epochs=3, random_state=0).fit(X, y)


def test_divergence_is_measured_against_the_loss_scale():
    with pytest.warns(ConvergenceWarning, match="from 0.7 .* to 1e\\+04"):
        check_divergence(0.7, 1e4, 3, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check_divergence(0.7, 500.0, 3, 1.0)  # bad, but not orders of magnitude
        check_divergence(1e-6, 1e-2, 3, 1.0)  # a converged fit's noise
        check_divergence(1e6, 1e8, 3, 1.0)  # large losses (unscaled targets)
