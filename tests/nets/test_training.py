"""The training loop's fast paths compute exactly what the plain torch calls compute."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sklfair.nets import TabularNetClassifier
from sklfair.nets._device import caller_threads, threads_for
from sklfair.nets._modules import MLP, has_hooks
from sklfair.nets._training import _FusedAdamStep


def twin_nets(optimizer=torch.optim.Adam, **kwargs):
    """Two identical MLPs, each with a fused ``optimizer``, and the fast step
    of the second one's: what torch steps against what sklfair steps."""
    torch.manual_seed(0)
    a = MLP(n_features=4, n_outputs=3, hidden_units=(5,))
    b = MLP(n_features=4, n_outputs=3, hidden_units=(5,))
    b.load_state_dict(a.state_dict())
    kwargs = dict(lr=0.01, fused=True, **kwargs)
    opt_a, opt_b = (
        optimizer(a.parameters(), **kwargs),
        optimizer(b.parameters(), **kwargs),
    )
    return a, b, opt_a, opt_b, _FusedAdamStep.for_optimizer(opt_b)


@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.AdamW])
def test_fused_adam_step_equals_optimizer_step(optimizer):
    a, b, opt_a, opt_b, fast = twin_nets(optimizer, weight_decay=0.1)
    assert fast is not None
    for _ in range(5):
        X = torch.randn(8, 4)
        for module, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            module(X).pow(2).mean().backward()
        opt_a.step()
        fast()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    torch.testing.assert_close(
        opt_a.state_dict()["state"], opt_b.state_dict()["state"], rtol=0, atol=0
    )


def test_fused_adam_step_skips_parameters_without_gradient_as_torch_does():
    a, b, opt_a, opt_b, fast = twin_nets()
    # the first layer's bias has no gradient in steps 0 and 3 only
    for k in range(5):
        X = torch.randn(8, 4)
        for module, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            module(X).pow(2).mean().backward()
            if k in (0, 3):
                module[0].bias.grad = None
        opt_a.step()
        fast()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    state_a, state_b = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    assert state_b[1]["step"] == 3 and state_b[0]["step"] == 5
    torch.testing.assert_close(state_a, state_b, rtol=0, atol=0)


def test_fused_step_is_not_used_where_it_could_be_observed():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert _FusedAdamStep.for_optimizer(torch.optim.SGD(params, lr=0.1)) is None
    amsgrad = torch.optim.Adam(params, fused=True, amsgrad=True)
    assert _FusedAdamStep.for_optimizer(amsgrad) is None
    hooked = torch.optim.Adam(params, fused=True)
    hooked.register_step_post_hook(lambda *args: None)
    assert _FusedAdamStep.for_optimizer(hooked) is None


def test_forward_hooks_are_honoured():
    X, y = make_classification(n_samples=100, random_state=0)
    calls = []
    clf = TabularNetClassifier(hidden_units=(4,), max_epochs=1, batch_size=50)
    clf.fit(X, y)
    module = clf.net_.module_
    handle = module[0].register_forward_hook(lambda *args: calls.append(1))
    assert has_hooks(module)
    clf.set_params(warm_start=True).fit(X, y)
    handle.remove()
    assert len(calls) >= 2
    assert not has_hooks(module)


def test_small_steps_run_single_threaded_and_restore_the_setting():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        small = MLP(n_features=10, n_outputs=2, hidden_units=(8,))
        with threads_for(small, 256, 10_000, "cpu"):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        large = MLP(n_features=1000, n_outputs=2, hidden_units=(1024, 1024))
        with threads_for(large, 4096, 10_000, "cpu"):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_large_evaluations_in_a_fit_get_the_callers_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with caller_threads():  # outside a fit: nothing changes
            assert torch.get_num_threads() == 2
        small = MLP(n_features=10, n_outputs=2, hidden_units=(8,))
        with threads_for(small, 256, 10_000, "cpu"):
            with caller_threads():
                assert torch.get_num_threads() == 2
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        with threads_for(small, 256, 10_000, "cpu"), caller_threads():
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_the_validation_loss_runs_on_the_callers_threads(forward_threads):
    """The steps of a small net run on one thread (by hand, not through
    ``MLP.forward``); the epoch-end validation pass gets the caller's two."""
    X, y = make_classification(n_samples=600, random_state=0)
    seen = forward_threads
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        TabularNetClassifier(
            hidden_units=(8,), max_epochs=3, early_stopping=True, random_state=0
        ).fit(X, y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert seen == [2, 2, 2]


def test_uniform_and_unit_weights_train_identically():
    X, y = make_classification(n_samples=200, random_state=0)
    params = dict(hidden_units=(8,), max_epochs=5, batch_size=32, random_state=0)
    plain = TabularNetClassifier(**params).fit(X, y)
    scaled = TabularNetClassifier(**params).fit(X, y, sample_weight=np.full(200, 3.0))
    np.testing.assert_array_equal(plain.predict_proba(X), scaled.predict_proba(X))


def test_a_loss_term_may_reweigh_rows_in_setup():
    """The documented LossTerm contract: setup sees the loop's live weights."""
    from sklfair.nets import LossTerm

    class DropPositives(LossTerm):
        def setup(self, net, data):
            weight = data["sample_weight"]
            keep = (data["y"] == 0).to(weight.dtype)
            weight.copy_(keep / keep.mean())

    X, y = make_classification(n_samples=400, random_state=0)
    clf = TabularNetClassifier(max_epochs=20, lr=1e-2, random_state=0)
    clf.fit(X, y, loss_terms=[DropPositives()])
    # trained on class-0 rows only: it never predicts class 1
    assert clf.predict_proba(X)[:, 1].max() < 0.5
    plain = TabularNetClassifier(max_epochs=20, lr=1e-2, random_state=0).fit(X, y)
    assert plain.predict(X).mean() > 0.3


def test_fused_step_counts_keep_torch_semantics():
    """One shared counter tensor, but each parameter's own step count: torch's
    own step, a saved and reloaded state and a partial step still agree."""
    import io

    a, b, opt_a, opt_b, fast = twin_nets()

    def step(k, b_step):
        X = torch.randn(8, 4)
        for module, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            module(X).pow(2).mean().backward()
            if k == 4:
                module[0].bias.grad = None
        opt_a.step()
        b_step()

    for k in range(3):
        step(k, fast)
    steps = [opt_b.state[p]["step"] for p in b.parameters()]
    assert [float(s) for s in steps] == [3.0] * 4
    assert len({id(s) for s in steps}) == 4
    step(3, opt_b.step)  # torch's own step on the shared counters
    step(4, fast)  # a partial step (one bias without gradient)
    buffer = io.BytesIO()
    torch.save(opt_b.state_dict(), buffer)
    buffer.seek(0)
    opt_b.load_state_dict(torch.load(buffer))
    step(5, _FusedAdamStep.for_optimizer(opt_b))
    assert [float(opt_b.state[p]["step"]) for p in b.parameters()] == [6, 5, 6, 6]
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    torch.testing.assert_close(
        opt_a.state_dict()["state"], opt_b.state_dict()["state"], rtol=0, atol=0
    )


@pytest.mark.parametrize("n", [7, 100_000, 3_000_000])
def test_an_int32_permutation_is_the_int64_one(n):
    # the loop draws each epoch's order (and the gap terms their monitored
    # sample) as int32 to halve its memory (issue 22); the batches stay the
    # ones torch's int64 permutation gave, which this pins
    a = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    b = torch.randperm(n, generator=torch.Generator().manual_seed(3), dtype=torch.int32)
    assert b.dtype == torch.int32
    assert torch.equal(a, b.to(torch.int64))
