"""Reweighing weights from Laplace-noised counts."""

import numpy as np
import pytest

from sklfair.privacy import noisy_fair_sample_weight
from sklfair.reweighting import fair_sample_weight


@pytest.fixture(scope="module")
def cells():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], size=3000, p=[0.5, 0.3, 0.2])
    y = rng.random(3000) < np.select([groups == "a", groups == "b"], [0.2, 0.5], 0.7)
    return y.astype(int), groups


def test_without_noise_they_are_kamiran_calders_weights(cells):
    y, groups = cells
    noisy = noisy_fair_sample_weight(y, groups, epsilon=1e9, random_state=0)
    exact = fair_sample_weight(y, groups)
    np.testing.assert_allclose(noisy, exact / exact.max(), rtol=1e-6)


def test_the_noise_shrinks_as_epsilon_grows(cells):
    y, groups = cells
    exact = fair_sample_weight(y, groups)
    exact /= exact.max()

    def error(epsilon):
        return np.mean(
            [
                np.abs(
                    noisy_fair_sample_weight(y, groups, epsilon=epsilon, random_state=s)
                    - exact
                ).mean()
                for s in range(20)
            ]
        )

    assert error(0.05) > 3 * error(1.0) > 0
    same = noisy_fair_sample_weight(y, groups, epsilon=1.0, random_state=3)
    np.testing.assert_array_equal(
        same, noisy_fair_sample_weight(y, groups, epsilon=1.0, random_state=3)
    )
