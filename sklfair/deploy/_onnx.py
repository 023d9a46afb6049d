"""ONNX export: :func:`to_onnx` and the skl2onnx converters of sklfair's models.

A fitted Pipeline -- ColumnTransformer, imputers, scalers, one-hot encoders
and an sklfair network, float or int8 -- becomes one ONNX graph through
skl2onnx, with converters registered (``update_registered_converter``) for

- :class:`~sklfair.nets.TabularNetClassifier`: the MLP's layers written
  directly as ONNX ops from its weights (MatMul, Add, activation, Softmax),
  batch normalisation folded in. Building the graph from the weights keeps
  the export free of ``torch.onnx``, whose exporter in torch 2.13 needs
  onnxscript and traces the module, and gives a graph whose arithmetic is
  the network's own, op for op;
- :class:`~sklfair.deploy.QuantizedNetClassifier`: the same layers with int8
  weights: each layer's input is quantized to int8 (per row: the row's
  ``max |x| / 127.5``, or the static calibrated scale) by
  ``QuantizeLinear``, multiplied by the int8 weights and rescaled by the
  weight scales in one kernel (onnxruntime's ``MatMulIntegerToFloat``,
  int32 accumulation), then by the input scale -- torchao's int8
  arithmetic, in onnxruntime's integer kernels. ``MatMulIntegerToFloat``
  belongs to onnxruntime's ``com.microsoft`` operator set: the int8 graph
  runs in onnxruntime;
- a mixture of predictors (``FairConstrainedClassifier(method="reductions")``):
  the weighted average of their probabilities, each predictor converted by
  its own converter.

Meta-estimators are unwrapped before conversion: a
:class:`~sklfair.distillation.DistilledClassifier` exports its ``student_``
and a :class:`~sklfair.constrained.FairConstrainedClassifier` its
``estimator_`` (training-loop methods) or its mixture (reductions). The
sensitive columns they drop are not inputs of the graph: a deployed model
cannot use them. A randomized threshold rule (``method="threshold"``) has no
deterministic graph and gets a clear error, as does any step skl2onnx cannot
convert (the error names the step).
"""

from __future__ import annotations

import json
import numbers
import re

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._layers import meta_input, mlp_layers
from ._onnx_ops import (
    OnnxExportError,
    _class_outputs,
    _float_layers,
    _input_float,
    _int8_layers,
    _name,
    _node,
)

__all__ = ["to_onnx", "onnx_inputs", "OnnxExportError"]


def _convert_net(scope, operator, container):
    """skl2onnx converter of sklfair's float and int8 networks."""
    model = operator.raw_operator
    x = _input_float(scope, container, operator)
    if hasattr(model, "layers_"):
        outputs = _int8_layers(scope, container, x, model.layers_)
    else:
        outputs = _float_layers(scope, container, x, mlp_layers(model))
    if not is_classifier(model):  # the target scale is in the last layer
        container.add_node(
            "Identity",
            [outputs],
            operator.outputs[0].full_name,
            name=scope.get_unique_operator_name("Identity"),
        )
        return
    proba = _node(scope, container, "Softmax", [outputs], "softmax", axis=1)
    _class_outputs(scope, container, operator, proba, model.classes_)


def _regressor_shapes(operator):
    """One float output of shape (rows, n_outputs)."""
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType(
        [None, int(operator.raw_operator.n_outputs_)]
    )


class _Mixture(ClassifierMixin, BaseEstimator):
    """Weighted average of fitted classifiers' probabilities, deciding the
    positive class above ``threshold`` (export only)."""

    def __init__(self, estimators, weights, classes, threshold=0.5):
        self.estimators = estimators
        self.weights = weights
        self.classes = classes
        self.threshold = threshold

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.classes

    def predict_proba(self, X):
        pairs = zip(self.estimators, self.weights)
        total = sum(w * e.predict_proba(X) for e, w in pairs)
        return total / sum(self.weights)

    def predict(self, X):
        return self.classes[(self.predict_proba(X)[:, 1] > self.threshold) * 1]

    def decision_offsets(self):
        """Added to the probabilities, their most probable class is the
        decision: ``p1 + 1 - 2 t > p0`` exactly when ``p1 > t``."""
        return np.array([0.0, 1.0 - 2.0 * float(self.threshold)], dtype=np.float32)


def _convert_mixture(scope, operator, container):
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxIdentity, OnnxMul

    model = operator.raw_operator
    opset = container.target_opset
    total = None
    weights = np.asarray(model.weights, dtype=np.float64)
    weights = weights / weights.sum()
    for estimator, weight in zip(model.estimators, weights):
        sub = OnnxSubEstimator(
            estimator,
            *operator.inputs,
            op_version=opset,
            options={"zipmap": False},
        )
        term = OnnxMul(sub[1], np.array([weight], dtype=np.float32), op_version=opset)
        total = term if total is None else OnnxAdd(total, term, op_version=opset)
    proba_name = _name(scope, "mixture_proba")
    OnnxIdentity(total, op_version=opset, output_names=[proba_name]).add_to(
        scope, container
    )
    decision_name = _name(scope, "mixture_decision")
    OnnxAdd(
        total, model.decision_offsets(), op_version=opset, output_names=[decision_name]
    ).add_to(scope, container)
    _class_outputs(
        scope, container, operator, proba_name, model.classes_, decide=decision_name
    )


def _mixture_shapes(operator):
    """Outputs of a mixture: labels and float probabilities; any number of
    inputs (one per column of a DataFrame)."""
    from skl2onnx.common.data_types import (
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    classes = np.asarray(operator.raw_operator.classes_)
    numeric = np.issubdtype(classes.dtype, np.integer) or classes.dtype == np.bool_
    label = Int64TensorType if numeric else StringTensorType
    operator.outputs[0].type = label([None])
    operator.outputs[1].type = FloatTensorType([None, len(classes)])


_REGISTERED = False


def _register():
    """Register sklfair's converters with skl2onnx (once per process)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )

    from sklfair.nets import TabularNetClassifier, TabularNetRegressor

    from ._quantize import QuantizedNetClassifier, QuantizedNetRegressor

    options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    for cls, alias in (
        (TabularNetClassifier, "SklfairTabularNetClassifier"),
        (QuantizedNetClassifier, "SklfairQuantizedNetClassifier"),
    ):
        update_registered_converter(
            cls,
            alias,
            calculate_linear_classifier_output_shapes,
            _convert_net,
            options=options,
        )
    for cls, alias in (
        (TabularNetRegressor, "SklfairTabularNetRegressor"),
        (QuantizedNetRegressor, "SklfairQuantizedNetRegressor"),
    ):
        update_registered_converter(cls, alias, _regressor_shapes, _convert_net)
    update_registered_converter(
        _Mixture,
        "SklfairMixture",
        _mixture_shapes,
        _convert_mixture,
        options=options,
    )
    _REGISTERED = True


# --------------------------------------------------------------------------
# unwrapping meta-estimators
# --------------------------------------------------------------------------


def _inner_model(meta):
    """The deterministic model a meta-estimator predicts with."""
    from sklfair.constrained import FairConstrainedClassifier, FairConstrainedRegressor
    from sklfair.distillation import DistilledClassifier, DistilledRegressor

    if isinstance(meta, (DistilledClassifier, DistilledRegressor)):
        return meta.student_
    if isinstance(meta, (FairConstrainedClassifier, FairConstrainedRegressor)):
        if meta.method_ == "threshold":
            rule = (
                "adds per-group offsets to its estimator's log-scores"
                if len(getattr(meta, "classes_", ())) > 2
                else "draws each decision at random from per-group "
                "probabilities (fairlearn's ThresholdOptimizer)"
            )
            raise OnnxExportError(
                f"FairConstrainedClassifier(method='threshold') {rule} and "
                "reads the groups at prediction time: its graph would need "
                "the sensitive columns, which a deployed model must not use. "
                "Export a training-loop method ('lagrangian') or "
                "'reductions' instead."
            )
        if meta.method_ == "reductions":
            mixture = meta.estimator_
            estimators, weights = [], []
            for index, weight in mixture.weights_.items():
                if weight <= 0:
                    continue
                predictor = mixture.predictors_[index]
                predictor = getattr(predictor, "estimator_", predictor)
                classes = getattr(predictor, "classes_", None)
                if classes is None or list(np.asarray(classes)) != [0, 1]:
                    raise OnnxExportError(
                        "A predictor of the reductions mixture saw only "
                        f"the classes {classes!r}; its probabilities have no "
                        "fixed two columns to average in ONNX."
                    )
                estimators.append(predictor)
                weights.append(float(weight))
            return _Mixture(
                estimators,
                np.array(weights),
                meta.classes_,
                meta.decision_threshold_,
            )
        return meta.estimator_
    return None


def _exportable(model, X):
    """An sklearn model skl2onnx can convert, and the rows it takes.

    Meta-estimators are replaced by the model they predict with; the
    columns they drop are dropped from ``X`` (DataFrame) or selected away by
    a passthrough ColumnTransformer (array).
    """
    if isinstance(model, FrozenEstimator):
        return _exportable(model.estimator, X)
    if isinstance(model, Pipeline):
        head = model[:-1]
        Xt = head.transform(X) if len(head) else X
        last, Xt_kept = _exportable(model.steps[-1][1], Xt)
        if last is model.steps[-1][1] and Xt_kept is Xt:
            return model, X
        if Xt_kept is not Xt and len(head):
            raise OnnxExportError(
                f"The last step {model.steps[-1][0]!r} drops sensitive columns "
                "of the output of the steps before it; put the meta-estimator "
                "first (around the whole Pipeline) to export it."
            )
        steps = list(model.steps[:-1]) + [(model.steps[-1][0], last)]
        # the graph takes the Pipeline's own input, not its head's output
        return Pipeline(steps), (X if len(head) else Xt_kept)
    inner = _inner_model(model)
    if inner is None:
        return model, X
    X_kept = meta_input(model, X)
    if isinstance(X, pd.DataFrame) or X_kept is X:
        inner, X_kept = _exportable(inner, X_kept)
        return inner, X_kept
    # array input with columns dropped by position: select the others
    n = X.shape[1] if sp.issparse(X) else np.asarray(X).shape[1]
    from sklfair._columns import column_positions

    dropped = set(column_positions(X, model.sensitive_columns))
    kept = [i for i in range(n) if i not in dropped]
    selector = ColumnTransformer([("model_columns", "passthrough", kept)]).fit(X)
    inner, _ = _exportable(inner, X_kept)
    return Pipeline([("model_columns", selector), ("model", inner)]), X


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def _initial_types(X):
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    if sp.issparse(X):  # the graph takes the rows dense
        return [("X", FloatTensorType([None, X.shape[1]]))]
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.dtype == object or X.dtype.kind in "US":
            return [("X", StringTensorType([None, X.shape[1]]))]
        return [("X", FloatTensorType([None, X.shape[1]]))]
    types = []
    for column in X.columns:
        dtype = X[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            # numbers travel as float32 (exact for integers below 2**24), so
            # that imputers and scalers fitted in float apply to any of them
            tensor = FloatTensorType([None, 1])
        else:  # strings, categories, objects
            tensor = StringTensorType([None, 1])
        types.append((str(column), tensor))
    return types


def onnx_inputs(session, X):
    """The feed dict of an onnxruntime session for the rows ``X``.

    DataFrame columns go to the graph inputs made from them (string and
    categorical columns as strings, a missing value as ``"nan"``, which is
    how the graph knows the NaN category of a OneHotEncoder); an array or a
    sparse matrix (made dense) goes to the single input. An input's name is
    its column's name, or the ONNX identifier skl2onnx made of it (``"credit
    amount"`` becomes ``"credit_amount"``, ``0`` becomes ``"_0"``): a graph
    of :func:`to_onnx` records which column each input is.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    X : DataFrame or array-like
        The rows, with (at least) the graph's input columns.

    Returns
    -------
    dict
    """
    inputs = session.get_inputs()
    feed = {}
    if not isinstance(X, pd.DataFrame):
        (single,) = inputs
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        dtype = {"tensor(float)": np.float32, "tensor(double)": np.float64}.get(
            single.type, object
        )
        return {single.name: X.astype(dtype)}
    columns = json.loads(
        session.get_modelmeta().custom_metadata_map.get(_COLUMNS_KEY, "{}")
    )
    for spec in inputs:
        name = columns.get(spec.name, spec.name)
        if name not in X.columns:
            raise KeyError(
                f"X has no column {name!r}, which the graph takes as its "
                f"input {spec.name!r}."
            )
        column = X[name]
        if spec.type == "tensor(string)":
            # a missing value is the string "nan", as skl2onnx writes the NaN
            # category of a OneHotEncoder fitted on data with missing values
            values = column.astype(object).where(column.notna(), "nan")
            values = np.array([str(v) for v in values], dtype=object)
        elif spec.type == "tensor(float)":
            values = column.to_numpy(dtype=np.float32, na_value=np.nan)
        else:
            values = column.to_numpy()
        feed[spec.name] = values.reshape(-1, 1)
    return feed


# --------------------------------------------------------------------------
# the public function
# --------------------------------------------------------------------------


def _steps(model, prefix=""):
    """(path, estimator) of every step inside Pipelines and ColumnTransformers."""
    yield prefix or type(model).__name__, model
    if isinstance(model, Pipeline):
        for name, step in model.steps:
            yield from _steps(step, f"{prefix} > {name}" if prefix else name)
    elif isinstance(model, ColumnTransformer):
        for name, transformer, _ in getattr(model, "transformers_", []):
            if isinstance(transformer, str):
                continue
            yield from _steps(transformer, f"{prefix} > {name}" if prefix else name)


def _final(model):
    while isinstance(model, Pipeline):
        model = model.steps[-1][1]
    return model


def _failing_step(model, exc):
    """Where in ``model`` the conversion failed: ``"the step 'a > b' (Class)"``.

    skl2onnx names the class it has no converter for in its message; an
    error raised inside a converter is traced to the ``operator`` being
    converted, found in the traceback.
    """
    culprit = None
    tb = exc.__traceback__
    while tb is not None:
        operator = tb.tb_frame.f_locals.get("operator")
        raw = getattr(operator, "raw_operator", None)
        if raw is not None:
            culprit = raw
        tb = tb.tb_next
    paths = []
    if culprit is not None:
        paths = [path for path, est in _steps(model) if est is culprit]
        class_name = type(culprit).__name__
    else:
        match = re.search(r"type '<class '([\w.]+)'>'", str(exc))
        if match is None:
            return None
        class_name = match.group(1).rsplit(".", 1)[-1]
        paths = [p for p, est in _steps(model) if type(est).__name__ == class_name]
    return f"the step {paths[0]!r} ({class_name})" if paths else class_name


_HINTS = {
    "missing values are string": " For categorical columns with missing values, leave "
    "them to OneHotEncoder(handle_unknown='ignore'), which keeps NaN as a "
    "category (the graph takes a missing string as 'nan').",
}


def to_onnx(estimator, X_sample, *, target_opset=None):
    """The fitted model, preprocessing included, as one ONNX graph.

    Parameters
    ----------
    estimator : fitted model
        A Pipeline (ColumnTransformer, SimpleImputer, StandardScaler,
        OneHotEncoder and the other steps skl2onnx converts) ending in an
        sklfair network classifier, float or int8; a
        :class:`~sklfair.distillation.DistilledClassifier` or a
        :class:`~sklfair.constrained.FairConstrainedClassifier` around one
        (its sensitive columns are not graph inputs), including a
        ``"reductions"`` mixture of any convertible classifiers.
    X_sample : DataFrame, array-like or sparse matrix
        A few rows as ``estimator.predict`` takes them; they fix the graph's
        inputs: one input per column of a DataFrame (strings and categories
        as string tensors, numbers as float32) or one float tensor ``"X"``
        for an array or a sparse matrix (fed dense).
    target_opset : int, default=None
        ONNX opset (None: the newest skl2onnx supports).

    Returns
    -------
    onnx.ModelProto
        Outputs ``"label"`` and ``"probabilities"`` (float32, in
        ``classes_`` order). Run it with onnxruntime, feeding
        :func:`onnx_inputs`. The labels are int64 for integer and boolean
        classes (``True`` is 1) and strings otherwise.

    Raises
    ------
    NotFittedError
        When ``estimator`` is not fitted.
    OnnxExportError
        For a randomized threshold rule, a step without an ONNX converter
        (named in the message), a custom network module or activation.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklfair.deploy import onnx_inputs, to_onnx
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> model = make_pipeline(
    ...     StandardScaler(),
    ...     TabularNetClassifier(hidden_units=(16,), max_epochs=10, random_state=0),
    ... ).fit(X, y)
    >>> graph = to_onnx(model, X[:5])
    >>> session = ort.InferenceSession(graph.SerializeToString())
    >>> label, proba = session.run(None, onnx_inputs(session, X))
    >>> bool(np.abs(proba - model.predict_proba(X)).max() < 1e-5)
    True
    """
    check_is_fitted(estimator)
    _register()
    model, X_conv = _exportable(estimator, X_sample)
    initial_types = _initial_types(X_conv)
    if isinstance(model, _Mixture) and len(initial_types) > 1:
        graph = _mixture_graph(model, initial_types, target_opset)
    else:
        graph = _convert(model, initial_types, target_opset)
    graph.doc_string = f"sklfair export of {type(estimator).__name__}"
    _record_columns(graph, initial_types, X_conv)
    return graph


#: Metadata key of a graph's map from input names to DataFrame columns.
_COLUMNS_KEY = "sklfair.input_columns"


def _record_columns(graph, initial_types, X):
    """Record which DataFrame column each graph input is.

    skl2onnx turns a column name that is not an identifier into one (and
    renames an input that clashes with an output, such as a column
    ``"label"``); its inputs keep the order of ``initial_types``.
    """
    if not isinstance(X, pd.DataFrame):
        return
    names = [i.name for i in graph.graph.input]
    if len(names) != len(initial_types):  # pragma: no cover - skl2onnx's order
        return
    columns = {
        name: int(column) if isinstance(column, numbers.Integral) else str(column)
        for name, column in zip(names, X.columns)
        if name != column
    }
    if columns:
        entry = graph.metadata_props.add()
        entry.key, entry.value = _COLUMNS_KEY, json.dumps(columns)


def _convert(model, initial_types, target_opset):
    """skl2onnx's conversion, its errors naming the step that failed."""
    import skl2onnx

    try:
        return skl2onnx.to_onnx(
            model,
            initial_types=initial_types,
            target_opset=target_opset,
            options=(
                {id(_final(model)): {"zipmap": False}}
                if is_classifier(_final(model))
                else None
            ),
        )
    except OnnxExportError:
        raise
    except Exception as exc:
        where = _failing_step(model, exc)
        if where is None:
            raise
        hint = next((h for k, h in _HINTS.items() if k in str(exc)), "")
        raise OnnxExportError(
            f"{where} cannot be exported to ONNX: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}{hint}"
        ) from exc


def _mixture_graph(mixture, initial_types, target_opset):
    """A mixture whose predictors take several inputs (DataFrame columns).

    Each predictor is converted on its own, its names prefixed, and the
    graphs joined on the shared inputs; the weighted sum of their
    probabilities and the decision at the mixture's threshold are the
    outputs.
    """
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    weights = np.asarray(mixture.weights, dtype=np.float64)
    weights = weights / weights.sum()
    nodes, initializers, opsets, terms = [], [], {}, []
    inputs = None
    for index, (estimator, weight) in enumerate(zip(mixture.estimators, weights)):
        part = _convert(estimator, initial_types, target_opset)
        part = compose.add_prefix(
            part, f"p{index}_", rename_inputs=False, rename_outputs=True
        )
        graph = part.graph
        inputs = inputs or list(graph.input)
        nodes.extend(graph.node)
        initializers.extend(graph.initializer)
        for opset in part.opset_import:
            opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
        proba = next(o.name for o in graph.output if o.name.endswith("probabilities"))
        w = f"p{index}_mixture_weight"
        initializers.append(numpy_helper.from_array(np.float32([weight]), w))
        nodes.append(helper.make_node("Mul", [proba, w], [f"p{index}_weighted"]))
        terms.append(f"p{index}_weighted")
    nodes.append(helper.make_node("Sum", terms, ["probabilities"]))
    initializers.append(
        numpy_helper.from_array(mixture.decision_offsets(), "decision_offsets")
    )
    nodes.append(
        helper.make_node("Add", ["probabilities", "decision_offsets"], ["decision"])
    )
    nodes.append(
        helper.make_node("ArgMax", ["decision"], ["argmax"], axis=1, keepdims=0)
    )
    classes = np.asarray(mixture.classes_)
    if np.issubdtype(classes.dtype, np.integer) or classes.dtype == np.bool_:
        table = numpy_helper.from_array(classes.astype(np.int64), "classes")
        label_type = TensorProto.INT64
    else:
        table = helper.make_tensor(
            "classes",
            TensorProto.STRING,
            [len(classes)],
            [str(c).encode("utf-8") for c in classes],
        )
        label_type = TensorProto.STRING
    initializers.append(table)
    nodes.append(helper.make_node("Gather", ["classes", "argmax"], ["label"], axis=0))
    graph = helper.make_graph(
        nodes,
        "sklfair_mixture",
        inputs,
        [
            helper.make_tensor_value_info("label", label_type, [None]),
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, [None, len(classes)]
            ),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
    )
    model.ir_version = part.ir_version
    onnx.checker.check_model(model)
    return model
