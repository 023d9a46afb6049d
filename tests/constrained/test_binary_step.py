"""The compiled batch of the fairness terms for binary classifiers.

With numba installed, :class:`LagrangianTerm` and :class:`PenaltyTerm` compute
a batch of a built-in binary constraint in one compiled call
(``sklfair.constrained._binary_step``). The oracles: the numpy path the
compiled call replaces (whole fits must come out the same to the last bit),
and the torch path, whose gradient autograd computes from the torch
surrogate (an implementation that shares no code with either).
"""

import numpy as np
import pytest
import torch

from sklfair.constrained import LagrangianTerm, PenaltyTerm, _binary_step
from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.nets import TabularNetClassifier

pytest.importorskip("numba")

CONSTRAINTS = [DemographicParity, EqualizedOdds, EqualOpportunity, ErrorRateParity]
TERMS = {
    "lagrangian-margin": lambda c: LagrangianTerm(c(bound=0.01), confidence=0.9),
    "lagrangian-held-out": lambda c: LagrangianTerm(
        c(bound=0.01), validation_fraction=0.2
    ),
    "penalty": lambda c: PenaltyTerm(c(), weight=3.0, bound=0.01),
}


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(1500, 5)
    groups = rng.randint(0, 3, 1500)
    y = (X[:, 0] + 0.5 * groups + rng.randn(1500) > 0.5).astype(int)
    X[:, 1] += groups  # a proxy of the group: the unconstrained gaps are large
    return X, y, groups


def _keeping(term):
    """``term``, its compiled step kept after the fit (which drops it)."""
    end = term.on_train_end

    def on_train_end(net):
        step = term._binary
        end(net)
        term._binary = step

    term.on_train_end = on_train_end
    return term


def _fit(term, data, compiled, monkeypatch, **params):
    _keeping(term)
    monkeypatch.setattr(_binary_step, "ENABLED", compiled)
    X, y, groups = data
    params = {"max_epochs": 5, "batch_size": 64, "random_state": 0, **params}
    net = TabularNetClassifier(**params)
    net.fit(X, y, sensitive_features=groups, loss_terms=[term])
    assert (term._binary is not None) == compiled
    return net


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", TERMS)
def test_compiled_fit_equals_the_numpy_fit(constraint, kind, data, monkeypatch):
    compiled, plain = TERMS[kind](constraint), TERMS[kind](constraint)
    net = _fit(compiled, data, True, monkeypatch)
    oracle = _fit(plain, data, False, monkeypatch)
    X = data[0]
    np.testing.assert_array_equal(net.predict_proba(X), oracle.predict_proba(X))
    if isinstance(compiled, LagrangianTerm):
        np.testing.assert_array_equal(compiled.multipliers_, plain.multipliers_)
        # the term did act
        assert any(record["multipliers"].any() for record in compiled.history_)
    for mine, theirs in zip(compiled.history_, plain.history_, strict=True):
        np.testing.assert_array_equal(mine["gaps"], theirs["gaps"])


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("term_class", [LagrangianTerm, PenaltyTerm])
def test_compiled_gradient_matches_autograd(constraint, term_class, data, monkeypatch):
    """One batch: the compiled value and gradient against autograd through
    the torch surrogate (``_device_batch_sums``), from the same state."""
    X, y, groups = data
    make = (
        (lambda: LagrangianTerm(constraint(bound=0.01)))
        if term_class is LagrangianTerm
        else (lambda: PenaltyTerm(constraint(), weight=2.0, bound=0.0))
    )
    compiled, oracle = make(), make()
    _fit(compiled, data, True, monkeypatch, max_epochs=1)
    _fit(oracle, data, False, monkeypatch, max_epochs=1)
    batch = {
        "y": torch.as_tensor(y[:200], dtype=torch.int64),
        "sensitive_features": torch.as_tensor(groups[:200], dtype=torch.int64),
        "sample_weight": torch.linspace(0.5, 1.5, 200),
        "index": torch.arange(200),
    }
    # float64 outputs: the torch surrogate then runs in float64 too
    rng = np.random.RandomState(1)
    outputs = torch.as_tensor(rng.randn(200, 2), dtype=torch.float64)
    if term_class is LagrangianTerm:  # the same (nonzero) multipliers in both
        multipliers = torch.linspace(0.1, 1.0, len(oracle.multipliers_))
        oracle.multipliers_.copy_(multipliers)
        compiled.multipliers_.copy_(multipliers)
    value, gradient = compiled.gradient(outputs, batch)

    oracle._host_sums = False  # the torch surrogate and autograd
    leaf = outputs.clone().requires_grad_()
    total = oracle(torch.zeros(()), leaf, dict(batch))
    total.backward()
    assert value == pytest.approx(total.item(), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(
        gradient.numpy(), leaf.grad.numpy(), rtol=1e-9, atol=1e-15
    )


def test_binary_kind_applies_to_one_builtin_binary_constraint(monkeypatch):
    kind = _binary_step.binary_kind
    assert kind([DemographicParity()], 2) == 0
    assert kind([ErrorRateParity()], 2) == 3
    assert kind([DemographicParity()], 3) is None  # multi-class
    assert kind([DemographicParity(), EqualizedOdds()], 2) is None

    class Mine(DemographicParity):
        pass

    assert kind([Mine()], 2) is None  # a subclass may compute otherwise
    monkeypatch.setattr(_binary_step, "ENABLED", False)
    assert kind([DemographicParity()], 2) is None


def test_a_fitted_term_drops_its_compiled_step_and_pickles(data):
    import pickle

    X, y, groups = data
    term = LagrangianTerm(DemographicParity(bound=0.02))
    net = TabularNetClassifier(max_epochs=1, random_state=0)
    net.fit(X, y, sensitive_features=groups, loss_terms=[term])
    assert term._binary is None
    restored = pickle.loads(pickle.dumps(term))
    np.testing.assert_array_equal(restored.multipliers_, term.multipliers_)
