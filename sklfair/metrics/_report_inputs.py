"""What the fairness report measures: attributes, metrics, predictions, values.

The pieces of :func:`sklfair.metrics.fairness_report` before any interval:
the sensitive attributes as a frame (one column each), the metrics for the
task (binary, multi-class or regression) and their kinds, the scores for
the AUC, and each metric's group and overall values through fairlearn's
:class:`~fairlearn.metrics.MetricFrame`.
"""

from __future__ import annotations

import functools

import fairlearn.metrics as _fm
import numpy as np
import pandas as pd

from .._sensitive import check_sensitive_features, select_sensitive_columns
from ._base import metric_frame, resolve_metric
from ._binary import binary_gap
from ._multiclass import worst_class
from ._regression import mean_absolute_error_difference, mean_prediction_difference

__all__ = [
    "DEFAULT_METRICS",
    "FAIRNESS_METRICS",
    "attribute_groups",
    "metric_specs",
    "scores",
    "evaluate",
]

DEFAULT_METRICS = {
    "binary": [
        "count",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "accuracy",
        "roc_auc",
    ],
    "multiclass": ["count", "accuracy"],
    "continuous": ["count", "mean_prediction", "mean_absolute_error"],
}


def _quiet(gap, fairlearn_metric, **options):
    """A named gap as its public function computes it, with the defaults,
    but without its own undefined-rate warning: the report warns once per
    attribute for all its metrics."""
    return functools.partial(
        gap, fairlearn_metric, method="between_groups", warn=False, **options
    )


#: The named gaps of the report's ``fairness`` table, by task: the values of
#: the public functions of the same names (multi-class: their one-vs-rest
#: ``multiclass_*`` variants).
FAIRNESS_METRICS = {
    "binary": {
        "demographic_parity_difference": _quiet(
            binary_gap, _fm.demographic_parity_difference, pos_label=None
        ),
        "demographic_parity_ratio": _quiet(
            binary_gap, _fm.demographic_parity_ratio, pos_label=None
        ),
        "equalized_odds_difference": _quiet(
            binary_gap, _fm.equalized_odds_difference, pos_label=None, agg="worst_case"
        ),
        "equalized_odds_ratio": _quiet(
            binary_gap, _fm.equalized_odds_ratio, pos_label=None, agg="worst_case"
        ),
        "equal_opportunity_difference": _quiet(
            binary_gap, _fm.equal_opportunity_difference, pos_label=None
        ),
    },
    "multiclass": {
        "demographic_parity_difference": _quiet(
            worst_class, _fm.demographic_parity_difference, labels=None
        ),
        "equalized_odds_difference": _quiet(
            worst_class, _fm.equalized_odds_difference, labels=None, agg="worst_case"
        ),
    },
    "continuous": {
        "mean_prediction_difference": mean_prediction_difference,
        "mean_absolute_error_difference": mean_absolute_error_difference,
    },
}


def _attribute_frame(X, sensitive_columns, sensitive_features, n_samples):
    if sensitive_columns is not None and sensitive_features is not None:
        raise ValueError(
            "Both sensitive_columns and sensitive_features were given; give the "
            "sensitive attributes one way only."
        )
    if sensitive_columns is not None:
        frame = select_sensitive_columns(X, sensitive_columns)
    elif sensitive_features is not None:
        if isinstance(sensitive_features, pd.DataFrame):
            frame = sensitive_features
        elif isinstance(sensitive_features, pd.Series):
            name = sensitive_features.name
            frame = sensitive_features.to_frame(
                "sensitive_feature" if name is None else name
            )
        else:
            array = np.asarray(sensitive_features, dtype=object)
            if array.ndim == 1:
                frame = pd.DataFrame({"sensitive_feature": list(array)})
            elif array.ndim == 2:
                frame = pd.DataFrame(
                    array,
                    columns=[f"sensitive_feature_{i}" for i in range(array.shape[1])],
                )
            else:
                raise ValueError(
                    f"sensitive_features must be 1D or 2D, got shape {array.shape}."
                )
    else:
        raise ValueError(
            "fairness_report needs the sensitive attributes: pass "
            "sensitive_columns= (columns of X) or sensitive_features= (one row "
            "per sample)."
        )
    if frame.shape[0] != n_samples:
        raise ValueError(
            f"sensitive_features has {frame.shape[0]} rows, but X has "
            f"{n_samples} samples."
        )
    return frame.reset_index(drop=True)


def attribute_groups(
    X, sensitive_columns, sensitive_features, n_samples, intersectional
):
    """The checked groups of each attribute (and their intersection), by name."""
    frame = _attribute_frame(X, sensitive_columns, sensitive_features, n_samples)
    groups_by_attribute = {}
    for position, name in enumerate(frame.columns):
        label = str(name)
        groups_by_attribute[label] = check_sensitive_features(
            frame.iloc[:, position], n_samples, name=label
        ).reset_index(drop=True)
    if intersectional and frame.shape[1] > 1:
        label = " & ".join(str(c) for c in frame.columns)
        groups_by_attribute[label] = check_sensitive_features(
            frame, n_samples, name=label
        ).reset_index(drop=True)
    return groups_by_attribute


def metric_specs(metrics, task, has_scores):
    if metrics is None:
        names = list(DEFAULT_METRICS[task])
        if not has_scores and "roc_auc" in names:
            names.remove("roc_auc")
        metrics = names
    if isinstance(metrics, str):
        metrics = [metrics]
    items = (
        metrics.items() if isinstance(metrics, dict) else ((None, m) for m in metrics)
    )
    specs = {}
    for key, metric in items:
        name, func, kind = resolve_metric(metric)
        name = name if key is None else str(key)
        if kind in ("binary", "score") and task != "binary":
            raise ValueError(
                f"metric {name!r} needs binary labels, but the target is {task}."
            )
        if kind == "regression" and task != "continuous":
            raise ValueError(
                f"metric {name!r} is a regression metric, but the target is {task}."
            )
        if kind == "score" and not has_scores:
            raise ValueError(
                f"metric {name!r} needs scores, but the estimator has no "
                "predict_proba or decision_function."
            )
        specs[name] = (func, kind)
    return specs


def scores(estimator, X, pos_label):
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(estimator.classes_)
        return proba[:, classes.index(pos_label)]
    decision = np.asarray(estimator.decision_function(X), dtype=np.float64)
    classes = list(estimator.classes_)
    return decision if classes.index(pos_label) == 1 else -decision


def evaluate(specs, data, groups, weights):
    """Group values and overall values of every metric, in the specs' order."""
    by_group, overall = [], []
    for kind in ("any", "labels", "binary", "score", "regression"):
        funcs = {name: func for name, (func, k) in specs.items() if k == kind}
        if not funcs:
            continue
        y_true, y_pred = data["binary" if kind == "score" else kind]
        if kind == "score":
            y_pred = data["score"]
        frame = metric_frame(funcs, y_true, y_pred, groups, weights)
        by_group.append(frame.by_group)
        overall.append(frame.overall)
    order = list(specs)
    by_group = pd.concat(by_group, axis=1)[order]
    overall = pd.concat(overall)[order]
    if "count" in order:
        overall["count"] = len(groups)
    return by_group, overall
