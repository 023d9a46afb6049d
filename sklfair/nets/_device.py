"""Where a fit runs: the device, the random generators to fork, the CPU threads.

- :func:`resolve_device` turns the ``device`` parameter into a device name
  (``"auto"`` picks CUDA when it is available; a CUDA request on a machine
  without CUDA falls back to the CPU);
- :func:`rng_devices` names the CUDA devices whose generators a fit forks,
  so that seeding a fit leaves the global generators untouched;
- :func:`threads_for` runs small CPU training steps on one thread, and
  :func:`caller_threads` gives a large computation inside such a fit (an
  evaluation over many rows at an epoch end) the threads the caller had.
"""

from __future__ import annotations

import contextlib
import contextvars

import torch

__all__ = ["caller_threads", "resolve_device", "rng_devices", "threads_for"]

# Below this many multiply-adds per training step, intra-op threads cost more
# in synchronisation than they save (benchmarks/bench_nets.py measures it).
_SMALL_STEP_MACS = 2**24

# torch's thread count before threads_for set one, while it is in effect
_CALLER_THREADS = contextvars.ContextVar("sklfair_caller_threads", default=None)


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
    """Run small CPU training steps single-threaded; restore torch's setting."""
    macs = sum(
        m.in_features * m.out_features
        for m in module.modules()
        if isinstance(m, torch.nn.Linear)
    ) * min(batch_size or n_samples, n_samples)
    previous = torch.get_num_threads()
    small = str(device) == "cpu" and 0 < macs < _SMALL_STEP_MACS
    token = None
    if small and previous > 1:
        torch.set_num_threads(1)
        token = _CALLER_THREADS.set(previous)
    try:
        yield
    finally:
        if token is not None:
            _CALLER_THREADS.reset(token)
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def caller_threads():
    """Inside :func:`threads_for`'s single thread, the caller's thread count
    for a computation large enough to use it (a forward pass over many rows);
    elsewhere, nothing changes."""
    caller = _CALLER_THREADS.get()
    current = torch.get_num_threads()
    if caller is None or caller == current:
        yield
        return
    torch.set_num_threads(caller)
    try:
        yield
    finally:
        torch.set_num_threads(current)
