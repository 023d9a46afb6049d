"""Where a fit runs: the device, the random generators to fork, the CPU threads.

- :func:`resolve_device` turns the ``device`` parameter into a device name
  (``"auto"`` picks CUDA when it is available; a CUDA request on a machine
  without CUDA falls back to the CPU);
- :func:`rng_devices` names the CUDA devices whose generators a fit forks,
  so that seeding a fit leaves the global generators untouched;
- :func:`threads_for` runs small CPU training steps on one thread, or, where
  torch may use more and they give the same numbers, on whichever of one or
  a few threads is faster at the time (:class:`ThreadChoice`).
"""

from __future__ import annotations

import contextlib
import copy
import time

import torch

from ._modules import has_hooks

__all__ = ["resolve_device", "rng_devices", "threads_for", "ThreadChoice"]

# Below this many multiply-adds per training step, intra-op threads may cost
# more in synchronisation than they save: such steps start on one thread and
# use more only where timing shows they are faster (ThreadChoice).
_SMALL_STEP_MACS = 2**24
# the most threads a small step tries: beyond, they only add synchronisation
_SMALL_STEP_MAX_THREADS = 4


def resolve_device(device):
    """``"auto"`` -> CUDA when available, else CPU; CUDA requested but absent -> CPU."""
    if device == "auto" or device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        return "cpu"
    return str(device)


def rng_devices(device):
    """The CUDA device indices ``torch.random.fork_rng`` must fork for ``device``."""
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        return [torch.cuda.current_device() if index is None else index]
    return []


@contextlib.contextmanager
def threads_for(module, batch_size, n_samples, device):
    """Run small CPU training steps on one thread; restore torch's setting.

    Yields a :class:`ThreadChoice` when the steps are small and torch may use
    more than one thread (the loop then times one against a few), else None.
    """
    macs = sum(
        m.in_features * m.out_features
        for m in module.modules()
        if isinstance(m, torch.nn.Linear)
    ) * min(batch_size or n_samples, n_samples)
    previous = torch.get_num_threads()
    small = str(device) == "cpu" and 0 < macs < _SMALL_STEP_MACS
    choice = None
    if small and previous > 1:
        torch.set_num_threads(1)
        choice = ThreadChoice(min(previous, _SMALL_STEP_MAX_THREADS))
    try:
        yield choice
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


class ThreadChoice:
    """Run each small CPU training step on one thread or on a few, whichever
    is faster at the time.

    A small network's step gains from a second core on a quiet machine and
    loses several times over when the other cores are busy (the threads wait
    for each other at every operation). So the loop times its steps: a
    *trial* runs a few steps on each candidate thread count, in turns, and
    the fastest (by its quickest step) runs the following steps; a thread
    count whose step takes over twice one thread's is dropped from the trial
    at once, so that a busy machine costs one slow step a trial. Trials come
    after 32 steps at first and twice as rarely each time they confirm the
    choice, at most every 1024 steps; a changed choice starts over. Results
    never depend on the choice: :meth:`prepare` runs a forward and backward
    pass of a copy of the network on the batch once per thread count and
    enables the choice only when the outputs and gradients are bitwise the
    same; otherwise, and for everything outside the timed steps (epoch ends,
    a last smaller batch, evaluation), the fit runs on one thread.

    Parameters
    ----------
    max_threads : int
        The most threads a step may use (torch's setting, capped).
    """

    steps_per_trial = 3
    first_period = 32
    max_period = 1024
    #: a trial drops a thread count whose step takes this many times one
    #: thread's quickest (on a busy machine such a step costs several)
    give_up = 2.0
    #: the clock of the steps (seconds)
    clock = staticmethod(time.perf_counter)

    def __init__(self, max_threads):
        self.candidates = tuple(sorted({1, min(2, max_threads), max_threads}))
        self.enabled = None  # decided by prepare
        self._rows = None
        self.threads = 1
        self._queue = []
        self._times = {}
        self._left = 0
        self._period = self.first_period
        self._best = None
        self._start = None

    def prepare(self, module, X):
        """Whether the step on the batch ``X`` is timed (its thread count
        chosen).

        The first call checks that a step on a batch of ``X``'s shape gives
        the same numbers on every candidate thread count; the batches of that
        many rows are then timed, any other runs on one thread.
        """
        if self.enabled is None:
            self._rows = X.shape[0]
            self.enabled = len(self.candidates) > 1 and _same_on_any_threads(
                module, X, self.candidates
            )
            self._new_trial()
            self._set(1)
        return self.enabled and X.shape[0] == self._rows

    def _set(self, n):
        if n != self.threads:
            torch.set_num_threads(n)
            self.threads = n

    def _new_trial(self):
        self._queue = list(self.candidates) * self.steps_per_trial
        self._times = {n: float("inf") for n in self.candidates}

    def begin(self):
        """Before a step: set its thread count and start its clock."""
        if self._queue:
            self._set(self._queue[0])
        elif self._best is not None:
            self._set(self._best)
        self._start = self.clock()

    def end(self):
        """After the step: record its time in a trial; end the trial or the
        period that is due."""
        elapsed = self.clock() - self._start
        if self._queue:
            n = self._queue.pop(0)
            self._times[n] = min(self._times[n], elapsed)
            if n > 1 and elapsed > self.give_up * self._times[1]:
                # the threads wait for busy cores: no more of this trial's
                # steps on this many threads or more
                self._queue = [k for k in self._queue if k < n]
            if not self._queue:
                best = min(self.candidates, key=self._times.__getitem__)
                same = best == self._best
                self._period = (
                    min(2 * self._period, self.max_period)
                    if same
                    else self.first_period
                )
                self._best, self._left = best, self._period
            return
        self._left -= 1
        if self._left <= 0:
            self._new_trial()

    def rest(self):
        """Between timed steps: one thread (results that do not depend on the
        choice)."""
        self._set(1)


def _same_on_any_threads(module, X, candidates):
    """Whether a forward and backward pass of a copy of ``module`` on ``X``
    gives bitwise the same outputs and gradients on every thread count of
    ``candidates`` (matrix products may split their sums differently).

    The copy runs in training mode under a forked, reseeded random generator
    (dropout draws the same masks each time); the network, its gradients and
    the global generators are left as they were. A network with hooks, or one
    that fails on the copy, counts as not the same.
    """
    if has_hooks(module):
        return False
    try:
        probe = copy.deepcopy(module).train()
        params = [p for p in probe.parameters() if p.requires_grad]
        results = []
        with torch.random.fork_rng():
            for n in candidates:
                torch.set_num_threads(n)
                torch.manual_seed(0)
                for p in params:
                    p.grad = None
                out = probe(X)
                # a dense, fixed upstream gradient
                upstream = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)
                (out * upstream.to(out.dtype)).sum().backward()
                results.append([out.detach()] + [p.grad for p in params])
    except Exception:  # a module the probe cannot run: stay on one thread
        return False
    finally:
        torch.set_num_threads(1)
    first = results[0]
    return all(
        all(
            (a is None and b is None)
            or (a is not None and b is not None and torch.equal(a, b))
            for a, b in zip(first, other, strict=True)
        )
        for other in results[1:]
    )
