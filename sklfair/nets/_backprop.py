"""The default network's forward and backward pass without autograd's graph.

:class:`ReluBackprop` runs the training step of an :class:`~sklfair.nets.MLP`
of ``Linear`` and ``ReLU`` layers (the default network) as the operations
autograd would run, called directly: the forward pass keeps each layer's
input, the outputs become a leaf tensor that requires a gradient, the loss
(base loss and loss terms) is differentiated by autograd down to those
outputs, and :meth:`ReluBackprop.backward` carries their gradient through the
layers. For a network this small, autograd's bookkeeping per node (recording
the graph, scheduling the backward nodes, accumulating each gradient) costs
about as much as the arithmetic; the operations and their order are the ones
autograd uses (``addmm`` forward, ``grad.t() @ input`` for a weight,
``grad.sum(0)`` for a bias, ``grad @ weight`` through a layer and
``threshold_backward`` through a ReLU), so the gradients are the same numbers.
Where the loss is a plain or weighted mean cross-entropy (with loss terms
that give their own gradient), the training loop takes its gradient from the
base loss's ``mean_and_grad`` or ``weighted_mean_and_grad`` form instead, and
autograd is not called at all.
"""

from __future__ import annotations

import torch
from torch import nn

from ._modules import MLP, has_hooks

__all__ = ["ReluBackprop"]

_threshold_backward = torch.ops.aten.threshold_backward


class ReluBackprop:
    """Forward and backward pass of a Linear/ReLU :class:`~sklfair.nets.MLP`
    by direct calls.

    Use :meth:`for_module`, which returns None for any other network (other
    layers or activations, hooks, frozen or missing parameters, a subclass):
    those train through autograd.
    """

    def __init__(self, layers):
        self.layers = layers
        # detached views of the parameters: updated in place by the optimizer
        self._weights = [layer.weight.detach() for layer in layers]
        self._transposed = [weight.t() for weight in self._weights]
        self._biases = [layer.bias.detach() for layer in layers]
        self._inputs = None

    @classmethod
    def for_module(cls, module):
        """A :class:`ReluBackprop` of ``module``, or None where it does not apply."""
        if type(module) is not MLP or has_hooks(module):
            return None
        layers = list(module)
        linear, activations = layers[0::2], layers[1::2]
        if len(linear) != len(activations) + 1:
            return None
        if any(type(layer) is not nn.Linear or layer.bias is None for layer in linear):
            return None
        if any(type(layer) is not nn.ReLU for layer in activations):
            return None
        if not all(p.requires_grad for p in module.parameters()):
            return None
        return cls(linear)

    def forward(self, X):
        """The outputs of the network on ``X``, as a leaf that requires a
        gradient (the loss is differentiated down to it)."""
        inputs = []
        h = self._layers_on(X, inputs)
        self._inputs = inputs
        return h.requires_grad_()

    def evaluate(self, X):
        """The outputs of the network on ``X``, keeping nothing (the
        module's own forward pass, in fewer calls: for evaluation without a
        gradient)."""
        return self._layers_on(X)

    def _layers_on(self, X, inputs=None):
        """The layers on ``X``; each layer's input appended to ``inputs``."""
        h = X
        last = len(self.layers) - 1
        for i, (weight_t, bias) in enumerate(zip(self._transposed, self._biases)):
            if inputs is not None:
                inputs.append(h)
            h = torch.addmm(bias, h, weight_t)
            if i < last:
                h = h.relu_()
        return h

    def backward(self, grad):
        """Set every parameter's gradient from ``grad``, the gradient of the
        loss with respect to the outputs of the last :meth:`forward`.

        A gradient that a parameter already holds (from a loss term that
        uses the parameters themselves) is added to, as autograd would.
        """
        inputs, self._inputs = self._inputs, None
        for i, _, weight_grad, bias_grad in layer_gradients(
            grad, inputs, self._weights
        ):
            _accumulate(self.layers[i].weight, weight_grad)
            _accumulate(self.layers[i].bias, bias_grad)

    def gradients(self, grad):
        """The parameters' gradients (in ``module.parameters()`` order) and
        the gradient with respect to the input of the last :meth:`forward`,
        from ``grad``, the gradient of the loss with respect to its outputs;
        nothing is accumulated into ``.grad``."""
        inputs, self._inputs = self._inputs, None
        grads = [None] * (2 * len(self.layers))
        for i, upstream, weight_grad, bias_grad in layer_gradients(
            grad, inputs, self._weights
        ):
            grads[2 * i], grads[2 * i + 1] = weight_grad, bias_grad
            if i == 0:  # the first layer's input, as autograd's addmm gives it
                input_grad = upstream.mm(self._weights[0])
        return grads, input_grad


def layer_gradients(grad, inputs, weights):
    """The parameters' gradients of a stack of Linear layers with a ReLU
    between two, last layer first, as autograd computes them.

    Parameters
    ----------
    grad : Tensor of shape (B, n_outputs)
        The gradient of the loss with respect to the stack's outputs.
    inputs : sequence of Tensor
        Each layer's input in the forward pass (the data, then each ReLU's
        output).
    weights : sequence of Tensor
        Each layer's weight (detached).

    Yields
    ------
    i : int
        The layer.
    upstream : Tensor
        The gradient with respect to its outputs.
    weight_grad, bias_grad : Tensor
        Its weight's and bias's gradients.
    """
    for i in reversed(range(len(weights))):
        h = inputs[i]
        yield i, grad, grad.t().mm(h), grad.sum(0)
        if i > 0:
            # the gradient of the previous layer's ReLU output
            grad = _threshold_backward(grad.mm(weights[i]), h, 0)


def _accumulate(parameter, grad):
    if parameter.grad is None:
        parameter.grad = grad
    else:
        parameter.grad = parameter.grad + grad
