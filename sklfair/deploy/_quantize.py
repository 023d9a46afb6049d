"""int8 networks: :func:`quantize` and :class:`QuantizedNetClassifier`.

The weights of every linear layer are quantized to int8 per output unit
(symmetric, one float32 scale per unit) by torchao, the quantization library
that torch 2.13 recommends: ``torch.ao.quantization.quantize_dynamic`` warns
that it is deprecated and will be removed, and points to torchao's
``quantize_``. Inputs of each layer are quantized to int8 as they come:

- ``"dynamic"`` (default): one scale per row, from the row's largest absolute
  value (torchao's ``Int8DynamicActivationInt8WeightConfig``). A row's
  prediction depends on that row only, never on the batch it comes in;
- ``"static"``: one scale per layer, calibrated on rows given to
  :func:`quantize` (``Int8StaticActivationInt8WeightConfig``); inputs
  larger than the calibration rows' are clipped.

The matrix products run on int8 values with int32 accumulation; the results
are rescaled to float32. Batch normalisation is folded into the linear layer
before it and dropout removed first, so the int8 network has linear layers
and activations only.

The fitted state is plain numpy arrays (int8 weights, float32 scales and
biases): the object pickles and round-trips through ``skops.io`` without
torch objects; the torchao module is rebuilt from the arrays on load.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    _fit_context,
    clone,
)
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._layers import is_float_net, locate_net, mlp_layers, net_input, replace_net

__all__ = ["quantize", "QuantizedNetClassifier", "QuantizedNetRegressor"]

_PREDICT_CHUNK = 65536


@contextlib.contextmanager
def _quiet_torchao_import():
    """torchao logs a warning for each CUDA kernel library it cannot load on a
    CPU-only machine, and torch logs one about an enum it registers; neither
    concerns CPU inference."""
    loggers = [logging.getLogger(n) for n in ("torchao", "torch.utils._pytree")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _torchao():
    """torchao's int8 tools, imported on first use (an optional dependency)."""
    try:
        with _quiet_torchao_import():
            from torchao.quantization import (
                Int8DynamicActivationInt8WeightConfig,
                Int8StaticActivationInt8WeightConfig,
                PerRow,
                PerTensor,
                quantize_,
            )
            from torchao.quantization.quantize_.workflows import (
                Int8Tensor,
                QuantizeTensorToInt8Kwargs,
            )
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "sklfair.deploy.quantize needs torchao: pip install 'sklfair[deploy]'"
        ) from exc
    return {
        "dynamic": Int8DynamicActivationInt8WeightConfig,
        "static": Int8StaticActivationInt8WeightConfig,
        "PerRow": PerRow,
        "PerTensor": PerTensor,
        "quantize_": quantize_,
        "Int8Tensor": Int8Tensor,
        "act_kwargs": QuantizeTensorToInt8Kwargs,
    }


def _activation_module(spec):
    from torch import nn

    if spec is None:
        return None
    name, params = spec
    cls = {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
    }[name]
    return cls(**params)


def _input_scale(rows):
    """torchao's symmetric int8 scale of a whole batch: max |x| / 127.5."""
    return max(float(np.max(np.abs(rows), initial=0.0)) / 127.5, np.finfo("f4").eps)


def quantize_layers(layers, calibration=None):
    """int8 weights (and static input scales) of float layers, through torchao.

    Parameters
    ----------
    layers : list of dict
        From :func:`~sklfair.deploy._layers.mlp_layers`.
    calibration : ndarray of shape (n_rows, n_inputs), default=None
        Rows entering the first layer; given, each layer gets one static
        input scale from them (``"static"``), else inputs are quantized per
        row at prediction (``"dynamic"``).

    Returns
    -------
    list of dict
        ``"weight"`` int8 (out, in), ``"weight_scale"`` float32 (out,),
        ``"bias"`` float32 (out,), ``"activation"``, and for static
        quantization ``"input_scale"`` (a float).
    """
    import torch

    ao = _torchao()
    quantized = []
    h = None if calibration is None else np.asarray(calibration, dtype=np.float32)
    for position, layer in enumerate(layers):
        if layer["weight"].shape[1] < 2:
            what = (
                "the input has 1 feature(s)"
                if position == 0
                else (f"hidden layer {position} has 1 unit")
            )
            raise ValueError(
                f"Cannot quantize: {what}. torchao's int8 kernels (0.18) fail on "
                "a layer with a single input; give the network at least 2 "
                "inputs per layer."
            )
        linear = torch.nn.Linear(*layer["weight"].shape[::-1])
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(layer["weight"], dtype=torch.float32))
            linear.bias.copy_(torch.as_tensor(layer["bias"], dtype=torch.float32))
        entry = {"activation": layer["activation"]}
        if h is None:
            config = ao["dynamic"](set_inductor_config=False)
        else:
            entry["input_scale"] = _input_scale(h)
            config = ao["static"](
                act_quant_scale=torch.tensor([[entry["input_scale"]]]),
                granularity=[ao["PerTensor"](), ao["PerRow"]()],
                set_inductor_config=False,
            )
        float_linear = None if h is None else _float_layer(layer)
        ao["quantize_"](linear, config)
        # qdata and scale are the documented tensor attributes of Int8Tensor
        entry["weight"] = linear.weight.qdata.cpu().numpy().copy()
        entry["weight_scale"] = linear.weight.scale.reshape(-1).cpu().numpy().copy()
        entry["bias"] = linear.bias.detach().cpu().numpy().copy()
        quantized.append(entry)
        if h is not None:
            h = float_linear(h)
    return quantized


def _float_layer(layer):
    """The float layer (linear + activation) as a numpy function, to calibrate."""
    import torch

    activation = _activation_module(layer["activation"])
    weight = torch.as_tensor(layer["weight"], dtype=torch.float32)
    bias = torch.as_tensor(layer["bias"], dtype=torch.float32)

    def apply(h):
        with torch.no_grad():
            out = torch.as_tensor(h) @ weight.T + bias
            if activation is not None:
                out = activation(out)
        return out.numpy()

    return apply


def build_module(layers):
    """The torchao int8 module of quantized layers (from their arrays)."""
    import torch

    ao = _torchao()
    modules = []
    for layer in layers:
        out_features, in_features = layer["weight"].shape
        linear = torch.nn.Linear(in_features, out_features)
        qdata = torch.as_tensor(layer["weight"])
        scale = torch.as_tensor(layer["weight_scale"], dtype=torch.float32)
        scale = scale.reshape(-1, 1)
        static = "input_scale" in layer
        act_kwargs = ao["act_kwargs"](
            granularity=ao["PerTensor"]() if static else ao["PerRow"]()
        )
        weight = ao["Int8Tensor"].from_hp(
            qdata.to(torch.float32) * scale,
            ao["PerRow"](),
            scale=scale,
            act_quant_kwargs=act_kwargs,
            act_quant_scale=(
                torch.tensor([[layer["input_scale"]]], dtype=torch.float32)
                if static
                else None
            ),
        )
        linear.weight = torch.nn.Parameter(weight, requires_grad=False)
        with torch.no_grad():
            linear.bias.copy_(torch.as_tensor(layer["bias"], dtype=torch.float32))
        linear.bias.requires_grad_(False)
        modules.append(linear)
        activation = _activation_module(layer["activation"])
        if activation is not None:
            modules.append(activation)
    return torch.nn.Sequential(*modules).eval()


class _QuantizedNet(BaseEstimator):
    """What the int8 classifier and regressor share: fit, state, forward."""

    _net_class = None  # the sklfair network class it quantizes

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "activations": [StrOptions({"dynamic", "static"})],
    }

    def __init__(self, estimator=None, *, activations="dynamic"):
        self.estimator = estimator
        self.activations = activations

    def _net_cls(self):
        from sklfair import nets

        return getattr(nets, self._net_class)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train a clone of ``estimator`` on ``X, y``, then quantize it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        **fit_params : dict
            Passed to the network's ``fit`` (``sensitive_features``,
            ``soft_targets``, ``loss_terms``).

        Returns
        -------
        self : object
        """
        net_cls = self._net_cls()
        template = net_cls() if self.estimator is None else self.estimator
        if not isinstance(template, net_cls):
            raise TypeError(
                f"{type(self).__name__} quantizes a {net_cls.__name__}; got "
                f"{type(template).__name__}. Use sklfair.deploy.quantize for a "
                "Pipeline or meta-estimator that holds one."
            )
        net = clone(template).fit(X, y, sample_weight=sample_weight, **fit_params)
        calibration = None
        if self.activations == "static":
            calibration = validate_data(
                net, X, reset=False, accept_sparse="csr", dtype=np.float32
            )
            calibration = _dense(calibration)
        self._set_from_net(net, calibration)
        return self

    def _set_from_net(self, net, calibration):
        self.layers_ = quantize_layers(mlp_layers(net), calibration)
        self.n_features_in_ = net.n_features_in_
        if hasattr(net, "feature_names_in_"):
            self.feature_names_in_ = net.feature_names_in_
        self.n_parameters_ = int(
            sum(layer["weight"].size + layer["bias"].size for layer in self.layers_)
        )
        self._module = build_module(self.layers_)
        return self

    def _outputs(self, X):
        """The int8 network's outputs, float64 (logits, or predictions)."""
        import torch

        check_is_fitted(self, "layers_")
        X = validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=[np.float32, np.float64]
        )
        outs = []
        with torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_CHUNK):
                rows = _dense(X[start : start + _PREDICT_CHUNK]).astype(
                    np.float32, copy=False
                )
                outs.append(self._module(torch.from_numpy(rows)).numpy())
        if not outs:
            return np.zeros((0, len(self.layers_[-1]["bias"])))
        return np.concatenate(outs).astype(np.float64)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_module", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "layers_" in state:
            self._module = build_module(self.layers_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class QuantizedNetClassifier(ClassifierMixin, _QuantizedNet):
    """An sklfair network classifier with int8 weights and int8 matrix products.

    :meth:`fit` trains a clone of ``estimator`` (a
    :class:`~sklfair.nets.TabularNetClassifier`) and quantizes it:
    post-training quantization of every linear layer to int8 weights, one
    scale per output unit, with inputs quantized to int8 as they come (see
    :mod:`sklfair.deploy`). :func:`~sklfair.deploy.quantize` makes one from a
    network already fitted, alone or inside a model, without training.

    The fitted state is numpy arrays only (about a quarter of the float
    weights' bytes); predictions are computed in float32 from int32
    accumulators, probabilities returned as float64.

    Parameters
    ----------
    estimator : TabularNetClassifier, default=None
        The network to train and quantize (``None``: a default
        ``TabularNetClassifier()``). Only the default MLP (``module=None``)
        can be quantized.
    activations : {"dynamic", "static"}, default="dynamic"
        ``"dynamic"``: each row's inputs to a layer are quantized with their
        own scale (predictions do not depend on batching). ``"static"``: one
        scale per layer, calibrated on the training rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When the network was fitted on a DataFrame with string column names.
    layers_ : list of dict
        Per linear layer: ``"weight"`` (int8, shape (out, in)),
        ``"weight_scale"`` and ``"bias"`` (float32, shape (out,)),
        ``"activation"`` (name and parameters, None for the output layer),
        and with static quantization ``"input_scale"``.
    n_parameters_ : int
        Weights and biases (the float network's parameter count after
        batch normalisation is folded in).

    See Also
    --------
    quantize : int8 copy of a fitted network or of the model holding it.
    to_onnx : the int8 network as an ONNX graph.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.deploy import QuantizedNetClassifier
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> net = TabularNetClassifier(hidden_units=(16,), max_epochs=30, random_state=0)
    >>> clf = QuantizedNetClassifier(net).fit(X, y)
    >>> clf.layers_[0]["weight"].dtype
    dtype('int8')
    >>> clf.score(X, y) > 0.9
    True
    """

    _net_class = "TabularNetClassifier"

    def _set_from_net(self, net, calibration):
        self.classes_ = net.classes_
        return super()._set_from_net(net, calibration)

    def predict_proba(self, X):
        """Class probabilities of the int8 network, float64.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._outputs(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class QuantizedNetRegressor(RegressorMixin, _QuantizedNet):
    """An sklfair network regressor with int8 weights and int8 matrix products.

    The regressor counterpart of :class:`QuantizedNetClassifier`: :meth:`fit`
    trains a clone of ``estimator`` (a :class:`~sklfair.nets.TabularNetRegressor`)
    and quantizes it; :func:`~sklfair.deploy.quantize` makes one from a fitted
    network. The map from the network's standardised outputs to the targets
    is folded into its last layer before quantization.

    Parameters
    ----------
    estimator : TabularNetRegressor, default=None
        The network to train and quantize (``None``: a default
        ``TabularNetRegressor()``).
    activations : {"dynamic", "static"}, default="dynamic"
        As in :class:`QuantizedNetClassifier`.

    Attributes
    ----------
    n_outputs_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When the network was fitted on a DataFrame with string column names.
    layers_ : list of dict
        As in :class:`QuantizedNetClassifier`.
    n_parameters_ : int

    See Also
    --------
    QuantizedNetClassifier, quantize, to_onnx

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklfair.deploy import QuantizedNetRegressor
    >>> from sklfair.nets import TabularNetRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=1, random_state=0)
    >>> net = TabularNetRegressor(max_epochs=100, random_state=0)
    >>> reg = QuantizedNetRegressor(net).fit(X, y)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _net_class = "TabularNetRegressor"

    def _set_from_net(self, net, calibration):
        self.n_outputs_ = net.n_outputs_
        self._ravel = net.output_scaling()[2]
        return super()._set_from_net(net, calibration)

    def predict(self, X):
        """Predicted targets of the int8 network, float64.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._outputs(X)
        return out.ravel() if self._ravel else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def quantize(estimator, X=None):
    """Copy of a fitted model whose sklfair network has int8 weights.

    Parameters
    ----------
    estimator : fitted model
        A :class:`~sklfair.nets.TabularNetClassifier` or
        :class:`~sklfair.nets.TabularNetRegressor`, a Pipeline ending in
        one, a :class:`~sklfair.distillation.DistilledClassifier` (its
        ``student_``) or a
        :class:`~sklfair.constrained.FairConstrainedClassifier` trained
        through the loop (its ``estimator_``). It is not modified.
    X : array-like or DataFrame, default=None
        Calibration rows, as ``estimator.predict`` takes them. ``None``
        (default): dynamic quantization, each row's inputs to a layer get
        their own scale. Given: static quantization, one input scale per
        layer from these rows (see :mod:`sklfair.deploy`).

    Returns
    -------
    model : same type as ``estimator``
        A copy with the network replaced by a fitted
        :class:`QuantizedNetClassifier` (or :class:`QuantizedNetRegressor`):
        same ``predict`` and ``predict_proba`` API, picklable and
        ``skops``-persistable.

    Raises
    ------
    TypeError
        When no sklfair network makes the predictions, when it is already
        quantized, or for a network with a custom module.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklfair.deploy import quantize
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     TabularNetClassifier(hidden_units=(16,), max_epochs=30, random_state=0),
    ... ).fit(X, y)
    >>> small = quantize(model)
    >>> type(small[-1]).__name__
    'QuantizedNetClassifier'
    >>> float((small.predict(X) == model.predict(X)).mean()) > 0.99
    True
    """
    from sklfair.nets import TabularNetClassifier

    net, _ = locate_net(estimator)
    if not is_float_net(net):
        raise TypeError(
            f"The network of {type(estimator).__name__} is already quantized."
        )
    calibration = None
    if X is not None:
        calibration = _dense(
            validate_data(
                net,
                net_input(estimator, X),
                reset=False,
                accept_sparse="csr",
                dtype=np.float32,
            )
        )
    cls = (
        QuantizedNetClassifier
        if isinstance(net, TabularNetClassifier)
        else QuantizedNetRegressor
    )
    quantized = cls(clone(net), activations="dynamic" if X is None else "static")
    quantized._set_from_net(net, calibration)
    return replace_net(estimator, quantized)
