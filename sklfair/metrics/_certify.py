"""Fairness certificates: :func:`certify` and :class:`FairnessCertificate`.

A certificate answers the risk committee's question -- is the gap on new
applicants below the bound, and with what confidence? -- from held-out rows:
for each constraint, the gap measured on them, its confidence interval
(:func:`sklfair.metrics.fairness_interval`), and a verdict. A bound is
*certified* when the interval's upper end is at most the bound. When it is
not, the certificate says which of two things happened: the measured gap is
too large, or the groups are too small for any model to certify that bound
(the bound is below the *smallest certifiable bound*: the upper end the
interval would have if every group had the same rate).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from .._sensitive import encode_groups, resolve_sensitive
from ..exceptions import BoundNotMetWarning
from ._base import binarize, check_class_labels, column, positive_label
from ._bootstrap import as_generator
from ._certificate import FairnessCertificate
from ._intervals import (
    check_confidence,
    check_method,
    check_n_boot,
    gap_interval,
    worst_gap_interval,
)
from ._weights import weights_or_ones

__all__ = ["FairnessCertificate", "certify"]

#: Constraint names of :mod:`sklfair.constraints` and the gap each bounds.
CONSTRAINT_METRICS = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "equal_opportunity": "equal_opportunity_difference",
    "error_rate_parity": "error_rate_difference",
    "group_mean_parity": "mean_prediction_difference",
    "group_loss_parity": "mean_squared_error_difference",
}
_REGRESSION = {"group_mean_parity", "group_loss_parity"}

_VERDICTS = {
    "certified": "certified",
    "gap": "NOT CERTIFIED",
    "rows": "NOT CERTIFIABLE with these rows",
}


def _check_bound(bound, name):
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        raise ValueError(f"The bound of {name!r} must be a number, got {bound!r}.")
    if not bound >= 0:
        raise ValueError(
            f"The bound of {name!r} must be a non-negative gap, got {bound!r}."
        )
    return float(bound)


def _constraint_name(item):
    """A constraint's name, from a string or an object with a ``name``."""
    name = item if isinstance(item, str) else getattr(item, "name", None)
    if not isinstance(name, str):
        raise TypeError(
            "constraint must be a name (e.g. 'demographic_parity'), a constraint "
            "object, a (name, bound) pair or a list of them, got "
            f"{type(item).__name__}."
        )
    if name in CONSTRAINT_METRICS:
        return name
    for key, metric in CONSTRAINT_METRICS.items():
        if name == metric:
            return key
    raise ValueError(
        f"certify has no gap for the constraint {name!r}; use one of "
        f"{list(CONSTRAINT_METRICS)}."
    )


def _is_pair(item):
    return (
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[1], numbers.Real)
        and not isinstance(item[1], bool)
    )


def parse_constraints(constraint, bound):
    """``[(name, bound), ...]`` from the forms :func:`certify` accepts."""
    if isinstance(constraint, dict):
        items = list(constraint.items())
    elif isinstance(constraint, str) or _is_pair(constraint):
        items = [constraint]
    elif isinstance(constraint, list | tuple):
        items = list(constraint)
    else:
        items = [constraint]
    if not items:
        raise ValueError("constraint is empty: name at least one constraint.")
    parsed = []
    for item in items:
        if _is_pair(item):
            name = _constraint_name(item[0])
            parsed.append((name, _check_bound(item[1], name)))
            continue
        name = _constraint_name(item)
        own = getattr(item, "bound", None) if not isinstance(item, str) else None
        parsed.append((name, _check_bound(bound if own is None else own, name)))
    names = [name for name, _ in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"constraint names {duplicates} more than once.")
    return parsed


def _group_sizes(codes, labels, y_true, weights, classification, classes=None):
    index = pd.Index(labels, name="group")
    n_groups = len(labels)
    sizes = pd.DataFrame({"rows": np.bincount(codes, minlength=n_groups)}, index=index)
    if classes is not None:  # multi-class: the rows of each true class
        for label in classes:
            sizes[f"y={label}"] = np.bincount(
                codes[y_true == label], minlength=n_groups
            )
    elif classification:
        positives = np.bincount(codes[y_true == 1], minlength=n_groups)
        sizes["positives"] = positives
        sizes["negatives"] = sizes["rows"] - positives
    if not np.all(weights == weights[0]):
        total = np.bincount(codes, weights=weights, minlength=n_groups)
        squares = np.bincount(codes, weights=weights**2, minlength=n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            sizes["effective_rows"] = np.where(squares > 0, total**2 / squares, 0.0)
    return sizes


def _multiclass_labels(estimator, y_true, y_pred):
    """The classes of a multi-class classifier (its ``classes_``, else the
    labels seen), or None for binary labels."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        check_class_labels(y_true, y_pred, "certify")
        classes = unique_labels(y_true, y_pred)
    classes = np.asarray(classes)
    return classes if len(classes) > 2 else None


def multiclass_events(name, classes, y_true, y_pred):
    """The one-vs-rest rates a multi-class constraint bounds, as in
    :mod:`sklfair.constraints`: ``(event name, rows of the event, decision
    indicator)``, each rate the share of the indicator among the event's rows.

    ``demographic_parity``: ``P(pred = c)`` for every class; ``equal_opportunity``:
    ``P(pred = c | y = c)``; ``equalized_odds``: ``P(pred = c | y = k)`` for every
    pair; ``error_rate_parity``: ``P(pred != y)``.
    """
    every = np.ones(len(y_true), dtype=bool)
    if name == "error_rate_parity":
        return [("error_rate", every, y_pred != y_true)]
    if name == "demographic_parity":
        return [(f"selection_rate[{c}]", every, y_pred == c) for c in classes]
    if name == "equal_opportunity":
        return [(f"recall[{c}]", y_true == c, y_pred == c) for c in classes]
    return [
        (f"P(pred={c}|y={k})", y_true == k, y_pred == c)
        for c in classes
        for k in classes
    ]


def certify(
    estimator,
    X,
    y,
    *,
    sensitive_features=None,
    sensitive_columns=None,
    constraint="demographic_parity",
    bound=0.05,
    confidence=0.95,
    method="analytic",
    n_boot=1000,
    sample_weight=None,
    pos_label=None,
    random_state=None,
):
    """Certify, from held-out rows, that a fitted model's gaps are below bounds.

    For each constraint, the gap it bounds is measured on ``(X, y)`` with a
    confidence interval (:func:`fairness_interval`); the bound is
    *certified* when the interval's upper end is at most the bound. Use rows
    the model was not fitted or selected on, so that the claim is about new
    applicants. A bound that is not certified raises a
    :class:`~sklfair.exceptions.BoundNotMetWarning` and is marked in the
    certificate.

    .. versionadded:: 0.2

    Parameters
    ----------
    estimator : fitted estimator
        A classifier (or a regressor, for ``"group_mean_parity"`` and
        ``"group_loss_parity"``). With more than two classes, each
        constraint's gap is the largest over its one-vs-rest rates, as
        :mod:`sklfair.constraints` bound them (``P(pred = c)`` for every
        class, ``P(pred = c | y = c)``, ``P(pred = c | y = k)`` for every
        pair, ``P(pred != y)``), each rate's interval at Šidák's level so
        that all hold at once. It receives ``X`` as given, sensitive
        columns included (sklfair's meta-estimators drop them themselves).
    X : DataFrame or array-like of shape (n_samples, n_features)
        The held-out rows.
    y : array-like of shape (n_samples,)
        Their true labels or targets.
    sensitive_features : array-like, Series or DataFrame, default=None
        The group of each row; several columns form intersectional groups.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Or: the columns of ``X`` that hold the groups (see
        :func:`sklfair._sensitive.select_sensitive_columns`). Give one of the
        two.
    constraint : str, constraint object, (name, bound) pair, dict or list, \
            default="demographic_parity"
        What to certify: a name among ``"demographic_parity"``,
        ``"equalized_odds"``, ``"equal_opportunity"``, ``"error_rate_parity"``
        (classifiers), ``"group_mean_parity"`` and ``"group_loss_parity"``
        (regressors; the mean prediction and mean squared error gaps); an
        object with such a ``name`` (a :mod:`sklfair.constraints` object,
        whose own ``bound`` is used when it has one); a ``(name, bound)``
        pair; a dict ``{name: bound}``; or a list of any of these to certify
        several constraints at once.
    bound : float, default=0.05
        The bound of the constraints that do not carry their own.
    confidence : float, default=0.95
        Confidence level of the two-sided intervals. The upper end of a
        two-sided interval at ``c`` is a one-sided bound at ``(1 + c) / 2``:
        at 0.95, each certified claim errs at most about 2.5 % of the time.
    method : {"analytic", "bootstrap"}, default="analytic"
        How the intervals are computed (see :func:`fairness_interval`).
    n_boot : int, default=1000
        Bootstrap resamples (``method="bootstrap"``).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights of the held-out rows.
    pos_label : label, default=None
        The positive label: by default 1 for {0, 1} or {-1, 1} labels,
        otherwise the greater label (as in :func:`fairness_report`).
    random_state : int, RandomState, Generator or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    FairnessCertificate
        ``results`` (one row per constraint), ``certified``, ``to_frame()``,
        ``to_html()``.

    Warns
    -----
    BoundNotMetWarning
        When a bound is not certified; the message says whether the gap is
        too large or the groups too small, and gives the smallest bound the
        groups can certify.

    Raises
    ------
    ValueError
        When no (or both) sources of groups are given, for an unknown
        constraint, a negative bound, or a constraint
        that does not fit the estimator (classification vs regression).

    See Also
    --------
    fairness_interval : The interval of one gap, from predictions.
    fairness_report : Every group metric of a model, with intervals.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.metrics import certify
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"income": rng.normal(size=4000),
    ...                   "sex": rng.choice(["female", "male"], size=4000)})
    >>> y = (X["income"] + rng.normal(size=4000) > 0).astype(int)
    >>> model = LogisticRegression().fit(X[["income"]][:2000], y[:2000])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     certificate = certify(
    ...         model, X[["income"]][2000:], y[2000:],
    ...         sensitive_features=X["sex"][2000:],
    ...         constraint=[("demographic_parity", 0.08), ("equalized_odds", 0.02)])
    >>> certificate.results[["bound", "certified"]]
                        bound  certified
    constraint
    demographic_parity   0.08       True
    equalized_odds       0.02      False
    >>> certificate.results.loc["equalized_odds", "verdict"]
    'NOT CERTIFIABLE with these rows'
    """
    check_is_fitted(estimator)
    confidence = check_confidence(confidence)
    method = check_method(method)
    n_boot = check_n_boot(n_boot)
    constraints = parse_constraints(constraint, bound)
    regression = is_regressor(estimator)
    for name, _ in constraints:
        if (name in _REGRESSION) != regression:
            kind = "regressor" if regression else "classifier"
            fits = sorted(
                n for n in CONSTRAINT_METRICS if (n in _REGRESSION) == regression
            )
            raise ValueError(
                f"The constraint {name!r} does not apply to a {kind}; use one of "
                f"{fits}."
            )
    if sensitive_columns is None and sensitive_features is None:
        raise ValueError(
            "certify needs the groups: pass sensitive_features= (one group per "
            "row) or sensitive_columns= (the sensitive columns of X)."
        )
    y_true = column(y, "y")
    check_consistent_length(X, y_true)
    n_samples = len(y_true)
    _, groups = resolve_sensitive(
        X,
        sensitive_columns=sensitive_columns,
        sensitive_features=sensitive_features,
        drop_sensitive=False,
    )
    y_pred = column(estimator.predict(X), "predictions")
    classes = None if regression else _multiclass_labels(estimator, y_true, y_pred)
    if regression:
        y_true = y_true.astype(np.float64)
        y_pred = y_pred.astype(np.float64)
    elif classes is not None:
        check_class_labels(y_true, y_pred, "certify")
    else:
        pos_label = positive_label(y_true, y_pred, pos_label)
        y_true, y_pred = binarize(
            y_true, y_pred, pos_label=pos_label, func_name="certify"
        )
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
    codes, labels = encode_groups(groups)
    weights = weights_or_ones(sample_weight, n_samples, "certify")
    rng = as_generator(random_state) if method == "bootstrap" else None

    rows, intervals = [], {}
    for name, limit in constraints:
        interval = dict(confidence=confidence, method=method, n_boot=n_boot, rng=rng)
        if classes is None:
            result = gap_interval(
                CONSTRAINT_METRICS[name],
                y_true,
                y_pred,
                codes,
                labels,
                weights,
                **interval,
            )
            metric = result.metric
            estimate, low, high = result.estimate, result.low, result.high
            smallest = result.smallest_certifiable_bound
        else:
            events = multiclass_events(name, classes, y_true, y_pred)
            result, (estimate, low, high, smallest) = worst_gap_interval(
                events, codes, labels, weights, **interval
            )
            metric = f"{CONSTRAINT_METRICS[name]} ({result.metric})"
            if len(events) > 1:
                metric = (
                    f"{CONSTRAINT_METRICS[name]}, worst of {len(events)} "
                    f"one-vs-rest rates ({result.metric})"
                )
        intervals[name] = result
        certified = bool(high <= limit)
        if certified:
            verdict = _VERDICTS["certified"]
        elif limit < smallest:
            verdict = _VERDICTS["rows"]
        else:
            verdict = _VERDICTS["gap"]
        rows.append(
            {
                "constraint": name,
                "metric": metric,
                "estimate": estimate,
                "low": low,
                "high": high,
                "bound": limit,
                "certified": certified,
                "verdict": verdict,
                "smallest_certifiable_bound": smallest,
            }
        )
    results = pd.DataFrame(rows).set_index("constraint")
    certificate = FairnessCertificate(
        results=results,
        intervals=intervals,
        group_sizes=_group_sizes(
            codes, labels, y_true, weights, not regression, classes=classes
        ),
        groups=str(groups.name),
        confidence=confidence,
        method=method,
        estimator_name=type(estimator).__name__,
        n_samples=n_samples,
    )
    _warn_failures(certificate)
    return certificate


def _warn_failures(certificate):
    failed = certificate.results[~certificate.results["certified"]]
    if failed.empty:
        return
    group, size = certificate._smallest_group()
    lines = []
    for name, row in failed.iterrows():
        line = (
            f"{name}: the {certificate.confidence:.0%} interval of the gap is "
            f"[{row['low']:.3f}, {row['high']:.3f}] (estimate {row['estimate']:.3f}), "
            f"above the bound {row['bound']:g}"
        )
        if row["verdict"] == _VERDICTS["rows"]:
            line += (
                f"; these groups are too small to certify it for any model: the "
                f"smallest bound they can certify is "
                f"{row['smallest_certifiable_bound']:.3f}"
            )
        lines.append(line + ".")
    warnings.warn(
        f"{len(failed)} of {len(certificate.results)} bound(s) not certified on "
        f"{certificate.n_samples} rows (smallest group {str(group)!r}: {size} "
        "rows). " + " ".join(lines),
        BoundNotMetWarning,
        stacklevel=3,
    )
