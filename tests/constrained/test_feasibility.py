"""Feasibility before fitting, degeneracy after, the margin that respects group
sizes, and an adversary beside a bounded constraint."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from sklfair.constrained import (
    AdversarialTerm,
    FairConstrainedClassifier,
    LagrangianTerm,
    fairness_terms,
)
from sklfair.constrained._feasibility import gap_floors, resolvable_bounds
from sklfair.constrained._gap_term import GapTerm
from sklfair.constraints import DemographicParity, EqualizedOdds
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import DegenerateModelWarning, InfeasibleBoundWarning
from sklfair.metrics import certify
from sklfair.metrics._analytic import newcombe, z_value
from sklfair.nets import TabularNetClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")


def categories(fit):
    """The warning classes a call emits."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fit()
    return {w.category for w in record}


def data(sizes=(300, 1200), seed=0):
    rng = np.random.RandomState(seed)
    group = np.repeat(np.arange(len(sizes)), sizes)
    n = len(group)
    X = np.column_stack([rng.normal(size=n) + 0.5 * group, rng.normal(size=n), group])
    y = (X[:, 0] + rng.normal(0, 0.7, n) > 0.5).astype(int)
    return X, y, group


class Oracle(ClassifierMixin, BaseEstimator):
    """Predicts the true label of each row (it is given the labels at fit)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.lookup_ = dict(zip(map(tuple, np.asarray(X)), y, strict=True))
        return self

    def predict(self, X):
        return np.array([self.lookup_[tuple(row)] for row in np.asarray(X)])


def test_resolvable_bound_is_newcombes_half_width_for_two_groups():
    X, y, group = data()
    bounds = resolvable_bounds(
        [DemographicParity(bound=0.02)], y, group, None, 2, confidence=0.95
    )
    bound, (a, b, n_a, n_b, rate) = bounds["demographic_parity"]
    assert (a, b, n_a, n_b) == (0, 1, 300.0, 1200.0)
    assert rate == pytest.approx(y.mean())
    # by hand: Newcombe's interval of a zero difference at the base rate
    expected = newcombe(y.mean(), 300, y.mean(), 1200, z_value(0.95))[1]
    assert bound == pytest.approx(float(expected))
    # the certificate of a model whose decisions are the labels says the same
    certificate = certify(
        Oracle().fit(X, y),
        X,
        y,
        sensitive_features=group,
        constraint="demographic_parity",
        bound=0.5,
    )
    smallest = certificate.to_frame()["smallest_certifiable_bound"].iloc[0]
    assert bound == pytest.approx(smallest, rel=1e-6)


def test_a_bound_tighter_than_the_groups_resolve_warns_with_the_numbers():
    X, y, _ = data(sizes=(60, 1200))
    clf = FairConstrainedClassifier(
        LogisticRegression(), bound=0.05, method="threshold", sensitive_columns=[2]
    )
    with pytest.warns(InfeasibleBoundWarning, match=r"0\.0 \(60 rows\)") as record:
        clf.fit(X, y)
    smallest = clf.resolvable_bounds_["demographic_parity"]
    assert smallest > 0.05
    assert f"at least {smallest:.3f}" in str(record[0].message)
    # the same groups resolve a looser bound: no warning
    looser = clf.set_params(bound=round(smallest + 0.01, 3))
    assert InfeasibleBoundWarning not in categories(lambda: looser.fit(X, y))


def test_equalized_odds_uses_the_rows_of_each_label():
    X, y, group = data(sizes=(400, 400))
    bounds = resolvable_bounds([EqualizedOdds()], y, group, None, 2, 0.95)
    _, (_, _, n_a, n_b, rate) = bounds["equalized_odds"]
    counts = pd.crosstab(group, y)
    assert {n_a, n_b} <= set(counts.to_numpy().ravel().astype(float))
    assert rate == 0.5  # unknown before fitting: the least favourable rate


def test_a_near_constant_model_is_called_degenerate():
    X, y, _ = data()

    class Majority(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None):
            self.classes_ = np.unique(y)
            self.constant_ = np.bincount(y).argmax()
            return self

        def predict(self, X):
            return np.full(len(X), self.constant_)

        def predict_proba(self, X):
            return np.eye(2)[self.predict(X)]

    clf = FairConstrainedClassifier(
        Majority(), method="threshold", bound=0.2, sensitive_columns=[2]
    )
    with pytest.warns(DegenerateModelWarning, match="same class"):
        clf.fit(X, y)


def test_an_informative_model_is_not_degenerate():
    X, y, _ = data(sizes=(2000, 2000))
    clf = FairConstrainedClassifier(
        LogisticRegression(), method="threshold", bound=0.2, sensitive_columns=[2]
    )
    assert DegenerateModelWarning not in categories(lambda: clf.fit(X, y))


def test_unresolvable_gaps_get_no_margin_and_resolvable_ones_do():
    # a 40-row group cannot resolve 0.05; a 2000-row pair can resolve 0.3
    cases = [((40, 2000), 0.05, False), ((2000, 2000), 0.3, True)]
    for sizes, bound, resolvable in cases:
        X, y, group = data(sizes=sizes)
        term = LagrangianTerm("demographic_parity", bound, confidence=0.95)
        net = TabularNetClassifier(
            hidden_units=(8,), max_epochs=8, lr=1e-2, random_state=0
        )
        net.fit(X[:, :2], y, sensitive_features=group, loss_terms=[term])
        margin = term.history_[-1]["margin"]
        # the floor: Newcombe's half-width of a zero gap at the base rate
        counts, p, z = np.bincount(group), y.mean(), z_value(0.95)
        floor = np.array(
            [
                newcombe(p, counts[0], p, counts[1], z)[1],  # gap (0 - 1)
                newcombe(p, counts[1], p, counts[0], z)[1],  # gap (1 - 0)
            ]
        )
        np.testing.assert_allclose(term.floors_, floor)
        np.testing.assert_allclose(
            term.target_, np.maximum(bound - term.margin_.numpy(), floor)
        )
        if resolvable:
            assert (margin > 0).all() and (margin <= bound / 2).all()
            assert (term.target_ < bound).all()
        else:
            assert (margin == 0).all()
            assert (floor > bound).all() and (term.target_ == floor).all()


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
def test_a_bounded_constraint_with_an_adversary_in_one_run():
    X, y, _ = data(sizes=(1500, 1500))
    clf = FairConstrainedClassifier(
        TabularNetClassifier(hidden_units=(16,), max_epochs=10, random_state=0),
        constraint=DemographicParity(bound=0.1),
        method="lagrangian",
        penalty=0.5,
        method_params={"adversary": "equalized_odds"},
        sensitive_columns=[2],
        random_state=0,
    ).fit(X, y)
    terms = fairness_terms(clf)
    assert [type(t) for t in terms] == [LagrangianTerm, AdversarialTerm]
    assert terms[1].alpha == 0.5 and terms[1].constraint == "equalized_odds"
    assert clf.constraint_violation_ <= 0
    with pytest.raises(TypeError, match="is an adversary already"):
        clf.set_params(method="adversarial").fit(X, y)
    with pytest.raises(TypeError, match="confidence=..."):
        clf.set_params(method="lagrangian", method_params={"confidence": 0.9}).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
def test_the_fair_student_has_the_same_default_confidence_and_checks():
    X, y, group = data(sizes=(60, 1200))
    student = TabularNetClassifier(hidden_units=(8,), max_epochs=3, random_state=0)
    clf = DistilledClassifier(
        LogisticRegression(),
        student,
        constraint="demographic_parity",
        bound=0.05,
        sensitive_columns=[2],
    )
    assert clf.confidence == FairConstrainedClassifier(student).confidence == 0.95
    with pytest.warns(InfeasibleBoundWarning):
        clf.fit(X, y)
    assert clf.resolvable_bounds_["demographic_parity"] > 0.05
    (term,) = fairness_terms(clf)
    assert term.confidence == 0.95


def test_floors_and_bounds_take_the_fits_classes_not_the_rows_codes():
    # rows that lack the top class (a sample) still give one floor per event
    # of every class the fit has
    y, codes = np.repeat([0, 1], 20), np.tile([0, 1], 20)
    for constraint in (DemographicParity(), EqualizedOdds()):
        floors = gap_floors(constraint, y, codes, None, 2, 0.95, n_classes=3)
        assert len(floors) == len(constraint.gap_names(2, 3))
        assert np.all(floors[len(constraint.gap_names(2, 2)) :] >= 0)
    assert resolvable_bounds([DemographicParity()], y, codes, None, 2, 0.95) == (
        resolvable_bounds([DemographicParity()], y, codes, None, 2, 0.95, n_classes=2)
    )
    with pytest.raises(ValueError, match="class code 2, but n_classes=2"):
        gap_floors(DemographicParity(), y + 1, codes, None, 2, 0.95, n_classes=2)


def test_a_class_missing_from_the_monitored_rows_does_not_break_the_fit(monkeypatch):
    # the lagrangian's floors come from the monitored sample of the rows;
    # the one row of class 2 is left out of it
    monkeypatch.setattr(GapTerm, "monitor_size", 100)
    rng = np.random.RandomState(0)
    X, g = rng.normal(size=(400, 4)), rng.randint(0, 2, 400)
    y = (X[:, 0] > 0).astype(int)
    monitored = set(
        torch.randperm(400, generator=torch.Generator().manual_seed(0))[:100].tolist()
    )
    y[min(set(range(400)) - monitored)] = 2
    clf = FairConstrainedClassifier(
        TabularNetClassifier(max_epochs=2, random_state=0), bound=0.1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sensitive_features=g)
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.predict_proba(X).shape == (400, 3)
