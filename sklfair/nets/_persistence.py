"""Pickling a fitted net: the trained parameters as numpy arrays, not torch objects.

:class:`PicklableNet` is a mixin of :class:`~sklfair.nets._base.BaseTabularNet`.
Its state holds the module's ``state_dict`` as numpy arrays and the epochs of
the skorch history; loading rebuilds the net on the device the estimator's
``device`` parameter resolves to on the loading machine. So a model fitted on
a GPU loads and predicts on a CPU-only machine, and ``skops.io`` can persist
it. The optimizer state is not kept: a ``warm_start`` fit after loading starts
a fresh optimizer.
"""

from __future__ import annotations

import torch
from skorch.history import History

from ._device import resolve_device, rng_devices
from ._training import history_frame

__all__ = ["PicklableNet"]


class PicklableNet:
    """``__getstate__`` / ``__setstate__`` of the fitted nets (see the module)."""

    def __getstate__(self):
        # a copy: object.__getstate__ returns the live __dict__
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)
            state["_net_state"] = {
                "module": {
                    k: v.detach().cpu().numpy()
                    for k, v in net.module_.state_dict().items()
                },
                "history": [dict(epoch) for epoch in net.history],
            }
        return state

    def __setstate__(self, state):
        net_state = state.pop("_net_state", None)
        super().__setstate__(state)
        if net_state is None:
            return
        device = resolve_device(self.device)
        net = self._build_net(
            self.n_features_in_, self._n_outputs(), device, torch.Generator(), ()
        )
        with torch.random.fork_rng(devices=rng_devices(device)):
            net.initialize()
        net.module_.load_state_dict(
            {k: torch.as_tensor(v) for k, v in net_state["module"].items()}
        )
        net.history = History(net_state["history"])
        self.net_ = net
        self.history_ = history_frame(net.history)
        self.device_ = device
