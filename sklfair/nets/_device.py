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
import os
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
    loses badly when the other cores are busy: the threads wait for each
    other at every operation, and a thread that waits for a busy core can
    stall a step for a whole time slice of the scheduler (steps of 0.1 s
    instead of 0.3 ms were measured while another process kept one of two
    cores busy). So the loop starts on one thread and, from time to time,
    holds a *trial*: a few steps on each candidate thread count, in turns,
    after which the fastest (by its quickest step) runs the following steps.

    - A trial is held only when the cores were idle enough meanwhile: the
      idle time of the machine's CPUs since the last trial (``/proc/stat``,
      where there is one) must amount to most of a free core per extra
      thread; otherwise one thread stays, without a trial.
    - Trials fall due after 32 steps, then twice as rarely each time (at
      most every 4096 steps), and back to 32 steps when the choice changes.
    - A thread count whose trial step takes over twice one thread's is
      dropped from the trial at once.
    - On several threads, a step that takes over twice one thread's trial
      time, or 8 in a row slower than it on average, send the fit back to
      one thread at once (the other cores got busy).

    Results never depend on the choice: before the first trial, a forward
    and backward pass of a copy of the network on the first batch runs once
    per thread count, and the choice goes on only when the outputs and
    gradients are bitwise the same; otherwise, and for everything outside
    the timed steps (epoch ends, a last smaller batch, evaluation), the fit
    runs on one thread.

    Parameters
    ----------
    max_threads : int
        The most threads a step may use (torch's setting, capped).
    """

    steps_per_trial = 3
    #: steps on several threads whose mean is checked against one thread's
    window = 8
    first_period = 32
    max_period = 4096
    #: a trial drops a thread count whose step takes this many times one
    #: thread's quickest; a step on several threads as slow ends their run
    give_up = 2.0
    #: idle share of a core, per extra thread, needed for a trial
    min_idle = 0.75
    #: CPU time (jiffies per CPU) the idle share is measured over, at least
    min_jiffies = 3
    #: the clock of the steps (seconds)
    clock = staticmethod(time.perf_counter)

    def __init__(self, max_threads):
        self.candidates = tuple(sorted({1, min(2, max_threads), max_threads}))
        self.enabled = None  # decided by prepare
        self.threads = torch.get_num_threads()
        self._rows = None
        self._queue = []
        self._times = {}
        self._best = 1
        self._period = self.first_period
        self._left = self.first_period
        self._since = None
        self._probe = None
        self._start = None
        self._window, self._window_steps = 0.0, 0

    def prepare(self, module, X):
        """Whether the step on the batch ``X`` is timed (its thread count
        chosen).

        The batches with as many rows as the first are timed, any other runs
        on one thread; the first batch is kept for the check of the first
        trial (a step on it must give the same numbers on every thread
        count).
        """
        if self.enabled is None:
            self._rows = X.shape[0]
            self.enabled = len(self.candidates) > 1
            # the check runs on several threads: at the first trial, once the
            # cores are known to be idle enough
            self._probe = (module, X.detach().clone())
            self._set(1)
            self._since = _cpu_times()
        return self.enabled and X.shape[0] == self._rows

    def _set(self, n):
        if n != self.threads:
            torch.set_num_threads(n)
            self.threads = n

    def begin(self):
        """Before a step: set its thread count and start its clock."""
        self._set(self._queue[0] if self._queue else self._best)
        self._start = self.clock()

    def end(self):
        """After the step: record its time; end a trial, start one that is
        due, or leave several threads that slowed down."""
        elapsed = self.clock() - self._start
        if self._queue:
            self._trial_step(elapsed)
            return
        self._left -= 1
        if self._best > 1 and self._slowed(elapsed):
            self._choose(1, first=True)
        elif self._left <= 0:
            self._due()

    def _slowed(self, elapsed):
        one = self._times[1]
        if elapsed > self.give_up * one:
            return True
        self._window += elapsed
        self._window_steps += 1
        if self._window_steps < self.window:
            return False
        slowed = self._window > self.window * one
        self._window, self._window_steps = 0.0, 0
        return slowed

    def _due(self):
        """A trial falls due: hold it, or stay on one thread."""
        candidates = self.candidates
        if self._best == 1:
            free = _free_cores(self._since)
            if free is _TOO_SOON:  # not enough CPU time measured yet
                self._left = self.first_period
                return
            if free is not None:
                candidates = tuple(
                    n for n in candidates if n == 1 or n - 1 <= free / self.min_idle
                )
            if len(candidates) == 1:  # the other cores were busy
                self._choose(1)
                return
        if self._probe is not None:
            module, X = self._probe
            self._probe = None
            same = _same_on_any_threads(module, X, self.candidates)
            self._set(1)  # the check leaves torch on one thread
            if not same:  # one thread for the rest of the fit
                self.enabled, self.candidates = False, (1,)
                self._choose(1)
                return
        self._queue = list(candidates) * self.steps_per_trial
        self._times = dict.fromkeys(candidates, float("inf"))

    def _trial_step(self, elapsed):
        n = self._queue.pop(0)
        self._times[n] = min(self._times[n], elapsed)
        if n > 1 and elapsed > self.give_up * self._times[1]:
            # the threads wait for busy cores: no more of this trial's steps
            # on this many threads or more
            self._queue = [k for k in self._queue if k < n]
        if not self._queue:
            self._choose(min(self._times, key=self._times.__getitem__))

    def _choose(self, n, first=False):
        """Run on ``n`` threads until the next trial falls due."""
        changed = n != self._best
        self._period = (
            self.first_period
            if first or changed
            else min(2 * self._period, self.max_period)
        )
        self._best, self._left = n, self._period
        self._window, self._window_steps = 0.0, 0
        if n == 1:
            self._since = _cpu_times()

    def rest(self):
        """Between timed steps: one thread (results that do not depend on the
        choice)."""
        self._set(1)


_TOO_SOON = object()


def _cpu_times():
    """(idle, total) jiffies of all the machine's CPUs (``/proc/stat``), or
    None where there is no such file."""
    try:
        with open("/proc/stat", "rb") as stat:
            fields = stat.readline().split()[1:9]
    except OSError:
        return None
    values = [int(v) for v in fields]
    # idle and iowait; guest time is already counted in user time
    return values[3] + values[4], sum(values)


def _free_cores(since):
    """How many cores' worth of the machine's CPU time was idle since
    ``since`` (a :func:`_cpu_times`), None if unknown, ``_TOO_SOON`` if too
    little time passed to tell."""
    now = _cpu_times()
    if since is None or now is None:
        return None
    n_cpus = os.cpu_count() or 1
    idle, total = now[0] - since[0], now[1] - since[1]
    if total < ThreadChoice.min_jiffies * n_cpus:
        return _TOO_SOON
    return n_cpus * idle / total


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
