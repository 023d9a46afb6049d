"""Torch modules built by the tabular nets: the default multi-layer perceptron
and the network that is monotone in chosen inputs.

A user's own module is any ``torch.nn.Module`` class (or factory) that accepts
the keyword arguments ``n_features`` and ``n_outputs`` (inferred from the data
at fit) plus the entries of ``module_params``, and returns raw outputs of shape
``(n_samples, n_outputs)``: logits for a classifier, predictions for a
regressor.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "MLP",
    "MonotoneMLP",
    "NonNegativeLinear",
    "ACTIVATIONS",
    "MONOTONE_ACTIVATIONS",
    "has_hooks",
]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

#: The activations that never decrease (GELU and SiLU dip below zero first).
MONOTONE_ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid")


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


class NonNegativeLinear(nn.Module):
    """``nn.Linear`` whose weights are the absolute values of its parameters.

    Non-decreasing in every input for any parameter values. A leaf module
    of its own (not a ``Linear`` with a parametrization) so that per-sample
    gradient tools (opacus) and explainers that hook layers (shap) see one
    layer, linear in its input.

    Parameters
    ----------
    in_features, out_features : int
        Input and output widths.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        bound = 1.0 / math.sqrt(max(in_features, 1))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, X):
        return nn.functional.linear(X, self.weight.abs(), self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class MonotoneMLP(nn.Module):
    """Network whose outputs are monotone in chosen inputs, by construction.

    The inputs constrained to increase (``+1``) and those constrained to
    decrease (``-1``, negated on entry) feed a *monotone* sub-network whose
    weights on every path from them are non-negative: each such weight is
    the absolute value of its parameter, whatever value training gives the
    parameter. Its activations never decrease, and half of the units of each
    hidden layer use the activation's point reflection ``-act(-z)``
    (concave where ``act`` is convex), so the network is not restricted to
    convex functions of the constrained inputs. A composition of
    non-decreasing maps is non-decreasing, so every output is monotone in
    each constrained input for any values of the other inputs and any
    parameters.

    The free inputs (``0``) enter the monotone sub-network's first layer with
    weights of either sign (they shift the units' inputs, which keeps
    monotonicity in the constrained ones) and also feed an ordinary
    :class:`MLP` whose outputs are added.

    The constraints hold for the raw outputs. With ``binary=True`` the
    network computes one score ``s`` and returns the logits ``(-s/2, s/2)``,
    so the probability of the second class, ``sigmoid(s)``, is monotone;
    with several logits the class probabilities of a softmax would not be.

    Parameters
    ----------
    n_features : int
        Input width.
    n_outputs : int
        Output width (2 when ``binary``).
    monotonic_cst : sequence of {-1, 0, 1}
        One constraint per input: ``1`` increasing, ``-1`` decreasing, ``0``
        free. At least one must be non-zero.
    hidden_units : sequence of int
        Width of each hidden layer of both sub-networks; empty for a model
        linear in every input (non-negative weights on the constrained ones).
    activation : {"relu", "leaky_relu", "elu", "tanh", "sigmoid"}
        Hidden-layer activation (one that never decreases).
    dropout : float
        Dropout probability after each hidden activation (a positive
        rescaling in training, the identity at prediction).
    binary : bool
        Return the two logits of one monotone score (see above).

    Examples
    --------
    >>> import torch
    >>> net = MonotoneMLP(n_features=3, n_outputs=1, monotonic_cst=[1, -1, 0],
    ...                   hidden_units=(8,))
    >>> x = torch.zeros(5, 3)
    >>> x[:, 0] = torch.linspace(-2, 2, 5)
    >>> out = net(x).squeeze(1)
    >>> bool((out[1:] >= out[:-1]).all())
    True
    """

    def __init__(
        self,
        *,
        n_features,
        n_outputs,
        monotonic_cst,
        hidden_units=(64, 64),
        activation="relu",
        dropout=0.0,
        binary=False,
    ):
        super().__init__()
        cst = torch.as_tensor([int(c) for c in monotonic_cst], dtype=torch.int64)
        if cst.shape != (n_features,) or not bool(((cst >= -1) & (cst <= 1)).all()):
            raise ValueError(
                f"monotonic_cst must hold {n_features} values in {{-1, 0, 1}}; "
                f"got {list(monotonic_cst)}."
            )
        if not bool((cst != 0).any()):
            raise ValueError("monotonic_cst constrains no input; use MLP instead.")
        if activation not in MONOTONE_ACTIVATIONS:
            raise ValueError(
                f"A monotone network needs an activation that never decreases, "
                f"one of {list(MONOTONE_ACTIVATIONS)}; got {activation!r}."
            )
        hidden_units = [int(u) for u in hidden_units]
        if binary and n_outputs != 2:
            raise ValueError(f"binary=True needs n_outputs=2; got {n_outputs}.")
        self.binary = bool(binary)
        n_scores = 1 if binary else n_outputs
        constrained = torch.nonzero(cst).ravel()
        free = torch.nonzero(cst == 0).ravel()
        self.register_buffer("constrained_index", constrained)
        self.register_buffer("free_index", free)
        self.register_buffer(
            "input_sign", cst[constrained].to(torch.get_default_dtype())
        )

        widths = [len(constrained), *hidden_units, n_scores]
        # every weight on a path from a constrained input is non-negative;
        # the free inputs join the first layer with weights of either sign
        self.layers = nn.ModuleList(
            NonNegativeLinear(inp, out) for inp, out in zip(widths, widths[1:])
        )
        self.free_input = (
            nn.Linear(len(free), widths[1], bias=False) if len(free) else None
        )
        for i, units in enumerate(hidden_units):
            # +1: the unit applies the activation; -1: its point reflection
            sign = torch.ones(units)
            sign[units // 2 :] = -1.0
            self.register_buffer(f"unit_sign_{i}", sign)
        # one activation (and dropout) module per layer: explainers that hook
        # modules (shap's DeepExplainer) need one call per module per forward
        self.activations = nn.ModuleList(
            ACTIVATIONS[activation]() for _ in hidden_units
        )
        self.dropouts = nn.ModuleList(
            nn.Dropout(dropout) if dropout > 0 else nn.Identity() for _ in hidden_units
        )
        self.free_net = (
            MLP(
                n_features=len(free),
                n_outputs=n_scores,
                hidden_units=hidden_units,
                activation=activation,
                dropout=dropout,
            )
            if len(free) and hidden_units
            else None
        )
        self.reset_parameters()

    def reset_parameters(self):
        """Initialise as ``nn.Linear`` does, the first layer over all inputs."""
        fan_in = len(self.constrained_index) + len(self.free_index)
        bound = 1.0 / math.sqrt(max(fan_in, 1))
        for parameter in self.layers[0].parameters():
            nn.init.uniform_(parameter, -bound, bound)
        if self.free_input is not None:
            nn.init.uniform_(self.free_input.weight, -bound, bound)

    def forward(self, X):
        x_mono = X[:, self.constrained_index] * self.input_sign
        x_free = X[:, self.free_index]
        h = self.layers[0](x_mono)
        if self.free_input is not None:
            h = h + self.free_input(x_free)
        for i, (activation, dropout) in enumerate(zip(self.activations, self.dropouts)):
            sign = getattr(self, f"unit_sign_{i}")
            h = dropout(sign * activation(sign * h))
            h = self.layers[i + 1](h)
        if self.free_net is not None:
            h = h + self.free_net(x_free)
        if self.binary:
            return torch.cat([-0.5 * h, 0.5 * h], dim=1)
        return h


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
