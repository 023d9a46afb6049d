"""Where a fit runs: the CPU threads of small training steps (ThreadChoice)."""

import numpy as np
import pytest
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier
from sklfair.nets._device import ThreadChoice, _same_on_any_threads, threads_for
from sklfair.nets._modules import MLP


@pytest.fixture
def two_threads():
    """torch at two threads for the test (the suite runs on one)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


class _StepClock:
    """A fake clock: each step takes ``cost[threads]`` seconds, the thread
    count being torch's when the step starts."""

    def __init__(self, cost):
        self.cost = cost
        self.now = 0.0
        self.started = False

    def __call__(self):
        if self.started:  # the end of a step
            self.now += self.cost[torch.get_num_threads()]
        self.started = not self.started
        return self.now


def _steps(choice, n):
    threads = []
    for _ in range(n):
        choice.begin()
        threads.append(torch.get_num_threads())
        choice.end()
    return threads


def test_the_choice_takes_the_faster_thread_count_and_tries_again_later(two_threads):
    module = MLP(n_features=5, n_outputs=2, hidden_units=(4,))
    choice = ThreadChoice(2)
    choice.clock = _StepClock({1: 2.0, 2: 1.0})
    assert choice.prepare(module, torch.randn(8, 5))
    assert torch.get_num_threads() == 1  # until a step is timed
    trial = choice.steps_per_trial * 2
    assert sorted(_steps(choice, trial)) == [1] * 3 + [2] * 3  # both, in turns
    assert choice._left == choice.first_period
    assert set(_steps(choice, choice.first_period)) == {2}
    # the next trial confirms: the next period is twice as long
    _steps(choice, trial)
    assert choice._left == 2 * choice.first_period
    # the other cores get busy: two threads slow down, one thread wins back
    choice.clock.cost = {1: 2.0, 2: 3.0}
    assert set(_steps(choice, choice._left)) == {2}
    _steps(choice, trial)
    assert choice._left == choice.first_period  # a changed choice starts over
    assert set(_steps(choice, choice._left)) == {1}
    assert _steps(choice, 2) == [1, 2]  # a trial again
    choice.rest()
    assert torch.get_num_threads() == 1


def test_a_trial_drops_threads_that_wait_for_busy_cores(two_threads):
    choice = ThreadChoice(2)
    choice.clock = _StepClock({1: 1.0, 2: 5.0})
    choice.prepare(MLP(n_features=3, n_outputs=2, hidden_units=(2,)), torch.ones(4, 3))
    # one slow step on two threads ends their part of the trial
    assert _steps(choice, 4) == [1, 2, 1, 1]
    assert choice._best == 1 and choice._left == choice.first_period


def test_the_period_between_trials_is_capped(two_threads):
    choice = ThreadChoice(2)
    choice.clock = _StepClock({1: 1.0, 2: 2.0})
    choice.prepare(MLP(n_features=3, n_outputs=2, hidden_units=(2,)), torch.ones(4, 3))
    for _ in range(12):
        _steps(choice, 6 + choice._period)
    assert choice._period == choice.max_period


def test_only_batches_of_the_checked_size_are_timed(two_threads):
    choice = ThreadChoice(2)
    module = MLP(n_features=3, n_outputs=2, hidden_units=(2,))
    assert choice.prepare(module, torch.randn(16, 3))
    assert not choice.prepare(module, torch.randn(5, 3))  # a last, smaller batch


def test_the_check_refuses_networks_it_cannot_vouch_for(two_threads):
    X = torch.randn(8, 5)
    module = MLP(n_features=5, n_outputs=2, hidden_units=(4,))
    assert _same_on_any_threads(module, X, (1, 2))
    module[0].register_forward_hook(lambda *args: None)
    assert not _same_on_any_threads(module, X, (1, 2))

    class Failing(torch.nn.Module):
        def forward(self, X):
            raise RuntimeError("not on random copies")

    assert not _same_on_any_threads(Failing(), X, (1, 2))
    assert torch.get_num_threads() == 1  # the check leaves one thread set


def test_the_check_leaves_the_network_and_the_generator_alone(two_threads):
    torch.manual_seed(0)
    module = MLP(n_features=5, n_outputs=2, hidden_units=(4,), dropout=0.5)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    X = torch.randn(8, 5)
    state = torch.random.get_rng_state()
    assert _same_on_any_threads(module, X, (1, 2))
    assert all(p.grad is None for p in module.parameters())
    assert torch.equal(torch.random.get_rng_state(), state)
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])


def test_small_steps_get_a_choice_only_where_torch_may_use_more_threads():
    previous = torch.get_num_threads()
    small = MLP(n_features=10, n_outputs=2, hidden_units=(8,))
    try:
        torch.set_num_threads(1)
        with threads_for(small, 256, 10_000, "cpu") as choice:
            assert choice is None
        torch.set_num_threads(8)
        with threads_for(small, 256, 10_000, "cpu") as choice:
            assert choice.candidates == (1, 2, 4)
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 8
    finally:
        torch.set_num_threads(previous)


class _ThreadsSeen(Callback):
    """Records torch's thread count at every batch's end and epoch's end."""

    def initialize(self):
        self.batches, self.epochs = [], []
        return self

    def on_batch_end(self, net, **kwargs):
        self.batches.append(torch.get_num_threads())

    def on_epoch_end(self, net, **kwargs):
        self.epochs.append(torch.get_num_threads())


@pytest.fixture(scope="module")
def german():
    """German credit, one-hot encoded and standardised."""
    X, y = load_german_credit(return_X_y=True)
    encoder = make_column_transformer(
        (
            OneHotEncoder(sparse_output=False),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder=StandardScaler(),
    )
    return encoder.fit_transform(X), y


def test_a_fit_on_two_threads_equals_one_on_one_thread(german, two_threads):
    X, y = german
    params = dict(max_epochs=12, batch_size=32, random_state=0)
    seen = _ThreadsSeen()
    both = TabularNetClassifier(**params, callbacks=[seen]).fit(X, y)
    # every trial tries both counts; epoch ends and the last, smaller batch
    # of an epoch run on one thread
    assert {1, 2} <= set(seen.batches)
    assert set(seen.epochs) == {1}
    assert torch.get_num_threads() == 2  # restored after the fit
    torch.set_num_threads(1)
    one = TabularNetClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(both.predict_proba(X), one.predict_proba(X))
    np.testing.assert_array_equal(
        both.history_["train_loss"], one.history_["train_loss"]
    )
