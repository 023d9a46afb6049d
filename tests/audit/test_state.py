"""The process state a run borrows: thread limits and the SIGINT handler."""

import signal

import pytest
import torch
from threadpoolctl import threadpool_info

from sklfair.audit._state import InterruptWatch, limited_threads


def _pools():
    return sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info())


@pytest.mark.parametrize("torch_too", [True, False])
def test_limited_threads_restores_on_error(torch_too):
    before = torch.get_num_threads(), _pools()
    with pytest.raises(RuntimeError, match="inside"):
        with limited_threads(3, torch_too=torch_too):
            if torch_too:
                assert torch.get_num_threads() == 3
            assert all(n == 3 for _, n in _pools())
            raise RuntimeError("inside")
    assert (torch.get_num_threads(), _pools()) == before


def test_a_deferred_interrupt_comes_when_the_section_ends():
    handler = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with InterruptWatch(defer=True) as watch:
            signal.raise_signal(signal.SIGINT)
            done.append("after the signal")
    assert done == ["after the signal"] and watch.interrupted
    assert signal.getsignal(signal.SIGINT) is handler


def test_watches_nest_and_the_outer_one_learns_of_the_interrupt():
    with InterruptWatch() as outer:
        with pytest.raises(KeyboardInterrupt):
            with InterruptWatch(defer=True):
                signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == outer._handle
        with pytest.raises(KeyboardInterrupt):
            outer.check()


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with InterruptWatch() as watch:
            signal.raise_signal(signal.SIGINT)
            watch.check()
        assert not watch.interrupted
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
