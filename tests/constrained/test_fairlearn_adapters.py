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
from sklfair.constrained._claim import claimed_gap
from sklfair.constrained._fairlearn import (
    aimed_bound,
    fairlearn_moment,
    fairlearn_pandas_warnings,
    fit_threshold,
    mixture_proba,
    mixture_threshold,
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


def _gap_and_accuracy(constraint, proba, cut, y, groups, weight):
    """The oracle: the gap of the decisions ``proba > cut`` by hand (each
    group's weighted rate; the largest difference), and their weighted
    accuracy."""
    decided = (proba > cut).astype(int)
    weight = np.ones(len(y)) if weight is None else weight
    events = {
        "demographic_parity": [(decided == 1, np.ones(len(y), bool))],
        "equalized_odds": [(decided == 1, y == 1), (decided == 1, y == 0)],
        "error_rate_parity": [(decided != y, np.ones(len(y), bool))],
    }[constraint.name]
    gap = 0.0
    for hit, event in events:
        rates = [
            np.average(
                hit[(groups == g) & event], weights=weight[(groups == g) & event]
            )
            for g in np.unique(groups)
        ]
        gap = max(gap, max(rates) - min(rates))
    return gap, np.average(decided == y, weights=weight)


def _fairlearn_gap(constraint, pred, y, groups, weight):
    from fairlearn.metrics import (
        demographic_parity_difference,
        equalized_odds_difference,
    )

    metric = {
        "demographic_parity": demographic_parity_difference,
        "equalized_odds": equalized_odds_difference,
    }[constraint.name]
    return metric(y, pred, sensitive_features=groups, sample_weight=weight)


def _weighted_quantiles(proba, weight):
    """The inverted-CDF quantiles of the weighted rows."""
    rows = np.repeat(np.arange(len(proba)), weight.astype(int))
    return np.quantile(proba[rows], np.linspace(0, 1, 401), method="inverted_cdf")


@pytest.mark.parametrize(
    "constraint",
    [DemographicParity(), EqualizedOdds(), ErrorRateParity()],
    ids=lambda c: c.name,
)
def test_mixture_threshold_is_the_most_accurate_cut_that_meets_the_bound(
    constraint,
):
    rng = np.random.RandomState(1)
    groups = rng.randint(3, size=900)
    # scores leaning on the group: the most probable class is unfair
    proba = np.clip(rng.beta(2, 2, size=900) + 0.15 * (groups - 1), 0, 1)
    y = (rng.rand(900) < proba).astype(int)
    weight = rng.randint(1, 4, size=900).astype(float)
    gap_half, _ = _gap_and_accuracy(constraint, proba, 0.5, y, groups, weight)
    aimed = 0.5 * gap_half
    cut = mixture_threshold(proba, constraint, aimed, y, groups, weight, 3)
    gap, accuracy = _gap_and_accuracy(constraint, proba, cut, y, groups, weight)
    assert cut != 0.5 and gap <= aimed
    if constraint.name != "error_rate_parity":  # the oracle's oracle
        pred = (proba > cut).astype(int)
        assert _fairlearn_gap(constraint, pred, y, groups, weight) == pytest.approx(
            gap, abs=1e-12
        )
    # no candidate cut that meets the aimed bound is more accurate
    candidates = np.append(_weighted_quantiles(proba, weight), 0.5)
    for other in candidates:
        other_gap, other_accuracy = _gap_and_accuracy(
            constraint, proba, other, y, groups, weight
        )
        if other_gap <= aimed:
            assert other_accuracy <= accuracy + 1e-12
    # integer weights are repeated rows
    rows = np.repeat(np.arange(900), weight.astype(int))
    repeated = mixture_threshold(
        proba[rows], constraint, aimed, y[rows], groups[rows], None, 3
    )
    assert _gap_and_accuracy(constraint, proba, repeated, y, groups, weight) == (
        gap,
        accuracy,
    )


def test_mixture_threshold_keeps_the_most_probable_class_when_it_meets_the_bound():
    rng = np.random.RandomState(2)
    groups = rng.randint(2, size=500)
    proba = rng.rand(500)  # the groups' scores alike
    y = (rng.rand(500) < proba).astype(int)
    decisions = np.eye(2)[(proba > 0.5).astype(int)]
    dp = DemographicParity()
    gap = claimed_gap(dp, y, decisions, groups, None, np.arange(2))
    assert mixture_threshold(proba, dp, gap, y, groups, None, 2) == 0.5
    # an unreachable bound: the cut of the smallest gap (every row one way)
    cut = mixture_threshold(proba, EqualizedOdds(), -1.0, y, groups, None, 2)
    eo_gaps = [
        _gap_and_accuracy(EqualizedOdds(), proba, c, y, groups, None)[0]
        for c in np.append(_weighted_quantiles(proba, np.ones(500)), 0.5)
    ]
    assert _gap_and_accuracy(EqualizedOdds(), proba, cut, y, groups, None)[
        0
    ] == pytest.approx(min(eo_gaps))


def test_reductions_decisions_keep_the_bound_the_randomized_rule_keeps():
    # ExpGrad bounds the gap of its randomized rule; deciding the mixture's
    # most probable class can break it: the fitted cut keeps it
    rng = np.random.RandomState(1)
    groups = rng.randint(2, size=3000)
    X = np.column_stack([rng.normal(size=3000) + 0.2 * groups, rng.normal(size=3000)])
    y = (X.sum(axis=1) + rng.normal(0, 1.0, 3000) > 0.5).astype(int)
    clf = FairConstrainedClassifier(
        LogisticRegression(),
        bound=0.02,
        method="reductions",
        confidence=0.5,
        max_iter=30,
    ).fit(X, y, sensitive_features=groups)
    proba = clf.predict_proba(X)[:, 1]
    dp = DemographicParity()
    before, before_accuracy = _gap_and_accuracy(dp, proba, 0.5, y, groups, None)
    assert before > 0.03  # the case this guards against
    pred = clf.predict(X)
    assert clf.decision_threshold_ > 0.5
    np.testing.assert_array_equal(pred, proba > clf.decision_threshold_)
    after, accuracy = _gap_and_accuracy(
        dp, proba, clf.decision_threshold_, y, groups, None
    )
    assert after <= 0.02
    assert clf.constraint_violation_ == pytest.approx(after - 0.02, abs=1e-12)
    assert before_accuracy - 0.01 < accuracy < before_accuracy


def test_mixture_threshold_holds_a_small_pair_to_its_floor():
    # two groups of 3,000 rows and one of 25: the small group's pairs cannot
    # resolve the aimed bound, and are held to their floors (as in the
    # lagrangian), not to the bound; the large pair is held to the bound
    from sklfair.constrained._feasibility import gap_floors
    from sklfair.constraints._rates import pair_index

    rng = np.random.RandomState(4)
    groups = np.repeat([0, 1, 2], [3000, 3000, 25])
    proba = np.clip(rng.beta(2, 2, size=len(groups)) + 0.2 * (groups == 1), 0, 1)
    proba[groups == 2] = np.clip(proba[groups == 2] - 0.25, 0, 1)
    y = (rng.rand(len(groups)) < proba).astype(int)
    dp, aimed = DemographicParity(), 0.05
    floors = gap_floors(dp, y, groups, None, 3, 0.95)
    first, second = pair_index(3)
    small = (first == 2) | (second == 2)
    assert np.all(floors[small] > 0.1) and np.all(floors[~small] < aimed)
    cut = mixture_threshold(proba, dp, aimed, y, groups, None, 3, confidence=0.95)
    assert cut != 0.5  # the most probable class breaks the bound

    def pair_gaps(cut):
        decided = proba > cut
        rates = np.array([decided[groups == g].mean() for g in range(3)])
        return rates[first] - rates[second], np.mean(decided == y)

    gaps, accuracy = pair_gaps(cut)
    assert np.all(gaps[~small] <= aimed)
    assert np.all(gaps[small] <= floors[small])
    assert np.max(np.abs(gaps[small])) > aimed  # the floor, not the bound
    # more accurate than any cut holding every pair to the bound
    for other in _weighted_quantiles(proba, np.ones(len(proba))):
        other_gaps, other_accuracy = pair_gaps(other)
        if np.all(other_gaps <= aimed):
            assert other_accuracy < accuracy
    # without floors (confidence 0.5) every pair is held to the bound
    no_floor = mixture_threshold(proba, dp, aimed, y, groups, None, 3)
    assert np.all(pair_gaps(no_floor)[0] <= aimed)
