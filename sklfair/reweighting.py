"""Reweighing: pre-processing bias mitigation through sample weights.

Kamiran & Calders' *reweighing* gives every (group, label) cell of the
training data the weight

.. math:: w(g, y) = \\frac{P(g)\\,P(y)}{P(g, y)},

so that in the weighted data the label is independent of the group: every
group has the same weighted label distribution as the whole training set.

- :func:`fair_sample_weight` computes these weights for binary or multi-class
  labels and single or intersectional groups, combined with existing sample
  weights (the probabilities are computed under those weights, which are then
  multiplied in).
- :class:`ReweighingClassifier` is a meta-estimator that computes the weights
  at fit and fits a clone of any classifier with them (through a Pipeline's
  final step), or, for estimators without ``sample_weight``, on a weighted,
  stratified resample of the training set.

What happens in the edge cases (decided here, and tested):

- the sensitive attribute follows the one policy of all sklfair
  meta-estimators (:mod:`sklfair._sensitive`): a single group is a
  :class:`~sklfair.exceptions.SensitiveAttributeError`, a small group a
  :class:`~sklfair.exceptions.SmallGroupWarning`;
- an empty (group, label) cell -- a group with no (positively weighted)
  sample of a label that occurs elsewhere: a ``UserWarning`` naming the cells.
  Weights stay finite: the other cells get the formula's weights, no sample
  ever receives an infinite or NaN weight, but independence cannot hold for
  that group (its ``weights_`` entry is NaN);
- :class:`ReweighingClassifier` without any sensitive attribute: a
  :class:`~sklfair.exceptions.NoSensitiveAttributeWarning`, then a plain fit
  (with the user's ``sample_weight``, if any).

References
----------
F. Kamiran and T. Calders, "Data preprocessing techniques for classification
without discrimination", Knowledge and Information Systems 33(1), 2012.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import (
    ClassifierMixin,
    _fit_context,
    clone,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_method_params,
)

from sklfair._chunked import iter_chunks, read_chunk
from sklfair._fitting import accepts_fit_param, final_estimator, fit_with_params
from sklfair._meta import FairMetaEstimator, delegates
from sklfair._reweigh import (
    _resample_indices,
    _reweigh,
    _unweighted,
    fair_sample_weight,
)

__all__ = ["ReweighingClassifier", "fair_sample_weight"]


# --------------------------------------------------------------------------
# The meta-estimator
# --------------------------------------------------------------------------


def _trust_allow_nan_tag(estimator):
    """Whether ``estimator``'s ``allow_nan`` tag says if it rejects NaN.

    Not for a :class:`~sklearn.pipeline.Pipeline`: scikit-learn does not
    derive a Pipeline's (nor a ColumnTransformer's) ``allow_nan`` from its
    steps, so it is False even when the first step is an imputer or an
    encoder that takes missing categories. Such a Pipeline validates its own
    input.
    """
    return not isinstance(estimator, Pipeline)


# Sparse formats that can be checked for NaN and sliced by row and column.
_SPARSE_FORMATS = ("csr", "csc", "coo")


class ReweighingClassifier(ClassifierMixin, FairMetaEstimator):
    """Fit a classifier on reweighed data, so the label does not depend on the group.

    At ``fit``, every training sample gets Kamiran & Calders' weight
    ``P(group) P(label) / P(group, label)`` (see :func:`fair_sample_weight`),
    and a clone of ``estimator`` is fitted with those weights -- passed to
    the final step when ``estimator`` is a :class:`~sklearn.pipeline.Pipeline`
    -- or, with ``method="resample"``, on a weighted resample of the training
    set. Predictions come from that inner estimator.

    The sensitive attribute comes from the columns of ``X``
    (``sensitive_columns=``, removed before the inner estimator sees ``X``
    unless ``drop_sensitive=False``) or from the ``sensitive_features=`` fit
    argument, under the one policy of all sklfair meta-estimators (see
    :ref:`sensitive_policy`): without either, the fit warns
    (:class:`~sklfair.exceptions.NoSensitiveAttributeWarning`) and fits
    ``estimator`` as it is.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : classifier or Pipeline
        The classifier to fit on the reweighed data. With
        ``method="weights"`` its ``fit`` (or its final step's) must accept
        ``sample_weight``.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        The sensitive column(s) of ``X``: a name (DataFrame), an integer
        position, a list of them (intersectional groups), a boolean mask, or
        a callable ``X -> groups``. None: give ``sensitive_features`` to
        ``fit`` instead.
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from ``X`` before the inner estimator
        sees it (at fit and at prediction). A callable selector drops nothing.
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
    method : {"weights", "resample"}, default="weights"
        ``"weights"`` passes the weights as ``sample_weight``.
        ``"resample"`` fits on a resample of the training set (as many rows
        as have a positive weight), stratified by (group, label) cell so that
        each cell holds its reweighed share of rows, drawn with replacement
        in proportion to ``sample_weight``: for estimators without
        ``sample_weight``. ``X`` is then checked for NaN and infinity here
        (unless the estimator's tags allow NaN), since the resample may
        leave out the rows that the estimator would reject. A Pipeline is
        not checked here (its ``allow_nan`` tag does not follow its steps):
        it validates the resample itself, so a row with NaN that the
        resample leaves out is not seen by it.
    random_state : int, RandomState instance or None, default=None
        Seeds the resample (``method="resample"`` only).

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        Class labels, those of ``estimator_``.
    weights_ : pandas.DataFrame of shape (n_groups, n_labels)
        The weight of each (group, label) cell, ``P(g) P(y) / P(g, y)``
        under the fit's ``sample_weight``; rows are groups (index named after
        the sensitive attribute), columns labels. NaN marks an empty cell.
        Without a sensitive attribute, one row ``"all"`` of ones.
    groups_ : ndarray of shape (n_groups,) or None
        The group labels, in the order of their codes; None when fitted
        without a sensitive attribute.
    group_sizes_ : ndarray of shape (n_groups,) or None
        Rows of positive weight in each group.
    sensitive_bins_ : dict or None
        The cut points of each binned sensitive column (see
        ``sensitive_bins``), None when no column was binned.
    n_features_in_ : int
        Number of columns of ``X`` at fit, sensitive columns included.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X`` at fit, when it was a DataFrame with string
        column names.

    Warns
    -----
    NoSensitiveAttributeWarning
        At fit, without any sensitive attribute (the fit is then a plain fit).
    SmallGroupWarning
        At fit, for a group smaller than the policy's minimum.
    UserWarning
        At fit, when a (group, label) cell is empty (see
        :func:`fair_sample_weight`).
    UnseenGroupWarning
        At prediction, for rows of a group not seen at fit.

    See Also
    --------
    fair_sample_weight : the weights themselves.

    Notes
    -----
    With metadata routing enabled, ask for the sensitive features (and the
    sample weights) explicitly, e.g.
    ``ReweighingClassifier(...).set_fit_request(sensitive_features=True)``,
    so that :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_validate` slice and pass them.
    Other fit parameters are routed to ``estimator`` (and reach a Pipeline's
    final step). Without routing, ``sensitive_features`` and
    ``sample_weight`` are plain fit arguments.

    Only the training distribution is changed: the weights reduce the
    dependence of the predictions on the group as far as the inner estimator
    learns the reweighed distribution; check the result with
    :func:`sklfair.metrics.demographic_parity_difference`. For a model that
    sees the group, reweighing amounts to adding ``log(w(g, 1) / w(g, 0))``
    to group ``g``'s log-odds: a shift set by the base rates, not by the gap
    in decisions, so it narrows that gap by an amount that depends on the
    data and guarantees no bound. For a
    bound, use :class:`sklfair.constrained.FairConstrainedClassifier`.

    References
    ----------
    F. Kamiran and T. Calders, "Data preprocessing techniques for
    classification without discrimination", Knowledge and Information Systems
    33(1), 2012.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.reweighting import ReweighingClassifier
    >>> X = pd.DataFrame({"income": [1, 2, 3, 4, 5, 6, 7, 8] * 10,
    ...                   "sex": ["f", "f", "f", "f", "m", "m", "m", "m"] * 10})
    >>> y = [0, 0, 0, 1, 0, 1, 1, 1] * 10
    >>> clf = ReweighingClassifier(LogisticRegression(), sensitive_columns="sex")
    >>> clf.fit(X, y).weights_
    label         0         1
    sex
    f      0.666667  2.000000
    m      2.000000  0.666667
    >>> clf.estimator_.n_features_in_
    1
    >>> clf.predict(X).shape
    (80,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "sensitive_columns": [None, str, Integral, "array-like", callable],
        "drop_sensitive": ["boolean"],
        "sensitive_bins": [None, Interval(Integral, 2, None, closed="left"), dict],
        "method": [StrOptions({"weights", "resample"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        sensitive_columns=None,
        drop_sensitive=True,
        sensitive_bins=None,
        method="weights",
        random_state=None,
    ):
        self.estimator = estimator
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.sensitive_bins = sensitive_bins
        self.method = method
        self.random_state = random_state

    def _private_reads(self):
        return (
            "computes its weights from the exact group x label counts of the "
            "training rows"
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, sensitive_features=None, **fit_params):
        """Compute the reweighing weights and fit a clone of ``estimator``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data, including the sensitive columns when
            ``sensitive_columns`` names them.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative existing weights; the reweighing probabilities are
            computed under them and they are multiplied into the result.
        sensitive_features : array-like, Series or DataFrame, default=None
            Group membership of each row (several columns: intersectional
            groups), when not given by ``sensitive_columns``.
        **fit_params : dict
            Other parameters for ``estimator.fit`` (its final step for a
            Pipeline); only with metadata routing enabled, where they are
            routed.

        Returns
        -------
        self : ReweighingClassifier
            The fitted meta-estimator.
        """
        if self.method == "weights" and not accepts_fit_param(
            self.estimator, "sample_weight"
        ):
            raise TypeError(
                f"{type(final_estimator(self.estimator)).__name__}.fit does not "
                "accept sample_weight, so ReweighingClassifier cannot pass it the "
                "reweighing weights. Use method='resample' to fit it on a "
                "weighted resample of the training set instead."
            )
        # The inner estimator validates its own input. A resample may leave out
        # the rows it would reject, so then NaN/inf are checked here unless the
        # estimator's tags allow NaN (see _trust_allow_nan_tag for Pipelines).
        check_finite = (
            self.method == "resample"
            and _trust_allow_nan_tag(self.estimator)
            and not get_tags(self.estimator).input_tags.allow_nan
        )
        data = self._fit_data(
            X,
            y,
            sample_weight,
            sensitive_features,
            fit_params,
            ensure_all_finite=check_finite,
        )
        y, X_model = data.y, data.X_model
        child_params = dict(data.params)
        child_params.pop("sample_weight", None)
        if data.groups is None:
            weights, self.weights_, cells = _unweighted(y, data.sample_weight)
        else:
            weights, self.weights_, cells = _reweigh(
                y, data.groups, data.sample_weight, check_groups=False
            )

        estimator = clone(self.estimator)
        if self.method == "weights":
            fit_with_params(
                estimator, X_model, y, sample_weight=weights, **child_params
            )
        else:
            if sp.issparse(X_model) and X_model.format == "coo":
                X_model = X_model.tocsr()
            n_draw = int(np.count_nonzero(cells["sample_weight"]))
            rows = _resample_indices(cells, n_draw, self.random_state)
            fit_with_params(
                estimator,
                _safe_indexing(X_model, rows),
                y[rows],
                **_check_method_params(X_model, child_params, indices=rows),
            )
        self.estimator_ = estimator
        self.classes_ = getattr(estimator, "classes_", None)
        if self.classes_ is None:
            self.classes_ = np.unique(y)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_chunks(self, chunks, *, classes=None):
        """Reweigh and fit on data larger than memory, one chunk at a time.

        A first streaming pass counts the weighted rows of every (group,
        label) cell, which gives the same ``weights_`` as :meth:`fit` on all
        the rows at once; then ``estimator.fit_chunks`` (an sklfair net's)
        trains on the chunks with the sensitive columns dropped and every
        row's weight multiplied by its cell's weight. Only one chunk is in
        memory at a time, so the chunks are read ``1 + max_epochs`` times.

        .. versionadded:: 0.2

        Parameters
        ----------
        chunks : iterable, callable or :class:`~sklfair.nets.ParquetChunks`
            ``(X, y)`` or ``(X, y, sample_weight)`` chunks, or dicts with keys
            ``"X"``, ``"y"`` and optionally ``"sample_weight"`` and
            ``"sensitive_features"`` (the group labels of the chunk's rows,
            when they are not ``sensitive_columns`` of ``X``). It must give
            the same chunks on every pass: a list, a ``ParquetChunks`` or a
            callable returning a fresh iterator; a generator is refused.
        classes : array-like of shape (n_classes,), default=None
            Every class label; None: the labels the counting pass sees.

        Returns
        -------
        self : ReweighingClassifier
            The fitted meta-estimator.

        Raises
        ------
        ValueError
            With ``method="resample"`` (a resample draws rows from the whole
            training set at once), a one-shot iterator, chunks without the
            sensitive attribute, or a continuous sensitive column without cut
            points in ``sensitive_bins``.
        TypeError
            When ``estimator`` has no ``fit_chunks`` (an sklfair net).

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklfair.nets import TabularNetClassifier
        >>> from sklfair.reweighting import ReweighingClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame({"x": rng.normal(size=400),
        ...                   "sex": rng.integers(0, 2, 400)})
        >>> y = (X["x"] + X["sex"] > 0.5).astype(int)
        >>> chunks = [(X[:200], y[:200]), (X[200:], y[200:])]
        >>> clf = ReweighingClassifier(TabularNetClassifier(max_epochs=2),
        ...                            sensitive_columns="sex")
        >>> clf.fit_chunks(chunks).weights_.shape
        (2, 2)
        """
        if self.method == "resample":
            raise ValueError(
                "ReweighingClassifier.fit_chunks cannot use method='resample': a "
                "resample draws its rows from the whole training set at once. "
                "Use method='weights' (the default), which weighs the rows of "
                "every chunk, with an sklfair net."
            )
        if not hasattr(self.estimator, "fit_chunks"):
            raise TypeError(
                f"{type(self.estimator).__name__} has no fit_chunks, so it cannot "
                "train one chunk at a time; use an sklfair net "
                "(TabularNetClassifier) as the estimator, or fit on the rows in "
                "memory."
            )
        scan = self._scan_chunks(
            chunks,
            classes=classes,
            why="a counting pass for the weights, then the estimator's passes",
        )
        classes = scan.classes
        # the cells as rows weighted by their counts: fair_sample_weight's
        # own arithmetic (and warnings) on the streaming pass's counts
        n_groups, n_classes = scan.counts.shape
        cell_mass = scan.counts.ravel()
        groups = pd.Series(
            pd.Categorical(
                np.repeat(np.arange(n_groups), n_classes).tolist(),
                categories=range(n_groups),
            ).rename_categories(list(scan.labels)),
            name=scan.name,
        )
        cell_weights, self.weights_, _ = _reweigh(
            np.tile(classes, n_groups), groups, cell_mass, check_groups=False
        )
        factor = np.divide(
            cell_weights,
            cell_mass,
            out=np.zeros_like(cell_mass),
            where=cell_mass > 0,
        ).reshape(n_groups, n_classes)

        def weighted_chunks():
            for position, raw in enumerate(iter_chunks(chunks)):
                chunk = read_chunk(self, raw, position)
                del raw
                codes = scan.codes_of(chunk.groups, position)
                weight = factor[codes, np.searchsorted(classes, chunk.y)]
                if chunk.sample_weight is not None:
                    weight *= chunk.sample_weight
                part = chunk.X_model, chunk.y, weight
                del chunk  # hold only what the net trains on while it does
                yield part
                del part  # not alive while the next chunk is read

        estimator = clone(self.estimator)
        estimator.fit_chunks(weighted_chunks, classes=classes)
        self.estimator_ = estimator
        self.classes_ = getattr(estimator, "classes_", classes)
        return self

    def predict(self, X):
        """Predict class labels with the inner estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the same columns as at fit (sensitive columns included).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        _, X_model, _ = self._predict_data(X)
        return self.estimator_.predict(X_model)

    @available_if(delegates("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the inner estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the same columns as at fit (sensitive columns included).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        _, X_model, _ = self._predict_data(X)
        return self.estimator_.predict_proba(X_model)

    @available_if(delegates("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the inner estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the same columns as at fit (sensitive columns included).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        _, X_model, _ = self._predict_data(X)
        return self.estimator_.predict_log_proba(X_model)

    @available_if(delegates("decision_function"))
    def decision_function(self, X):
        """Decision scores from the inner estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the same columns as at fit (sensitive columns included).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        _, X_model, _ = self._predict_data(X)
        return self.estimator_.decision_function(X_model)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        child = get_tags(self.estimator)
        if child.classifier_tags is not None:
            tags.classifier_tags.multi_class = child.classifier_tags.multi_class
            tags.classifier_tags.poor_score = child.classifier_tags.poor_score
        return tags
