"""The process state a run borrows: thread limits and the SIGINT handler."""

import io
import signal
import warnings

import pytest
import torch
from threadpoolctl import threadpool_info

from sklfair.audit._state import InterruptWatch, ModelStep, limited_threads


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


def _step(notes, progress=None, watch=None):
    return ModelStep(
        "net",
        section="credit",
        failure="no credit measurement",
        notes=notes,
        progress=progress,
        watch=watch,
    )


def test_a_model_step_records_warnings_and_turns_a_failure_into_a_note():
    notes, progress = [], io.StringIO()
    with _step(notes, progress) as step:
        warnings.warn("careful", UserWarning, stacklevel=1)
    assert not step.failed and notes == []
    assert [str(w.message) for w in step.caught] == ["careful"]
    with _step(notes, progress) as step:
        raise ValueError("bad rows\nmore detail")
    assert step.failed
    assert notes == ["net: no credit measurement (ValueError: bad rows)"]
    assert progress.getvalue() == "  credit: net: FAILED (ValueError: bad rows)\n"


def test_a_model_step_passes_interrupts_on():
    notes = []
    with pytest.raises(KeyboardInterrupt):
        with _step(notes):
            raise KeyboardInterrupt
    # a library caught the interrupt the watch saw: raised on leaving the step,
    # whether the model then returned or failed
    with InterruptWatch() as watch:
        watch.interrupted = True
        with pytest.raises(KeyboardInterrupt):
            with _step(notes, watch=watch):
                pass
        with pytest.raises(KeyboardInterrupt):
            with _step(notes, watch=watch):
                raise RuntimeError("the loop stopped early")
    assert notes == []
