"""Where a fit runs: the CPU threads of small training steps (ThreadChoice)."""

import os

import numpy as np
import pytest
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier, _device
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


class _CpuTimes:
    """A fake ``/proc/stat``: between two reads, ``free`` cores' worth of the
    machine's CPU time was idle."""

    def __init__(self, free):
        self.free = free
        self.idle = self.total = 0

    def __call__(self):
        n_cpus = os.cpu_count() or 1
        self.total += 100 * n_cpus
        self.idle += int(100 * self.free)
        return self.idle, self.total


@pytest.fixture
def cpu_times(monkeypatch):
    """The machine's idle time, as the test sets it (one free core)."""
    fake = _CpuTimes(free=1.0)
    monkeypatch.setattr(_device, "_cpu_times", fake)
    return fake


def _steps(choice, n):
    threads = []
    for _ in range(n):
        choice.begin()
        threads.append(torch.get_num_threads())
        choice.end()
    return threads


def _choice(cost):
    choice = ThreadChoice(2)
    choice.clock = _StepClock(cost)
    module = MLP(n_features=3, n_outputs=2, hidden_units=(2,))
    assert choice.prepare(module, torch.ones(4, 3))
    assert torch.get_num_threads() == 1
    return choice


TRIAL = 2 * ThreadChoice.steps_per_trial


def test_the_choice_takes_the_faster_thread_count_and_tries_again_later(
    two_threads, cpu_times
):
    choice = _choice({1: 2.0, 2: 1.0})
    first = choice.first_period
    assert _steps(choice, first) == [1] * first  # one thread to begin with
    assert _steps(choice, TRIAL) == [1, 2] * 3  # a trial: both, in turns
    assert _steps(choice, first) == [2] * first
    _steps(choice, TRIAL)  # the next trial confirms: a period twice as long
    assert _steps(choice, 2 * first) == [2] * 2 * first
    assert _steps(choice, 2) == [1, 2]  # a trial again
    choice.rest()
    assert torch.get_num_threads() == 1


def test_no_trial_while_the_other_cores_are_busy(two_threads, cpu_times):
    cpu_times.free = 0.3
    choice = _choice({1: 2.0, 2: 1.0})
    first = choice.first_period
    # trials would fall due after 32 and 64 more steps: none is held
    assert set(_steps(choice, 7 * first)) == {1}
    assert choice._period == 8 * first  # each due check doubled it
    cpu_times.free = 1.0  # the other core is free again: a trial, when due
    threads = _steps(choice, 8 * first + TRIAL)
    assert threads[-TRIAL:] == [1, 2] * 3


def test_without_cpu_times_trials_are_held(two_threads, monkeypatch):
    monkeypatch.setattr(_device, "_cpu_times", lambda: None)
    choice = _choice({1: 2.0, 2: 1.0})
    threads = _steps(choice, choice.first_period + TRIAL)
    assert threads[-TRIAL:] == [1, 2] * 3


def test_a_trial_drops_threads_that_wait_for_busy_cores(two_threads, cpu_times):
    choice = _choice({1: 1.0, 2: 5.0})
    _steps(choice, choice.first_period)
    # one slow step on two threads ends their part of the trial
    assert _steps(choice, 4) == [1, 2, 1, 1]
    assert choice._best == 1


def test_steps_slower_than_one_threads_go_back_to_one_thread(two_threads, cpu_times):
    choice = _choice({1: 2.0, 2: 1.0})
    choice.first_period = 1000  # no trial falls due after the first
    _steps(choice, 32 + TRIAL)
    assert choice._best == 2
    choice.clock.cost = {1: 2.0, 2: 1.9}  # still faster than one thread
    assert _steps(choice, 3 * choice.window) == [2] * 3 * choice.window
    choice.clock.cost = {1: 2.0, 2: 2.5}  # slower, not twice as slow
    assert _steps(choice, choice.window + 1) == [2] * choice.window + [1]
    choice._choose(2)
    choice.clock.cost = {1: 2.0, 2: 6.0}  # one step stalls
    assert _steps(choice, 2) == [2, 1]


def test_a_network_that_fails_the_check_stays_on_one_thread(two_threads, cpu_times):
    module = MLP(n_features=3, n_outputs=2, hidden_units=(2,))
    module[0].register_forward_hook(lambda *args: None)
    choice = ThreadChoice(2)
    choice.clock = _StepClock({1: 2.0, 2: 1.0})
    assert choice.prepare(module, torch.ones(4, 3))
    assert set(_steps(choice, 10 * choice.first_period)) == {1}
    assert not choice.enabled
    assert not choice.prepare(module, torch.ones(4, 3))


def test_the_period_between_trials_is_capped(two_threads, cpu_times):
    choice = _choice({1: 1.0, 2: 2.0})
    for _ in range(14):
        _steps(choice, TRIAL + choice._period)
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


def test_a_fit_on_two_threads_equals_one_on_one_thread(german, two_threads, cpu_times):
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
