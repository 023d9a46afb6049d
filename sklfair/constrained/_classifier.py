"""The constrained classifier: :class:`FairConstrainedClassifier`."""

from __future__ import annotations

import numbers
import re

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from sklfair._fitting import fit_with_params
from sklfair._group_labels import plain_value
from sklfair._meta import delegates
from sklfair.constraints import CLASSIFICATION_CONSTRAINTS, FairnessConstraint

from ._base import LOOP_METHODS, BaseFairConstrained
from ._fairlearn import (
    THRESHOLD_CONSTRAINTS,
    aimed_bound,
    fit_threshold,
    mixture_proba,
    repeat_rows,
    row_uniforms,
    threshold_proba,
)
from ._multiclass_threshold import (
    MULTICLASS_THRESHOLD_CONSTRAINTS,
    GroupOffsets,
    fit_offsets,
)

__all__ = ["FairConstrainedClassifier"]

#: fairlearn's message for a group with one label; the value is sklfair's code.
_DEGENERATE = r"Degenerate labels for sensitive feature value (\d+)"


class FairConstrainedClassifier(ClassifierMixin, BaseFairConstrained):
    """Classifier fitted under a fairness constraint on its group rates.

    Keeps the largest difference between two groups' rates -- selection rate
    (demographic parity), true and false positive rates (equalized odds),
    true positive rate (equal opportunity) or error rate -- at most ``bound``.
    An sklfair net (alone or as the last step of a Pipeline) is trained once,
    with the constraint in its loss; any other estimator goes through
    fairlearn's reductions or threshold post-processing.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The classifier to constrain; not modified (a clone is fitted).
    constraint : str, FairnessConstraint or list of them, \
            default="demographic_parity"
        ``"demographic_parity"``, ``"equalized_odds"``, ``"equal_opportunity"``,
        ``"error_rate_parity"``, or an object from :mod:`sklfair.constraints`
        carrying its own bound (e.g. ``DemographicParity(bound=0.02,
        temperature=0.5)``); its parameters are searchable as
        ``constraint__bound``. A list of objects bounds several constraints
        at once (``"lagrangian"`` and ``"penalty"`` only), e.g.
        ``[DemographicParity(bound=0.02), ErrorRateParity(bound=0.03)]``.
    bound : float in [0, 1] or None, default=None
        Largest allowed gap: max over groups minus min over groups of each
        constrained rate, as :func:`fairlearn.metrics.demographic_parity_difference`
        and :func:`~fairlearn.metrics.equalized_odds_difference` measure it.
        For a constraint given by name, or an object whose ``bound`` is None;
        None means the object's own bound, else 0.02. An object with a
        different bound of its own is an error.
    method : {"auto", "lagrangian", "penalty", "adversarial", "reductions", \
            "threshold"}, default="auto"
        - ``"lagrangian"``: one training run of the net with a Lagrange
          multiplier per gap, raised by dual ascent until the bound is met
          (:class:`~sklfair.constrained.LagrangianTerm`); the result is one
          deterministic network, the epoch with the best training loss among
          those meeting the bound. It aims each gap the groups can resolve at
          ``bound`` minus a margin for the sampling noise (see
          ``confidence``), so that the bound also holds on new data drawn
          like the training data; see ``method_params``;
        - ``"penalty"``: a fixed weight ``penalty`` on the gap above ``bound``
          (:class:`~sklfair.constrained.PenaltyTerm`); a trade-off, not a
          guarantee;
        - ``"adversarial"``: adversarial debiasing (Zhang et al., 2018) with
          weight ``penalty`` (:class:`~sklfair.constrained.AdversarialTerm`);
          a trade-off;
        - ``"reductions"``: fairlearn's
          :class:`~fairlearn.reductions.ExponentiatedGradient` around any
          estimator that takes ``sample_weight`` (binary only);
        - ``"threshold"``: post-processing of the estimator's scores with
          group-specific decision rules; needs ``sensitive_columns``, as the
          groups are read from ``X`` at prediction time too. Binary:
          fairlearn's :class:`~fairlearn.postprocessing.ThresholdOptimizer`
          (a randomized rule); more classes: per-group offsets to the
          estimator's log-probabilities found by a coordinate search on the
          training rows (deterministic; see the Notes);
        - ``"auto"``: ``"lagrangian"`` for sklfair nets, ``"reductions"`` for
          other estimators that take ``sample_weight`` (``"threshold"`` when
          ``y`` has more than two classes), else ``"threshold"``.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Columns of ``X`` holding the sensitive attribute (several columns form
        intersectional groups), or a callable ``X -> groups``. Alternatively
        pass ``sensitive_features=`` to :meth:`fit`. Without either, the fit
        warns (:class:`~sklfair.exceptions.NoSensitiveAttributeWarning`) and
        fits ``estimator`` without the constraint (see :ref:`sensitive_policy`).
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from the estimator's input.
    sensitive_bins : int, dict or None, default=None
        How a continuous sensitive column (numeric, more than 20 distinct
        values, e.g. age in years) becomes groups. None: it is cut into 4
        quantile bins with a
        :class:`~sklfair.exceptions.ContinuousSensitiveAttributeWarning`. An
        int ``q``: every numeric sensitive column with more than ``q``
        distinct values is cut into ``q`` quantile bins, without a warning.
        A dict maps a column to a number of quantile bins or to cut points
        (``{"age": [25, 60]}``: ``<=25``, ``(25, 60]``, ``>60``). The cut
        points are found at fit and kept in ``sensitive_bins_`` (see
        :ref:`sensitive_policy`).
    penalty : float, default=None
        Weight of the fairness term for ``"penalty"`` (default 1) and of the
        adversary for ``"adversarial"`` (default 1) and for
        ``method_params={"adversary": ...}``.
    method_params : dict, default=None
        More options of the method: keyword arguments of
        :class:`~sklfair.constrained.LagrangianTerm` (``dual_lr``, ``rho``,
        ``smoothing``, ``select_best`` and ``validation_fraction``, the share
        of rows held out from the fit to measure the gap, default 0), of
        :class:`~sklfair.constrained.AdversarialTerm` (``hidden_units``,
        ``lr``, ``projection``), of ``ExponentiatedGradient`` (``eta0``,
        ``nu``...) or of ``ThresholdOptimizer`` (``objective``, ``flip``...).
        With ``"lagrangian"`` or ``"penalty"``, ``"adversary"`` (a constraint
        name or object) adds an adversary for that constraint in the same
        run, weighted by ``penalty``: e.g. a bound on demographic parity
        with an adversary against equalized odds.
    confidence : float in [0.5, 1), default=0.95
        How sure the fit wants to be that its bound holds on new data. The
        bound is compared with what the groups' sizes can resolve at this
        confidence (an :class:`~sklfair.exceptions.InfeasibleBoundWarning`
        when it is tighter: ``resolvable_bounds_``), and the
        training-loop methods aim every gap the groups can resolve at
        ``bound - z * se`` -- ``z`` the one-sided normal quantile of
        ``confidence`` (1.645 for 0.95), ``se`` the gap's standard error on
        the rows that measure it -- so that, were those rows a fresh sample,
        the gap on new data would be within the bound with about that
        probability. A gap the groups cannot resolve (``z * se`` above half
        the bound) is aimed at the bound itself: a margin could not make the
        claim true and would only cost accuracy. ``"reductions"`` and
        ``"threshold"`` aim at ``bound`` minus the largest such margin,
        computed before fitting at the anticipated rate (a class's share of
        the labels for demographic parity, 0.5 for the other rates): the
        bound of fairlearn's Moment, ThresholdOptimizer's ``tol`` (unless
        ``method_params`` sets it; equalized odds is met exactly there), or
        what the multi-class offsets search for. 0.5 means no margin.
    max_iter : int, default=50
        Iterations of ``ExponentiatedGradient`` (``"reductions"``).
    eps : float, default=0.01
        Allowed duality gap of ``ExponentiatedGradient``.
    grid_size : int, default=1000
        Grid of ``ThresholdOptimizer`` (``"threshold"``).
    random_state : int, RandomState instance or None, default=None
        Seeds the adversary (``"adversarial"``) and the randomized decisions
        of ``"threshold"``. Those decisions are drawn per row from a hash of
        the row's values, so predicting the same row always gives the same
        decision (None uses a fixed seed drawn at fit time).

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator (net or Pipeline), ``ExponentiatedGradient``,
        ``ThresholdOptimizer`` or, for ``"threshold"`` with more than two
        classes, the rule of per-group offsets (its ``estimator`` is the
        fitted classifier and its ``offsets_``, of shape ``(n_groups,
        n_classes)``, the offsets).
    method_ : str or None
        The method used (``"auto"`` resolved); None when fitted without a
        sensitive attribute (``estimator_`` is then the plain estimator).
    constraint_ : FairnessConstraint or list of FairnessConstraint
        The constraint object(s) used, each carrying its bound.
    classes_ : ndarray of shape (n_classes,)
    groups_ : ndarray of shape (n_groups,) or None
        The group labels, in the order of their codes; None without a
        sensitive attribute.
    group_sizes_ : ndarray of shape (n_groups,) or None
        Rows of positive weight in each group.
    sensitive_bins_ : dict or None
        The cut points of each binned sensitive column (see
        ``sensitive_bins``), None when no column was binned.
    constraint_violation_ : float
        Largest gap of the fitted model's decisions on the training data
        minus its bound, over all constraints (for ``"threshold"``, of the
        randomized rule's expected rates); an undefined rate (a group with no
        row in an event) counts as 0, as in :mod:`sklfair.metrics`. Positive
        when a bound was not met (a
        :class:`~sklfair.exceptions.BoundNotMetWarning` is then raised at
        fit); NaN without a sensitive attribute.
    history_ : pandas.DataFrame or None
        One row per epoch wherever a training loop ran. Training-loop methods:
        the training loss (in the net's units), the largest gap
        (``"max_gap"``), every gap (``"gap <name>"``), the multipliers
        (``"multiplier <name>"``, lagrangian), the largest margin
        (``"margin"``, lagrangian), with held-out rows their loss and gaps
        (``"validation_loss"``, ``"validation_max_gap"``, ``"validation gap
        <name>"``), and which epoch was kept (``"selected"``). Fitted without
        groups: the net's own history. None for the fairlearn methods.
    n_iter_ : int
        Epochs trained (training-loop methods), iterations of
        ``ExponentiatedGradient``, or 1 (``"threshold"``).
    decision_threshold_ : float or None
        ``"reductions"``: :meth:`predict` decides the positive class where
        the mixture's probability of it (``predict_proba(X)[:, 1]``) exceeds
        this value (see the Notes); None for the other methods.
    resolvable_bounds_ : dict
        For each constraint, the smallest bound the training groups' sizes
        could certify at ``confidence`` (see :func:`sklfair.metrics.certify`)
        for a model without any gap.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has string column names.

    See Also
    --------
    sklfair.constraints : the constraints.
    fairlearn.reductions.ExponentiatedGradient, \
fairlearn.postprocessing.ThresholdOptimizer

    Notes
    -----
    ``"reductions"`` gives a mixture of models: :meth:`predict_proba` is the
    mixture's weighted probabilities and :meth:`predict` decides the
    positive class where its probability exceeds ``decision_threshold_``
    (deterministic). fairlearn's bound holds for the randomized rule that
    draws each decision with that probability; the threshold is 0.5 (the
    most probable class) when those deterministic decisions meet the aimed
    bound on the training rows too, else the most accurate cut that does.
    ``"threshold"`` gives a randomized rule:
    :meth:`predict_proba` is the probability of each decision and
    :meth:`predict` draws it, so the two need not agree on a row. Both take
    integer sample weights only (rows are repeated).

    With more than two classes, ``"threshold"`` decides ``argmax_c log
    p_c(x) + offset[group, c]``: one offset per group and class, set one at
    a time to the value that most reduces the total excess of the gaps over
    the bound, then the training error (an exact line search over the
    values where a decision changes), in rounds until no offset improves.
    When that stops above the bound, the rounds go on with the total excess
    of each group's gaps to every other group as a tie-breaker (with three
    groups or more the excess alone has plateaus). The result is a local
    optimum, which meets the bound on the training rows when the search
    reaches it. :meth:`predict_proba` is the softmax of the shifted
    log-probabilities, so its most probable class is the decision. It
    supports ``"demographic_parity"`` (every class's selection rate),
    ``"equal_opportunity"`` (every class's recall), ``"equalized_odds"`` and
    ``"error_rate_parity"``; ``method_params={"max_rounds": ...}`` caps the
    rounds (default 100).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.constrained import FairConstrainedClassifier
    >>> rng = np.random.RandomState(0)
    >>> group = rng.randint(2, size=4000)
    >>> X = np.column_stack([rng.normal(group, 1.0), group])
    >>> y = (X[:, 0] + rng.normal(0, 0.5, 4000) > 0.5).astype(int)
    >>> clf = FairConstrainedClassifier(
    ...     LogisticRegression(), bound=0.05, method="threshold",
    ...     sensitive_columns=[1], random_state=0)
    >>> clf.fit(X, y).method_
    'threshold'
    >>> bool(clf.constraint_violation_ <= 0)
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **BaseFairConstrained._parameter_constraints,
        "sensitive_bins": [
            None,
            Interval(numbers.Integral, 2, None, closed="left"),
            dict,
        ],
        "constraint": [
            StrOptions(set(CLASSIFICATION_CONSTRAINTS)),
            FairnessConstraint,
            list,
        ],
        "bound": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "method": [StrOptions({"auto", *LOOP_METHODS, "reductions", "threshold"})],
        "grid_size": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        *,
        constraint="demographic_parity",
        bound=None,
        method="auto",
        sensitive_columns=None,
        drop_sensitive=True,
        sensitive_bins=None,
        penalty=None,
        method_params=None,
        confidence=0.95,
        max_iter=50,
        eps=0.01,
        grid_size=1000,
        random_state=None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.bound = bound
        self.method = method
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.sensitive_bins = sensitive_bins
        self.penalty = penalty
        self.method_params = method_params
        self.confidence = confidence
        self.max_iter = max_iter
        self.eps = eps
        self.grid_size = grid_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, sensitive_features=None, **fit_params):
        """Fit the estimator under the constraint.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data, including the sensitive columns when
            ``sensitive_columns`` is given.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (integers for ``"reductions"`` and
            ``"threshold"``).
        sensitive_features : array-like, Series or DataFrame, default=None
            Group labels, when not read from ``sensitive_columns``. Several
            columns form intersectional groups. With metadata routing enabled,
            request it with ``set_fit_request(sensitive_features=True)``.
        **fit_params : dict
            Other parameters for ``estimator.fit``; only with metadata routing
            enabled, where they are routed.

        Returns
        -------
        self : FairConstrainedClassifier
        """
        return self._fit(X, y, sample_weight, sensitive_features, fit_params)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_chunks(self, chunks, *, classes=None, validation_chunks=None):
        """Fit under the constraint on data larger than memory, chunk by chunk.

        For the training-loop methods (``"lagrangian"``, ``"penalty"``,
        ``"adversarial"``) with an sklfair net. A first streaming pass fixes
        the groups and their codes (the policy's size rules, as in
        :meth:`fit`), the classes and a uniform sample of up to 50,000
        training rows, on which the loss terms measure the gaps at each
        epoch's end (and ``resolvable_bounds_`` is computed). The net then
        trains one chunk at a time, with the constraint's group statistics
        taken per batch as in :meth:`fit`. A last pass measures
        ``constraint_violation_`` over every training row from per-group
        sums (no row kept), and one pass over ``validation_chunks`` the gaps
        on held-out rows.

        .. versionadded:: 0.2

        Parameters
        ----------
        chunks : iterable, callable or :class:`~sklfair.nets.ParquetChunks`
            ``(X, y)`` or ``(X, y, sample_weight)`` chunks, or dicts with keys
            ``"X"``, ``"y"`` and optionally ``"sample_weight"`` and
            ``"sensitive_features"`` (group labels, when they are not
            ``sensitive_columns`` of ``X``). Read ``max_epochs + 2`` times:
            a list, a ``ParquetChunks`` or a callable returning a fresh
            iterator; a generator is refused.
        classes : array-like of shape (n_classes,), default=None
            Every class label; None: the labels the counting pass sees.
        validation_chunks : iterable, callable or ParquetChunks, default=None
            Held-out rows, in the same form, read once after the fit.

        Returns
        -------
        self : FairConstrainedClassifier

        Raises
        ------
        ValueError
            For ``method="threshold"`` or ``"reductions"`` (they need every
            row at once), ``validation_fraction`` in ``method_params`` (pass
            ``validation_chunks``), a one-shot iterator, chunks without the
            sensitive attribute, or a continuous sensitive column without cut
            points in ``sensitive_bins``.

        Notes
        -----
        Sets the attributes of :meth:`fit` (``resolvable_bounds_`` on the
        sample of rows) and ``validation_gaps_`` (each constraint's largest
        gap on the held-out rows) and ``validation_violation_`` (the largest
        gap minus its bound there), None without ``validation_chunks``.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklfair.constrained import FairConstrainedClassifier
        >>> from sklfair.nets import TabularNetClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame({"x": rng.normal(size=2000),
        ...                   "sex": rng.integers(0, 2, 2000)})
        >>> y = (X["x"] + X["sex"] > 0.5).astype(int)
        >>> chunks = [(X[i:i + 500], y[i:i + 500]) for i in range(0, 1500, 500)]
        >>> clf = FairConstrainedClassifier(
        ...     TabularNetClassifier(max_epochs=3, random_state=0),
        ...     bound=0.1, sensitive_columns="sex", random_state=0)
        >>> clf = clf.fit_chunks(chunks, validation_chunks=[(X[1500:], y[1500:])])
        >>> sorted(clf.validation_gaps_)
        ['demographic_parity']
        """
        return self._fit_chunks(chunks, classes, validation_chunks)

    # --- threshold post-processing ----------------------------------------
    def _fit_threshold(
        self, constraint, X_model, y_codes, codes, sample_weight, params
    ):
        if self.sensitive_columns is None:
            raise ValueError(
                "method='threshold' needs the groups at prediction time too, so "
                "it reads them from the columns of X: give sensitive_columns= "
                "instead of sensitive_features=."
            )
        multiclass = len(self.classes_) > 2
        if multiclass and constraint.name not in MULTICLASS_THRESHOLD_CONSTRAINTS:
            raise ValueError(
                f"method='threshold' with {len(self.classes_)} classes supports "
                f"{list(MULTICLASS_THRESHOLD_CONSTRAINTS)}, not {constraint.name!r}."
            )
        if not multiclass and constraint.name not in THRESHOLD_CONSTRAINTS:
            raise ValueError(
                f"method='threshold' (fairlearn's ThresholdOptimizer) supports "
                f"{sorted(THRESHOLD_CONSTRAINTS)}, not {constraint.name!r}."
            )
        X_fit, y_fit, groups_fit = repeat_rows(
            X_model, y_codes, codes, sample_weight, "threshold"
        )
        estimator = fit_with_params(clone(self.estimator), X_fit, y_fit, **params)
        if multiclass:
            options = dict(self.method_params or {})
            unknown = sorted(set(options) - {"max_rounds"})
            if unknown:
                raise TypeError(
                    f"method_params does not fit method='threshold' with "
                    f"{len(self.classes_)} classes: unexpected {unknown} (it takes "
                    "max_rounds)."
                )
            self.estimator_ = fit_offsets(
                estimator,
                constraint,
                X_fit,
                y_fit,
                groups_fit,
                n_groups=len(self.groups_),
                n_classes=len(self.classes_),
                # the margin for new data, as the reductions take it: before
                # fitting, at the anticipated rates
                aim=aimed_bound(
                    constraint,
                    y_fit,
                    groups_fit,
                    self.confidence,
                    n_classes=len(self.classes_),
                ),
                **options,
            )
            return
        try:
            self.estimator_ = fit_threshold(
                estimator,
                constraint,
                X_fit,
                y_fit,
                groups_fit,
                params={"grid_size": self.grid_size, **(self.method_params or {})},
                confidence=self.confidence,
            )
        except ValueError as exc:
            degenerate = re.match(
                r"Degenerate labels for sensitive feature value (\d+)", str(exc)
            )
            if degenerate is None:
                raise
            label = self.groups_[int(degenerate.group(1))]
            label = plain_value(label)
            raise ValueError(
                f"method='threshold' cannot fit the group {label!r}: its rows have "
                "one label only, and fairlearn's ThresholdOptimizer needs both "
                "labels in every group. Merge it with another group, or use "
                "method='lagrangian' with an sklfair net."
            ) from None
        seed = self.random_state
        if not isinstance(seed, numbers.Integral):
            seed = check_random_state(seed).randint(2**31 - 1)
        self._prediction_seed = int(seed)

    # --- prediction -------------------------------------------------------
    def _training_decisions(self, X_model, codes):
        """Decisions on the training data, as the constraint measures them."""
        if self._offsets():
            return np.eye(len(self.classes_))[
                self.estimator_.predict_codes(X_model, codes)
            ]
        if self.method_ == "threshold":  # the randomized rule's expected rates
            return threshold_proba(self.estimator_, X_model, codes)
        return np.eye(len(self.classes_))[self._predict_codes(X_model, X_model, codes)]

    def _offsets(self):
        """Whether the fit is the multi-class rule of per-group offsets."""
        return isinstance(getattr(self, "estimator_", None), GroupOffsets)

    def _predict_codes(self, X_in, X_model, codes):
        if self._offsets():
            return self.estimator_.predict_codes(X_model, codes)
        if self.method_ == "threshold":
            proba = threshold_proba(self.estimator_, X_model, codes)
            draw = row_uniforms(X_in, self._prediction_seed)
            return (draw < proba[:, 1]).astype(int)
        if self.method_ == "reductions":
            proba = mixture_proba(self.estimator_, X_model)[:, 1]
            return (proba > self.decision_threshold_).astype(np.int64)
        return np.searchsorted(self.classes_, self.estimator_.predict(X_model))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        X_in, X_model, codes = self._predict_data(X)
        if self.method_ in LOOP_METHODS or self.method_ is None:
            return self.estimator_.predict(X_model)
        return self.classes_[self._predict_codes(X_in, X_model, codes)]

    @available_if(
        lambda self: (
            self._planned_method() in ("reductions", "threshold")
            or delegates("predict_proba")(self)
        )
    )
    def predict_proba(self, X):
        """Class probabilities (see the Notes for the fairlearn methods).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        _, X_model, codes = self._predict_data(X)
        if self.method_ == "reductions":
            return mixture_proba(self.estimator_, X_model)
        if self._offsets():
            return self.estimator_.predict_proba(X_model, codes)
        if self.method_ == "threshold":
            return threshold_proba(self.estimator_, X_model, codes)
        return self.estimator_.predict_proba(X_model)

    @available_if(
        lambda self: (
            self._planned_method() in LOOP_METHODS
            and delegates("decision_function")(self)
        )
    )
    def decision_function(self, X):
        """Decision function of the fitted net (training-loop methods).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray
        """
        _, X_model, _ = self._predict_data(X)
        return self.estimator_.decision_function(X_model)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self._planned_method() == "reductions":  # fairlearn's: binary only
            tags.classifier_tags.multi_class = False
        return tags
