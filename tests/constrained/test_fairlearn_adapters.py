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

from sklfair.constrained import FairConstrainedClassifier
from sklfair.constrained._fairlearn import (
    aimed_bound,
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


def test_reductions_aim_at_the_bound_minus_the_margin():
    # the one-sided 95% normal quantile, by scipy
    from scipy.stats import norm

    z = norm.ppf(0.95)
    rng = np.random.RandomState(0)
    # two large groups and one of 20 rows, 30% positives
    groups = np.repeat([0, 1, 2], [6000, 3000, 20])
    y = (rng.rand(len(groups)) < 0.3).astype(int)
    p = y.mean()
    # the 20-row group's pairs cannot resolve 0.05 (margin > 0.025): only
    # the large pair sets the margin
    large = z * np.sqrt(p * (1 - p) * (1 / 6000 + 1 / 3000))
    small = z * np.sqrt(p * (1 - p) * (1 / 3000 + 1 / 20))
    assert large < 0.025 < small
    dp = DemographicParity(bound=0.05)
    assert aimed_bound(dp, y, groups, 0.95) == pytest.approx(0.05 - large)
    assert aimed_bound(dp, y, groups, 0.5) == 0.05
    # equalized odds: each label's rows at the least favourable rate 0.5;
    # here the positives' large pair cannot resolve 0.05 either
    margins = [
        z * 0.5 * np.sqrt(1 / n[0] + 1 / n[1])
        for n in (np.bincount(groups[y == label])[:2] for label in (1, 0))
    ]
    assert margins[0] > 0.025 > margins[1]
    expected = 0.05 - margins[1]
    eo = EqualizedOdds(bound=0.05)
    assert aimed_bound(eo, y, groups, 0.95) == pytest.approx(expected)


# five iterations need not meet the bound: only what fairlearn is given counts
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
def test_reductions_fit_passes_the_aimed_bound_to_fairlearn():
    X, y, groups = biased(n=3000, n_groups=2)
    aimed = aimed_bound(DemographicParity(bound=0.1), y, groups, 0.95)
    for confidence, bound in [(0.95, aimed), (0.5, 0.1)]:
        clf = FairConstrainedClassifier(
            LogisticRegression(),
            bound=0.1,
            method="reductions",
            confidence=confidence,
            max_iter=5,
        ).fit(X, y, sensitive_features=groups)
        moment = fairlearn_moment(DemographicParity(bound=bound), y, groups)
        assert clf.estimator_.constraints.eps == pytest.approx(moment.eps)
        assert clf.constraint_.bound == 0.1  # the claim is about the bound
