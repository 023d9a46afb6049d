"""The fairlearn adapters: Moments for the reductions, and the threshold rule
and reductions mixture read through fairlearn's public fitted attributes.

fairlearn computes its own probabilities in private methods
(``_pmf_predict``); sklfair does not call them. The tests below do, to pin
that the public attributes sklfair reads (``interpolation_dict``,
``predictors_``, ``weights_``) give fairlearn's own numbers with the
installed version.
"""

import numpy as np
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import (
    BoundedGroupLoss as FairlearnBoundedGroupLoss,
)
from fairlearn.reductions import (
    DemographicParity as FairlearnDemographicParity,
)
from fairlearn.reductions import (
    EqualizedOdds as FairlearnEqualizedOdds,
)
from fairlearn.reductions import (
    ErrorRateParity as FairlearnErrorRateParity,
)
from fairlearn.reductions import ExponentiatedGradient, TruePositiveRateParity
from sklearn.linear_model import LogisticRegression

from sklfair.constrained._fairlearn import (
    fairlearn_moment,
    fairlearn_pandas_warnings,
    fit_threshold,
    mixture_proba,
    threshold_proba,
)
from sklfair.constraints import (
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    GroupMeanParity,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at"),
    pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype"),
]


def biased(n=600, n_groups=3, seed=0):
    rng = np.random.RandomState(seed)
    groups = rng.randint(n_groups, size=n)
    X = np.column_stack([rng.normal(size=n) + 0.6 * groups, rng.normal(size=n)])
    y = (X[:, 0] + rng.normal(0, 0.7, n) > 0.7).astype(int)
    return X, y, groups


@pytest.mark.parametrize(
    "constraint, moment",
    [
        (DemographicParity(bound=0.04), FairlearnDemographicParity),
        (EqualizedOdds(bound=0.04), FairlearnEqualizedOdds),
        (EqualOpportunity(bound=0.04), TruePositiveRateParity),
        (ErrorRateParity(bound=0.04), FairlearnErrorRateParity),
    ],
)
def test_moment_types_and_safe_bound_for_several_groups(constraint, moment):
    _, y, groups = biased()
    result = fairlearn_moment(constraint, y, groups)
    assert type(result) is moment
    assert result.eps == pytest.approx(0.02)  # bound / 2 with three groups


def test_moment_bound_is_exact_for_two_groups():
    # shares .75 / .25: |rate_g - overall| = (1 - share_g) * difference, so a
    # between-group difference of `bound` puts the small group at .75 * bound.
    groups = np.array([0] * 75 + [1] * 25)
    y = np.tile([0, 1], 50)
    moment = fairlearn_moment(DemographicParity(bound=0.04), y, groups)
    assert moment.eps == pytest.approx(0.03)
    pred = np.where(groups == 0, 0.5, 0.54)  # difference .04: on the boundary
    with fairlearn_pandas_warnings():
        moment.load_data(np.zeros((100, 1)), y, sensitive_features=groups)
        assert moment.gamma(lambda X: pred).abs().max() == pytest.approx(0.03)


def test_bounded_group_loss_moment_and_no_moment():
    moment = fairlearn_moment(
        BoundedGroupLoss(bound=0.5), np.array([0.0, 2.0, 1.0]), np.array([0, 1, 1])
    )
    assert isinstance(moment, FairlearnBoundedGroupLoss)
    assert moment.upper_bound == 0.5
    with pytest.raises(ValueError, match="no reductions Moment"):
        fairlearn_moment(GroupMeanParity(bound=0.1), np.zeros(3), np.array([0, 1, 1]))


@pytest.mark.parametrize("constraint", [DemographicParity(bound=0.02), EqualizedOdds()])
def test_threshold_probabilities_are_fairlearns(constraint):
    X, y, groups = biased()
    model = LogisticRegression().fit(X, y)
    optimizer = fit_threshold(
        model, constraint.set_params(bound=0.02), X, y, groups, params={}
    )
    ours = threshold_proba(optimizer, X, groups)
    with fairlearn_pandas_warnings():
        theirs = optimizer._pmf_predict(X, sensitive_features=groups)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert isinstance(optimizer, ThresholdOptimizer)


def test_reductions_mixture_reads_fairlearns_public_attributes():
    X, y, groups = biased()
    reduction = ExponentiatedGradient(
        LogisticRegression(),
        constraints=fairlearn_moment(DemographicParity(bound=0.05), y, groups),
        max_iter=10,
    )
    with fairlearn_pandas_warnings():
        reduction.fit(X, y, sensitive_features=groups)
        theirs = reduction._pmf_predict(X)
    weights = reduction.weights_[reduction.weights_ > 0]
    assert len(weights) > 1  # a real mixture
    # fairlearn mixes the predictors' decisions; sklfair their probabilities
    decisions = sum(
        w * np.eye(2)[reduction.predictors_[i].predict(X)] for i, w in weights.items()
    )
    np.testing.assert_allclose(decisions / weights.sum(), theirs, atol=1e-12)
    soft = sum(
        w * reduction.predictors_[i].predict_proba(X) for i, w in weights.items()
    )
    np.testing.assert_allclose(mixture_proba(reduction, X), soft / weights.sum())
