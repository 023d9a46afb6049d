"""scikit-learn's estimator checks for every public estimator, in every mode
that changes how it fits: each method of the constrained estimators, plain and
fair students, weights and resampling.

The checks fit on tiny random data sets, so the groups (two, from a fixed
function of each row) are small: the policy's SmallGroupWarning is expected
there, and the UnseenGroupWarning for rows with missing values that the checks
feed on purpose (both are tested on their own in tests/test_policy.py); so
are the feasibility and degeneracy warnings of tiny fits (tested in
tests/constrained/test_feasibility.py).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfair.constrained import FairConstrainedClassifier, FairConstrainedRegressor
from sklfair.constraints import Independence
from sklfair.distillation import DistilledClassifier, DistilledRegressor
from sklfair.nets import TabularNetClassifier, TabularNetRegressor
from sklfair.privacy import DPSGD
from sklfair.reweighting import ReweighingClassifier


def two_groups(X):
    """Two groups from a fixed function of each row's values.

    Unlike a median split, it does not depend on which rows are present, so
    repeating a row or giving it an integer weight keeps it in its group: the
    sample-weight equivalence checks stay meaningful.
    """
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    with np.errstate(invalid="ignore"):
        X = np.asarray(X, dtype=float)
        return (np.floor(X.sum(axis=1) / 2) + np.floor(X[:, 0] * 1000)) % 2


def continuous_attribute(X):
    """A continuous attribute from a fixed function of each row's values
    (nearly unrelated to the classes of the checks' data sets, so that
    independence from it leaves the accuracy the checks ask for)."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    with np.errstate(invalid="ignore"):
        X = np.asarray(X, dtype=float)
        return np.sin(7.3 * X.sum(axis=1) + 13.1 * X[:, 0])


def net(**params):
    defaults = dict(hidden_units=(16,), max_epochs=10, lr=1e-2, random_state=0)
    return TabularNetClassifier(**{**defaults, **params})


def regressor_net(**params):
    defaults = dict(max_epochs=20, random_state=0)
    return TabularNetRegressor(**{**defaults, **params})


def student(**params):
    defaults = dict(hidden_units=(16,), max_epochs=30, lr=1e-2, random_state=0)
    return TabularNetClassifier(**{**defaults, **params})


def private(cls):
    # batch_size=None: the checks' small data sets in one batch (sample rate
    # 1), where the accountant calibrates in milliseconds; Poisson batches
    # are tested in tests/privacy/
    return cls(
        max_epochs=20,
        lr=3e-2,
        batch_size=None,
        random_state=0,
        privacy=DPSGD(100.0, accept_weights=True),
    )


ESTIMATORS = [
    TabularNetClassifier(max_epochs=50, lr=1e-2, random_state=0),
    TabularNetRegressor(max_epochs=50, lr=1e-2, random_state=0),
    # private nets (DP-SGD)
    private(TabularNetClassifier),
    private(TabularNetRegressor),
    # reweighing: weights, columns kept, a weighted resample
    ReweighingClassifier(LogisticRegression(), sensitive_columns=two_groups),
    ReweighingClassifier(
        LogisticRegression(), sensitive_columns=two_groups, drop_sensitive=False
    ),
    ReweighingClassifier(
        KNeighborsClassifier(),
        sensitive_columns=two_groups,
        method="resample",
        random_state=0,
    ),
    # constrained: every method
    *[
        FairConstrainedClassifier(
            net(), bound=0.1, method=method, sensitive_columns=two_groups
        )
        for method in ("lagrangian", "penalty", "adversarial")
    ],
    # a dependence on a continuous attribute (its own training-loop term)
    *[
        FairConstrainedClassifier(
            net(),
            constraint=Independence(bound=0.1),
            method=method,
            sensitive_columns=continuous_attribute,
        )
        for method in ("lagrangian", "penalty")
    ],
    FairConstrainedClassifier(
        LogisticRegression(),
        method="reductions",
        bound=0.5,
        max_iter=3,
        sensitive_columns=two_groups,
    ),
    # binary: fairlearn's ThresholdOptimizer; the multi-class checks (iris,
    # 3-class weights) exercise the per-group offsets
    FairConstrainedClassifier(
        LogisticRegression(max_iter=1000),
        method="threshold",
        bound=0.1,
        sensitive_columns=two_groups,
        random_state=0,
    ),
    *[
        FairConstrainedRegressor(
            regressor_net(), bound=100.0, method=method, sensitive_columns=two_groups
        )
        for method in ("lagrangian", "penalty", "adversarial")
    ],
    FairConstrainedRegressor(
        LinearRegression(),
        constraint="bounded_group_loss",
        method="reductions",
        bound=100.0,
        max_iter=2,
        sensitive_columns=two_groups,
    ),
    # distillation: plain and fair students (tree teachers: integer weights
    # give the same tree as repeated rows, so the weight checks are exact)
    DistilledClassifier(
        DecisionTreeClassifier(max_depth=4, random_state=0), student(), random_state=0
    ),
    DistilledClassifier(
        DecisionTreeClassifier(max_depth=4, random_state=0),
        student(),
        constraint="demographic_parity",
        bound=0.5,
        sensitive_columns=two_groups,
        random_state=0,
    ),
    DistilledRegressor(
        DecisionTreeRegressor(max_depth=4, random_state=0),
        TabularNetRegressor(hidden_units=(16,), max_epochs=50, lr=1e-2, random_state=0),
        random_state=0,
    ),
]

RANDOMIZED = (
    "predict draws the decisions of fairlearn's randomized threshold rule and "
    "predict_proba gives their probabilities, so argmax(predict_proba) differs "
    "from predict on the rows between two thresholds (rounding instead breaks "
    "the constraint)"
)
RESAMPLED = (
    "a random weighted resample equals repeating the rows only in "
    "distribution, not draw for draw"
)
SAMPLING_WEIGHTS = (
    "the lagrangian's margin and floors (confidence > 0.5) are statistics of "
    "the rows, which take a weight as a sampling weight (Kish's effective "
    "size, as resolvable_bounds_ and certify do): k repeated rows are k rows, "
    "one row of weight k is fewer; the loss takes weight k as k rows "
    "(test_sample_weight_reaches_the_net)"
)


PRIVATE = {
    "check_fit_score_takes_y": (
        "calls partial_fit after a full fit: a private net refuses to train "
        "beyond the budget its fit was calibrated to spend"
    ),
    "check_sample_weights_not_overwritten": (
        "fits with a weight of 10: in a private fit weights are the rows' "
        "sampling rates, at most 1"
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "DP-SGD samples and clips rows one by one: a weight is a sampling "
        "rate, not a count of copies"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "DP-SGD samples and clips rows one by one: a weight is a sampling "
        "rate, not a count of copies"
    ),
}


def expected_failed_checks(estimator):
    if getattr(estimator, "privacy", None) is not None:
        return PRIVATE
    if getattr(estimator, "method", None) == "threshold":
        return {"check_classifiers_train": RANDOMIZED}
    if getattr(estimator, "method", None) == "resample":
        return {
            "check_sample_weight_equivalence_on_dense_data": RESAMPLED,
            "check_sample_weight_equivalence_on_sparse_data": RESAMPLED,
        }
    lagrangian = getattr(estimator, "method", None) == "lagrangian" or (
        isinstance(estimator, DistilledClassifier) and estimator.constraint is not None
    )
    # rates between groups of a classifier have a margin and floors (a
    # dependence on a continuous attribute has neither)
    rates = is_classifier(estimator) and not getattr(
        getattr(estimator, "constraint", None), "continuous_attribute", False
    )
    if lagrangian and rates and estimator.confidence > 0.5:
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLING_WEIGHTS,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLING_WEIGHTS,
        }
    return {}


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.SmallGroupWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.UnseenGroupWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.UndefinedRateWarning")
@pytest.mark.filterwarnings("ignore:Reweighing.*cell:UserWarning")
@pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at")
@pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
