"""The deployment report: :func:`compare` measures models side by side.

For each fitted model or ONNX graph: the size of what would be deployed, its
parameters, the latency of one row, the throughput of a large batch, and
accuracy, AUC and the group gaps of its decisions (measured with
:mod:`sklfair.metrics`). A :class:`~sklfair.exceptions.DeploymentGapWarning`
is raised when a model's gap on the constrained metric rises past the bound
of the original fit.
"""

from __future__ import annotations

import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

from sklfair.exceptions import DeploymentGapWarning

__all__ = ["compare"]

#: The gap columns of the report and the constraints they measure.
_GAPS = {
    "dp": "demographic_parity",
    "eo": "equalized_odds",
    "eop": "equal_opportunity",
}


def _is_onnx(model):
    if isinstance(model, (str, Path)):
        return str(model).endswith(".onnx")
    return type(model).__name__ == "ModelProto" or isinstance(model, bytes)


def _onnx_bytes(model):
    if isinstance(model, (str, Path)):
        return Path(model).read_bytes()
    if isinstance(model, bytes):
        return model
    return model.SerializeToString()


def _deployed(model):
    """The part of a model that is deployed (a meta-estimator predicts with
    its ``student_`` or ``estimator_``; a teacher is never deployed)."""
    from ._onnx import _inner_model

    try:
        inner = _inner_model(model)
    except ValueError:  # a threshold rule: the whole object is deployed
        inner = None
    return model if inner is None else inner


def _count(model):
    from sklfair.distillation import count_parameters

    from ._layers import locate_net

    try:
        net, _ = locate_net(model)
    except (TypeError, ValueError):
        return count_parameters(model)
    if hasattr(net, "n_parameters_"):
        return net.n_parameters_
    return count_parameters(net)


def _batch(X, n):
    """``n`` rows of ``X``, repeating it when it has fewer."""
    reps = -(-n // len(X))
    if isinstance(X, pd.DataFrame):
        return pd.concat([X] * reps, ignore_index=True).iloc[:n]
    return np.concatenate([np.asarray(X)] * reps)[:n]


def _rows(X, n):
    if isinstance(X, pd.DataFrame):
        return [X.iloc[[i]] for i in range(min(n, len(X)))]
    X = np.asarray(X)
    return [X[i : i + 1] for i in range(min(n, len(X)))]


def _median_seconds(function, inputs, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in inputs:
            function(item)
        times.append((time.perf_counter() - start) / len(inputs))
    return float(np.median(times))


class _Runner:
    """predict / predict_proba of a fitted model or an ONNX graph, and timing."""

    def __init__(self, model, n_threads):
        self.onnx = _is_onnx(model)
        self.model = model
        if self.onnx:
            import onnxruntime as ort

            from ._onnx import onnx_inputs

            options = ort.SessionOptions()
            if n_threads is not None:
                options.intra_op_num_threads = n_threads
                options.inter_op_num_threads = 1
            self.session = ort.InferenceSession(
                _onnx_bytes(model), options, providers=["CPUExecutionProvider"]
            )
            self.feed = lambda X: onnx_inputs(self.session, X)
            outputs = [o.name for o in self.session.get_outputs()]
            if "probabilities" not in outputs:
                raise TypeError(
                    f"compare measures classifiers; this graph has the outputs "
                    f"{outputs}, no 'probabilities'."
                )
        elif not hasattr(model, "predict_proba"):
            raise TypeError(
                f"compare measures classifiers (accuracy, AUC, gaps in "
                f"decisions); {type(model).__name__} has no predict_proba."
            )

    def size_bytes(self):
        if self.onnx:
            return len(_onnx_bytes(self.model))
        try:
            return len(pickle.dumps(_deployed(self.model), protocol=5))
        except (pickle.PicklingError, AttributeError, TypeError):
            return np.nan  # not picklable: no file to measure

    def parameters(self):
        if self.onnx:
            from onnx import load_from_string, numpy_helper

            graph = load_from_string(_onnx_bytes(self.model)).graph
            return int(sum(numpy_helper.to_array(t).size for t in graph.initializer))
        return _count(self.model)

    def predict(self, X):
        """(labels, probabilities)."""
        if self.onnx:
            label, proba = self.session.run(None, self.feed(X))
            return np.asarray(label), np.asarray(proba, dtype=np.float64)
        proba = np.asarray(self.model.predict_proba(X), dtype=np.float64)
        return np.asarray(self.model.predict(X)), proba

    def timer(self):
        """A function of prepared inputs that computes the probabilities."""
        if self.onnx:
            return self.feed, lambda feed: self.session.run(["probabilities"], feed)
        return (lambda X: X), self.model.predict_proba


def _fit_bound(model):
    """(constraint name, bound, sensitive column names) of a fairness fit."""
    if _is_onnx(model):
        return None
    constraint = getattr(model, "constraint_", None)
    if isinstance(constraint, list):  # several constraints: the first
        constraint = constraint[0]
    if constraint is None:
        return None
    columns = getattr(model, "sensitive_columns", None)
    if isinstance(columns, str):
        columns = [columns]
    elif columns is not None and not all(isinstance(c, str) for c in columns):
        columns = None
    return constraint.name, float(constraint.bound), columns


def _attributes(sensitive_features, n):
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features
    elif isinstance(sensitive_features, pd.Series):
        frame = sensitive_features.to_frame(sensitive_features.name or "group")
    else:
        values = np.asarray(sensitive_features, dtype=object)
        if values.ndim == 1:
            frame = pd.DataFrame({"group": values})
        else:
            frame = pd.DataFrame(values).add_prefix("group_")
    if len(frame) != n:
        raise ValueError(
            f"sensitive_features has {len(frame)} rows but X has {n}; give one "
            "group per row."
        )
    return frame.reset_index(drop=True)


def _positive_column(y, pos_label):
    """The labels of ``y`` (in the order of a classifier's ``classes_``) and
    the column of the favourable one in ``predict_proba``."""
    classes = np.unique(y)
    if pos_label is None:
        return classes, min(1, len(classes) - 1)
    if pos_label not in list(classes):
        raise ValueError(
            f"pos_label={pos_label!r} is not a label of y ({list(classes)})."
        )
    return classes, list(classes).index(pos_label)


def compare(
    models,
    X,
    y,
    *,
    sensitive_features,
    reference=None,
    batch_size=10_000,
    n_latency_rows=200,
    repeats=3,
    n_threads=None,
    pos_label=None,
):
    """Size, speed, accuracy and group gaps of models and ONNX graphs.

    Parameters
    ----------
    models : dict of str to model
        Fitted classifiers (a Pipeline, a distilled or constrained model,
        their pruned or quantized copies) or ONNX graphs (``onnx.ModelProto``,
        bytes, or a path ending in ``.onnx``), by the name to show.
    X : DataFrame or array-like
        Rows to measure on, as the fitted models take them (sensitive columns
        included where a meta-estimator reads them); ONNX graphs read the
        columns they declare as inputs.
    y : array-like of shape (n_samples,)
        True labels (binary).
    sensitive_features : array-like, Series or DataFrame
        Groups of the rows; each column of a DataFrame is one attribute, with
        its own gap columns.
    reference : str, default=None
        The original model (a key of ``models``) whose fit carries the
        bound; None: the first model fitted under a fairness constraint.
    batch_size : int, default=10_000
        Rows per call for the throughput (``X`` is repeated when shorter).
    n_latency_rows : int, default=200
        Rows predicted one at a time for the latency.
    repeats : int, default=3
        Timing repeats; the median is reported.
    n_threads : int, default=None
        Threads of the onnxruntime sessions (None: onnxruntime's default).
    pos_label : int, str or bool, default=None
        The favourable label, whose rates the gaps compare and whose
        probability the AUC ranks by. None: the larger of 0/1 (or -1/1,
        False/True) labels; string labels need it.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``size_kb`` (the pickled deployed model -- a
        meta-estimator's student or estimator, not its teacher -- or the
        ONNX file; NaN for a model that cannot be pickled), ``parameters``
        (learned parameters; for a graph, every stored value, preprocessing
        included), ``latency_ms`` (one row per
        call), ``rows_per_s`` (batches of ``batch_size``), ``accuracy``,
        ``auc``, and per attribute ``dp <attr>`` and ``eo <attr>``
        (demographic parity and equalized odds differences), plus
        ``eop <attr>`` when the reference was fitted under equal
        opportunity, each with its 95% interval in ``<gap> low`` and
        ``<gap> high`` (:func:`~sklfair.metrics.fairness_interval`,
        analytic).

    Warns
    -----
    DeploymentGapWarning
        When the gap of a network or graph (a teacher of another kind is
        not checked) on the reference's constraint is above its bound and
        above the reference's own gap on these rows.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.deploy import compare, quantize
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> net = TabularNetClassifier(hidden_units=(16,), max_epochs=20, random_state=0)
    >>> net = net.fit(X, y)
    >>> table = compare(
    ...     {"float": net, "int8": quantize(net)}, X, y,
    ...     sensitive_features=X[:, 0] > 0, batch_size=1000, n_latency_rows=10,
    ... )
    >>> list(table.columns[:4])
    ['size_kb', 'parameters', 'latency_ms', 'rows_per_s']
    >>> bool(table.loc["int8", "size_kb"] < table.loc["float", "size_kb"])
    True
    """
    from sklfair.metrics import fairness_interval

    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict of name -> model.")
    y = np.asarray(y)
    groups = _attributes(sensitive_features, len(y))
    y_classes, positive = _positive_column(y, pos_label)
    if reference is not None and reference not in models:
        raise ValueError(f"reference={reference!r} is not a key of models.")
    candidates = [reference] if reference is not None else list(models)
    fit = next(
        (
            (name, _fit_bound(models[name]))
            for name in candidates
            if _fit_bound(models[name])
        ),
        None,
    )
    gap_kinds = ["dp", "eo"]
    if fit is not None and fit[1][0] == "equal_opportunity":
        gap_kinds.append("eop")
    big = _batch(X, batch_size)
    singles = _rows(X, n_latency_rows)
    rows = {}
    for name, model in models.items():
        runner = _Runner(model, n_threads)
        labels, proba = runner.predict(X)
        prepare, run = runner.timer()
        big_in = prepare(big)
        single_in = [prepare(r) for r in singles]
        run(big_in)  # warm-up
        row = {
            "size_kb": runner.size_bytes() / 1024,
            "parameters": runner.parameters(),
            "latency_ms": 1e3 * _median_seconds(run, single_in, repeats),
            "rows_per_s": batch_size / _median_seconds(run, [big_in], repeats),
            "accuracy": accuracy_score(y, labels),
            "auc": (
                roc_auc_score(y == y_classes[positive], proba[:, positive])
                if proba.shape[1] == 2
                else np.nan
            ),
        }
        for attribute in groups.columns:
            for kind in gap_kinds:  # each gap with its analytic interval
                gap = fairness_interval(
                    f"{_GAPS[kind]}_difference",
                    y,
                    labels,
                    sensitive_features=groups[attribute],
                    pos_label=pos_label,
                )
                column = f"{kind} {attribute}"
                row[column] = gap.estimate
                row[f"{column} low"], row[f"{column} high"] = gap.low, gap.high
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    if fit is not None:
        checked = [
            name
            for name, model in models.items()
            if name != fit[0] and _is_network(model)
        ]
        _warn_gaps(table.loc[[fit[0], *checked]], fit, groups.columns)
    return table


def _is_network(model):
    """A graph or a model predicting with an sklfair network: what compression
    and export produce (a teacher is compared, not checked)."""
    from ._layers import locate_net

    if _is_onnx(model):
        return True
    try:
        locate_net(model)
    except (TypeError, ValueError):
        return False
    return True


def _warn_gaps(table, fit, attributes):
    name, (constraint, bound, columns) = fit
    kind = {v: k for k, v in _GAPS.items()}.get(constraint)
    if kind is None:
        return
    checked = [a for a in attributes if columns is None or a in columns]
    for attribute in checked:
        column = f"{kind} {attribute}"
        base = table.loc[name, column]
        worse = table.index[(table[column] > bound) & (table[column] > base + 1e-12)]
        for model in worse:
            warnings.warn(
                f"{model!r}: the {constraint} gap by {attribute} is "
                f"{table.loc[model, column]:.4f} on these rows, above the bound "
                f"{bound} of {name!r} (whose gap here is {base:.4f}).",
                DeploymentGapWarning,
                stacklevel=3,
            )
