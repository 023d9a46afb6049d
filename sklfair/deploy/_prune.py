"""Pruning: :func:`prune` removes hidden units or weights, then fine-tunes.

Pruning itself is torch's (``torch.nn.utils.prune``): ``ln_structured``
(L2 norm of each unit's incoming weights) picks whole hidden units,
``l1_unstructured`` single weights. Fine-tuning goes through the networks'
one training loop (``fit(..., soft_targets=..., loss_terms=[...])`` with a
warm start), by default distilling from the unpruned network with the
distillation term of :mod:`sklfair.distillation`, and with the fairness terms
of the original fit rebuilt from the fitted model's public attributes.

- structured: the pruned units are removed from the network for good
  (fewer units, a smaller and faster network, ``hidden_units`` updated).
  A removed unit still sent ``activation(bias)`` to the next layer: that
  constant is folded into the next layer's bias, so pruning alone changes
  the function only through the removed weights;
- unstructured: the masks stay on the network while it is fine-tuned (a
  pruned weight stays zero, its gradient is masked) and are made
  permanent afterwards.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from ._layers import is_float_net, locate_net, net_input, replace_net

__all__ = ["prune"]


def _fairness_terms(path):
    """The fit's fairness loss terms, fresh, from the fitted meta-estimator."""
    from sklfair.constrained import fairness_terms

    for meta, kind in path:
        if kind == "sensitive":
            terms = fairness_terms(meta)
            if terms:
                return meta, terms
    return None, []


def _groups(meta, X, sensitive_features):
    from sklfair._sensitive import resolve_sensitive

    if sensitive_features is not None:
        return np.asarray(sensitive_features, dtype=object)
    if meta.sensitive_columns is None:
        raise ValueError(
            f"The {type(meta).__name__} was fitted under a fairness constraint "
            "with groups given as sensitive_features=; pass the same groups of "
            "X to prune(..., sensitive_features=...) to keep the constraint "
            "while fine-tuning."
        )
    _, groups = resolve_sensitive(
        X,
        sensitive_columns=meta.sensitive_columns,
        max_groups=None,
        bins=getattr(meta, "sensitive_bins_", None) or False,
    )
    return np.asarray(groups, dtype=object)


def _linear_indices(module):
    import torch

    return [i for i, m in enumerate(module) if isinstance(m, torch.nn.Linear)]


def _prune_units(net, sparsity):
    """Remove ``sparsity`` of every hidden layer's units, folding their
    constant outputs into the next layer's bias; returns the new widths."""
    import torch
    from torch.nn.utils import prune as torch_prune

    from ._layers import mlp_layers

    mlp_layers(net)  # raises a clear error for a custom module
    module = net.net_.module_
    module.eval()
    linear = _linear_indices(module)
    keeps = []
    # every hidden layer's units are ranked in the trained network, as
    # torch's ln_structured ranks them layer by layer
    for i in linear[:-1]:
        norms = module[i].weight.detach().norm(dim=1)
        torch_prune.ln_structured(module[i], "weight", amount=sparsity, n=2, dim=0)
        keep = module[i].weight_mask.bool().any(dim=1)
        torch_prune.remove(module[i], "weight")
        if not keep.any():  # keep the strongest unit at least
            keep[norms.argmax()] = True
        keeps.append(keep)
    with torch.no_grad():
        for (i, j), keep in zip(zip(linear[:-1], linear[1:]), keeps):
            layer, following = module[i], module[j]
            # what a removed unit still sends on: activation(bn(bias))
            constant = layer.bias.detach().clone().unsqueeze(0)
            for b in range(i + 1, j):
                between = module[b]
                constant = between(constant)
            removed = ~keep
            following.bias += following.weight[:, removed] @ constant[0, removed]
            following.weight[:, removed] = 0.0
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    for (i, j), keep in zip(zip(linear[:-1], linear[1:]), keeps):
        for name in ("weight", "bias"):
            state[f"{i}.{name}"] = state[f"{i}.{name}"][keep]
        for b in range(i + 1, j):  # batch normalisation between them
            for name in ("weight", "bias", "running_mean", "running_var"):
                key = f"{b}.{name}"
                if key in state:
                    state[key] = state[key][keep]
        state[f"{j}.weight"] = state[f"{j}.weight"][:, keep]
    widths = tuple(int(k.sum()) for k in keeps)
    net.set_params(hidden_units=widths)
    net.net_.set_params(module__hidden_units=widths)  # a new module of that shape
    net.net_.module_.load_state_dict(state)
    return widths


def _prune_weights(net, sparsity):
    """Mask ``sparsity`` of every linear layer's weights (masks kept)."""
    import torch
    from torch.nn.utils import prune as torch_prune

    layers = [m for m in net.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    for layer in layers:
        torch_prune.l1_unstructured(layer, "weight", amount=sparsity)
    return layers


def prune(
    estimator,
    X,
    y,
    sparsity=0.5,
    structured=True,
    *,
    sample_weight=None,
    sensitive_features=None,
    distill=True,
    alpha=0.5,
    temperature=1.0,
    max_epochs=10,
    lr=None,
):
    """Copy of a fitted model with a pruned, fine-tuned sklfair network.

    Parameters
    ----------
    estimator : fitted model
        A :class:`~sklfair.nets.TabularNetClassifier` or
        :class:`~sklfair.nets.TabularNetRegressor`, a Pipeline ending in
        one, a :class:`~sklfair.distillation.DistilledClassifier` or a
        :class:`~sklfair.constrained.FairConstrainedClassifier` trained
        through the loop. It is not modified.
    X : array-like or DataFrame
        Fine-tuning rows, as ``estimator.predict`` takes them (sensitive
        columns included for a meta-estimator that reads them).
    y : array-like of shape (n_samples,)
        Their labels or targets.
    sparsity : float in (0, 1), default=0.5
        Share of each hidden layer's units (structured) or of each linear
        layer's weights (unstructured) to remove.
    structured : bool, default=True
        Remove whole hidden units (the network shrinks; default MLP only)
        rather than single weights (set to zero).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the fine-tuning loss.
    sensitive_features : array-like, default=None
        Groups of the rows of ``X`` for the fairness terms, when the model
        was fitted with ``sensitive_features=`` rather than
        ``sensitive_columns=``.
    distill : bool, default=True
        Fine-tune towards the unpruned network's predictions on ``X``
        (probabilities at ``temperature`` for a classifier, predictions for
        a regressor) as well as ``y``; False: on ``y`` alone.
    alpha : float in [0, 1], default=0.5
        Weight of the loss on ``y`` when distilling (as in
        :class:`~sklfair.distillation.DistilledClassifier`).
    temperature : float, default=1.0
        Softening temperature of the distillation term (classifiers).
    max_epochs : int, default=10
        Fine-tuning epochs (0: prune without fine-tuning).
    lr : float, default=None
        Fine-tuning learning rate (None: the network's ``lr``).

    Returns
    -------
    model : same type as ``estimator``
        A copy whose network is pruned and fine-tuned; with
        ``structured=True`` its ``hidden_units`` are the new widths.

    Raises
    ------
    TypeError
        When no sklfair float network makes the predictions, or for
        structured pruning of a custom module.
    ValueError
        For a sparsity outside (0, 1), or a constrained model whose groups
        cannot be found for the fine-tuning rows.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.deploy import prune
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> net = TabularNetClassifier(
    ...     hidden_units=(32,), max_epochs=20, lr=1e-2, random_state=0
    ... ).fit(X, y)
    >>> small = prune(net, X, y, sparsity=0.5, max_epochs=5)
    >>> small.hidden_units
    (16,)
    >>> bool((small.predict(X) == net.predict(X)).mean() > 0.95)
    True
    """
    from sklfair.distillation._objective import SoftTargetLoss, TeacherMSELoss
    from sklfair.nets import TabularNetClassifier

    if not isinstance(sparsity, numbers.Real) or not 0 < sparsity < 1:
        raise ValueError(f"sparsity must be in (0, 1); got {sparsity!r}.")
    net, path = locate_net(estimator)
    if not is_float_net(net):
        raise TypeError(
            f"The network of {type(estimator).__name__} is quantized; prune "
            "the float model, then quantize the pruned one."
        )
    meta, terms = _fairness_terms(path)
    X_net = net_input(estimator, X)
    groups = _groups(meta, X, sensitive_features) if terms else None
    classifier = isinstance(net, TabularNetClassifier)
    soft = None
    if distill:
        if classifier:
            with np.errstate(divide="ignore"):
                log_p = np.log(net.predict_proba(X_net)) / temperature
            log_p -= log_p.max(axis=1, keepdims=True)
            soft = np.exp(log_p)
            soft /= soft.sum(axis=1, keepdims=True)
            terms = [SoftTargetLoss(alpha, temperature), *terms]
        else:
            soft = net.predict(X_net)
            terms = [TeacherMSELoss(alpha), *terms]

    pruned = copy.deepcopy(net)
    masked = [] if structured else _prune_weights(pruned, sparsity)
    if structured:
        _prune_units(pruned, sparsity)
    if max_epochs > 0:
        original = pruned.get_params()
        pruned.set_params(
            warm_start=True,
            max_epochs=int(max_epochs),
            lr=original["lr"] if lr is None else float(lr),
        )
        pruned.net_.initialize_optimizer()  # the pruned parameters, fresh moments
        pruned.fit(
            X_net,
            y,
            sample_weight=sample_weight,
            sensitive_features=groups,
            soft_targets=soft,
            loss_terms=terms or None,
        )
        pruned.set_params(
            **{k: original[k] for k in ("warm_start", "max_epochs", "lr")}
        )
    if masked:
        from torch.nn.utils import prune as torch_prune

        for layer in masked:
            torch_prune.remove(layer, "weight")
    return replace_net(estimator, pruned)
