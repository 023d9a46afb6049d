"""The claim a fitted model makes about its bound agrees with the metric."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from sklfair.constrained import FairConstrainedClassifier
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import BoundNotMetWarning, UndefinedRateWarning
from sklfair.metrics import equalized_odds_difference
from sklfair.nets import TabularNetClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


def one_group_without_negatives(n=300, seed=0):
    rng = np.random.RandomState(seed)
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n), group])
    y = (X[:, 0] + rng.normal(0, 0.5, n) > 0).astype(int)
    y[group == 1] = 1  # group 1 has no negatives: no false positive rate
    return X, y, group


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
@pytest.mark.parametrize("method", ["lagrangian", "penalty"])
def test_an_undefined_rate_counts_as_zero_like_the_metric(method):
    X, y, group = one_group_without_negatives()
    clf = FairConstrainedClassifier(
        TabularNetClassifier(hidden_units=(8,), max_epochs=10, random_state=0),
        constraint="equalized_odds",
        bound=0.05,
        method=method,
        sensitive_columns=[2],
    )
    with pytest.warns(UndefinedRateWarning, match="false_positive_rate of group 1"):
        clf.fit(X, y)
    # the metric counts it as 0 too, and says so in the same words
    with pytest.warns(UndefinedRateWarning, match="false_positive_rate of group 1"):
        metric = equalized_odds_difference(y, clf.predict(X), sensitive_features=group)
    assert clf.constraint_violation_ == pytest.approx(metric - 0.05)


def test_the_threshold_method_names_a_degenerate_group():
    X, y, _ = one_group_without_negatives()
    clf = FairConstrainedClassifier(
        LogisticRegression(),
        constraint="equalized_odds",
        method="threshold",
        sensitive_columns=[2],
    )
    with pytest.raises(ValueError, match=r"the group 1\.0: its rows have one label"):
        clf.fit(X, y)


def test_the_fair_student_states_whether_it_met_its_bound():
    # the label is the group, and a feature is a close proxy of it: one epoch
    # at a high learning rate learns it, with no epoch left to undo it
    rng = np.random.RandomState(0)
    n = 400
    group = rng.randint(2, size=n)
    X = np.column_stack([group + rng.normal(0, 0.1, n), rng.normal(size=n), group])
    y = group.copy()
    student = TabularNetClassifier(
        hidden_units=(8,), max_epochs=1, lr=0.3, random_state=0
    )
    clf = DistilledClassifier(
        LogisticRegression(),
        student,
        constraint="demographic_parity",
        bound=0.01,
        sensitive_columns=[2],
    )
    with pytest.warns(BoundNotMetWarning, match="student did not meet the bound"):
        clf.fit(X, y)
    assert clf.constraint_violation_ > 0
    with pytest.raises(InvalidParameterError, match="'bound' parameter"):
        clf.set_params(bound=1.5).fit(X, y)
    plain = DistilledClassifier(LogisticRegression(), student).fit(X[:, :2], y)
    assert np.isnan(plain.constraint_violation_) and plain.constraint_ is None


def test_reductions_on_groups_too_small_names_the_group():
    X = np.array([[0.0, 0], [1.0, 1]])
    y = np.array([0, 1])
    clf = FairConstrainedClassifier(
        LogisticRegression(), method="reductions", sensitive_columns=[1]
    )
    with pytest.warns(UserWarning):  # small groups, a bound they cannot resolve
        with pytest.raises(ValueError, match=r"the smallest, 0\.0, has 1\)"):
            clf.fit(X, y)
