"""The training forward of the default MLP: the same numbers as autograd."""

import pickle

import pytest
import torch
from torch import nn

from sklfair.nets._modules import MLP, _ReluMLPFunction, training_forward


def _outputs_and_grads(module, X, forward):
    for p in module.parameters():
        p.grad = None
    if X.requires_grad:
        X.grad = None
    out = forward(X)
    # a loss that weighs every output differently, as a loss term would
    (out * torch.linspace(-1.0, 2.0, out.numel()).reshape(out.shape)).sum().backward()
    grads = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    return out.detach(), grads, None if X.grad is None else X.grad.clone()


@pytest.mark.parametrize(
    ("hidden_units", "dtype"),
    [((64, 64), torch.float32), ((7,), torch.float64), ((), torch.float32)],
)
def test_relu_mlp_function_equals_autograd(hidden_units, dtype):
    torch.manual_seed(0)
    module = MLP(n_features=11, n_outputs=2, hidden_units=hidden_units).to(dtype)
    X = torch.randn(37, 11, dtype=dtype)
    forward = training_forward(module)
    assert forward is not module and forward is not module.plain_forward
    expected = _outputs_and_grads(module, X, module)
    got = _outputs_and_grads(module, X, forward)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-6, atol=1e-7)
    for g, e in zip(got[1], expected[1], strict=True):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-7)
        assert g.is_contiguous()


def test_relu_mlp_function_input_gradient_and_frozen_parameters():
    torch.manual_seed(0)
    module = MLP(n_features=5, n_outputs=3, hidden_units=(4, 6))
    module[2].weight.requires_grad_(False)
    X = torch.randn(9, 5, requires_grad=True)
    expected = _outputs_and_grads(module, X, module)
    got = _outputs_and_grads(module, X, training_forward(module))
    assert got[1][2] is None and expected[1][2] is None
    for g, e in zip(got[1], expected[1], strict=True):
        if e is not None:
            torch.testing.assert_close(g, e)
    torch.testing.assert_close(got[2], expected[2])


def test_relu_mlp_function_counts_as_one_node_and_keeps_no_graph_in_eval():
    module = MLP(n_features=3, n_outputs=2)
    out = training_forward(module)(torch.randn(4, 3))
    assert type(out.grad_fn).__name__ == "_ReluMLPFunctionBackward"
    with torch.no_grad():
        assert training_forward(module)(torch.randn(4, 3)).grad_fn is None
    assert issubclass(_ReluMLPFunction, torch.autograd.Function)


@pytest.mark.parametrize(
    "params",
    [
        {"activation": "tanh"},
        {"dropout": 0.2},
        {"batch_norm": True},
    ],
)
def test_other_mlps_run_their_own_layers(params):
    module = MLP(n_features=3, n_outputs=2, hidden_units=(4,), **params)
    assert training_forward(module) == module.plain_forward


def test_hooked_or_other_modules_are_called_as_usual():
    module = MLP(n_features=3, n_outputs=2)
    handle = module[0].register_forward_hook(lambda *args: None)
    assert training_forward(module) is module
    handle.remove()
    assert training_forward(module) is not module

    class Wider(MLP):
        pass

    other = Wider(n_features=3, n_outputs=2)
    assert training_forward(other) is other
    plain = nn.Sequential(nn.Linear(3, 2))
    assert training_forward(plain) is plain


def test_module_pickles_after_training_forward():
    module = MLP(n_features=3, n_outputs=2)
    training_forward(module)(torch.randn(4, 3)).sum().backward()
    clone = pickle.loads(pickle.dumps(module))
    torch.testing.assert_close(clone(torch.ones(1, 3)), module(torch.ones(1, 3)))
