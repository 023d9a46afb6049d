"""Adversarial debiasing in the one training loop: :class:`AdversarialTerm`."""

from __future__ import annotations

import torch

from sklfair.constraints import EqualOpportunity, ErrorRateParity, GroupLossParity
from sklfair.constraints._classification import classes_used
from sklfair.constraints._rates import TINY
from sklfair.nets._backprop import ReluBackprop
from sklfair.nets._build import _optimizer_kwargs
from sklfair.nets._classifier import cross_entropy_reduced_and_grad
from sklfair.nets._modules import MLP
from sklfair.nets._training import _FusedAdamStep

from ._gap_term import GapTerm

__all__ = ["AdversarialTerm"]


_log_softmax_backward = torch.ops.aten._log_softmax_backward_data


def _difference_backward(grad):
    """The gradient of two-class outputs from that of their difference
    ``outputs[:, 1:] - outputs[:, :1]``."""
    return torch.cat([-grad, grad], 1)


def _weighted_ratio_and_grad(logits, codes, weight):
    """``sum(weight * cross_entropy(logits, codes)) / max(sum(weight),
    TINY)`` (:meth:`AdversarialTerm._adversary_loss`) and its gradient with
    respect to ``logits``, by the operations (and in the order) autograd runs
    for that expression."""

    def ratio(sample_loss):
        total = weight.sum().clamp_min(TINY)
        loss = (weight * sample_loss).sum() / total
        # the division's backward (1 / total), the sum's (expanded), the
        # product's (times the weights)
        upstream = (torch.ones_like(loss) / total).expand_as(sample_loss) * weight
        return loss, upstream

    return cross_entropy_reduced_and_grad(logits, codes, ratio)


class AdversarialTerm(GapTerm):
    """Adversarial debiasing (Zhang, Lemoine & Mitchell, 2018) in the one loop.

    An adversary network predicts the group from the model's output (and the
    label, for equalized odds and equal opportunity; for error-rate parity it
    sees the log-probability of the true class). The model minimises its
    loss minus ``alpha`` times the adversary's loss; the adversary takes one
    step of its own optimizer after every model step. With ``projection=True``
    the component of the model's gradient that helps the adversary is removed
    as in the paper (computed with respect to the batch outputs, a cheap
    stand-in for the parameter-space projection).

    The bound is not enforced: ``alpha`` sets the trade-off; the hard gaps are
    recorded like the other terms'.

    For a classification constraint the term also gives its gradient by hand
    (:meth:`gradient`, with the gradient of the loss so far for the
    projection): a default network then trains without autograd's graph.
    With the projection the adversary (an :class:`~sklfair.nets.MLP`) runs
    by hand as well; autograd differentiates only the features it reads.

    Parameters
    ----------
    constraint : str or FairnessConstraint
        One constraint (an adversary per constraint is not supported).
    alpha : float, default=1.0
        Weight of the adversary's loss.
    hidden_units : tuple of int, default=(32,)
        Hidden layers of the adversary (``()``: logistic regression, as in the
        paper).
    lr : float, default=1e-3
        Adam learning rate of the adversary.
    projection : bool, default=True
    random_state : int or None, default=None
        Seeds the adversary's initialisation (None: the net's torch seed).

    Attributes
    ----------
    adversary_ : sklfair.nets.MLP
        Linear layers with a ReLU between two, ``hidden_units`` wide.
    """

    def __init__(
        self,
        constraint,
        *,
        alpha=1.0,
        hidden_units=(32,),
        lr=1e-3,
        projection=True,
        random_state=None,
    ):
        super().__init__(constraint, None)
        self.alpha = alpha
        self.hidden_units = hidden_units
        self.lr = lr
        self.projection = projection
        self.random_state = random_state

    _default_bound = 0.0

    def setup(self, net, data):
        if isinstance(self.constraint, list | tuple) and len(self.constraint) != 1:
            raise ValueError(
                "AdversarialTerm takes one constraint; bound several with "
                "LagrangianTerm, and combine it with one adversary."
            )
        super().setup(net, data)
        (self.constraint_,) = self.constraints_
        if not self.constraint_.pairwise:
            raise ValueError(
                f"{self.constraint_.name!r} bounds a level, not a difference "
                "between groups; an adversary cannot enforce it. Use the "
                "lagrangian method."
            )
        with torch.random.fork_rng(devices=[]):
            if self.random_state is not None:
                torch.manual_seed(int(self.random_state))
            # Linear layers with a ReLU between two, as an MLP: the network
            # the loop runs by hand
            adversary = MLP(
                n_features=self._n_features(),
                n_outputs=self.n_groups_,
                hidden_units=tuple(int(units) for units in self.hidden_units),
            )
        self.adversary_ = adversary.to(self.device_)
        self._params = list(self.adversary_.parameters())
        self._backprop = ReluBackprop.for_module(self.adversary_)
        # fused kernels where torch has them, as the net's own optimizer
        self.optimizer_ = torch.optim.Adam(
            self._params,
            lr=self.lr,
            **_optimizer_kwargs(torch.optim.Adam, self.device_),
        )
        fused = _FusedAdamStep.for_optimizer(self.optimizer_)
        self._step = self.optimizer_.step if fused is None else fused
        self._pending = None

    def _n_features(self):
        c = self.constraint_
        if c.task == "regression":
            base = 1 if isinstance(c, GroupLossParity) else self.n_outputs_
        elif isinstance(c, ErrorRateParity):
            base = 1
        else:
            base = 1 if self.n_outputs_ == 2 else self.n_outputs_
        if c.label_conditional:
            return base * (1 + self.n_outputs_)
        return base

    def _features(self, outputs, batch):
        c = self.constraint_
        if c.task == "regression":
            if isinstance(c, GroupLossParity):
                return batch["sample_loss"][:, None]
            return outputs
        if isinstance(c, ErrorRateParity):
            return torch.log_softmax(outputs, dim=1).gather(1, batch["y"][:, None])
        if outputs.shape[1] == 2:
            base = outputs[:, 1:] - outputs[:, :1]
        else:
            base = torch.log_softmax(outputs, dim=1)
        if not c.label_conditional:
            return base
        label = torch.nn.functional.one_hot(batch["y"], self.n_outputs_).to(base.dtype)
        return torch.cat([base, (base[:, :, None] * label[:, None, :]).flatten(1)], 1)

    def _row_weight(self, batch):
        weight = batch["sample_weight"]
        c = self.constraint_
        if isinstance(c, EqualOpportunity):  # only the rows of the events count
            n = self.n_outputs_
            classes = torch.as_tensor(classes_used(n), device=weight.device)
            weight = weight * (batch["y"][:, None] == classes[None, :]).any(1)
        return weight

    def _adversary_loss(self, features, batch):
        logits = self.adversary_(features)
        loss = torch.nn.functional.cross_entropy(
            logits, batch["sensitive_features"], reduction="none"
        )
        weight = self._row_weight(batch)
        return (weight * loss).sum() / weight.sum().clamp_min(TINY)

    def __call__(self, loss, outputs, batch):
        self._pending = None
        project = self.projection and torch.is_grad_enabled() and outputs.requires_grad
        if not project:
            for p in self._params:
                p.requires_grad_(False)
            try:
                adv_loss = self._adversary_loss(self._features(outputs, batch), batch)
            finally:
                for p in self._params:
                    p.requires_grad_(True)
            return loss - self.alpha * adv_loss
        # the adversary sees a detached copy of the outputs, so that one
        # backward pass gives the gradients of the loss so far and of the
        # adversary's loss with respect to the outputs (for the projection)
        # and the adversary's own gradients (for its step in after_step: the
        # same loss on the same rows, since the adversary does not change
        # before then)
        seen = outputs.detach().requires_grad_()
        if isinstance(self.constraint_, GroupLossParity):  # sees the row losses
            batch = dict(batch, sample_loss=self._net.sample_loss(seen, batch["y"]))
        adv_loss = self._adversary_loss(self._features(seen, batch), batch)
        g_pred, g_adv, *adv_grads = torch.autograd.grad(
            [loss, adv_loss], [outputs, seen, *self._params], retain_graph=True
        )
        self._pending = (outputs, adv_grads)
        _, change = self._project(adv_loss, g_adv, g_pred)
        correction = ((outputs - outputs.detach()) * change).sum()
        return loss - self.alpha * adv_loss.detach() + correction

    # --- the same, by hand: the model's loss without autograd's graph ------
    @property
    def gives_gradient(self):
        """Whether :meth:`gradient` applies: a classification constraint
        (the adversary then reads the outputs only, never the rows' losses)."""
        constraint = getattr(self, "constraint_", None)
        return constraint is not None and constraint.task == "classification"

    @property
    def reads_loss_gradient(self):
        """The projection reads the gradient of the loss so far."""
        return bool(self.projection)

    def gradient(self, outputs, batch, loss_gradient=None):
        """What :meth:`__call__` adds to the loss, ``-alpha`` times the
        adversary's loss, and its gradient with respect to ``outputs``
        (with ``projection``, the change :meth:`__call__`'s correction makes
        to ``loss_gradient``, the gradient of the loss so far). Autograd
        differentiates the adversary only, on a detached copy of the
        outputs, as :meth:`__call__` does -- with the projection, only the
        features it reads (:meth:`_projected_by_hand`): the same numbers."""
        self._pending = None
        project = self.projection and loss_gradient is not None
        seen = outputs.detach().requires_grad_()
        if project and self._backprop is not None:
            return self._projected_by_hand(outputs, seen, batch, loss_gradient)
        with torch.enable_grad():
            adv_loss = self._adversary_loss(self._features(seen, batch), batch)
            if not project:
                # the gradient of -alpha * adv_loss, with -alpha as the upstream
                # gradient, as autograd passes it through ``loss - alpha * adv``
                (g_adv,) = torch.autograd.grad(
                    adv_loss, seen, grad_outputs=adv_loss.new_tensor(-self.alpha)
                )
                return -self.alpha * adv_loss.detach(), g_adv
            g_adv, *adv_grads = torch.autograd.grad(adv_loss, [seen, *self._params])
        self._pending = (outputs, adv_grads)
        return self._project(adv_loss, g_adv, loss_gradient)

    def _project(self, adv_loss, g_adv, g_pred):
        """The term's value and the change the projection makes to
        ``g_pred``, the gradient of the loss so far: its component along the
        adversary's gradient ``g_adv`` removed, ``alpha * g_adv`` taken off."""
        unit = g_adv / g_adv.norm().clamp_min(TINY)
        wanted = g_pred - (g_pred * unit).sum() * unit - self.alpha * g_adv
        return -self.alpha * adv_loss.detach(), wanted - g_pred

    def _projected_by_hand(self, outputs, seen, batch, loss_gradient):
        """:meth:`gradient` with the projection, the adversary run by hand:
        its forward and backward pass by :class:`ReluBackprop`, its weighted
        cross-entropy's gradient by the kernels autograd calls, in autograd's
        order; the features' too where :meth:`_features_by_hand` has them,
        else autograd differentiates the features only (the same numbers)."""
        by_hand = self._features_by_hand(seen.detach(), batch)
        if by_hand is None:
            with torch.enable_grad():
                features = self._features(seen, batch)
        else:
            features, backward = by_hand
        logits = self._backprop.forward(features.detach()).detach()
        adv_loss, g_logits = _weighted_ratio_and_grad(
            logits, batch["sensitive_features"], self._row_weight(batch)
        )
        adv_grads, g_features = self._backprop.gradients(g_logits)
        if by_hand is None:
            (g_adv,) = torch.autograd.grad(features, seen, grad_outputs=g_features)
        else:
            g_adv = backward(g_features)
        self._pending = (outputs, adv_grads)
        return self._project(adv_loss, g_adv, loss_gradient)

    def _features_by_hand(self, outputs, batch):
        """:meth:`_features` of a classifier's ``outputs`` and a function
        of the features' gradient giving the outputs', by the values
        autograd's backward pass computes (the slices', the product's and
        the log-softmax's); None where autograd must run (several classes
        seen through the log-softmax)."""
        c = self.constraint_
        if isinstance(c, ErrorRateParity):
            log_p = torch.log_softmax(outputs, dim=1)
            index = batch["y"][:, None]

            def backward(grad):
                # gather's backward, then log_softmax's, as autograd runs them
                upstream = log_p.new_zeros(log_p.shape).scatter_add_(1, index, grad)
                return _log_softmax_backward(upstream, log_p, 1, log_p.dtype)

            return log_p.gather(1, index), backward
        if outputs.shape[1] != 2:
            return None
        base = outputs[:, 1:] - outputs[:, :1]
        if not c.label_conditional:
            return base, _difference_backward
        label = torch.nn.functional.one_hot(batch["y"], 2).to(base.dtype)
        features = torch.cat([base, base * label], 1)

        def backward(grad):
            # the product's gradient summed over its broadcast dimension,
            # added to the concatenation's
            return _difference_backward(
                grad[:, :1] + (grad[:, 1:] * label).sum(1, keepdim=True)
            )

        return features, backward

    def after_step(self, net, outputs, batch):
        super().after_step(net, outputs, batch)
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] is outputs:
            grads = pending[1]
        else:  # called without this step's projected __call__
            outputs = outputs.detach()
            batch = dict(batch)
            if "sample_loss" in batch:
                batch["sample_loss"] = batch["sample_loss"].detach()
            with torch.enable_grad():
                loss = self._adversary_loss(self._features(outputs, batch), batch)
                grads = torch.autograd.grad(loss, self._params)
        for p, g in zip(self._params, grads, strict=True):
            p.grad = g
        self._step()

    def on_train_end(self, net):
        self._pending = None
        super().on_train_end(net)
