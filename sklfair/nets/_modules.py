"""Torch modules built by the tabular nets: the default multi-layer perceptron.

A user's own module is any ``torch.nn.Module`` class (or factory) that accepts
the keyword arguments ``n_features`` and ``n_outputs`` (inferred from the data
at fit) plus the entries of ``module_params``, and returns raw outputs of shape
``(n_samples, n_outputs)``: logits for a classifier, predictions for a
regressor.
"""

from __future__ import annotations

from torch import nn

__all__ = ["MLP", "ACTIVATIONS", "has_hooks"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


class MLP(nn.Sequential):
    """Fully connected network of Linear, BatchNorm, activation and Dropout layers.

    Parameters
    ----------
    n_features : int
        Input width.
    n_outputs : int
        Output width (number of classes, or of regression targets).
    hidden_units : sequence of int
        Width of each hidden layer; empty for a linear model.
    activation : str or nn.Module class
        A name from ``ACTIVATIONS`` or a module class instantiated without
        arguments.
    dropout : float
        Dropout probability after each hidden activation.
    batch_norm : bool
        Whether to put a ``BatchNorm1d`` after each hidden linear layer.

    Examples
    --------
    >>> MLP(n_features=3, n_outputs=2, hidden_units=(4,))
    MLP(
      (0): Linear(in_features=3, out_features=4, bias=True)
      (1): ReLU()
      (2): Linear(in_features=4, out_features=2, bias=True)
    )
    """

    def __init__(
        self,
        *,
        n_features,
        n_outputs,
        hidden_units=(64, 64),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        activation_cls = (
            ACTIVATIONS[activation] if isinstance(activation, str) else activation
        )
        layers = []
        width = n_features
        for units in hidden_units:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(activation_cls())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)

    def plain_forward(self, X):
        """``forward`` without ``nn.Module.__call__`` bookkeeping per layer.

        Only equivalent when no hooks are registered; the training loop checks
        that (:func:`has_hooks`) before using it.
        """
        for layer in self:
            X = layer.forward(X)
        return X


def has_hooks(module):
    """Whether any forward/backward hook could observe ``module``'s calls."""
    from torch.nn.modules import module as module_mod

    global_hooks = (
        module_mod._global_forward_hooks,
        module_mod._global_forward_pre_hooks,
        module_mod._global_backward_hooks,
        module_mod._global_backward_pre_hooks,
    )
    if any(global_hooks):
        return True
    return any(
        m._forward_hooks
        or m._forward_pre_hooks
        or m._backward_hooks
        or m._backward_pre_hooks
        for m in module.modules()
    )
