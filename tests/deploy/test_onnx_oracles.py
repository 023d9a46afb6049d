"""to_onnx() and onnx_inputs() checked as a user deploys: bundled German
credit rows in a Pipeline, onnxruntime's outputs against ``predict_proba``
and ``predict``; a meta-estimator at the end of a Pipeline, column names
that are not ONNX identifiers, sparse rows and unfitted models."""

import numpy as np
import onnxruntime as ort
import pytest
import scipy.sparse as sp
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_german_credit
from sklfair.deploy import OnnxExportError, onnx_inputs, quantize, to_onnx
from sklfair.distillation import DistilledClassifier
from sklfair.nets import TabularNetClassifier

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning"),
]


def _net():
    return TabularNetClassifier(hidden_units=(16,), max_epochs=5, random_state=0)


@pytest.fixture(scope="module")
def german():
    """German credit: X without the sensitive columns, y, and sex."""
    data = load_german_credit()
    X = data.data.drop(columns=["sex", "age_band"])
    categorical = list(X.select_dtypes("category").columns)
    numeric = list(X.select_dtypes("number").columns)
    return X, data.target.to_numpy(), data.data["sex"], categorical, numeric


def _preprocess(categorical, numeric):
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        (StandardScaler(), numeric),
    )


def _run(graph, X):
    session = ort.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, onnx_inputs(session, X))


@pytest.mark.parametrize("method", ["reductions", "lagrangian"])
def test_pipeline_ending_in_a_constrained_model(german, method):
    # groups given at fit: the meta-estimator drops no column, and the graph
    # takes the Pipeline's columns (not the preprocessed matrix)
    X, y, sex, categorical, numeric = german
    model = make_pipeline(
        _preprocess(categorical, numeric),
        FairConstrainedClassifier(_net(), method=method, bound=0.05, max_iter=5),
    ).fit(X, y, fairconstrainedclassifier__sensitive_features=sex)
    label, proba = _run(to_onnx(model, X.iloc[:5]), X)
    assert np.abs(proba - model.predict_proba(X)).max() < 1e-5
    np.testing.assert_array_equal(label, model.predict(X))


def test_pipeline_ending_in_a_distilled_student(german):
    X, y, sex, categorical, numeric = german
    teacher = make_pipeline(_preprocess(categorical, numeric), _net()).fit(X, y)
    model = make_pipeline(
        _preprocess(categorical, numeric),
        DistilledClassifier(teacher[-1], _net(), random_state=0),
    ).fit(X, y)
    label, proba = _run(to_onnx(model, X.iloc[:5]), X)
    assert np.abs(proba - model.predict_proba(X)).max() < 1e-5
    np.testing.assert_array_equal(label, model.predict(X))


def test_column_names_that_are_not_onnx_identifiers(german):
    # skl2onnx renames such inputs ("credit amount" -> "credit_amount",
    # "1st" -> "_1st", a column "label" after the output "label");
    # onnx_inputs still finds each column
    X, y, _, categorical, numeric = german
    rename = {numeric[0]: "credit amount", numeric[1]: "1st", numeric[2]: "label"}
    X = X.rename(columns=rename)
    numeric = [rename.get(c, c) for c in numeric]
    model = make_pipeline(_preprocess(categorical, numeric), _net()).fit(X, y)
    for deployed in (model, quantize(model)):
        graph = to_onnx(deployed, X.iloc[:5])
        label, proba = _run(graph, X)
        np.testing.assert_array_equal(label, deployed.predict(X))
    assert np.abs(proba - deployed.predict_proba(X)).max() < 0.02
    # integer column names (a DataFrame made from an array)
    frame = X[numeric].set_axis(range(len(numeric)), axis=1)
    model = make_pipeline(StandardScaler(), _net()).fit(frame, y)
    label, proba = _run(to_onnx(model, frame.iloc[:5]), frame)
    assert np.abs(proba - model.predict_proba(frame)).max() < 1e-5


def test_sparse_rows():
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    X[X < 0] = 0
    model = _net().fit(sp.csr_matrix(X), y)
    graph = to_onnx(model, sp.csr_matrix(X[:5]))
    label, proba = _run(graph, sp.csr_matrix(X))
    assert np.abs(proba - model.predict_proba(sp.csr_matrix(X))).max() < 1e-5
    np.testing.assert_array_equal(label, model.predict(X))
    # a student that drops a sensitive column by position
    X = np.column_stack([X, np.arange(200) % 2])
    student = DistilledClassifier(
        LogisticRegression(), _net(), sensitive_columns=[6], random_state=0
    ).fit(sp.csr_matrix(X), y)
    label, proba = _run(to_onnx(student, sp.csr_matrix(X[:5])), sp.csr_matrix(X))
    assert np.abs(proba - student.predict_proba(sp.csr_matrix(X))).max() < 1e-5
    np.testing.assert_array_equal(label, student.predict(sp.csr_matrix(X)))


def test_unfitted_models_are_refused():
    X, y = make_classification(n_samples=50, n_features=4, random_state=0)
    for model in (
        _net(),
        make_pipeline(StandardScaler(), _net()),
        DistilledClassifier(_net(), _net()),
        FairConstrainedClassifier(_net()),
    ):
        with pytest.raises(NotFittedError, match="not fitted"):
            to_onnx(model, X[:5])
        with pytest.raises(NotFittedError, match="not fitted"):
            quantize(model)


def test_multiclass_group_offsets_error_says_what_they_are():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    X = np.column_stack([X, np.arange(300) % 2])
    model = FairConstrainedClassifier(
        _net(), method="threshold", sensitive_columns=[6], bound=0.2
    ).fit(X, y)
    # deterministic offsets, not fairlearn's random draws: the message says so
    with pytest.raises(OnnxExportError, match="per-group offsets") as error:
        to_onnx(model, X[:5])
    assert "at random" not in str(error.value)
