"""Fixtures and rules shared by every test module.

- Torch and the BLAS pools run one thread for the whole session: the networks
  here are tiny, and several test processes (or other jobs) on a small machine
  would otherwise oversubscribe the cores, which makes threaded torch many
  times slower. This is the one place that pins threads for the tests.
- A test that asks for a fixture holding a large real data set must be marked
  ``slow`` (see setup.cfg), so that ``-m "not slow"`` gives a quick local run
  and the rule cannot drift.
- ``traced_peak`` measures the memory a call allocates, for the memory
  regression tests; ``forward_threads`` records torch's thread count at
  every ``MLP.forward`` call.
- Ctrl-C raises ``KeyboardInterrupt`` during the session, as in a terminal,
  also when the suite was started with SIGINT ignored (``nohup``, a
  background job of a script), which the interrupt tests need.
"""

import signal
import tracemalloc

import pytest
import torch
from threadpoolctl import threadpool_limits

#: Fixtures that hold a large real data set (Adult, Taiwan credit, COMPAS).
LARGE_DATA_FIXTURES = {"adult", "taiwan", "compas"}


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Pin torch and the BLAS pools to one thread; restore them afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_raises():
    """Python's own SIGINT handler for the session when SIGINT was ignored
    (subprocesses started meanwhile get the default disposition too)."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def traced_peak():
    """``traced_peak(function, *args, **kwargs)``: the call's result and the
    peak of the memory it allocated (numpy's allocations, as tracemalloc
    sees them)."""

    def measure(function, *args, **kwargs):
        tracemalloc.start()
        try:
            result = function(*args, **kwargs)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return result, peak

    return measure


@pytest.fixture
def forward_threads(monkeypatch):
    """The torch thread count at every call of ``MLP.forward`` or
    ``ReluBackprop.evaluate``: the passes over many rows (the default
    network's training steps run by hand, without either)."""
    from sklfair.nets._backprop import ReluBackprop
    from sklfair.nets._modules import MLP

    seen = []

    def recording(forward):
        def recorded(self, X):
            seen.append(torch.get_num_threads())
            return forward(self, X)

        return recorded

    monkeypatch.setattr(MLP, "forward", recording(MLP.forward))
    monkeypatch.setattr(ReluBackprop, "evaluate", recording(ReluBackprop.evaluate))
    return seen


def pytest_collection_modifyitems(config, items):
    unmarked = [
        item.nodeid
        for item in items
        if LARGE_DATA_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        shown = "\n  ".join(unmarked[:20])
        raise pytest.UsageError(
            "These tests use a large real data set but are not marked "
            f"@pytest.mark.slow:\n  {shown}"
        )
