"""The one training loop: a skorch ``NeuralNet`` over tensor-resident data.

:class:`TrainingNet` is private. The public estimators build one in ``fit`` and
keep it as ``net_``; the meta-estimators reach it only through the public
``fit`` arguments (``sample_weight``, ``sensitive_features``,
``soft_targets``, ``loss_terms``).

What differs from skorch's own loop, and why:

- the data are tensors on the device (:class:`~sklfair.nets._data.TensorData`)
  sliced by a shuffled index per batch: no ``Dataset``, no ``DataLoader``, no
  per-row Python;
- the loss is the weighted mean of the per-sample base loss, followed by the
  :class:`~sklfair.nets.LossTerm` objects of the fit;
- the training loss is accumulated on the device and read once per epoch (one
  synchronisation per epoch, not per batch), and per-batch callback hooks are
  only called when a callback defines them;
- a non-finite epoch loss stops training with an error naming the epoch.

skorch's callbacks (``EarlyStopping``, ``LRScheduler``, ``Checkpoint``, ...),
its ``history`` and its KeyboardInterrupt handling work as usual.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog

__all__ = ["TrainingNet", "NonFiniteLossError"]

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def _defines_batch_hooks(callback):
    return any(
        getattr(type(callback), hook, None) is not getattr(Callback, hook)
        for hook in _BATCH_HOOKS
    )


class TrainingNet(NeuralNet):
    """skorch net whose ``fit_loop`` runs the tensor-sliced training loop.

    ``fit(X, y)`` is called with ``X`` a ``(train, valid)`` pair of
    :class:`~sklfair.nets._data.TensorData` (``valid`` may be None) and
    ``y=None``; the targets travel inside the pair.
    """

    def __init__(
        self, *args, loss_terms=(), sample_loss=None, generator=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.loss_terms = loss_terms
        self.sample_loss = sample_loss
        self.generator = generator

    @property
    def _default_callbacks(self):
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

    def check_data(self, X, y=None):
        pass

    def _batch_callbacks(self):
        return [cb for _, cb in self.callbacks_ if _defines_batch_hooks(cb)]

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        train, valid = X
        epochs = self.max_epochs if epochs is None else epochs
        batch_callbacks = self._batch_callbacks()
        for term in self.loss_terms:
            missing = [k for k in term.requires if k not in train.tensors]
            if missing:
                raise ValueError(
                    f"{type(term).__name__} needs {missing} but the fit was not "
                    f"given them."
                )
        for _ in range(epochs):
            self.notify("on_epoch_begin", dataset_train=train, dataset_valid=valid)
            train_loss = self._run_train_epoch(train, batch_callbacks)
            self.history.record("train_loss", train_loss)
            if valid is not None and valid.n_samples > 0:
                self.history.record("valid_loss", self.evaluate_loss(valid))
            for term in self.loss_terms:
                for key, value in term.epoch_summary().items():
                    self.history.record(key, value)
            self.notify("on_epoch_end", dataset_train=train, dataset_valid=valid)
        return self

    def _run_train_epoch(self, data, batch_callbacks):
        module = self.module_
        module.train()
        n = data.n_samples
        bs = n if self.batch_size in (None, -1) else min(self.batch_size, n)
        perm = torch.randperm(n, generator=self.generator).to(self.device)
        total = torch.zeros((), device=self.device)
        optimizer = self.optimizer_
        for batch in data.batches(perm, bs):
            index = batch["index"]
            if batch_callbacks:
                self.notify(
                    "on_batch_begin",
                    batch=(batch["X"], batch["y"]),
                    training=True,
                )
            outputs = module(batch["X"])
            loss = self.get_batch_loss(outputs, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if batch_callbacks:
                self.notify(
                    "on_grad_computed",
                    named_parameters=list(module.named_parameters()),
                    batch=(batch["X"], batch["y"]),
                    training=True,
                )
            optimizer.step()
            for term in self.loss_terms:
                term.after_step(self, outputs, batch)
            total += loss.detach() * len(index)
            if batch_callbacks:
                self.notify(
                    "on_batch_end",
                    batch=(batch["X"], batch["y"]),
                    training=True,
                    loss=loss,
                    y_pred=outputs,
                )
        epoch_loss = (total / max(n, 1)).item()
        if not math.isfinite(epoch_loss):
            raise NonFiniteLossError(
                f"The training loss became {epoch_loss} in epoch "
                f"{len(self.history)}; training stopped before the model filled "
                "with NaN. Lower lr, scale the inputs (StandardScaler) or check "
                "the sample weights and targets for extreme values."
            )
        return epoch_loss

    def get_batch_loss(self, outputs, batch):
        """Weighted mean base loss followed by every loss term."""
        sample_loss = self.sample_loss(outputs, batch["y"])
        batch["sample_loss"] = sample_loss
        loss = (batch["sample_weight"] * sample_loss).mean()
        for term in self.loss_terms:
            loss = term(loss, outputs, batch)
        return loss

    @torch.no_grad()
    def evaluate_loss(self, data):
        """Weighted mean base loss over ``data`` (no loss terms)."""
        self.module_.eval()
        total = torch.zeros((), device=self.device)
        weight = torch.zeros((), device=self.device)
        n = data.n_samples
        step = max(self.batch_size or n, 8192)
        for start in range(0, n, step):
            index = torch.arange(start, min(start + step, n), device=self.device)
            batch = data.batch(index)
            sample_loss = self.sample_loss(self.module_(batch["X"]), batch["y"])
            total += (batch["sample_weight"] * sample_loss).sum()
            weight += batch["sample_weight"].sum()
        return (total / weight.clamp_min(1e-12)).item()
