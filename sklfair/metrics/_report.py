"""The fairness report: every group metric of a fitted model, in one object.

:func:`fairness_report` scores a fitted estimator on ``(X, y)`` and measures
each sensitive attribute on its own (and, optionally, their intersection).
The :class:`~sklfair.metrics.FairnessReport` it returns holds tidy tables
(``frame``, ``overall``, ``gaps``, ``fairness``) and renders them as text,
HTML and a figure (:mod:`sklfair.metrics._report_object`). Every group rate
and every gap comes with its confidence interval
(:func:`sklfair.metrics.fairness_interval`), unless ``interval=None``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._aggregate import average_gaps
from ._base import RATE_OF, column, positive_label, resolve_metric
from ._bootstrap import as_generator
from ._intervals import check_confidence, check_n_boot
from ._rates import undefined_rates, warn_undefined_rates
from ._report_inputs import (
    FAIRNESS_METRICS,
    attribute_groups,
    evaluate,
    metric_specs,
    scores,
)
from ._report_intervals import GAP_BOUNDS, ReportIntervals
from ._report_object import FairnessReport
from ._weights import check_sample_weight

__all__ = ["FairnessReport", "fairness_report"]


def _warn_undefined(specs, data, task, attribute, groups, weights):
    """One warning per attribute for the rates of its tables counted as 0."""
    if task == "continuous":
        return
    rates = [RATE_OF[func] for func, _ in specs.values() if func in RATE_OF]
    rates += ["true_positive_rate", "false_positive_rate"]  # equalized odds
    y_true, y_pred = data["binary" if task == "binary" else "labels"]
    classes = None if task == "binary" else np.unique(np.concatenate([y_true, y_pred]))
    undefined = undefined_rates(dict.fromkeys(rates), y_true, groups, weights, classes)
    warn_undefined_rates(f"fairness_report ({attribute})", undefined, stacklevel=3)


def fairness_report(
    estimator,
    X,
    y,
    *,
    sensitive_columns=None,
    sensitive_features=None,
    metrics=None,
    intersectional=False,
    sample_weight=None,
    pos_label=None,
    interval="analytic",
    confidence=0.95,
    n_boot=1000,
    random_state=None,
):
    """Measure a fitted model's metrics per group of each sensitive attribute.

    Predictions come from ``estimator.predict(X)`` (and ``predict_proba``,
    where it exists, for the AUC). ``X`` is passed to the estimator as
    given, sensitive columns included: a sklfair meta-estimator drops them
    itself before its inner model.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted estimator
        Classifier (binary or multi-class) or regressor.
    X : DataFrame or array-like of shape (n_samples, n_features)
        The rows to score (usually a held-out test set).
    y : array-like of shape (n_samples,)
        The true labels or targets.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Sensitive columns of ``X`` (see
        :func:`sklfair._sensitive.select_sensitive_columns`); each is one
        attribute.
    sensitive_features : array-like, Series or DataFrame, default=None
        The sensitive attributes given alongside ``X`` (one per column). Give
        this or ``sensitive_columns``, not both.
    metrics : list of str or callable, or dict of str to them, default=None
        The metrics per group. By default: ``count``, ``selection_rate``,
        ``true_positive_rate``, ``false_positive_rate``, ``accuracy`` and
        ``roc_auc`` (when the estimator has ``predict_proba`` or
        ``decision_function``) for binary targets; ``count`` and ``accuracy``
        for multi-class; ``count``, ``mean_prediction`` and
        ``mean_absolute_error`` for regression. Callables are called as
        ``metric(y_true, y_pred)`` on the original labels.
    intersectional : bool, default=False
        With several attributes, also report their intersection (one group
        per combination that occurs), named ``"a & b"``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights for the metrics that accept them.
    pos_label : label, default=None
        The positive label of a binary target: by default 1 for {0, 1} or
        {-1, 1} labels, otherwise the greater label (scikit-learn's
        convention, e.g. ``"good"`` over ``"bad"``).
    interval : {"analytic", "bootstrap"} or None, default="analytic"
        How the confidence intervals of the group rates and the gaps are
        computed (the ``method`` of :func:`fairness_interval`); None for no
        intervals.

        .. versionadded:: 0.2
    confidence : float, default=0.95
        The intervals' (two-sided) confidence level.

        .. versionadded:: 0.2
    n_boot : int, default=1000
        Bootstrap resamples (``interval="bootstrap"``).

        .. versionadded:: 0.2
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.

        .. versionadded:: 0.2

    Returns
    -------
    FairnessReport
        The tables (``frame``, ``overall``, ``gaps``, ``fairness``), with
        ``to_html()`` and ``plot()``.

    Raises
    ------
    ValueError
        When no (or both) sources of sensitive attributes are given, for bad
        sensitive values (missing, continuous, a single group), or for a
        metric that does not fit the target.

    See Also
    --------
    group_metrics : the per-group table of one attribute, from predictions.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.metrics import fairness_report
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"income": rng.normal(size=300),
    ...                   "sex": rng.choice(["female", "male"], size=300)})
    >>> y = (X["income"] + rng.normal(size=300) > 0).astype(int)
    >>> model = LogisticRegression().fit(X[["income"]], y)
    >>> report = fairness_report(model, X[["income"]], y,
    ...                          sensitive_features=X["sex"])
    >>> report.fairness.columns.tolist()[:2]
    ['demographic_parity_difference', 'demographic_parity_ratio']
    >>> report.fairness.filter(like="demographic_parity_difference").columns.tolist()
    ['demographic_parity_difference', 'demographic_parity_difference_low', \
'demographic_parity_difference_high']
    >>> report.by_group("sex").index.tolist()
    ['female', 'male']
    >>> report.to_html(plot=False).startswith("<!DOCTYPE html>")
    True
    """
    check_is_fitted(estimator)
    if interval not in ("analytic", "bootstrap", None):
        raise ValueError(
            f"interval must be 'analytic', 'bootstrap' or None, got {interval!r}."
        )
    confidence = check_confidence(confidence)
    n_boot = check_n_boot(n_boot)
    n_samples = _num_samples(X)
    weights = check_sample_weight(sample_weight, n_samples, "fairness_report")
    groups_by_attribute = attribute_groups(
        X, sensitive_columns, sensitive_features, n_samples, intersectional
    )

    y_true = column(y, "y")
    if len(y_true) != n_samples:
        raise ValueError(f"y has {len(y_true)} rows, but X has {n_samples} samples.")
    y_pred = column(estimator.predict(X), "predictions")
    if is_regressor(estimator):
        task = "continuous"
        y_true = y_true.astype(np.float64)
        y_pred = y_pred.astype(np.float64)
    else:
        labels = pd.unique(pd.Series(np.concatenate([y_true, y_pred]).astype(object)))
        task = "binary" if len(labels) <= 2 else "multiclass"

    data = {"any": (y_true, y_pred), "labels": (y_true, y_pred)}
    has_scores = False
    if task == "binary":
        pos_label = positive_label(y_true, y_pred, pos_label)
        data["binary"] = (
            (y_true == pos_label).astype(np.int64),
            (y_pred == pos_label).astype(np.int64),
        )
        has_scores = hasattr(estimator, "predict_proba") or hasattr(
            estimator, "decision_function"
        )
    else:
        pos_label = None
        data["regression"] = (y_true, y_pred)
    specs = metric_specs(metrics, task, has_scores)
    if any(kind == "score" for _, kind in specs.values()):
        data["score"] = scores(estimator, X, pos_label)

    bounds = None
    if interval is not None:
        bounds = ReportIntervals(
            specs,
            data,
            task,
            np.ones(n_samples) if weights is None else weights,
            confidence=confidence,
            method=interval,
            n_boot=n_boot,
            rng=as_generator(random_state),
        )
    rows, gap_rows, fairness_rows = [], [], []
    overall = None
    for attribute, groups in groups_by_attribute.items():
        group_values = groups.to_numpy()
        by_group, overall = evaluate(specs, data, group_values, weights)
        _warn_undefined(specs, data, task, attribute, group_values, weights)
        if bounds is not None:
            bounds.set_groups(groups)
        for group, values in by_group.iterrows():
            for metric, value in values.items():
                rows.append(
                    (attribute, group, metric, value)
                    if bounds is None
                    else (attribute, group, metric, value, *bounds.of(metric, group))
                )
        for metric in by_group.columns:
            if specs[metric][0] is resolve_metric("count")[1]:
                continue
            values = by_group[metric].astype(np.float64)
            low, high = values.min(), values.max()
            gap_rows.append(
                {
                    "attribute": attribute,
                    "metric": metric,
                    "min_group": values.idxmin() if values.notna().any() else None,
                    "min": low,
                    "max_group": values.idxmax() if values.notna().any() else None,
                    "max": high,
                    "difference": high - low,
                    "ratio": low / high if high != 0 else np.nan,
                    **average_gaps(values.to_numpy(), overall[metric]),
                    **({} if bounds is None else bounds.gap(metric)),
                }
            )
        y_fair_true, y_fair_pred = data["binary" if task == "binary" else "labels"]
        fairness_rows.append(
            {
                "attribute": attribute,
                **{
                    name: func(
                        y_fair_true,
                        y_fair_pred,
                        sensitive_features=group_values,
                        sample_weight=weights,
                    )
                    for name, func in FAIRNESS_METRICS[task].items()
                },
                **({} if bounds is None else bounds.fairness()),
            }
        )
    columns = ["attribute", "group", "metric", "value"]
    frame = pd.DataFrame(
        rows, columns=columns if bounds is None else [*columns, "low", "high"]
    )
    count_rows = frame["metric"].isin(
        [name for name, (f, _) in specs.items() if f is resolve_metric("count")[1]]
    )
    frame["value"] = frame["value"].astype(np.float64)
    frame.loc[count_rows, "value"] = frame.loc[count_rows, "value"].round()
    gaps = pd.DataFrame(
        gap_rows,
        columns=[
            "attribute",
            "metric",
            "min_group",
            "min",
            "max_group",
            "max",
            "difference",
            "ratio",
            "average_difference",
            "average_absolute_difference",
            "average_relative_difference",
            *([] if bounds is None else GAP_BOUNDS),
        ],
    )
    fairness = pd.DataFrame(fairness_rows).set_index("attribute")
    overall = overall.astype(np.float64)
    overall.name = "overall"
    return FairnessReport(
        frame=frame,
        overall=overall,
        gaps=gaps,
        fairness=fairness,
        attributes=list(groups_by_attribute),
        task=task,
        pos_label=pos_label,
        estimator_name=type(estimator).__name__,
        n_samples=n_samples,
        confidence=None if interval is None else confidence,
        interval=interval,
    )
