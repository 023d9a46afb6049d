"""The extension point of the one training loop: extra loss terms.

A :class:`LossTerm` is handed to ``TabularNet*.fit(..., loss_terms=[...])`` by a
meta-estimator (fairness constraints, distillation). The training loop calls it
on every batch with the base loss and the batch's tensors, so a meta-estimator
supplies *what* to optimise and never writes a training loop of its own.

The batch is a plain ``dict`` of tensors on the training device, all sliced by
the same row index:

``"X"``
    float32 inputs, shape ``(B, n_features)``.
``"y"``
    int64 class codes (classifier) or float32 targets ``(B, n_outputs)``
    (regressor).
``"sample_weight"``
    float32 weights normalised so that their mean over the training set is 1;
    the base loss is ``mean(sample_weight * sample_loss)``.
``"sample_loss"``
    the unweighted per-sample base loss ``(B,)`` (cross-entropy or squared
    error), with its graph; absent when no term reads it
    (:attr:`LossTerm.reads_sample_loss`) and the weights are all equal.
``"sensitive_features"``
    int64 group codes in ``[0, n_groups)`` (only when the fit was given
    ``sensitive_features``).
``"soft_targets"``
    float32 ``(B, n_outputs)`` (only when the fit was given ``soft_targets``).
``"index"``
    int64 row positions into the training tensors given to :meth:`setup`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LossTerm", "sum_gradients"]


def sum_gradients(term_grads, base_grad, in_place=False):
    """The gradients of a loss's parts with respect to the outputs, added
    as autograd's engine adds them: the newest part's first (it runs the
    later-recorded nodes first), the base loss's last; the same float
    numbers as ``backward`` through the terms' graphs, whatever their
    number.

    ``in_place``: ``base_grad`` is a fresh tensor that may receive the sum
    (the last addition is commutative: the same numbers); on a CPU, with
    one term's gradient, numpy adds it there, which costs less
    than a torch operation on a few hundred numbers.
    """
    if not term_grads:
        return base_grad
    # a term's gradient of another dtype (or device) is the outputs', as
    # autograd casts a gradient back through a conversion
    term_grads = [
        grad
        if grad.dtype == base_grad.dtype and grad.device == base_grad.device
        else grad.to(base_grad)
        for grad in term_grads
    ]
    total = term_grads[-1]
    if (
        in_place
        and len(term_grads) == 1
        and base_grad.device.type == "cpu"
        and total.shape == base_grad.shape
        and base_grad.is_contiguous()
    ):
        base = base_grad.numpy()
        np.add(base, total.numpy(), out=base)
        return base_grad
    for grad in reversed(term_grads[:-1]):
        total = total + grad
    return total + base_grad


class LossTerm:
    """Base class of the extra loss terms of the one training loop.

    Subclasses override :meth:`__call__` and, when they keep state (Lagrange
    multipliers, an adversary), :meth:`setup`, :meth:`after_step`,
    :meth:`epoch_summary` and :meth:`on_train_end`. Terms are applied in
    order: each receives the loss returned by the previous one.

    Attributes
    ----------
    requires : tuple of str
        Batch keys the term needs (``"sensitive_features"``,
        ``"soft_targets"``); the loop raises a clear error when the fit did not
        supply them.
    reads_sample_loss : bool
        Whether the term reads ``batch["sample_loss"]``. When no term does
        and the weights are all equal, the loop takes the base loss's mean in
        one operation and the batch has no ``"sample_loss"``.
    gives_gradient : bool
        Whether :meth:`gradient` may be called instead of :meth:`__call__`
        (a term may set it in :meth:`setup`, for the fit at hand).
    reads_loss_gradient : bool
        Whether :meth:`gradient` needs the gradient of the loss so far with
        respect to the outputs (the loop passes it as ``loss_gradient``):
        a term whose gradient depends on the rest of the loss's, as the
        adversary's projection does.
    """

    requires: tuple[str, ...] = ()
    reads_sample_loss: bool = True
    gives_gradient: bool = False
    reads_loss_gradient: bool = False

    def setup(self, net, data):
        """Called once at the start of every fit, before the first batch.

        Parameters
        ----------
        net : skorch.NeuralNet
            The training net; ``net.module_`` is initialised and
            ``net.device`` holds the training device.
        data : mapping
            The full training tensors (same keys and dtypes as a batch,
            without ``"sample_loss"`` and ``"index"``) plus the ints
            ``"n_groups"`` and ``"n_outputs"``. The floating-point entries
            are the loop's own tensors, and the loop reads them only after
            every term's ``setup``: a term may change
            ``data["sample_weight"]`` in place (e.g. set some rows' weights
            to 0 to hold them out of the fit, as
            :class:`~sklfair.constrained.LagrangianTerm` does with
            ``validation_fraction``), keeping a mean weight of 1. The
            integer entries (``"y"`` of a classifier,
            ``"sensitive_features"``), which the loop keeps in a smaller
            integer type, are int64 copies made at each read. The inputs
            are not kept as a float32 copy either: ``data["X"]`` makes one
            at each read; ``data.features(index)`` and
            ``data.take(key, index)`` gather only the rows ``index`` (what
            a term that monitors a sample of rows needs).
        """

    def __call__(self, loss, outputs, batch):
        """Return the batch's total loss given the loss so far.

        Parameters
        ----------
        loss : torch.Tensor
            Scalar loss accumulated so far (the weighted base loss, then the
            output of the previous terms).
        outputs : torch.Tensor
            Raw module outputs for the batch: logits ``(B, n_classes)`` for a
            classifier, predictions ``(B, n_outputs)`` for a regressor.
        batch : dict
            The batch (see the module docstring).

        Returns
        -------
        loss : torch.Tensor
            Scalar tensor to back-propagate.
        """
        return loss

    def gradient(self, outputs, batch):
        """The term's addition to the batch loss and its gradient, by hand.

        Called instead of :meth:`__call__` (with the same side effects) when
        the term's ``gives_gradient`` is True and every other part of the
        batch loss has a hand-run gradient too: the loop then back-propagates
        without autograd. Only for a term that *adds* to the loss (``loss +
        value``, whatever the loss so far).

        Parameters
        ----------
        outputs : torch.Tensor
            Raw module outputs for the batch (do not differentiate them).
        batch : dict
            The batch (see the module docstring).
        loss_gradient : torch.Tensor, optional
            Passed only to a term whose ``reads_loss_gradient`` is True: the
            gradient of the loss so far (the base loss and the terms before
            this one) with respect to ``outputs``; not to be changed in place.

        Returns
        -------
        value : float or torch.Tensor
            What the term adds to the loss (a scalar; without a graph).
        grad : torch.Tensor or None
            The gradient of ``value`` with respect to ``outputs`` (None:
            zero), of their shape; another dtype or device is converted to
            theirs.
        """
        raise NotImplementedError

    def add_gradient(self, outputs, batch, gradient):
        """:meth:`gradient`, its gradient added to the loss's so far.

        Called instead of :meth:`gradient` where the term is the only one
        of the loss: ``gradient`` is the base loss's gradient with respect to
        ``outputs``, a fresh tensor of the loop's that may receive the sum.
        The default adds :meth:`gradient`'s as autograd would (the same
        numbers); a term overrides it only to add its gradient in fewer
        steps.

        Returns
        -------
        value : float or torch.Tensor
            What the term adds to the loss, as :meth:`gradient` returns it.
        total : torch.Tensor
            ``gradient`` plus the term's gradient (``gradient`` itself where
            the sum was made in place).
        """
        value, own = self.gradient(outputs, batch)
        return value, sum_gradients([] if own is None else [own], gradient, True)

    def after_step(self, net, outputs, batch):
        """Called after the optimizer step (dual ascent, adversary update)."""

    def epoch_summary(self):
        """Return a dict of floats recorded in ``net.history`` at epoch end."""
        return {}

    def on_train_end(self, net):
        """Called once when training ends, also after early stopping or an
        interrupt, before the net's callbacks hear of it (e.g. to restore
        the best epoch's parameters and drop references to the data)."""
