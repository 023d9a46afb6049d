"""Constraint objects: estimator-like parameters, validation, bounds, resolving."""

import copy

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from sklfair.constrained import FairConstrainedClassifier
from sklfair.constraints import (
    DEFAULT_BOUNDS,
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    GroupLossParity,
    GroupMeanParity,
    resolve_constraint,
    resolve_constraints,
)
from sklfair.metrics import make_fairness_scorer
from sklfair.nets import TabularNetClassifier


def test_parameters_are_gettable_settable_and_cloned():
    constraint = EqualizedOdds(bound=0.05, temperature=0.3)
    assert constraint.get_params() == {"bound": 0.05, "temperature": 0.3}
    assert constraint.set_params(bound=0.1) is constraint and constraint.bound == 0.1
    cloned = clone(constraint)
    assert cloned == constraint and cloned is not constraint
    assert copy.deepcopy(constraint) == constraint
    assert constraint != EqualizedOdds()
    assert repr(constraint) == "EqualizedOdds(bound=0.1, temperature=0.3)"
    assert GroupMeanParity(bound=2.0).get_params() == {"bound": 2.0}


@pytest.mark.parametrize(
    "constraint, match",
    [
        (DemographicParity(bound=1.5), "'bound' parameter of DemographicParity"),
        (EqualizedOdds(temperature=0), "'temperature' parameter of EqualizedOdds"),
        (ErrorRateParity(bound="a"), "'bound' parameter of ErrorRateParity"),
        (GroupMeanParity(bound=-1.0), "'bound' parameter of GroupMeanParity"),
    ],
)
def test_bad_parameters_get_sklearns_message(constraint, match):
    with pytest.raises(InvalidParameterError, match=match):
        resolve_constraint(constraint, constraint.task)


def test_regression_bounds_are_not_capped_at_one():
    assert resolve_constraint(BoundedGroupLoss(bound=4.0), "regression").bound == 4.0


def test_resolve_sets_the_bound_from_one_place():
    assert resolve_constraint("equal_opportunity", bound=0.05) == EqualOpportunity(
        bound=0.05
    )
    assert (
        resolve_constraint("demographic_parity").bound
        == DEFAULT_BOUNDS["classification"]
    )
    assert resolve_constraint("group_loss_parity", "regression").bound == 0.1
    mine = DemographicParity(temperature=0.5)
    resolved = resolve_constraint(mine, bound=0.04)
    assert resolved == DemographicParity(bound=0.04, temperature=0.5)
    assert mine.bound is None  # the caller's object is never modified
    own = DemographicParity(bound=0.03)
    assert resolve_constraint(own).bound == 0.03
    assert resolve_constraint(own, bound=0.03).bound == 0.03
    with pytest.raises(ValueError, match="Two bounds"):
        resolve_constraint(own, bound=0.05)


def test_resolve_rejects_the_wrong_kind():
    with pytest.raises(ValueError, match="for the other kind of estimator"):
        resolve_constraint("group_mean_parity")
    with pytest.raises(ValueError, match="regression constraint"):
        resolve_constraint(GroupMeanParity())
    with pytest.raises(TypeError, match="FairnessConstraint"):
        resolve_constraint(0.1)


def test_several_constraints():
    resolved = resolve_constraints(
        [DemographicParity(bound=0.02), "error_rate_parity"], default=0.03
    )
    assert resolved == [DemographicParity(bound=0.02), ErrorRateParity(bound=0.03)]
    with pytest.raises(ValueError, match="more than once"):
        resolve_constraints([DemographicParity(), DemographicParity(bound=0.1)])
    with pytest.raises(ValueError, match="empty list"):
        resolve_constraints([])
    assert resolve_constraints(GroupLossParity(), "regression") == [
        GroupLossParity(bound=0.1)
    ]


# tiny fits: some bounds are not met, or tighter than 200-row groups resolve
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning")
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
def test_constraint_bound_and_temperature_are_searchable():
    rng = np.random.RandomState(0)
    n = 400
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n) + group, rng.normal(size=n), group])
    y = (X[:, 0] + rng.normal(0, 0.5, n) > 0.5).astype(int)
    estimator = FairConstrainedClassifier(
        TabularNetClassifier(hidden_units=(8,), max_epochs=3, random_state=0),
        constraint=DemographicParity(bound=0.1),
        sensitive_columns=[2],
    )
    grid = {
        "constraint__bound": [0.05, 0.5],
        "constraint__temperature": [0.25, 1.0],
    }
    search = GridSearchCV(
        estimator,
        grid,
        scoring={
            "accuracy": "accuracy",
            "dp": make_fairness_scorer(
                "demographic_parity_difference", sensitive_columns=[2]
            ),
        },
        refit="accuracy",
        cv=2,
    )
    search.fit(X, y)
    assert [p["constraint__bound"] for p in search.cv_results_["params"]] == [
        0.05,
        0.05,
        0.5,
        0.5,
    ]
    best = search.best_estimator_
    assert best.constraint_.bound == search.best_params_["constraint__bound"]
    assert (
        best.constraint_.temperature == search.best_params_["constraint__temperature"]
    )
    assert estimator.constraint == DemographicParity(bound=0.1)  # untouched
