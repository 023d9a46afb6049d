"""Where a fit runs: the device, the random generators to fork, the CPU threads.

- :func:`resolve_device` turns the ``device`` parameter into a device name
  (``"auto"`` picks CUDA when it is available; a CUDA request on a machine
  without CUDA falls back to the CPU);
- :func:`rng_devices` names the CUDA devices whose generators a fit forks,
  so that seeding a fit leaves the global generators untouched;
- :func:`threads_for` runs small CPU training steps on one thread.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["resolve_device", "rng_devices", "threads_for"]

# Below this many multiply-adds per training step, intra-op threads cost more
# in synchronisation than they save (benchmarks/bench_nets.py measures it).
_SMALL_STEP_MACS = 2**24


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
    if small and previous > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
