"""to_onnx(): whole Pipelines (categories, missing values) as one graph,
checked with onnxruntime against the fitted models; meta-estimators and
mixtures; errors that name what cannot be exported."""

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from sklfair.constrained import FairConstrainedClassifier
from sklfair.deploy import OnnxExportError, onnx_inputs, quantize, to_onnx
from sklfair.nets import TabularNetClassifier, TabularNetRegressor

from .conftest import CATEGORICAL, preprocess

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


def _run(graph, X):
    session = ort.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    label, proba = session.run(None, onnx_inputs(session, X))
    return session, label, proba


def test_float_pipeline_with_categories_and_missing_values(credit, net_pipeline):
    X_train, X_test, _, _, _ = credit
    X_test = X_test.drop(columns="age_band")
    assert X_test["marriage"].isna().any() and X_test["limit_bal"].isna().any()
    graph = to_onnx(net_pipeline, X_train.drop(columns="age_band").iloc[:5])
    session, label, proba = _run(graph, X_test)
    names = {i.name: i.type for i in session.get_inputs()}
    assert names["marriage"] == "tensor(string)"
    assert names["limit_bal"] == "tensor(float)"
    assert np.abs(proba - net_pipeline.predict_proba(X_test)).max() < 1e-5
    np.testing.assert_array_equal(label, net_pipeline.predict(X_test))


def test_int8_pipeline_decisions_agree(credit, net_pipeline):
    X_train, X_test, _, _, _ = credit
    X_test = X_test.drop(columns="age_band")
    small = quantize(net_pipeline)
    float_graph = to_onnx(net_pipeline, X_test.iloc[:5])
    graph = to_onnx(small, X_test.iloc[:5])
    _, label, proba = _run(graph, X_test)
    assert np.mean(label == small.predict(X_test)) >= 0.999
    assert np.abs(proba - small.predict_proba(X_test)).max() < 0.02
    # the three weight matrices are stored as int8: a byte per weight
    int8_weights = [t for t in graph.graph.initializer if t.data_type == 3]
    n_weights = sum(layer["weight"].size for layer in small[-1].layers_)
    assert sum(len(t.raw_data) for t in int8_weights) == n_weights
    assert graph.ByteSize() < float_graph.ByteSize()
    # product, cast and weight scales fused in onnxruntime's kernel
    ops = [node.op_type for node in graph.graph.node]
    assert ops.count("MatMulIntegerToFloat") == 3 and "MatMulInteger" not in ops


def test_static_int8_graph_matches_its_model(credit, net_pipeline):
    # static scales: one MatMulIntegerToFloat per layer, scale and bias inside
    X_train, X_test, _, _, _ = credit
    X_train, X_test = X_train.drop(columns="age_band"), X_test.drop(columns="age_band")
    small = quantize(net_pipeline, X_train.iloc[:500])
    graph = to_onnx(small, X_test.iloc[:5])
    _, label, proba = _run(graph, X_test)
    assert np.mean(label == small.predict(X_test)) >= 0.999
    assert np.abs(proba - small.predict_proba(X_test)).max() < 0.02
    ops = [node.op_type for node in graph.graph.node]
    assert ops.count("MatMulIntegerToFloat") == 3 and "Add" not in ops


@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"]
)
def test_every_activation_batch_norm_and_dropout(activation):
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    net = TabularNetClassifier(
        hidden_units=(16, 8),
        activation=activation,
        batch_norm=True,
        dropout=0.2,
        max_epochs=5,
        random_state=0,
    ).fit(X, y)
    _, label, proba = _run(to_onnx(net, X[:5]), X)
    assert np.abs(proba - net.predict_proba(X)).max() < 1e-5
    _, label, _ = _run(to_onnx(quantize(net), X[:5]), X)
    assert np.mean(label == quantize(net).predict(X)) >= 0.99


def test_regressors_one_and_two_targets():
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    target = 1000 + 300 * X[:, 0] + 50 * y
    for t in (target, np.column_stack([target, -X[:, 1]])):
        net = TabularNetRegressor(
            hidden_units=(16,), batch_norm=True, max_epochs=20, random_state=0
        ).fit(X, t)
        _, out = _run_one(to_onnx(net, X[:5]), X)
        expected = net.predict(X).reshape(len(X), -1)
        assert np.abs(out - expected).max() < 1e-5 * np.abs(expected).max()
        small = quantize(net)
        _, out = _run_one(to_onnx(small, X[:5]), X)
        expected = small.predict(X).reshape(len(X), -1)
        # the same int8 arithmetic, but for rows whose largest |input| is
        # negative: QuantizeLinear's division puts it at -128 where torchao's
        # product may give -127 (see the user guide), one int8 step
        moved = np.abs(out - expected) > 1e-4 * expected.std()
        assert moved.mean() < 0.25
        assert np.abs(out - expected).max() < 0.05 * expected.std()


def _run_one(graph, X):
    session = ort.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (output,) = session.run(None, onnx_inputs(session, X))
    return session, output


def test_string_labels_and_three_classes():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=4, n_classes=3, random_state=0
    )
    labels = np.array(["low", "mid", "high"], dtype=object)[y]
    net = TabularNetClassifier(hidden_units=(8,), max_epochs=5, random_state=0)
    net.fit(X, labels)
    _, label, proba = _run(to_onnx(net, X[:5]), X)
    np.testing.assert_array_equal(label, net.predict(X))
    assert proba.shape == (300, 3)


def test_distilled_student_without_its_sensitive_column(credit, fair_student):
    X_train, X_test, _, _, _ = credit
    session, label, proba = _run(to_onnx(fair_student, X_train.iloc[:5]), X_test)
    inputs = [i.name for i in session.get_inputs()]
    assert "age_band" not in inputs and "marriage" in inputs
    assert np.abs(proba - fair_student.predict_proba(X_test)).max() < 1e-5
    _, label, _ = _run(to_onnx(quantize(fair_student), X_train.iloc[:5]), X_test)
    assert np.mean(label == quantize(fair_student).predict(X_test)) >= 0.999


@pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning")
def test_reductions_mixture_of_pipelines(credit):
    # the export is checked here, not whether ten iterations meet the bound
    X_train, X_test, y_train, _, numeric = credit
    mixture = FairConstrainedClassifier(
        make_pipeline(
            preprocess(numeric), DecisionTreeClassifier(max_depth=4, random_state=0)
        ),
        method="reductions",
        max_iter=10,
        bound=0.01,
        sensitive_columns="age_band",
    ).fit(X_train.iloc[:1000], y_train[:1000])
    assert (mixture.estimator_.weights_ > 0).sum() >= 2
    session, label, proba = _run(to_onnx(mixture, X_train.iloc[:5]), X_test)
    assert "age_band" not in [i.name for i in session.get_inputs()]
    assert np.abs(proba - mixture.predict_proba(X_test)).max() < 1e-5
    np.testing.assert_array_equal(label, mixture.predict(X_test))
    # the label decides at the mixture's threshold, not at 0.5
    for threshold in (0.3, 0.7):
        mixture.decision_threshold_ = threshold
        _, label, _ = _run(to_onnx(mixture, X_train.iloc[:5]), X_test)
        np.testing.assert_array_equal(label, mixture.predict(X_test))
        assert 0 < np.mean(label) < 1


def test_reductions_mixture_on_an_array_with_a_sensitive_position():
    rng = np.random.RandomState(0)
    group = rng.randint(2, size=500)
    X = np.column_stack([rng.normal(group, 1.0), rng.normal(size=500), group])
    y = (X[:, 0] + rng.normal(0, 1.0, 500) > 0.5).astype(int)
    mixture = FairConstrainedClassifier(
        LogisticRegression(),
        method="reductions",
        bound=0.2,
        max_iter=20,
        sensitive_columns=[2],
    ).fit(X, y)
    assert (mixture.estimator_.weights_ > 0).sum() >= 2
    _, label, proba = _run(to_onnx(mixture, X[:5]), X)
    assert np.abs(proba - mixture.predict_proba(X)).max() < 1e-5
    # the label decides at the mixture's threshold (0.5 or not)
    for threshold in (mixture.decision_threshold_, 0.35, 0.65):
        mixture.decision_threshold_ = threshold
        _, label, _ = _run(to_onnx(mixture, X[:5]), X)
        far = np.abs(mixture.predict_proba(X)[:, 1] - threshold) > 1e-5
        np.testing.assert_array_equal(label[far], mixture.predict(X)[far])


def test_what_cannot_be_exported_is_named(credit):
    X_train, _, y_train, _, numeric = credit
    X = X_train.drop(columns="age_band")
    threshold = FairConstrainedClassifier(
        make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()),
        method="threshold",
        sensitive_columns="age_band",
        random_state=0,
    ).fit(X_train.drop(columns=CATEGORICAL), y_train)
    with pytest.raises(OnnxExportError, match="method='threshold'"):
        to_onnx(threshold, X_train.drop(columns=CATEGORICAL).iloc[:5])

    logged = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            (
                make_pipeline(
                    SimpleImputer(), FunctionTransformer(np.log1p), StandardScaler()
                ),
                ["pay_amt1", "pay_amt2"],
            ),
        ),
        TabularNetClassifier(hidden_units=(4,), max_epochs=1),
    ).fit(X, y_train)
    with pytest.raises(
        OnnxExportError,
        match=r"'columntransformer > pipeline > functiontransformer' "
        r"\(FunctionTransformer\)",
    ):
        to_onnx(logged, X.iloc[:5])

    imputed = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                CATEGORICAL,
            ),
        ),
        LogisticRegression(),
    ).fit(X.astype({c: object for c in CATEGORICAL}), y_train)
    with pytest.raises(OnnxExportError, match="SimpleImputer.*keeps NaN"):
        to_onnx(imputed, X.astype({c: object for c in CATEGORICAL}).iloc[:5])


def test_feed_of_missing_strings_matches_the_nan_category():
    X = pd.DataFrame({"c": pd.Series(["a", None, "b", "a"], dtype="category")})
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X)
    net = TabularNetClassifier(hidden_units=(4,), max_epochs=1, random_state=0)
    model = make_pipeline(enc, net).fit(X, [0, 1, 0, 1])
    _, _, proba = _run(to_onnx(model, X), X)
    assert np.abs(proba - model.predict_proba(X)).max() < 1e-5
