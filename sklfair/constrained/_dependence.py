"""The training-loop term of a dependence constraint: :class:`DependenceTerm`.

:class:`~sklfair.constraints.Independence` bounds the dependence of the
decisions on a continuous attribute (normalised HSIC), not group rates, so it
has a term of its own. Per batch the term adds a differentiable function of
the batch's dependence (the tempered probabilities against the attribute's
ranks, :meth:`Independence.batch_dependence`); at the end of every epoch it
measures the dependence of the network's decisions on the training rows
exactly (:func:`sklfair._dependence.kernel_dependence`, the metric's
definition) and records it.

- ``mode="penalty"`` adds ``weight * max(0, d - bound)``: a trade-off;
- ``mode="lagrangian"`` adds ``lambda * (d - bound) + rho / 2 * max(0, d -
  bound) ** 2`` and, after every epoch, takes a projected ascent step on the
  multiplier with the measured dependence, ``lambda <- clip(lambda + dual_lr
  * (h - bound), 0, max_multiplier)``; when training ends it restores the
  epoch with the lowest training loss among those that met the bound (else
  the smallest dependence).

:func:`dependence_term` is what :class:`FairConstrainedClassifier` calls for
``method="lagrangian"`` and ``"penalty"`` with such a constraint.
"""

from __future__ import annotations

import numpy as np
import torch

from sklfair._dependence import kernel_dependence, level_kernel, level_ranks
from sklfair.constraints import FairnessConstraint, resolve_constraint
from sklfair.nets import LossTerm

from ._gap_term import forward_in_chunks, monitor_rows

__all__ = ["DependenceTerm", "dependence_term"]

#: Up to this many distinct attribute values, a batch's kernel sums run over
#: a precomputed table of the kernel between values instead of its row pairs.
TABLE_LEVELS = 512


class DependenceTerm(LossTerm):
    """Bound the dependence of the decisions on a continuous attribute.

    Give the net the attribute's values (or any codes of its distinct
    values in increasing order) as ``sensitive_features``: the term reads
    the codes of the batch and the ranks of the attribute in the training
    rows.

    Parameters
    ----------
    constraint : Independence
        The constraint, carrying its bound.
    bound : float or None, default=None
        The bound, when the constraint has none (else 0.05).
    mode : {"lagrangian", "penalty"}, default="lagrangian"
    weight : float, default=1.0
        Weight of the penalty (``mode="penalty"``).
    dual_lr : float, default=1.0
        Step of the multiplier per epoch (``mode="lagrangian"``).
    rho : float, default=1.0
        Weight of the quadratic penalty of the augmented Lagrangian.
    max_multiplier : float, default=100.0
    select_best : bool, default=True
        Restore the best epoch's parameters when training ends (see above).

    Attributes
    ----------
    constraints_ : list of Independence
        The constraint, with its bound (a list, as the group-rate terms).
    n_outputs_ : int
        Number of classes.
    multiplier_ : float
        The current multiplier (``mode="lagrangian"``).
    history_ : list of dict
        Per epoch: ``"gaps"`` (an array holding the dependence of the
        decisions on the training rows), ``"loss"`` (the weighted base loss)
        and, for the Lagrangian, ``"multipliers"``.
    best_epoch_ : int or None
        The epoch whose parameters were restored.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constrained import DependenceTerm
    >>> from sklfair.constraints import Independence
    >>> from sklfair.nets import TabularNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> age = rng.integers(18, 80, 500)
    >>> X = np.column_stack([rng.normal(size=500), (age - 50) / 20])
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> term = DependenceTerm(Independence(bound=0.02), mode="penalty", weight=5.0)
    >>> net = TabularNetClassifier(max_epochs=5, random_state=0).fit(
    ...     X, y, sensitive_features=age, loss_terms=[term])
    >>> len(term.history_)
    5
    """

    requires = ("sensitive_features",)
    monitor_size = 50_000

    def __init__(
        self,
        constraint,
        bound=None,
        *,
        mode="lagrangian",
        weight=1.0,
        dual_lr=1.0,
        rho=1.0,
        max_multiplier=100.0,
        select_best=True,
    ):
        self.constraint = constraint
        self.bound = bound
        self.mode = mode
        self.weight = weight
        self.dual_lr = dual_lr
        self.rho = rho
        self.max_multiplier = max_multiplier
        self.select_best = select_best

    def setup(self, net, data):
        if self.mode not in ("lagrangian", "penalty"):
            raise ValueError(
                f"mode must be 'lagrangian' or 'penalty', got {self.mode!r}."
            )
        if not getattr(self.constraint, "continuous_attribute", False):
            raise TypeError(
                "DependenceTerm bounds a dependence on a continuous attribute "
                "(sklfair.constraints.Independence); group-rate constraints "
                "train through LagrangianTerm or PenaltyTerm."
            )
        constraint = resolve_constraint(self.constraint, bound=self.bound, default=0.05)
        self.constraints_ = [constraint]
        self.bound_ = float(constraint.bound)
        self.n_outputs_ = max(int(data["n_outputs"]), 2)
        codes = data["sensitive_features"]
        weight = data["sample_weight"]
        # the weighted mid-rank of every distinct value in the training rows
        share = torch.zeros(int(data["n_groups"]), dtype=torch.float64)
        share.index_add_(0, codes.cpu(), weight.cpu().double())
        share = share / share.sum()
        ranks = torch.cumsum(share, 0) - share / 2
        self._ranks = ranks.to(device=weight.device, dtype=torch.float64)
        # the attribute's part of the normalisation, from all training rows
        bandwidth = constraint.bandwidth
        _, level_share, level_rank = level_ranks(
            np.arange(share.numel()), share.numpy(), share.numel()
        )
        kernel = level_kernel(level_rank, bandwidth)
        row_mean = kernel @ level_share
        centred = (
            kernel - row_mean[:, None] - row_mean[None, :] + level_share @ row_mean
        )
        self._attribute = float(level_share @ (centred**2) @ level_share)
        # few levels (age in years): the batch's kernel sums run over levels
        self._table = None
        if share.numel() <= TABLE_LEVELS:
            difference = self._ranks[:, None] - self._ranks[None, :]
            self._table = torch.exp(-(difference**2) / (2.0 * bandwidth**2))
        self.multiplier_ = 0.0
        n = int(weight.shape[0])
        batch_size = n if net.batch_size in (None, -1) else min(net.batch_size, n)
        self._dual_step = float(self.dual_lr) / max(1, -(-n // batch_size))
        self.history_ = []
        self.best_epoch_ = None
        self._best = None
        self._net = net
        self._monitor = monitor_rows(data, self.monitor_size, weight.device)

    def __call__(self, loss, outputs, batch):
        constraint = self.constraints_[0]
        codes = batch["sensitive_features"]
        dependence = constraint.batch_dependence(
            outputs,
            self._ranks[codes],
            batch["sample_weight"],
            attribute=self._attribute,
            codes=codes if self._table is not None else None,
            table=self._table,
        )
        excess = dependence - self.bound_
        if self.mode == "penalty":
            return loss + self.weight * torch.relu(excess)
        self._last = float(dependence.detach())
        return (
            loss + self.multiplier_ * excess + 0.5 * self.rho * torch.relu(excess) ** 2
        )

    def after_step(self, net, outputs, batch):
        """The dual step: the multiplier follows the batch's dependence,
        relative to the bound."""
        if self.mode != "lagrangian":
            return
        relative = (self._last - self.bound_) / max(self.bound_, 1e-3)
        step = self.multiplier_ + self._dual_step * relative
        self.multiplier_ = float(np.clip(step, 0.0, self.max_multiplier))

    @torch.no_grad()
    def epoch_summary(self):
        net, rows = self._net, self._monitor
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            outputs = forward_in_chunks(module, rows["X"])
        finally:
            module.train(was_training)
        weight = rows["sample_weight"]
        sample_loss = net.sample_loss(outputs, rows["y"])
        loss = float((weight * sample_loss).sum() / weight.sum().clamp_min(1e-12))
        decisions = np.eye(outputs.shape[1])[outputs.argmax(dim=1).cpu().numpy()]
        measured = kernel_dependence(
            decisions,
            rows["sensitive_features"].cpu().numpy(),
            weight.double().cpu().numpy(),
            bandwidth=self.constraints_[0].bandwidth,
        )
        record = {"gaps": np.array([measured]), "loss": loss}
        if self.mode == "lagrangian":
            record["multipliers"] = np.array([self.multiplier_])
        self.history_.append(record)
        epoch = len(self.history_) - 1
        self.best_epoch_ = epoch
        if self.select_best:
            within = measured <= self.bound_
            key = (0, loss) if within else (1, measured)
            if self._best is None or key < self._best[0]:
                state = module.state_dict()
                self._best = (key, epoch, {k: v.clone() for k, v in state.items()})
        return {"fairness_gap": measured}

    def on_train_end(self, net):
        """Restore the best epoch's parameters; drop the references to the data."""
        if self._best is not None:
            _, self.best_epoch_, state = self._best
            net.module_.load_state_dict(state)
        self._best = None
        self._monitor = None
        self._net = None
        self._table = None


def dependence_term(method, constraints, penalty, params):
    """The :class:`DependenceTerm` of a constrained fit, or a clear error."""
    if len(constraints) > 1:
        raise ValueError(
            "A dependence constraint (Independence) is bounded alone: its "
            "attribute is continuous, while group-rate constraints need groups. "
            "Fit one constraint at a time."
        )
    if method not in ("lagrangian", "penalty"):
        raise ValueError(
            f"method={method!r} does not take {constraints[0].name!r}: bound a "
            "dependence on a continuous attribute with method='lagrangian' or "
            "'penalty' and an sklfair net."
        )
    options = dict(params)
    if method == "penalty":
        options["weight"] = 1.0 if penalty is None else float(penalty)
    try:
        return DependenceTerm(constraints[0], mode=method, **options)
    except TypeError as exc:
        raise TypeError(
            f"method_params does not fit method={method!r}: {exc}"
        ) from None


def is_dependence(constraint):
    """Whether a constraint bounds a dependence (no groups)."""
    return isinstance(constraint, FairnessConstraint) and getattr(
        constraint, "continuous_attribute", False
    )
