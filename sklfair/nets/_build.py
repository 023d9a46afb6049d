"""Building the torch module and the skorch training net of a fit.

The estimators' parameters become, here, the module class and its arguments
(the default :class:`~sklfair.nets._modules.MLP`, the
:class:`~sklfair.nets._modules.MonotoneMLP` of ``monotonic_cst``, or the
user's ``module``), the optimizer (with torch's fused kernels where it has
them) and the callbacks (``early_stopping``) of the one
:class:`~sklfair.nets._training.TrainingNet`.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from skorch.callbacks import EarlyStopping

from ._modules import MLP, MONOTONE_ACTIVATIONS, MonotoneMLP
from ._monotone import check_monotonic_cst
from ._training import TrainingNet

__all__ = ["OPTIMIZERS", "build_net", "module_spec"]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


def _optimizer_kwargs(optimizer_cls, device):
    """Fused optimizer kernels where torch has them (less per-step overhead)."""
    if optimizer_cls not in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD):
        return {}
    probe = torch.zeros(1, device=device, requires_grad=True)
    try:
        optimizer_cls([probe], lr=0.1, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return {"foreach": False}
    return {"fused": True}


def _monotone_spec(estimator):
    """``MonotoneMLP`` and its arguments, or None without constraints."""
    if estimator.monotonic_cst is None:
        return None
    cst = check_monotonic_cst(estimator, estimator.monotonic_cst)
    if not cst.any():
        return None
    name = type(estimator).__name__
    if estimator.module is not None:
        raise ValueError(
            f"{name}: monotonic_cst applies to the built-in network; with "
            "a custom module, build the constraints into the module and "
            "leave monotonic_cst=None."
        )
    if estimator.batch_norm:
        raise ValueError(
            f"{name}: batch_norm=True cannot be combined with "
            "monotonic_cst (a batch-norm scale may be negative, which "
            "would reverse a constraint); set batch_norm=False."
        )
    if estimator.activation not in MONOTONE_ACTIVATIONS:
        raise ValueError(
            f"{name}: monotonic_cst needs an activation that never "
            f"decreases, one of {list(MONOTONE_ACTIVATIONS)}; got "
            f"{estimator.activation!r}."
        )
    return MonotoneMLP, dict(
        monotonic_cst=cst.tolist(),
        hidden_units=_hidden_units(estimator),
        activation=estimator.activation,
        dropout=estimator.dropout,
        binary=estimator._monotone_binary(),
    )


def _hidden_units(estimator):
    """``hidden_units`` as a tuple of ints, each a width of at least 1."""
    units = np.asarray(estimator.hidden_units, dtype=object)
    if units.ndim != 1 or not all(
        isinstance(u, numbers.Integral) and not isinstance(u, bool) and u >= 1
        for u in units
    ):
        raise ValueError(
            f"{type(estimator).__name__}: hidden_units must be widths of the "
            "hidden layers, a sequence of whole numbers of at least 1 such as "
            f"(64, 64) (empty for a linear model), got {estimator.hidden_units!r}."
        )
    return tuple(int(u) for u in units)


def module_spec(estimator):
    """The module class of a fit and its keyword arguments (without the
    input and output widths)."""
    monotone = _monotone_spec(estimator)
    if monotone is not None:
        return monotone
    if estimator.module is None:
        return MLP, dict(
            hidden_units=_hidden_units(estimator),
            activation=estimator.activation,
            dropout=estimator.dropout,
            batch_norm=estimator.batch_norm,
        )
    return estimator.module, dict(estimator.module_params or {})


def _early_stopping(estimator):
    return EarlyStopping(
        monitor="valid_loss",
        patience=estimator.n_iter_no_change,
        threshold=0.0,
        load_best=True,
        sink=print if estimator.verbose else (lambda *a, **k: None),
    )


def build_net(estimator, n_features, n_outputs, device, generator, loss_terms):
    """The (uninitialised) :class:`TrainingNet` of ``estimator``'s parameters."""
    module_cls, module_kwargs = module_spec(estimator)
    optimizer_cls = (
        OPTIMIZERS[estimator.optimizer]
        if isinstance(estimator.optimizer, str)
        else estimator.optimizer
    )
    optimizer_kwargs = {
        f"optimizer__{k}": v
        for k, v in _optimizer_kwargs(optimizer_cls, device).items()
    }
    if estimator.weight_decay:
        optimizer_kwargs["optimizer__weight_decay"] = estimator.weight_decay
    callbacks = list(estimator.callbacks or [])
    if estimator.early_stopping:
        callbacks.append(("early_stopping", _early_stopping(estimator)))
    module_kwargs = {f"module__{k}": v for k, v in module_kwargs.items()}
    return TrainingNet(
        module=module_cls,
        module__n_features=n_features,
        module__n_outputs=n_outputs,
        **module_kwargs,
        criterion=torch.nn.Identity,
        optimizer=optimizer_cls,
        lr=estimator.lr,
        **optimizer_kwargs,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=None,
        callbacks=callbacks or None,
        verbose=int(estimator.verbose),
        device=device,
        warm_start=True,
        loss_terms=loss_terms,
        sample_loss=estimator._sample_loss(),
        generator=generator,
    )
