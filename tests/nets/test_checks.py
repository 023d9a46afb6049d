"""Every public net passes sklearn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfair.nets import TabularNetClassifier, TabularNetRegressor


@parametrize_with_checks(
    [
        TabularNetClassifier(max_epochs=50, lr=1e-2, random_state=0),
        TabularNetRegressor(max_epochs=50, lr=1e-2, random_state=0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
