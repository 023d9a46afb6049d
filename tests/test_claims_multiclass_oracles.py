"""Multi-class claims checked on new rows: :func:`sklfair.metrics.certify` on
COMPAS's three risk levels (race merged into three groups), against the
constrained fit's own claim, fairlearn's MetricFrame, a bootstrap over rows
done by hand and a coverage simulation."""

import warnings

import numpy as np
import pytest
import torch
from compas_levels import compas_encoder, compas_risk_levels
from fairlearn.metrics import MetricFrame
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklfair.constrained import FairConstrainedClassifier
from sklfair.exceptions import BoundNotMetWarning
from sklfair.metrics import certify
from sklfair.nets import TabularNetClassifier

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def compas():
    X, y = compas_risk_levels()
    return train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def lagrangian(compas):
    X_train, _, y_train, _ = compas
    torch.set_num_threads(1)
    net = TabularNetClassifier(
        hidden_units=(32,), max_epochs=8, batch_size=256, lr=1e-2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        return FairConstrainedClassifier(
            make_pipeline(compas_encoder(), net),
            constraint="demographic_parity",
            bound=0.05,
            method="lagrangian",
            sensitive_columns="race",
            random_state=0,
        ).fit(X_train, y_train)


def _by_hand(y, pred, groups, constraint, classes):
    """Each event's between-group gap, with fairlearn's MetricFrame."""
    if constraint == "demographic_parity":
        events = [(np.ones(len(y), bool), pred == c) for c in classes]
    elif constraint == "equal_opportunity":
        events = [(y == c, pred == c) for c in classes]
    elif constraint == "equalized_odds":
        events = [(y == k, pred == c) for c in classes for k in classes]
    else:
        events = [(np.ones(len(y), bool), pred != y)]
    gaps = []
    for rows, decided in events:
        frame = MetricFrame(
            metrics=lambda t, p: np.mean(p),
            y_true=decided[rows],
            y_pred=decided[rows],
            sensitive_features=groups[rows],
        )
        gaps.append(frame.difference(method="between_groups"))
    return np.array(gaps)


@pytest.mark.parametrize(
    "constraint",
    ["demographic_parity", "equal_opportunity", "equalized_odds", "error_rate_parity"],
)
def test_certify_multiclass_matches_metricframe(compas, lagrangian, constraint):
    # before: certify refused multi-class labels, so a multi-class claim could
    # not be checked on new rows at all
    _, X_test, _, y_test = compas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        cert = certify(
            lagrangian, X_test, y_test, sensitive_columns="race", constraint=constraint
        )
    row = cert.results.loc[constraint]
    gaps = _by_hand(
        y_test,
        lagrangian.predict(X_test),
        X_test["race"].to_numpy(),
        constraint,
        lagrangian.classes_,
    )
    assert row["estimate"] == pytest.approx(gaps.max(), abs=1e-12)
    assert row["low"] <= row["estimate"] <= row["high"]
    assert row["certified"] == (row["high"] <= row["bound"])
    assert list(cert.group_sizes.columns) == ["rows", "y=High", "y=Low", "y=Medium"]


def test_certify_on_training_rows_repeats_the_claim(compas, lagrangian):
    X_train, _, y_train, _ = compas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        cert = certify(lagrangian, X_train, y_train, sensitive_columns="race")
    estimate = cert.results.loc["demographic_parity", "estimate"]
    assert estimate - 0.05 == pytest.approx(lagrangian.constraint_violation_, abs=1e-9)


def test_multiclass_interval_against_a_bootstrap_by_hand(compas, lagrangian):
    _, X_test, _, y_test = compas
    pred = lagrangian.predict(X_test)
    groups = X_test["race"].to_numpy()
    cert = certify(
        lagrangian, X_test, y_test, sensitive_columns="race", bound=0.2
    ).results.loc["demographic_parity"]
    rng = np.random.default_rng(0)
    rows = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    boot = []
    for _ in range(200):
        drawn = [pred[rng.choice(r, len(r))] for r in rows]
        classes = lagrangian.classes_
        rates = np.array([[np.mean(d == c) for c in classes] for d in drawn])
        boot.append((rates.max(axis=0) - rates.min(axis=0)).max())
    low, high = np.quantile(boot, [0.025, 0.975])
    # simultaneous over the three classes, so at least as wide as the
    # bootstrap of the largest gap, and not absurdly wider
    assert cert["low"] <= low + 0.005 and high - 0.005 <= cert["high"]
    assert cert["high"] - cert["low"] < 2.5 * (high - low)


def test_a_failed_multiclass_bound_is_marked_not_hidden(compas):
    X_train, X_test, y_train, y_test = compas
    clf = FairConstrainedClassifier(
        make_pipeline(compas_encoder(), LogisticRegression(max_iter=1000)),
        constraint="demographic_parity",
        bound=0.08,
        method="threshold",
        sensitive_columns="race",
    ).fit(X_train, y_train)
    assert clf.resolvable_bounds_["demographic_parity"] > 0.05
    with pytest.warns(BoundNotMetWarning, match="equalized_odds"):
        cert = certify(
            clf,
            X_test,
            y_test,
            sensitive_columns="race",
            constraint={"demographic_parity": 0.5, "equalized_odds": 0.08},
        )
    assert cert.results["certified"].tolist() == [True, False]
    assert cert.results.loc["equalized_odds", "high"] > 0.08
    assert not cert.certified
    assert 'class="fail"' in cert.to_html()
    metric = cert.results.loc["equalized_odds", "metric"]
    assert "worst of 9 one-vs-rest rates" in metric


class _Fixed(ClassifierMixin, BaseEstimator):
    """A fitted 'model' returning given predictions."""

    classes_ = np.array([0, 1, 2])

    def __init__(self, pred=None):
        self.pred = pred

    def fit(self, X, y):
        return self

    def predict(self, X):
        return self.pred

    def __sklearn_is_fitted__(self):
        return True


def test_multiclass_upper_end_covers_the_true_gap():
    # three groups with known class probabilities; true largest gap 0.08
    rng = np.random.default_rng(0)
    probs = np.array([[0.5, 0.3, 0.2], [0.42, 0.34, 0.24], [0.46, 0.3, 0.24]])
    sizes = [400, 300, 150]
    groups = np.repeat([0, 1, 2], sizes)
    true_gap = (probs.max(axis=0) - probs.min(axis=0)).max()
    covered = 0
    n_sims = 100
    for _ in range(n_sims):
        pred = np.concatenate(
            [rng.choice(3, size=n, p=p) for n, p in zip(sizes, probs, strict=True)]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BoundNotMetWarning)
            cert = certify(
                _Fixed(pred), np.zeros((len(pred), 1)), pred, sensitive_features=groups
            )
        covered += cert.results.loc["demographic_parity", "high"] >= true_gap
    # nominal 0.975 for the upper end; simultaneous intervals cover more
    assert covered / n_sims >= 0.95
