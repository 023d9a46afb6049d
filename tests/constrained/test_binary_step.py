"""The compiled batch and epoch end of the fairness terms for binary classifiers.

With numba installed, :class:`LagrangianTerm` and :class:`PenaltyTerm` compute
a batch of a built-in binary constraint in one compiled call, and reduce the
decisions on the monitored rows at an epoch end in one compiled pass
(``sklfair.constrained._binary_step``). The oracles: the numpy path the
compiled calls replace (whole fits must come out the same to the last bit),
and the torch path, whose gradient autograd computes from the torch
surrogate (an implementation that shares no code with either).
"""

import numpy as np
import pytest
import torch

from sklfair.constrained import LagrangianTerm, PenaltyTerm, _binary_step
from sklfair.constrained._gap_term import SQUARES
from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.constraints._rates import group_sums_np
from sklfair.nets import TabularNetClassifier
from sklfair.nets._objective import sum_gradients

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
    """``term``, its compiled step and monitored rows kept after the fit
    (which drops them)."""
    end = term.on_train_end

    def on_train_end(net):
        step, monitored = term._binary, term._monitor
        end(net)
        term._binary, term._kept_monitor = step, monitored

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


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.__name__)
def test_epoch_end_sums_equal_the_bincounts_of_the_decisions(constraint):
    """The compiled reduction of the monitored rows against the numpy path's:
    the constraint's own 0/1 decisions and event masks, bincounted per
    (event, group), under weights and under merged rows' squared weights."""
    rng = np.random.RandomState(3)
    n = 2000
    outputs = rng.randn(n, 2).astype(np.float32)
    outputs[:100, 1] = outputs[:100, 0]  # ties: class 0, as argmax decides
    outputs[100:103] = [[0.0, np.nan], [np.nan, 0.0], [np.nan, np.nan]]  # argmax's
    y = rng.randint(0, 2, n)
    codes = rng.randint(0, 3, n)
    weight = rng.uniform(0.2, 3.0, n).astype(np.float32)
    squares = weight.astype(np.float64) ** 2 * rng.uniform(0.3, 1.0, n)
    c = constraint()
    batch = {"y": torch.as_tensor(y), "sensitive_features": torch.as_tensor(codes)}
    hard, mask = c._decisions(torch.from_numpy(outputs), batch)
    hard, mask = hard.numpy(), None if mask is None else mask.numpy()
    n_events = hard.shape[1]
    decisions = _binary_step.MonitorDecisions(
        _binary_step.KINDS[constraint], outputs, y, codes, n_events, 3
    )
    for squared in (None, squares):
        numerator, denominator, den2 = decisions.sums(weight, squared)
        expected = group_sums_np(hard, mask, codes, weight, 3)
        np.testing.assert_array_equal(numerator, expected[0])
        np.testing.assert_array_equal(denominator, expected[1])
        w2 = weight.astype(np.float64) ** 2 if squared is None else squared
        np.testing.assert_array_equal(den2, group_sums_np(hard, mask, codes, w2, 3)[1])


def test_weighted_fits_with_merged_rows_equal_the_numpy_fit(monkeypatch):
    """Unequal weights and identical rows merged into one (their squared
    weights kept for the margin's standard errors): the compiled fit is
    still the numpy fit, bit for bit."""
    rng = np.random.RandomState(4)
    X = rng.randn(4)[rng.randint(0, 4, size=(2500, 3))]  # many identical rows
    groups = (X[:, 0] > 0).astype(int)
    y = (X[:, 0] + X[:, 1] + rng.randn(2500) > 0).astype(int)
    weight = rng.uniform(0.5, 2.0, 2500)
    fits = []
    for compiled in (True, False):
        monkeypatch.setattr(_binary_step, "ENABLED", compiled)
        term = _keeping(LagrangianTerm(DemographicParity(bound=0.1), confidence=0.9))
        net = TabularNetClassifier(max_epochs=4, batch_size=64, random_state=0)
        net.fit(
            X, y, sample_weight=weight, sensitive_features=groups, loss_terms=[term]
        )
        assert (term._binary is not None) == compiled
        # identical rows merged: their squared weights enter the margin
        assert term._kept_monitor[SQUARES] is not None
        assert len(term._kept_monitor["y"]) < len(y)
        fits.append((net, term))
    (net, term), (oracle, plain) = fits
    np.testing.assert_array_equal(net.predict_proba(X), oracle.predict_proba(X))
    assert any(record["margin"].any() for record in term.history_)
    assert any(record["multipliers"].any() for record in term.history_)
    for mine, theirs in zip(term.history_, plain.history_, strict=True):
        for key in ("gaps", "loss", "margin", "multipliers"):
            np.testing.assert_array_equal(mine[key], theirs[key])


@pytest.mark.parametrize("term_class", [LagrangianTerm, PenaltyTerm])
def test_adding_into_the_loss_gradient_is_adding_the_gradient(
    term_class, data, monkeypatch
):
    """The compiled step adding its gradient into the base loss's in place
    (the loop's one-term path) gives what numpy's sum of the two gives."""
    make = {
        LagrangianTerm: lambda: LagrangianTerm(DemographicParity(bound=0.01)),
        PenaltyTerm: lambda: PenaltyTerm(DemographicParity(), weight=2.0, bound=0.0),
    }[term_class]
    term = make()
    _fit(term, data, True, monkeypatch, max_epochs=1)
    X, y, groups = data
    batch = {
        "y": torch.as_tensor(y[:200], dtype=torch.int64),
        "sensitive_features": torch.as_tensor(groups[:200], dtype=torch.int64),
        "sample_weight": torch.linspace(0.5, 1.5, 200),
        "index": torch.arange(200),
    }
    outputs = torch.as_tensor(
        np.random.RandomState(1).randn(200, 2), dtype=torch.float32
    )
    base = torch.as_tensor(np.random.RandomState(2).randn(200, 2), dtype=torch.float32)
    if term_class is LagrangianTerm:
        term.multipliers_.copy_(torch.linspace(0.1, 1.0, len(term.multipliers_)))
        state = [term.multipliers_.numpy(), term._running_excess, term._avg[0]]
        saved = [a.copy() for a in state]
    value, own = term.gradient(outputs, batch)
    assert own is not None
    if term_class is LagrangianTerm:  # the batch's dual step undone
        for array, copy in zip(state, saved, strict=True):
            np.copyto(array, copy)
    into = base.clone()
    added, total = term.add_gradient(outputs, batch, into)
    assert total is into and added == value
    np.testing.assert_array_equal(total.numpy(), sum_gradients([own], base).numpy())
