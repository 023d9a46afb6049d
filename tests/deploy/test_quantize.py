"""quantize() and QuantizedNetClassifier: int8 arithmetic against a numpy
oracle, batch independence, copies that leave the original alone, round trips."""

import pickle

import numpy as np
import pytest
import skops.io as sio
import torch
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfair.constrained import FairConstrainedClassifier
from sklfair.deploy import QuantizedNetClassifier, QuantizedNetRegressor, quantize
from sklfair.deploy._layers import mlp_layers
from sklfair.nets import TabularNetClassifier, TabularNetRegressor

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        n_samples=600, n_features=12, n_informative=6, random_state=0
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def relu_net(blobs):
    X, y = blobs
    return TabularNetClassifier(
        hidden_units=(24, 12), max_epochs=10, random_state=0
    ).fit(X, y)


def _oracle_weights(weight):
    """torchao's symmetric per-row int8: scale max|w|/127.5, round half to even."""
    w = weight.astype(np.float32)
    scale = np.maximum(np.abs(w).max(axis=1) / np.float32(127.5), np.finfo("f4").eps)
    scale = scale.astype(np.float32)
    inverse = (np.float32(1.0) / scale).astype(np.float32)
    q = np.clip(np.round(w * inverse[:, None]), -128, 127).astype(np.int8)
    return q, scale


def _oracle_logits(layers, X):
    """The int8 network in numpy: per-row input scales, integer products."""
    h = X.astype(np.float32)
    for layer in layers:
        scale = np.maximum(
            np.abs(h).max(axis=1, keepdims=True) / np.float32(127.5),
            np.finfo("f4").eps,
        ).astype(np.float32)
        inverse = (np.float32(1.0) / scale).astype(np.float32)
        q = np.clip(np.round(h * inverse), -128, 127).astype(np.int32)
        acc = q @ layer["weight"].astype(np.int32).T
        h = acc.astype(np.float32) * scale * layer["weight_scale"] + layer["bias"]
        if layer["activation"] is not None:
            h = np.maximum(h, 0)
    return h


def test_int8_weights_and_products_match_a_numpy_oracle(blobs, relu_net):
    X, _ = blobs
    model = quantize(relu_net)
    for float_layer, layer in zip(mlp_layers(relu_net), model.layers_):
        q, scale = _oracle_weights(float_layer["weight"])
        np.testing.assert_array_equal(layer["weight"], q)
        np.testing.assert_allclose(layer["weight_scale"], scale, rtol=1e-6)
    logits = _oracle_logits(model.layers_, X)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), proba, atol=1e-6)


def test_quantized_rows_do_not_depend_on_their_batch(blobs, relu_net):
    X, _ = blobs
    model = quantize(relu_net)
    together = model.predict_proba(X)
    alone = np.vstack([model.predict_proba(X[i : i + 1]) for i in range(20)])
    np.testing.assert_array_equal(alone, together[:20])


def test_static_scales_come_from_the_calibration_rows(blobs, relu_net):
    X, y = blobs
    model = quantize(relu_net, X[:300])
    assert model.activations == "static"
    expected = np.abs(X[:300].astype(np.float32)).max() / 127.5
    assert model.layers_[0]["input_scale"] == pytest.approx(expected, rel=1e-6)
    agree = np.mean(model.predict(X) == relu_net.predict(X))
    assert agree > 0.97


def test_pipeline_copy_keeps_the_original(credit, net_pipeline):
    _, X_test, _, _, _ = credit
    X_test = X_test.drop(columns="age_band")
    before = net_pipeline.predict_proba(X_test)
    small = quantize(net_pipeline)
    assert isinstance(small[-1], QuantizedNetClassifier)
    assert isinstance(net_pipeline[-1], TabularNetClassifier)
    assert small[0] is not net_pipeline[0]
    np.testing.assert_array_equal(net_pipeline.predict_proba(X_test), before)
    assert np.mean(small.predict(X_test) == net_pipeline.predict(X_test)) >= 0.99
    assert np.abs(small.predict_proba(X_test) - before).max() < 0.05


def test_meta_estimators_get_their_network_replaced(credit, fair_student):
    X_train, X_test, y_train, _, _ = credit
    small = quantize(fair_student)
    assert isinstance(small.student_[-1], QuantizedNetClassifier)
    assert isinstance(fair_student.student_[-1], TabularNetClassifier)
    assert small.teacher_ is not fair_student.teacher_
    agree = np.mean(small.predict(X_test) == fair_student.predict(X_test))
    assert agree >= 0.99

    net = TabularNetClassifier(hidden_units=(8,), max_epochs=3, random_state=0)
    constrained = FairConstrainedClassifier(
        make_pipeline(SimpleImputer(), StandardScaler(), net),
        sensitive_columns="age_band",
        bound=0.2,
    ).fit(X_train.drop(columns=["education", "marriage"]), y_train)
    small = quantize(constrained)
    assert isinstance(small.estimator_[-1], QuantizedNetClassifier)
    assert small.predict(X_test.drop(columns=["education", "marriage"])).shape == (
        len(X_test),
    )


def test_pickle_and_skops_round_trips(credit, net_pipeline):
    _, X_test, _, _, _ = credit
    X_test = X_test.drop(columns="age_band")
    small = quantize(net_pipeline)
    expected = small.predict_proba(X_test)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(small)).predict_proba(X_test), expected
    )
    data = sio.dumps(small)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), expected)
    # the int8 network is stored as int8 arrays: a fraction of the float one
    assert len(pickle.dumps(small[-1])) < 0.5 * len(pickle.dumps(net_pipeline[-1]))


def test_torchao_int8_tensor_rebuilds_exactly(relu_net):
    """Pins the torchao behaviour the persistence relies on: quantize_ gives
    Int8Tensor weights whose documented ``qdata`` and ``scale`` rebuild, via
    ``Int8Tensor.from_hp(scale=...)``, the same module outputs."""
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        quantize_,
    )
    from torchao.quantization.quantize_.workflows import Int8Tensor

    from sklfair.deploy._quantize import build_module, quantize_layers

    layer = mlp_layers(relu_net)[0]
    linear = torch.nn.Linear(*layer["weight"].shape[::-1])
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(layer["weight"], dtype=torch.float32))
        linear.bias.copy_(torch.as_tensor(layer["bias"], dtype=torch.float32))
    quantize_(linear, Int8DynamicActivationInt8WeightConfig(set_inductor_config=False))
    assert isinstance(linear.weight, Int8Tensor)
    rebuilt = build_module(quantize_layers([{**layer, "activation": None}]))
    x = torch.randn(50, linear.in_features)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), linear(x), rtol=0, atol=0)


def test_errors_name_the_problem(blobs, relu_net):
    X, y = blobs
    with pytest.raises(TypeError, match="already quantized"):
        quantize(quantize(relu_net))
    with pytest.raises(TypeError, match="not an sklfair network"):
        quantize(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))

    class Tiny(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.linear(X)

    custom = TabularNetClassifier(module=Tiny, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="custom module"):
        quantize(custom)


def test_regressors_fold_the_target_scale_into_the_last_layer(blobs):
    X, y = blobs
    target = np.column_stack([1000 + 300 * X[:, 0] + 50 * y, -X[:, 1]])
    net = TabularNetRegressor(hidden_units=(16,), max_epochs=40, random_state=0)
    net.fit(X, target)
    small = quantize(net)
    assert isinstance(small, QuantizedNetRegressor)
    assert small.predict(X).shape == (len(X), 2)
    # int8 noise is small next to the target's spread
    error = np.abs(small.predict(X) - net.predict(X)).max(axis=0)
    assert np.all(error < 0.02 * target.std(axis=0))
    one = quantize(net.fit(X, target[:, 0]))
    assert one.predict(X).shape == (len(X),)


@parametrize_with_checks(
    [
        QuantizedNetClassifier(
            TabularNetClassifier(
                hidden_units=(16,), max_epochs=50, lr=1e-2, random_state=0
            )
        ),
        QuantizedNetRegressor(
            TabularNetRegressor(
                hidden_units=(16,), max_epochs=50, lr=1e-2, random_state=0
            )
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
