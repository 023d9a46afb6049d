"""Where the sklfair network sits in a fitted model, and its layers as arrays.

:func:`locate_net` walks a fitted model -- a network alone, the last step of a
Pipeline, the ``student_`` of a distilled model, the ``estimator_`` of a
constrained model trained through the loop, a FrozenEstimator -- down to the
one sklfair network that makes its predictions, and :func:`net_input` gives
the rows that network sees for the model's ``X``. :func:`replace_net` copies
the model with another network in its place (the original is untouched).

:func:`mlp_layers` reads the default multi-layer perceptron of a fitted
network as plain float64 arrays, batch normalisation folded into the linear
layer before it and dropout removed (the prediction-time network), which is
what quantization and the ONNX converters start from.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "locate_net",
    "net_input",
    "meta_input",
    "replace_net",
    "mlp_layers",
    "is_float_net",
]

#: Activation modules of the default MLP and the parameters they carry.
_ACTIVATIONS = {
    "ReLU": ("relu", ()),
    "LeakyReLU": ("leaky_relu", ("negative_slope",)),
    "ELU": ("elu", ("alpha",)),
    "GELU": ("gelu", ("approximate",)),
    "SiLU": ("silu", ()),
    "Tanh": ("tanh", ()),
    "Sigmoid": ("sigmoid", ()),
}


def is_float_net(est):
    """Whether ``est`` is a fitted or unfitted sklfair float network."""
    from sklfair.nets import TabularNetClassifier, TabularNetRegressor

    return isinstance(est, (TabularNetClassifier, TabularNetRegressor))


def _is_net(est):
    from ._quantize import QuantizedNetClassifier, QuantizedNetRegressor

    return is_float_net(est) or isinstance(
        est, (QuantizedNetClassifier, QuantizedNetRegressor)
    )


def _children(est):
    """The fitted inner model of a container, and how its input is derived.

    Returns ``(child, kind)`` with kind ``"pipeline"``, ``"frozen"`` or
    ``"sensitive"`` (a meta-estimator that may drop sensitive columns), or
    ``None`` for anything else.
    """
    from sklfair.constrained import FairConstrainedClassifier, FairConstrainedRegressor
    from sklfair.distillation import DistilledClassifier, DistilledRegressor

    if isinstance(est, Pipeline):
        return est.steps[-1][1], "pipeline"
    if isinstance(est, FrozenEstimator):
        return est.estimator, "frozen"
    if isinstance(est, (DistilledClassifier, DistilledRegressor)):
        if not hasattr(est, "student_"):
            raise NotFittedError(f"This {type(est).__name__} is not fitted yet.")
        return est.student_, "sensitive"
    if isinstance(est, (FairConstrainedClassifier, FairConstrainedRegressor)):
        if not hasattr(est, "method_"):
            raise NotFittedError(f"This {type(est).__name__} is not fitted yet.")
        if est.method_ not in ("lagrangian", "penalty", "adversarial"):
            return None
        return est.estimator_, "sensitive"
    return None


def locate_net(model):
    """The sklfair network that makes ``model``'s predictions, and its path.

    Returns
    -------
    net : TabularNetClassifier, TabularNetRegressor or QuantizedNetClassifier
    path : list of (container, kind)
        The containers from ``model`` down to the network.

    Raises
    ------
    TypeError
        When no sklfair network makes the predictions (the message names
        the model that stops the walk).
    NotFittedError
        When the model or its network is not fitted.
    """
    path = []
    est = model
    while not _is_net(est):
        found = _children(est)
        if found is None:
            where = f" (inside {type(model).__name__})" if path else ""
            raise TypeError(
                f"{type(est).__name__}{where} is not an sklfair network, nor a "
                "Pipeline, distilled model or constrained model (method "
                "'lagrangian', 'penalty' or 'adversarial') ending in one; "
                "there is no network to compress."
            )
        path.append((est, found[1]))
        est = found[0]
    check_is_fitted(est)
    return est, path


def meta_input(meta, X):
    """``X`` as a meta-estimator's inner model sees it (sensitive columns
    dropped when the meta-estimator drops them)."""
    from sklfair._sensitive import drop_sensitive_columns

    if (
        meta.sensitive_columns is not None
        and meta.drop_sensitive
        and not callable(meta.sensitive_columns)
    ):
        return drop_sensitive_columns(X, meta.sensitive_columns)
    return X


def net_input(model, X):
    """The rows the located network sees when ``model`` predicts ``X``."""
    _, path = locate_net(model)
    for container, kind in path:
        if kind == "pipeline" and len(container) > 1:
            X = container[:-1].transform(X)
        elif kind == "sensitive":
            X = meta_input(container, X)
    return X


def replace_net(model, new_net):
    """A deep copy of ``model`` with ``new_net`` in place of its network.

    The network itself is not copied (``new_net`` takes its place by
    identity), so copying a model never serialises the network it replaces.
    """
    net, _ = locate_net(model)
    return copy.deepcopy(model, memo={id(net): new_net})


def _activation_spec(layer):
    name = type(layer).__name__
    if name not in _ACTIVATIONS:
        return None
    key, attrs = _ACTIVATIONS[name]
    return key, {attr: getattr(layer, attr) for attr in attrs}


def mlp_layers(net):
    """The prediction-time layers of a fitted network's default MLP.

    Parameters
    ----------
    net : TabularNetClassifier or TabularNetRegressor
        Fitted, with the default module (``module=None``).

    Returns
    -------
    layers : list of dict
        One dict per linear layer: ``"weight"`` (out, in) and ``"bias"``
        (out,) as float64 arrays, batch normalisation folded in, and
        ``"activation"``: ``(name, params)`` of the activation after it, or
        None for the output layer. A regressor's output layer also carries
        the map from standardised to real targets
        (:meth:`~sklfair.nets.TabularNetRegressor.output_scaling`).

    Raises
    ------
    TypeError
        For a user-defined module (only the default MLP is read).
    """
    import torch

    from sklfair.nets._modules import MLP

    module = net.net_.module_
    if type(module) is not MLP:
        raise TypeError(
            f"{type(net).__name__} uses a custom module "
            f"({type(module).__name__}); only the default MLP (module=None) can "
            "be read layer by layer for quantization, structured pruning or "
            "ONNX export."
        )
    layers = []
    with torch.no_grad():
        for layer in module:
            kind = type(layer).__name__
            if isinstance(layer, torch.nn.Linear):
                layers.append(
                    {
                        "weight": layer.weight.detach().double().cpu().numpy().copy(),
                        "bias": layer.bias.detach().double().cpu().numpy().copy(),
                        "activation": None,
                    }
                )
            elif isinstance(layer, torch.nn.BatchNorm1d):
                mean = layer.running_mean.double().cpu().numpy()
                var = layer.running_var.double().cpu().numpy()
                scale = 1.0 / np.sqrt(var + layer.eps)
                shift = -mean * scale
                if layer.affine:
                    gamma = layer.weight.detach().double().cpu().numpy()
                    beta = layer.bias.detach().double().cpu().numpy()
                    scale, shift = scale * gamma, shift * gamma + beta
                last = layers[-1]
                last["weight"] = last["weight"] * scale[:, None]
                last["bias"] = last["bias"] * scale + shift
            elif isinstance(layer, torch.nn.Dropout):
                continue
            else:
                spec = _activation_spec(layer)
                if spec is None:
                    raise TypeError(
                        f"The activation {kind} of {type(net).__name__} has no "
                        f"known int8/ONNX form; use one of "
                        f"{sorted(v[0] for v in _ACTIVATIONS.values())}."
                    )
                layers[-1]["activation"] = spec
    if hasattr(net, "output_scaling"):  # a regressor: outputs on the target scale
        scale, offset, _ = net.output_scaling()
        last = layers[-1]
        last["weight"] = last["weight"] * scale[:, None]
        last["bias"] = last["bias"] * scale + offset
    return layers
