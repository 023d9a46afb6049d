"""prune(): structured units removed without changing the function beyond the
pruned weights, unstructured masks kept through fine-tuning, distillation and
fairness terms through the training loop, copies, errors."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from torch.nn.utils import prune as torch_prune

from sklfair.deploy import prune, quantize
from sklfair.nets import TabularNetClassifier, TabularNetRegressor

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        n_samples=800, n_features=12, n_informative=6, random_state=0
    )
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "batch_norm"])
def net(request, blobs):
    X, y = blobs
    return TabularNetClassifier(
        hidden_units=(32, 16), batch_norm=request.param, max_epochs=10, random_state=0
    ).fit(X, y)


def _masked_outputs(net, X, sparsity):
    """Oracle: torch's ln_structured masks on a copy, units kept in place."""
    module = copy.deepcopy(net.net_.module_).eval()
    linear = [m for m in module if isinstance(m, torch.nn.Linear)]
    for layer in linear[:-1]:
        torch_prune.ln_structured(layer, "weight", amount=sparsity, n=2, dim=0)
    with torch.no_grad():
        return module(torch.as_tensor(X)).numpy()


def test_structured_pruning_removes_units_and_nothing_else(blobs, net):
    X, _ = blobs
    pruned = prune(net, X, blobs[1], sparsity=0.5, max_epochs=0)
    assert pruned.hidden_units == (16, 8)
    sizes = [
        tuple(m.weight.shape)
        for m in pruned.net_.module_
        if isinstance(m, torch.nn.Linear)
    ]
    assert sizes == [(16, 12), (8, 16), (2, 8)]
    with torch.no_grad():
        shrunk = pruned.net_.module_.eval()(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(shrunk, _masked_outputs(net, X, 0.5), atol=1e-5)
    # the original is untouched
    assert net.hidden_units == (32, 16)
    assert net.net_.module_[0].weight.shape == (32, 12)


def test_fine_tuning_recovers_the_unpruned_decisions(blobs, net):
    X, y = blobs
    untuned = prune(net, X, y, sparsity=0.5, max_epochs=0)
    tuned = prune(net, X, y, sparsity=0.5, max_epochs=15)
    reference = net.predict(X)
    assert np.mean(tuned.predict(X) == reference) > np.mean(
        untuned.predict(X) == reference
    )
    assert np.mean(tuned.predict(X) == reference) > 0.85
    assert "distill_kl" in tuned.history_.columns
    # fitted params restored; the copy pickles with its new widths
    assert tuned.max_epochs == net.max_epochs and tuned.warm_start is False
    again = pickle.loads(pickle.dumps(tuned))
    np.testing.assert_array_equal(again.predict_proba(X), tuned.predict_proba(X))


def test_unstructured_pruned_weights_stay_zero(blobs, net):
    X, y = blobs
    pruned = prune(net, X, y, sparsity=0.6, structured=False, max_epochs=5)
    state = pruned.net_.module_.state_dict()
    assert not any(key.endswith(("_orig", "_mask")) for key in state)
    for layer in pruned.net_.module_:
        if isinstance(layer, torch.nn.Linear):
            zeros = float((layer.weight == 0).float().mean())
            assert zeros == pytest.approx(0.6, abs=0.01)
    assert pruned.hidden_units == net.hidden_units
    assert np.mean(pruned.predict(X) == net.predict(X)) > 0.9


def test_fairness_terms_are_kept_while_fine_tuning(credit, fair_student):
    X_train, _, y_train, _, _ = credit
    pruned = prune(fair_student, X_train, y_train, sparsity=0.5, max_epochs=3)
    history = pruned.student_[-1].history_
    assert {"fairness_gap", "distill_kl"} <= set(history.columns)
    assert pruned.student_[-1].hidden_units == (16,)
    assert fair_student.student_[-1].hidden_units == (32,)


def test_pruned_then_quantized(blobs, net):
    X, y = blobs
    small = quantize(prune(net, X, y, max_epochs=5))
    assert small.layers_[0]["weight"].shape == (16, 12)
    assert np.mean(small.predict(X) == net.predict(X)) > 0.8


def test_regressors_distil_from_their_predictions(blobs):
    X, y = blobs
    target = X[:, 0] * 3 + y
    reg = TabularNetRegressor(hidden_units=(16,), max_epochs=20, random_state=0)
    reg.fit(X, target)
    pruned = prune(reg, X, target, sparsity=0.5, max_epochs=10)
    assert pruned.hidden_units == (8,)
    assert "distill_mse" in pruned.history_.columns
    untuned = prune(reg, X, target, sparsity=0.5, max_epochs=0)
    assert pruned.score(X, target) > untuned.score(X, target)
    assert pruned.score(X, target) > reg.score(X, target) - 0.15


def test_errors(blobs, net):
    X, y = blobs
    with pytest.raises(ValueError, match="sparsity"):
        prune(net, X, y, sparsity=1.0)
    with pytest.raises(TypeError, match="quantized"):
        prune(quantize(net), X, y)
