"""Multi-class targets through every mitigation, on a real one: COMPAS's three
risk levels (Low, Medium, High), with race merged into three groups.

Each test checks the mitigation against rates computed here by hand with
numpy: the training-loop constraints (demographic parity per class, recall
per class, equalized odds per class pair, error-rate parity), reweighing's
weights (label independent of the group in the weighted data) and a fair
student. The post-processing method has its own file
(tests/constrained/test_multiclass_threshold.py).
"""

import numpy as np
import pytest
import torch
from compas_levels import compas_encoder, compas_risk_levels
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklfair.constrained import FairConstrainedClassifier
from sklfair.distillation import DistilledClassifier
from sklfair.nets import TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    # at bound 0.05 the fits nearly never decide 'Medium' (the class between
    # the two others): warned, and the per-class rates still hold
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def compas():
    return compas_risk_levels()


def _net(**params):
    torch.set_num_threads(1)
    defaults = dict(
        hidden_units=(32,), max_epochs=30, batch_size=256, lr=1e-2, random_state=0
    )
    return make_pipeline(
        compas_encoder(), TabularNetClassifier(**{**defaults, **params})
    )


def _gaps(y, pred, groups, constraint):
    """Largest between-group difference of each event's rate, by hand."""
    classes = np.unique(y)
    per_group = []
    for g in np.unique(groups):
        yg, pg = y[groups == g], pred[groups == g]
        if constraint == "demographic_parity":
            rates = [np.mean(pg == c) for c in classes]
        elif constraint == "equal_opportunity":
            rates = [np.mean(pg[yg == c] == c) for c in classes]
        elif constraint == "equalized_odds":
            rates = [np.mean(pg[yg == k] == c) for c in classes for k in classes]
        else:
            rates = [np.mean(pg != yg)]
        per_group.append(rates)
    per_group = np.array(per_group)
    return float((per_group.max(axis=0) - per_group.min(axis=0)).max())


@pytest.mark.parametrize(
    "constraint", ["demographic_parity", "equal_opportunity", "equalized_odds"]
)
def test_lagrangian_bounds_every_class(compas, constraint):
    X, y = compas
    groups = X["race"].to_numpy()
    plain = _net().fit(X.drop(columns="race"), y)
    clf = FairConstrainedClassifier(
        _net(),
        constraint=constraint,
        bound=0.05,
        method="lagrangian",
        sensitive_columns="race",
        random_state=0,
        # the bound on the training rows themselves (no margin, no floor for
        # the 'Other' group's few rows): this test checks the per-class rates
        confidence=0.5,
    ).fit(X, y)
    gap = _gaps(y, clf.predict(X), groups, constraint)
    assert clf.constraint_violation_ == pytest.approx(gap - 0.05, abs=1e-9)
    assert gap <= 0.05
    assert _gaps(y, plain.predict(X.drop(columns="race")), groups, constraint) > 0.1
    # the history names every class's rate (k one-vs-rest rates, not one)
    n_events = {"demographic_parity": 3, "equal_opportunity": 3, "equalized_odds": 9}
    gap_columns = [c for c in clf.history_ if c.startswith("gap ")]
    assert len(gap_columns) == n_events[constraint] * 3 * 2  # 3 groups, ordered pairs


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
def test_error_rate_parity_is_measured_on_every_class(compas):
    X, y = compas
    clf = FairConstrainedClassifier(
        _net(),
        constraint="error_rate_parity",
        bound=0.1,
        method="penalty",
        penalty=1.0,
        sensitive_columns="race",
    ).fit(X, y)
    gap = _gaps(y, clf.predict(X), X["race"].to_numpy(), "error_rate_parity")
    assert clf.constraint_violation_ == pytest.approx(gap - 0.1, abs=1e-9)


def test_reweighing_makes_the_three_levels_independent_of_race(compas):
    X, y = compas
    clf = ReweighingClassifier(
        make_pipeline(compas_encoder(), LogisticRegression(max_iter=1000)),
        sensitive_columns="race",
    ).fit(X, y)
    groups = X["race"].to_numpy()
    weights = clf.weights_.loc[groups, :].to_numpy()[
        np.arange(len(y)), np.searchsorted(clf.weights_.columns.to_numpy(), y)
    ]
    for g in np.unique(groups):
        share = [weights[(groups == g) & (y == c)].sum() for c in clf.classes_]
        overall = [np.mean(y == c) for c in clf.classes_]
        np.testing.assert_allclose(np.array(share) / sum(share), overall)
        # each group keeps its size
        assert weights[groups == g].sum() == pytest.approx(np.sum(groups == g))
    plain = make_pipeline(compas_encoder(), LogisticRegression(max_iter=1000))
    plain.fit(X.drop(columns="race"), y)
    before = _gaps(
        y, plain.predict(X.drop(columns="race")), groups, "demographic_parity"
    )
    after = _gaps(y, clf.predict(X), groups, "demographic_parity")
    assert clf.predict_proba(X).shape == (len(y), 3)
    assert after < before


def test_a_fair_student_of_three_classes(compas):
    X, y = compas
    # the teacher sees race (it is never deployed); the student does not
    teacher = make_pipeline(
        compas_encoder(["c_charge_degree", "race"]), LogisticRegression(max_iter=1000)
    )
    student = _net(max_epochs=40)
    clf = DistilledClassifier(
        teacher,
        student,
        constraint="demographic_parity",
        bound=0.05,
        sensitive_columns="race",
        random_state=0,
        confidence=0.5,  # the bound on the training rows, as above
    ).fit(X, y)
    assert list(clf.classes_) == ["High", "Low", "Medium"]
    assert clf.predict_proba(X).shape == (len(y), 3)
    gap = _gaps(y, clf.predict(X), X["race"].to_numpy(), "demographic_parity")
    assert gap <= 0.05
    assert clf.constraint_violation_ == pytest.approx(gap - 0.05, abs=1e-9)
    plain = DistilledClassifier(
        teacher, _net(max_epochs=40), sensitive_columns="race", random_state=0
    ).fit(X, y)
    agreement = np.mean(plain.predict(X) == plain.teacher_.predict(X))
    assert agreement > 0.85
