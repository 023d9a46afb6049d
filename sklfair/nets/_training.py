"""The one training loop: a skorch ``NeuralNet`` over tensor-resident data.

:class:`TrainingNet` is private. The public estimators build one in ``fit`` and
keep it as ``net_``; the meta-estimators reach it only through the public
``fit`` arguments (``sample_weight``, ``sensitive_features``,
``soft_targets``, ``loss_terms``).

What differs from skorch's own loop, and why:

- the data are tensors on the device (:class:`~sklfair.nets._data.TensorData`)
  sliced by a shuffled index per batch: no ``Dataset``, no ``DataLoader``, no
  per-row Python; data larger than memory arrive as a
  :class:`~sklfair.nets._chunks.ChunkStream`, one ``TensorData`` per chunk,
  and an epoch is one pass over every chunk;
- the loss is the weighted mean of the per-sample base loss, followed by the
  :class:`~sklfair.nets.LossTerm` objects of the fit;
- the training loss is accumulated on the device and read once per epoch (one
  synchronisation per epoch, not per batch), and per-batch callback hooks are
  only called when a callback defines them;
- a non-finite epoch loss stops training with an error naming the epoch;
- Ctrl-C stops the fit and propagates as ``KeyboardInterrupt``, as in
  scikit-learn. skorch swallows every ``KeyboardInterrupt``, because its
  ``EarlyStopping`` callback raises one to stop training; here a fit in the
  main thread watches SIGINT (:func:`_watching_sigint`), so that a real
  Ctrl-C propagates while a callback's stop still ends training normally;
- with a :class:`~sklfair.nets._private.PrivateTraining` (``privacy=``), an
  epoch is DP-SGD: Poisson-sampled batches, opacus's per-sample clipping
  and noise, and no exact training loss in the history (it is a statistic
  of the training rows outside the guarantee).

skorch's callbacks (``EarlyStopping``, ``LRScheduler``, ``Checkpoint``, ...)
and its ``history`` work as usual; :func:`history_frame` turns the history
into the DataFrame the estimators expose as ``history_``.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import warnings

import pandas as pd
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog

from ._backprop import ReluBackprop
from ._data import TensorData, index_dtype
from ._device import caller_threads
from ._modules import MLP, has_hooks
from ._objective import sum_gradients

__all__ = ["TrainingNet", "NonFiniteLossError", "history_frame"]

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")
_OUTPUT_HOOK_WARNING = "Full backward hook is firing when gradients are computed"


class _FusedAdamStep:
    """``optimizer.step()`` for fused Adam/AdamW, minus torch.optim's per-call overhead.

    For the small networks of tabular work, ``torch.optim.Adam.step`` spends
    about three times as long in Python bookkeeping (hooks, grouping tensors by
    device, grad-mode guards) as in its fused kernel. This calls the same
    kernel on the same optimizer state, so results are identical and the
    optimizer (its ``state_dict``, learning rates set by schedulers) is
    untouched. Used only when nothing could observe the difference: fused
    Adam/AdamW without amsgrad/maximize/capturable, no step hooks, and a
    ``step`` not patched by an LR scheduler.
    """

    def __init__(self, optimizer, kernel):
        self.optimizer = optimizer
        self.kernel = kernel
        # per parameter group: the group, its parameters, and the lists the
        # kernel takes (built at the first step where every parameter has a
        # gradient; the optimizer's state tensors are updated in place)
        self._lists = None

    @classmethod
    def for_optimizer(cls, optimizer):
        if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
            return None
        decoupled = isinstance(optimizer, torch.optim.AdamW) or any(
            g.get("decoupled_weight_decay", False) for g in optimizer.param_groups
        )
        kernel = getattr(torch, "_fused_adamw_" if decoupled else "_fused_adam_", None)
        if kernel is None or "step" in vars(optimizer):
            return None
        if optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks:
            return None
        for group in optimizer.param_groups:
            if not group.get("fused") or any(
                group.get(flag)
                for flag in ("amsgrad", "maximize", "capturable", "differentiable")
            ):
                return None
            if isinstance(group["lr"], torch.Tensor):
                return None
        return cls(optimizer, kernel)

    def _state(self, p):
        """The Adam state of ``p``, created as torch.optim creates it."""
        state = self.optimizer.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        return state

    def _build_lists(self):
        states = [self._state(p) for p in self._all_params()]
        self._counters = self._shared_counters(states)
        lists = []
        for group in self.optimizer.param_groups:
            params = group["params"]
            states = [self.optimizer.state[p] for p in params]
            lists.append(
                (
                    group,
                    params,
                    # detached views: the kernel updates them in place without
                    # autograd's checks, so no grad-mode switch per step
                    [p.detach() for p in params],
                    [s["exp_avg"] for s in states],
                    [s["exp_avg_sq"] for s in states],
                    [s["step"] for s in states],
                )
            )
        return lists

    def _all_params(self):
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    @staticmethod
    def _shared_counters(states):
        """Every parameter's step count as an element of one tensor.

        Each state's ``"step"`` stays a tensor of its own (a 0-d view, with
        its own value, which torch.optim updates as usual), but one in-place
        add on the shared tensor counts a step for every parameter: a single
        operation instead of a ``_foreach_add_`` over one scalar per
        parameter, which costs more than the Adam kernel on a small network.
        Returns the shared tensor (None when the counts are not scalars of
        one dtype on one device).
        """
        steps = [state["step"] for state in states]
        if not steps or any(
            s.dim() != 0 or s.dtype != steps[0].dtype or s.device != steps[0].device
            for s in steps
        ):
            return None
        counters = torch.stack([s.detach() for s in steps])
        for i, state in enumerate(states):
            state["step"] = counters[i]
        return counters

    def __call__(self):
        if self._lists is None:
            if any(p.grad is None for p in self._all_params()):
                return self._partial_step()
            self._lists = self._build_lists()
        grads = [[p.grad for p in entry[1]] for entry in self._lists]
        if any(g is None for part in grads for g in part):  # as torch.optim: skip
            self._lists = None
            return self._partial_step()
        # count the step first: the kernel's bias correction reads the count
        if self._counters is not None:
            self._counters.add_(1)
        else:
            torch._foreach_add_([s for entry in self._lists for s in entry[5]], 1)
        for (group, _, data, exp_avgs, exp_avg_sqs, steps), part in zip(
            self._lists, grads
        ):
            self._kernel_step(
                group, data, part, exp_avgs, exp_avg_sqs, steps, count=False
            )

    @torch.no_grad()
    def _partial_step(self):
        """A step of the parameters that have a gradient (others are skipped)."""
        for group in self.optimizer.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = [self._state(p) for p in params]
            self._kernel_step(
                group,
                params,
                [p.grad for p in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [s["step"] for s in states],
            )

    def _kernel_step(
        self, group, params, grads, exp_avgs, exp_avg_sqs, steps, count=True
    ):
        if count:
            torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        self.kernel(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@contextlib.contextmanager
def _watching_sigint():
    """Record whether SIGINT (Ctrl-C) arrives while the block runs.

    Yields a function that tells whether it did. The previous handler still
    runs (Python's default raises ``KeyboardInterrupt``) and is restored on
    exit. Outside the main thread, where no signal can arrive, nothing is
    installed and the function always answers False.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    arrived = []
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        arrived.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # e.g. a signal handler cannot be set here
        yield lambda: False
        return
    try:
        yield lambda: bool(arrived)
    finally:
        signal.signal(signal.SIGINT, previous)


def history_frame(history):
    """A skorch History as a DataFrame: one row per epoch, its batches left out."""
    return pd.DataFrame(
        [{k: v for k, v in epoch.items() if k != "batches"} for epoch in history]
    )


def _all_unit(data):
    return bool((data.tensors["sample_weight"] == 1).all())


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
        self,
        *args,
        loss_terms=(),
        sample_loss=None,
        generator=None,
        private=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.loss_terms = loss_terms
        self.sample_loss = sample_loss
        self.generator = generator
        self.private = private

    @property
    def _default_callbacks(self):
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

    def check_data(self, X, y=None):
        pass

    def on_train_end(self, net, **kwargs):
        # skorch calls the net's own hook before its callbacks': a term that
        # restores its best epoch does so before e.g. a Checkpoint saves
        for term in self.loss_terms:
            term.on_train_end(self)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that Ctrl-C propagates.

        A ``KeyboardInterrupt`` raised by a callback (skorch's
        ``EarlyStopping`` stops training that way) ends training normally,
        as in skorch. A real Ctrl-C (SIGINT) stops the fit: the net's and the
        callbacks' ``on_train_end`` still run (the loss terms release the
        training data), then the ``KeyboardInterrupt`` propagates.
        """
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        with _watching_sigint() as interrupted:
            try:
                self.fit_loop(X, y, **fit_params)
            except KeyboardInterrupt:
                if interrupted():
                    self.notify("on_train_end", X=X, y=y)
                    raise
        self.notify("on_train_end", X=X, y=y)
        return self

    def _batch_callbacks(self):
        return [cb for _, cb in self.callbacks_ if _defines_batch_hooks(cb)]

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        train, valid = X
        epochs = self.max_epochs if epochs is None else epochs
        batch_callbacks = self._batch_callbacks()
        chunked = not isinstance(train, TensorData)
        # a chunked fit checks its terms' requirements on the rows they set
        # up on (BaseTabularNet._fit_chunks)
        for term in () if chunked else self.loss_terms:
            missing = [k for k in term.requires if k not in train.tensors]
            if missing:
                raise ValueError(
                    f"{type(term).__name__} needs {missing} but the fit was not "
                    f"given them."
                )
        # the loss before the first step: the reference of the divergence check
        self._initial_loss = None
        # all-equal weights (normalised to 1): the plain mean is the same number.
        # Decided once per fit for in-memory data, once per chunk otherwise.
        if not chunked:
            self._unit_weights = _all_unit(train)
        private = self.private
        if private is not None:
            if chunked:
                raise ValueError("A chunked fit cannot train privately.")
            module = private.attach(self.module_, self.optimizer_, self.device)
        try:
            for _ in range(epochs):
                self.notify("on_epoch_begin", dataset_train=train, dataset_valid=valid)
                if private is None:
                    chunks = train.chunks() if chunked else [train]
                    train_loss = self._run_train_epoch(chunks, batch_callbacks, chunked)
                    self.history.record("train_loss", train_loss)
                else:
                    self._run_private_epoch(train, module, batch_callbacks)
                if valid is not None and valid.n_samples > 0:
                    self.history.record("valid_loss", self.evaluate_loss(valid))
                for term in self.loss_terms:
                    summary = term.epoch_summary()  # also resets its sums
                    if private is not None:
                        # exact figures of the training rows, as train_loss:
                        # a private fit does not publish them
                        continue
                    for key, value in summary.items():
                        self.history.record(key, value)
                self.notify("on_epoch_end", dataset_train=train, dataset_valid=valid)
        finally:
            if private is not None:
                private.detach()
        return self

    def _run_train_epoch(self, chunks, batch_callbacks, per_chunk_weights=False):
        """One pass over the rows of every chunk; returns the mean batch loss.

        In-memory data come as one chunk. Rows are shuffled within a chunk.
        ``per_chunk_weights``: decide "all weights equal" for every chunk (the
        in-memory fit decides it once, in :meth:`fit_loop`).
        """
        module = self.module_
        module.train()
        # running sum of size * batch loss, on the device: one small in-place
        # add per batch, read once per epoch (no per-batch live tensors)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        optimizer = self.optimizer_
        fast_step = _FusedAdamStep.for_optimizer(optimizer)
        step = optimizer.step if fast_step is None else fast_step
        params = [p for group in optimizer.param_groups for p in group["params"]]
        # the default network: forward and backward by direct calls
        backprop = ReluBackprop.for_module(module)
        forward = (
            backprop.forward
            if backprop is not None
            else module.plain_forward
            if type(module) is MLP and not has_hooks(module)
            else module
        )
        n_rows = 0
        for data in chunks:
            n = data.n_samples
            n_rows += n
            if per_chunk_weights:
                self._unit_weights = _all_unit(data)
            # the default network with a loss whose every part has a hand-run
            # gradient: no autograd at all
            hand = None if backprop is None else self._hand_loss()
            bs = n if self.batch_size in (None, -1) else min(self.batch_size, n)
            # int32 positions where they fit: the same permutation as int64
            # (torch draws it alike), half the memory
            perm = torch.randperm(n, generator=self.generator, dtype=index_dtype(n))
            perm = perm.to(self.device)
            for batch in data.batches(perm, bs):
                if batch_callbacks:
                    self.notify(
                        "on_batch_begin",
                        batch=(batch["X"], batch["y"]),
                        training=True,
                    )
                outputs = forward(batch["X"])
                if hand is None:
                    loss = self.get_batch_loss(outputs, batch)
                else:
                    loss, grad = hand(outputs, batch)
                if fast_step is None:
                    optimizer.zero_grad(set_to_none=True)
                else:  # what zero_grad does, without its per-call wrappers
                    for p in params:
                        p.grad = None
                if hand is None:
                    loss.backward()
                if backprop is not None:
                    backprop.backward(outputs.grad if hand is None else grad)
                if batch_callbacks:
                    self.notify(
                        "on_grad_computed",
                        named_parameters=list(module.named_parameters()),
                        batch=(batch["X"], batch["y"]),
                        training=True,
                    )
                if self._initial_loss is None:  # one synchronisation per fit
                    self._initial_loss = float(loss.detach())
                step()
                for term in self.loss_terms:
                    term.after_step(self, outputs, batch)
                loss_sum.add_(loss.detach(), alpha=batch["index"].shape[0])
                if batch_callbacks:
                    self.notify(
                        "on_batch_end",
                        batch=(batch["X"], batch["y"]),
                        training=True,
                        loss=loss,
                        y_pred=outputs,
                    )
        return self._epoch_loss(loss_sum, n_rows)

    def _epoch_loss(self, loss_sum, n_rows):
        """The epoch's mean loss; a non-finite one stops training with an error."""
        epoch_loss = loss_sum.item() / max(n_rows, 1)
        if not math.isfinite(epoch_loss):
            raise NonFiniteLossError(
                f"The training loss became {epoch_loss} in epoch "
                f"{len(self.history)}; training stopped before the model filled "
                "with NaN. Lower lr, scale the inputs (StandardScaler) or check "
                "the sample weights and targets for extreme values."
            )
        return epoch_loss

    def _run_private_epoch(self, data, module, batch_callbacks):
        """One DP-SGD epoch: ``steps_per_epoch`` Poisson batches, noisy steps.

        ``module`` is the net's module wrapped by opacus (per-sample
        gradients); ``self.private.optimizer`` clips each row's gradient of
        the batch loss, adds the noise, steps and tells the accountant. An
        empty batch still takes its noisy step. Returns the epoch's mean loss.
        """
        private = self.private
        optimizer = private.optimizer
        module.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        n_rows = 0
        with warnings.catch_warnings():
            # opacus's hooks need only the gradients with respect to each
            # layer's outputs; torch warns when the first layer's inputs (the
            # data) do not require gradients, which is the normal case here
            warnings.filterwarnings(
                "ignore", message=_OUTPUT_HOOK_WARNING, category=UserWarning
            )
            for _ in range(private.steps_per_epoch):
                index = private.sample(data.n_samples, self.generator)
                if len(index) == 0:
                    private.noise_step()
                    continue
                batch = data.batch(index.to(self.device))
                if batch_callbacks:
                    self.notify(
                        "on_batch_begin", batch=(batch["X"], batch["y"]), training=True
                    )
                outputs = module(batch["X"])
                loss = self.get_batch_loss(outputs, batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if batch_callbacks:
                    self.notify(
                        "on_grad_computed",
                        named_parameters=list(self.module_.named_parameters()),
                        batch=(batch["X"], batch["y"]),
                        training=True,
                    )
                optimizer.step()
                for term in self.loss_terms:
                    term.after_step(self, outputs, batch)
                loss_sum.add_(loss.detach(), alpha=len(index))
                n_rows += len(index)
                if batch_callbacks:
                    self.notify(
                        "on_batch_end",
                        batch=(batch["X"], batch["y"]),
                        training=True,
                        loss=loss,
                        y_pred=outputs,
                    )
        return self._epoch_loss(loss_sum, n_rows)

    def _per_row_losses_unread(self):
        """Whether nothing needs the batch's per-row losses: no loss term
        reads them and the fit is not private (which clips them row by row),
        so the base loss may come from one of its mean forms."""
        return self.private is None and not any(
            getattr(t, "reads_sample_loss", True) for t in self.loss_terms
        )

    def _plain_mean(self, form="mean"):
        """The base loss's mean form ``form`` when the base loss is its plain
        mean (equal weights, per-row losses unread), else None."""
        if getattr(self, "_unit_weights", False) and self._per_row_losses_unread():
            return getattr(self.sample_loss, form, None)
        return None

    def _hand_loss(self):
        """A function of ``(outputs, batch)`` returning the batch loss and its
        gradient with respect to the outputs without autograd: the base
        loss's ``mean_and_grad`` (equal weights) or ``weighted_mean_and_grad``
        plus every term's :meth:`LossTerm.gradient` (a single term's
        :meth:`LossTerm.add_gradient`); None when a part has no such form,
        reads the per-row losses, or the fit is private (then autograd
        runs)."""
        terms = self.loss_terms
        if not all(getattr(t, "gives_gradient", False) for t in terms):
            return None
        mean_and_grad = self._plain_mean("mean_and_grad")
        if mean_and_grad is not None:

            def base(outputs, batch):
                return mean_and_grad(outputs, batch["y"])

        else:
            weighted = getattr(self.sample_loss, "weighted_mean_and_grad", None)
            if weighted is None or not self._per_row_losses_unread():
                return None

            def base(outputs, batch):
                return weighted(outputs, batch["y"], batch["sample_weight"])

        # one term: it adds its gradient to the base loss's itself
        add_gradient = None
        if len(terms) == 1 and not getattr(terms[0], "reads_loss_gradient", False):
            add_gradient = getattr(terms[0], "add_gradient", None)
        if add_gradient is not None:

            def loss_and_grad(outputs, batch):
                loss, base_grad = base(outputs.detach(), batch)
                value, grad = add_gradient(outputs, batch, base_grad)
                # in place: the base loss's forms return fresh tensors
                return loss.add_(value), grad

            return loss_and_grad

        def loss_and_grad(outputs, batch):
            loss, base_grad = base(outputs.detach(), batch)
            term_grads = []
            for term in terms:
                if getattr(term, "reads_loss_gradient", False):
                    value, term_grad = term.gradient(
                        outputs,
                        batch,
                        loss_gradient=sum_gradients(term_grads, base_grad),
                    )
                else:
                    value, term_grad = term.gradient(outputs, batch)
                # in place: the base loss's forms return fresh tensors
                loss = loss.add_(value)
                if term_grad is not None:
                    term_grads.append(term_grad)
            return loss, sum_gradients(term_grads, base_grad, in_place=True)

        return loss_and_grad

    def get_batch_loss(self, outputs, batch):
        """Weighted mean base loss followed by every loss term.

        With equal weights, no loss term that reads ``batch["sample_loss"]``
        and no privacy, the plain mean comes from the base loss's own mean
        form (``sample_loss.mean``, one fused operation) when it has one: the
        same number, one operation less forwards and backwards per batch (and
        the batch has no ``"sample_loss"``).
        """
        mean = self._plain_mean()
        if mean is not None:
            loss = mean(outputs, batch["y"])
            for term in self.loss_terms:
                loss = term(loss, outputs, batch)
            return loss
        sample_loss = self.sample_loss(outputs, batch["y"])
        batch["sample_loss"] = sample_loss
        if getattr(self, "_unit_weights", False):
            loss = sample_loss.mean()
        else:
            loss = (batch["sample_weight"] * sample_loss).mean()
        for term in self.loss_terms:
            loss = term(loss, outputs, batch)
        return loss

    @torch.no_grad()
    def evaluate_loss(self, data):
        """Weighted mean base loss over ``data`` (no loss terms), on the
        threads the fit's caller had (:func:`caller_threads`)."""
        self.module_.eval()
        total = torch.zeros((), device=self.device)
        weight = torch.zeros((), device=self.device)
        n = data.n_samples
        step = max(self.batch_size or n, 8192)
        with caller_threads():
            for start in range(0, n, step):
                index = torch.arange(start, min(start + step, n), device=self.device)
                batch = data.batch(index)
                sample_loss = self.sample_loss(self.module_(batch["X"]), batch["y"])
                total += (batch["sample_weight"] * sample_loss).sum()
                weight += batch["sample_weight"].sum()
        return (total / weight.clamp_min(1e-12)).item()
