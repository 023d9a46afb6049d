"""The default network's hand-run forward and backward pass (and the plain
and weighted mean cross-entropy's gradients) equal autograd's."""

import numpy as np
import pytest
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_german_credit
from sklfair.nets import LossTerm, TabularNetClassifier, TabularNetRegressor
from sklfair.nets._backprop import ReluBackprop
from sklfair.nets._classifier import _cross_entropy
from sklfair.nets._modules import MLP, MonotoneMLP


def _autograd_and_hand(module, X, loss_of):
    """Every parameter's gradient of ``loss_of(outputs, module)`` through
    autograd, then through :class:`ReluBackprop`."""
    params = list(module.parameters())
    loss_of(module(X), module).backward()
    expected = [p.grad for p in params]
    for p in params:
        p.grad = None
    backprop = ReluBackprop.for_module(module)
    outputs = backprop.forward(X)
    loss_of(outputs, module).backward()
    backprop.backward(outputs.grad)
    return expected, [p.grad for p in params]


@pytest.mark.parametrize("hidden_units", [(), (8,), (16, 8, 4)])
def test_gradients_are_autograds_bitwise(hidden_units):
    torch.manual_seed(0)
    module = MLP(n_features=7, n_outputs=3, hidden_units=hidden_units)
    X, y = torch.randn(50, 7), torch.randint(0, 3, (50,))
    weight = torch.rand(50)

    def weighted_cross_entropy(outputs, module):
        loss = torch.nn.functional.cross_entropy(outputs, y, reduction="none")
        return (weight * loss).mean()

    expected, hand = _autograd_and_hand(module, X, weighted_cross_entropy)
    for a, b in zip(expected, hand, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("hidden_units", [(), (8,), (16, 8, 4)])
def test_evaluate_is_the_modules_forward_bitwise(hidden_units):
    """The epoch-end evaluation's direct calls give the module's outputs."""
    torch.manual_seed(2)
    module = MLP(n_features=7, n_outputs=2, hidden_units=hidden_units).eval()
    X = torch.randn(300, 7)
    with torch.no_grad():
        assert torch.equal(ReluBackprop.for_module(module).evaluate(X), module(X))


def test_a_single_terms_add_gradient_is_the_sum_of_the_gradients():
    """LossTerm.add_gradient (the loop's one-term path) adds the term's
    gradient to the base loss's as the general path sums them."""
    outputs = torch.randn(40, 3)
    base = torch.randn(40, 3)
    term = _OutputPenalty(0.5, True)
    value, own = term.gradient(outputs, {})
    into = base.clone()
    added, total = term.add_gradient(outputs, {}, into)
    assert total is into and torch.equal(added, value)
    assert torch.equal(total, own + base)

    class _Constant(LossTerm):
        gives_gradient = True

        def gradient(self, outputs, batch):
            return 2.0, None

    assert _Constant().add_gradient(outputs, {}, base) == (2.0, base)


def test_a_loss_on_the_parameters_adds_to_their_gradients():
    torch.manual_seed(1)
    module = MLP(n_features=5, n_outputs=2, hidden_units=(6,))
    X = torch.randn(20, 5)

    def with_penalty(outputs, module):
        penalty = sum((p**2).sum() for p in module.parameters())
        return outputs.pow(2).mean() + 0.1 * penalty

    expected, hand = _autograd_and_hand(module, X, with_penalty)
    for a, b in zip(expected, hand, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_the_mean_cross_entropys_gradient_is_autograds_bitwise():
    torch.manual_seed(2)
    outputs, y = torch.randn(40, 3), torch.randint(0, 3, (40,))
    leaf = outputs.clone().requires_grad_()
    expected = torch.nn.functional.cross_entropy(leaf, y)
    expected.backward()
    loss, grad = _cross_entropy.mean_and_grad(outputs, y)
    assert torch.equal(loss, expected.detach())
    assert torch.equal(grad, leaf.grad)


@pytest.mark.parametrize("n, k", [(40, 3), (256, 2), (37, 5), (1, 2)])
def test_the_weighted_mean_cross_entropys_gradient_is_autograds_bitwise(n, k):
    torch.manual_seed(n)
    outputs, y = torch.randn(n, k), torch.randint(0, k, (n,))
    weight = torch.rand(n) * 3
    leaf = outputs.clone().requires_grad_()
    expected = (
        weight * torch.nn.functional.cross_entropy(leaf, y, reduction="none")
    ).mean()
    expected.backward()
    loss, grad = _cross_entropy.weighted_mean_and_grad(outputs, y, weight)
    assert torch.equal(loss, expected.detach())
    assert torch.equal(grad, leaf.grad)


def test_other_networks_train_through_autograd():
    def mlp(**params):
        return MLP(n_features=4, n_outputs=2, hidden_units=(3,), **params)

    assert ReluBackprop.for_module(mlp()) is not None
    assert ReluBackprop.for_module(mlp(activation="tanh")) is None
    assert ReluBackprop.for_module(mlp(dropout=0.2)) is None
    assert ReluBackprop.for_module(mlp(batch_norm=True)) is None
    assert (
        ReluBackprop.for_module(
            MonotoneMLP(n_features=4, n_outputs=2, monotonic_cst=[1, 0, 0, 0])
        )
        is None
    )
    hooked = mlp()
    hooked[0].register_forward_hook(lambda *args: None)
    assert ReluBackprop.for_module(hooked) is None
    frozen = mlp()
    frozen[0].weight.requires_grad_(False)
    assert ReluBackprop.for_module(frozen) is None

    class Sub(MLP):
        pass

    assert ReluBackprop.for_module(Sub(n_features=4, n_outputs=2)) is None


@pytest.fixture(scope="module")
def german():
    X, y = load_german_credit(return_X_y=True)
    groups = X["sex"].astype(str).to_numpy()
    encoder = make_column_transformer(
        (
            OneHotEncoder(sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder=StandardScaler(),
    )
    return encoder.fit_transform(X.drop(columns="sex")), y.to_numpy(), groups


def _fits(Z, y, groups):
    weight = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    plain = TabularNetClassifier(max_epochs=4, batch_size=64, random_state=0)
    plain.fit(Z, y, sample_weight=weight)
    unweighted = TabularNetClassifier(max_epochs=4, batch_size=64, random_state=1)
    unweighted.fit(Z, y)  # the loss's gradient by hand too
    constrained = FairConstrainedClassifier(
        TabularNetClassifier(max_epochs=12, random_state=0), bound=0.1, random_state=0
    ).fit(Z, y, sensitive_features=groups)
    regressor = TabularNetRegressor(
        max_epochs=3, hidden_units=(16, 8), random_state=0
    ).fit(Z, Z[:, -1])
    return [
        plain.predict_proba(Z),
        plain.history_["train_loss"].to_numpy(),
        unweighted.predict_proba(Z),
        unweighted.history_["train_loss"].to_numpy(),
        constrained.predict_proba(Z),
        regressor.predict(Z),
    ]


def test_fits_on_real_data_equal_autograds(german, monkeypatch):
    Z, y, groups = german
    by_hand = _fits(Z, y, groups)
    monkeypatch.setattr(ReluBackprop, "for_module", classmethod(lambda cls, m: None))
    through_autograd = _fits(Z, y, groups)
    for a, b in zip(by_hand, through_autograd, strict=True):
        np.testing.assert_array_equal(a, b)


class _OutputPenalty(LossTerm):
    """``loss + c * mean(outputs ** 2)``, through autograd or by hand."""

    reads_sample_loss = False

    def __init__(self, c, by_hand):
        self.c = c
        self.gives_gradient = by_hand
        self.calls = {"call": 0, "gradient": 0}

    def __call__(self, loss, outputs, batch):
        self.calls["call"] += 1
        return loss + self.c * outputs.pow(2).mean()

    def gradient(self, outputs, batch):
        self.calls["gradient"] += 1
        outputs = outputs.detach()
        value = self.c * outputs.pow(2).mean()
        return value, (2.0 * self.c / outputs.numel()) * outputs


def test_terms_with_a_hand_gradient_train_as_through_autograd(german):
    Z, y, _ = german
    fits = {}
    for by_hand in (True, False):
        term = _OutputPenalty(0.5, by_hand)
        clf = TabularNetClassifier(max_epochs=3, batch_size=64, random_state=0)
        clf.fit(Z, y, loss_terms=[term])
        fits[by_hand] = (clf, term.calls)
    (hand, hand_calls), (auto, auto_calls) = fits[True], fits[False]
    assert hand_calls["call"] == 0 and hand_calls["gradient"] > 0
    assert auto_calls["gradient"] == 0 and auto_calls["call"] > 0
    np.testing.assert_allclose(
        hand.predict_proba(Z), auto.predict_proba(Z), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        hand.history_["train_loss"], auto.history_["train_loss"], rtol=1e-5
    )


def test_a_hand_gradient_of_another_dtype_is_cast_to_the_outputs(german):
    """A term's float64 gradient for float32 outputs trains as its float32
    cast would (autograd casts a gradient back through a conversion)."""

    class _Float64Penalty(_OutputPenalty):
        def gradient(self, outputs, batch):
            value, grad = super().gradient(outputs, batch)
            return value, grad.double()

    Z, y, _ = german
    fits = []
    for term in (_Float64Penalty(0.5, True), _OutputPenalty(0.5, True)):
        clf = TabularNetClassifier(max_epochs=2, batch_size=64, random_state=0)
        fits.append(clf.fit(Z, y, loss_terms=[term]).predict_proba(Z))
    np.testing.assert_array_equal(*fits)


def test_weighted_fits_run_without_autograd(german, monkeypatch):
    """Unequal weights (given, or from merged duplicate rows) take the
    weighted mean's hand gradient; a term that reads the per-row losses
    sends the fit back through autograd."""
    Z, y, _ = german
    calls = []
    backward = torch.Tensor.backward

    def counted(self, *args, **kwargs):
        calls.append(1)
        return backward(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", counted)
    weight = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    TabularNetClassifier(max_epochs=2, batch_size=64, random_state=0).fit(
        Z, y, sample_weight=weight
    )
    assert calls == []

    class _ReadsSampleLoss(_OutputPenalty):
        reads_sample_loss = True

    TabularNetClassifier(max_epochs=1, batch_size=64, random_state=0).fit(
        Z, y, sample_weight=weight, loss_terms=[_ReadsSampleLoss(0.5, True)]
    )
    assert len(calls) == 16  # 1000 rows, batches of 64
