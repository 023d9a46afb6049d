"""Fairness scorers for model selection (``GridSearchCV`` multi-metric scoring).

:func:`make_fairness_scorer` returns a scikit-learn scorer (a subclass of the
object :func:`sklearn.metrics.make_scorer` builds) that finds the groups in
one of two ways, as everywhere in sklfair:

- ``sensitive_columns=``: read from the columns of the ``X`` being scored.
  Works with metadata routing on or off, in any CV splitter, because the
  column travels inside ``X`` (the estimator sees it too; sklfair's
  meta-estimators drop it before their inner model);
- ``sensitive_features`` routed to the scorer by scikit-learn's metadata
  routing (``sklearn.set_config(enable_metadata_routing=True)``), e.g.
  ``GridSearchCV(...).fit(X, y, sensitive_features=A)``, which slices it per
  fold. The scorer requests it by default; ``set_score_request`` works as on
  any scorer.

A scorer built with ``sensitive_columns`` declines routed
``sensitive_features`` (they may still go to the estimator's ``fit``).

With ``upper_confidence=`` the scorer reads the *credible* gap instead of the
measured one: the pessimistic end of the gap's confidence interval
(:func:`sklfair.metrics.fairness_interval`) -- the upper end of a
difference, the lower end of a ratio -- so that
:func:`sklfair.model_selection.constrained_refit` keeps the candidates whose
gap is credibly within the bound, not only within it on the scored rows.
"""

from __future__ import annotations

import numbers

from sklearn.metrics import make_scorer
from sklearn.metrics._scorer import _Scorer

from .._sensitive import resolve_sensitive
from ._binary import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from ._intervals import fairness_interval
from ._multiclass import (
    multiclass_demographic_parity_difference,
    multiclass_equalized_odds_difference,
)
from ._rates import GAP_METRICS
from ._regression import mean_absolute_error_difference, mean_prediction_difference

__all__ = ["make_fairness_scorer", "FAIRNESS_METRICS"]

#: Metric names accepted by :func:`make_fairness_scorer`, with whether a
#: greater value is better (ratios) or worse (differences).
FAIRNESS_METRICS = {
    "demographic_parity_difference": (demographic_parity_difference, False),
    "demographic_parity_ratio": (demographic_parity_ratio, True),
    "equalized_odds_difference": (equalized_odds_difference, False),
    "equalized_odds_ratio": (equalized_odds_ratio, True),
    "equal_opportunity_difference": (equal_opportunity_difference, False),
    "equal_opportunity_ratio": (equal_opportunity_ratio, True),
    "multiclass_demographic_parity_difference": (
        multiclass_demographic_parity_difference,
        False,
    ),
    "multiclass_equalized_odds_difference": (
        multiclass_equalized_odds_difference,
        False,
    ),
    "mean_prediction_difference": (mean_prediction_difference, False),
    "mean_absolute_error_difference": (mean_absolute_error_difference, False),
}


class _IntervalGap:
    """A gap metric read from its interval (picklable, unlike a closure).

    ``end="estimate"`` gives the measured gap (for the gaps that have no
    point function elsewhere); ``"pessimistic"`` the upper end of a
    difference's interval or the lower end of a ratio's.
    """

    def __init__(self, metric, end, confidence=0.95, method="analytic"):
        self.metric = metric
        self.end = end
        self.confidence = confidence
        self.method = method
        suffix = ""
        if end == "pessimistic":
            side = "upper" if GAP_METRICS[metric][1] == "difference" else "lower"
            suffix = f"_{side}_{confidence:g}_{method}"
        self.__name__ = f"{metric}{suffix}"

    def __call__(self, y_true, y_pred, *, sensitive_features, **kwargs):
        result = fairness_interval(
            self.metric,
            y_true,
            y_pred,
            sensitive_features=sensitive_features,
            confidence=self.confidence,
            method=self.method,
            **kwargs,
        )
        if self.end == "estimate":
            return result.estimate
        return (
            result.high if GAP_METRICS[self.metric][1] == "difference" else (result.low)
        )


def _credible_metric(metric, upper_confidence, interval, kwargs):
    """The score function of a credible-gap scorer, with checked arguments."""
    if (
        isinstance(upper_confidence, bool)
        or not isinstance(upper_confidence, numbers.Real)
        or not 0 < upper_confidence < 1
    ):
        raise ValueError(
            "upper_confidence must be a number strictly between 0 and 1 (e.g. "
            f"0.95), got {upper_confidence!r}."
        )
    if interval not in ("analytic", "bootstrap"):
        raise ValueError(
            f"interval must be 'analytic' or 'bootstrap', got {interval!r}."
        )
    if not isinstance(metric, str) or metric not in GAP_METRICS:
        shown = metric if isinstance(metric, str) else type(metric).__name__
        raise ValueError(
            f"upper_confidence needs a gap with an interval; {shown!r} has none. "
            f"Use one of {sorted(GAP_METRICS)}."
        )
    comparison = kwargs.pop("method", "between_groups")
    if comparison != "between_groups":
        raise ValueError(
            "Intervals are for between-groups gaps (method='between_groups'), "
            f"not method={comparison!r}."
        )
    return _IntervalGap(metric, "pessimistic", float(upper_confidence), interval)


class _FairnessScorer(_Scorer):
    """A scorer whose metric takes ``sensitive_features``, found in X or routed."""

    def __init__(
        self, score_func, sign, kwargs, response_method="predict", *, sensitive_columns
    ):
        super().__init__(score_func, sign, kwargs, response_method)
        self._sensitive_columns = sensitive_columns
        # Without sensitive_columns the groups can only come through routing:
        # ask for them. With it, decline them, so that routing
        # sensitive_features to an estimator's fit does not require a
        # set_score_request call on this scorer.
        request = self._get_metadata_request()
        request.score.add_request(
            param="sensitive_features", alias=sensitive_columns is None
        )
        self._metadata_request = request

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        sensitive_features = kwargs.pop("sensitive_features", None)
        if self._sensitive_columns is None and sensitive_features is None:
            raise ValueError(
                f"The fairness scorer {self!r} got no groups. Either build it "
                "with sensitive_columns= (the sensitive columns of X), or "
                "enable metadata routing (sklearn.set_config("
                "enable_metadata_routing=True)) and pass sensitive_features= to "
                "fit (e.g. GridSearchCV(...).fit(X, y, sensitive_features=A)) "
                "or to cross_validate(..., params={'sensitive_features': A})."
            )
        _, groups = resolve_sensitive(
            X,
            sensitive_columns=self._sensitive_columns,
            sensitive_features=sensitive_features,
            drop_sensitive=False,
        )
        return super()._score(
            method_caller,
            estimator,
            X,
            y_true,
            sensitive_features=groups.to_numpy(),
            **kwargs,
        )

    def __repr__(self):
        text = super().__repr__()
        if self._sensitive_columns is None:
            return text
        return f"{text[:-1]}, sensitive_columns={self._sensitive_columns!r})"


def make_fairness_scorer(
    metric,
    *,
    sensitive_columns=None,
    greater_is_better=None,
    response_method="predict",
    upper_confidence=None,
    interval="analytic",
    **kwargs,
):
    """Make a scorer of a group fairness metric for model selection.

    Use it in ``GridSearchCV``/``cross_validate`` multi-metric scoring, next
    to an accuracy scorer. Gaps are lower-is-better, so their scorer negates
    them (``cv_results_`` hold ``-gap``, as for ``neg_log_loss``); ratios are
    higher-is-better and kept as they are.

    .. versionadded:: 0.1

    Parameters
    ----------
    metric : str or callable
        A name among ``"demographic_parity_difference"``,
        ``"demographic_parity_ratio"``, ``"equalized_odds_difference"``,
        ``"equalized_odds_ratio"``, ``"equal_opportunity_difference"``,
        ``"equal_opportunity_ratio"``,
        ``"multiclass_demographic_parity_difference"``,
        ``"multiclass_equalized_odds_difference"``,
        ``"mean_prediction_difference"``,
        ``"mean_absolute_error_difference"``, ``"error_rate_difference"``,
        ``"error_rate_ratio"`` and ``"mean_squared_error_difference"``, or a
        callable
        ``metric(y_true, y_pred, *, sensitive_features, **kwargs)``, e.g.
        ``functools.partial(average_difference, "true_positive_rate")``. Use
        module-level functions (not lambdas) so the scorer pickles for
        ``n_jobs > 1``.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Where the groups are in the scored ``X`` (see
        :func:`sklfair._sensitive.select_sensitive_columns`). When None, the
        groups must be routed to the scorer as ``sensitive_features`` (metadata
        routing on); the scorer requests them by default. When given, the
        scorer declines routed ``sensitive_features``, which may then go to
        the estimator's ``fit`` only.
    greater_is_better : bool, default=None
        Whether a higher metric is better. None: True for the ``*_ratio``
        names, False otherwise (gaps; also for callables).
    response_method : str or list of str, default="predict"
        The estimator's method giving ``y_pred``, as in
        :func:`sklearn.metrics.make_scorer`.
    upper_confidence : float, default=None
        If given, score the *credible* gap: the upper end of the gap's
        two-sided interval at this confidence (the lower end for a ratio),
        computed by :func:`fairness_interval` on each scored fold, instead
        of the gap measured on it. A candidate whose scored gap is within a
        bound is then credibly within it, given the fold's group sizes.
        Only for the gaps :func:`fairness_interval` knows (not for
        callables or the multi-class gaps).

        .. versionadded:: 0.2
    interval : {"analytic", "bootstrap"}, default="analytic"
        How the interval of ``upper_confidence`` is computed (the
        ``method`` of :func:`fairness_interval`; pass ``n_boot=`` and
        ``random_state=`` as keyword arguments for the bootstrap).

        .. versionadded:: 0.2
    **kwargs
        Passed to the metric (e.g. ``pos_label="good"``, ``method=``), or to
        :func:`fairness_interval` with ``upper_confidence``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, a scikit-learn scorer object.

    Raises
    ------
    ValueError
        For an unknown metric name, or when called without groups (no
        ``sensitive_columns`` and nothing routed).

    See Also
    --------
    sklearn.metrics.make_scorer : the scorer machinery used here.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_validate
    >>> from sklfair.metrics import make_fairness_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"income": rng.normal(size=200),
    ...                   "sex": rng.integers(0, 2, size=200)})
    >>> y = (X["income"] + 0.5 * X["sex"] > 0).astype(int)
    >>> scoring = {
    ...     "accuracy": "accuracy",
    ...     "dp": make_fairness_scorer(
    ...         "demographic_parity_difference", sensitive_columns="sex"),
    ... }
    >>> scores = cross_validate(LogisticRegression(), X, y, scoring=scoring)
    >>> bool((scores["test_dp"] <= 0).all())    # -gap: lower gaps score higher
    True

    The credible gap, the upper end of its 95 % interval on each test fold:

    >>> scoring["dp_upper"] = make_fairness_scorer(
    ...     "demographic_parity_difference", sensitive_columns="sex",
    ...     upper_confidence=0.95)
    >>> scores = cross_validate(LogisticRegression(), X, y, scoring=scoring)
    >>> bool((scores["test_dp_upper"] < scores["test_dp"]).all())
    True
    """
    if upper_confidence is not None:
        score_func = _credible_metric(metric, upper_confidence, interval, kwargs)
        default_greater = GAP_METRICS[metric][1] == "ratio"
    elif isinstance(metric, str):
        if metric in FAIRNESS_METRICS:
            score_func, default_greater = FAIRNESS_METRICS[metric]
        elif metric in GAP_METRICS:
            score_func = _IntervalGap(metric, "estimate")
            default_greater = GAP_METRICS[metric][1] == "ratio"
        else:
            raise ValueError(
                f"Unknown fairness metric {metric!r}; use one of "
                f"{sorted(set(FAIRNESS_METRICS) | set(GAP_METRICS))} or a "
                "callable."
            )
    elif callable(metric):
        score_func, default_greater = metric, False
    else:
        raise TypeError(
            f"metric must be a name or a callable, got {type(metric).__name__}."
        )
    if "sensitive_features" in kwargs:
        raise ValueError(
            "Do not bind sensitive_features in the scorer: it changes with every "
            "CV fold. Use sensitive_columns= or route sensitive_features."
        )
    if greater_is_better is None:
        greater_is_better = default_greater
    scorer = make_scorer(
        score_func,
        response_method=response_method,
        greater_is_better=greater_is_better,
        **kwargs,
    )
    return _FairnessScorer(
        scorer._score_func,
        scorer._sign,
        scorer._kwargs,
        scorer._response_method,
        sensitive_columns=sensitive_columns,
    )
